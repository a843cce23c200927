//! Batched generation with a KV cache, and the exact stop at the end of a ```` ```python ````
//! block.
//!
//! Prompts are left-padded to a common length and prefilled in one forward; then each step
//! feeds one token per live row. Rows that finish leave the batch (their cache rows are
//! dropped). Each row has its own random stream seeded from `seed + row`, so a row's sample
//! does not depend on which other rows share the batch.
//!
//! What comes back are the sampled ids and their log-probs exactly as drawn: a tool's output
//! can be appended as separate (masked) tokens without re-tokenising what the model wrote.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::model::{KvCache, Model, Rope, attention_mask};
use crate::tokenizer::Tokenizer;

/// How to sample.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    /// Softmax temperature; 0 means greedy (argmax). Default 1.0, the reference's value for
    /// training rollouts.
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches `top_p`.
    /// Default 1.0 (off); the reference evaluates with 0.95.
    pub top_p: f32,
    /// Keep only the `top_k` most likely tokens; 0 (the default) means off.
    pub top_k: usize,
    /// Most tokens generated per prompt. Default 1024; also capped by the model's
    /// `max_position_embeddings`.
    pub max_new_tokens: usize,
    /// Seed of the random streams (row `i` uses `seed + i`). Default 0.
    pub seed: u64,
    /// Stop right after the token that closes a ```` ```python ```` block. Default true:
    /// that is where the tool runs.
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
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return Err(Error::Sampling(format!("temperature {} must be ≥ 0", self.temperature)));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::Sampling(format!("top_p {} must be in (0, 1]", self.top_p)));
        }
        Ok(())
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
    /// The log-probability of each sampled token under the model (temperature 1, before
    /// top-p/top-k filtering) — what the policy-gradient ratio needs.
    pub logprobs: Vec<f32>,
    /// Why generation stopped.
    pub finish: FinishReason,
}

/// Where a ```` ```python ```` block closes in `text`: the end of the first line-initial
/// ```` ``` ```` after an opening ```` ```python ````, if there is one.
pub fn code_block_end(text: &str) -> Option<usize> {
    let open = text.find("```python")?;
    let body = open + "```python".len();
    let close = text[body..].find("\n```")?;
    Some(body + close + "\n```".len())
}

/// Whether `text` ends inside a ```` ```python ```` block (opened, not yet closed).
fn open_block(text: &str) -> bool {
    text.rfind("```python").is_some_and(|open| code_block_end(&text[open..]).is_none())
}

/// Checks stop conditions on one row's decoded text as tokens arrive.
struct StopCheck<'a> {
    tokenizer: Option<&'a Tokenizer>,
    params: &'a SamplingParams,
    /// Per prompt: it ends inside an open ```` ```python ```` block, so the generated text
    /// is checked as if the opening fence preceded it.
    open: Vec<bool>,
}

impl StopCheck<'_> {
    fn check(&self, row: usize, tokens: &[u32]) -> Result<Option<FinishReason>> {
        let Some(tok) = self.tokenizer else {
            return Ok(None);
        };
        if !self.params.stop_at_code_block && self.params.stop.is_empty() {
            return Ok(None);
        }
        // Decode the whole row only when the newest piece could complete a match.
        let tail = &tokens[tokens.len().saturating_sub(2)..];
        let piece = tok.decode(tail)?;
        let may_fence = self.params.stop_at_code_block && piece.contains('`');
        let may_stop = self.params.stop.iter().any(|s| s.chars().last().is_some_and(|c| piece.contains(c)));
        if !may_fence && !may_stop {
            return Ok(None);
        }
        let text = tok.decode(tokens)?;
        let fenced =
            if self.open.get(row).copied().unwrap_or(false) { format!("```python\n{text}") } else { text.clone() };
        if may_fence && code_block_end(&fenced).is_some() {
            return Ok(Some(FinishReason::CodeBlock));
        }
        Ok(self
            .params
            .stop
            .iter()
            .find(|s| !s.is_empty() && text.contains(s.as_str()))
            .map(|s| FinishReason::Stop(s.clone())))
    }
}

/// Picks a token from one row of logits; returns it with its log-prob under the unfiltered
/// model distribution.
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

/// Generates a continuation for each prompt.
///
/// `tokenizer` is needed for the code-block and string stops (without one only EOS and the
/// length stop apply).
///
/// # Errors
/// [`Error::Sampling`] for bad parameters or an empty prompt, [`Error::Device`] when logits
/// cannot be read back, [`Error::Tokenizer`] when decoding fails.
pub fn generate(
    model: &Model,
    config: &ModelConfig,
    tokenizer: Option<&Tokenizer>,
    prompts: &[Vec<u32>],
    params: &SamplingParams,
) -> Result<Vec<Completion>> {
    params.validate()?;
    if prompts.is_empty() {
        return Ok(Vec::new());
    }
    if prompts.iter().any(Vec::is_empty) {
        return Err(Error::Sampling("a prompt has no tokens".into()));
    }
    if let Some(bad) = prompts.iter().flatten().find(|&&t| t as usize >= config.vocab_size) {
        return Err(Error::Sampling(format!("token id {bad} is outside the vocabulary")));
    }
    let device = model.embed_tokens.weight.device();
    let eos = params.eos_token_ids.clone().unwrap_or_else(|| config.eos_token_ids.clone());
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let budget = params.max_new_tokens.min(config.max_position_embeddings.saturating_sub(longest));
    let open = match tokenizer {
        Some(tok) if params.stop_at_code_block => {
            prompts.iter().map(|p| tok.decode(p).map(|t| open_block(&t))).collect::<Result<Vec<_>>>()?
        }
        _ => Vec::new(),
    };
    let stop = StopCheck { tokenizer, params, open };

    let mut done: Vec<Option<Completion>> = vec![None; prompts.len()];
    let mut rows: Vec<usize> = (0..prompts.len()).collect();
    let mut rngs: Vec<StdRng> =
        (0..prompts.len()).map(|i| StdRng::seed_from_u64(params.seed.wrapping_add(i as u64))).collect();
    let mut out: Vec<(Vec<u32>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); prompts.len()];
    if budget == 0 {
        return Ok(out
            .into_iter()
            .map(|(tokens, logprobs)| Completion { tokens, logprobs, finish: FinishReason::Length })
            .collect());
    }

    // Prefill: left-pad to the longest prompt.
    let mut valid: Vec<Vec<bool>> = prompts
        .iter()
        .map(|p| {
            let pad = longest - p.len();
            (0..longest).map(|i| i >= pad).collect()
        })
        .collect();
    let mut next_pos: Vec<usize> = prompts.iter().map(Vec::len).collect();
    let ids: Vec<i64> = prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n(0, longest - p.len()).chain(p.iter().map(|&t| i64::from(t))))
        .collect();
    let positions: Vec<Vec<usize>> = prompts
        .iter()
        .map(|p| {
            let pad = longest - p.len();
            (0..longest).map(|i| i.saturating_sub(pad)).collect()
        })
        .collect();
    let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids, [prompts.len(), longest]), &device);
    let rope = Rope::new(&positions, config.head_dim, config.rope_theta, &device);
    let mask = attention_mask(&valid, 0, longest, &device);
    let mut cache = KvCache::with_capacity(config.num_hidden_layers, longest + budget);
    let hidden = model.hidden(tokens, &rope, &mask, &mut cache);
    let [b, s, d] = hidden.dims();
    // [b, s, d] -> last position [b, 1, d]
    let mut last = hidden.slice([0..b, s - 1..s, 0..d]);

    for step in 0..budget {
        let logits = model.logits(last);
        let vocab = logits.dims()[2];
        let host = logits.try_into_vec_as::<f32>().map_err(|e| Error::Device(format!("{e:?}")))?;
        let mut keep = Vec::with_capacity(rows.len());
        let mut feed = Vec::with_capacity(rows.len());
        for (slot, &row) in rows.iter().enumerate() {
            let (id, lp) = pick(&host[slot * vocab..(slot + 1) * vocab], params, &mut rngs[row]);
            out[row].0.push(id);
            out[row].1.push(lp);
            let finish = if eos.contains(&id) {
                Some(FinishReason::Eos)
            } else if let Some(reason) = stop.check(row, &out[row].0)? {
                Some(reason)
            } else if step + 1 == budget {
                Some(FinishReason::Length)
            } else {
                None
            };
            match finish {
                Some(reason) => {
                    let (tokens, logprobs) = std::mem::take(&mut out[row]);
                    done[row] = Some(Completion { tokens, logprobs, finish: reason });
                }
                None => {
                    keep.push(slot);
                    feed.push(id);
                }
            }
        }
        if keep.is_empty() {
            break;
        }
        if keep.len() != rows.len() {
            cache.select_rows(&keep, &device);
            rows = keep.iter().map(|&k| rows[k]).collect();
            valid = keep.iter().map(|&k| valid[k].clone()).collect();
            next_pos = keep.iter().map(|&k| next_pos[k]).collect();
        }
        for v in &mut valid {
            v.push(true);
        }
        let n = rows.len();
        let past = cache.len();
        let tokens =
            Tensor::<2, Int>::from_data(TensorData::new(feed.iter().map(|&t| i64::from(t)).collect(), [n, 1]), &device);
        let positions: Vec<Vec<usize>> = next_pos.iter().map(|&p| vec![p]).collect();
        for p in &mut next_pos {
            *p += 1;
        }
        let rope = Rope::new(&positions, config.head_dim, config.rope_theta, &device);
        let mask = attention_mask(&valid, past, 1, &device);
        last = model.hidden(tokens, &rope, &mask, &mut cache);
    }
    Ok(done
        .into_iter()
        .zip(out)
        .map(|(d, (tokens, logprobs))| d.unwrap_or(Completion { tokens, logprobs, finish: FinishReason::Length }))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_block_end_needs_an_opening_python_fence() {
        assert_eq!(code_block_end("text ```output\n1\n```"), None);
        assert_eq!(code_block_end("```python\nx = 1\n"), None);
        let t = "Let us compute.\n```python\nprint(1)\n```";
        assert_eq!(code_block_end(t), Some(t.len()));
        let t2 = "```python\nprint('```')\n```\nmore";
        assert_eq!(code_block_end(t2), Some(t2.len() - "\nmore".len()));
    }

    #[test]
    fn open_block_sees_an_unclosed_fence() {
        assert!(open_block("Then:\n```python\n"));
        assert!(!open_block("```python\nx\n```\n```output\n1\n```\n"));
        assert!(!open_block("no code"));
    }

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
