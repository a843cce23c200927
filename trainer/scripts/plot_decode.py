"""Plots decode throughput against context length from the JSON lines of trainer/scripts/bench.sh
(both implementations), as a standalone SVG: log2 context on x, log10 tokens/s on y, one line per
implementation x batch x (cached | uncached). Standard library only.

    python plot_decode.py RESULTS.jsonl OUT.svg
"""

import json
import math
import sys

W, H, LEFT, RIGHT, TOP, BOTTOM = 760, 460, 70, 230, 40, 50
COLORS = {"burn-flex": "#d62728", "torch": "#1f77b4"}
DASHES = {1: "", 8: "6 4"}


def series(path):
    lines = {}
    with open(path) as f:
        for raw in f:
            raw = raw.strip()
            if not raw.startswith("{"):
                continue
            r = json.loads(raw)
            if r["stage"] not in ("decode", "nocache"):
                continue
            impl = "torch" if r["impl"].startswith("torch") else r["impl"]
            lines.setdefault((impl, r["batch"], r["stage"]), []).append((r["length"], r["tokens_per_s"]))
    return {k: sorted(v) for k, v in sorted(lines.items())}


def main():
    data = series(sys.argv[1])
    if not data:
        sys.exit(f"{sys.argv[1]}: no decode or nocache lines")
    contexts = sorted({c for pts in data.values() for c, _ in pts})
    values = [v for pts in data.values() for _, v in pts]
    lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    c0, c1 = math.log2(contexts[0]), math.log2(contexts[-1])
    x = lambda c: LEFT + (W - LEFT - RIGHT) * (math.log2(c) - c0) / max(c1 - c0, 1)
    y = lambda v: TOP + (H - TOP - BOTTOM) * (1 - (math.log10(v) - lo) / max(hi - lo, 1))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{(LEFT + W - RIGHT) / 2}" y="20" text-anchor="middle" font-size="14">'
        "decode throughput against context length (CPU)</text>",
    ]
    for e in range(lo, hi + 1):
        for m in (1, 2, 5):
            v = m * 10**e
            if v > 10**hi:
                break
            out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e4e4e4"/>')
            out.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
    for c in contexts:
        out.append(f'<line x1="{x(c):.1f}" x2="{x(c):.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#eee"/>')
        out.append(f'<text x="{x(c):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{c}</text>')
    out.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 12}" text-anchor="middle">context (tokens before the new one)</text>')
    mid = (TOP + H - BOTTOM) / 2
    out.append(f'<text x="18" y="{mid}" text-anchor="middle" transform="rotate(-90 18 {mid})">generated tokens/s (log)</text>')
    for i, ((impl, batch, stage), pts) in enumerate(data.items()):
        color = COLORS.get(impl, "#555")
        dash = DASHES.get(batch, "2 2")
        width = 2 if stage == "decode" else 1
        attrs = f'fill="none" stroke="{color}" stroke-width="{width}"' + (f' stroke-dasharray="{dash}"' if dash else "")
        if stage == "nocache":
            attrs += ' stroke-opacity="0.6"'
        out.append(f'<polyline {attrs} points="{" ".join(f"{x(c):.1f},{y(v):.1f}" for c, v in pts)}"/>')
        for c, v in pts:
            if stage == "decode":
                out.append(f'<circle cx="{x(c):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"/>')
            else:
                out.append(f'<rect x="{x(c) - 3:.1f}" y="{y(v) - 3:.1f}" width="6" height="6" fill="{color}"/>')
        ly = TOP + 8 + 20 * i
        label = f"{impl}, batch {batch}, " + ("KV cache" if stage == "decode" else "no cache")
        stroke = attrs.replace('fill="none" ', "")
        out.append(f'<line x1="{W - RIGHT + 14}" x2="{W - RIGHT + 40}" y1="{ly}" y2="{ly}" {stroke}/>')
        out.append(f'<text x="{W - RIGHT + 46}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
