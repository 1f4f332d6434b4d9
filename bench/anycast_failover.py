"""Anycast failover: how fast a dead resolver's service prefix leaves every member, and returns.

Run as root: .venv/bin/python bench/anycast_failover.py [ROUNDS]. Everything runs in a lab of
namespaces this script creates and removes (real unbound, real route-server and member BIRDs).

Each round stops unbound and times until no member holds the service prefix any more, then
starts it and times until every member has it again. Printed side by side with the bound the
issue names (fall × interval to withdraw, rise × interval to announce) as a ratio, and with
BGP propagation alone (the gate flipped by hand, no health checks), measured in the same run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from appliance.anycast import service  # noqa: E402
from appliance.anycast.links import set_gate  # noqa: E402
from appliance.pipeline.concern import ApplyContext  # noqa: E402
from appliance.platform.target import Target  # noqa: E402
from appliance.resolver.concern import stop_resolver  # noqa: E402
from labkit.anycast import FALL, INTERVAL, PREFIX, RISE, anycast_lab  # noqa: E402


def _until(probe, timeout: float = 120.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if probe():
            return time.monotonic() - start
        time.sleep(0.05)
    raise TimeoutError("the members did not follow within 120 s")


def main(rounds: int = 5) -> None:
    with tempfile.TemporaryDirectory(prefix="ixp-bench-anycast-") as tmp, \
            anycast_lab(Path(tmp)) as lab:
        ns = lab.state.appliance_netns
        every = {lm.netns for lm in lab.state.members}
        _until(lambda: len(lab.member_sessions()) == lab.bgp_count())

        # BGP propagation alone: flip the gate by hand, no health checks involved (the
        # helper the apply started is stopped meanwhile, then started again).
        target = Target(Path(tmp), ns)
        service.stop(target)
        bgp_down, bgp_up = [], []
        for _ in range(rounds):
            set_gate(Target(Path(tmp), ns), PREFIX, True)
            bgp_up.append(_until(lambda: lab.members_with_route() == every))
            set_gate(Target(Path(tmp), ns), PREFIX, False)
            bgp_down.append(_until(lambda: not lab.members_with_route()))

        service.start(target)
        withdraw, announce = [], []
        _until(lambda: lab.members_with_route() == every)
        for _ in range(rounds):
            stop_resolver(Path(tmp))
            withdraw.append(_until(lambda: not lab.members_with_route()))
            lab.resolver.apply(lab.cfg, ApplyContext(target), [])
            announce.append(_until(lambda: lab.members_with_route() == every))

    members = len(every)
    print(f"anycast failover, {members} member routers, interval {INTERVAL} s, rise {RISE}, "
          f"fall {FALL}, {rounds} rounds")
    print(f"{'':34}{'p50 s':>8}{'max s':>8}{'bound s':>9}{'max/bound':>11}")
    for name, vals, bound in (("withdraw after unbound stops", withdraw, FALL * INTERVAL),
                              ("announce after unbound starts", announce, RISE * INTERVAL)):
        print(f"{name:34}{statistics.median(vals):8.2f}{max(vals):8.2f}{bound:9.1f}"
              f"{max(vals) / bound:11.2f}")
    print(f"{'BGP alone: gate down to withdrawn':34}{statistics.median(bgp_down):8.2f}"
          f"{max(bgp_down):8.2f}")
    print(f"{'BGP alone: gate up to announced':34}{statistics.median(bgp_up):8.2f}"
          f"{max(bgp_up):8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
