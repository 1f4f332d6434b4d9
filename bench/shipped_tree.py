"""The image's daemons for a benchmark, as the test suite uses them (tests/conftest.py).

The route server's config is rendered for the image's BIRD (2.17: ASPA tables, RTR version
1); a development host's own BIRD may refuse it (Debian 12's 2.0.12 does). A benchmark calls
:func:`use` first: it makes the tree once with image/shipped-root.sh (cached under
/var/cache/ixp-shipped-root) and points ``IXP_SHIPPED_ROOT`` at it, unless that is set.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = os.environ.get("IXP_SHIPPED_CACHE", "/var/cache/ixp-shipped-root")


def use() -> Path:
    """The shipped tree, made if missing, now in ``IXP_SHIPPED_ROOT``; returns its path."""
    from appliance.platform import shipped

    if os.environ.get(shipped.ENV):
        return Path(os.environ[shipped.ENV])
    done = subprocess.run([str(HERE.parent / "image" / "shipped-root.sh"), CACHE],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"image/shipped-root.sh failed: {done.stderr[-2000:]}")
    tree = Path(done.stdout.strip().splitlines()[-1])
    os.environ[shipped.ENV] = str(tree)
    print(f"daemons: the image's, from {tree}: {shipped.versions()}", flush=True)
    return tree
