//! `cir-train`: command-line entry point. Parses flags, picks the device once, calls the
//! library. Exit codes: 0 success, 1 any error (printed with its cause chain).

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use cir_trainer::{CompletionServer, DeviceKind, SamplingParams, generate, load};
use clap::{Args, Parser, Subcommand};

mod train;

#[derive(Parser)]
#[command(name = "cir-train", about = "The cir policy model: generate, serve, train")]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Args)]
struct ModelArgs {
    /// A Hugging Face directory (config.json, safetensors, tokenizer.json), a .gguf file, or a built-in model
    /// (`smollm2-135m`, fetched once into CIR_HOME).
    #[arg(long)]
    model: String,
    /// Backend: cpu (burn-flex), wgpu or cuda (each needs its cargo feature).
    #[arg(long, default_value = "cpu")]
    device: DeviceKind,
}

#[derive(Subcommand)]
enum Command {
    /// Generates a continuation of a prompt and prints it with timing.
    Generate {
        #[command(flatten)]
        model: ModelArgs,
        /// The prompt text.
        #[arg(long)]
        prompt: String,
        /// Most new tokens.
        #[arg(long, default_value_t = 64)]
        max_tokens: usize,
        /// Temperature (0: greedy).
        #[arg(long, default_value_t = 0.0)]
        temperature: f32,
        /// Nucleus sampling threshold.
        #[arg(long, default_value_t = 1.0)]
        top_p: f32,
        /// Top-k cut-off (0: off).
        #[arg(long, default_value_t = 0)]
        top_k: usize,
        /// Random seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// How many samples of the prompt to generate as one batch.
        #[arg(long, default_value_t = 1)]
        n: usize,
    },
    /// Trains with the paper's RL method: rollouts through the sandbox, verl's objective, checkpoints, metrics.
    Rl(Box<train::RlArgs>),
    /// Supervised warm start on trajectories (the model's own tokens; tool output masked).
    Sft(train::SftArgs),
    /// Writes a run's curves (metrics.jsonl, validation.jsonl) as one SVG.
    Plot(train::PlotArgs),
    /// Serves the model behind the OpenAI-compatible API: /v1/completions, /v1/chat/completions (streaming too),
    /// /tokenize, /v1/models.
    Serve {
        #[command(flatten)]
        model: ModelArgs,
        /// Interface to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 8000)]
        port: u16,
    },
    /// Reads one JSON object on stdin (group_ids, rewards, response_mask, loss_mask, old_log_probs, log_probs,
    /// clip_low, clip_high, dual_clip; optional estimator and loss_agg) and prints the advantages and the policy
    /// loss with its statistics as one JSON object, to check the formulas against verl's on the same numbers.
    Objective,
}

impl ModelArgs {
    /// The model on the chosen device (a built-in name fetched first).
    fn load(&self) -> Result<cir_trainer::Loaded> {
        let path =
            cir_trainer::models::resolve(&self.model, &cir_fetch::home(), None, &|m| eprintln!("cir-train: {m}"))?;
        let device = self.device.device()?;
        load(&path, &device).with_context(|| format!("loading {}", path.display()))
    }
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Command::Rl(args) => {
            let s = train::rl(&args)?;
            if let (Some(first), Some(last)) = (s.metrics.first(), s.metrics.last()) {
                eprintln!(
                    "steps {}–{}: reward {:+.3} → {:+.3}, accuracy {:.3} → {:.3}",
                    first.step, last.step, first.reward_mean, last.reward_mean, first.accuracy, last.accuracy
                );
            }
            for v in &s.validation {
                eprintln!("validation at step {}: accuracy {:.3}", v.step, v.accuracy);
            }
            Ok(())
        }
        Command::Sft(args) => {
            let (first, last) = train::sft(&args)?;
            eprintln!("loss {first:.4} → {last:.4}");
            Ok(())
        }
        Command::Plot(args) => {
            let path = train::plot(&args)?;
            println!("{}", path.display());
            Ok(())
        }
        Command::Generate { model, prompt, max_tokens, temperature, top_p, top_k, seed, n } => {
            let loaded = model.load()?;
            let tok = loaded.tokenizer.as_ref().context("the model has no tokenizer")?;
            let ids = tok.encode(&prompt)?;
            let params = SamplingParams {
                temperature,
                top_p,
                top_k,
                max_new_tokens: max_tokens,
                seed,
                ..SamplingParams::default()
            };
            let start = std::time::Instant::now();
            let outs = generate(&loaded.model, &loaded.config, Some(tok), &vec![ids; n.max(1)], &params)?;
            let secs = start.elapsed().as_secs_f64();
            let total: usize = outs.iter().map(|o| o.tokens.len()).sum();
            let mut stdout = std::io::stdout().lock();
            for out in &outs {
                writeln!(stdout, "{}{}", prompt, tok.decode(&out.tokens)?)?;
                writeln!(stdout, "-- {} tokens, finish: {:?}", out.tokens.len(), out.finish)?;
            }
            writeln!(stdout, "-- {total} tokens in {secs:.2} s ({:.1} tokens/s)", total as f64 / secs)?;
            Ok(())
        }
        Command::Serve { model, host, port } => {
            let loaded = model.load()?;
            let name = Path::new(&model.model)
                .file_name()
                .map_or_else(|| "model".to_owned(), |n| n.to_string_lossy().into_owned());
            let server = CompletionServer::bind(&format!("{host}:{port}"), loaded, name)?;
            let addr = server.local_addr().map_or_else(|| format!("{host}:{port}"), |a| a.to_string());
            eprintln!("listening on http://{addr} (/v1/completions, /v1/chat/completions, /tokenize, /v1/models)");
            server.run();
            Ok(())
        }
        Command::Objective => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).context("reading stdin")?;
            let output = cir_trainer::objective::run_json(&input)?;
            writeln!(std::io::stdout().lock(), "{output}")?;
            Ok(())
        }
    }
}
