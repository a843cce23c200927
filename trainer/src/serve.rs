//! `POST /v1/completions`, the OpenAI-compatible text-completion endpoint, over our own model —
//! so the evaluator can run our checkpoints and has a second real server to be tested against.
//!
//! Requests are served one at a time (the model is the bottleneck); the `n` samples of one
//! request are generated as one batch. Supported fields: `prompt` (string), `max_tokens`
//! (default 16, as OpenAI), `temperature` (default 1), `top_p` (default 1), `n` (default 1,
//! at most [`MAX_N`]), `stop` (string or list; the text is cut before it, as OpenAI does),
//! `seed` (default 0), `logprobs` (any number: return the sampled tokens' log-probs), and
//! the extension `stop_at_code_block` (default false: stop after the token closing a
//! ```` ```python ```` block).

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::loader::Loaded;
use crate::sampler::{FinishReason, SamplingParams, generate};

/// Most samples per request: 64, to bound one request's memory.
pub const MAX_N: usize = 64;
/// Largest request body accepted: 16 MiB.
const MAX_BODY: u64 = 16 << 20;

#[derive(Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct CompletionRequest {
    prompt: String,
    #[serde(default = "default_max_tokens")]
    max_tokens: usize,
    temperature: Option<f32>,
    top_p: Option<f32>,
    #[serde(default = "one")]
    n: usize,
    stop: Option<Stop>,
    seed: Option<u64>,
    logprobs: Option<u32>,
    #[serde(default)]
    stop_at_code_block: bool,
}

fn default_max_tokens() -> usize {
    16
}

fn one() -> usize {
    1
}

/// The HTTP server around a loaded model.
pub struct CompletionServer {
    http: tiny_http::Server,
    loaded: Loaded,
    name: String,
}

impl CompletionServer {
    /// Binds `addr` (e.g. `127.0.0.1:8000`; port 0 picks a free one). `name` is the model
    /// name reported in responses.
    ///
    /// # Errors
    /// [`Error::Server`] when the address cannot be bound, [`Error::Tokenizer`] when the model
    /// has no tokenizer.
    pub fn bind(addr: &str, loaded: Loaded, name: String) -> Result<Self> {
        if loaded.tokenizer.is_none() {
            return Err(Error::Tokenizer(
                "serving needs a tokenizer (tokenizer.json beside the weights, or a GGUF file)".into(),
            ));
        }
        let http = tiny_http::Server::http(addr).map_err(|e| Error::Server(format!("bind {addr}: {e}")))?;
        Ok(Self { http, loaded, name })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.http.server_addr().to_ip()
    }

    /// Serves until the process ends.
    pub fn run(self) {
        for mut request in self.http.incoming_requests() {
            let (status, body) = match (request.method(), request.url()) {
                (tiny_http::Method::Post, "/v1/completions") => {
                    let mut text = String::new();
                    let read = request.as_reader().take(MAX_BODY).read_to_string(&mut text);
                    match read {
                        Ok(_) => match self.complete(&text) {
                            Ok(v) => (200, v),
                            Err(e) => (400, error_body(&e.to_string())),
                        },
                        Err(e) => (400, error_body(&e.to_string())),
                    }
                }
                (tiny_http::Method::Get, "/v1/models") => {
                    (200, json!({"object": "list", "data": [{"id": self.name, "object": "model"}]}))
                }
                _ => (404, error_body("not found: use POST /v1/completions")),
            };
            let header =
                tiny_http::Header::from_bytes("Content-Type", "application/json").expect("static header is valid");
            let response =
                tiny_http::Response::from_string(body.to_string()).with_status_code(status).with_header(header);
            // A client that hung up is not the server's problem.
            let _ = request.respond(response);
        }
    }

    /// Answers one completion request body.
    fn complete(&self, body: &str) -> Result<Value> {
        let req: CompletionRequest =
            serde_json::from_str(body).map_err(|e| Error::Sampling(format!("request: {e}")))?;
        if req.n == 0 || req.n > MAX_N {
            return Err(Error::Sampling(format!("n must be in 1..={MAX_N}")));
        }
        let Loaded { config, model, tokenizer } = &self.loaded;
        let tokenizer = tokenizer.as_ref().ok_or_else(|| Error::Tokenizer("no tokenizer".into()))?;
        let stops = match req.stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s],
            Some(Stop::Many(v)) => v,
        };
        let params = SamplingParams {
            temperature: req.temperature.unwrap_or(1.0),
            top_p: req.top_p.unwrap_or(1.0),
            top_k: 0,
            max_new_tokens: req.max_tokens,
            seed: req.seed.unwrap_or(0),
            stop_at_code_block: req.stop_at_code_block,
            stop: stops.clone(),
            eos_token_ids: None,
        };
        let prompt = tokenizer.encode(&req.prompt)?;
        let prompts = vec![prompt.clone(); req.n];
        let outs = generate(model, config, Some(tokenizer), &prompts, &params)?;
        let mut choices = Vec::new();
        let mut completion_tokens = 0;
        for (index, out) in outs.into_iter().enumerate() {
            completion_tokens += out.tokens.len();
            let mut text = tokenizer.decode(&out.tokens)?;
            let finish = match &out.finish {
                FinishReason::Length => "length",
                FinishReason::Stop(s) => {
                    if let Some(at) = text.find(s.as_str()) {
                        text.truncate(at);
                    }
                    "stop"
                }
                FinishReason::Eos | FinishReason::CodeBlock => "stop",
            };
            let logprobs = match req.logprobs {
                Some(_) => {
                    let tokens: Vec<String> =
                        out.tokens.iter().map(|&t| tokenizer.decode(&[t])).collect::<Result<_>>()?;
                    json!({"tokens": tokens, "token_logprobs": out.logprobs, "token_ids": out.tokens,
                           "top_logprobs": null})
                }
                None => Value::Null,
            };
            choices.push(json!({"index": index, "text": text, "finish_reason": finish, "logprobs": logprobs}));
        }
        let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Ok(json!({
            "id": format!("cmpl-{created}"),
            "object": "text_completion",
            "created": created,
            "model": self.name,
            "choices": choices,
            "usage": {"prompt_tokens": prompt.len(), "completion_tokens": completion_tokens,
                      "total_tokens": prompt.len() * req.n + completion_tokens},
        }))
    }
}

fn error_body(message: &str) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error"}})
}
