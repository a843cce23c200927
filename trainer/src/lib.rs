//! `cir-trainer`: the policy model and its sampler, on burn.
//!
//! - [`ModelConfig`] / [`Model`]: the Qwen2 / Qwen3 / Llama decoder, loaded from Hugging Face
//!   safetensors ([`load_hf_dir`], saved back with [`save_hf_dir`]) or from GGUF ([`Gguf`]).
//! - [`generate`] with [`SamplingParams`]: batched sampling with a per-layer KV cache that
//!   stops exactly at the end of a ```` ```python ```` block ([`code_block_end`]).
//! - [`Tokenizer`]: Hugging Face `tokenizer.json` or a GGUF vocabulary.
//! - [`DeviceKind`]: the backend, chosen once at the edge (`cpu`, `wgpu`, `cuda`).
//!
//! ```
//! use cir_trainer::code_block_end;
//! let text = "Compute it.\n```python\nprint(2 + 2)\n```";
//! assert_eq!(code_block_end(text), Some(text.len()));
//! ```
#![deny(missing_docs)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub use checkpoint::{Safetensors, load_hf_dir, save_hf_dir};
pub use config::{Architecture, ModelConfig};
pub use device::DeviceKind;
pub use error::{Error, Result};
pub use gguf::Gguf;
pub use loader::{Loaded, load};
pub use model::{KvCache, Model, Rope, WeightSource, attention_mask, token_log_probs};
pub use sampler::{Completion, FinishReason, SamplingParams, code_block_end, generate};
pub use serve::{CompletionServer, MAX_N};
pub use tokenizer::Tokenizer;

mod checkpoint;
mod config;
mod device;
mod error;
mod gguf;
mod loader;
mod model;
mod sampler;
mod serve;
mod tokenizer;
