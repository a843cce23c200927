"""Summary of trainer/scripts/demo.sh's runs: per variant and seed, the mean reward of the first and the last quarter
of the steps, validation accuracy with the tool at step 0 and at the end, and without the tool at the end; then the
mean and spread (min-max) over seeds. Prints a Markdown table."""

import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
rows = {}
for run in sorted(p for p in out.iterdir() if p.is_dir() and (p / "metrics.jsonl").exists()):
    variant, seed = run.name.rsplit("-seed", 1)
    steps = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    val = [json.loads(l) for l in (run / "validation.jsonl").read_text().splitlines() if l.strip()]
    q = max(1, len(steps) // 4)
    first = sum(s["reward_mean"] for s in steps[:q]) / q
    last = sum(s["reward_mean"] for s in steps[-q:]) / q
    time = (run.parent / f"{run.name}.time").read_text().split(": ")[-1].strip() if (run.parent / f"{run.name}.time").exists() else "?"
    rows.setdefault(variant, []).append(
        dict(seed=int(seed), first=first, last=last, val0=val[0]["accuracy"], val_end=val[-1]["accuracy"],
             no_tool=val[-1].get("accuracy_without_tool"), steps=len(steps), time=time))

print("| variant | seed | steps | reward, first quarter | reward, last quarter | validation acc. step 0 | validation acc. end | end, without the tool | wall time |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for variant, runs in rows.items():
    for r in sorted(runs, key=lambda r: r["seed"]):
        print(f"| {variant} | {r['seed']} | {r['steps']} | {r['first']:+.3f} | {r['last']:+.3f} | {r['val0']:.3f} | {r['val_end']:.3f} | {r['no_tool'] if r['no_tool'] is not None else '–'} | {r['time']} |")
print()
print("| variant | seeds | reward first → last quarter (mean, min–max of last) | validation step 0 → end (mean, min–max of end) |")
print("| --- | ---: | --- | --- |")
for variant, runs in rows.items():
    mean = lambda k: sum(r[k] for r in runs) / len(runs)
    lo = lambda k: min(r[k] for r in runs)
    hi = lambda k: max(r[k] for r in runs)
    print(f"| {variant} | {len(runs)} | {mean('first'):+.3f} → {mean('last'):+.3f} ({lo('last'):+.3f}–{hi('last'):+.3f}) | {mean('val0'):.3f} → {mean('val_end'):.3f} ({lo('val_end'):.3f}–{hi('val_end'):.3f}) |")
