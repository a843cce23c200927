//! The HTTP policy: an OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, TGI, `cir-train serve`) behind
//! the loop's [`Policy`] trait.
//!
//! - Text mode (default): every turn sends the prompt and the response so far as text; the stop string
//!   [`CODE_STOP`] pauses generation at the end of a code block.
//! - Token mode (`tokens: true`, completions only): the server is asked for the sampled ids, their log-probs and the
//!   prompt's ids (vLLM's `return_token_ids` and `logprobs`); later turns send the exact ids of the context instead of
//!   its text, and tool feedback is tokenised alone by the server's `POST /tokenize`. A turn whose reply lacks them,
//!   or whose token texts do not join into the returned text, is recorded in text mode (the whole trajectory then is).
//!   Chat endpoints render the conversation server-side, so they stay in text mode.

use cir_data::Api;
use cir_rollout::{CODE_STOP, Generation, Policy, PolicyError, PolicyInfo, Sampled, Schedule, Stop, Turn};
use serde_json::{Map, Value};

use crate::client::{Choice, Client, Reply, Request, StopReason};

/// A model served over HTTP.
pub struct EndpointPolicy {
    /// The client (endpoints, retries).
    pub client: Client,
    /// Model name sent to the server.
    pub model: String,
    /// Completions or chat.
    pub api: Api,
    /// Extra body fields of every request (the template's, e.g. `chat_template_kwargs`).
    pub extra: Map<String, Value>,
    /// Samples in flight at once.
    pub concurrency: usize,
    /// Token mode (completions only).
    pub tokens: bool,
}

impl EndpointPolicy {
    fn token_mode(&self) -> bool {
        self.tokens && self.api == Api::Completions
    }

    fn one(&self, t: &Turn<'_>) -> Result<Generation, PolicyError> {
        let stop = if t.stop_at_code { vec![CODE_STOP.to_owned()] } else { Vec::new() };
        let request = Request {
            model: &self.model,
            api: self.api,
            prompt: t.prompt,
            response: t.response,
            prompt_ids: if self.token_mode() { t.context_ids } else { None },
            max_tokens: t.max_tokens,
            temperature: t.temperature,
            top_p: t.top_p,
            seed: t.seed,
            stop: &stop,
            n: 1,
            extra: &self.extra,
            tokens: self.token_mode(),
        };
        let reply = self.client.generate(&request).map_err(|e| {
            if e.is_context_overflow() { PolicyError::ContextFull } else { PolicyError::Failed(e.to_string()) }
        })?;
        let Reply { choices, prompt_tokens, completion_tokens, prompt_ids } = reply;
        let choice =
            choices.into_iter().next().ok_or_else(|| PolicyError::Failed("the server returned no choice".into()))?;
        let stop = stop_of(&choice);
        let first = t.context_ids.is_none();
        let tokens = if self.token_mode() { sampled(&choice) } else { None };
        let text = match &tokens {
            Some((text, _)) => text.clone(),
            None => choice.text,
        };
        Ok(Generation {
            text,
            stop,
            tokens: tokens.map(|(_, s)| s),
            prompt_ids: if first && self.token_mode() { prompt_ids } else { None },
            rendered_prompt: None,
            prompt_tokens,
            completion_tokens,
        })
    }
}

impl Policy for EndpointPolicy {
    fn schedule(&self) -> Schedule {
        Schedule::Independent { concurrency: self.concurrency }
    }

    fn info(&self) -> PolicyInfo {
        PolicyInfo { model: self.model.clone(), endpoint_kind: self.api.as_str().to_owned(), policy: "endpoint".into() }
    }

    fn generate(&self, turns: &[Turn<'_>]) -> Vec<Result<Generation, PolicyError>> {
        turns.iter().map(|t| self.one(t)).collect()
    }

    fn tokenize(&self, text: &str) -> Option<Vec<u32>> {
        if self.token_mode() { self.client.tokenize(&self.model, text).ok() } else { None }
    }
}

/// vLLM's meaning: `finish_reason` `length`, else `stop` with `stop_reason` the matched string (null at the end of
/// the sequence, a number for a stop token).
fn stop_of(choice: &Choice) -> Stop {
    if choice.finish_reason == "length" {
        return Stop::Length;
    }
    match &choice.stop_reason {
        StopReason::Matched(s) => Stop::StopString(s.clone()),
        StopReason::EndOfSequence | StopReason::Other => Stop::Eos,
        StopReason::Unreported => Stop::Unreported,
    }
}

/// The exact text of the sampled tokens and their ids, log-probs and ends — when the reply has ids and token texts
/// for every token and those texts start with the returned text (which lacks a matched stop string).
fn sampled(choice: &Choice) -> Option<(String, Sampled)> {
    let ids = choice.token_ids.as_ref()?;
    let pieces = choice.pieces.as_ref()?;
    if ids.len() != pieces.len() {
        return None;
    }
    let mut text = String::new();
    let mut ends = Vec::with_capacity(ids.len());
    for (piece, _) in pieces {
        text.push_str(piece);
        ends.push(text.len());
    }
    if !text.starts_with(&choice.text) {
        return None;
    }
    let logprobs = pieces.iter().map(|(_, lp)| *lp).collect();
    Some((text, Sampled { ids: ids.clone(), logprobs, ends }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(text: &str, pieces: &[&str], finish: &str, stop: StopReason) -> Choice {
        Choice {
            text: text.into(),
            finish_reason: finish.into(),
            stop_reason: stop,
            token_ids: Some((0..pieces.len() as u32).collect()),
            pieces: Some(pieces.iter().map(|p| ((*p).to_owned(), -0.25)).collect()),
        }
    }

    #[test]
    fn token_texts_rebuild_the_text_with_the_stripped_stop_string() {
        let c = choice(
            "```python\nx\n",
            &["```", "python", "\n", "x", "\n", "```\n"],
            "stop",
            StopReason::Matched(CODE_STOP.into()),
        );
        let (text, s) = sampled(&c).unwrap();
        assert_eq!(text, "```python\nx\n```\n");
        assert_eq!(s.ends, [3, 9, 10, 11, 12, 16]);
        assert_eq!(stop_of(&c), Stop::StopString(CODE_STOP.into()));
        // Texts that do not join into the returned text: no token data.
        let bad = choice("other", &["x"], "stop", StopReason::EndOfSequence);
        assert!(sampled(&bad).is_none());
        assert_eq!(stop_of(&bad), Stop::Eos);
        assert_eq!(stop_of(&choice("", &[], "length", StopReason::Unreported)), Stop::Length);
    }
}
