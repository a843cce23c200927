"""Shared fixtures: the repository's paths, the built cir-eval binary, and two sandboxes (loading one takes seconds,
so each is made once per test session)."""

import os
import pathlib
import shutil

import pytest

import cir

ROOT = pathlib.Path(__file__).resolve().parents[3]
CASES = ROOT.parent / "shared" / "verifier-cases"


@pytest.fixture(scope="session")
def cir_eval() -> pathlib.Path:
    """The built `cir-eval` binary ($CIR_EVAL, else $CARGO_TARGET_DIR/release/cir-eval, else target/release)."""
    candidates = [os.environ.get("CIR_EVAL")]
    candidates.append(str(pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "cir-eval"))
    candidates.append(shutil.which("cir-eval"))
    for c in candidates:
        if c and pathlib.Path(c).is_file():
            return pathlib.Path(c)
    pytest.fail("cir-eval is not built: run `cargo build --release -p cir-eval` or set CIR_EVAL")


@pytest.fixture(scope="session")
def sandbox() -> cir.Sandbox:
    """A sandbox with the default limits."""
    sb = cir.Sandbox()
    sb.prepare()
    return sb


@pytest.fixture(scope="session")
def tight() -> cir.Sandbox:
    """A sandbox with small limits: 1 s, 256 MiB, 4 KiB of output, no echo."""
    sb = cir.Sandbox(timeout=1.0, memory_mib=256, output_limit=4096, echo=False)
    sb.prepare()
    return sb
