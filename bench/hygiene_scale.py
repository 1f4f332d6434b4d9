"""How long nft takes over the peering-LAN hygiene ruleset for 250, 500 and 1000 member ports,
the renderer before named sets and now, measured in the same run.

The old renderer (one anonymous set per port and check, some 12 per port) is the one of git
revision ``--old`` (default: the last commit that had it), loaded from git as a module next
to the checkout's; both render the same configs (``bridge_reconcile.make_config``). For each
size and renderer: ``nft -c -f`` in a private network namespace (``unshare --net``, as the
pipeline's check does); with ``--load`` also the load into a fresh namespace and the in-place
update of that loaded table (what an apply does once the table is there, issue 13). Prints
old and new seconds and the ratio old / new side by side. Needs root (for ``--load``;
``nft -c`` alone runs in a user namespace without it). Everything lives in namespaces this
script creates and removes.
Run: sudo .venv/bin/python bench/hygiene_scale.py [--load] [--old REV] [--sizes 250,500,1000]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bridge_reconcile
sys.path.insert(0, str(HERE.parent))  # the checkout this script is in: the "new" renderer

from bridge_reconcile import make_config  # noqa: E402

from appliance.bridge import nft  # noqa: E402
from appliance.bridge import render as new_render  # noqa: E402
from appliance.platform import netns  # noqa: E402
from appliance.platform.target import Target  # noqa: E402

ROOT = HERE.parent
# main just before the named sets: every port chain with its own anonymous sets.
OLD_REV = "d021979"
RENDER = "appliance/bridge/render.py"
# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")


def old_renderer(rev: str) -> ModuleType:
    """``appliance/bridge/render.py`` as it was at ``rev``, loaded as a module of its own."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{RENDER}"], check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("render_old", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["render_old"] = module  # dataclasses look their module up while defining
    exec(compile(source, f"{rev}:{RENDER}", "exec"), module.__dict__)
    return module


def _timed(fn: Callable[[], None]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def check_seconds(path: Path) -> float:
    """``nft -c -f path`` in a private namespace, as ``appliance.platform.nft.check_file``
    (without its 60 s timeout, so the old renderer's figure is measured, not cut off)."""
    unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net",
                                                              "--map-root-user"]
    t = time.perf_counter()
    proc = subprocess.run([*unshare, nft.nft_binary(), "-c", "-f", str(path)],
                          capture_output=True, text=True, check=False)
    took = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"nft -c refused {path}: {proc.stderr.strip()[:500]}")
    return took


def _load(ns: str, path: Path) -> None:
    # Not nft.load_file: its 60 s timeout cuts the old renderer's update of 1000 ports short.
    proc = subprocess.run(netns.command(ns, [nft.nft_binary(), "-f", str(path)]),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"nft -f refused {path}: {proc.stderr.strip()[:500]}")


def load_seconds(render: ModuleType, n: int, path: Path, tag: str) -> tuple[float, float]:
    """(load into a fresh namespace, in-place update of what was loaded) in seconds."""
    ns = f"{netns.unique_prefix('ixhyg')}-{tag}{n}"
    with netns.temporary([ns]):
        load = _timed(lambda: _load(ns, path))
        running = nft.read_table(Target(NO_STATE, ns))
        assert running is not None
        update = path.with_suffix(".update.nft")
        update.write_text(render.render_hygiene(make_config(n), running=running))
        return load, _timed(lambda: _load(ns, update))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default=OLD_REV, help=f"git revision of the old renderer "
                    f"(default {OLD_REV})")
    ap.add_argument("--sizes", default="250,500,1000", help="member ports, comma-separated")
    ap.add_argument("--load", action="store_true", help="also time load and in-place update")
    args = ap.parse_args()
    if args.load:
        netns.require_root()
    renderers = {"old": old_renderer(args.old), "new": new_render}
    sizes = [int(x) for x in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            cfg = make_config(n)
            row: dict[str, dict[str, float]] = {}
            for name, render in renderers.items():
                path = Path(tmp) / f"hygiene-{name}-{n}.nft"
                path.write_text(render.render_hygiene(cfg))
                got = {"check": check_seconds(path)}
                if args.load:
                    got["load"], got["update"] = load_seconds(render, n, path, name)
                row[name] = got
                print(f"  {n} ports, {name}: " + ", ".join(
                    f"{k} {v:.2f}" for k, v in got.items()), flush=True)
            rows.append((n, row))
    kinds = ["check", *(["load", "update"] if args.load else [])]
    print(f"old = {args.old}:{RENDER}, new = this checkout; seconds, ratio old/new")
    print(f"{'ports':>6} " + " ".join(f"{k + ' old':>11} {k + ' new':>11} {'ratio':>7}"
                                      for k in kinds))
    for n, row in rows:
        print(f"{n:>6} " + " ".join(
            f"{row['old'][k]:>11.2f} {row['new'][k]:>11.2f} "
            f"{row['old'][k] / row['new'][k]:>7.1f}" for k in kinds))


if __name__ == "__main__":
    sys.exit(main())
