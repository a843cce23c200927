"""Prints every crate in wasmtime's dependency tree with the features cargo resolves for it, for a `cargo tree`
package selection (`--workspace`, or `-p cir-python` as maturin builds it). When the two differ, the maturin build
compiles wasmtime and cranelift a second time; `test.sh` compares them before building, so a difference fails on
any machine, not only on one whose cache lacks the second build.

    python3 wasmtime_features.py --workspace
"""
import re
import subprocess
import sys

tree = subprocess.run(
    ["cargo", "tree", *sys.argv[1:], "-e", "normal,build", "-f", "{p} [{f}]", "--prefix", "depth",
     "--target", "x86_64-unknown-linux-gnu", "--no-dedupe"],
    capture_output=True, text=True, check=True,
).stdout
crates, root = set(), None
for line in tree.splitlines():
    m = re.match(r"(\d+)(.*)", line)
    if not m:
        continue
    depth, crate = int(m.group(1)), m.group(2).replace(" (proc-macro)", "")
    if root is not None and depth <= root:
        root = None
    if root is None and re.match(r"wasmtime v\d", crate):
        root = depth
    if root is not None:
        crates.add(crate)
if not crates:
    sys.exit("wasmtime is not in the tree of " + " ".join(sys.argv[1:]))
print("\n".join(sorted(crates)))
