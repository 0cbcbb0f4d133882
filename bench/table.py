"""A hyperfine --export-json file as a markdown table: one row per
command (named by the arguments after the file), the first row the
baseline the ratio column divides by.  Shared by the bench scripts."""
import json
import sys

d = json.load(open(sys.argv[1]))
names = sys.argv[2:]
res = d["results"]
base = res[0]["mean"]
print(f"| command | mean ± σ (ms) | min (ms) | {names[0]} / this |")
print("|---|---|---|---|")
for n, r in zip(names, res):
    print(f"| {n} | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} | "
          f"{r['min']*1000:.1f} | {base / r['mean']:.3f} |")
