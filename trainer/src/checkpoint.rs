//! Hugging Face checkpoints: `config.json` plus `model.safetensors` (or shards listed in
//! `model.safetensors.index.json`), read one tensor at a time and written back the same way.
//!
//! The safetensors format is an 8-byte little-endian header length, a JSON header mapping
//! each name to `{dtype, shape, data_offsets}`, then the raw little-endian data. Reading seeks
//! to each tensor instead of loading the file, so loading holds the model plus one tensor.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::model::{Model, WeightSource, transpose};

/// Largest safetensors header accepted: 100 MB, the limit the reference implementation uses.
const MAX_HEADER: u64 = 100_000_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

/// One opened safetensors file: its header and where the data starts.
struct Shard {
    path: PathBuf,
    file: File,
    data_start: u64,
    entries: HashMap<String, Entry>,
}

impl Shard {
    fn open(path: &Path) -> Result<Self> {
        let mut file = File::open(path).map_err(Error::io(path))?;
        let file_len = file.metadata().map_err(Error::io(path))?.len();
        let mut len = [0u8; 8];
        file.read_exact(&mut len).map_err(Error::io(path))?;
        let header_len = u64::from_le_bytes(len);
        if header_len > MAX_HEADER || header_len + 8 > file_len {
            return Err(Error::format(path, format!("header length {header_len} is impossible")));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header).map_err(Error::io(path))?;
        let raw: HashMap<String, serde_json::Value> =
            serde_json::from_slice(&header).map_err(|source| Error::Json { path: path.to_owned(), source })?;
        let data_start = 8 + header_len;
        let mut entries = HashMap::new();
        for (name, value) in raw {
            if name == "__metadata__" {
                continue;
            }
            let entry: Entry =
                serde_json::from_value(value).map_err(|source| Error::Json { path: path.to_owned(), source })?;
            let [start, end] = entry.data_offsets;
            if start > end || data_start + end > file_len {
                return Err(Error::format(path, format!("tensor {name:?} lies outside the file")));
            }
            entries.insert(name, entry);
        }
        Ok(Self { path: path.to_owned(), file, data_start, entries })
    }

    fn read(&mut self, name: &str, entry: &Entry) -> Result<Vec<f32>> {
        let [start, end] = entry.data_offsets;
        let count: usize = entry.shape.iter().product();
        let width = match entry.dtype.as_str() {
            "F32" => 4,
            "F16" | "BF16" => 2,
            other => {
                return Err(Error::UnsupportedDtype { name: name.to_owned(), dtype: other.to_owned() });
            }
        };
        if (end - start) as usize != count * width {
            return Err(Error::format(
                &self.path,
                format!("tensor {name:?} has {} bytes for {count} {} values", end - start, entry.dtype),
            ));
        }
        self.file.seek(SeekFrom::Start(self.data_start + start)).map_err(Error::io(&self.path))?;
        let mut bytes = vec![0u8; count * width];
        self.file.read_exact(&mut bytes).map_err(Error::io(&self.path))?;
        let values = match entry.dtype.as_str() {
            "F32" => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            "F16" => bytes.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            _ => bytes.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        };
        Ok(values)
    }
}

/// A safetensors checkpoint (one file or several shards) as a [`WeightSource`].
pub struct Safetensors {
    shards: Vec<Shard>,
    /// Tensor name → index into `shards`.
    index: HashMap<String, usize>,
}

impl Safetensors {
    /// Opens `dir/model.safetensors`, or the shards named by `dir/model.safetensors.index.json`.
    ///
    /// # Errors
    /// [`Error::Io`] when neither file exists, [`Error::Format`]/[`Error::Json`] for a malformed
    /// header or index.
    pub fn open_dir(dir: &Path) -> Result<Self> {
        let single = dir.join("model.safetensors");
        let index_path = dir.join("model.safetensors.index.json");
        let files: Vec<PathBuf> = if single.exists() {
            vec![single]
        } else if index_path.exists() {
            #[derive(Deserialize)]
            struct Index {
                weight_map: BTreeMap<String, String>,
            }
            let text = std::fs::read_to_string(&index_path).map_err(Error::io(&index_path))?;
            let index: Index =
                serde_json::from_str(&text).map_err(|source| Error::Json { path: index_path.clone(), source })?;
            let mut names: Vec<String> = index.weight_map.into_values().collect();
            names.sort();
            names.dedup();
            names.into_iter().map(|n| dir.join(n)).collect()
        } else {
            return Err(Error::Io {
                path: single,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "neither model.safetensors nor model.safetensors.index.json exists",
                ),
            });
        };
        let mut shards = Vec::with_capacity(files.len());
        let mut index = HashMap::new();
        for (i, path) in files.iter().enumerate() {
            let shard = Shard::open(path)?;
            for name in shard.entries.keys() {
                index.insert(name.clone(), i);
            }
            shards.push(shard);
        }
        Ok(Self { shards, index })
    }
}

impl WeightSource for Safetensors {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Option<Vec<f32>>> {
        let Some(&i) = self.index.get(name) else {
            return Ok(None);
        };
        let shard = &mut self.shards[i];
        let Some(entry) = shard.entries.get(name).cloned() else {
            return Ok(None);
        };
        if entry.shape != shape {
            return Err(Error::ShapeMismatch { name: name.to_owned(), expected: shape.to_vec(), found: entry.shape });
        }
        shard.read(name, &entry).map(Some)
    }
}

/// Loads `dir/config.json` and the safetensors weights beside it.
///
/// # Errors
/// See [`ModelConfig::from_hf_file`], [`Safetensors::open_dir`] and [`ModelConfig::load`].
pub fn load_hf_dir(dir: &Path, device: &Device) -> Result<(ModelConfig, Model)> {
    let config = ModelConfig::from_hf_file(&dir.join("config.json"))?;
    let mut source = Safetensors::open_dir(dir)?;
    let model = config.load(&mut source, device)?;
    Ok((config, model))
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.try_into_vec_as::<f32>().map_err(|e| Error::Device(format!("{e:?}")))
}

/// One tensor to write: Hugging Face name, shape, and how to get its values.
type Pending<'a> = (String, Vec<usize>, Box<dyn FnOnce() -> Result<Vec<f32>> + 'a>);

/// Writes `config.json` and `model.safetensors` (f32) into `dir`, under the Hugging Face
/// names, so that transformers and vLLM load the checkpoint. Tensors are read back from the
/// device one at a time.
///
/// # Errors
/// [`Error::Io`] when the directory or files cannot be written, [`Error::Device`] when a
/// tensor cannot be read back.
pub fn save_hf_dir(dir: &Path, config: &ModelConfig, model: &Model) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let config_path = dir.join("config.json");
    let json = serde_json::to_string_pretty(&config.to_hf_json())
        .map_err(|source| Error::Json { path: config_path.clone(), source })?;
    std::fs::write(&config_path, json).map_err(Error::io(&config_path))?;

    let mut pending: Vec<Pending<'_>> = Vec::new();
    let linear = |pending: &mut Vec<Pending<'_>>, name: String, l: &burn::nn::Linear| {
        let [d_in, d_out] = l.weight.dims();
        let w = l.weight.val();
        pending.push((
            format!("{name}.weight"),
            vec![d_out, d_in],
            Box::new(move || Ok(transpose(&to_vec(w)?, d_in, d_out))),
        ));
        if let Some(b) = &l.bias {
            let b = b.val();
            pending.push((format!("{name}.bias"), vec![d_out], Box::new(move || to_vec(b))));
        }
    };
    let vector = |pending: &mut Vec<Pending<'_>>, name: String, t: Tensor<1>| {
        let dims = t.dims().to_vec();
        pending.push((name, dims, Box::new(move || to_vec(t))));
    };
    let emb = model.embed_tokens.weight.val();
    pending.push(("model.embed_tokens.weight".into(), emb.dims().to_vec(), Box::new(move || to_vec(emb))));
    for (i, layer) in model.layers.iter().enumerate() {
        let p = format!("model.layers.{i}");
        vector(&mut pending, format!("{p}.input_layernorm.weight"), layer.input_layernorm.gamma.val());
        let a = &layer.self_attn;
        linear(&mut pending, format!("{p}.self_attn.q_proj"), &a.q_proj);
        linear(&mut pending, format!("{p}.self_attn.k_proj"), &a.k_proj);
        linear(&mut pending, format!("{p}.self_attn.v_proj"), &a.v_proj);
        linear(&mut pending, format!("{p}.self_attn.o_proj"), &a.o_proj);
        for (name, norm) in [("q_norm", &a.q_norm), ("k_norm", &a.k_norm)] {
            if let Some(norm) = norm {
                vector(&mut pending, format!("{p}.self_attn.{name}.weight"), norm.gamma.val());
            }
        }
        vector(
            &mut pending,
            format!("{p}.post_attention_layernorm.weight"),
            layer.post_attention_layernorm.gamma.val(),
        );
        linear(&mut pending, format!("{p}.mlp.gate_proj"), &layer.mlp.gate_proj);
        linear(&mut pending, format!("{p}.mlp.up_proj"), &layer.mlp.up_proj);
        linear(&mut pending, format!("{p}.mlp.down_proj"), &layer.mlp.down_proj);
    }
    vector(&mut pending, "model.norm.weight".into(), model.norm.gamma.val());
    if let Some(head) = &model.lm_head {
        linear(&mut pending, "lm_head".into(), head);
    }

    // Header first (offsets follow from the shapes), then the data in the same order.
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!({ "format": "pt" }));
    let mut offset = 0u64;
    for (name, shape, _) in &pending {
        let bytes = 4 * shape.iter().product::<usize>() as u64;
        let entry = Entry { dtype: "F32".into(), shape: shape.clone(), data_offsets: [offset, offset + bytes] };
        let value = serde_json::to_value(entry)
            .map_err(|source| Error::Json { path: dir.join("model.safetensors"), source })?;
        header.insert(name.clone(), value);
        offset += bytes;
    }
    let mut header =
        serde_json::to_vec(&header).map_err(|source| Error::Json { path: dir.join("model.safetensors"), source })?;
    // The data must start 8-byte aligned: pad the header with spaces.
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let path = dir.join("model.safetensors");
    let mut out = BufWriter::new(File::create(&path).map_err(Error::io(&path))?);
    out.write_all(&(header.len() as u64).to_le_bytes())
        .and_then(|()| out.write_all(&header))
        .map_err(Error::io(&path))?;
    for (_, _, values) in pending {
        let values = values()?;
        for v in values {
            out.write_all(&v.to_le_bytes()).map_err(Error::io(&path))?;
        }
    }
    out.flush().map_err(Error::io(&path))?;
    Ok(())
}
