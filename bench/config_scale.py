"""How validation, canonical dump and render scale with the number of members.

Prints, for 10 to 2000 synthetic members, the time to load+validate, dump and render, and the
cost per member relative to the 10-member config measured in the same run (a ratio near 1 means
linear scaling). Run: .venv/bin/python bench/config_scale.py
"""

from __future__ import annotations

import statistics
import time

from appliance.box import build_pipeline
from appliance.config.generate import synthetic_yaml
from appliance.config.loader import dump_config, load_config_text

SIZES = (10, 100, 500, 1000, 2000)


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    pipe = build_pipeline("/nonexistent-bench-dir")  # render only: no I/O
    rows = []
    for n in SIZES:
        text = synthetic_yaml(n)
        cfg = load_config_text(text)
        load = best_of(lambda t=text: load_config_text(t))
        dump = best_of(lambda c=cfg: dump_config(c))
        render = best_of(lambda c=cfg: pipe.render(c))
        rows.append((n, load, dump, render))
    base = rows[0]
    print(f"{'members':>8} {'validate ms':>12} {'dump ms':>9} {'render ms':>10} "
          f"{'per-member vs 10':>17}")
    for n, load, dump, render in rows:
        ratio = (load / n) / (base[1] / base[0])
        print(f"{n:>8} {load * 1000:>12.1f} {dump * 1000:>9.1f} {render * 1000:>10.1f} "
              f"{ratio:>16.2f}x")
    per_member = statistics.mean(r[1] / r[0] for r in rows[1:]) * 1e6
    print(f"validation costs about {per_member:.0f} µs per member")


if __name__ == "__main__":
    main()
