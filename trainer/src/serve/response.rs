//! Response bodies and server-sent event chunks, in OpenAI's shapes with vLLM's fields.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::request::Sampling;
use crate::error::Result;
use crate::sampler::{Completion, FinishReason, RowOutput};
use crate::tokenizer::Tokenizer;

/// Which endpoint answers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// `/v1/completions`; `logprobs` asked for.
    Completion { logprobs: bool },
    /// `/v1/chat/completions`; `logprobs` asked for.
    Chat { logprobs: bool },
}

/// Everything a response needs besides the generated rows.
pub(crate) struct Output {
    kind: Kind,
    id: String,
    model: String,
    created: u64,
    prompt_len: usize,
    token_ids: bool,
    skip_special: bool,
    include_stop: bool,
    include_usage: bool,
}

impl Output {
    pub fn new(kind: Kind, model: &str, s: &Sampling, prompt_len: usize) -> Output {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let prefix = match kind {
            Kind::Completion { .. } => "cmpl",
            Kind::Chat { .. } => "chatcmpl",
        };
        Output {
            kind,
            id: format!("{prefix}-{}", now.as_nanos()),
            model: model.to_owned(),
            created: now.as_secs(),
            prompt_len,
            token_ids: s.return_token_ids,
            skip_special: s.skip_special_tokens,
            include_stop: s.include_stop_str_in_output,
            include_usage: s.stream_options.include_usage,
        }
    }

    /// The final text of a row with its `finish_reason` and `stop_reason` (vLLM's meaning).
    fn text(&self, tok: &Tokenizer, c: &Completion) -> Result<(String, &'static str, Value)> {
        let full = if self.skip_special { c.text.clone() } else { tok.decode(&c.tokens)? };
        Ok(self.ending(full, &c.finish))
    }

    /// `full` cut before a matched stop string (after it with `include_stop_str_in_output`), with the reasons.
    fn ending(&self, full: String, finish: &FinishReason) -> (String, &'static str, Value) {
        match finish {
            FinishReason::Length => (full, "length", Value::Null),
            FinishReason::Eos => (full, "stop", Value::Null),
            FinishReason::CodeBlock => (full, "stop", json!("```")),
            FinishReason::Stop(s) => {
                let mut text = full;
                if let Some(at) = text.find(s.as_str()) {
                    text.truncate(if self.include_stop { at + s.len() } else { at });
                }
                (text, "stop", json!(s))
            }
        }
    }

    /// A whole (non-streamed) response.
    pub fn body(&self, tok: &Tokenizer, rows: &[RowOutput], prompt: &[u32]) -> Result<Value> {
        let mut choices = Vec::with_capacity(rows.len());
        let mut completion_tokens = 0;
        for (index, row) in rows.iter().enumerate() {
            let c = &row.completion;
            completion_tokens += c.tokens.len();
            let (text, finish, stop_reason) = self.text(tok, c)?;
            let mut choice = match self.kind {
                Kind::Completion { logprobs } => json!({
                    "index": index, "text": text, "finish_reason": finish, "stop_reason": stop_reason,
                    "logprobs": if logprobs { completion_logprobs(c) } else { Value::Null },
                }),
                Kind::Chat { logprobs } => json!({
                    "index": index, "message": {"role": "assistant", "content": text},
                    "finish_reason": finish, "stop_reason": stop_reason,
                    "logprobs": if logprobs { chat_logprobs(c) } else { Value::Null },
                }),
            };
            if self.token_ids {
                choice["token_ids"] = json!(c.tokens);
                choice["prompt_token_ids"] = json!(prompt);
            }
            choices.push(choice);
        }
        let object = match self.kind {
            Kind::Completion { .. } => "text_completion",
            Kind::Chat { .. } => "chat.completion",
        };
        let mut body = json!({
            "id": self.id, "object": object, "created": self.created, "model": self.model, "choices": choices,
            "usage": self.usage(completion_tokens),
        });
        if self.token_ids {
            body["prompt_token_ids"] = json!(prompt);
        }
        Ok(body)
    }

    fn usage(&self, completion_tokens: usize) -> Value {
        json!({"prompt_tokens": self.prompt_len, "completion_tokens": completion_tokens,
               "total_tokens": self.prompt_len + completion_tokens})
    }

    /// A streamed response for `n` rows; text that could be the start of a stop string is held back until it is
    /// known not to be one.
    pub fn stream(self, n: usize, stops: &[String]) -> Stream {
        let hold = stops.iter().map(String::len).max().unwrap_or(0);
        Stream {
            out: self,
            text: vec![String::new(); n],
            sent: vec![0; n],
            started: vec![false; n],
            hold,
            stops: stops.to_vec(),
        }
    }

    /// One event chunk for row `index`: a text delta, or the end of the row.
    fn chunk(&self, index: usize, delta: &str, first: bool, finish: Option<(&str, Value)>) -> Vec<u8> {
        let (finish_reason, stop_reason) = finish.unwrap_or(("", Value::Null));
        let finish_reason = if finish_reason.is_empty() { Value::Null } else { json!(finish_reason) };
        let body = match self.kind {
            Kind::Completion { .. } => json!({
                "id": self.id, "object": "text_completion", "created": self.created, "model": self.model,
                "choices": [{"index": index, "text": delta, "finish_reason": finish_reason, "stop_reason": stop_reason,
                             "logprobs": null}],
            }),
            Kind::Chat { .. } => {
                let delta =
                    if first { json!({"role": "assistant", "content": delta}) } else { json!({"content": delta}) };
                json!({
                    "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                    "choices": [{"index": index, "delta": delta, "finish_reason": finish_reason,
                                 "stop_reason": stop_reason, "logprobs": null}],
                })
            }
        };
        sse(&body)
    }
}

/// The state of a streamed response.
pub(crate) struct Stream {
    out: Output,
    text: Vec<String>,
    sent: Vec<usize>,
    started: Vec<bool>,
    hold: usize,
    stops: Vec<String>,
}

impl Stream {
    /// A new token's text for `row`: the chunk to send now, if any text is safe to send.
    pub fn token(&mut self, row: usize, piece: &str) -> Option<Vec<u8>> {
        let text = self.text.get_mut(row)?;
        text.push_str(piece);
        let mut safe = if self.stops.iter().any(|s| !s.is_empty() && text.contains(s.as_str())) {
            self.sent[row]
        } else {
            text.len().saturating_sub(self.hold.saturating_sub(1))
        };
        while !text.is_char_boundary(safe) {
            safe -= 1;
        }
        if safe <= self.sent[row] {
            return None;
        }
        let delta = text[self.sent[row]..safe].to_owned();
        self.sent[row] = safe;
        let first = !std::mem::replace(&mut self.started[row], true);
        Some(self.out.chunk(row, &delta, first, None))
    }

    /// The rest of every row, its end, the usage when asked for, and `[DONE]`.
    pub fn finish(mut self, rows: &[RowOutput]) -> Vec<Vec<u8>> {
        let mut chunks = Vec::new();
        let mut completion_tokens = 0;
        for (index, row) in rows.iter().enumerate() {
            let c = &row.completion;
            completion_tokens += c.tokens.len();
            // A stream always skips special tokens.
            let (text, finish, stop_reason) = self.out.ending(c.text.clone(), &c.finish);
            let sent = self.sent.get(index).copied().unwrap_or(0).min(text.len());
            let rest = if text.is_char_boundary(sent) { &text[sent..] } else { "" };
            let first = !std::mem::replace(&mut self.started[index], true);
            chunks.push(self.out.chunk(index, rest, first, Some((finish, stop_reason))));
        }
        if self.out.include_usage {
            let usage = json!({"id": self.out.id, "object": "usage", "created": self.out.created, "model": self.out.model,
                               "choices": [], "usage": self.out.usage(completion_tokens)});
            chunks.push(sse(&usage));
        }
        chunks.push(b"data: [DONE]\n\n".to_vec());
        chunks
    }
}

/// One server-sent event.
pub(crate) fn sse(value: &Value) -> Vec<u8> {
    format!("data: {value}\n\n").into_bytes()
}

/// Each token's text, from the completion's text and token ends.
fn pieces(c: &Completion) -> Vec<&str> {
    let mut start = 0;
    c.ends
        .iter()
        .map(|&end| {
            let end = end.min(c.text.len());
            let piece = c.text.get(start..end).unwrap_or("");
            start = end;
            piece
        })
        .collect()
}

/// Completions log-probs: `{tokens, token_logprobs, top_logprobs, text_offset}`.
fn completion_logprobs(c: &Completion) -> Value {
    let pieces = pieces(c);
    let mut offset = 0;
    let offsets: Vec<usize> = pieces
        .iter()
        .map(|p| {
            let at = offset;
            offset += p.len();
            at
        })
        .collect();
    json!({"tokens": pieces, "token_logprobs": c.logprobs, "top_logprobs": null, "text_offset": offsets})
}

/// Chat log-probs: `{content: [{token, logprob, bytes, top_logprobs}]}`.
fn chat_logprobs(c: &Completion) -> Value {
    let content: Vec<Value> = pieces(c)
        .iter()
        .zip(&c.logprobs)
        .map(|(p, lp)| json!({"token": p, "logprob": lp, "bytes": p.as_bytes(), "top_logprobs": []}))
        .collect();
    json!({"content": content})
}
