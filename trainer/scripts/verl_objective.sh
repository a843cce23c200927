#!/usr/bin/env bash
# Regenerates trainer/tests/fixtures/objective/verl.json: verl's own advantage estimators, PPO policy loss,
# k3 KL and entropy on seeded random cases (see verl_objective.py). CI does not run this; the output is committed.
#   bash trainer/scripts/verl_objective.sh
# The throwaway virtualenv lives in ${XDG_CACHE_HOME:-$HOME/.cache}/cir-ci/verl-$VERL (kept for the next run; safe
# to delete). It holds verl installed with --no-deps (it depends on Ray, transformers, datasets, peft, wandb, ...
# none of which the objective needs) plus torch and numpy. PyPI's Linux torch wheel brings the CUDA libraries
# (~5 GB installed); everything here runs on the CPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERL=0.9.1
TORCH=2.15.0
NUMPY=2.4.6
venv="${XDG_CACHE_HOME:-$HOME/.cache}/cir-ci/verl-$VERL"
if [ ! -f "$venv/.installed" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "torch==$TORCH" "numpy==$NUMPY"
    "$venv/bin/pip" install -q --no-deps "verl==$VERL"
    touch "$venv/.installed"
fi
"$venv/bin/python" trainer/scripts/verl_objective.py
