"""BIRD 2 or BIRD 3 for the route server: the same config, time to converge and memory.

Run as root: .venv/bin/python bench/bird2_vs_bird3.py [N P ...]   (default: 50 200 200 500)

Both route servers are Debian 13's (the image's release): ``bird2`` and ``bird3`` from trees
made by image/shipped-root.sh (fetched on the first run). The members are the same in both
runs (bird2 from the image's release), so only the route server differs. Convergence is timed
from starting the route server (members already waiting) until every member holds every other
member's prefixes; memory is the route server's RSS then. Everything runs in namespaces this
script creates and removes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from routeserver_common import ixp  # noqa: E402
from routeserver_converge import run_one  # noqa: E402

from appliance.platform import shipped  # noqa: E402
from appliance.route_server.bogons import load_bogons  # noqa: E402
from appliance.route_server.render import render_bird  # noqa: E402

DEFAULT_RUNS = ((50, 200), (200, 500))
CACHE = os.environ.get("IXP_SHIPPED_CACHE", "/var/cache/ixp-shipped-root")


def tree(bird: str) -> Path:
    """The shipped tree with ``bird`` (bird2 or bird3), made if missing."""
    done = subprocess.run([str(HERE.parent / "image" / "shipped-root.sh"), CACHE],
                          env={**os.environ, "IXP_SHIPPED_BIRD": bird}, capture_output=True,
                          text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def version(root: Path) -> str:
    """BIRD's own version line from ``root``."""
    with shipped.using(root):
        out = subprocess.run(shipped.wrap(["/usr/sbin/bird", "--version"]),
                             capture_output=True, text=True, check=True)
    return (out.stdout + out.stderr).strip()


def main(argv: list[str]) -> None:
    """Print convergence time and RSS of each BIRD for each N x P, with the ratios."""
    runs = [(int(a), int(b)) for a, b in zip(argv[::2], argv[1::2], strict=True)] or list(
        DEFAULT_RUNS)
    bird2, bird3 = tree("bird2"), tree("bird3")
    os.environ[shipped.ENV] = str(bird2)  # the members
    print(f"route server A: {version(bird2)}; B: {version(bird3)}; members: bird2", flush=True)
    print(f"{'N x P':>11} {'bird2 conv':>11} {'bird2 RSS':>10} {'bird3 conv':>11} "
          f"{'bird3 RSS':>10} {'conv 3/2':>9} {'RSS 3/2':>8}", flush=True)
    for n, p in runs:
        conf = render_bird(ixp(n, max_prefix=p * 2), load_bogons())
        t2, m2 = run_one(n, p, conf, "bird2", rs_tree=bird2)
        t3, m3 = run_one(n, p, conf, "bird3", rs_tree=bird3)
        print(f"{f'{n} x {p}':>11} {t2:>10.2f}s {m2 / 1024:>8.1f}MB {t3:>10.2f}s "
              f"{m3 / 1024:>8.1f}MB {t3 / t2:>8.2f}x {m3 / m2:>7.2f}x", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
