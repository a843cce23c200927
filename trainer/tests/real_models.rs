//! End-to-end on real, pre-trained files fetched by `trainer/scripts/fetch-models.sh`:
//! SmolLM2-135M-Instruct (GGUF, Q4_1) and the Qwen3 tokenizer. Without the files the tests
//! are skipped with a message, except under CI (`CI` set), where that is a failure.
#![cfg(feature = "flex")]

use std::path::PathBuf;

use burn::prelude::*;
use cir_rollout::find_block;
use cir_trainer::{FinishReason, SamplingParams, Tokenizer, generate, load};

fn cache_dir() -> PathBuf {
    std::env::var_os("CIR_HOME").map_or_else(
        || {
            let base = std::env::var_os("XDG_CACHE_HOME").map_or_else(
                || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"),
                PathBuf::from,
            );
            base.join("cir")
        },
        PathBuf::from,
    )
}

/// The fetched file, or `None` (skip) outside CI.
fn fetched(relative: &str) -> Option<PathBuf> {
    let path = cache_dir().join(relative);
    if path.exists() {
        return Some(path);
    }
    let message = format!("{} is missing: run trainer/scripts/fetch-models.sh", path.display());
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("skipped: {message}");
    None
}

fn smollm2() -> Option<PathBuf> {
    fetched("models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf")
}

fn chat(user: &str) -> String {
    format!("<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")
}

#[test]
fn qwen3_tokenizer_encodes_known_ids() {
    let Some(path) = fetched("tokenizers/qwen3/tokenizer.json") else { return };
    let tok = Tokenizer::from_file(&path).expect("loads");
    assert_eq!(tok.encode("Hello world").expect("encodes"), vec![9707, 1879]);
    assert_eq!(tok.token_id("<|im_start|>"), Some(151_644));
    let text = "Solve: ∫ x² dx = ?\n```python\nprint(1/3)\n```";
    let ids = tok.encode(text).expect("encodes");
    assert_eq!(tok.decode(&ids).expect("decodes"), text);
}

#[test]
fn smollm2_gguf_answers_and_stops_exactly_after_the_code_block() {
    let Some(path) = smollm2() else { return };
    let loaded = load(&path, &Device::flex()).expect("GGUF loads");
    let (config, model) = (&loaded.config, &loaded.model);
    assert_eq!((config.num_hidden_layers, config.hidden_size, config.vocab_size), (30, 576, 49_152));
    let tok = loaded.tokenizer.as_ref().expect("GGUF tokenizer");
    let hello = "Hello, world! 12345";
    assert_eq!(tok.decode(&tok.encode(hello).expect("encodes")).expect("decodes"), hello);

    // A pre-trained model answers sensibly only if dequantisation and the q/k un-permutation
    // are right.
    let prompt = tok.encode(&chat("What is the capital of France?")).expect("encodes");
    let out = generate(model, config, Some(tok), &[prompt], &SamplingParams::greedy(24)).expect("generates");
    let answer = tok.decode(&out[0].tokens).expect("decodes");
    assert!(answer.contains("Paris"), "answer: {answer:?}");

    // The model writes code; generation ends on the token that closes the block.
    let prompt = format!("{}```python\n", chat("Print the sum 2 + 2 in Python."));
    let ids = tok.encode(&prompt).expect("encodes");
    let params = SamplingParams { max_new_tokens: 80, ..SamplingParams::greedy(80) };
    let out = generate(model, config, Some(tok), &[ids], &params).expect("generates");
    let c = &out[0];
    assert_eq!(c.finish, FinishReason::CodeBlock, "{:?}", tok.decode(&c.tokens));
    let all = format!("```python\n{}", tok.decode(&c.tokens).expect("decodes"));
    let before = format!("```python\n{}", tok.decode(&c.tokens[..c.tokens.len() - 1]).expect("decodes"));
    assert!(find_block(&all).is_some() && find_block(&before).is_none());
    assert_eq!(format!("```python\n{}", c.text), all, "the completion's text is its tokens' text");
    assert_eq!(c.tokens.len(), c.logprobs.len());
    assert!(c.logprobs.iter().all(|lp| lp.is_finite() && *lp <= 0.0));
}
