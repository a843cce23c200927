//! A blocking client for OpenAI-compatible servers (vLLM, SGLang, llama.cpp's server, TGI).
//!
//! - `/v1/completions` and `/v1/chat/completions` ([`Api`]); an endpoint is a base URL, with or without `/v1`.
//! - Several endpoints are used round-robin; one that fails (transport error, 408, 429, 5xx, malformed reply) is
//!   skipped for a cool-down ([`ClientConfig::cooldown`]) while others are healthy.
//! - Retries with exponential backoff on those failures, up to [`ClientConfig::attempts`] per request; a 4xx other
//!   than 408/429 fails at once with the server's message, since the request itself is wrong.
//! - The API key, when given, goes in an `Authorization: Bearer` header.
//!
//! Blocking on purpose: the loop runs one std thread per in-flight sample, and a request spends nearly all its time
//! waiting for the server, so threads cost nothing that an async runtime would save at the concurrencies a server
//! fleet accepts (hundreds), and keep the dependency tree small.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use cir_data::Api;

use crate::Error;

/// How the client talks to servers.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URLs (`http://host:8000` or `http://host:8000/v1`); at least one.
    pub endpoints: Vec<String>,
    /// Bearer token; default none (vLLM's `--api-key` wants one).
    pub api_key: Option<String>,
    /// Whole-request timeout; default 600 s, enough for 16k tokens on a loaded server.
    pub timeout: Duration,
    /// Attempts per request, first included; default 5.
    pub attempts: u32,
    /// Wait before the second attempt, doubled for each further one (capped at 30 s); default 500 ms.
    pub backoff: Duration,
    /// How long a failing endpoint is skipped while another is healthy; default 10 s.
    pub cooldown: Duration,
}

impl ClientConfig {
    /// The defaults for `endpoints`.
    pub fn new(endpoints: Vec<String>) -> ClientConfig {
        ClientConfig {
            endpoints,
            api_key: None,
            timeout: Duration::from_secs(600),
            attempts: 5,
            backoff: Duration::from_millis(500),
            cooldown: Duration::from_secs(10),
        }
    }
}

/// One generation request.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// Model name.
    pub model: &'a str,
    /// Endpoint kind.
    pub api: Api,
    /// The prompt (completions) or the user message (chat).
    pub prompt: &'a str,
    /// The response so far: appended to the prompt (completions) or sent as the assistant message to continue (chat).
    pub response: &'a str,
    /// Completions in token mode: the exact ids of prompt and response so far, sent instead of their text so the
    /// server continues the very ids it sampled.
    pub prompt_ids: Option<&'a [u32]>,
    /// Ask for the sampled ids, their log-probs and the prompt's ids (vLLM's `return_token_ids`, `logprobs`).
    pub tokens: bool,
    /// New-token limit of this request.
    pub max_tokens: u64,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus mass.
    pub top_p: f64,
    /// Sampling seed.
    pub seed: u64,
    /// Stop sequences.
    pub stop: &'a [String],
    /// Completions to sample.
    pub n: u32,
    /// Extra body fields.
    pub extra: &'a Map<String, Value>,
}

/// The server's reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// One per sampled completion.
    pub choices: Vec<Choice>,
    /// `usage.prompt_tokens`, when reported.
    pub prompt_tokens: Option<u64>,
    /// `usage.completion_tokens`, when reported.
    pub completion_tokens: Option<u64>,
    /// The prompt's token ids, when the server returns them (vLLM: `prompt_token_ids`).
    pub prompt_ids: Option<Vec<u32>>,
}

/// One completion.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// Generated text.
    pub text: String,
    /// `stop`, `length`, …
    pub finish_reason: String,
    /// vLLM's `stop_reason`: which stop sequence matched.
    pub stop_reason: StopReason,
    /// The sampled ids, when the server returns them (vLLM: `token_ids`).
    pub token_ids: Option<Vec<u32>>,
    /// Each sampled token's text and log-prob, when the server returns log-probs (completions: `logprobs.tokens` and
    /// `logprobs.token_logprobs`; chat: `logprobs.content[].bytes`/`token` and `logprob`).
    pub pieces: Option<Vec<(String, f32)>>,
}

/// What the server said about why it stopped, beyond `finish_reason`.
#[derive(Clone, Debug, PartialEq)]
pub enum StopReason {
    /// The server sends no `stop_reason` field.
    Unreported,
    /// `null`: end of sequence (vLLM).
    EndOfSequence,
    /// The stop string that matched.
    Matched(String),
    /// A stop token id or another value.
    Other,
}

/// A client for a set of endpoints. Shared by all worker threads.
pub struct Client {
    agent: ureq::Agent,
    config: ClientConfig,
    next: AtomicUsize,
    down_until: Vec<Mutex<Option<Instant>>>,
}

impl Client {
    /// A client for `config.endpoints`.
    ///
    /// # Errors
    /// [`Error::Config`] when there is no endpoint, one is not an http(s) URL, or `attempts` is 0.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        if config.endpoints.is_empty() {
            return Err(Error::Config("at least one --endpoint is needed".into()));
        }
        if let Some(bad) = config.endpoints.iter().find(|e| !(e.starts_with("http://") || e.starts_with("https://"))) {
            return Err(Error::Config(format!("endpoint {bad:?} is not an http:// or https:// URL")));
        }
        if config.attempts == 0 {
            return Err(Error::Config("attempts must be at least 1".into()));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .timeout_connect(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            // No keep-alive: tiny_http (under `cir-train serve` and `cir-eval serve`) reads each open connection on
            // a pool thread of its own until the client closes it, and its pool can leave a new connection queued
            // behind those forever, so a pooling client waits for a reply that never comes (8 samples in flight
            // were enough). A connection per request costs far less than the generation it carries.
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .build()
            .new_agent();
        let down_until = config.endpoints.iter().map(|_| Mutex::new(None)).collect();
        Ok(Client { agent, config, next: AtomicUsize::new(0), down_until })
    }

    /// Sends `request`, retrying and switching endpoints as documented in the module.
    ///
    /// # Errors
    /// The first non-retryable error, or [`Error::GaveUp`] with the last error once the attempts are spent.
    pub fn generate(&self, request: &Request<'_>) -> Result<Reply, Error> {
        let body = body(request);
        self.with_retries(|index| self.send(index, request.api, &body))
    }

    /// Runs `attempt` on endpoints picked round-robin until it succeeds, a non-retryable error, or the attempts run
    /// out.
    fn with_retries<T>(&self, attempt_on: impl Fn(usize) -> Result<T, Error>) -> Result<T, Error> {
        let mut last = None;
        for attempt in 0..self.config.attempts {
            let index = self.pick();
            match attempt_on(index) {
                Ok(reply) => return Ok(reply),
                Err(e) if e.is_retryable() => {
                    let wait = self.config.backoff.saturating_mul(1 << attempt.min(16)).min(Duration::from_secs(30));
                    self.mark_down(index);
                    last = Some(e);
                    if attempt + 1 < self.config.attempts && !self.any_healthy() {
                        std::thread::sleep(wait);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let last = last.unwrap_or_else(|| Error::Config("no attempt made".into()));
        Err(Error::GaveUp { attempts: self.config.attempts, last: Box::new(last) })
    }

    /// The ids of `text` by the server's own tokenizer, without special tokens (vLLM's `POST /tokenize`), retried as
    /// [`Client::generate`] is.
    ///
    /// # Errors
    /// As [`Client::generate`].
    pub fn tokenize(&self, model: &str, text: &str) -> Result<Vec<u32>, Error> {
        let body = json!({"model": model, "prompt": text, "add_special_tokens": false});
        self.with_retries(|index| {
            let endpoint = &self.config.endpoints[index];
            let base = endpoint.trim_end_matches('/');
            let url = format!("{}/tokenize", base.strip_suffix("/v1").unwrap_or(base));
            let value = self.post(index, &url, &body)?;
            let malformed =
                |message: &str| Error::MalformedReply { endpoint: endpoint.clone(), message: message.into() };
            let tokens =
                value.get("tokens").and_then(Value::as_array).ok_or_else(|| malformed("no \"tokens\" array"))?;
            tokens
                .iter()
                .map(|t| {
                    t.as_u64()
                        .and_then(|t| u32::try_from(t).ok())
                        .ok_or_else(|| malformed("a token id is not a number"))
                })
                .collect()
        })
    }

    /// The next endpoint round-robin that is not cooling down; the one whose cool-down ends first if all are.
    fn pick(&self) -> usize {
        let count = self.config.endpoints.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut soonest = (start % count, None);
        for offset in 0..count {
            let i = (start + offset) % count;
            let until = *self.down_until[i].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match until {
                Some(t) if t > now => {
                    if soonest.1.is_none_or(|s| t < s) {
                        soonest = (i, Some(t));
                    }
                }
                _ => return i,
            }
        }
        soonest.0
    }

    fn mark_down(&self, index: usize) {
        *self.down_until[index].lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Instant::now() + self.config.cooldown);
    }

    fn any_healthy(&self) -> bool {
        let now = Instant::now();
        self.down_until
            .iter()
            .any(|d| d.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_none_or(|t| t <= now))
    }

    fn send(&self, index: usize, api: Api, body: &Value) -> Result<Reply, Error> {
        let endpoint = &self.config.endpoints[index];
        let base = endpoint.trim_end_matches('/');
        let path = match api {
            Api::Completions => "completions",
            Api::Chat => "chat/completions",
        };
        let url = if base.ends_with("/v1") { format!("{base}/{path}") } else { format!("{base}/v1/{path}") };
        let value = self.post(index, &url, body)?;
        parse_reply(api, value).map_err(|message| Error::MalformedReply { endpoint: endpoint.clone(), message })
    }

    /// POSTs `body` as JSON to `url` and returns the reply's JSON.
    fn post(&self, index: usize, url: &str, body: &Value) -> Result<Value, Error> {
        let endpoint = &self.config.endpoints[index];
        let mut req = self.agent.post(url).header("Content-Type", "application/json");
        if let Some(key) = &self.config.api_key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        let unreachable = |e: ureq::Error| Error::Unreachable { endpoint: endpoint.clone(), message: e.to_string() };
        let mut response = req.send(body.to_string().as_bytes()).map_err(unreachable)?;
        let status = response.status().as_u16();
        let text = response.body_mut().with_config().limit(64 << 20).read_to_string().map_err(unreachable)?;
        if !(200..300).contains(&status) {
            let body: String = text.chars().take(500).collect();
            return Err(Error::Status { endpoint: endpoint.clone(), status, body });
        }
        serde_json::from_str(&text).map_err(|e| Error::MalformedReply {
            endpoint: endpoint.clone(),
            message: format!("not JSON ({e}): {:?}", text.chars().take(200).collect::<String>()),
        })
    }
}

fn body(r: &Request<'_>) -> Value {
    let mut body = json!({
        "model": r.model,
        "max_tokens": r.max_tokens,
        "temperature": r.temperature,
        "top_p": r.top_p,
        "seed": r.seed,
        "n": r.n,
        "stop": r.stop,
    });
    let map = body.as_object_mut().expect("a JSON object literal");
    if r.tokens {
        map.insert("return_token_ids".into(), true.into());
        let logprobs = match r.api {
            Api::Completions => json!(0),
            Api::Chat => json!(true),
        };
        map.insert("logprobs".into(), logprobs);
    }
    match (r.api, r.prompt_ids) {
        (Api::Completions, Some(ids)) => {
            map.insert("prompt".into(), json!(ids));
        }
        (Api::Completions, None) => {
            map.insert("prompt".into(), format!("{}{}", r.prompt, r.response).into());
        }
        (Api::Chat, _) => {
            let mut messages = vec![json!({"role": "user", "content": r.prompt})];
            if !r.response.is_empty() {
                messages.push(json!({"role": "assistant", "content": r.response}));
                map.insert("continue_final_message".into(), true.into());
                map.insert("add_generation_prompt".into(), false.into());
            }
            map.insert("messages".into(), messages.into());
        }
    }
    for (k, v) in r.extra {
        map.insert(k.clone(), v.clone());
    }
    body
}

fn parse_reply(api: Api, value: Value) -> Result<Reply, String> {
    let choices = value.get("choices").and_then(Value::as_array).ok_or("no \"choices\" array")?;
    if choices.is_empty() {
        return Err("empty \"choices\" array".into());
    }
    let choices = choices
        .iter()
        .map(|c| {
            let text = match api {
                Api::Completions => c.get("text"),
                Api::Chat => c.get("message").and_then(|m| m.get("content")),
            };
            let text = text.and_then(Value::as_str).ok_or("a choice without text")?.to_owned();
            let finish_reason = c.get("finish_reason").and_then(Value::as_str).unwrap_or("stop").to_owned();
            let stop_reason = match c.get("stop_reason") {
                None => StopReason::Unreported,
                Some(Value::Null) => StopReason::EndOfSequence,
                Some(Value::String(s)) => StopReason::Matched(s.clone()),
                Some(_) => StopReason::Other,
            };
            let pieces = match api {
                Api::Completions => completion_pieces(c.get("logprobs")),
                Api::Chat => chat_pieces(c.get("logprobs")),
            };
            Ok(Choice { text, finish_reason, stop_reason, token_ids: ids(c.get("token_ids")), pieces })
        })
        .collect::<Result<Vec<_>, &str>>()?;
    let usage = |field: &str| value.get("usage").and_then(|u| u.get(field)).and_then(Value::as_u64);
    let prompt_ids = ids(value.get("prompt_token_ids"))
        .or_else(|| ids(value.get("choices").and_then(|c| c.get(0)).and_then(|c| c.get("prompt_token_ids"))));
    Ok(Reply {
        choices,
        prompt_tokens: usage("prompt_tokens"),
        completion_tokens: usage("completion_tokens"),
        prompt_ids,
    })
}

/// A JSON array of token ids.
fn ids(value: Option<&Value>) -> Option<Vec<u32>> {
    value?.as_array()?.iter().map(|v| v.as_u64().and_then(|v| u32::try_from(v).ok())).collect()
}

/// Completions log-probs: `{"tokens": [...], "token_logprobs": [...]}`.
fn completion_pieces(logprobs: Option<&Value>) -> Option<Vec<(String, f32)>> {
    let l = logprobs?;
    let tokens = l.get("tokens")?.as_array()?;
    let lps = l.get("token_logprobs")?.as_array()?;
    if tokens.len() != lps.len() {
        return None;
    }
    tokens.iter().zip(lps).map(|(t, lp)| Some((t.as_str()?.to_owned(), lp.as_f64()? as f32))).collect()
}

/// Chat log-probs: `{"content": [{"token", "logprob", "bytes"}]}`; `bytes` (the token's exact UTF-8 bytes) when given.
fn chat_pieces(logprobs: Option<&Value>) -> Option<Vec<(String, f32)>> {
    let content = logprobs?.get("content")?.as_array()?;
    content
        .iter()
        .map(|e| {
            let lp = e.get("logprob")?.as_f64()? as f32;
            let text = match e.get("bytes").and_then(Value::as_array) {
                Some(bytes) => {
                    let raw: Option<Vec<u8>> =
                        bytes.iter().map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect();
                    String::from_utf8_lossy(&raw?).into_owned()
                }
                None => e.get("token")?.as_str()?.to_owned(),
            };
            Some((text, lp))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse_for_both_apis() {
        let parse = |api, text: &str| parse_reply(api, serde_json::from_str(text).unwrap());
        let r = parse(
            Api::Completions,
            r#"{"choices":[{"text":"a","finish_reason":"stop","stop_reason":"```\n","token_ids":[7],"prompt_token_ids":[1,2],"logprobs":{"tokens":["a"],"token_logprobs":[-0.5]}},{"text":"b","finish_reason":"length","stop_reason":null}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
        )
        .unwrap();
        assert_eq!(r.choices[0].token_ids, Some(vec![7]));
        assert_eq!(r.choices[0].pieces, Some(vec![("a".to_owned(), -0.5)]));
        assert_eq!(r.prompt_ids, Some(vec![1, 2]));
        assert_eq!(r.choices[1].token_ids, None);
        assert_eq!(r.choices[0].stop_reason, StopReason::Matched("```\n".into()));
        assert_eq!(r.choices[1].stop_reason, StopReason::EndOfSequence);
        assert_eq!((r.prompt_tokens, r.completion_tokens), (Some(3), Some(2)));
        let c = parse(Api::Chat, r#"{"choices":[{"message":{"content":"hé"},"finish_reason":"stop","logprobs":{"content":[{"token":"h","logprob":-1.0,"bytes":[104]},{"token":"bytes:\\xc3\\xa9","logprob":-2.0,"bytes":[195,169]}]}}]}"#).unwrap();
        assert_eq!((c.choices[0].text.as_str(), &c.choices[0].stop_reason), ("hé", &StopReason::Unreported));
        assert_eq!(c.choices[0].pieces, Some(vec![("h".to_owned(), -1.0), ("é".to_owned(), -2.0)]));
        assert!(parse(Api::Chat, r#"{"choices":[]}"#).is_err());
        assert!(parse(Api::Completions, r#"{"choices":[{"message":{}}]}"#).is_err());
    }

    #[test]
    fn bursts_of_requests_to_a_one_at_a_time_tiny_http_server_all_complete() {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let addr = server.server_addr().to_ip().unwrap();
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                std::thread::sleep(Duration::from_millis(2));
                let reply = r#"{"choices":[{"text":"ok","finish_reason":"stop","stop_reason":null}]}"#;
                let _ = request.respond(tiny_http::Response::from_string(reply));
            }
        });
        let mut config = ClientConfig::new(vec![format!("http://{addr}")]);
        config.timeout = Duration::from_secs(20);
        config.attempts = 1;
        let extra = Map::new();
        let request = Request {
            model: "m",
            api: Api::Completions,
            prompt: "Q",
            response: "",
            prompt_ids: None,
            tokens: false,
            max_tokens: 1,
            temperature: 1.0,
            top_p: 1.0,
            seed: 0,
            stop: &[],
            n: 1,
            extra: &extra,
        };
        // Three rounds of 16 threads × 10 requests, each round a new client while the earlier ones live on: with
        // pooled connections a single round left some threads without a reply in 3 runs of 4.
        let clients: Vec<Client> = (0..3).map(|_| Client::new(config.clone()).unwrap()).collect();
        for client in &clients {
            std::thread::scope(|s| {
                for _ in 0..16 {
                    s.spawn(|| {
                        for _ in 0..10 {
                            assert_eq!(client.generate(&request).expect("a reply").choices[0].text, "ok");
                        }
                    });
                }
            });
        }
    }

    #[test]
    fn chat_continuation_sends_the_assistant_message() {
        let extra = Map::new();
        let stop = vec!["```\n".to_owned()];
        let mut r = Request {
            model: "m",
            api: Api::Chat,
            prompt: "Q",
            response: "",
            prompt_ids: None,
            tokens: false,
            max_tokens: 10,
            temperature: 1.0,
            top_p: 0.95,
            seed: 7,
            stop: &stop,
            n: 1,
            extra: &extra,
        };
        assert_eq!(body(&r)["messages"].as_array().map(Vec::len), Some(1));
        assert!(body(&r).get("continue_final_message").is_none());
        r.response = "partial";
        let b = body(&r);
        assert_eq!(b["messages"][1]["content"], "partial");
        assert_eq!(b["continue_final_message"], true);
        r.api = Api::Completions;
        assert_eq!(body(&r)["prompt"], "Qpartial");
        assert!(body(&r).get("return_token_ids").is_none());
        let ids = [5, 6];
        r.prompt_ids = Some(&ids);
        r.tokens = true;
        let b = body(&r);
        assert_eq!(
            (b["prompt"].clone(), b["return_token_ids"].clone(), b["logprobs"].clone()),
            (json!([5, 6]), json!(true), json!(0))
        );
    }

    #[test]
    fn bad_configs_are_refused() {
        assert!(Client::new(ClientConfig::new(vec![])).is_err());
        assert!(Client::new(ClientConfig::new(vec!["localhost:8000".into()])).is_err());
    }
}
