"""One route-server lab shared by every scenario test: RS + stayrtr + member BIRDs + a raw
BGP speaker; IRR data, the PeeringDB never-via-route-servers list and the VRP file (ROAs over
RTR, ASPA records rendered into bird.conf) from tests/fixtures/bird."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.lab.member_conf import member_conf
from appliance.pipeline.concern import ApplyContext
from appliance.platform import netns
from appliance.platform.bird.control import BirdUnavailable
from appliance.platform.bird.replies import BirdError, Route
from appliance.platform.target import Target
from appliance.route_server.aspa import load_aspas
from appliance.route_server.concern import RouteServerConcern
from appliance.route_server.daemon import start_bird
from appliance.route_server.irr import parse_irr_cache
from appliance.route_server.peeringdb import load_never_via_rs
from appliance.route_server.render import session_name
from appliance.route_server.rtr import stayrtr_argv
from labkit.netlab import NetLab, Node, open_lab, wait_for
from tests.bird.configs import LAN4, LAN6
from tests.bird.scenarios.plan import LEAKS, MEMBERS, RAW, RS, announcements, lab_config

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "bird"


@dataclass
class ScenarioLab:
    """The running lab and what each BIRD holds once routes have settled."""

    lab: NetLab
    rs: Node
    ctx: ApplyContext
    received: dict[str, list[Route]]  # member key -> routes it got from the RS
    rs_routes: dict[str, list[Route]]  # member key -> routes the RS got (accepted + filtered)

    def member(self, key: str) -> Node:
        """The member router ``key``."""
        return self.lab.members[key]


def _pairs(key: str) -> list[tuple[str, str]]:
    """The member's sessions: (the RS's protocol name, the member router's)."""
    i, asn, extra = MEMBERS[key]
    out = []
    if extra.get("ipv4", True):
        out.append((session_name(asn, str(LAN4[i + 9])), "rs4"))
    if extra.get("ipv6", True):
        out.append((session_name(asn, str(LAN6[i + 9])), "rs6"))
    return out


def _sessions(key: str) -> list[str]:
    return [rs for rs, _ in _pairs(key)]


def _tables(key: str) -> list[tuple[str, str]]:
    """(session, table) for every channel of the member's sessions at the RS."""
    i, asn, extra = MEMBERS[key]
    out = [(s, f"t_{s}") for s in _sessions(key)]
    if extra.get("extended_next_hop"):  # IPv4 over the IPv6 session has a table of its own
        v6 = session_name(asn, str(LAN6[i + 9]))
        out.append((v6, f"t_{v6}_v4"))
    return out


def _raw_settled(rs: Node) -> bool:
    """Every raw speaker's session is up and the RS holds all it announced."""
    try:
        with rs.control() as bc:
            for key in RAW:
                p = bc.protocol(_sessions(key)[0])
                leaks = sum(1 for k, _ in LEAKS if k == key)  # never held: dropped as leaks
                if not p.established or (p.routes("imported") + p.routes("filtered")
                                         < len(announcements(key)) - leaks):
                    return False
    except (BirdUnavailable, BirdError):
        return False
    return True


def _counts(lab: NetLab, rs: Node) -> dict[str, tuple[int, int, int, int]] | None:
    """Per session: RS imported+filtered, RS exported, member's received; None if not all up."""
    out = {}
    try:
        with rs.control() as bc:
            protos = {p.name: p for p in bc.protocols()}
        for key, node in lab.members.items():
            if key in RAW:
                continue
            with node.control() as mc:
                mine = {p.name: p for p in mc.protocols()}
            for sess, local in _pairs(key):
                p, m = protos.get(sess), mine.get(local)
                if p is None or m is None or not (p.established and m.established):
                    return None
                out[sess] = (p.routes("imported") + p.routes("filtered"), p.routes("exported"),
                             m.routes("imported"), m.routes("exported"))
    except (BirdUnavailable, BirdError):
        return None
    return out


def _settled(lab: NetLab, rs: Node, state: dict[str, object]) -> bool:
    counts = _counts(lab, rs)
    if counts is None:
        state["why"] = "not every session is established"
        return False
    state["why"] = counts
    for (rs_in, _rs_out, _got, sent) in counts.values():
        # Members drop routes with their own ASN in the path, so "got" may be below what the
        # RS exported; settled means every count stayed the same between two polls.
        if rs_in == 0 and sent > 0:
            return False
    same = state.get("last") == counts
    state["last"] = counts
    return same


RECORD = {
    "status": "show status",
    "protocols": "show protocols",
    "protocols_all": "show protocols all",
    "protocols_all_m4": "show protocols all c10004_185_1_0_13",
    "routes_m1_all": "show route table t_c10001_185_1_0_10 protocol c10001_185_1_0_10 all",
    "routes_m1_filtered": "show route table t_c10001_185_1_0_10 protocol c10001_185_1_0_10 "
                          "filtered all",
    "routes_m1_v6_all": "show route table t_c10001_2001_7f8_ffff__a all",
    "routes_for_gshut": "show route for 31.1.40.0/24 all",
    "syntax_error": "show route tabel",
    "unknown_protocol": "show protocols all nosuch",
}


def _record(lab: NetLab, rs: Node) -> None:
    """Save raw replies of the real BIRD as parser fixtures (IXP_RECORD_BIRD_FIXTURES=1)."""
    out = FIXTURES / "replies"
    out.mkdir(exist_ok=True)
    with rs.control() as bc:
        for name, cmd in RECORD.items():
            try:
                raw = bc.command(cmd).raw
            except BirdError:
                assert bc._child is not None  # the error reply is what we want here
                raw = bytes(bc._child.before + bc._child.after).decode()
            (out / f"{name}.txt").write_text(f"# {cmd}\n{raw}")
        broken = rs.dir / "broken.conf"
        broken.write_text("router id 1.2.3.4;\nprotocol bgp x { nonsense; }\n")
        for name, cmd in (("configure_check", "configure check"),
                          ("configure_check_broken", f'configure check "{broken}"'),
                          ("configure_timeout", "configure timeout 60"),
                          ("configure_confirm", "configure confirm"),
                          ("configure_confirm_nothing", "configure confirm"),
                          ("configure_timeout_2", "configure timeout 60"),
                          ("configure_undo", "configure undo"),
                          ("configure_broken", f'configure "{broken}"')):
            try:
                raw = bc.command(cmd).raw
            except BirdError:
                assert bc._child is not None
                raw = bytes(bc._child.before + bc._child.after).decode()
            (out / f"{name}.txt").write_text(f"# {cmd}\n{raw}")
    with lab.members["m2"].control() as mc:
        raw = mc.command("show route protocol rs4 all").raw
        (out / "member_routes.txt").write_text(f"# show route protocol rs4 all\n{raw}")
        for name, cmd in (("disable", "disable rs4"), ("enable", "enable rs4"),
                          ("restart", "restart rs6"), ("disable_unknown", "disable nosuch")):
            try:
                raw = mc.command(cmd).raw
            except BirdError:
                assert mc._child is not None
                raw = bytes(mc._child.before + mc._child.after).decode()
            (out / f"{name}.txt").write_text(f"# {cmd}\n{raw}")


@pytest.fixture(scope="package")
def scenario_lab(tmp_path_factory):
    """Build the lab, let it converge, snapshot the routes; remove everything afterwards."""
    for prog in ("bird", "stayrtr"):
        if not (shutil.which(prog) or shutil.which(prog, path="/usr/sbin")):
            pytest.fail(f"{prog} is missing (Debian packages bird2, stayrtr)")
    cfg = lab_config()
    irr = parse_irr_cache(json.loads((FIXTURES / "irr" / "irr-cache.json").read_text()))
    assert irr.entries["AS-M1"].prefixes4, "the IRR fixture must load"
    lab = open_lab(tmp_path_factory.mktemp("rslab"))
    try:
        lan4, lan6 = LAN4.prefixlen, LAN6.prefixlen
        rs = lab.make_rs(str(LAN4[1]), str(LAN6[1]), lan4, lan6)
        for key, (i, _asn, extra) in MEMBERS.items():
            lab.add_member(key, [str(LAN4[i + 9])],
                           [str(LAN6[i + 9])] if extra.get("ipv6", True) else [], lan4, lan6)

        # stayrtr serves the fixture VRPs on the RS namespace's loopback.
        rtr = subprocess.Popen(
            netns.command(rs.ns, stayrtr_argv(FIXTURES / "vrps.json")),
            stdout=subprocess.DEVNULL, stderr=open(rs.dir / "stayrtr.log", "wb"),  # noqa: SIM115
            start_new_session=True)
        lab.extra_procs.append(rtr)
        # BIRD retries a failed RTR connection only after 90 s: on a loaded machine stayrtr may
        # not be listening at BIRD's first try, so wait for it before starting BIRD.
        wait_for("stayrtr to listen", lambda: netns.run(
            rs.ns, ["ss", "-ltnH", "sport = :3323"], check=False).stdout.strip(), timeout=60)

        ctx = ApplyContext(Target(rs.dir / "state", rs.ns))
        (ctx.etc_dir / "bird").mkdir(parents=True)
        never = load_never_via_rs(FIXTURES / "peeringdb.json")
        assert never.asns == (10002, 10066), "the PeeringDB fixture must load"
        # ASPA records come from the same VRP file, rendered into bird.conf (not over RTR).
        aspa = load_aspas(FIXTURES / "vrps.json")
        assert len(aspa.records) == 4, "the VRP fixture's ASPA records must load"
        for f in RouteServerConcern(irr=irr, never_via_rs=never, aspa=aspa).render(cfg):
            (ctx.etc_dir / f.path).parent.mkdir(parents=True, exist_ok=True)
            (ctx.etc_dir / f.path).write_bytes(f.content)
        rs.pid = start_bird(ctx.target)
        lab.pids.append(rs.pid)
        rs_node = Node(rs.ns, ctx.run_dir, rs.pid)  # control socket lives in run_dir

        def roas_loaded() -> bool:
            with rs_node.control() as bc:
                return len(bc.routes(table="rs_roa4")) >= 2 and bool(
                    bc.routes(table="rs_roa6"))
        wait_for("the RS to load the fixture ROAs from stayrtr", roas_loaded, timeout=60)

        for key in RAW:
            i, asn, _extra = MEMBERS[key]
            spec = {"local": str(LAN4[i + 9]), "peer": str(LAN4[1]), "asn": asn,
                    "routes": [a.raw() for a in announcements(key)]}
            node = lab.members[key]
            lab.extra_procs.append(subprocess.Popen(
                netns.command(node.ns, [sys.executable, "-m", "tests.bird.raw_bgp",
                                        json.dumps(spec)]),
                cwd=ROOT, stdout=subprocess.DEVNULL,
                stderr=open(node.dir / "raw_bgp.log", "wb"),  # noqa: SIM115
                start_new_session=True))
        for key, node in lab.members.items():
            if key in RAW:
                continue
            i, asn, extra = MEMBERS[key]
            lab.start_bird(node, member_conf(
                asn=asn, router_id=str(LAN4[i + 9]), rs_asn=RS,
                local4=str(LAN4[i + 9]) if extra.get("ipv4", True) else None,
                rs4=str(LAN4[1]), local6=str(LAN6[i + 9]),
                rs6=str(LAN6[1]), routes=announcements(key),
                password=extra.get("md5_password"),
                passive=bool(extra.get("active_session")),
                extended_next_hop=bool(extra.get("extended_next_hop")),
                add_paths=bool(extra.get("add_paths_tx"))))

        state: dict[str, object] = {}
        wait_for("all sessions up and routes settled",
                 lambda: _settled(lab, rs_node, state),
                 timeout=90, poll=1.0)
        wait_for("the raw BGP speakers' routes at the RS", lambda: _raw_settled(rs_node),
                 timeout=60)
        received, rs_routes = {}, {}
        for key, node in lab.members.items():
            if key not in RAW:
                with node.control() as mc:
                    received[key] = [r for _, local in _pairs(key)
                                     for r in mc.routes(protocol=local)]
            with rs_node.control() as bc:
                rs_routes[key] = [r for s, t in _tables(key)
                                  for r in bc.session_routes(s, table=t)]
        yield ScenarioLab(lab, rs_node, ctx, received, rs_routes)
        if os.environ.get("IXP_RECORD_BIRD_FIXTURES"):
            _record(lab, rs_node)  # after the tests: recording reconfigures and restarts
    finally:
        lab.close()
