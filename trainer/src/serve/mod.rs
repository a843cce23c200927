//! `cir-train serve`: our own model behind the OpenAI-compatible API, so `cir-eval run`, the `openai` client and
//! anything else that speaks it can use our checkpoints.
//!
//! - `POST /v1/completions` (prompt as text or token ids) and `POST /v1/chat/completions` (messages rendered with the
//!   model's chat template; `chat_template_kwargs`, `add_generation_prompt`, `continue_final_message`), both with
//!   `stream: true` (server-sent events, one chunk per token as it is drawn).
//! - vLLM's meaning of `finish_reason` / `stop_reason`: `length`, or `stop` with `stop_reason` the matched stop string
//!   (`"```"` for our `stop_at_code_block` extension) and `null` at the end of the sequence. Special tokens never
//!   appear in returned text unless `skip_special_tokens: false`.
//! - `logprobs` (completions: any number; chat: `true`) returns the sampled tokens' log-probs and texts;
//!   `return_token_ids: true` the sampled and prompt ids.
//! - `POST /tokenize`, `GET /v1/models`, `GET /health`.
//!
//! Requests are served one at a time (the model is the bottleneck); the `n` samples of one request are one batch.

mod request;
mod response;

use std::io::Read;
use std::sync::mpsc;

use serde_json::{Value, json};

pub use request::MAX_N;

use crate::chat::{ChatTemplate, Ending};
use crate::error::{Error, Result};
use crate::loader::Loaded;
use crate::sampler::{Row, SamplingParams, generate_rows_observed};
use crate::tokenizer::Tokenizer;
use request::{Chat, Completions, Prompt, Sampling, Tokenize};
use response::{Kind, Output};

/// Largest request body accepted: 16 MiB.
const MAX_BODY: u64 = 16 << 20;

/// The routes.
enum Route {
    Completions,
    ChatCompletions,
    Tokenize,
    Models,
    Health,
}

fn route(method: &tiny_http::Method, url: &str) -> std::result::Result<Route, (u16, &'static str)> {
    use tiny_http::Method::{Get, Post};
    let path = url.split('?').next().unwrap_or(url);
    match (method, path) {
        (Post, "/v1/completions") => Ok(Route::Completions),
        (Post, "/v1/chat/completions") => Ok(Route::ChatCompletions),
        (Post, "/tokenize") => Ok(Route::Tokenize),
        (Get, "/v1/models") => Ok(Route::Models),
        (Get, "/health") => Ok(Route::Health),
        (_, "/v1/completions" | "/v1/chat/completions" | "/tokenize" | "/v1/models" | "/health") => {
            Err((405, "method not allowed"))
        }
        _ => Err((404, "not found: POST /v1/completions, /v1/chat/completions, /tokenize; GET /v1/models, /health")),
    }
}

/// The HTTP server around a loaded model.
pub struct CompletionServer {
    http: tiny_http::Server,
    loaded: Loaded,
    name: String,
    chat: Option<ChatTemplate>,
}

/// What a handler answers: a JSON body, or a stream of server-sent events.
enum Reply {
    Json(u16, Value),
    Stream(mpsc::Receiver<Vec<u8>>),
}

impl CompletionServer {
    /// Binds `addr` (e.g. `127.0.0.1:8000`; port 0 picks a free one). `name` is the model name reported in
    /// responses.
    ///
    /// # Errors
    /// [`Error::Server`] when the address cannot be bound, [`Error::Tokenizer`] when the model has no tokenizer or
    /// its chat template does not compile.
    pub fn bind(addr: &str, loaded: Loaded, name: String) -> Result<Self> {
        let tokenizer = loaded.tokenizer.as_ref().ok_or_else(|| {
            Error::Tokenizer("serving needs a tokenizer (tokenizer.json beside the weights, or a GGUF file)".into())
        })?;
        let text = |id: Option<u32>| id.and_then(|i| tokenizer.token_text(i));
        let chat = match tokenizer.chat_template() {
            Some(source) => Some(ChatTemplate::new(
                source,
                text(loaded.config.bos_token_id),
                text(loaded.config.eos_token_ids.first().copied()),
            )?),
            None => None,
        };
        let http = tiny_http::Server::http(addr).map_err(|e| Error::Server(format!("bind {addr}: {e}")))?;
        Ok(Self { http, loaded, name, chat })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.http.server_addr().to_ip()
    }

    /// Serves until the process ends.
    pub fn run(self) {
        for mut request in self.http.incoming_requests() {
            let route = route(request.method(), request.url());
            let mut body = String::new();
            let read = request.as_reader().take(MAX_BODY).read_to_string(&mut body);
            std::thread::scope(|scope| {
                let reply = match (route, read) {
                    (Err((status, message)), _) => Reply::Json(status, error_body(message)),
                    (Ok(_), Err(e)) => Reply::Json(400, error_body(&format!("reading the body: {e}"))),
                    (Ok(route), Ok(_)) => self.handle(route, &body, scope),
                };
                let json = tiny_http::Header::from_bytes("Content-Type", "application/json").expect("static header");
                // A client that hung up is not the server's problem.
                let _ = match reply {
                    Reply::Json(status, value) => request.respond(
                        tiny_http::Response::from_string(value.to_string()).with_status_code(status).with_header(json),
                    ),
                    Reply::Stream(chunks) => {
                        let sse =
                            tiny_http::Header::from_bytes("Content-Type", "text/event-stream").expect("static header");
                        let reader = ChannelReader { chunks, pending: Vec::new(), at: 0 };
                        request.respond(tiny_http::Response::new(200.into(), vec![sse], reader, None, None))
                    }
                };
            });
        }
    }

    fn handle<'s>(&'s self, route: Route, body: &str, scope: &'s std::thread::Scope<'s, '_>) -> Reply {
        let tokenizer = self.tokenizer();
        let result = match route {
            Route::Models => {
                Ok(Reply::Json(200, json!({"object": "list", "data": [{"id": self.name, "object": "model"}]})))
            }
            Route::Health => Ok(Reply::Json(200, json!({"status": "ok"}))),
            Route::Tokenize => parse::<Tokenize>(body).and_then(|r| {
                let tokens = tokenizer.encode(&r.prompt)?;
                let max = self.loaded.config.max_position_embeddings;
                Ok(Reply::Json(200, json!({"count": tokens.len(), "max_model_len": max, "tokens": tokens})))
            }),
            Route::Completions => parse::<Completions>(body).and_then(|r| {
                let ids = match &r.prompt {
                    Prompt::Text(text) => tokenizer.encode(text)?,
                    Prompt::Ids(ids) => ids.clone(),
                };
                let kind = Kind::Completion { logprobs: r.logprobs.is_some() };
                self.generate(kind, ids, &r.sampling, 16, scope)
            }),
            Route::ChatCompletions => parse::<Chat>(body).and_then(|r| {
                let chat = self
                    .chat
                    .as_ref()
                    .ok_or_else(|| Error::Sampling("the model ships no chat template: use /v1/completions".into()))?;
                let ending = if r.continue_final_message {
                    Ending::ContinueFinal
                } else if r.add_generation_prompt {
                    Ending::GenerationPrompt
                } else {
                    Ending::Closed
                };
                let prompt = chat.render(&r.messages, ending, &r.chat_template_kwargs)?;
                let ids = tokenizer.encode(&prompt)?;
                let room = self.loaded.config.max_position_embeddings.saturating_sub(ids.len());
                self.generate(Kind::Chat { logprobs: r.logprobs }, ids, &r.sampling, room, scope)
            }),
        };
        result.unwrap_or_else(|e| Reply::Json(400, error_body(&e.to_string())))
    }

    fn tokenizer(&self) -> &Tokenizer {
        self.loaded.tokenizer.as_ref().expect("bind checked the tokenizer")
    }

    /// Samples `s.n` continuations of `prompt`; a JSON reply, or a stream fed from a generating thread.
    fn generate<'s>(
        &'s self,
        kind: Kind,
        prompt: Vec<u32>,
        s: &Sampling,
        default_max: usize,
        scope: &'s std::thread::Scope<'s, '_>,
    ) -> Result<Reply> {
        let config = &self.loaded.config;
        if s.n == 0 || s.n > MAX_N {
            return Err(Error::Sampling(format!("n must be in 1..={MAX_N}")));
        }
        if prompt.is_empty() {
            return Err(Error::Sampling("the prompt has no tokens".into()));
        }
        let max_tokens = s.max_completion_tokens.or(s.max_tokens).unwrap_or(default_max);
        let limit = config.max_position_embeddings;
        if prompt.len() + max_tokens > limit {
            return Err(Error::Sampling(format!(
                "This model's maximum context length is {limit} tokens. However, you requested {} tokens ({} in the \
                 prompt, {max_tokens} for the completion).",
                prompt.len() + max_tokens,
                prompt.len()
            )));
        }
        let params = SamplingParams {
            temperature: s.temperature.unwrap_or(1.0),
            top_p: s.top_p.unwrap_or(1.0),
            top_k: usize::try_from(s.top_k.unwrap_or(0).max(0)).unwrap_or(0),
            max_new_tokens: max_tokens,
            seed: s.seed.unwrap_or(0),
            stop_at_code_block: s.stop_at_code_block,
            stop: s.stops(),
            eos_token_ids: None,
        };
        let rows: Vec<Row> = (0..s.n)
            .map(|i| Row {
                ids: prompt.clone(),
                cache: None,
                max_new_tokens: max_tokens,
                seed: params.seed.wrapping_add(i as u64),
                stop_at_code_block: s.stop_at_code_block,
            })
            .collect();
        let out = Output::new(kind, &self.name, s, prompt.len());
        let n = s.n;
        let tokenizer = self.tokenizer();
        let model = &self.loaded.model;
        if !s.stream {
            let rows = generate_rows_observed(model, config, Some(tokenizer), rows, &params, false, &mut |_| {})?;
            return Ok(Reply::Json(200, out.body(tokenizer, &rows, &prompt)?));
        }
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        scope.spawn(move || {
            let mut stream = out.stream(n, &params.stop);
            let mut observe = |t: crate::sampler::Sampled<'_>| {
                if let Some(chunk) = stream.token(t.row, t.text) {
                    let _ = tx.send(chunk);
                }
            };
            let chunks =
                match generate_rows_observed(model, config, Some(tokenizer), rows, &params, false, &mut observe) {
                    Ok(rows) => stream.finish(&rows),
                    Err(e) => vec![response::sse(&error_body(&e.to_string()))],
                };
            for chunk in chunks {
                let _ = tx.send(chunk);
            }
        });
        Ok(Reply::Stream(rx))
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T> {
    serde_json::from_str(body).map_err(|e| Error::Sampling(format!("request: {e}")))
}

fn error_body(message: &str) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error"}})
}

/// A response body read from a channel of chunks, ending when the sender hangs up.
struct ChannelReader {
    chunks: mpsc::Receiver<Vec<u8>>,
    pending: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.pending.len() {
            match self.chunks.recv() {
                Ok(chunk) => {
                    self.pending = chunk;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
