//! The request bodies `cir-train serve` accepts: OpenAI's completions and chat completions, with vLLM's extensions
//! (`return_token_ids`, `skip_special_tokens`, `include_stop_str_in_output`, `chat_template_kwargs`,
//! `continue_final_message`) and ours (`stop_at_code_block`). Fields it does not use are ignored, as vLLM does.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Most samples per request: 64, to bound one request's memory.
pub const MAX_N: usize = 64;

/// `stop`: one string or a list.
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub(crate) enum Stop {
    One(String),
    Many(Vec<String>),
}

/// `prompt`: text, or token ids.
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub(crate) enum Prompt {
    Text(String),
    Ids(Vec<u32>),
}

/// `stream_options`.
#[derive(Deserialize, Clone, Debug, Default)]
pub(crate) struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

/// What both endpoints share.
#[derive(Deserialize, Clone, Debug)]
pub(crate) struct Sampling {
    pub max_tokens: Option<usize>,
    pub max_completion_tokens: Option<usize>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    #[serde(default)]
    pub top_k: Option<i64>,
    #[serde(default = "one")]
    pub n: usize,
    pub stop: Option<Stop>,
    pub seed: Option<u64>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    pub stream_options: StreamOptions,
    #[serde(default)]
    pub return_token_ids: bool,
    #[serde(default = "yes")]
    pub skip_special_tokens: bool,
    #[serde(default)]
    pub include_stop_str_in_output: bool,
    #[serde(default)]
    pub stop_at_code_block: bool,
}

/// `POST /v1/completions`.
#[derive(Deserialize, Clone, Debug)]
pub(crate) struct Completions {
    pub prompt: Prompt,
    /// Any number: return the sampled tokens' log-probs.
    pub logprobs: Option<u32>,
    #[serde(flatten)]
    pub sampling: Sampling,
}

/// `POST /v1/chat/completions`.
#[derive(Deserialize, Clone, Debug)]
pub(crate) struct Chat {
    pub messages: Vec<Value>,
    #[serde(default)]
    pub logprobs: bool,
    #[serde(default)]
    pub chat_template_kwargs: Map<String, Value>,
    #[serde(default = "yes")]
    pub add_generation_prompt: bool,
    #[serde(default)]
    pub continue_final_message: bool,
    #[serde(flatten)]
    pub sampling: Sampling,
}

/// `POST /tokenize` (vLLM).
#[derive(Deserialize, Clone, Debug)]
pub(crate) struct Tokenize {
    pub prompt: String,
}

impl Sampling {
    /// The stop strings.
    pub fn stops(&self) -> Vec<String> {
        match &self.stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s.clone()],
            Some(Stop::Many(v)) => v.clone(),
        }
    }
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}
