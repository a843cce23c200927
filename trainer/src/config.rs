//! Model hyper-parameters, read from a Hugging Face `config.json` or GGUF metadata.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which decoder family a checkpoint belongs to. All share one implementation; they differ in
/// the attention biases, the per-head q/k norms and in the names Hugging Face gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Architecture {
    /// `Qwen2ForCausalLM` (Qwen2, Qwen2.5, Qwen2.5-Math): q/k/v projections carry biases.
    Qwen2,
    /// `LlamaForCausalLM` (Llama, SmolLM2): no biases.
    Llama,
    /// `Qwen3ForCausalLM` (Qwen3 dense): no biases, RMSNorm on each query and key head before
    /// the rotary embedding, `head_dim` from the config.
    Qwen3,
}

impl Architecture {
    /// The `architectures` entry Hugging Face writes in `config.json`.
    pub fn hf_name(self) -> &'static str {
        match self {
            Self::Qwen2 => "Qwen2ForCausalLM",
            Self::Llama => "LlamaForCausalLM",
            Self::Qwen3 => "Qwen3ForCausalLM",
        }
    }

    /// The `model_type` Hugging Face writes in `config.json`.
    pub fn model_type(self) -> &'static str {
        match self {
            Self::Qwen2 => "qwen2",
            Self::Llama => "llama",
            Self::Qwen3 => "qwen3",
        }
    }

    /// Whether each query and key head is RMS-normalised before the rotary embedding.
    pub fn qk_norm(self) -> bool {
        self == Self::Qwen3
    }
}

/// The decoder's shape and numerics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Decoder family.
    pub architecture: Architecture,
    /// Vocabulary size (rows of the embedding and the LM head).
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// Width of the SwiGLU MLP.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Number of query heads.
    pub num_attention_heads: usize,
    /// Number of key/value heads (grouped-query attention); divides `num_attention_heads`.
    pub num_key_value_heads: usize,
    /// Width of one head; `hidden_size / num_attention_heads` unless the config says otherwise.
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// Rotary embedding base.
    pub rope_theta: f64,
    /// Longest sequence the model was trained for; generation refuses to go past it.
    pub max_position_embeddings: usize,
    /// Whether the LM head reuses the token embedding.
    pub tie_word_embeddings: bool,
    /// Whether q/k/v projections have biases (Qwen2: yes, Llama: no).
    pub attention_bias: bool,
    /// Beginning-of-sequence token, when the model has one.
    pub bos_token_id: Option<u32>,
    /// End-of-sequence tokens: generation stops on any of them.
    pub eos_token_ids: Vec<u32>,
}

/// The subset of a Hugging Face `config.json` this crate reads.
#[derive(Deserialize)]
struct HfConfig {
    #[serde(default)]
    architectures: Vec<String>,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    rms_norm_eps: f64,
    /// transformers < 5 writes `rope_theta` at the top level ...
    rope_theta: Option<f64>,
    /// ... transformers ≥ 5 inside `rope_parameters`; older files use `rope_scaling`.
    rope_parameters: Option<RopeParameters>,
    rope_scaling: Option<RopeParameters>,
    #[serde(default = "default_max_pos")]
    max_position_embeddings: usize,
    #[serde(default)]
    tie_word_embeddings: bool,
    attention_bias: Option<bool>,
    bos_token_id: Option<u32>,
    eos_token_id: Option<EosIds>,
    /// Qwen2 / Qwen3: sliding-window attention on some layers (not implemented).
    #[serde(default)]
    use_sliding_window: bool,
}

#[derive(Deserialize)]
struct RopeParameters {
    rope_theta: Option<f64>,
    rope_type: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EosIds {
    One(u32),
    Many(Vec<u32>),
}

/// transformers' default rotary base when the config names none.
const DEFAULT_THETA: f64 = 10_000.0;

fn default_max_pos() -> usize {
    2048
}

impl ModelConfig {
    /// Reads a Hugging Face `config.json`.
    ///
    /// # Errors
    /// [`Error::Io`]/[`Error::Json`] for an unreadable file, [`Error::UnsupportedArchitecture`]
    /// for anything but Qwen2, Qwen3 or Llama, [`Error::Config`] for inconsistent head counts or
    /// an unimplemented feature (rotary scaling, sliding-window attention).
    pub fn from_hf_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        let hf: HfConfig =
            serde_json::from_str(&text).map_err(|source| Error::Json { path: path.to_owned(), source })?;
        let architecture = match hf.architectures.first().map(String::as_str) {
            Some("Qwen2ForCausalLM") => Architecture::Qwen2,
            Some("LlamaForCausalLM") => Architecture::Llama,
            Some("Qwen3ForCausalLM") => Architecture::Qwen3,
            Some(other) => return Err(Error::UnsupportedArchitecture(other.to_owned())),
            None => return Err(Error::UnsupportedArchitecture("<none>".to_owned())),
        };
        for params in [&hf.rope_parameters, &hf.rope_scaling].into_iter().flatten() {
            let kind = params.rope_type.as_ref().or(params.kind.as_ref());
            if let Some(kind) = kind.filter(|k| k.as_str() != "default") {
                return Err(Error::Config(format!(
                    "rotary scaling {kind:?} is not implemented (only the default rotary embedding)"
                )));
            }
        }
        if hf.use_sliding_window {
            return Err(Error::Config("sliding-window attention (use_sliding_window) is not implemented".into()));
        }
        let rope_theta =
            hf.rope_theta.or_else(|| hf.rope_parameters.as_ref().and_then(|p| p.rope_theta)).unwrap_or(DEFAULT_THETA);
        let config = Self {
            architecture,
            vocab_size: hf.vocab_size,
            hidden_size: hf.hidden_size,
            intermediate_size: hf.intermediate_size,
            num_hidden_layers: hf.num_hidden_layers,
            num_attention_heads: hf.num_attention_heads,
            num_key_value_heads: hf.num_key_value_heads.unwrap_or(hf.num_attention_heads),
            head_dim: hf.head_dim.unwrap_or(hf.hidden_size / hf.num_attention_heads.max(1)),
            rms_norm_eps: hf.rms_norm_eps,
            rope_theta,
            max_position_embeddings: hf.max_position_embeddings,
            tie_word_embeddings: hf.tie_word_embeddings,
            attention_bias: hf.attention_bias.unwrap_or(architecture == Architecture::Qwen2),
            bos_token_id: hf.bos_token_id,
            eos_token_ids: match hf.eos_token_id {
                Some(EosIds::One(id)) => vec![id],
                Some(EosIds::Many(ids)) => ids,
                None => Vec::new(),
            },
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks that the head counts and widths fit together.
    ///
    /// # Errors
    /// [`Error::Config`] naming the inconsistency.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::Config(m));
        if self.num_attention_heads == 0 || self.num_key_value_heads == 0 {
            return fail("head counts must be positive".into());
        }
        if !self.num_attention_heads.is_multiple_of(self.num_key_value_heads) {
            return fail(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads, self.num_key_value_heads
            ));
        }
        if self.head_dim == 0 || !self.head_dim.is_multiple_of(2) {
            return fail(format!("head_dim {} must be even and positive", self.head_dim));
        }
        if self.vocab_size == 0 || self.hidden_size == 0 || self.num_hidden_layers == 0 {
            return fail("vocab_size, hidden_size and num_hidden_layers must be positive".into());
        }
        Ok(())
    }

    /// The `config.json` Hugging Face transformers (and vLLM) load this model from.
    pub fn to_hf_json(&self) -> serde_json::Value {
        serde_json::json!({
            "architectures": [self.architecture.hf_name()],
            "model_type": self.architecture.model_type(),
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "max_position_embeddings": self.max_position_embeddings,
            "tie_word_embeddings": self.tie_word_embeddings,
            "attention_bias": self.attention_bias,
            "hidden_act": "silu",
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_ids,
            "torch_dtype": "float32",
        })
    }

    /// A tiny Qwen2-shaped config for tests and benchmarks (about 10M parameters at
    /// `vocab_size` 32 000 is `hidden_size` 256, 4 layers).
    pub fn tiny(vocab_size: usize, hidden_size: usize, num_hidden_layers: usize) -> Self {
        Self {
            architecture: Architecture::Qwen2,
            vocab_size,
            hidden_size,
            intermediate_size: hidden_size * 3,
            num_hidden_layers,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            head_dim: hidden_size / 4,
            rms_norm_eps: 1e-6,
            rope_theta: 10_000.0,
            max_position_embeddings: 4096,
            tie_word_embeddings: true,
            attention_bias: true,
            bos_token_id: None,
            eos_token_ids: Vec::new(),
        }
    }
}
