#!/usr/bin/env bash
# Compatibility test with a client no one here wrote: the official `openai` Python client (pinned) against
# `cir-train serve` on the built-in SmolLM2-135M-Instruct. Needs the built binary ($CARGO_TARGET_DIR/release/cir-train,
# default target/) and python3 with venv.
set -euo pipefail
cd "$(dirname "$0")/../../.."
exec .ci/python-client.sh openai==3.57.0 openai trainer/tests/openai/client.py \
  -- "${CARGO_TARGET_DIR:-target}/release/cir-train" serve --model smollm2-135m --port 0
