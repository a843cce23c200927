//! The Qwen2 / Qwen3 / Llama decoder, as Hugging Face transformers defines it.
//!
//! Each layer is written as Config → `init` → Module → `forward`. Weights come either from
//! random initialisation (`init`) or from a [`WeightSource`] (`load`), a safetensors checkpoint
//! or a GGUF file, under the Hugging Face names (`model.layers.0.self_attn.q_proj.weight`).
//! Linear weights are kept as burn stores them, `[d_in, d_out]`; the loaders transpose
//! Hugging Face's `[d_out, d_in]` one tensor at a time.

use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, RmsNorm, RmsNormConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::{silu, softmax};

use crate::attention::{AttentionMask, attention_mask};
use crate::cache::{KvCache, LayerCache};
use crate::config::ModelConfig;
use crate::device::is_cpu;
use crate::error::{Error, Result};

/// Where [`Model::load`] takes its weights from, by Hugging Face name.
pub trait WeightSource {
    /// The tensor `name` as f32 in row-major order with Hugging Face's shape, which must be
    /// `shape`; `Ok(None)` when the checkpoint does not have it.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::UnsupportedDtype`] or a read error.
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Option<Vec<f32>>>;
}

fn required(source: &mut dyn WeightSource, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    source.take(name, shape)?.ok_or_else(|| Error::MissingTensor(name.to_owned()))
}

/// Transposes a row-major `[rows, cols]` matrix.
pub(crate) fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = data[r * cols + c];
        }
    }
    out
}

fn load_linear(
    source: &mut dyn WeightSource,
    prefix: &str,
    d_in: usize,
    d_out: usize,
    bias: bool,
    device: &Device,
) -> Result<Linear> {
    let w = required(source, &format!("{prefix}.weight"), &[d_out, d_in])?;
    // [d_out, d_in] (Hugging Face) -> [d_in, d_out] (burn).
    let w = transpose(&w, d_out, d_in);
    let weight = Tensor::<2>::from_data(TensorData::new(w, [d_in, d_out]), device);
    let bias = if bias {
        let b = required(source, &format!("{prefix}.bias"), &[d_out])?;
        Some(Param::from_tensor(Tensor::<1>::from_data(TensorData::new(b, [d_out]), device)))
    } else {
        None
    };
    Ok(Linear { weight: Param::from_tensor(weight), bias })
}

fn load_norm(source: &mut dyn WeightSource, name: &str, d: usize, eps: f64, device: &Device) -> Result<RmsNorm> {
    let g = required(source, name, &[d])?;
    Ok(RmsNorm { gamma: Param::from_tensor(Tensor::<1>::from_data(TensorData::new(g, [d]), device)), epsilon: eps })
}

/// Rotary-embedding tables for one forward call: `cos` and `sin` of every (row, position).
#[derive(Debug, Clone)]
pub struct Rope {
    /// `[batch, 1, seq, head_dim]`
    cos: Tensor<4>,
    /// `[batch, 1, seq, head_dim]`
    sin: Tensor<4>,
}

impl Rope {
    /// Builds the tables for the given positions (one row of `seq` positions per batch row),
    /// the way Hugging Face's default rotary embedding computes them (f32,
    /// `inv_freq = 1 / theta^(2i/d)`, the two halves repeated).
    ///
    /// # Shapes
    /// - positions: `batch` rows of `seq` positions each
    pub fn new(positions: &[Vec<usize>], head_dim: usize, theta: f64, device: &Device) -> Self {
        let batch = positions.len();
        let seq = positions.first().map_or(0, Vec::len);
        let half = head_dim / 2;
        let inv_freq: Vec<f32> =
            (0..half).map(|i| 1.0 / (theta as f32).powf((2 * i) as f32 / head_dim as f32)).collect();
        let mut cos = Vec::with_capacity(batch * seq * head_dim);
        let mut sin = Vec::with_capacity(batch * seq * head_dim);
        for row in positions {
            for &p in row {
                for _half in 0..2 {
                    for f in &inv_freq {
                        let angle = p as f32 * f;
                        cos.push(angle.cos());
                        sin.push(angle.sin());
                    }
                }
            }
        }
        let shape = [batch, 1, seq, head_dim];
        Self {
            cos: Tensor::from_data(TensorData::new(cos, shape), device),
            sin: Tensor::from_data(TensorData::new(sin, shape), device),
        }
    }

    /// Rotates `x` by its positions (`x * cos + rotate_half(x) * sin`).
    ///
    /// # Shapes
    /// - x: `[batch, heads, seq, head_dim]`
    /// - output: `[batch, heads, seq, head_dim]`
    fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, _, d] = x.dims();
        let x1 = x.clone().narrow(3, 0, d / 2);
        let x2 = x.clone().narrow(3, d / 2, d / 2);
        let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
        x * self.cos.clone() + rotated * self.sin.clone()
    }

    /// Rotates the heads of `x` by their positions and moves the heads before the positions; on the CPU in one
    /// operation (see [`crate::cpu_ops`]).
    ///
    /// # Shapes
    /// - x: `[batch, seq, heads, head_dim]`
    /// - output: `[batch, heads, seq, head_dim]`
    fn heads_first(&self, x: Tensor<4>) -> Tensor<4> {
        #[cfg(feature = "flex")]
        if fused_on_cpu(&x) {
            return crate::cpu_ops::rope_heads_first(x, self.cos.clone(), self.sin.clone());
        }
        self.apply(x.swap_dims(1, 2))
    }
}

/// Configuration of [`Attention`].
#[derive(Debug, Clone)]
pub struct AttentionConfig {
    /// Model width.
    pub d_model: usize,
    /// Query heads.
    pub n_heads: usize,
    /// Key/value heads; divides `n_heads`.
    pub n_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Biases on q/k/v (Qwen2).
    pub bias: bool,
    /// RMSNorm on each query and key head before the rotary embedding (Qwen3).
    pub qk_norm: bool,
    /// Epsilon of the q/k norms.
    pub norm_eps: f64,
}

impl AttentionConfig {
    /// Random initialisation.
    pub fn init(&self, device: &Device) -> Attention {
        let lin = |i, o, b| LinearConfig::new(i, o).with_bias(b).init(device);
        let (d, h, kv, hd) = (self.d_model, self.n_heads, self.n_kv_heads, self.head_dim);
        let norm = || self.qk_norm.then(|| RmsNormConfig::new(hd).with_epsilon(self.norm_eps).init(device));
        Attention {
            q_proj: lin(d, h * hd, self.bias),
            k_proj: lin(d, kv * hd, self.bias),
            v_proj: lin(d, kv * hd, self.bias),
            o_proj: lin(h * hd, d, false),
            q_norm: norm(),
            k_norm: norm(),
            n_heads: h,
            n_kv_heads: kv,
            head_dim: hd,
        }
    }

    fn load(&self, source: &mut dyn WeightSource, prefix: &str, device: &Device) -> Result<Attention> {
        let (d, h, kv, hd) = (self.d_model, self.n_heads, self.n_kv_heads, self.head_dim);
        let norm = |source: &mut dyn WeightSource, name: &str| -> Result<Option<RmsNorm>> {
            if !self.qk_norm {
                return Ok(None);
            }
            load_norm(source, &format!("{prefix}.{name}.weight"), hd, self.norm_eps, device).map(Some)
        };
        Ok(Attention {
            q_proj: load_linear(source, &format!("{prefix}.q_proj"), d, h * hd, self.bias, device)?,
            k_proj: load_linear(source, &format!("{prefix}.k_proj"), d, kv * hd, self.bias, device)?,
            v_proj: load_linear(source, &format!("{prefix}.v_proj"), d, kv * hd, self.bias, device)?,
            o_proj: load_linear(source, &format!("{prefix}.o_proj"), h * hd, d, false, device)?,
            q_norm: norm(source, "q_norm")?,
            k_norm: norm(source, "k_norm")?,
            n_heads: h,
            n_kv_heads: kv,
            head_dim: hd,
        })
    }
}

/// Grouped-query self-attention with rotary embeddings.
#[derive(Module, Debug)]
pub struct Attention {
    /// Query projection.
    pub q_proj: Linear,
    /// Key projection.
    pub k_proj: Linear,
    /// Value projection.
    pub v_proj: Linear,
    /// Output projection.
    pub o_proj: Linear,
    /// Per-head query norm (Qwen3), over `head_dim`.
    pub q_norm: Option<RmsNorm>,
    /// Per-head key norm (Qwen3), over `head_dim`.
    pub k_norm: Option<RmsNorm>,
    n_heads: usize,
    n_kv_heads: usize,
    head_dim: usize,
}

impl Attention {
    /// Attends from the new positions to everything cached plus themselves, appending the new
    /// keys and values to `cache`.
    ///
    /// # Shapes
    /// - x: `[batch, seq, d_model]`
    /// - mask: of `seq` positions after `cache_len` ones
    /// - output: `[batch, seq, d_model]`
    fn forward(&self, x: Tensor<3>, rope: &Rope, mask: &AttentionMask, cache: &mut LayerCache) -> Tensor<3> {
        let [b, s, _] = x.dims();
        let (h, kv, hd) = (self.n_heads, self.n_kv_heads, self.head_dim);
        let groups = h / kv;
        #[cfg(feature = "flex")]
        let x_is_tracked = x.is_autodiff();
        // [b, s, h*hd] -> [b, s, h, hd] -> rotated, [b, h, s, hd]
        let [q, k, v] = project_each([&self.q_proj, &self.k_proj, &self.v_proj], x);
        let q = q.reshape([b, s, h, hd]);
        let q = rope.heads_first(match &self.q_norm {
            Some(norm) => normalise(norm, q),
            None => q,
        });
        // [b, s, kv*hd] -> [b, s, kv, hd] -> rotated, [b, kv, s, hd]
        let k = k.reshape([b, s, kv, hd]);
        let k = rope.heads_first(match &self.k_norm {
            Some(norm) => normalise(norm, k),
            None => k,
        });
        let v = v.reshape([b, s, kv, hd]).swap_dims(1, 2);
        let (k, v) = cache.append(k, v);
        #[cfg(feature = "flex")]
        if is_cpu(&q.device()) {
            if let (false, Some((k, v))) = (x_is_tracked, cache.buffers()) {
                return project(&self.o_proj, crate::attention::cached_on_cpu(q, k, v, mask));
            }
            if s > 1 {
                return project(&self.o_proj, crate::attention::causal_on_cpu(q, k, v, mask));
            }
        }
        let total = k.dims()[2];
        // Query head i uses kv head i / groups: group the query heads under their kv head
        // instead of repeating the keys. [b, h, s, hd] -> [b, kv, groups*s, hd]
        let q = q.reshape([b, kv, groups * s, hd]);
        let scores = q.matmul(k.swap_dims(2, 3)) * (1.0 / (hd as f64).sqrt());
        // [b, kv, groups*s, total] -> [b, kv, groups, s, total]
        let scores = scores.reshape([b, kv, groups, s, total]) + mask.additive().clone().unsqueeze_dim::<5>(2);
        // [b, kv, groups, s, total] -> [b, kv, groups*s, total]
        let probs = softmax(scores, 4).reshape([b, kv, groups * s, total]);
        // [b, kv, groups*s, hd] -> [b, h, s, hd] -> [b, s, h, hd] -> [b, s, h*hd]
        let out = probs.matmul(v).reshape([b, h, s, hd]).swap_dims(1, 2).reshape([b, s, h * hd]);
        project(&self.o_proj, out)
    }
}

/// `linear.forward(x)`, on the CPU through [`cpu_product`].
///
/// # Shapes
/// - x: `[batch, seq, d_in]`
/// - output: `[batch, seq, d_out]`
fn project(linear: &Linear, x: Tensor<3>) -> Tensor<3> {
    match cpu_product(&x, &linear.weight.val()) {
        Some(y) => with_bias(linear, y),
        None => linear.forward(x),
    }
}

/// `y` plus `linear`'s bias, if it has one: what `linear.forward` adds to the product.
fn with_bias(linear: &Linear, y: Tensor<3>) -> Tensor<3> {
    match &linear.bias {
        Some(bias) => y + bias.val().unsqueeze(),
        None => y,
    }
}

/// `linear.forward(x)` for each of `linears`, which read the same `x`: on a decode step's rows as one call over all
/// their output columns ([`few_row_products`]), so the threads meet once rather than once per product (SmolLM2's
/// layers at 2 rows: 25 → 21 ms a step in the scratch harness); elsewhere [`project`] each.
///
/// # Shapes
/// - x: `[batch, seq, d_in]`
/// - output: `[batch, seq, d_out]` for each linear
fn project_each<const N: usize>(linears: [&Linear; N], x: Tensor<3>) -> [Tensor<3>; N] {
    let [b, s, _] = x.dims();
    let weights = linears.map(|l| l.weight.val());
    let Some(ys) = few_row_products(&x, weights.each_ref(), false) else {
        return linears.map(|l| project(l, x.clone()));
    };
    let mut ys = ys.into_iter();
    linears.map(|l| with_bias(l, ys.next().expect("one product per linear").reshape([b, s, l.weight.dims()[1]])))
}

/// `x · w` (`w` of `[d_in, d_out]`) by the CPU's own paths: a decode step's rows through [`decode_product`], other
/// products as one operation of our own ([`crate::cpu_ops::linear`]); `None` elsewhere.
///
/// # Shapes
/// - x: `[batch, seq, d_in]`
/// - output: `[batch, seq, d_out]`
fn cpu_product(x: &Tensor<3>, w: &Tensor<2>) -> Option<Tensor<3>> {
    let [b, s, _] = x.dims();
    if let Some(y) = decode_product(x, w, false) {
        let d_out = y.dims()[1];
        return Some(y.reshape([b, s, d_out]));
    }
    #[cfg(feature = "flex")]
    if fused_on_cpu(x) {
        return Some(crate::cpu_ops::linear(x.clone(), w.clone()));
    }
    None
}

/// `x · w` for the rows of an untracked decode step on the CPU (`w` of `[d_in, d_out]`, or `[d_out, d_in]` when
/// `transposed`); `None` elsewhere, where the general product runs. One row by a weight of [`SPLIT`] entries:
/// `gemm`'s matrix-vector product over one block of the output columns per thread (`gemm` runs one row on the
/// calling thread whatever parallelism it is asked for, so a decode step of one sequence ran every product of the
/// model on one core). Otherwise up to [`crate::few_rows::MAX_ROWS`] rows: [`few_row_products`].
///
/// # Shapes
/// - x: `[..., d_in]`, `rows` vectors
/// - output: `[rows, d_out]`
fn decode_product<const D: usize>(x: &Tensor<D>, w: &Tensor<2>, transposed: bool) -> Option<Tensor<2>> {
    let d_in = x.dims()[D - 1];
    let rows = x.shape().num_elements() / d_in;
    let d_out = w.dims()[usize::from(!transposed)];
    if rows == 1 && untracked_on_cpu(x, &[w]) && d_in * d_out >= SPLIT && rayon::current_num_threads() > 1 {
        let x = x.clone().reshape([1, d_in]);
        let w_cols = |cols| {
            if transposed { w.clone().slice([cols, 0..d_in]).transpose() } else { w.clone().slice([0..d_in, cols]) }
        };
        return Some(in_column_blocks(d_out, |cols| x.clone().matmul(w_cols(cols))));
    }
    few_row_products(x, [w], transposed).map(|[y]| y)
}

/// `x · w` for each of `weights` (each `[d_in, d_out]`, or `[d_out, d_in]` when `transposed`) through
/// [`crate::few_rows`], which reads the weights in place where `gemm` would copy them into its panels on every call:
/// for up to [`crate::few_rows::MAX_ROWS`] rows of an untracked `x` on a CPU with the kernels, the output columns of
/// all the weights split over the threads at once when the products take [`SPLIT`] multiply-adds together; `None`
/// elsewhere.
///
/// # Shapes
/// - x: `[..., d_in]`, `rows` vectors
/// - output: `[rows, d_out]` for each weight
#[cfg_attr(not(feature = "flex"), allow(unused_variables))]
fn few_row_products<const D: usize, const N: usize>(
    x: &Tensor<D>,
    weights: [&Tensor<2>; N],
    transposed: bool,
) -> Option<[Tensor<2>; N]> {
    #[cfg(feature = "flex")]
    {
        use crate::cpu_ops::host;
        use crate::few_rows::{MAX_ROWS, Weight, products};
        let d_in = x.dims()[D - 1];
        let rows = x.shape().num_elements() / d_in;
        if !(1..=MAX_ROWS).contains(&rows) || !untracked_on_cpu(x, &weights) {
            return None;
        }
        let outputs = weights.map(|w| w.dims()[usize::from(!transposed)]);
        let split = rows * d_in * outputs.iter().sum::<usize>() >= SPLIT;
        let threads = if split { rayon::current_num_threads() } else { 1 };
        let hosts = weights.map(|w| host(w.clone()));
        let weights: Vec<Weight> = hosts
            .iter()
            .zip(outputs)
            .map(|(w, d_out)| match transposed {
                true => Weight::outputs_by_inputs(w, d_in, d_out),
                false => Weight::inputs_by_outputs(w, d_in, d_out),
            })
            .collect();
        let ys = products(&host(x.clone()), rows, &weights, threads)?;
        let ys = ys
            .into_iter()
            .zip(outputs)
            .map(|(y, d_out)| Tensor::from_data(TensorData::new(y, [rows, d_out]), &x.device()));
        ys.collect::<Vec<_>>().try_into().ok()
    }
    #[cfg(not(feature = "flex"))]
    None
}

/// Whether `x` and `weights` are burn-flex's tensors outside autodiff: what the decode steps' own products take.
fn untracked_on_cpu<const D: usize>(x: &Tensor<D>, weights: &[&Tensor<2>]) -> bool {
    !x.is_autodiff() && weights.iter().all(|w| !w.is_autodiff()) && is_cpu(&x.device())
}

/// Multiply-adds from which [`decode_product`] and [`few_row_products`] split over the threads. Below it the hand-off
/// to the second thread costs what it saves: one row by the 11M bench model's layers (65k–197k weights) split ran
/// decode at 0.8×; with the few-row products, from 2²⁰ `decode:2:128` ran at 0.87× PyTorch and `decode:4:128` below
/// it, from 2¹⁸ (2 rows by a `256 × 768` weight split, by a `256 × 256` one not) both level, `decode:8:128` unchanged
/// (best of alternating runs). A merged call counts its products together: the 11M model's query, key and value
/// projections at 2 rows (2 · 256 · 512 = 2¹⁸) split as one call, `decode:2:128` 784–841 → 1089–1240 tokens/s with the
/// pool kept awake (PyTorch 596–625).
const SPLIT: usize = 1 << 18;

/// Whether a forward pass over `tokens` is a decode step on the CPU: no more tokens than [`crate::few_rows`] takes
/// as one product (one or a few new tokens per sequence).
#[cfg_attr(not(feature = "flex"), allow(unused_variables))]
fn is_decode_step_on_cpu(tokens: &Tensor<2, Int>) -> bool {
    #[cfg(feature = "flex")]
    return is_cpu(&tokens.device()) && tokens.shape().num_elements() <= crate::few_rows::MAX_ROWS;
    #[cfg(not(feature = "flex"))]
    return false;
}

/// `[1, n]` from `product(cols)` over one block of the `n` output columns per thread, in parallel, concatenated.
fn in_column_blocks(n: usize, product: impl Fn(std::ops::Range<usize>) -> Tensor<2> + Sync) -> Tensor<2> {
    use rayon::prelude::*;
    let threads = rayon::current_num_threads().min(n).max(1);
    let blocks: Vec<Tensor<2>> =
        (0..threads).into_par_iter().map(|t| product(t * n / threads..(t + 1) * n / threads)).collect();
    Tensor::cat(blocks, 1)
}

/// Whether `x` goes through one of the CPU's own operations ([`crate::cpu_ops`]): on burn-flex, in training, or
/// from [`crate::cpu_ops::TASK`] elements. Below that burn-flex's ops run on the calling thread, where ours would hand
/// the work to rayon's pool and wait for it (the 11M model's one-row decode steps: 15% slower).
#[cfg(feature = "flex")]
fn fused_on_cpu<const D: usize>(x: &Tensor<D>) -> bool {
    is_cpu(&x.device()) && (x.is_autodiff() || x.shape().num_elements() >= crate::cpu_ops::TASK)
}

/// `norm.forward(x)`, on the CPU as one operation (see [`crate::cpu_ops`]).
fn normalise<const D: usize>(norm: &RmsNorm, x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if fused_on_cpu(&x) {
        return crate::cpu_ops::rms_norm(x, norm.gamma.val(), norm.epsilon);
    }
    norm.forward(x)
}

/// Configuration of [`Mlp`].
#[derive(Debug, Clone)]
pub struct MlpConfig {
    /// Model width.
    pub d_model: usize,
    /// Hidden width.
    pub d_ff: usize,
}

impl MlpConfig {
    /// Random initialisation.
    pub fn init(&self, device: &Device) -> Mlp {
        let lin = |i, o| LinearConfig::new(i, o).with_bias(false).init(device);
        Mlp {
            gate_proj: lin(self.d_model, self.d_ff),
            up_proj: lin(self.d_model, self.d_ff),
            down_proj: lin(self.d_ff, self.d_model),
        }
    }

    fn load(&self, source: &mut dyn WeightSource, prefix: &str, device: &Device) -> Result<Mlp> {
        let (d, f) = (self.d_model, self.d_ff);
        Ok(Mlp {
            gate_proj: load_linear(source, &format!("{prefix}.gate_proj"), d, f, false, device)?,
            up_proj: load_linear(source, &format!("{prefix}.up_proj"), d, f, false, device)?,
            down_proj: load_linear(source, &format!("{prefix}.down_proj"), f, d, false, device)?,
        })
    }
}

/// The SwiGLU feed-forward block: `down(silu(gate(x)) * up(x))`.
#[derive(Module, Debug)]
pub struct Mlp {
    /// Gate projection.
    pub gate_proj: Linear,
    /// Up projection.
    pub up_proj: Linear,
    /// Down projection.
    pub down_proj: Linear,
}

impl Mlp {
    /// # Shapes
    /// - x: `[batch, seq, d_model]`
    /// - output: `[batch, seq, d_model]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [gate, up] = project_each([&self.gate_proj, &self.up_proj], x);
        #[cfg(feature = "flex")]
        if fused_on_cpu(&gate) {
            return project(&self.down_proj, crate::cpu_ops::swiglu(gate, up));
        }
        project(&self.down_proj, silu(gate) * up)
    }
}

/// One pre-norm decoder layer.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// Norm before attention.
    pub input_layernorm: RmsNorm,
    /// Self-attention.
    pub self_attn: Attention,
    /// Norm before the MLP.
    pub post_attention_layernorm: RmsNorm,
    /// Feed-forward block.
    pub mlp: Mlp,
}

impl DecoderLayer {
    /// # Shapes
    /// - x: `[batch, seq, d_model]`
    /// - output: `[batch, seq, d_model]`
    fn forward(&self, x: Tensor<3>, rope: &Rope, mask: &AttentionMask, cache: &mut LayerCache) -> Tensor<3> {
        let h = x.clone() + self.self_attn.forward(normalise(&self.input_layernorm, x), rope, mask, cache);
        h.clone() + self.mlp.forward(normalise(&self.post_attention_layernorm, h))
    }
}

/// The causal language model: embedding, decoder layers, final norm, LM head.
#[derive(Module, Debug)]
pub struct Model {
    /// Token embedding `[vocab, d_model]`.
    pub embed_tokens: Embedding,
    /// Decoder layers.
    pub layers: Vec<DecoderLayer>,
    /// Final norm.
    pub norm: RmsNorm,
    /// Untied LM head (`None`: the embedding is reused).
    pub lm_head: Option<Linear>,
}

impl ModelConfig {
    fn attention(&self) -> AttentionConfig {
        AttentionConfig {
            d_model: self.hidden_size,
            n_heads: self.num_attention_heads,
            n_kv_heads: self.num_key_value_heads,
            head_dim: self.head_dim,
            bias: self.attention_bias,
            qk_norm: self.architecture.qk_norm(),
            norm_eps: self.rms_norm_eps,
        }
    }

    fn mlp(&self) -> MlpConfig {
        MlpConfig { d_model: self.hidden_size, d_ff: self.intermediate_size }
    }

    /// A randomly initialised model of this shape.
    pub fn init(&self, device: &Device) -> Model {
        let norm = || RmsNormConfig::new(self.hidden_size).with_epsilon(self.rms_norm_eps).init(device);
        Model {
            embed_tokens: EmbeddingConfig::new(self.vocab_size, self.hidden_size).init(device),
            layers: (0..self.num_hidden_layers)
                .map(|_| DecoderLayer {
                    input_layernorm: norm(),
                    self_attn: self.attention().init(device),
                    post_attention_layernorm: norm(),
                    mlp: self.mlp().init(device),
                })
                .collect(),
            norm: norm(),
            lm_head: (!self.tie_word_embeddings)
                .then(|| LinearConfig::new(self.hidden_size, self.vocab_size).with_bias(false).init(device)),
        }
    }

    /// Loads the weights from `source`, one tensor at a time (peak memory: the model plus one
    /// tensor).
    ///
    /// # Errors
    /// [`Error::MissingTensor`] or [`Error::ShapeMismatch`] naming the offending tensor, or the
    /// source's read error.
    pub fn load(&self, source: &mut dyn WeightSource, device: &Device) -> Result<Model> {
        self.validate()?;
        let (v, d, eps) = (self.vocab_size, self.hidden_size, self.rms_norm_eps);
        let emb = required(source, "model.embed_tokens.weight", &[v, d])?;
        let embed_tokens =
            Embedding { weight: Param::from_tensor(Tensor::from_data(TensorData::new(emb, [v, d]), device)) };
        let mut layers = Vec::with_capacity(self.num_hidden_layers);
        for i in 0..self.num_hidden_layers {
            let p = format!("model.layers.{i}");
            layers.push(DecoderLayer {
                input_layernorm: load_norm(source, &format!("{p}.input_layernorm.weight"), d, eps, device)?,
                self_attn: self.attention().load(source, &format!("{p}.self_attn"), device)?,
                post_attention_layernorm: load_norm(
                    source,
                    &format!("{p}.post_attention_layernorm.weight"),
                    d,
                    eps,
                    device,
                )?,
                mlp: self.mlp().load(source, &format!("{p}.mlp"), device)?,
            });
        }
        let norm = load_norm(source, "model.norm.weight", d, eps, device)?;
        let lm_head =
            if self.tie_word_embeddings { None } else { Some(load_linear(source, "lm_head", d, v, false, device)?) };
        Ok(Model { embed_tokens, layers, norm, lm_head })
    }
}

/// The log-probability of each target token under `logits` (log-softmax over the vocabulary,
/// taken at the target), which a policy-gradient objective differentiates. Computed as
/// `logit[target] - logsumexp(logits)`: the full log-softmax is never materialised, which saves a
/// pass over the `[batch, seq, vocab]` logits forward and backward.
///
/// # Shapes
/// - logits: `[batch, seq, vocab]`
/// - targets: `[batch, seq]`
/// - output: `[batch, seq]`
pub fn token_log_probs(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<2> {
    let max = logits.clone().detach().max_dim(2);
    let shifted = logits - max;
    let log_z = shifted.clone().exp().sum_dim(2).log();
    (shifted.gather(2, targets.unsqueeze_dim(2)) - log_z).squeeze_dim(2)
}

/// Runs `work` on one of rayon's threads while the others poll for its parallel jobs, for a decode step on the CPU.
/// Called from outside the pool, each parallel product would hand its work to the pool and put the caller to sleep
/// until it is done (two thread switches per product, 200 a SmolLM2 step); from inside, the caller takes its share
/// and the others steal. Left alone, they fall asleep in the gaps between the products (a norm, a residual add) and
/// each product then waits for one to wake: ~50 µs on this VM, a sixth of the time of SmolLM2's 2-row query, key and
/// value projections. Polling, they stay awake until `work` returns (or panics: the scope waits for its pollers before
/// it passes the panic on).
///
/// The pollers are queued on the owner's thread before any job of `work`, and other threads steal the oldest job
/// first, so none of `work`'s jobs leaves the owner's queue while a poller is still in it; a poller the owner pops
/// itself (while it waits inside `work`) returns at once, as polling there would wait for the `work` below it on the
/// same stack.
fn with_the_pool_awake<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    use std::sync::atomic::{AtomicBool, Ordering};
    struct Done<'a>(&'a AtomicBool);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let done = &AtomicBool::new(false);
    rayon::scope(|scope| {
        let owner = rayon::current_thread_index();
        for _ in 1..rayon::current_num_threads() {
            scope.spawn(move |_| {
                while rayon::current_thread_index() != owner && !done.load(Ordering::Relaxed) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        std::hint::spin_loop();
                    }
                }
            });
        }
        let _done = Done(done);
        work()
    })
}

impl Model {
    /// Runs the decoder over new tokens and returns the final hidden states (before the LM
    /// head), appending to `cache`.
    ///
    /// # Shapes
    /// - tokens: `[batch, seq]`
    /// - mask: of `seq` positions after `cache_len` ones (see [`attention_mask`])
    /// - output: `[batch, seq, d_model]`
    pub fn hidden(&self, tokens: Tensor<2, Int>, rope: &Rope, mask: &AttentionMask, cache: &mut KvCache) -> Tensor<3> {
        if cache.layers.len() != self.layers.len() {
            *cache = KvCache::new(self.layers.len());
        }
        let step = is_decode_step_on_cpu(&tokens);
        let run = move || {
            let mut x = self.embed_tokens.forward(tokens);
            for (layer, c) in self.layers.iter().zip(cache.layers_mut()) {
                x = layer.forward(x, rope, mask, c);
            }
            normalise(&self.norm, x)
        };
        // Longer inputs stay on the caller's thread, whose allocations glibc serves from its own arena: on a worker, a
        // training step's activations faulted in twice the fresh pages (SmolLM2 `rl:8:256` 254 → 234 tokens/s).
        if step && rayon::current_thread_index().is_none() { with_the_pool_awake(run) } else { run() }
    }

    /// The LM head: hidden states to logits.
    ///
    /// # Shapes
    /// - hidden: `[batch, seq, d_model]`
    /// - output: `[batch, seq, vocab]`
    pub fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        match &self.lm_head {
            Some(head) => project(head, hidden),
            None => {
                let [b, s, d] = hidden.dims();
                // [b, s, d] -> [b*s, d] @ [d, vocab] -> [b, s, vocab]
                let w = self.embed_tokens.weight.val();
                let vocab = w.dims()[0];
                if let Some(logits) = decode_product(&hidden, &w, true) {
                    return logits.reshape([b, s, vocab]);
                }
                let hidden = hidden.reshape([b * s, d]);
                hidden.matmul(w.transpose()).reshape([b, s, vocab])
            }
        }
    }

    /// Full-sequence final hidden states with no padding and no cache: the training / scoring forward, before
    /// the LM head ([`crate::head`] takes it from there).
    ///
    /// # Shapes
    /// - tokens: `[batch, seq]`
    /// - output: `[batch, seq, d_model]`
    pub fn forward_hidden(&self, tokens: Tensor<2, Int>, config: &ModelConfig) -> Tensor<3> {
        let [b, s] = tokens.dims();
        let device = tokens.device();
        let positions = vec![(0..s).collect::<Vec<_>>(); b];
        let rope = Rope::new(&positions, config.head_dim, config.rope_theta, &device);
        let mask = attention_mask(&vec![vec![true; s]; b], 0, s, &device);
        let mut cache = KvCache::new(self.layers.len());
        self.hidden(tokens, &rope, &mask, &mut cache)
    }

    /// Full-sequence logits with no padding and no cache.
    ///
    /// # Shapes
    /// - tokens: `[batch, seq]`
    /// - output: `[batch, seq, vocab]`
    pub fn forward(&self, tokens: Tensor<2, Int>, config: &ModelConfig) -> Tensor<3> {
        self.logits(self.forward_hidden(tokens, config))
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;

    #[test]
    fn cpu_attention_kernels_match_the_materialised_scores_with_padding_and_a_cache() {
        let config = ModelConfig::tiny(97, 32, 2);
        let tracked = config.init(&Device::flex().autodiff());
        let plain = tracked.valid();
        // Two rows, row 0 left-padded by 3, and one row: the plain model's prefill of 9 positions and its 2 cached
        // one-token steps take the CPU kernel over the cache's whole buffers (grown by doubling, or a reservation of
        // 16 or 64 positions, the spare room unread), the tracked model's steps the materialised scores. Then
        // prefills of several kernel blocks, the second after 70 cached positions.
        let short = [(0, 9), (9, 1), (10, 1)];
        for reserve in [0, 16, 64] {
            for valid in [vec![(0..11).map(|j| j >= 3).collect(), vec![true; 11]], vec![vec![true; 11]]] {
                assert_same_hidden(&tracked, &plain, &config, &valid, &short, reserve);
            }
        }
        let valid = vec![(0..150).map(|j| j >= 3).collect(), vec![true; 150]];
        assert_same_hidden(&tracked, &plain, &config, &valid, &[(0, 70), (70, 79), (149, 1)], 0);
    }

    #[test]
    fn rotated_heads_and_their_gradient_match_the_tensor_ops() {
        let device = Device::flex().autodiff();
        let (b, s, h, hd) = (2, 7, 3, 8);
        // Row 1 left-padded: positions that differ per row.
        let positions = vec![(0..s).collect::<Vec<_>>(), (0..s).map(|p: usize| p.saturating_sub(2)).collect()];
        let rope = Rope::new(&positions, hd, 10_000.0, &device);
        let values: Vec<f32> = (0..b * s * h * hd).map(|i| ((i * 7919 % 1009) as f32 / 504.5 - 1.0) * 3.0).collect();
        let weights: Vec<f32> = (0..b * h * s * hd).map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0).collect();
        let run = |fused: bool| {
            let x = Tensor::<4>::from_data(TensorData::new(values.clone(), [b, s, h, hd]), &device).require_grad();
            let out = if fused { rope.heads_first(x.clone()) } else { rope.apply(x.clone().swap_dims(1, 2)) };
            let w = Tensor::<4>::from_data(TensorData::new(weights.clone(), [b, h, s, hd]), &device);
            let grads = (out.clone() * w).sum().backward();
            let grad = x.grad(&grads).expect("∂x");
            [out.try_into_vec_as::<f32>().unwrap(), grad.try_into_vec_as::<f32>().unwrap()]
        };
        let (got, want) = (run(true), run(false));
        for (name, (g, w)) in ["output", "∂x"].iter().zip(got.iter().zip(&want)) {
            for (k, (a, e)) in g.iter().zip(w).enumerate() {
                assert!((a - e).abs() <= 1e-6 * (1.0 + e.abs()), "{name} {k}: {a} vs {e}");
            }
        }
    }

    #[test]
    fn products_split_over_the_threads_match_the_tracked_ones() {
        // d 512: the query projection (512 × 512), the key and value projections (512 × 256 each) and the head
        // (600 × 512) are large enough to be split, one row at a time and three (the query, key and value
        // projections as one call). On rayon's pool with the others polling, and inside a pool of three threads,
        // whose shares of the merged calls are cut inside the weights (the query's at 344, the key's at 176).
        let config = ModelConfig::tiny(600, 512, 1);
        let tracked = config.init(&Device::flex().autodiff());
        let plain = tracked.valid();
        let steps = [(0, 10), (10, 1), (11, 1)];
        assert_same_hidden(&tracked, &plain, &config, &[vec![true; 12]], &steps, 0);
        assert_same_hidden(&tracked, &plain, &config, &vec![vec![true; 12]; 3], &steps, 0);
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().expect("a pool of three threads");
        three.install(|| assert_same_hidden(&tracked, &plain, &config, &vec![vec![true; 12]; 3], &steps, 0));
    }

    #[test]
    fn a_panic_in_a_decode_step_reaches_the_caller() {
        // The pollers stop when the step unwinds: the scope waits for them before it passes the panic on.
        let caught = std::panic::catch_unwind(|| with_the_pool_awake(|| panic!("inside the step")));
        assert!(caught.is_err());
        assert_eq!(with_the_pool_awake(|| 7), 7);
    }

    #[test]
    fn few_row_products_match_the_tracked_ones() {
        // The decode steps' products of 1 to 16 rows take `few_rows` (one group of eight rows, then two); the
        // prefill's 33 and 66 rows the general product.
        let config = ModelConfig::tiny(97, 32, 2);
        let tracked = config.init(&Device::flex().autodiff());
        let plain = tracked.valid();
        let mut valid = vec![vec![true; 8]; 11];
        valid[4] = (0..8).map(|j| j >= 2).collect();
        assert_same_hidden(&tracked, &plain, &config, &valid, &[(0, 6), (6, 1), (7, 1)], 0);
        assert_same_hidden(&tracked, &plain, &config, &valid[..3], &[(0, 5), (5, 2), (7, 1)], 0);
    }

    fn assert_same_hidden(
        tracked: &Model,
        plain: &Model,
        config: &ModelConfig,
        valid: &[Vec<bool>],
        steps: &[(usize, usize)],
        reserve: usize,
    ) {
        let ad = tracked.embed_tokens.weight.val().device();
        let rows = valid.len();
        let run = |model: &Model, device: &Device| {
            let mut cache = KvCache::with_capacity(model.layers.len(), reserve);
            let mut out = Vec::new();
            for &(past, seq) in steps {
                let ids: Vec<i64> = (0..rows * seq).map(|i| ((i * 31 + past * 7) % 97) as i64).collect();
                let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids, [rows, seq]), device);
                let positions: Vec<Vec<usize>> = valid
                    .iter()
                    .map(|v| (past..past + seq).map(|p: usize| p.saturating_sub(3 * usize::from(!v[0]))).collect())
                    .collect();
                let rope = Rope::new(&positions, config.head_dim, config.rope_theta, device);
                let mask = attention_mask(valid, past, seq, device);
                let hidden = model.hidden(tokens, &rope, &mask, &mut cache);
                out.extend(hidden.clone().try_into_vec_as::<f32>().unwrap());
                out.extend(model.logits(hidden).try_into_vec_as::<f32>().unwrap());
            }
            out
        };
        let (want, got) = (run(tracked, &ad), run(plain, &Device::flex()));
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() < 1e-4 * (1.0 + w.abs()), "hidden or logit value {k}: {g} vs {w}");
        }
    }
}
