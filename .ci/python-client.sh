#!/usr/bin/env bash
# Runs a Python client no one here wrote against one of our servers:
#   .ci/python-client.sh PACKAGE==VERSION MODULE CLIENT_SCRIPT -- SERVER_COMMAND...
# PACKAGE==VERSION goes into a virtualenv under the user cache dir (reused while MODULE imports); SERVER_COMMAND
# (listening on port 0) is started, its URL read from its "listening on http://…" line on stderr (it may first
# compile or download for up to 600 s), CLIENT_SCRIPT run with the URL, and the server stopped on exit.
set -euo pipefail
[ $# -ge 5 ] && [ "$4" = "--" ] || { echo "usage: $0 PACKAGE==VERSION MODULE CLIENT_SCRIPT -- SERVER_COMMAND..." >&2; exit 2; }
package=$1 module=$2 client=$3
shift 4
venv="${XDG_CACHE_HOME:-$HOME/.cache}/cir-ci/${package/==/-}"
if ! "$venv/bin/python" -c "import $module" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "$package"
fi

log=$(mktemp)
"$@" 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 600); do
  grep -q 'listening on' "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "$1 exited before listening" >&2; exit 1; }
  sleep 1
done
url=$(grep -o 'listening on http://[^ ]*' "$log" | head -n1 | cut -d' ' -f3)
[ -n "$url" ] || { cat "$log"; echo "$1 did not start listening in 600 s" >&2; exit 1; }
"$venv/bin/python" "$client" "$url"
