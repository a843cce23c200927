#!/usr/bin/env bash
# Builds the Python package `cir` with maturin and runs its pytest suite, in a throwaway virtualenv under the cache
# dir (PyPI maturin and pytest, pinned; CI reuses it). Needs the workspace built first ($CARGO_TARGET_DIR/release
# holds cir-eval, whose `grade --cases` verdicts the tests compare with) and the interpreter prepared in $CIR_HOME
# (`cir-eval setup`).
#
# The maturin build shares cargo's target directory with the workspace build, so it compiles only this crate and
# pyo3. It fails when a crate in wasmtime's tree resolves other features under `-p cir-python` than in the workspace
# (`wasmtime_features.py`; see `[dependencies]` in Cargo.toml), and when the build recompiles wasmtime or cranelift
# anyway: either costs CI minutes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/cir-ci/python-venv"
maturin_version=1.16.0
pytest_version=9.2.0

if ! "$venv/bin/maturin" --version 2>/dev/null | grep -qx "maturin $maturin_version" \
  || ! "$venv/bin/python" -m pytest --version 2>/dev/null | grep -q " $pytest_version\$"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "maturin==$maturin_version" "pytest==$pytest_version"
fi

wheels=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$wheels" "$log"' EXIT
if ! diff <(cd "$root" && python3 "$here/wasmtime_features.py" --workspace) \
          <(cd "$root" && python3 "$here/wasmtime_features.py" -p cir-python); then
  echo "error: wasmtime's tree has other features under \`-p cir-python\` than in the workspace build (above: < the" \
    "workspace, > the maturin build), so maturin would compile wasmtime/cranelift again; align them in" \
    "bindings/python/Cargo.toml" >&2
  exit 1
fi
(cd "$here" && "$venv/bin/maturin" build --release --out "$wheels") 2>&1 | tee "$log"
if grep -E '^\s*Compiling (wasmtime|cranelift-codegen) v' "$log"; then
  echo "error: the maturin build recompiled wasmtime/cranelift although wasmtime_features.py found the same" \
    "features: compare the profile and RUSTFLAGS of the two builds" >&2
  exit 1
fi
"$venv/bin/pip" install --quiet --force-reinstall --no-deps "$wheels"/*.whl

CIR_EVAL="$target/release/cir-eval" "$venv/bin/python" -m pytest "$here/tests" -q -p no:cacheprovider "$@"
