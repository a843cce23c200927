//! `cir-eval run` flags, resolved once into a checked [`RunConfig`], a policy and a sandbox.

use std::path::PathBuf;

use anyhow::{Context, bail};
use cir_data::{Api, Dataset, Fields, Template};
use cir_eval::run::{RunConfig, RunSummary};
use cir_eval::{Client, ClientConfig, EndpointPolicy};
use cir_rollout::{Grader, Settings, check_sampling};
use cir_trainer::{DeviceKind, LocalOptions, LocalPolicy};

/// Command-line arguments of `cir-eval run`.
#[derive(Clone, Debug, clap::Args)]
pub struct RunArgs {
    /// Base URL of an OpenAI-compatible server (`http://host:8000` or `…/v1`); repeat for a fleet (round-robin,
    /// failing endpoints skipped).
    #[arg(long = "endpoint", required_unless_present = "local", conflicts_with = "local")]
    pub endpoints: Vec<String>,
    /// Run a model in-process instead of calling a server: a GGUF file, a Hugging Face folder, or a built-in
    /// model (`smollm2-135m`, fetched once into CIR_HOME).
    #[arg(long, value_name = "NAME|PATH")]
    pub local: Option<String>,
    /// Backend of the in-process model: cpu, wgpu or cuda (each needs its cargo feature).
    #[arg(long, default_value = "cpu", requires = "local")]
    pub device: DeviceKind,
    /// A local copy of the built-in model's PyPI wheel, for offline machines.
    #[arg(long, value_name = "PATH", requires = "local")]
    pub model_wheel: Option<PathBuf>,
    /// Model name as the server knows it [default with --local: the model's name or path].
    #[arg(long, required_unless_present = "local")]
    pub model: Option<String>,
    /// Dataset: a JSONL file, a training-format Parquet file, or a built-in benchmark (`builtin:arith`); repeat for
    /// several.
    #[arg(long = "dataset", required = true)]
    pub datasets: Vec<String>,
    /// Field with the problem text [default: problem].
    #[arg(long)]
    pub problem_field: Option<String>,
    /// Field with the gold answer or worked solution [default: answer, else solution].
    #[arg(long)]
    pub answer_field: Option<String>,
    /// Field with the problem id [default: unique_id, else id, else the line number].
    #[arg(long)]
    pub id_field: Option<String>,
    /// Prompt template: cir-qwen-math (raw text), cir-qwen3 (chat, thinking off), cir-chat (chat), or a file with
    /// `{problem}` [default: cir-qwen-math; with --local, cir-chat when the model ships a chat template].
    #[arg(long)]
    pub template: Option<String>,
    /// Endpoint kind for a template file [default: the template's; completions for files].
    #[arg(long, value_enum)]
    pub api: Option<ApiArg>,
    /// Wall-clock deadline per code block, in seconds (the reference's 5 s).
    #[arg(long, default_value_t = 5.0)]
    pub exec_timeout: f64,
    /// Feed back only what the code printed, not the value of a final bare expression (the reference executor).
    #[arg(long)]
    pub no_echo: bool,
    /// Only the first N problems of each dataset (a quick smoke run) [default: all].
    #[arg(long)]
    pub limit: Option<usize>,
    /// Samples per problem.
    #[arg(long, default_value_t = 1)]
    pub n: u32,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Nucleus sampling mass.
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f64,
    /// New tokens across all segments of a trajectory.
    #[arg(long, default_value_t = 16384)]
    pub max_tokens: u64,
    /// The server's context length in tokens: requests ask for no more than fits [default: no limit].
    #[arg(long)]
    pub max_context: Option<u64>,
    /// Most tool calls per trajectory (the reference evaluates with 5).
    #[arg(long, default_value_t = 5)]
    pub tool_budget: u32,
    /// Keep one interpreter per trajectory (names carry over between blocks) instead of a fresh one per block.
    #[arg(long)]
    pub stateful: bool,
    /// Samples in flight at once (with --local: rows per batch).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Run seed: every sample's sampling and sandbox seeds derive from it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output JSONL; appended as samples finish; rerunning skips what is done.
    #[arg(long)]
    pub out: PathBuf,
    /// Ask the server for token ids and log-probs and keep the trajectories token-exact (vLLM's `return_token_ids`;
    /// completions only). The in-process model always records them.
    #[arg(long, conflicts_with = "local")]
    pub record_tokens: bool,
    /// With --local: prefill every turn's whole context again instead of keeping each row's KV cache (to measure
    /// what the cache saves).
    #[arg(long, requires = "local")]
    pub no_cache_reuse: bool,
    /// Environment variable holding the API key sent as a bearer token.
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
    /// Seconds before a generation request is abandoned (and retried).
    #[arg(long, default_value_t = 600)]
    pub request_timeout: u64,
    /// Attempts per request (connection errors, timeouts, 408/429/5xx, malformed replies).
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    /// A local copy of the interpreter wheel (file or folder), for offline machines; also `CIR_WHEEL`.
    #[arg(long, value_name = "PATH")]
    pub wheel: Option<PathBuf>,
}

/// `--api` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ApiArg {
    /// `/v1/completions`.
    Completions,
    /// `/v1/chat/completions`.
    Chat,
}

/// `cir-eval run`: resolves the flags, builds the policy and the sandbox, runs. `report` hears about first-use
/// preparations (model download, interpreter setup) and dataset warnings.
pub fn run(args: &RunArgs, grader: &dyn Grader, report: &dyn Fn(&str)) -> anyhow::Result<RunSummary> {
    check_sampling(args.temperature, args.top_p)?;
    if args.max_tokens == 0 {
        bail!("--max-tokens must be at least 1");
    }
    if !(args.exec_timeout.is_finite() && args.exec_timeout > 0.0) {
        bail!("--exec-timeout must be a positive number of seconds");
    }
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let fields =
        Fields { problem: args.problem_field.clone(), answer: args.answer_field.clone(), id: args.id_field.clone() };
    let mut datasets: Vec<Dataset> = Vec::new();
    for spec in &args.datasets {
        let mut d = Dataset::open(spec, &fields, grader)?;
        d.problems.truncate(args.limit.unwrap_or(usize::MAX));
        if datasets.iter().any(|other| other.name == d.name) {
            bail!("two datasets are named {:?} (file stems must differ)", d.name);
        }
        for (line, why) in &d.skipped {
            report(&format!("warning: {spec} line {line} skipped: {why}"));
        }
        datasets.push(d);
    }
    if args.temperature == 0.0 && args.n > 1 {
        report(&format!("warning: --temperature 0 is greedy: one sample per problem, not {}", args.n));
    }
    let settings = Settings {
        temperature: args.temperature,
        top_p: args.top_p,
        max_tokens: args.max_tokens,
        tool_budget: args.tool_budget,
        stateful: args.stateful,
        max_context: args.max_context,
        seed: args.seed,
    };
    let sandbox = super::sandbox(args.exec_timeout, !args.no_echo, args.wheel.clone(), report)?;
    let n = if args.temperature == 0.0 { 1 } else { args.n };
    let config = |template: Template| RunConfig {
        datasets: datasets.clone(),
        template,
        n,
        out: args.out.clone(),
        settings: settings.clone(),
        progress: true,
    };
    match &args.local {
        Some(spec) => {
            let path = cir_trainer::models::resolve(spec, &cir_fetch::home(), args.model_wheel.as_deref(), report)?;
            let device = args.device.device()?;
            report(&format!("loading {}", path.display()));
            let loaded = cir_trainer::load(&path, &device).with_context(|| format!("loading {}", path.display()))?;
            let tokenizer = loaded.tokenizer.context("the model has no tokenizer (tokenizer.json beside it)")?;
            let default = if tokenizer.chat_template().is_some() { "cir-chat" } else { "cir-qwen-math" };
            let template = template(args.template.as_deref().unwrap_or(default), args.api)?;
            let name = args.model.clone().unwrap_or_else(|| spec.clone());
            let options = LocalOptions {
                max_rows: args.concurrency,
                reuse_cache: !args.no_cache_reuse,
                ..LocalOptions::for_template(&name, &template)
            };
            let policy = LocalPolicy::new(loaded.model, loaded.config, tokenizer, options)?;
            Ok(cir_eval::run::run(&config(template), &policy, &sandbox, grader)?)
        }
        None => {
            let template = template(args.template.as_deref().unwrap_or("cir-qwen-math"), args.api)?;
            let mut client = ClientConfig::new(args.endpoints.clone());
            client.api_key = std::env::var(&args.api_key_env).ok().filter(|k| !k.is_empty());
            client.timeout = std::time::Duration::from_secs(args.request_timeout.max(1));
            client.attempts = args.attempts;
            let policy = EndpointPolicy {
                client: Client::new(client)?,
                model: args.model.clone().unwrap_or_default(),
                api: template.api,
                extra: template.extra.clone(),
                concurrency: args.concurrency,
                tokens: args.record_tokens,
            };
            Ok(cir_eval::run::run(&config(template), &policy, &sandbox, grader)?)
        }
    }
}

fn template(name: &str, api: Option<ApiArg>) -> anyhow::Result<Template> {
    let mut template = Template::resolve(name)?;
    match api {
        Some(ApiArg::Completions) => template.api = Api::Completions,
        Some(ApiArg::Chat) => template.api = Api::Chat,
        None => {}
    }
    Ok(template)
}
