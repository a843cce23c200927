#!/usr/bin/env bash
# Exec latency before and after a change, side by side in one run: benches/exec.rs (this tree's copy, so both sides
# run the same snippets) is built against COMMIT and against this tree, then the two latency tables run alternately,
# ROUNDS times each (default 3), and every row is printed with the round it came from.
# Usage: runtime/benches/before-after.sh COMMIT [ROUNDS]   (from anywhere in the clone; uses $CARGO_TARGET_DIR)
# Both trees build into the same target folder, where their workspace crates have the same artifact names: the
# current tree's sources are touched after the old build, so that cargo rebuilds them over the old artifacts.
set -euo pipefail
base=${1:?usage: runtime/benches/before-after.sh COMMIT [ROUNDS]}
rounds=${2:-3}
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$root" archive "$base" | tar -x -C "$work"
cp "$root/runtime/benches/exec.rs" "$work/runtime/benches/exec.rs"

# The bench executable of the tree at $1 (cargo names it after a hash; its JSON messages say which).
bench_binary() {
  (cd "$1" && cargo build --release -p cir-runtime --bench exec --message-format json 2>/dev/null) \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "exec":
        print(m["executable"])'
}
cp "$(bench_binary "$work")" "$work/exec-before"
find "$root" -path "$root/target" -prune -o -name '*.rs' -exec touch {} +
cp "$(bench_binary "$root")" "$work/exec-after"

echo "before: $(git -C "$root" log -1 --format='%h %s' "$base" | cut -c1-100)"
echo "after:  $(git -C "$root" log -1 --format='%h %s' | cut -c1-100)$(git -C "$root" diff --quiet || echo ' (+ uncommitted changes)')"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores $(uname -m), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| round | runtime | snippet | runs | median ms | p90 ms |"
echo "| --- | --- | --- | --- | --- | --- |"
for round in $(seq "$rounds"); do
  for side in before after; do
    CIR_BENCH_LATENCY_ONLY=1 CIR_BENCH_LABEL="$side" "$work/exec-$side" | sed "s/^| /| $round | /"
  done
done | tee "$work/rows"
echo
echo "Median over the rounds of each row's median (ms):"
echo
python3 - "$work/rows" <<'SUMMARY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    side, mode = cells[1].split(" ", 1)
    rows[(mode, cells[2])].append((side, float(cells[4])))
print("| instance | snippet | before | after | after / before |")
print("| --- | --- | --- | --- | --- |")
for (mode, snippet), values in rows.items():
    median = {side: statistics.median(v for s, v in values if s == side) for side in ("before", "after")}
    print(f"| {mode.strip('()')} | {snippet} | {median['before']:.2f} | {median['after']:.2f} | "
          f"{median['after'] / median['before']:.2f} |")
SUMMARY
