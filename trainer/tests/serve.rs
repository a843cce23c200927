//! `/v1/completions` over SmolLM2 (GGUF, fetched by `trainer/scripts/fetch-models.sh`; the
//! test is skipped outside CI when it is missing), spoken to over a plain TCP socket.

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

fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, serde_json::Value) {
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
    let json = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(json).expect("JSON body"))
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
}
