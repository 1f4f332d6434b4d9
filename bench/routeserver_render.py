"""Render + verify time of the route-server config for 10/100/1000 members, next to arouteserver.

Run: .venv/bin/python bench/routeserver_render.py  (ARS_BIN=/path/to/arouteserver for the
comparison). Both sides run as a fresh process (interpreter start included) and then bird -p.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from routeserver_common import ars_bin, ars_inputs, ixp

from appliance.route_server.daemon import bird_binary

SIZES = (10, 100, 1000)
REPEAT = 3

OURS = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from appliance.route_server.bogons import load_bogons
from appliance.route_server.render import render_bird
from routeserver_common import ixp
open(sys.argv[2], "w").write(render_bird(ixp(int(sys.argv[1])), load_bogons()))
"""


def _best(argv: list[str]) -> float:
    best = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Print a table of times and ratios."""
    bird = bird_binary()
    have_ars = ars_bin() is not None
    if not have_ars:
        print("arouteserver not found (set ARS_BIN): showing our times only", file=sys.stderr)
    print(f"{'members':>8} {'ours render':>12} {'ours bird -p':>13} "
          f"{'ars render':>11} {'ars bird -p':>12} {'ratio ars/ours':>15}")
    for n in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            conf = work / "ours.conf"
            r_ours = _best([sys.executable, "-c", OURS, str(n), str(conf)])
            v_ours = _best([bird, "-p", "-c", str(conf)])
            line = f"{n:>8} {r_ours:>11.2f}s {v_ours:>12.2f}s"
            if have_ars:
                argv = ars_inputs(ixp(n), work)
                r_ars = _best(argv)
                v_ars = _best([bird, "-p", "-c", str(work / "ars.conf")])
                ratio = (r_ars + v_ars) / (r_ours + v_ours)
                line += f" {r_ars:>10.2f}s {v_ars:>11.2f}s {ratio:>14.2f}x"
            print(line, flush=True)


if __name__ == "__main__":
    main()
