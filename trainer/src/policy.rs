//! The burn model in-process as the interaction loop's [`Policy`]: token ids and log-probs exactly as drawn, rows
//! batched in waves, and each row's KV cache kept between its turns so a tool call's feedback is prefilled on top of
//! it instead of recomputing the whole context.

use std::collections::HashMap;
use std::sync::Mutex;

use cir_rollout::{Generation, Policy, PolicyError, PolicyInfo, Sampled, Schedule, Stop, Turn};
use serde_json::{Map, Value};

use crate::cache::RowCache;
use crate::chat::ChatTemplate;
use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::sampler::{FinishReason, Row, SamplingParams, generate_rows};
use crate::tokenizer::Tokenizer;

/// How a [`LocalPolicy`] treats its prompts.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// The model's name in the records.
    pub name: String,
    /// Render each prompt as one user message through the model's chat template (an instruct model); otherwise the
    /// prompt is raw text (a base model, the reference's Qwen2.5-Math setting). Default false.
    pub chat: bool,
    /// Extra chat-template arguments (`enable_thinking: false`). Default none.
    pub template_kwargs: Map<String, Value>,
    /// Most rows per batch; default 8.
    pub max_rows: usize,
    /// Keep each row's KV cache between its turns; default true. Off, every turn prefills its whole context again
    /// (what the cache saves is measured in docs/eval.md).
    pub reuse_cache: bool,
}

impl LocalOptions {
    /// Raw prompts, 8 rows, caches kept.
    pub fn new(name: &str) -> Self {
        LocalOptions { name: name.to_owned(), chat: false, template_kwargs: Map::new(), max_rows: 8, reuse_cache: true }
    }

    /// Named `name`, rendering prompts as `template` asks: its chat mode and its `chat_template_kwargs`.
    pub fn for_template(name: &str, template: &cir_data::Template) -> Self {
        LocalOptions {
            chat: template.api == cir_data::Api::Chat,
            template_kwargs: template
                .extra
                .get("chat_template_kwargs")
                .and_then(|v| v.as_object())
                .cloned()
                .unwrap_or_default(),
            ..LocalOptions::new(name)
        }
    }
}

/// A model, its tokenizer and (for chat) its template, sampling for the loop.
pub struct LocalPolicy {
    model: Model,
    config: ModelConfig,
    tokenizer: Tokenizer,
    chat: Option<ChatTemplate>,
    options: LocalOptions,
    caches: Mutex<HashMap<usize, RowCache>>,
}

impl LocalPolicy {
    /// A policy over `model`.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when `options.chat` is set and the model has no chat template, or it does not compile.
    pub fn new(model: Model, config: ModelConfig, tokenizer: Tokenizer, options: LocalOptions) -> Result<Self> {
        let chat = if options.chat {
            let source = tokenizer.chat_template().ok_or_else(|| {
                Error::Tokenizer(
                    "the model ships no chat template (tokenizer_config.json or GGUF metadata): use a raw-text \
                     template such as cir-qwen-math"
                        .into(),
                )
            })?;
            let text = |id: Option<u32>| id.and_then(|i| tokenizer.token_text(i));
            Some(ChatTemplate::new(source, text(config.bos_token_id), text(config.eos_token_ids.first().copied()))?)
        } else {
            None
        };
        Ok(Self { model, config, tokenizer, chat, options, caches: Mutex::new(HashMap::new()) })
    }

    /// Replaces the weights (after a training step); every kept cache is dropped, since it came from the old ones.
    pub fn set_model(&mut self, model: Model) {
        self.model = model;
        self.caches.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The prompt as the model reads it: the chat template applied, or the raw text.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the template fails.
    pub fn render(&self, prompt: &str) -> Result<String> {
        match &self.chat {
            Some(chat) => chat.render_user(prompt, &self.options.template_kwargs),
            None => Ok(prompt.to_owned()),
        }
    }

    fn caches(&self) -> std::sync::MutexGuard<'_, HashMap<usize, RowCache>> {
        self.caches.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One turn made ready: the ids to continue, and for a first turn the prompt as rendered.
struct Prepared {
    ids: Vec<u32>,
    first: Option<String>,
}

impl Policy for LocalPolicy {
    fn schedule(&self) -> Schedule {
        Schedule::Waves { max_rows: self.options.max_rows.max(1) }
    }

    fn info(&self) -> PolicyInfo {
        PolicyInfo {
            model: self.options.name.clone(),
            endpoint_kind: if self.chat.is_some() { "chat" } else { "completions" }.into(),
            policy: "local".into(),
        }
    }

    fn generate(&self, turns: &[Turn<'_>]) -> Vec<Result<Generation, PolicyError>> {
        let prepared: Vec<std::result::Result<Prepared, PolicyError>> = turns
            .iter()
            .map(|t| {
                let p = match t.context_ids {
                    Some(ids) => Prepared { ids: ids.to_vec(), first: None },
                    None => {
                        let rendered = self.render(t.prompt).map_err(|e| PolicyError::Failed(e.to_string()))?;
                        let text = format!("{rendered}{}", t.response);
                        let ids = self.tokenizer.encode(&text).map_err(|e| PolicyError::Failed(e.to_string()))?;
                        Prepared { ids, first: Some(rendered) }
                    }
                };
                if p.ids.is_empty() {
                    return Err(PolicyError::Failed("the prompt has no tokens".into()));
                }
                if p.ids.len() >= self.config.max_position_embeddings {
                    return Err(PolicyError::ContextFull);
                }
                Ok(p)
            })
            .collect();
        let live: Vec<usize> = (0..turns.len()).filter(|&i| prepared[i].is_ok()).collect();
        let rows: Vec<Row> = {
            let mut caches = self.caches();
            live.iter()
                .map(|&i| {
                    let (t, p) = (&turns[i], prepared[i].as_ref().expect("filtered on ok"));
                    Row {
                        ids: p.ids.clone(),
                        cache: if self.options.reuse_cache { caches.remove(&t.sample) } else { None },
                        max_new_tokens: usize::try_from(t.max_tokens).unwrap_or(usize::MAX),
                        seed: turn_seed(t.seed, p.ids.len()),
                        stop_at_code_block: t.stop_at_code,
                    }
                })
                .collect()
        };
        let first = live.first().map(|&i| &turns[i]);
        let params = SamplingParams {
            temperature: first.map_or(1.0, |t| t.temperature as f32),
            top_p: first.map_or(1.0, |t| t.top_p as f32),
            top_k: 0,
            max_new_tokens: 0,
            seed: 0,
            stop_at_code_block: true,
            stop: Vec::new(),
            eos_token_ids: None,
        };
        let outputs =
            generate_rows(&self.model, &self.config, Some(&self.tokenizer), rows, &params, self.options.reuse_cache);
        let mut outputs = match outputs {
            Ok(o) => o.into_iter(),
            Err(e) => return turns.iter().map(|_| Err(PolicyError::Failed(e.to_string()))).collect(),
        };
        let mut caches = self.caches();
        prepared
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let p = p?;
                let out = outputs.next().ok_or_else(|| PolicyError::Failed("a row was lost".into()))?;
                if let Some(cache) = out.cache {
                    caches.insert(turns[i].sample, cache);
                }
                let c = out.completion;
                let stop = match c.finish {
                    FinishReason::Eos => Stop::Eos,
                    FinishReason::CodeBlock => Stop::Fence,
                    FinishReason::Stop(s) => Stop::StopString(s),
                    FinishReason::Length => Stop::Length,
                };
                let first = p.first.is_some();
                Ok(Generation {
                    completion_tokens: Some(c.tokens.len() as u64),
                    prompt_tokens: first.then_some(p.ids.len() as u64),
                    text: c.text,
                    stop,
                    tokens: Some(Sampled { ids: c.tokens, logprobs: c.logprobs, ends: c.ends }),
                    rendered_prompt: if self.chat.is_some() { p.first } else { None },
                    prompt_ids: first.then_some(p.ids),
                })
            })
            .collect()
    }

    fn tokenize(&self, text: &str) -> Option<Vec<u32>> {
        self.tokenizer.encode_plain(text).ok()
    }

    fn release(&self, sample: usize) {
        self.caches().remove(&sample);
    }
}

/// A turn's own seed: the sample's seed mixed with the context length, so each turn of a sample draws a fresh
/// stream, the same on every run.
fn turn_seed(seed: u64, context: usize) -> u64 {
    seed ^ (context as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}
