//! Text ↔ token ids: Hugging Face `tokenizer.json` through the `tokenizers` crate (pure-Rust
//! regex, no C library), or a byte-level BPE rebuilt from GGUF metadata.

use std::path::Path;

use serde_json::{Value as Json, json};

use crate::error::{Error, Result};
use crate::gguf::{Gguf, Value};

/// A tokenizer; encoding adds no special tokens, decoding keeps them.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer").field("vocab_size", &self.inner.get_vocab_size(true)).finish()
    }
}

/// The pre-tokenizer regex of Qwen2 / Qwen2.5 / Qwen3 (and of GGUF's `qwen2` pre-tokenizer).
const QWEN2_SPLIT: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

impl Tokenizer {
    /// Reads a Hugging Face `tokenizer.json`.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the file is unreadable or not a tokenizer.
    pub fn from_file(path: &Path) -> Result<Self> {
        let inner =
            tokenizers::Tokenizer::from_file(path).map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        Ok(Self { inner })
    }

    /// Rebuilds the byte-level BPE tokenizer stored in a GGUF file's `tokenizer.ggml.*`
    /// metadata (`model` = `gpt2`), with the pre-tokenizer named by `tokenizer.ggml.pre`
    /// (`smollm`: digits split one by one; `qwen2`: Qwen's regex; otherwise GPT-2's).
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the metadata is missing or not a byte-level BPE.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self> {
        let meta = &gguf.metadata;
        let model = meta.get("tokenizer.ggml.model").and_then(Value::as_str);
        if model != Some("gpt2") {
            return Err(Error::Tokenizer(format!(
                "GGUF tokenizer model {model:?} is not supported (only byte-level BPE, `gpt2`)"
            )));
        }
        let strings = |key: &str| -> Result<Vec<String>> {
            meta.get(key)
                .and_then(Value::as_array)
                .ok_or_else(|| Error::Tokenizer(format!("GGUF metadata {key} is missing")))?
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| Error::Tokenizer(format!("{key} holds a non-string")))
                })
                .collect()
        };
        let tokens = strings("tokenizer.ggml.tokens")?;
        let merges = strings("tokenizer.ggml.merges")?;
        let types: Vec<i64> = meta
            .get("tokenizer.ggml.token_type")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| if let Value::Int(i) = v { *i } else { 1 }).collect())
            .unwrap_or_default();
        let vocab: serde_json::Map<String, Json> =
            tokens.iter().enumerate().map(|(i, t)| (t.clone(), json!(i))).collect();
        // Token types 3 (control) and 4 (user-defined) are added tokens, matched before BPE.
        let added: Vec<Json> = tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| matches!(types.get(*i), Some(3 | 4)))
            .map(|(i, t)| {
                json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                       "rstrip": false, "normalized": false, "special": types.get(i) == Some(&3)})
            })
            .collect();
        let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false,
                                "trim_offsets": true, "use_regex": true});
        let pre = match meta.get("tokenizer.ggml.pre").and_then(Value::as_str) {
            Some("smollm") => json!({"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": true}, byte_level]}),
            Some("qwen2") => json!({"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": false},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]}),
            _ => byte_level.clone(),
        };
        let spec = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": pre,
            "post_processor": null,
            "decoder": byte_level,
            "model": {"type": "BPE", "dropout": null, "unk_token": null,
                      "continuing_subword_prefix": null, "end_of_word_suffix": null,
                      "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": merges},
        });
        let inner: tokenizers::Tokenizer =
            spec.to_string().parse().map_err(|e| Error::Tokenizer(format!("rebuilding the GGUF tokenizer: {e}")))?;
        Ok(Self { inner })
    }

    /// Token ids of `text`, without adding special tokens (special tokens written in the
    /// text are still recognised).
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the tokenizer fails on the text.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The text of `ids`, special tokens included.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] for an id outside the vocabulary.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// The id of a token string, if it is in the vocabulary.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}
