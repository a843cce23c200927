//! `cir-train rl`: the paper's training method on the one interaction loop.
//!
//! Each step: prompts → `n` rollouts each through [`cir_rollout::Loop`] with the burn model in-process (token-exact,
//! code in `cir-runtime`, graded by `cir-verify`) → rewards → filters → advantages → PPO mini-batch updates
//! ([`update::update`]) → metrics, checkpoint, validation. [`train`] reads as that list.

pub mod batch;
pub mod config;
pub mod metrics;
pub mod state;
pub mod update;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use cir_data::{Dataset, Fields, Problem, Template};
use cir_record::{Status, Trajectory};
use cir_rollout::{Job, Loop, Settings, Timed, Verifier};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::config::ModelConfig;
use crate::device::DeviceKind;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::params::with_stable_ids;
use crate::policy::{LocalOptions, LocalPolicy};
use crate::tokenizer::Tokenizer;
use batch::{RowOptions, TrainRow, has_void_turn, row};
use config::RlConfig;
use metrics::{StepMetrics, ValMetrics};
use state::RunState;

/// What `cir-train rl` is asked to do.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The run's config (ignored when resuming: the run folder's own is used).
    pub config: RlConfig,
    /// The run folder.
    pub out: PathBuf,
    /// Continue the run in `out` from its last complete checkpoint.
    pub resume: bool,
    /// Train to this step instead of the config's `steps` (to extend a resumed run).
    pub steps: Option<u64>,
    /// Draw progress bars on stderr.
    pub progress: bool,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    /// The last step completed.
    pub step: u64,
    /// Every step's metrics of this invocation.
    pub metrics: Vec<StepMetrics>,
    /// Every validation of this invocation.
    pub validation: Vec<ValMetrics>,
}

/// Runs (or resumes) a training run; `report` hears about preparations and milestones.
///
/// # Errors
/// Bad input before any work: a config out of range, a dataset with no usable problem, a model that does not load
/// or has no tokenizer, a run folder that holds another run (or, resuming, no checkpoint); I/O failures after.
pub fn train(options: &RunOptions, report: &dyn Fn(&str)) -> Result<RunSummary> {
    let out = &options.out;
    let config = resolve_config(options)?;
    let kind: DeviceKind = config.device.parse().map_err(Error::TrainConfig)?;
    let device = kind.device()?;
    let train_device = device.clone().autodiff();
    let grader = Verifier::default();
    let template = Template::resolve(&config.data.template)?;
    let fields = Fields {
        problem: config.data.problem_field.clone(),
        answer: config.data.answer_field.clone(),
        id: config.data.id_field.clone(),
    };
    let data = Dataset::open(&config.data.dataset, &fields, &grader)?;
    let val = match &config.data.val_dataset {
        Some(spec) if config.data.val_every > 0 => {
            let mut d = Dataset::open(spec, &fields, &grader)?;
            if config.data.val_limit > 0 {
                d.problems.truncate(config.data.val_limit);
            }
            Some(d)
        }
        _ => None,
    };
    let sandbox = cir_runtime::Sandbox::builder()
        .limits(cir_runtime::Limits {
            timeout: std::time::Duration::from_secs_f64(config.rollout.exec_timeout_s),
            ..cir_runtime::Limits::default()
        })
        .build_with_progress(report)?;
    let runner = Runner { sandbox: &sandbox, grader: &grader, config: &config, out };
    let local = local_options(&config, &template);
    let mut optim = config.optim.optimizer();
    let (model_config, mut model, tokenizer, start) = if options.resume {
        let l = state::load_latest(out, optim, &train_device)?;
        optim = l.optim;
        report(&format!("resuming after step {}", l.state.step));
        (l.config, l.model, l.tokenizer, l.state.step)
    } else {
        let probe = |m: Model, c: &ModelConfig, t: &Tokenizer, jobs: &[Job]| {
            Ok(runner.success_rate(&LocalPolicy::new(m, c.clone(), t.clone(), local.clone())?, jobs))
        };
        let (c, m, t) = initial_model(&config, &data, &template, &train_device, out, report, &probe)?;
        (c, m, t, 0)
    };
    let mut policy = LocalPolicy::new(model.valid(), model_config.clone(), tokenizer, local)?;
    let reference = (config.objective.kl_coef > 0.0).then(|| model.clone());
    let mut summary = RunSummary { step: start, metrics: Vec::new(), validation: Vec::new() };
    if let (Some(val), 0) = (&val, start) {
        summary.validation.push(runner.validate(&policy, val, &template, 0, true)?);
    }
    let bar = progress_bar(config.steps, start, options.progress);
    for step in start + 1..=config.steps {
        let t0 = Instant::now();
        let jobs = runner.jobs(&data, &template, &policy, step)?;
        let (trajectories, gen_s) = runner.rollouts(&policy, &jobs, step)?;
        let rollout_s = t0.elapsed().as_secs_f64() as f32;
        let (mut rows, kept) = runner.rows(&trajectories);
        if !config.objective.mask_tool_output {
            fill_tool_logprobs(&mut rows, &model.valid(), &model_config, config.optim.micro_batch_tokens, &device);
        }
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(step_seed(config.seed, step) ^ 0x5eed));
        let t1 = Instant::now();
        let (updated, stats) =
            update::update(model, &model_config, &mut optim, &rows, &order, &config, reference.as_ref(), &train_device);
        let update_s = t1.elapsed().as_secs_f64() as f32;
        model = updated;
        policy.set_model(model.valid());
        let m = step_metrics(step, &config, &trajectories, kept, &stats, gen_s, rollout_s, update_s);
        append_jsonl(&out.join("metrics.jsonl"), &m)?;
        bar.set_message(format!("reward {:+.3} · acc {:.3} · tools {:.2}", m.reward_mean, m.accuracy, m.tool_calls));
        bar.inc(1);
        summary.metrics.push(m);
        summary.step = step;
        let last = step == config.steps;
        if last || step % config.checkpoint_every.max(1) == 0 {
            let s = RunState {
                step,
                seed: config.seed,
                tool_budget: config.rollout.tool_budget.to_string(),
                tool_budget_now: config.rollout.tool_budget.at(step),
            };
            state::save(out, &s, &model_config, &model.valid(), policy.tokenizer(), &optim)?;
        }
        if let Some(val) = &val
            && (last || step % config.data.val_every == 0)
        {
            summary.validation.push(runner.validate(&policy, val, &template, step, last)?);
        }
    }
    bar.finish();
    Ok(summary)
}

/// The config of a run: the run folder's own when resuming; otherwise `options.config`, written into a new (or
/// empty) run folder.
fn resolve_config(options: &RunOptions) -> Result<RlConfig> {
    let out = &options.out;
    let path = out.join("config.toml");
    if options.resume {
        let text = std::fs::read_to_string(&path)
            .map_err(|_| Error::Run { path: out.clone(), message: "no config.toml: not a run folder".into() })?;
        let mut config = RlConfig::from_toml(&text, &RlConfig::default())?;
        config.validate()?;
        if let Some(steps) = options.steps {
            config.steps = steps;
            std::fs::write(&path, config.to_toml()).map_err(Error::io(&path))?;
        }
        return Ok(config);
    }
    if out.join("metrics.jsonl").exists() || out.join("checkpoints").exists() {
        return Err(Error::Run {
            path: out.clone(),
            message: "holds a run already: pass --resume to continue it, or another --out".into(),
        });
    }
    let mut config = options.config.clone();
    config.steps = options.steps.unwrap_or(config.steps);
    config.validate()?;
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    std::fs::write(&path, config.to_toml()).map_err(Error::io(&path))?;
    Ok(config)
}

/// How the in-process policy renders prompts and batches rows.
fn local_options(config: &RlConfig, template: &Template) -> LocalOptions {
    LocalOptions {
        max_rows: config.rollout.max_rows,
        reuse_cache: true,
        ..LocalOptions::for_template(&config.model, template)
    }
}

/// The starting policy: the named model, or the demo's tiny model warm-started on demonstrations until `probe` says
/// it is ready.
fn initial_model(
    config: &RlConfig,
    data: &Dataset,
    template: &Template,
    device: &Device,
    out: &Path,
    report: &dyn Fn(&str),
    probe: &crate::demo::Probe<'_>,
) -> Result<(ModelConfig, Model, Tokenizer)> {
    if config.model == "demo" {
        return crate::demo::warm_start(config, data, template, device, out, report, probe);
    }
    let path = crate::models::resolve(&config.model, &cir_fetch::home(), None, report)?;
    report(&format!("loading {}", path.display()));
    let loaded = crate::loader::load(&path, device)?;
    let tokenizer = loaded.tokenizer.ok_or_else(|| {
        Error::Tokenizer(format!("{} has no tokenizer (tokenizer.json beside it, or a GGUF file)", path.display()))
    })?;
    Ok((loaded.config, with_stable_ids(loaded.model), tokenizer))
}

/// The seed of everything random in `step`.
fn step_seed(seed: u64, step: u64) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ step.wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

/// What the steps share.
struct Runner<'a> {
    sandbox: &'a cir_runtime::Sandbox,
    grader: &'a Verifier,
    config: &'a RlConfig,
    out: &'a Path,
}

impl Runner<'_> {
    /// The step's jobs: `prompts_per_step` problems (the dataset in a seeded order, a new order each pass; prompts
    /// longer than `max_prompt_tokens` skipped) with `n` rollouts each.
    fn jobs(&self, data: &Dataset, template: &Template, policy: &LocalPolicy, step: u64) -> Result<Vec<Job>> {
        let r = &self.config.rollout;
        let len = data.problems.len();
        let mut picked: Vec<&Problem> = Vec::with_capacity(r.prompts_per_step);
        let mut cursor = (step - 1) as usize * r.prompts_per_step;
        let mut seen = 0;
        while picked.len() < r.prompts_per_step && seen < len {
            let pass = cursor / len;
            let mut order: Vec<usize> = (0..len).collect();
            order.shuffle(&mut StdRng::seed_from_u64(
                self.config.seed ^ (pass as u64).wrapping_mul(0x2545_f491_4f6c_dd1d),
            ));
            let p = &data.problems[order[cursor % len]];
            cursor += 1;
            seen += 1;
            let prompt = p.prompt.clone().unwrap_or_else(|| template.render(&p.text));
            let tokens = policy.tokenizer().encode(&policy.render(&prompt)?)?.len();
            if tokens <= r.max_prompt_tokens {
                picked.push(p);
            }
        }
        if picked.is_empty() {
            return Err(Error::TrainConfig(format!(
                "no prompt of {} fits rollout.max_prompt_tokens = {}",
                self.config.data.dataset, r.max_prompt_tokens
            )));
        }
        let mut jobs = Vec::with_capacity(picked.len() * r.n as usize);
        for p in picked {
            let prompt = p.prompt.clone().unwrap_or_else(|| template.render(&p.text));
            for sample in 0..r.n {
                jobs.push(Job::new(&data.name, &p.id, sample, &prompt, &p.gold).with_meta(p.meta.clone()));
            }
        }
        Ok(jobs)
    }

    /// The step's rollouts, written to `rollouts/step-N.jsonl`; with the seconds spent generating.
    fn rollouts(&self, policy: &LocalPolicy, jobs: &[Job], step: u64) -> Result<(Vec<Trajectory>, f32)> {
        let r = &self.config.rollout;
        let settings = Settings {
            temperature: r.temperature,
            top_p: r.top_p,
            max_tokens: r.max_response_tokens,
            tool_budget: r.tool_budget.at(step),
            stateful: r.stateful,
            max_context: None,
            seed: step_seed(self.config.seed, step),
        };
        let timed = Timed::new(policy);
        let mut out = Vec::with_capacity(jobs.len());
        Loop::new(&timed, self.sandbox, self.grader, &settings).run(jobs, &mut |t| {
            out.push(t);
            true
        });
        out.sort_by_key(|t| (t.problem_id.clone(), t.sample));
        let path = self.out.join("rollouts").join(format!("step-{step:06}.jsonl"));
        write_trajectories(&path, &out)?;
        Ok((out, timed.seconds() as f32))
    }

    /// The share of `jobs` the policy solves, one rollout each at the rollout temperature with the budget of step 1.
    fn success_rate(&self, policy: &LocalPolicy, jobs: &[Job]) -> f32 {
        let r = &self.config.rollout;
        let settings = Settings {
            temperature: r.temperature,
            top_p: r.top_p,
            max_tokens: r.max_response_tokens,
            tool_budget: r.tool_budget.at(1),
            stateful: r.stateful,
            max_context: None,
            seed: step_seed(self.config.seed, 0),
        };
        let mut solved = 0;
        Loop::new(policy, self.sandbox, self.grader, &settings).run(jobs, &mut |t| {
            solved += usize::from(t.is_correct());
            true
        });
        solved as f32 / jobs.len().max(1) as f32
    }

    /// The training rows of the rollouts the filters keep; with how many were kept.
    fn rows(&self, trajectories: &[Trajectory]) -> (Vec<TrainRow>, usize) {
        let r = &self.config.rollout;
        let o = RowOptions {
            reward_correct: r.reward_correct,
            reward_wrong: r.reward_wrong,
            mask_tool_output: self.config.objective.mask_tool_output,
            whiten_tool_tokens: self.config.objective.whiten_tool_tokens,
        };
        let f = &self.config.filters;
        let mut rows: Vec<TrainRow> =
            trajectories.iter().filter(|t| !(f.void_turns && has_void_turn(t))).filter_map(|t| row(t, &o)).collect();
        if f.equal_reward_groups {
            let mut groups: std::collections::HashMap<&str, (f32, f32)> = std::collections::HashMap::new();
            for r in &rows {
                let e = groups.entry(&r.group).or_insert((f32::INFINITY, f32::NEG_INFINITY));
                *e = (e.0.min(r.reward), e.1.max(r.reward));
            }
            let varied: std::collections::HashSet<String> =
                groups.into_iter().filter(|(_, (lo, hi))| lo < hi).map(|(g, _)| g.to_owned()).collect();
            rows.retain(|r| varied.contains(&r.group));
        }
        let kept = rows.len();
        (rows, kept)
    }

    /// Evaluates the policy on the validation set through the same loop (greedy, or avg@k), with the step's budget;
    /// `without_tool` also measures it with a budget of 0. Writes the trajectories and one line of
    /// `validation.jsonl`.
    fn validate(
        &self,
        policy: &LocalPolicy,
        val: &Dataset,
        template: &Template,
        step: u64,
        without_tool: bool,
    ) -> Result<ValMetrics> {
        let k = self.config.data.val_samples;
        let (n, temperature) = if k == 0 { (1, 0.0) } else { (k, self.config.rollout.temperature) };
        let jobs = val.jobs(template, n);
        let run = |budget: u32| {
            let settings = Settings {
                temperature,
                top_p: 1.0,
                max_tokens: self.config.rollout.max_response_tokens,
                tool_budget: budget,
                stateful: self.config.rollout.stateful,
                max_context: None,
                seed: step_seed(self.config.seed, u64::MAX - step),
            };
            let mut out = Vec::with_capacity(jobs.len());
            Loop::new(policy, self.sandbox, self.grader, &settings).run(&jobs, &mut |t| {
                out.push(t);
                true
            });
            out
        };
        let budget = self.config.rollout.tool_budget.at(step.max(1));
        let with = run(budget);
        write_trajectories(&self.out.join("validation").join(format!("step-{step:06}.jsonl")), &with)?;
        let accuracy = |ts: &[Trajectory]| ts.iter().filter(|t| t.is_correct()).count() as f32 / ts.len().max(1) as f32;
        let (calls, errors) = tool_use(&with);
        let m = ValMetrics {
            step,
            accuracy: accuracy(&with),
            tool_calls: calls,
            tool_error_rate: errors,
            accuracy_without_tool: without_tool.then(|| accuracy(&run(0))),
        };
        append_jsonl(&self.out.join("validation.jsonl"), &m)?;
        Ok(m)
    }
}

/// Tool calls per trajectory and the share of executions that failed.
fn tool_use(ts: &[Trajectory]) -> (f32, f32) {
    let calls: u32 = ts.iter().map(|t| t.tool_calls).sum();
    let failed = ts.iter().flat_map(Trajectory::executions).filter(|e| e.status != Status::Ok).count();
    (calls as f32 / ts.len().max(1) as f32, failed as f32 / calls.max(1) as f32)
}

/// The loss's old log-probs of tool-output tokens when they are trained on: the current policy's.
fn fill_tool_logprobs(rows: &mut [TrainRow], model: &Model, config: &ModelConfig, max_tokens: usize, device: &Device) {
    let recomputed = update::recompute_logprobs(model, config, rows, max_tokens, device);
    for (row, lp) in rows.iter_mut().zip(recomputed) {
        for (k, (old, sampled)) in row.old_logprobs.iter_mut().zip(&row.sampled).enumerate() {
            if !sampled {
                *old = lp.get(k).copied().unwrap_or(0.0);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn step_metrics(
    step: u64,
    config: &RlConfig,
    ts: &[Trajectory],
    kept: usize,
    stats: &update::UpdateStats,
    gen_s: f32,
    rollout_s: f32,
    update_s: f32,
) -> StepMetrics {
    let n = ts.len().max(1) as f32;
    let correct = ts.iter().filter(|t| t.is_correct()).count() as f32;
    let r = &config.rollout;
    let (tool_calls, tool_error_rate) = tool_use(ts);
    let sampled: u64 = ts.iter().filter_map(|t| t.usage.completion_tokens).sum();
    let grading_s: f32 = ts.iter().map(|t| t.timing.grading_ms as f32).sum::<f32>() / 1000.0;
    StepMetrics {
        step,
        reward_mean: (correct * r.reward_correct + (n - correct) * r.reward_wrong) / n,
        accuracy: correct / n,
        tool_calls,
        tool_error_rate,
        response_tokens: sampled as f32 / n,
        tool_budget: r.tool_budget.at(step),
        rollouts: ts.len(),
        kept,
        pg_loss: stats.pg_loss,
        clipfrac: stats.clipfrac,
        clipfrac_lower: stats.clipfrac_lower,
        ppo_kl: stats.ppo_kl,
        entropy: stats.entropy,
        grad_norm: stats.grad_norm,
        kl_ref: stats.kl_ref,
        lr: config.optim.lr,
        logprob_diff_max: stats.logprob_diff_max,
        logprob_diff_mean: stats.logprob_diff_mean,
        rollout_tokens_per_s: sampled as f32 / gen_s.max(1e-6),
        update_tokens_per_s: stats.tokens as f32 / update_s.max(1e-6),
        time_generation_s: gen_s,
        time_sandbox_s: (rollout_s - gen_s - grading_s).max(0.0),
        time_grading_s: grading_s,
        time_update_s: update_s,
    }
}

/// Writes `ts` as one JSONL file (to a temporary name, renamed into place).
fn write_trajectories(path: &Path, ts: &[Trajectory]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mut text = String::new();
    for t in ts {
        text.push_str(&serde_json::to_string(t).unwrap_or_default());
        text.push('\n');
    }
    let tmp = path.with_extension("jsonl.tmp");
    std::fs::write(&tmp, text).map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(Error::io(path))
}

/// Appends one JSON line (whole, in one write).
fn append_jsonl<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let line = format!("{}\n", serde_json::to_string(value).unwrap_or_default());
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(Error::io(path))?;
    f.write_all(line.as_bytes()).map_err(Error::io(path))
}

fn progress_bar(steps: u64, start: u64, visible: bool) -> indicatif::ProgressBar {
    if !visible {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(steps);
    bar.set_position(start);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] step {pos}/{len} ETA {eta} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
