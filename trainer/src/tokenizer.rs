//! Text ↔ token ids: Hugging Face `tokenizer.json` through the `tokenizers` crate (pure-Rust
//! regex, no C library), or a byte-level BPE rebuilt from GGUF metadata.

use std::path::Path;

use serde_json::{Value as Json, json};

use crate::error::{Error, Result};
use crate::gguf::{Gguf, Value};

/// A tokenizer; encoding adds no special tokens. [`Tokenizer::decode`] keeps special tokens (a prompt's chat markup),
/// [`Tokenizer::decode_text`] drops them (what a model writes, as servers return it).
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    /// The same tokenizer reading special-token strings as plain text: for tool output, which must never smuggle a
    /// control token (an `<|im_end|>` a program printed) into the model's context.
    plain: tokenizers::Tokenizer,
    /// The model's chat template, when it ships one (`tokenizer.chat_template` in GGUF, `chat_template` in
    /// `tokenizer_config.json`).
    chat_template: Option<String>,
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
        let config = path.with_file_name("tokenizer_config.json");
        let chat_template = std::fs::read_to_string(&config)
            .ok()
            .and_then(|text| serde_json::from_str::<Json>(&text).ok())
            .and_then(|c| match c.get("chat_template")? {
                Json::String(t) => Some(t.clone()),
                // A list of named templates: the default one.
                Json::Array(list) => list
                    .iter()
                    .find(|t| t.get("name").and_then(Json::as_str) == Some("default"))
                    .and_then(|t| t.get("template")?.as_str().map(str::to_owned)),
                _ => None,
            });
        Ok(Self::new(inner, chat_template))
    }

    fn new(inner: tokenizers::Tokenizer, chat_template: Option<String>) -> Self {
        let mut plain = inner.clone();
        plain.set_encode_special_tokens(true);
        Self { inner, plain, chat_template }
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
        let chat_template = meta.get("tokenizer.chat_template").and_then(Value::as_str).map(str::to_owned);
        Ok(Self::new(inner, chat_template))
    }

    /// A tokenizer from its `tokenizer.json` text.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the text is not a tokenizer.
    pub fn from_json(json: &str, chat_template: Option<String>) -> Result<Self> {
        let inner: tokenizers::Tokenizer =
            json.parse().map_err(|e| Error::Tokenizer(format!("tokenizer.json: {e}")))?;
        Ok(Self::new(inner, chat_template))
    }

    /// Writes `tokenizer.json` (and `tokenizer_config.json` with the chat template, when there is one) into `dir`,
    /// as Hugging Face folders hold them.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] or [`Error::Io`] when the files cannot be written.
    pub fn save_dir(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        self.inner.save(dir.join("tokenizer.json"), false).map_err(|e| Error::Tokenizer(format!("saving: {e}")))?;
        if let Some(template) = &self.chat_template {
            let path = dir.join("tokenizer_config.json");
            let json = serde_json::to_string_pretty(&json!({"chat_template": template})).unwrap_or_default();
            std::fs::write(&path, json).map_err(Error::io(&path))?;
        }
        Ok(())
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

    /// Token ids of `text` with special-token strings read as plain text: tool output, tokenised alone.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the tokenizer fails on the text.
    pub fn encode_plain(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.plain.encode(text, false).map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The text of `ids`, special tokens included.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] for an id outside the vocabulary.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// The text of `ids` without special tokens: what a model wrote, as a server returns it.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] for an id outside the vocabulary.
    pub fn decode_text(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// The model's chat template (Jinja), when it ships one.
    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    /// The text of one token as the vocabulary spells it (`<|im_end|>`), for a template's `eos_token`.
    pub fn token_text(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
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

/// Incremental detokenisation of generated ids: each new token adds the characters it completes, so a token that
/// holds half of a UTF-8 character adds nothing until the next one completes it (the technique of vLLM's and
/// transformers' streaming detokenizers). Special tokens add no text. [`Detokenizer::finish`] flushes a dangling
/// partial character as U+FFFD, as a lossy decode of the whole sequence does.
#[derive(Debug, Default, Clone)]
pub struct Detokenizer {
    ids: Vec<u32>,
    /// Start of the window re-decoded for each new token.
    prefix: usize,
    /// End of the part of the window already turned into text.
    read: usize,
    text: String,
    /// Per id: the end of its text in `text`.
    ends: Vec<usize>,
}

impl Detokenizer {
    /// Appends `id`; returns the text it completed (often empty).
    ///
    /// # Errors
    /// [`Error::Tokenizer`] for an id outside the vocabulary.
    pub fn push(&mut self, tok: &Tokenizer, id: u32) -> Result<&str> {
        self.ids.push(id);
        let before = self.text.len();
        let done = tok.decode_text(&self.ids[self.prefix..self.read])?;
        let window = tok.decode_text(&self.ids[self.prefix..])?;
        if window.len() > done.len()
            && !window.ends_with(char::REPLACEMENT_CHARACTER)
            && window.is_char_boundary(done.len())
            && window.starts_with(&done)
        {
            self.text.push_str(&window[done.len()..]);
            self.prefix = self.read;
            self.read = self.ids.len();
        }
        self.ends.push(self.text.len());
        Ok(&self.text[before..])
    }

    /// Appends `id` without decoding it (generation without a tokenizer: ids only).
    pub(crate) fn push_id(&mut self, id: u32) {
        self.ids.push(id);
        self.ends.push(self.text.len());
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The ids so far.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Flushes what is still pending (a character left incomplete at the end), and returns the whole text and each
    /// id's end offset in it.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] for an id outside the vocabulary.
    pub fn finish(mut self, tok: &Tokenizer) -> Result<(String, Vec<u32>, Vec<usize>)> {
        if self.read < self.ids.len() {
            let done = tok.decode_text(&self.ids[self.prefix..self.read])?;
            let window = tok.decode_text(&self.ids[self.prefix..])?;
            let rest = if window.starts_with(&done) && window.is_char_boundary(done.len()) {
                &window[done.len()..]
            } else {
                &window[..]
            };
            self.text.push_str(rest);
            if let Some(last) = self.ends.last_mut() {
                *last = self.text.len();
            }
        }
        Ok((self.text, self.ids, self.ends))
    }
}
