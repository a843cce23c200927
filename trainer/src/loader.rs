//! One entry point for "a model on disk": a Hugging Face directory or a GGUF file.

use std::path::Path;

use burn::prelude::Device;

use crate::checkpoint::load_hf_dir;
use crate::config::ModelConfig;
use crate::error::Result;
use crate::gguf::Gguf;
use crate::model::Model;
use crate::tokenizer::Tokenizer;

/// A model with its config and (when one ships with it) its tokenizer.
#[derive(Debug)]
pub struct Loaded {
    /// Hyper-parameters.
    pub config: ModelConfig,
    /// Weights.
    pub model: Model,
    /// `tokenizer.json` beside the weights, or the GGUF vocabulary.
    pub tokenizer: Option<Tokenizer>,
}

/// Loads `path`: a `.gguf` file, or a directory with `config.json`, safetensors and
/// optionally `tokenizer.json`.
///
/// # Errors
/// Whatever the format's loader reports (missing tensor, shape mismatch, unsupported
/// architecture or dtype, I/O).
pub fn load(path: &Path, device: &Device) -> Result<Loaded> {
    if path.extension().is_some_and(|e| e == "gguf") {
        let mut gguf = Gguf::open(path)?;
        let config = gguf.config()?;
        let tokenizer = Some(Tokenizer::from_gguf(&gguf)?);
        let model = config.load(&mut gguf, device)?;
        return Ok(Loaded { config, model, tokenizer });
    }
    let (config, model) = load_hf_dir(path, device)?;
    let tok_path = path.join("tokenizer.json");
    let tokenizer = if tok_path.exists() { Some(Tokenizer::from_file(&tok_path)?) } else { None };
    Ok(Loaded { config, model, tokenizer })
}
