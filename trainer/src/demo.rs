//! The CPU demo's model and demonstrations: what `cir-train rl --preset demo` starts from.
//!
//! - A character-level tokenizer over printable ASCII (one token per character, plus an end-of-sequence token), so
//!   a model of about a million parameters can read and write numbers digit by digit.
//! - A small Qwen2-shaped model (4 layers, width 128), initialised from the run's seed.
//! - Demonstrations: for a multiplication problem `4823*7719`, the trajectory a tool-using model writes — a
//!   `print(4823*7719)` block, the sandbox's output, then `\boxed{…}` of that output — built token-exactly in the
//!   record format every rollout uses, so `cir-train sft` reads them as it reads any trajectory file.

use std::ops::ControlFlow;

use burn::prelude::Device;
use cir_record::{
    Execution, Finish, SCHEMA_VERSION, Sampling, Segment, Status, Timing, Trajectory, Usage, Verdict, feedback,
};
use cir_rollout::Job;
use serde_json::json;

use crate::config::ModelConfig;
use crate::error::Result;
use crate::model::Model;
use crate::params::with_stable_ids;
use crate::tokenizer::Tokenizer;

/// The end-of-sequence token's text and id.
pub const EOS: (&str, u32) = ("<|end|>", 0);

/// The character-level tokenizer: id 0 is [`EOS`], then `\t`, `\n` and the printable ASCII characters.
///
/// # Errors
/// [`crate::Error::Tokenizer`] if the generated spec does not load (a bug).
pub fn tokenizer() -> Result<Tokenizer> {
    let chars: Vec<char> = ['\t', '\n'].into_iter().chain((b' '..=b'~').map(char::from)).collect();
    let mut vocab = serde_json::Map::new();
    vocab.insert(EOS.0.into(), json!(EOS.1));
    for (i, c) in chars.iter().enumerate() {
        vocab.insert(c.to_string(), json!(i + 1));
    }
    let spec = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [{"id": EOS.1, "content": EOS.0, "single_word": false, "lstrip": false, "rstrip": false,
                          "normalized": false, "special": true}],
        "normalizer": null,
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(?s)."}, "behavior": "Isolated", "invert": false},
        "post_processor": null,
        "decoder": {"type": "Fuse"},
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": " "},
    });
    Tokenizer::from_json(&spec.to_string(), None)
}

/// The demo model's shape for a vocabulary of `vocab` tokens: about 0.8M parameters.
pub fn model_config(vocab: usize) -> ModelConfig {
    ModelConfig {
        intermediate_size: 384,
        max_position_embeddings: 256,
        eos_token_ids: vec![EOS.1],
        ..ModelConfig::tiny(vocab, 128, 4)
    }
}

/// A freshly initialised demo model (burn's initialisers, seeded by `seed`) with stable parameter ids.
pub fn init(config: &ModelConfig, seed: u64, device: &Device) -> Model {
    device.seed(seed);
    with_stable_ids(config.init(device))
}

/// The demonstration for `problem` (`A*B`, gold the product) under `prompt` (the template's rendering): a
/// token-exact trajectory, graded correct.
///
/// # Errors
/// [`crate::Error::Tokenizer`] when the text does not tokenise.
pub fn demonstration(
    tok: &Tokenizer,
    dataset: &str,
    id: &str,
    prompt: &str,
    problem: &str,
    gold: &str,
) -> Result<Trajectory> {
    let code = format!("print({problem})");
    let block = format!("```python\n{code}\n```");
    let execution = Execution { stdout: format!("{gold}\n"), ..Execution::new(Status::Ok) };
    let fb = feedback(gold);
    let answer = format!("\\boxed{{{gold}}}");
    let sampled = |text: &str, eos: bool| -> Result<(Vec<u32>, Vec<f32>)> {
        let mut ids = tok.encode(text)?;
        if eos {
            ids.push(EOS.1);
        }
        let zeros = vec![0.0; ids.len()];
        Ok((ids, zeros))
    };
    let (code_ids, code_lp) = sampled(&block, false)?;
    let (answer_ids, answer_lp) = sampled(&answer, true)?;
    Ok(Trajectory {
        schema: SCHEMA_VERSION,
        dataset: dataset.to_owned(),
        problem_id: id.to_owned(),
        sample: 0,
        prompt: prompt.to_owned(),
        prompt_ids: Some(tok.encode(prompt)?),
        gold: gold.to_owned(),
        meta: Default::default(),
        segments: vec![
            Segment::Code { code, text: block, ids: Some(code_ids), logprobs: Some(code_lp) },
            Segment::Output { ids: Some(tok.encode_plain(&fb)?), feedback: fb, execution },
            Segment::Text { text: answer, ids: Some(answer_ids), logprobs: Some(answer_lp) },
        ],
        finish: Finish::Stop,
        tool_calls: 1,
        usage: Usage::default(),
        answer: Some(gold.to_owned()),
        verdict: Some(Verdict { equivalent: true, reason: "demonstration".into() }),
        timing: Timing::default(),
        sampling: Sampling { model: "demonstration".into(), policy: "demonstration".into(), ..Sampling::default() },
        error: None,
    })
}

/// How well a model does on probe problems: its success rate (the loop, the sandbox, the grader), from the caller
/// that owns them.
pub type Probe<'a> = dyn Fn(Model, &ModelConfig, &Tokenizer, &[Job]) -> Result<f32> + 'a;

/// The demo run's starting policy: a fresh model (seeded by the run's seed) warm-started by SFT on demonstrations of
/// the first `warm_start.demos` training problems until `probe` says it solves `warm_start.target` of the next
/// `warm_start.probe` problems (or `warm_start.steps` steps are spent). The demonstrations, the warm-started model and
/// the probe's history (`probe.jsonl`: step, loss, success) are kept in `out/warmstart/`.
///
/// # Errors
/// [`crate::Error::Tokenizer`], the probe's errors, or I/O errors writing the folder.
pub fn warm_start(
    config: &crate::rl::config::RlConfig,
    data: &cir_data::Dataset,
    template: &cir_data::Template,
    device: &Device,
    out: &std::path::Path,
    report: &dyn Fn(&str),
    probe: &Probe<'_>,
) -> Result<(ModelConfig, Model, Tokenizer)> {
    let tok = tokenizer()?;
    let model_config = model_config(tok.vocab_size());
    let model = init(&model_config, config.seed, device);
    let w = &config.warm_start;
    let demos: Vec<Trajectory> = data
        .problems
        .iter()
        .take(w.demos)
        .map(|p| demonstration(&tok, &data.name, &p.id, &template.render(&p.text), &p.text, &p.gold))
        .collect::<Result<_>>()?;
    let probe_jobs: Vec<Job> = data
        .problems
        .iter()
        .cycle()
        .skip(w.demos)
        .take(if w.target > 0.0 { w.probe.min(data.problems.len()) } else { 0 })
        .map(|p| Job::new(&data.name, &p.id, 0, &template.render(&p.text), &p.gold))
        .collect();
    let dir = out.join("warmstart");
    std::fs::create_dir_all(&dir).map_err(crate::Error::io(&dir))?;
    let lines: String = demos.iter().map(|t| serde_json::to_string(t).unwrap_or_default() + "\n").collect();
    std::fs::write(dir.join("demos.jsonl"), lines).map_err(crate::Error::io(dir.join("demos.jsonl")))?;
    let until = if probe_jobs.is_empty() {
        String::new()
    } else {
        format!(" (stopping once {:.0}% of {} unseen problems are solved)", w.target * 100.0, probe_jobs.len())
    };
    report(&format!("warm start: at most {} SFT steps on {} demonstrations{until}", w.steps, demos.len()));
    let sft = crate::sft::SftConfig {
        steps: w.steps,
        batch: w.batch,
        lr: w.lr,
        grad_clip: config.optim.grad_clip,
        micro_batch_tokens: config.optim.micro_batch_tokens,
        seed: config.seed,
    };
    // burn's `AdamWConfig` defaults (β 0.9 / 0.999, ε 1e-5), no weight decay.
    let mut optim = crate::optim::AdamW::init(0.9, 0.999, 1e-5, 0.0);
    let rows = crate::sft::rows(&demos);
    let mut history = String::new();
    let mut failed = None;
    let mut reached = None;
    let (model, losses) =
        crate::sft::train(model, &model_config, &mut optim, &rows, &sft, device, &mut |step, loss, m| {
            if probe_jobs.is_empty() || step % w.check_every != 0 {
                return ControlFlow::Continue(());
            }
            match probe(burn::module::Module::valid(m), &model_config, &tok, &probe_jobs) {
                Ok(success) => {
                    history.push_str(&format!("{}\n", json!({"step": step, "loss": loss, "success": success})));
                    report(&format!("warm start: step {step}, loss {loss:.3}, {success:.2} of the probe solved"));
                    if f64::from(success) >= w.target {
                        reached = Some((step, success));
                        return ControlFlow::Break(());
                    }
                    ControlFlow::Continue(())
                }
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        });
    if let Some(e) = failed {
        return Err(e);
    }
    std::fs::write(dir.join("probe.jsonl"), history).map_err(crate::Error::io(dir.join("probe.jsonl")))?;
    let first = losses.first().unwrap_or(&0.0);
    let last = losses.last().unwrap_or(&0.0);
    report(&match reached {
        Some((step, success)) => {
            format!("warm start: {success:.2} solved after {step} steps (loss {first:.3} → {last:.3})")
        }
        None => format!("warm start: {} steps (loss {first:.3} → {last:.3})", losses.len()),
    });
    crate::checkpoint::save_hf_dir(&dir, &model_config, &burn::module::Module::valid(&model))?;
    tok.save_dir(&dir)?;
    Ok((model_config, model, tok))
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;

    #[test]
    fn characters_are_tokens_and_round_trip() {
        let tok = tokenizer().unwrap();
        assert_eq!(tok.vocab_size(), 98);
        let text = "12*34\n```python\nprint(12*34)\n```";
        let ids = tok.encode(text).unwrap();
        assert_eq!(ids.len(), text.len());
        assert_eq!(tok.decode_text(&ids).unwrap(), text);
        assert_eq!(tok.decode_text(&[ids[0], EOS.1]).unwrap(), "1", "the end token has no text");
        assert_eq!(tok.encode("<|end|>").unwrap(), [EOS.1]);
        assert_eq!(tok.encode_plain("<|end|>").unwrap().len(), 7, "tool output never holds the end token");
    }

    #[test]
    fn a_demonstration_is_token_exact_and_masks_the_tool_output() {
        let tok = tokenizer().unwrap();
        let t = demonstration(&tok, "mul", "0", "12*34\n", "12*34", "408").unwrap();
        assert_eq!(t.response_text(), "```python\nprint(12*34)\n```\n```output\n408\n```\n\\boxed{408}");
        let v = t.token_view().unwrap();
        assert_eq!(tok.decode_text(&v.ids).unwrap(), t.full_text());
        let masked: String = v
            .ids
            .iter()
            .zip(&v.loss_mask)
            .filter(|&(_, m)| *m == 0)
            .map(|(&i, _)| tok.decode_text(&[i]).unwrap())
            .collect();
        assert_eq!(masked, "12*34\n\n```output\n408\n```\n");
        assert_eq!(*v.ids.last().unwrap(), EOS.1);
    }

    fn warm(target: f64, probe: &Probe<'_>) -> (Result<(ModelConfig, Model, Tokenizer)>, std::path::PathBuf) {
        let mut config = crate::rl::config::RlConfig::preset("demo").unwrap();
        config.warm_start = crate::rl::config::WarmStartConfig {
            demos: 8,
            steps: 12,
            batch: 4,
            target,
            check_every: 2,
            probe: 3,
            lr: 1e-3,
        };
        let fields = cir_data::Fields { problem: None, answer: None, id: None };
        let data = cir_data::Dataset::open("builtin:mul-train", &fields, &cir_rollout::Verifier::default()).unwrap();
        let template = cir_data::Template::resolve("cir-plain").unwrap();
        let out = std::env::temp_dir().join(format!("cir-warm-{target}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let device = Device::flex().autodiff();
        (warm_start(&config, &data, &template, &device, &out, &|_| {}, probe), out)
    }

    #[test]
    fn the_warm_start_stops_once_the_probe_reaches_its_target() {
        let calls = std::cell::Cell::new(0);
        let probe = |_: Model, _: &ModelConfig, _: &Tokenizer, jobs: &[Job]| {
            assert_eq!(jobs.len(), 3);
            assert!(jobs.iter().all(|j| j.prompt.contains('*')), "probe problems are rendered prompts");
            calls.set(calls.get() + 1);
            Ok(if calls.get() == 3 { 0.5 } else { 0.25 })
        };
        let (result, out) = warm(0.5, &probe);
        result.unwrap();
        let history = std::fs::read_to_string(out.join("warmstart/probe.jsonl")).unwrap();
        let steps: Vec<u64> = history
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["step"].as_u64().unwrap())
            .collect();
        assert_eq!(steps, [2, 4, 6], "stopped at the first probe that reached 0.5");
        assert!(out.join("warmstart/model.safetensors").is_file());
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn without_a_target_every_step_is_taken_and_a_failing_probe_fails_the_warm_start() {
        let never = |_: Model, _: &ModelConfig, _: &Tokenizer, _: &[Job]| -> Result<f32> { panic!("probed") };
        let (result, out) = warm(0.0, &never);
        result.unwrap();
        assert_eq!(std::fs::read_to_string(out.join("warmstart/probe.jsonl")).unwrap(), "");
        std::fs::remove_dir_all(&out).unwrap();
        let failing =
            |_: Model, _: &ModelConfig, _: &Tokenizer, _: &[Job]| Err(crate::Error::Tokenizer("probe broke".into()));
        let (result, out) = warm(0.5, &failing);
        assert!(result.unwrap_err().to_string().contains("probe broke"));
        let _ = std::fs::remove_dir_all(&out);
    }
}
