#!/usr/bin/env bash
# Compatibility test with a client no one here wrote: PyPI `sandbox-fusion` (pinned) against `cir-eval serve`.
# Needs the built binary ($CARGO_TARGET_DIR/release/cir-eval, default target/) and python3 with venv.
set -euo pipefail
cd "$(dirname "$0")/../../.."
exec .ci/python-client.sh sandbox-fusion==0.3.7 sandbox_fusion evaluator/tests/sandbox_fusion/client.py \
  -- "${CARGO_TARGET_DIR:-target}/release/cir-eval" serve --port 0
