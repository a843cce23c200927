//! A run folder and its checkpoints.
//!
//! ```text
//! RUN_DIR/config.toml                 the resolved config
//! RUN_DIR/metrics.jsonl               one line per step
//! RUN_DIR/rollouts/step-000007.jsonl  every rollout of step 7 (schema-2 trajectories; cir-eval report and view read them)
//! RUN_DIR/validation/step-000010.jsonl
//! RUN_DIR/checkpoints/step-000010/    config.json, model.safetensors, tokenizer.json, tokenizer_config.json
//!                                     (a Hugging Face folder transformers and vLLM load), optimizer.mpk, state.json
//! RUN_DIR/checkpoints/latest          the name of the last complete checkpoint
//! ```
//!
//! A checkpoint is written into a temporary folder and renamed into place, and `latest` is replaced by a rename
//! after it, so an interrupted run (Ctrl-C, a crash) always leaves the previous checkpoint complete and named.

use std::path::{Path, PathBuf};

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{load_hf_dir, save_hf_dir};
use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::params::with_stable_ids;
use crate::tokenizer::Tokenizer;

/// What a checkpoint records beside the weights: every random draw of a run is a function of its seed and the step,
/// so the step is the whole random state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The last completed step.
    pub step: u64,
    /// The run's seed.
    pub seed: u64,
    /// The tool budget schedule (for readers of the checkpoint alone).
    pub tool_budget: String,
    /// The budget in force at `step`.
    pub tool_budget_now: u32,
}

/// The checkpoint folder of `step`.
pub fn checkpoint_dir(run: &Path, step: u64) -> PathBuf {
    run.join("checkpoints").join(format!("step-{step:06}"))
}

/// Writes a checkpoint atomically and points `latest` at it.
///
/// # Errors
/// [`Error::Io`] when the folder cannot be written.
pub fn save(
    run: &Path,
    state: &RunState,
    config: &ModelConfig,
    model: &Model,
    tokenizer: &Tokenizer,
    optim: &burn::optim::ModuleOptimizer,
) -> Result<PathBuf> {
    let dir = checkpoint_dir(run, state.step);
    let parent = dir.parent().unwrap_or(run);
    let tmp = parent.join(format!(".tmp-step-{:06}-{}", state.step, std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    save_hf_dir(&tmp, config, model)?;
    tokenizer.save_dir(&tmp)?;
    optim
        .save(tmp.join("optimizer.mpk"))
        .map_err(|e| Error::Run { path: tmp.clone(), message: format!("saving the optimizer state: {e}") })?;
    let json = serde_json::to_string_pretty(state).unwrap_or_default();
    std::fs::write(tmp.join("state.json"), json).map_err(Error::io(tmp.join("state.json")))?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(Error::io(&tmp))?;
    let latest = parent.join("latest");
    let latest_tmp = parent.join(format!(".latest-{}", std::process::id()));
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    std::fs::write(&latest_tmp, name).map_err(Error::io(&latest_tmp))?;
    std::fs::rename(&latest_tmp, &latest).map_err(Error::io(&latest))?;
    Ok(dir)
}

/// A checkpoint loaded back: the model on `device` (autodiff when it is an autodiff device) with stable parameter
/// ids, its tokenizer, the optimizer state and the run state.
pub struct Loaded {
    /// Hyper-parameters.
    pub config: ModelConfig,
    /// Weights.
    pub model: Model,
    /// Tokenizer.
    pub tokenizer: Tokenizer,
    /// Optimizer state.
    pub optim: burn::optim::ModuleOptimizer,
    /// Where the run stood.
    pub state: RunState,
}

/// Loads the checkpoint `latest` names.
///
/// # Errors
/// [`Error::Run`] when the folder holds no complete checkpoint.
pub fn load_latest(run: &Path, optim: burn::optim::ModuleOptimizer, device: &Device) -> Result<Loaded> {
    let fail = |message: String| Error::Run { path: run.to_path_buf(), message };
    let latest = run.join("checkpoints").join("latest");
    let name = std::fs::read_to_string(&latest)
        .map_err(|_| fail("no checkpoint to resume from (checkpoints/latest is missing): start a new run".into()))?;
    let dir = run.join("checkpoints").join(name.trim());
    let (config, model) = load_hf_dir(&dir, device)?;
    let tokenizer = Tokenizer::from_file(&dir.join("tokenizer.json"))?;
    let optim = optim.load(dir.join("optimizer.mpk")).map_err(|e| fail(format!("loading the optimizer state: {e}")))?;
    let text = std::fs::read_to_string(dir.join("state.json")).map_err(Error::io(dir.join("state.json")))?;
    let state: RunState = serde_json::from_str(&text).map_err(|e| fail(format!("state.json: {e}")))?;
    Ok(Loaded { config, model: with_stable_ids(model), tokenizer, optim, state })
}
