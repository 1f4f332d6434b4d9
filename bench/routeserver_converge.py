"""Convergence time and BIRD memory: N feeders x P prefixes, our config vs arouteserver's.

Run as root: .venv/bin/python bench/routeserver_converge.py [N P ...]  (ARS_BIN as in
routeserver_render.py). Everything runs in namespaces this script creates and removes.
Convergence is timed from starting the route server (members already waiting) until every
member holds every other member's prefixes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import shipped_tree  # noqa: E402
from routeserver_common import LAN4, LAN6, RS_ASN, ars_bin, ars_inputs, ixp  # noqa: E402

from appliance.lab.member_conf import Announce, member_conf  # noqa: E402
from appliance.platform import shipped  # noqa: E402
from appliance.platform.bird.control import BirdUnavailable  # noqa: E402
from appliance.platform.bird.replies import BirdError  # noqa: E402
from appliance.route_server.bogons import load_bogons  # noqa: E402
from appliance.route_server.render import render_bird  # noqa: E402
from labkit.netlab import NetLab, open_lab  # noqa: E402

DEFAULT_RUNS = ((4, 1000), (8, 500))


def _prefixes(i: int, p: int) -> list[Announce]:
    base = ipaddress.IPv4Network(f"{31 + i}.0.0.0/8")
    return [Announce(str(net), (10000 + i,))
            for net, _ in zip(base.subnets(new_prefix=24), range(p), strict=False)]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _converged(lab: NetLab, want: int) -> bool:
    try:
        for node in lab.members.values():
            with node.control() as bc:
                if bc.protocol("rs4").routes("imported") < want:
                    return False
    except (BirdUnavailable, BirdError):
        return False
    return True


def run_one(n: int, p: int, conf_text: str, label: str,
            rs_tree: Path | None = None) -> tuple[float, int]:
    """Seconds to converge and the route server's RSS (KiB) once converged.

    ``rs_tree``: the route server's BIRD from that shipped tree (image/shipped-root.sh), the
    members' from the one in use (IXP_SHIPPED_ROOT).
    """
    with tempfile.TemporaryDirectory() as tmp:
        lab = open_lab(Path(tmp), "ixbench")
        try:
            rs = lab.make_rs(str(LAN4[1]), str(LAN6[1]), LAN4.prefixlen, LAN6.prefixlen)
            for i in range(1, n + 1):
                node = lab.add_member(f"m{i}", [str(LAN4[i + 9])], [], LAN4.prefixlen,
                                      LAN6.prefixlen)
                lab.start_bird(node, member_conf(
                    asn=10000 + i, router_id=str(LAN4[i + 9]), rs_asn=RS_ASN,
                    local4=str(LAN4[i + 9]), rs4=str(LAN4[1]), local6=None, rs6=None,
                    routes=_prefixes(i, p)))
            start = time.perf_counter()
            with shipped.using(rs_tree) if rs_tree is not None else contextlib.nullcontext():
                pid = lab.start_bird(rs, conf_text)
            deadline = start + 600
            while not _converged(lab, (n - 1) * p):
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"{label}: no convergence in 600 s")
                time.sleep(0.2)
            elapsed = time.perf_counter() - start
            return elapsed, _rss_kib(pid)
        finally:
            lab.close()


def main(argv: list[str]) -> None:
    """Print convergence time and memory for each N x P, with ratios."""
    shipped_tree.use()  # members (and by default the route server) on the image's BIRD
    runs = [(int(a), int(b)) for a, b in zip(argv[::2], argv[1::2], strict=True)] or list(
        DEFAULT_RUNS)
    have_ars = ars_bin() is not None
    print(f"{'N x P':>10} {'ours conv':>10} {'ours RSS':>10} {'ars conv':>9} {'ars RSS':>10} "
          f"{'conv ars/ours':>14} {'RSS ars/ours':>13}")
    for n, p in runs:
        cfg = ixp(n, max_prefix=p * 2)
        t_ours, m_ours = run_one(n, p, render_bird(cfg, load_bogons()), "ours")
        line = f"{f'{n} x {p}':>10} {t_ours:>9.2f}s {m_ours / 1024:>8.1f}MB"
        if have_ars:
            with tempfile.TemporaryDirectory() as tmp:
                argv_ars = ars_inputs(cfg, Path(tmp))
                subprocess.run(argv_ars, check=True, capture_output=True)
                ars_text = (Path(tmp) / "ars.conf").read_text()
                t_ars, m_ars = run_one(n, p, ars_text, "arouteserver")
            line += (f" {t_ars:>8.2f}s {m_ars / 1024:>8.1f}MB {t_ars / t_ours:>13.2f}x "
                     f"{m_ars / m_ours:>12.2f}x")
        print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
