//! Embeds the browser viewer for `cir-eval view`: every file of `web/app/dist` (kept in the repository; rebuilt by
//! `web/test.sh` or `npm run build` in `web/app`) becomes an `include_bytes!` entry of `$OUT_DIR/viewer_assets.rs`.
//! Without a built `dist` the table is empty and `cir-eval view` says how to build it; nothing else depends on it.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let dist = Path::new(&manifest).join("../web/app/dist");
    // A directory makes cargo rescan every file below it. Without a dist, watch web/app (a missing path would rerun
    // this script, and rebuild cir-eval, on every build) so that a dist built later is picked up.
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        println!("cargo:rerun-if-changed={}", dist.display());
        collect(&dist, &mut files);
    } else {
        println!("cargo:rerun-if-changed={}", Path::new(&manifest).join("../web/app").display());
    }
    files.sort();
    let mut code = String::from("/// The viewer's files: (path below `dist/` with `/` separators, contents).\n");
    code.push_str("pub(crate) static ASSETS: &[(&str, &[u8])] = &[\n");
    for file in &files {
        let rel = file.strip_prefix(&dist).map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default();
        let abs = file.canonicalize().unwrap_or_else(|_| file.clone());
        code.push_str(&format!("    ({rel:?}, include_bytes!({:?})),\n", abs.to_string_lossy()));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("viewer_assets.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("writing {}: {e}", out.display());
    }
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.is_file() {
            files.push(path);
        }
    }
}
