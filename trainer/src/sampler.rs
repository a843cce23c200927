//! Batched generation with a KV cache, stopping exactly on the token that closes a tool-call block (the fence rule
//! of [`cir_rollout::find_block`]).
//!
//! Each row is a whole context (prompt and everything after it) and may bring a [`RowCache`] of a prefix of it from
//! its previous turn: only the rest is prefilled. Rows are laid out left-padded to the longest cache, then the new
//! tokens right-aligned (the mask hides every pad), prefilled in one forward; then each step feeds one token per live
//! row. Rows that finish leave the batch, handing back their cache when asked. Each row has its own random stream
//! (its seed), so a row's sample does not depend on which other rows share the batch.
//!
//! What comes back are the sampled ids and their log-probs exactly as drawn, with the text they decode to (special
//! tokens give none) and where each id's text ends: a tool's output can be appended as separate (masked) tokens
//! without re-tokenising what the model wrote.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::attention::attention_mask;
use crate::cache::{KvCache, RowCache};
use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::model::{Model, Rope};
use crate::tokenizer::{Detokenizer, Tokenizer};

/// How to sample, for every row of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    /// Softmax temperature; 0 means greedy (argmax). Default 1.0, the reference's value for training rollouts.
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches `top_p`. Default 1.0 (off); the
    /// reference evaluates with 0.95.
    pub top_p: f32,
    /// Keep only the `top_k` most likely tokens; 0 (the default) means off.
    pub top_k: usize,
    /// Most tokens generated per row. Default 1024; also capped by the model's `max_position_embeddings`.
    pub max_new_tokens: usize,
    /// Seed of the random streams ([`generate`]: row `i` uses `seed + i`). Default 0.
    pub seed: u64,
    /// Stop right after the token that closes a ```` ```python ```` block. Default true: that is where the tool runs.
    pub stop_at_code_block: bool,
    /// Further stop strings, matched on the decoded generated text. Default none.
    pub stop: Vec<String>,
    /// Tokens that end generation; default: the model config's EOS tokens.
    pub eos_token_ids: Option<Vec<u32>>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            max_new_tokens: 1024,
            seed: 0,
            stop_at_code_block: true,
            stop: Vec::new(),
            eos_token_ids: None,
        }
    }
}

impl SamplingParams {
    /// Greedy decoding of at most `max_new_tokens` tokens.
    pub fn greedy(max_new_tokens: usize) -> Self {
        Self { temperature: 0.0, max_new_tokens, ..Self::default() }
    }

    fn validate(&self) -> Result<()> {
        cir_rollout::check_sampling(f64::from(self.temperature), f64::from(self.top_p))
            .map_err(|e| Error::Sampling(e.to_string()))
    }
}

/// Why a sequence stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// An end-of-sequence token was sampled (it is included in the tokens).
    Eos,
    /// The token that closes a ```` ```python ```` block was sampled (included).
    CodeBlock,
    /// A stop string appeared in the decoded text (the token completing it is included).
    Stop(String),
    /// `max_new_tokens` (or the context length) was reached.
    Length,
}

/// One generated continuation.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The sampled token ids, in order.
    pub tokens: Vec<u32>,
    /// The log-probability of each sampled token under the model (temperature 1, before top-p/top-k filtering) —
    /// what the policy-gradient ratio needs.
    pub logprobs: Vec<f32>,
    /// Why generation stopped.
    pub finish: FinishReason,
    /// The text of `tokens` (special tokens give none; a character left incomplete at the end is U+FFFD); empty
    /// without a tokenizer.
    pub text: String,
    /// Where each token's text ends in `text`.
    pub ends: Vec<usize>,
}

/// One row of a batched generation.
#[derive(Debug, Clone)]
pub struct Row {
    /// The whole context: prompt and everything after it.
    pub ids: Vec<u32>,
    /// The row's cache from an earlier turn; used when it holds a prefix of `ids`, else ignored.
    pub cache: Option<RowCache>,
    /// Most tokens to generate (also capped by the model's context length).
    pub max_new_tokens: usize,
    /// Seed of the row's random stream.
    pub seed: u64,
    /// Stop on the token that closes a tool-call block.
    pub stop_at_code_block: bool,
}

/// What one [`Row`] produced.
#[derive(Debug)]
pub struct RowOutput {
    /// The continuation.
    pub completion: Completion,
    /// The row's cache at the end (context and every sampled token but the last, which was never fed), when
    /// [`generate_rows`] was asked to keep caches.
    pub cache: Option<RowCache>,
}

/// Generates a continuation for each prompt (row `i` seeded `params.seed + i`, no cache).
///
/// `tokenizer` is needed for the code-block and string stops (without one only EOS and the length stop apply).
///
/// # Errors
/// As [`generate_rows`].
pub fn generate(
    model: &Model,
    config: &ModelConfig,
    tokenizer: Option<&Tokenizer>,
    prompts: &[Vec<u32>],
    params: &SamplingParams,
) -> Result<Vec<Completion>> {
    let rows = prompts
        .iter()
        .enumerate()
        .map(|(i, p)| Row {
            ids: p.clone(),
            cache: None,
            max_new_tokens: params.max_new_tokens,
            seed: params.seed.wrapping_add(i as u64),
            stop_at_code_block: params.stop_at_code_block,
        })
        .collect();
    Ok(generate_rows(model, config, tokenizer, rows, params, false)?.into_iter().map(|r| r.completion).collect())
}

/// Generates a continuation for each row; `params` gives the sampling rule, stop strings and EOS tokens (its
/// `max_new_tokens`, `seed` and `stop_at_code_block` are the rows' own). With `keep_caches` each output carries the
/// row's cache for its next turn.
///
/// # Errors
/// [`Error::Sampling`] for bad parameters, an empty context or an id outside the vocabulary, [`Error::Device`] when
/// logits cannot be read back, [`Error::Tokenizer`] when decoding fails.
pub fn generate_rows(
    model: &Model,
    config: &ModelConfig,
    tokenizer: Option<&Tokenizer>,
    rows: Vec<Row>,
    params: &SamplingParams,
    keep_caches: bool,
) -> Result<Vec<RowOutput>> {
    generate_rows_observed(model, config, tokenizer, rows, params, keep_caches, &mut |_| {})
}

/// One sampled token, as [`generate_rows_observed`] reports it while generating.
#[derive(Debug)]
pub struct Sampled<'a> {
    /// The row.
    pub row: usize,
    /// The id drawn.
    pub id: u32,
    /// Its log-prob under the model.
    pub logprob: f32,
    /// The text it completed (empty for a special token or half a character).
    pub text: &'a str,
}

/// [`generate_rows`], telling `observe` about every token as it is drawn (a streaming server's hook).
///
/// # Errors
/// As [`generate_rows`].
pub fn generate_rows_observed(
    model: &Model,
    config: &ModelConfig,
    tokenizer: Option<&Tokenizer>,
    rows: Vec<Row>,
    params: &SamplingParams,
    keep_caches: bool,
    observe: &mut dyn FnMut(Sampled<'_>),
) -> Result<Vec<RowOutput>> {
    params.validate()?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    if rows.iter().any(|r| r.ids.is_empty()) {
        return Err(Error::Sampling("a prompt has no tokens".into()));
    }
    if let Some(bad) = rows.iter().flat_map(|r| &r.ids).find(|&&t| t as usize >= config.vocab_size) {
        return Err(Error::Sampling(format!("token id {bad} is outside the vocabulary")));
    }
    let device = model.embed_tokens.weight.device();
    let eos = params.eos_token_ids.clone().unwrap_or_else(|| config.eos_token_ids.clone());
    let n = rows.len();
    let budgets: Vec<usize> =
        rows.iter().map(|r| r.max_new_tokens.min(config.max_position_embeddings.saturating_sub(r.ids.len()))).collect();
    let open: Vec<bool> = match tokenizer {
        Some(tok) => rows
            .iter()
            .map(|r| Ok(r.stop_at_code_block && cir_rollout::ends_inside_block(&tok.decode_text(&r.ids)?)))
            .collect::<Result<_>>()?,
        None => vec![false; n],
    };
    let mut rngs: Vec<StdRng> = rows.iter().map(|r| StdRng::seed_from_u64(r.seed)).collect();
    let mut out: Vec<Option<RowOutput>> = (0..n).map(|_| None).collect();
    let mut text: Vec<Detokenizer> = vec![Detokenizer::default(); n];
    let mut logprobs: Vec<Vec<f32>> = vec![Vec::new(); n];
    let finish = |reason, text: Detokenizer, logprobs: Vec<f32>, cache| -> Result<RowOutput> {
        let (text, tokens, ends) = match tokenizer {
            Some(tok) => text.finish(tok)?,
            None => (String::new(), text.ids().to_vec(), Vec::new()),
        };
        Ok(RowOutput { completion: Completion { tokens, logprobs, finish: reason, text, ends }, cache })
    };

    // Rows with no budget at all finish at once.
    let mut live: Vec<usize> = Vec::new();
    for row in 0..n {
        if budgets[row] == 0 {
            out[row] = Some(finish(FinishReason::Length, Detokenizer::default(), Vec::new(), None)?);
        } else {
            live.push(row);
        }
    }
    if live.is_empty() {
        return Ok(out.into_iter().flatten().collect());
    }

    // Prefill: [pad][cache][pad][new tokens] per row, the caches left-aligned to the longest, the new tokens
    // right-aligned, so every row's last new token sits in the last column.
    let cached: Vec<usize> =
        live.iter().map(|&r| rows[r].cache.as_ref().map_or(0, |c| c.reusable_for(&rows[r].ids))).collect();
    let past = cached.iter().copied().max().unwrap_or(0);
    let feed_len = live.iter().zip(&cached).map(|(&r, &c)| rows[r].ids.len() - c).max().unwrap_or(0);
    let longest_budget = live.iter().map(|&r| budgets[r]).max().unwrap_or(0);
    let caches: Vec<Option<&RowCache>> =
        live.iter().zip(&cached).map(|(&r, &c)| if c > 0 { rows[r].cache.as_ref() } else { None }).collect();
    let mut cache = KvCache::from_rows(&caches, config.num_hidden_layers, past + feed_len + longest_budget, &device);
    let mut valid: Vec<Vec<bool>> = Vec::with_capacity(live.len());
    let mut feed: Vec<i64> = Vec::with_capacity(live.len() * feed_len);
    let mut positions: Vec<Vec<usize>> = Vec::with_capacity(live.len());
    for (&r, &c) in live.iter().zip(&cached) {
        let new = &rows[r].ids[c..];
        let pad = feed_len - new.len();
        let mut v = vec![false; past - c];
        v.extend(std::iter::repeat_n(true, c));
        v.extend(std::iter::repeat_n(false, pad));
        v.extend(std::iter::repeat_n(true, new.len()));
        valid.push(v);
        feed.extend(std::iter::repeat_n(0, pad).chain(new.iter().map(|&t| i64::from(t))));
        positions.push(std::iter::repeat_n(0, pad).chain(c..rows[r].ids.len()).collect());
    }
    let mut next_pos: Vec<usize> = live.iter().map(|&r| rows[r].ids.len()).collect();
    // The ids each live row's cache holds once it is fed: its context, then its sampled tokens.
    let mut fed: Vec<Vec<u32>> = live.iter().map(|&r| rows[r].ids.clone()).collect();
    let tokens = Tensor::<2, Int>::from_data(TensorData::new(feed, [live.len(), feed_len]), &device);
    let rope = Rope::new(&positions, config.head_dim, config.rope_theta, &device);
    let mask = attention_mask(&valid, past, feed_len, &device);
    let hidden = model.hidden(tokens, &rope, &mask, &mut cache);
    let [b, s, d] = hidden.dims();
    // [b, s, d] -> last position [b, 1, d]
    let mut last = hidden.slice([0..b, s - 1..s, 0..d]);

    for _ in 0..longest_budget {
        let logits = model.logits(last);
        let vocab = logits.dims()[2];
        let host = logits.try_into_vec_as::<f32>().map_err(|e| Error::Device(format!("{e:?}")))?;
        let mut keep = Vec::with_capacity(live.len());
        let mut next = Vec::with_capacity(live.len());
        for (slot, &row) in live.iter().enumerate() {
            let (id, lp) = pick(&host[slot * vocab..(slot + 1) * vocab], params, &mut rngs[row]);
            logprobs[row].push(lp);
            let piece_len = match tokenizer {
                Some(tok) => {
                    let piece = text[row].push(tok, id)?;
                    observe(Sampled { row, id, logprob: lp, text: piece });
                    piece.len()
                }
                None => {
                    text[row].push_id(id);
                    observe(Sampled { row, id, logprob: lp, text: "" });
                    0
                }
            };
            let reason = if eos.contains(&id) {
                Some(FinishReason::Eos)
            } else if let Some(reason) = stop_reason(&text[row], piece_len, open[row], &rows[row], params) {
                Some(reason)
            } else if text[row].ids().len() >= budgets[row] {
                Some(FinishReason::Length)
            } else {
                None
            };
            match reason {
                Some(reason) => {
                    let cache =
                        keep_caches.then(|| cache.row(slot, &valid[slot], std::mem::take(&mut fed[slot]), &device));
                    let (t, lp) = (std::mem::take(&mut text[row]), std::mem::take(&mut logprobs[row]));
                    out[row] = Some(finish(reason, t, lp, cache)?);
                }
                None => {
                    keep.push(slot);
                    next.push(id);
                }
            }
        }
        if keep.is_empty() {
            break;
        }
        if keep.len() != live.len() {
            cache.select_rows(&keep, &device);
            live = keep.iter().map(|&k| live[k]).collect();
            valid = keep.iter().map(|&k| std::mem::take(&mut valid[k])).collect();
            next_pos = keep.iter().map(|&k| next_pos[k]).collect();
            fed = keep.iter().map(|&k| std::mem::take(&mut fed[k])).collect();
        }
        for ((v, f), &id) in valid.iter_mut().zip(&mut fed).zip(&next) {
            v.push(true);
            f.push(id);
        }
        let past = cache.len();
        let tokens = Tensor::<2, Int>::from_data(
            TensorData::new(next.iter().map(|&t| i64::from(t)).collect(), [live.len(), 1]),
            &device,
        );
        let positions: Vec<Vec<usize>> = next_pos.iter().map(|&p| vec![p]).collect();
        for p in &mut next_pos {
            *p += 1;
        }
        let rope = Rope::new(&positions, config.head_dim, config.rope_theta, &device);
        let mask = attention_mask(&valid, past, 1, &device);
        last = model.hidden(tokens, &rope, &mask, &mut cache);
    }
    out.into_iter()
        .enumerate()
        .map(|(row, o)| match o {
            Some(o) => Ok(o),
            None => {
                finish(FinishReason::Length, std::mem::take(&mut text[row]), std::mem::take(&mut logprobs[row]), None)
            }
        })
        .collect()
}

/// The stop a row's newest token triggered: the closing fence of a tool-call block (checked only when the newest
/// piece of text holds a backtick), or a stop string ending in the newest piece.
fn stop_reason(
    text: &Detokenizer,
    piece_len: usize,
    open: bool,
    row: &Row,
    params: &SamplingParams,
) -> Option<FinishReason> {
    if piece_len == 0 {
        return None;
    }
    let text = text.text();
    let piece = &text[text.len() - piece_len..];
    if row.stop_at_code_block && piece.contains('`') {
        let closed = if open {
            cir_rollout::find_block(&format!("{}\n{text}", cir_rollout::OPEN)).is_some()
        } else {
            cir_rollout::find_block(text).is_some()
        };
        if closed {
            return Some(FinishReason::CodeBlock);
        }
    }
    params
        .stop
        .iter()
        .filter(|s| !s.is_empty())
        .find(|s| {
            let from = text.len().saturating_sub(piece_len + s.len());
            let from = (0..=from).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            text[from..].contains(s.as_str())
        })
        .map(|s| FinishReason::Stop(s.clone()))
}

/// Picks a token from one row of logits; returns it with its log-prob under the unfiltered model distribution.
fn pick(logits: &[f32], params: &SamplingParams, rng: &mut StdRng) -> (u32, f32) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let log_z = max + logits.iter().map(|&l| f64::from(l - max).exp()).sum::<f64>().ln() as f32;
    let greedy = || {
        logits
            .iter()
            .enumerate()
            .fold((0usize, f32::NEG_INFINITY), |best, (i, &l)| if l > best.1 { (i, l) } else { best })
            .0
    };
    let id = if params.temperature == 0.0 {
        greedy()
    } else {
        let t = params.temperature;
        let mut order: Vec<usize> = (0..logits.len()).collect();
        let filtering = params.top_k > 0 || params.top_p < 1.0;
        if filtering {
            order.sort_unstable_by(|&a, &b| logits[b].total_cmp(&logits[a]));
            if params.top_k > 0 {
                order.truncate(params.top_k.max(1));
            }
        }
        let weights: Vec<f64> = order.iter().map(|&i| f64::from((logits[i] - max) / t).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut keep = weights.len();
        if params.top_p < 1.0 {
            let mut acc = 0.0;
            for (n, w) in weights.iter().enumerate() {
                acc += w / total;
                if acc >= f64::from(params.top_p) {
                    keep = n + 1;
                    break;
                }
            }
        }
        let kept: f64 = weights[..keep].iter().sum();
        let mut u = rng.random::<f64>() * kept;
        let mut choice = order[keep - 1];
        for (n, w) in weights[..keep].iter().enumerate() {
            if u < *w {
                choice = order[n];
                break;
            }
            u -= w;
        }
        choice
    };
    (id as u32, logits[id] - log_z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_pick_is_argmax_with_its_logprob() {
        let mut rng = StdRng::seed_from_u64(0);
        let (id, lp) = pick(&[0.0, 2.0, 1.0], &SamplingParams::greedy(1), &mut rng);
        assert_eq!(id, 1);
        let z = (0f32.exp() + 2f32.exp() + 1f32.exp()).ln();
        assert!((lp - (2.0 - z)).abs() < 1e-6);
    }

    #[test]
    fn top_k_one_is_greedy_and_sampling_is_seeded() {
        let logits = [0.5, 0.1, 3.0, 0.2];
        let params = SamplingParams { top_k: 1, ..SamplingParams::default() };
        let mut rng = StdRng::seed_from_u64(7);
        assert_eq!(pick(&logits, &params, &mut rng).0, 2);
        let params = SamplingParams { top_p: 0.9, ..SamplingParams::default() };
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..20).map(|_| pick(&logits, &params, &mut rng).0).collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        // With top_p 0.9 the two least likely tokens (together < 10%) are never drawn.
        assert!(draw(3).iter().all(|&t| t == 2 || t == 0));
    }
}
