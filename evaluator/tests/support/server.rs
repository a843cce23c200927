//! An OpenAI-compatible HTTP/1.1 server for tests and benchmarks, driven by a scripted model.
//!
//! It speaks the protocol honestly: `/v1/completions` and `/v1/chat/completions` (with `continue_final_message`),
//! `stop` (earliest match wins; stripped from the text like vLLM unless `include_stop`), `n`, `max_tokens` (one token
//! per character), `finish_reason`, vLLM's `stop_reason`, and `usage`. Connections are kept alive.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// What the scripted model does with one request.
pub enum Action {
    /// Generate this text (up to end of sequence); stop sequences and `max_tokens` apply.
    Generate(String),
    /// Answer with this HTTP status and body.
    Status(u16, String),
    /// Answer 200 with this body as it is (malformed JSON).
    Raw(String),
}

/// The scripted model: called with the request body and the whole text so far (prompt + assistant text).
pub type Model = dyn Fn(&Value, &str) -> Action + Send + Sync;

/// A running server; it lives as long as the test process.
pub struct Server {
    /// Base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    /// Every request body received, in order.
    pub requests: Arc<Mutex<Vec<Value>>>,
}

/// Server behaviour switches.
#[derive(Clone, Copy, Default)]
pub struct Options {
    /// Keep the matched stop string in the text (SGLang/llama.cpp style) instead of stripping it (vLLM).
    pub include_stop: bool,
    /// Leave out `stop_reason` (servers other than vLLM).
    pub no_stop_reason: bool,
}

impl Server {
    /// Starts a server on a free local port.
    pub fn start(model: impl Fn(&Value, &str) -> Action + Send + Sync + 'static, options: Options) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let model: Arc<Model> = Arc::new(model);
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (model, log) = (model.clone(), log.clone());
                std::thread::spawn(move || serve(stream, &*model, &log, options));
            }
        });
        Server { url, requests }
    }

    /// Request bodies received so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, model: &Model, log: &Mutex<Vec<Value>>, options: Options) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, reply) = match serde_json::from_slice::<Value>(&body) {
            Ok(body) => {
                log.lock().unwrap().push(body.clone());
                respond(&path, &body, model, options)
            }
            Err(e) => (400, json!({"error": {"message": format!("bad JSON: {e}")}}).to_string()),
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            reply.len()
        );
        if writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(reply.as_bytes())).is_err() {
            return;
        }
    }
}

fn respond(path: &str, body: &Value, model: &Model, options: Options) -> (u16, String) {
    let chat = match path {
        "/v1/completions" => false,
        "/v1/chat/completions" => true,
        _ => return (404, json!({"error": {"message": format!("no route {path}")}}).to_string()),
    };
    let (text, prompt_len) = if chat {
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let user = messages.first().and_then(|m| m["content"].as_str()).unwrap_or("").to_owned();
        let cont = body["continue_final_message"].as_bool().unwrap_or(false);
        let assistant = if cont { messages.get(1).and_then(|m| m["content"].as_str()).unwrap_or("") } else { "" };
        (format!("{user}{assistant}"), user.chars().count() + assistant.chars().count())
    } else {
        let p = body["prompt"].as_str().unwrap_or("").to_owned();
        let n = p.chars().count();
        (p, n)
    };
    let max_tokens = body["max_tokens"].as_u64().unwrap_or(16) as usize;
    let stops: Vec<String> = body["stop"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let n = body["n"].as_u64().unwrap_or(1);
    let mut choices = Vec::new();
    let mut completion_tokens = 0;
    for index in 0..n {
        let generated = match model(body, &text) {
            Action::Generate(g) => g,
            Action::Status(code, message) => return (code, json!({"error": {"message": message}}).to_string()),
            Action::Raw(raw) => return (200, raw),
        };
        let chars: Vec<(usize, char)> = generated.char_indices().collect();
        let byte_at = |tokens: usize| chars.get(tokens).map_or(generated.len(), |(i, _)| *i);
        // Earliest stop match that completes within max_tokens.
        let hit = stops
            .iter()
            .filter_map(|s| generated.find(s.as_str()).map(|at| (at, s)))
            .filter(|(at, s)| generated[..at + s.len()].chars().count() <= max_tokens)
            .min_by_key(|(at, _)| *at);
        let (out, finish, stop_reason, tokens) = match hit {
            Some((at, s)) => {
                let end = at + s.len();
                let kept = if options.include_stop { &generated[..end] } else { &generated[..at] };
                (kept.to_owned(), "stop", json!(s), generated[..end].chars().count())
            }
            None if chars.len() > max_tokens => {
                (generated[..byte_at(max_tokens)].to_owned(), "length", Value::Null, max_tokens)
            }
            None => (generated.clone(), "stop", Value::Null, chars.len()),
        };
        completion_tokens += tokens;
        let mut choice = if chat {
            json!({"index": index, "message": {"role": "assistant", "content": out}, "finish_reason": finish})
        } else {
            json!({"index": index, "text": out, "finish_reason": finish})
        };
        if !options.no_stop_reason {
            choice["stop_reason"] = stop_reason;
        }
        choices.push(choice);
    }
    let reply = json!({
        "id": "cmpl-test",
        "object": if chat { "chat.completion" } else { "text_completion" },
        "model": body["model"],
        "choices": choices,
        "usage": {"prompt_tokens": prompt_len, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_len + completion_tokens},
    });
    (200, reply.to_string())
}
