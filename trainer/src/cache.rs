//! The key/value cache: what makes each generated token cost one position's work, kept per batch while a batch
//! decodes, and per row between the turns of a multi-turn rollout (a tool call's feedback is then prefilled on top
//! of the row's cache instead of recomputing its whole context).

use burn::prelude::*;
use burn::tensor::TensorData;

/// The keys and values one attention layer has seen so far, in a buffer with room to grow:
/// appending writes in place (no copy of the past), so a generated token costs the same work
/// at any position apart from attention itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerCache {
    /// `[batch, kv_heads, capacity, head_dim]`; positions `0..len` are filled.
    k: Option<Tensor<4>>,
    /// `[batch, kv_heads, capacity, head_dim]`
    v: Option<Tensor<4>>,
    /// Positions filled.
    len: usize,
    /// Positions to allocate at the first append; 0: exactly what arrives, then doubling.
    reserve: usize,
}

impl LayerCache {
    /// Appends `k`/`v` and returns everything cached so far.
    ///
    /// # Shapes
    /// - k, v: `[batch, kv_heads, seq, head_dim]`
    /// - output: two `[batch, kv_heads, len + seq, head_dim]`
    pub(crate) fn append(&mut self, k: Tensor<4>, v: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let [b, kv, s, hd] = k.dims();
        let end = self.len + s;
        let (kb, vb) = match (self.k.take(), self.v.take()) {
            (Some(kb), Some(vb)) if end <= kb.dims()[2] => {
                // In place: `take` left the buffers uniquely owned.
                let range = [0..b, 0..kv, self.len..end, 0..hd];
                (kb.slice_assign(range.clone(), k), vb.slice_assign(range, v))
            }
            (None, None) if self.reserve <= end => (k, v),
            (old_k, old_v) => {
                // Grow to the reservation, or double: amortised O(1) copies per token.
                let capacity = old_k.as_ref().map_or(0, |t| t.dims()[2]);
                let new_cap = end.max(self.reserve).max(2 * capacity);
                let device = k.device();
                let len = self.len;
                let grow = |old: Option<Tensor<4>>, new: Tensor<4>| {
                    let mut fresh = Tensor::<4>::zeros([b, kv, new_cap, hd], &device);
                    if let Some(old) = old.filter(|_| len > 0) {
                        let filled = old.slice([0..b, 0..kv, 0..len, 0..hd]);
                        fresh = fresh.slice_assign([0..b, 0..kv, 0..len, 0..hd], filled);
                    }
                    fresh.slice_assign([0..b, 0..kv, len..end, 0..hd], new)
                };
                (grow(old_k, k), grow(old_v, v))
            }
        };
        self.len = end;
        let view_k = kb.clone().slice([0..b, 0..kv, 0..end, 0..hd]);
        let view_v = vb.clone().slice([0..b, 0..kv, 0..end, 0..hd]);
        self.k = Some(kb);
        self.v = Some(vb);
        (view_k, view_v)
    }

    /// The whole buffers behind the last [`LayerCache::append`]'s views, unfilled positions included: a view of the
    /// filled positions is strided across heads, and a kernel that reads it in place skips the spare room instead
    /// of copying the view whole.
    ///
    /// # Shapes
    /// - output: two `[batch, kv_heads, capacity, head_dim]`
    #[cfg(feature = "flex")]
    pub(crate) fn buffers(&self) -> Option<(Tensor<4>, Tensor<4>)> {
        Some((self.k.clone()?, self.v.clone()?))
    }
}

/// A per-layer key/value cache for a batch: every row has the same number of positions (rows are left-padded; the
/// attention mask hides the padding).
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    pub(crate) layers: Vec<LayerCache>,
}

impl KvCache {
    /// An empty cache for `layers` decoder layers.
    pub fn new(layers: usize) -> Self {
        Self::with_capacity(layers, 0)
    }

    /// An empty cache that allocates room for `positions` positions (prompt + new tokens) at
    /// the first append, so that generation never regrows it.
    pub fn with_capacity(layers: usize, positions: usize) -> Self {
        let layer = LayerCache { reserve: positions, ..LayerCache::default() };
        Self { layers: vec![layer; layers] }
    }

    /// Number of positions cached (0 when empty).
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, |l| l.len)
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps only the batch rows in `rows` (in that order), for when some sequences finish.
    pub fn select_rows(&mut self, rows: &[usize], device: &Device) {
        let index = Tensor::<1, Int>::from_data(
            TensorData::new(rows.iter().map(|&r| r as i64).collect(), [rows.len()]),
            device,
        );
        for layer in &mut self.layers {
            layer.k = layer.k.take().map(|k| k.select(0, index.clone()));
            layer.v = layer.v.take().map(|v| v.select(0, index.clone()));
        }
    }
}

impl KvCache {
    pub(crate) fn layers_mut(&mut self) -> impl Iterator<Item = &mut LayerCache> {
        self.layers.iter_mut()
    }

    /// A batch cache assembled from per-row caches, each left-padded with zeros to the longest (`len` positions, the
    /// padding hidden by the caller's mask), in a buffer with room for `reserve` positions in all. A row without a
    /// cache is all padding.
    ///
    /// # Shapes
    /// - each row cache layer: two `[1, kv_heads, row_len, head_dim]`
    pub(crate) fn from_rows(rows: &[Option<&RowCache>], layers: usize, reserve: usize, device: &Device) -> KvCache {
        let len = rows.iter().map(|r| r.map_or(0, RowCache::len)).max().unwrap_or(0);
        if len == 0 {
            return KvCache::with_capacity(layers, reserve);
        }
        let Some(shape) = rows.iter().flatten().find_map(|r| r.layers.first().map(|(k, _)| k.dims())) else {
            return KvCache::with_capacity(layers, reserve);
        };
        let [_, kv, _, hd] = shape;
        let capacity = reserve.max(len);
        let b = rows.len();
        let layers = (0..layers)
            .map(|layer| {
                let mut k = Tensor::<4>::zeros([b, kv, capacity, hd], device);
                let mut v = Tensor::<4>::zeros([b, kv, capacity, hd], device);
                for (row, cache) in rows.iter().enumerate() {
                    let Some(cache) = cache else { continue };
                    let (rk, rv) = &cache.layers[layer];
                    let at = len - cache.len();
                    let range = [row..row + 1, 0..kv, at..len, 0..hd];
                    k = k.slice_assign(range.clone(), rk.clone());
                    v = v.slice_assign(range, rv.clone());
                }
                LayerCache { k: Some(k), v: Some(v), len, reserve: capacity }
            })
            .collect();
        KvCache { layers }
    }

    /// Row `slot`'s cache, keeping only the positions where `valid` is true (its real tokens, without padding),
    /// labelled with the ids those positions hold.
    pub(crate) fn row(&self, slot: usize, valid: &[bool], ids: Vec<u32>, device: &Device) -> RowCache {
        let keep: Vec<i64> = valid.iter().enumerate().filter(|(_, v)| **v).map(|(i, _)| i as i64).collect();
        let index = Tensor::<1, Int>::from_data(TensorData::new(keep.clone(), [keep.len()]), device);
        let layers = self
            .layers
            .iter()
            .filter_map(|l| {
                let (k, v) = (l.k.as_ref()?, l.v.as_ref()?);
                let [_, kv, _, hd] = k.dims();
                let take =
                    |t: &Tensor<4>| t.clone().slice([slot..slot + 1, 0..kv, 0..l.len, 0..hd]).select(2, index.clone());
                Some((take(k), take(v)))
            })
            .collect();
        RowCache { ids, layers }
    }
}

/// One row's cache between turns: the keys and values of `ids`, per layer.
#[derive(Debug, Clone)]
pub struct RowCache {
    /// The token ids the cache holds, in order.
    pub(crate) ids: Vec<u32>,
    /// Per layer, `[1, kv_heads, ids.len(), head_dim]` keys and values.
    pub(crate) layers: Vec<(Tensor<4>, Tensor<4>)>,
}

impl RowCache {
    /// Positions cached.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// How many leading tokens of `context` this cache holds: its length when its ids are a strict prefix of
    /// `context` (at least one token must be left to feed), else 0.
    pub fn reusable_for(&self, context: &[u32]) -> usize {
        if self.ids.len() < context.len() && context.starts_with(&self.ids) { self.ids.len() } else { 0 }
    }
}
