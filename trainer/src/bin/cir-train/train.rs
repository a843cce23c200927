//! The flags of `cir-train rl`, `sft` and `plot`, resolved into library calls.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use cir_trainer::objective::{Estimator, LossAgg};
use cir_trainer::rl::config::RlConfig;
use cir_trainer::rl::metrics::{StepMetrics, ValMetrics};
use cir_trainer::rl::{RunOptions, RunSummary};
use clap::Args;

/// `cir-train rl`: every flag overrides the config (preset, then `--config`, then flags).
#[derive(Args)]
pub struct RlArgs {
    /// The run folder (config, metrics, rollouts, checkpoints).
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the run in this folder from its last complete checkpoint, with its own config.
    #[arg(long, value_name = "RUN_DIR")]
    resume: Option<PathBuf>,
    /// Start from a preset: reference (the paper's settings), demo (the CPU demo) or smoke (the demo in seconds: does
    /// this install train?).
    #[arg(long, default_value = "reference")]
    preset: String,
    /// A TOML file with any of the config's fields (see docs/trainer.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The policy: a GGUF file, a Hugging Face folder, a built-in model, or demo.
    #[arg(long)]
    model: Option<String>,
    /// Training prompts: a JSONL or Parquet file, or builtin:NAME.
    #[arg(long)]
    dataset: Option<String>,
    /// Prompt template (cir-qwen-math, cir-qwen3, cir-chat, cir-plain, or a file).
    #[arg(long)]
    template: Option<String>,
    /// Validation set (the test curve).
    #[arg(long)]
    val_dataset: Option<String>,
    /// Validate every N steps (0: never).
    #[arg(long)]
    val_every: Option<u64>,
    /// Training steps.
    #[arg(long)]
    steps: Option<u64>,
    /// The run's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Backend: cpu, wgpu or cuda.
    #[arg(long)]
    device: Option<String>,
    /// Tool budget: N, or a schedule BUDGET@STEP,… (2@0,3@100,4@200).
    #[arg(long)]
    tool_budget: Option<String>,
    /// Prompts per step.
    #[arg(long)]
    prompts_per_step: Option<usize>,
    /// Rollouts per prompt.
    #[arg(long)]
    n: Option<u32>,
    /// Learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Advantage estimator: reinforce_pp_baseline, grpo or rloo.
    #[arg(long)]
    estimator: Option<Estimator>,
    /// Loss aggregation: token-mean, seq-mean-token-mean or seq-mean-token-sum-norm.
    #[arg(long)]
    loss_agg: Option<LossAgg>,
    /// Train on tool-output tokens too (an ablation; the reference masks them).
    #[arg(long)]
    no_mask_tool_output: bool,
    /// Drop trajectories with a void turn (SimpleTIR).
    #[arg(long)]
    void_turn_filter: bool,
    /// Drop groups whose rewards are all equal.
    #[arg(long)]
    drop_equal_reward_groups: bool,
    /// Checkpoint every N steps.
    #[arg(long)]
    checkpoint_every: Option<u64>,
}

impl RlArgs {
    /// The config these flags give.
    fn config(&self) -> Result<RlConfig> {
        let mut c = RlConfig::preset(&self.preset)?;
        if let Some(path) = &self.config {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            c = RlConfig::from_toml(&text, &c).with_context(|| format!("in {}", path.display()))?;
        }
        let set = |slot: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                slot.clone_from(v);
            }
        };
        set(&mut c.model, &self.model);
        set(&mut c.data.dataset, &self.dataset);
        set(&mut c.data.template, &self.template);
        set(&mut c.device, &self.device);
        if let Some(v) = &self.val_dataset {
            c.data.val_dataset = Some(v.clone());
        }
        if let Some(b) = &self.tool_budget {
            c.rollout.tool_budget = b.parse()?;
        }
        c.data.val_every = self.val_every.unwrap_or(c.data.val_every);
        c.steps = self.steps.unwrap_or(c.steps);
        c.seed = self.seed.unwrap_or(c.seed);
        c.rollout.prompts_per_step = self.prompts_per_step.unwrap_or(c.rollout.prompts_per_step);
        c.rollout.n = self.n.unwrap_or(c.rollout.n);
        c.optim.lr = self.lr.unwrap_or(c.optim.lr);
        c.objective.estimator = self.estimator.unwrap_or(c.objective.estimator);
        c.objective.loss_agg = self.loss_agg.unwrap_or(c.objective.loss_agg);
        c.checkpoint_every = self.checkpoint_every.unwrap_or(c.checkpoint_every);
        c.objective.mask_tool_output &= !self.no_mask_tool_output;
        c.filters.void_turns |= self.void_turn_filter;
        c.filters.equal_reward_groups |= self.drop_equal_reward_groups;
        Ok(c)
    }
}

/// Runs `cir-train rl`.
pub fn rl(args: &RlArgs) -> Result<RunSummary> {
    let (out, resume) = match (&args.out, &args.resume) {
        (_, Some(dir)) => (dir.clone(), true),
        (Some(dir), None) => (dir.clone(), false),
        (None, None) => bail!("pass --out RUN_DIR (or --resume RUN_DIR)"),
    };
    let options = RunOptions { config: args.config()?, out, resume, steps: args.steps, progress: true };
    Ok(cir_trainer::rl::train(&options, &|m| eprintln!("cir-train: {m}"))?)
}

/// `cir-train plot RUN_DIR`.
#[derive(Args)]
pub struct PlotArgs {
    /// The run folder.
    run: PathBuf,
    /// Where to write the SVG [default: RUN_DIR/curves.svg].
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Writes the run's curves; returns the SVG's path.
pub fn plot(args: &PlotArgs) -> Result<PathBuf> {
    let steps: Vec<StepMetrics> = read_jsonl(&args.run.join("metrics.jsonl"))?;
    let val: Vec<ValMetrics> = read_jsonl(&args.run.join("validation.jsonl")).unwrap_or_default();
    let out = args.out.clone().unwrap_or_else(|| args.run.join("curves.svg"));
    std::fs::write(&out, cir_trainer::plot::svg(&steps, &val)).with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}

fn read_jsonl<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{} line {}", path.display(), i + 1)))
        .collect()
}

/// `cir-train sft`: a supervised warm start on trajectories.
#[derive(Args)]
pub struct SftArgs {
    /// The model to train: a GGUF file, a Hugging Face folder or a built-in model.
    #[arg(long)]
    model: String,
    /// Trajectory files (the record format; token-exact lines are used, tool output masked). Repeat for several.
    #[arg(long = "data", required = true)]
    data: Vec<PathBuf>,
    /// Where to write the trained model (a Hugging Face folder).
    #[arg(long)]
    out: PathBuf,
    /// Optimizer steps.
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Trajectories per step.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Learning rate (AdamW).
    #[arg(long, default_value_t = 1e-5)]
    lr: f64,
    /// Seed of the visiting order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Backend: cpu, wgpu or cuda.
    #[arg(long, default_value = "cpu")]
    device: cir_trainer::DeviceKind,
}

/// Runs `cir-train sft`; returns the first and last step's loss.
pub fn sft(args: &SftArgs) -> Result<(f32, f32)> {
    let mut trajectories = Vec::new();
    for path in &args.data {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let t: cir_record::Trajectory = serde_json::from_str(line)
                .with_context(|| format!("{} line {}: not a trajectory", path.display(), i + 1))?;
            trajectories.push(t);
        }
    }
    let rows = cir_trainer::sft::rows(&trajectories);
    if rows.is_empty() {
        bail!(
            "no token-exact trajectory in the data (SFT needs ids: files written by the in-process model, or demonstrations)"
        );
    }
    let device = args.device.device()?.autodiff();
    let path = cir_trainer::models::resolve(&args.model, &cir_fetch::home(), None, &|m| eprintln!("cir-train: {m}"))?;
    let loaded = cir_trainer::load(&path, &device).with_context(|| format!("loading {}", path.display()))?;
    let tokenizer = loaded.tokenizer.context("the model has no tokenizer")?;
    let config = cir_trainer::sft::SftConfig {
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        grad_clip: 1.0,
        micro_batch_tokens: 16384,
        seed: args.seed,
    };
    let mut optim = burn::optim::AdamWConfig::new().with_weight_decay(0.0).init();
    let bar = indicatif::ProgressBar::new(args.steps as u64);
    let model = cir_trainer::params::with_stable_ids(loaded.model);
    let (model, losses) =
        cir_trainer::sft::train(model, &loaded.config, &mut optim, &rows, &config, &device, &mut |_, loss, _| {
            bar.set_message(format!("loss {loss:.4}"));
            bar.inc(1);
            std::ops::ControlFlow::Continue(())
        });
    bar.finish();
    cir_trainer::save_hf_dir(&args.out, &loaded.config, &burn::module::Module::valid(&model))?;
    tokenizer.save_dir(&args.out)?;
    Ok((losses.first().copied().unwrap_or(0.0), losses.last().copied().unwrap_or(0.0)))
}
