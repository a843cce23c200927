//! The CPU demo's model and demonstrations: what `cir-train rl --preset demo` starts from.
//!
//! - A character-level tokenizer over printable ASCII (one token per character, plus an end-of-sequence token), so
//!   a model of about a million parameters can read and write numbers digit by digit.
//! - A small Qwen2-shaped model (4 layers, width 128), initialised from the run's seed.
//! - Demonstrations: for a multiplication problem `4823*7719`, the trajectory a tool-using model writes — a
//!   `print(4823*7719)` block, the sandbox's output, then `\boxed{…}` of that output — built token-exactly in the
//!   record format every rollout uses, so `cir-train sft` reads them as it reads any trajectory file.

use burn::prelude::Device;
use cir_record::{
    Execution, Finish, SCHEMA_VERSION, Sampling, Segment, Status, Timing, Trajectory, Usage, Verdict, feedback,
};
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

/// The demo run's starting policy: a fresh model (seeded by the run's seed) warm-started by SFT on demonstrations of
/// the first `warm_start.demos` training problems; the demonstrations and the warm-started model are kept in
/// `out/warmstart/`.
///
/// # Errors
/// [`crate::Error::Tokenizer`] or I/O errors writing the folder.
pub fn warm_start(
    config: &crate::rl::config::RlConfig,
    data: &cir_data::Dataset,
    template: &cir_data::Template,
    device: &Device,
    out: &std::path::Path,
    report: &dyn Fn(&str),
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
    let dir = out.join("warmstart");
    std::fs::create_dir_all(&dir).map_err(crate::Error::io(&dir))?;
    let lines: String = demos.iter().map(|t| serde_json::to_string(t).unwrap_or_default() + "\n").collect();
    std::fs::write(dir.join("demos.jsonl"), lines).map_err(crate::Error::io(dir.join("demos.jsonl")))?;
    report(&format!("warm start: {} SFT steps on {} demonstrations", w.steps, demos.len()));
    let sft = crate::sft::SftConfig {
        steps: w.steps,
        batch: w.batch,
        lr: w.lr,
        grad_clip: config.optim.grad_clip,
        micro_batch_tokens: config.optim.micro_batch_tokens,
        seed: config.seed,
    };
    let mut optim = burn::optim::AdamWConfig::new().with_weight_decay(0.0).init();
    let rows = crate::sft::rows(&demos);
    let (model, losses) = crate::sft::train(model, &model_config, &mut optim, &rows, &sft, device, &mut |_, _| {});
    report(&format!("warm start: loss {:.3} → {:.3}", losses.first().unwrap_or(&0.0), losses.last().unwrap_or(&0.0)));
    crate::checkpoint::save_hf_dir(&dir, &model_config, &burn::module::Module::valid(&model))?;
    tok.save_dir(&dir)?;
    Ok((model_config, model, tok))
}

#[cfg(test)]
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
}
