//! `cir-train serve` over SmolLM2 (GGUF, fetched by `trainer/scripts/fetch-models.sh`; the test is skipped outside CI
//! when it is missing), spoken to over a plain TCP socket: completions, chat completions, streaming, vLLM's
//! `finish_reason`/`stop_reason`, token ids, `/tokenize`. (The official `openai` client is run against it by
//! `trainer/tests/openai/run.sh` in CI.)
#![cfg(feature = "flex")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use burn::prelude::*;
use cir_trainer::{CompletionServer, load};

fn smollm2() -> Option<PathBuf> {
    let home = std::env::var_os("CIR_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/cir"));
    let path = home.join("models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var_os("CI").is_none(), "{} is missing: run trainer/scripts/fetch-models.sh", path.display());
    eprintln!("skipped: {} is missing: run trainer/scripts/fetch-models.sh", path.display());
    None
}

fn raw_post(addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connects");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("writes");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("reads");
    let status = raw[9..12].parse().expect("status code");
    (status, raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, serde_json::Value) {
    let (status, body) = raw_post(addr, path, body);
    (status, serde_json::from_str(&body).expect("JSON body"))
}

#[test]
fn completions_endpoint_samples_stops_and_reports_logprobs() {
    let Some(path) = smollm2() else { return };
    let loaded = load(&path, &Device::flex()).expect("loads");
    let server = CompletionServer::bind("127.0.0.1:0", loaded, "smollm2".into()).expect("binds");
    let addr = server.local_addr().expect("ip address");
    std::thread::spawn(move || server.run());

    let prompt = "<|im_start|>user\\nCount: 1, 2, 3<|im_end|>\\n<|im_start|>assistant\\n";
    let body = format!(
        r#"{{"prompt": "{prompt}", "max_tokens": 12, "temperature": 0.8, "top_p": 0.95, "n": 2, "seed": 5, "logprobs": 1}}"#
    );
    let (status, v) = post(addr, "/v1/completions", &body);
    assert_eq!(status, 200, "{v}");
    let choices = v["choices"].as_array().expect("choices");
    assert_eq!(choices.len(), 2);
    for c in choices {
        let lps = c["logprobs"]["token_logprobs"].as_array().expect("logprobs");
        assert!(!lps.is_empty() && lps.len() <= 12);
        assert!(lps.iter().all(|x| x.as_f64().is_some_and(|x| x <= 0.0)));
    }
    // Same seed, same answer.
    let (_, again) = post(addr, "/v1/completions", &body);
    assert_eq!(again["choices"][0]["text"], v["choices"][0]["text"]);

    // A stop string cuts the text before it, as OpenAI does.
    let body = format!(r#"{{"prompt": "{prompt}", "max_tokens": 30, "temperature": 0, "stop": ["4"]}}"#);
    let (_, v) = post(addr, "/v1/completions", &body);
    let text = v["choices"][0]["text"].as_str().expect("text");
    assert!(!text.contains('4'), "{text:?}");

    let (status, v) = post(addr, "/v1/completions", r#"{"prompt": "x", "n": 0}"#);
    assert_eq!(status, 400, "{v}");

    // vLLM's reasons: end of sequence is `stop` with a null `stop_reason`, and the end-of-turn token is never text.
    let france = "<|im_start|>user\\nWhat is the capital of France?<|im_end|>\\n<|im_start|>assistant\\n";
    let body = format!(r#"{{"prompt": "{france}", "max_tokens": 60, "temperature": 0, "return_token_ids": true}}"#);
    let (_, v) = post(addr, "/v1/completions", &body);
    let c = &v["choices"][0];
    assert_eq!((c["finish_reason"].as_str(), c["stop_reason"].is_null()), (Some("stop"), true), "{v}");
    assert!(!c["text"].as_str().unwrap().contains("<|im_end|>"), "{v}");
    assert_eq!(c["token_ids"].as_array().unwrap().last(), Some(&serde_json::json!(2)), "ends with <|im_end|>");
    // The prompt as token ids continues the same way.
    let ids = v["prompt_token_ids"].clone();
    let (_, again) =
        post(addr, "/v1/completions", &format!(r#"{{"prompt": {ids}, "max_tokens": 60, "temperature": 0}}"#));
    assert_eq!(again["choices"][0]["text"], c["text"]);
    let (_, t) = post(addr, "/tokenize", r#"{"prompt": "Hello, world"}"#);
    assert_eq!(t["count"], 3, "{t}");
    // A request past the context is refused with vLLM's words (the loop reads it as a full context).
    let (status, v) = post(addr, "/v1/completions", r#"{"prompt": "x", "max_tokens": 100000}"#);
    assert!(status == 400 && v["error"]["message"].as_str().unwrap().contains("maximum context length"), "{v}");
}

#[test]
fn chat_completions_render_the_template_and_stream() {
    let Some(path) = smollm2() else { return };
    let loaded = load(&path, &Device::flex()).expect("loads");
    let server = CompletionServer::bind("127.0.0.1:0", loaded, "smollm2".into()).expect("binds");
    let addr = server.local_addr().expect("ip address");
    std::thread::spawn(move || server.run());

    let body = r#"{"messages": [{"role": "user", "content": "What is the capital of France?"}], "max_tokens": 20, "temperature": 0, "logprobs": true}"#;
    let (status, v) = post(addr, "/v1/chat/completions", body);
    assert_eq!(status, 200, "{v}");
    let message = v["choices"][0]["message"]["content"].as_str().expect("content");
    assert!(message.contains("Paris"), "{message}");
    let content = v["choices"][0]["logprobs"]["content"].as_array().expect("chat logprobs");
    let joined: String = content.iter().map(|t| t["token"].as_str().unwrap()).collect();
    assert!(joined.starts_with(message), "{joined:?} vs {message:?}");

    // Streaming: the chunks' deltas join into the same text, then [DONE].
    let stream_body = body.replace("\"logprobs\": true", "\"stream\": true");
    let (status, raw) = raw_post(addr, "/v1/chat/completions", &stream_body);
    assert_eq!(status, 200);
    let events: Vec<&str> = raw.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(events.last(), Some(&"[DONE]"), "{raw}");
    let mut streamed = String::new();
    let mut finish = None;
    for e in &events[..events.len() - 1] {
        let chunk: serde_json::Value = serde_json::from_str(e).expect("JSON chunk");
        streamed.push_str(chunk["choices"][0]["delta"]["content"].as_str().unwrap_or(""));
        if let Some(f) = chunk["choices"][0]["finish_reason"].as_str() {
            finish = Some(f.to_owned());
        }
    }
    assert!(events.len() > 3, "one chunk per token: {raw}");
    assert_eq!(streamed, message);
    assert!(finish.is_some());

    // Continuing a final assistant message.
    let body = r#"{"messages": [{"role": "user", "content": "Count to five."}, {"role": "assistant", "content": "1, 2, 3,"}], "continue_final_message": true, "add_generation_prompt": false, "max_tokens": 4, "temperature": 0}"#;
    let (status, v) = post(addr, "/v1/chat/completions", body);
    assert_eq!(status, 200, "{v}");
    assert!(v["choices"][0]["message"]["content"].as_str().unwrap().contains('4'), "{v}");
}
