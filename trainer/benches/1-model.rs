//! Generation and training throughput of the burn decoder on the CPU (burn-flex).
//!
//! `cargo bench -p cir-trainer --bench 1-model -- MODEL [STAGE...]` where MODEL is a Hugging
//! Face directory or a GGUF file and STAGE is one of `decode:BATCH:CONTEXT` (tokens/s of
//! KV-cached decoding after a CONTEXT-token prefill; the prefill is not timed),
//! `nocache:BATCH:CONTEXT` (the same without a cache: every new token runs the model over the
//! whole sequence again, which is what the cache saves), `prefill:BATCH:SEQ` (tokens/s of the log-probs of every token
//! of BATCH sequences, one forward without cache or gradient, as RL scores rollouts), `train:BATCH:SEQ` (tokens/s of one
//! forward + backward of the next-token loss, median of three steps after a warm-up) and `rl:BATCH:SEQ` (tokens/s
//! of one whole RL update, `cir_trainer::rl::update::update` with the reference's defaults: advantages, two
//! mini-batches each with forward, backward, gradient-norm clip and AdamW step; see [`rl_rows`]).
//! Without arguments it runs a random ~10M-parameter model. Prints one JSON line per stage;
//! `trainer/scripts/bench.sh` runs it beside PyTorch on the same weights.

use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;
use burn::tensor::TensorData;
use cir_trainer::head;
use cir_trainer::rl::batch::TrainRow;
use cir_trainer::rl::config::RlConfig;
use cir_trainer::rl::update::{recompute_logprobs, update};
use cir_trainer::{KvCache, Model, ModelConfig, Rope, attention_mask, load};

/// Tokens decoded per decode measurement; `CIR_BENCH_DECODE_STEPS` overrides it (e.g. to
/// profile the decode steps rather than the prefill).
const DECODE_STEPS: usize = 32;

fn decode_steps() -> usize {
    std::env::var("CIR_BENCH_DECODE_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(DECODE_STEPS)
}

/// The bench's token ids, row-major `[batch, len]` (`bench_torch.py` makes the same).
fn id_values(batch: usize, len: usize, vocab: usize) -> Vec<i64> {
    (0..batch * len).map(|i| ((i * 7919 + 13) % vocab) as i64).collect()
}

fn ids(batch: usize, len: usize, vocab: usize, device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(id_values(batch, len, vocab), [batch, len]), device)
}

fn sync(t: Tensor<3>) {
    // Reading a value back forces the lazy work to finish.
    let _ = t.slice([0..1, 0..1, 0..1]).into_data();
}

/// The final hidden states of `len` unpadded tokens per row, run into an empty `cache`.
fn prefill(
    model: &Model,
    config: &ModelConfig,
    batch: usize,
    len: usize,
    cache: &mut KvCache,
    device: &Device,
) -> Tensor<3> {
    let positions: Vec<Vec<usize>> = vec![(0..len).collect(); batch];
    let rope = Rope::new(&positions, config.head_dim, config.rope_theta, device);
    let mask = attention_mask(&vec![vec![true; len]; batch], 0, len, device);
    model.hidden(ids(batch, len, config.vocab_size, device), &rope, &mask, cache)
}

/// Tokens/s of [`decode_steps`] cached decoding steps after a `context`-token prefill.
fn decode(model: &Model, config: &ModelConfig, batch: usize, context: usize, device: &Device) -> f64 {
    let steps = decode_steps();
    let mut cache = KvCache::with_capacity(config.num_hidden_layers, context + steps);
    sync(prefill(model, config, batch, context, &mut cache, device));
    let mut valid = vec![vec![true; context]; batch];
    let start = Instant::now();
    for step in 0..steps {
        for v in &mut valid {
            v.push(true);
        }
        let pos = vec![vec![context + step]; batch];
        let rope = Rope::new(&pos, config.head_dim, config.rope_theta, device);
        let mask = attention_mask(&valid, context + step, 1, device);
        let h = model.hidden(ids(batch, 1, config.vocab_size, device), &rope, &mask, &mut cache);
        // The LM head and the read-back are part of each generated token's cost.
        let _ = model.logits(h).into_data();
    }
    (batch * steps) as f64 / start.elapsed().as_secs_f64()
}

/// Tokens/s of decoding without a cache: each new token is the last position of a forward pass
/// over the whole `context + step` tokens. Few steps, as each costs a prefill.
fn decode_uncached(model: &Model, config: &ModelConfig, batch: usize, context: usize, device: &Device) -> f64 {
    const STEPS: usize = 3;
    let start = Instant::now();
    for step in 0..STEPS {
        let len = context + step + 1;
        let h = prefill(model, config, batch, len, &mut KvCache::new(config.num_hidden_layers), device);
        let last = h.slice([0..batch, len - 1..len]);
        let _ = model.logits(last).into_data();
    }
    (batch * STEPS) as f64 / start.elapsed().as_secs_f64()
}

/// Timed training steps per measurement (after one untimed warm-up step); the median counts.
const TRAIN_STEPS: usize = 3;

/// Tokens/s of one forward + backward of the mean next-token loss, the LM head a chunk at a time as `cir-train sft`
/// trains ([`cir_trainer::head::score_and_backward`]); median of [`TRAIN_STEPS`].
fn train(model: &Model, config: &ModelConfig, batch: usize, seq: usize, device: &Device) -> f64 {
    let (input, targets) = next_tokens(batch, seq, config, device);
    let n = targets.len();
    let weights = Tensor::<1>::full([n], -1.0 / n as f64, device).inner();
    let mut times: Vec<f64> = (0..=TRAIN_STEPS)
        .map(|_| {
            let start = Instant::now();
            let hidden = model.forward_hidden(input.clone(), config).reshape([n, config.hidden_size]);
            let mut grad = |_: Tensor<1>, r: std::ops::Range<usize>| weights.clone().slice(r);
            let (_, head_grads) = head::score_and_backward(model, hidden.clone(), &targets, &mut grad);
            let grads = head::surrogate(model, hidden, head_grads).backward();
            let _ = model.embed_tokens.weight.grad(&grads).map(|g| g.into_data());
            start.elapsed().as_secs_f64()
        })
        .skip(1)
        .collect();
    times.sort_by(f64::total_cmp);
    (batch * seq) as f64 / times[TRAIN_STEPS / 2]
}

/// The first `seq` of `batch` rows of `seq + 1` ids, and the `batch × seq` ids that follow each.
fn next_tokens(batch: usize, seq: usize, config: &ModelConfig, device: &Device) -> (Tensor<2, Int>, Vec<u32>) {
    let all = id_values(batch, seq + 1, config.vocab_size);
    let input = ids(batch, seq + 1, config.vocab_size, device).slice([0..batch, 0..seq]);
    let targets =
        (0..batch).flat_map(|r| all[r * (seq + 1) + 1..(r + 1) * (seq + 1)].to_vec()).map(|t| t as u32).collect();
    (input, targets)
}

/// Tokens/s of scoring: the log-prob of every next token of `batch` rows of `seq + 1` ids, one forward with no cache
/// and no gradient and the LM head a chunk at a time ([`cir_trainer::head::score`]); median of [`TRAIN_STEPS`].
fn prefill_logprobs(model: &Model, config: &ModelConfig, batch: usize, seq: usize, device: &Device) -> f64 {
    let (input, targets) = next_tokens(batch, seq, config, device);
    let mut times: Vec<f64> = (0..=TRAIN_STEPS)
        .map(|_| {
            let start = Instant::now();
            let hidden = model.forward_hidden(input.clone(), config).reshape([batch * seq, config.hidden_size]);
            let _ = head::score(model, hidden, &targets).log_probs.into_data();
            start.elapsed().as_secs_f64()
        })
        .skip(1)
        .collect();
    times.sort_by(f64::total_cmp);
    (batch * seq) as f64 / times[TRAIN_STEPS / 2]
}

/// The RL stage's batch, which `trainer/scripts/bench_torch.py` builds the same way: `batch` rows of `seq + 1` ids
/// (so `seq` tokens go through the model), a 64-token prompt, in the response a 32-token tool output (loss mask 0;
/// in the whitening statistics, as the reference's response mask has it) after the first 32 sampled tokens; groups
/// of 4 rollouts with rewards `+1` where `(row * 5) % 3 == 0`, else `−1`; old log-probs = the model's own plus
/// `0.3 · sin(k)` at response token `k`, so ratios move off 1 and both clip sides bind somewhere.
fn rl_rows(model: &Model, config: &ModelConfig, batch: usize, seq: usize, device: &Device) -> Vec<TrainRow> {
    const PROMPT: usize = 64;
    let ids = id_values(batch, seq + 1, config.vocab_size);
    let response = seq + 1 - PROMPT;
    let tool = |k: usize| (32..64).contains(&k);
    let mut rows: Vec<TrainRow> = (0..batch)
        .map(|r| TrainRow {
            ids: ids[r * (seq + 1)..(r + 1) * (seq + 1)].iter().map(|&i| i as u32).collect(),
            prompt_len: PROMPT,
            loss_mask: (0..response).map(|k| if tool(k) { 0.0 } else { 1.0 }).collect(),
            whiten_mask: vec![1.0; response],
            old_logprobs: vec![0.0; response],
            sampled: (0..response).map(|k| !tool(k)).collect(),
            reward: if (r * 5) % 3 == 0 { 1.0 } else { -1.0 },
            group: format!("g{}", r / 4),
        })
        .collect();
    let own = recompute_logprobs(model, config, &rows, usize::MAX, device);
    for (row, lp) in rows.iter_mut().zip(own) {
        row.old_logprobs = lp.iter().enumerate().map(|(k, v)| v + 0.3 * (k as f32).sin()).collect();
    }
    rows
}

/// Tokens/s of one RL update (median of [`TRAIN_STEPS`] after a warm-up) and the first update's policy loss and
/// clip fraction (`bench_torch.py` prints the same two, a check that both sides compute one objective).
fn rl(mut model: Model, config: &ModelConfig, batch: usize, seq: usize, device: &Device) -> (f64, [f32; 2]) {
    let rows = rl_rows(&model, config, batch, seq, device);
    let rl_config = RlConfig::default();
    let mut optim = rl_config.optim.optimizer();
    let order: Vec<usize> = (0..batch).collect();
    let mut first_loss = None;
    let mut times = Vec::new();
    for _ in 0..=TRAIN_STEPS {
        let start = Instant::now();
        let (next, stats) = update(model, config, &mut optim, &rows, &order, &rl_config, None, device);
        times.push(start.elapsed().as_secs_f64());
        model = next;
        first_loss.get_or_insert([stats.pg_loss, stats.clipfrac]);
    }
    let mut timed = times.split_off(1);
    timed.sort_by(f64::total_cmp);
    ((batch * seq) as f64 / timed[TRAIN_STEPS / 2], first_loss.unwrap_or([f32::NAN; 2]))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let device = Device::flex();
    let open = |device: &Device| match args.first() {
        Some(path) => {
            let loaded = load(&PathBuf::from(path), device).expect("model loads");
            (loaded.config, loaded.model, path.clone())
        }
        None => {
            let config = ModelConfig::tiny(32_000, 256, 4);
            let model = config.init(device);
            (config, model, "random-10M".to_owned())
        }
    };
    let (config, model, name) = open(&device);
    let stages: Vec<String> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        ["decode:1:128", "decode:8:128", "decode:1:2048", "train:8:256"].map(String::from).to_vec()
    };
    for stage in stages {
        let parts: Vec<&str> = stage.split(':').collect();
        let (kind, batch, len) = match parts.as_slice() {
            [k, b, l] => (*k, b.parse().expect("batch"), l.parse().expect("length")),
            _ => panic!("stage {stage:?}: expected decode:B:L, nocache:B:L, prefill:B:L, train:B:L or rl:B:L"),
        };
        // Parameters created on an autodiff device are tracked.
        let ad = device.clone().autodiff();
        let (tps, loss) = match kind {
            "decode" => (decode(&model, &config, batch, len, &device), None),
            "nocache" => (decode_uncached(&model, &config, batch, len, &device), None),
            "prefill" => (prefill_logprobs(&model, &config, batch, len, &device), None),
            "train" => (train(&open(&ad).1, &config, batch, len, &ad), None),
            "rl" => {
                let (tps, loss) = rl(open(&ad).1, &config, batch, len, &ad);
                (tps, Some(loss))
            }
            other => panic!("unknown stage {other}"),
        };
        let mut line = serde_json::json!({"impl": "burn-flex", "model": name, "stage": kind, "batch": batch,
                                          "length": len, "tokens_per_s": (tps * 100.0).round() / 100.0});
        if let Some([loss, clipfrac]) = loss {
            line["pg_loss"] = serde_json::json!(loss);
            line["pg_clipfrac"] = serde_json::json!(clipfrac);
        }
        println!("{line}");
    }
}
