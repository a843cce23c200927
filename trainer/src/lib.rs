//! `cir-trainer`: the policy model and its sampler, on burn.
//!
//! - [`ModelConfig`] / [`Model`]: the Qwen2 / Qwen3 / Llama decoder, loaded from Hugging Face
//!   safetensors ([`load_hf_dir`], saved back with [`save_hf_dir`]) or from GGUF ([`Gguf`]).
//! - [`generate`] / [`generate_rows`] with [`SamplingParams`]: batched sampling with a per-layer KV cache that
//!   stops exactly on the token that closes a tool-call block ([`cir_rollout::find_block`]), rows carrying their
//!   caches between turns ([`RowCache`]).
//! - [`LocalPolicy`]: the model in-process as the interaction loop's policy (token-exact rollouts).
//! - [`models`]: built-in models fetched once into `CIR_HOME` (`smollm2-135m`).
//! - [`Tokenizer`]: Hugging Face `tokenizer.json` or a GGUF vocabulary.
//! - [`DeviceKind`]: the backend, chosen once at the edge (`cpu`, `wgpu`, `cuda`).
//! - [`head`]: the LM head and the log-probs of chosen tokens a chunk of rows at a time, forward and backward,
//!   never the whole `[tokens, vocab]` logits.
//! - [`objective`]: the RL objective as verl defines it (advantage estimators, the PPO clipped loss and its
//!   aggregations, k3 KL, entropy), checked against verl's own functions.
//!
//! ```
//! use cir_trainer::{ModelConfig, SamplingParams, generate};
//! use burn::prelude::Device;
//!
//! let device = Device::flex();
//! let config = ModelConfig::tiny(64, 16, 2);
//! let model = config.init(&device);
//! let out = generate(&model, &config, None, &[vec![1, 2, 3]], &SamplingParams::greedy(4)).unwrap();
//! assert_eq!((out[0].tokens.len(), out[0].logprobs.len()), (4, 4));
//! ```
#![deny(missing_docs)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub use attention::{AttentionMask, attention_mask};
pub use cache::{KvCache, RowCache};
pub use chat::{ChatTemplate, Ending};
pub use checkpoint::{Safetensors, load_hf_dir, save_hf_dir};
pub use config::{Architecture, ModelConfig};
pub use device::DeviceKind;
pub use error::{Error, Result};
pub use gguf::Gguf;
pub use loader::{Loaded, load};
pub use model::{Model, Rope, WeightSource, token_log_probs};
pub use policy::{LocalOptions, LocalPolicy};
pub use sampler::{
    Completion, FinishReason, Row, RowOutput, Sampled, SamplingParams, generate, generate_rows, generate_rows_observed,
};
pub use serve::{CompletionServer, MAX_N};
pub use tokenizer::{Detokenizer, Tokenizer};

mod attention;
mod cache;
mod chat;
mod checkpoint;
mod config;
#[cfg(feature = "flex")]
mod cpu_ops;
pub mod demo;
mod device;
mod error;
#[cfg(feature = "flex")]
mod fastmath;
#[cfg(feature = "flex")]
mod few_rows;
mod gguf;
pub mod head;
mod loader;
mod model;
pub mod models;
pub mod objective;
pub mod optim;
pub mod params;
pub mod plot;
mod policy;
#[cfg(feature = "flex")]
mod product;
pub mod rl;
mod sampler;
pub mod serve;
pub mod sft;
mod tokenizer;
