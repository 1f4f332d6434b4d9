"""The agent against real net-snmp clients, in namespaces of our own."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from appliance.pipeline.concern import ApplyContext
from appliance.platform.target import Target
from appliance.snmp.concern import SnmpConcern
from appliance.snmp.render import AGENT_FILE
from labkit.netlab import veth
from tests.snmp.snmplab import (
    COMMUNITY,
    MIB_DIR,
    NMS_COMMUNITY,
    NMS_IP,
    PORT,
    V3,
    V3_512,
    V3_NMS_ONLY,
    kernel_stats,
    lab_config,
    ns_run,
    parse_lines,
)

pytestmark = [pytest.mark.netns, pytest.mark.slow]

SYS = "1.3.6.1.2.1.1"
IF_ENTRY = ".1.3.6.1.2.1.2.2.1"
IFX_ENTRY = ".1.3.6.1.2.1.31.1.1.1"
IF_TYPES = {1: "INTEGER", 2: "STRING", 3: "INTEGER", 4: "INTEGER", 5: "Gauge32",
            6: "Hex-STRING", 7: "INTEGER", 8: "INTEGER", 9: "Timeticks",
            10: "Counter32", 11: "Counter32", 13: "Counter32", 14: "Counter32",
            15: "Counter32", 16: "Counter32", 17: "Counter32", 19: "Counter32",
            20: "Counter32"}
IFX_TYPES = {1: "STRING", **{c: "Counter32" for c in (2, 3, 4, 5)},
             **{c: "Counter64" for c in range(6, 14)}, 14: "INTEGER", 15: "Gauge32",
             16: "INTEGER", 17: "INTEGER", 18: "STRING", 19: "Timeticks"}
PORTS = ("mgmt0", "br-ixp", "ixp1", "ixp2")


def walk(lab, oid: str, tool: str = "snmpbulkwalk") -> dict[str, tuple[str, str]]:
    r = lab.v2c(tool, oid)
    assert r.returncode == 0, r.stderr
    return parse_lines(r.stdout)


def if_indexes(lab) -> dict[str, int]:
    names = walk(lab, IFX_ENTRY + ".1")
    return {v.strip('"'): int(oid.rsplit(".", 1)[1]) for oid, (_, v) in names.items()}


def test_system_group_from_config(lab):
    r = lab.v2c("snmpget", *(f"{SYS}.{i}.0" for i in range(1, 8)))
    assert r.returncode == 0, r.stderr
    got = parse_lines(r.stdout)
    assert got[f".{SYS}.1.0"][0] == "STRING" and got[f".{SYS}.1.0"][1].startswith('"Linux ')
    assert got[f".{SYS}.2.0"] == ("OID", ".1.3.6.1.4.1.8072.3.2.10")
    assert got[f".{SYS}.3.0"][0] == "Timeticks"
    assert got[f".{SYS}.4.0"] == ("STRING", '"noc@eiix.example.net"')
    assert got[f".{SYS}.5.0"] == ("STRING", '"rs1.eiix.example.net"')
    assert got[f".{SYS}.6.0"] == ("STRING", '"Example Town exchange, rack 1"')
    assert got[f".{SYS}.7.0"] == ("INTEGER", "76")


def test_snmp_engine_objects(lab):
    got = walk(lab, "1.3.6.1.6.3.10.2.1", tool="snmpwalk")
    assert got[".1.3.6.1.6.3.10.2.1.1.0"][0] == "Hex-STRING"
    assert got[".1.3.6.1.6.3.10.2.1.2.0"][0] == "INTEGER"
    assert int(got[".1.3.6.1.6.3.10.2.1.2.0"][1]) >= 1
    assert got[".1.3.6.1.6.3.10.2.1.3.0"][0] == "INTEGER"
    assert got[".1.3.6.1.6.3.10.2.1.4.0"][0] == "INTEGER"


def test_if_tables_complete_and_typed(lab):
    idx = if_indexes(lab)
    assert set(idx) == set(PORTS)  # ixp3..ixp5 of the example do not exist here: not shown
    table = walk(lab, "1.3.6.1.2.1.2")
    assert table[".1.3.6.1.2.1.2.1.0"] == ("INTEGER", str(len(PORTS)))
    xtable = walk(lab, "1.3.6.1.2.1.31.1.1")
    for name, i in idx.items():
        for col, kind in IF_TYPES.items():
            assert table[f"{IF_ENTRY}.{col}.{i}"][0] == kind, (name, col)
        for col, kind in IFX_TYPES.items():
            assert xtable[f"{IFX_ENTRY}.{col}.{i}"][0] == kind, (name, col)
        assert table[f"{IF_ENTRY}.2.{i}"][1] == f'"{name}"'
        link = ns_run(lab.ixp, "ip", "-j", "link", "show", "dev", name).stdout
        info = json.loads(link)[0]
        assert int(table[f"{IF_ENTRY}.4.{i}"][1]) == info["mtu"]
        mac = table[f"{IF_ENTRY}.6.{i}"][1].strip().lower().replace(" ", ":")
        assert mac == info["address"]
        assert table[f"{IF_ENTRY}.7.{i}"][1] == "1"  # admin up
    assert table[f"{IF_ENTRY}.3.{idx['br-ixp']}"][1] == "209"  # bridge
    assert table[f"{IF_ENTRY}.3.{idx['ixp1']}"][1] == "6"  # ethernetCsmacd
    assert table[f"{IF_ENTRY}.8.{idx['ixp1']}"][1] == "1"  # oper up: the member is there
    assert xtable[f"{IFX_ENTRY}.18.{idx['ixp1']}"][1] == '"AS64496 Island Telecom"'
    assert xtable[f"{IFX_ENTRY}.18.{idx['ixp2']}"][1] == '"AS64497 Lagoon Broadband"'
    assert xtable[f"{IFX_ENTRY}.15.{idx['ixp1']}"][1] == "10000"  # veth reports 10 Gb/s


def test_hc_in_octets_equals_kernel_counter_after_traffic(lab):
    idx = if_indexes(lab)["ixp1"]
    before = kernel_stats(lab.ixp, "ixp1")["rx"]["bytes"]
    ns_run(lab.member, "ping", "-c", "20", "-i", "0.01", "-s", "1000", "-q", "203.0.113.1")
    oid = f"{IFX_ENTRY}.6.{idx}"
    deadline = time.monotonic() + 15
    seen = None
    while time.monotonic() < deadline:
        kernel = kernel_stats(lab.ixp, "ixp1")["rx"]["bytes"]
        got = parse_lines(lab.v2c("snmpget", oid).stdout).get(oid)
        seen = (kernel, got)
        if got and got[0] == "Counter64" and int(got[1]) == kernel:
            break
        time.sleep(0.2)
    assert seen is not None and seen[1] is not None
    assert int(seen[1][1]) == seen[0], f"agent {seen[1]} vs kernel {seen[0]}"
    assert seen[0] - before >= 20 * 1000  # the traffic really went through ixp1


def test_v3_authpriv_sha256_and_sha512(lab):
    for user in (V3, V3_512):
        r = lab.v3("snmpget", f"{SYS}.5.0", user=user)
        assert r.returncode == 0, r.stderr
        assert parse_lines(r.stdout)[f".{SYS}.5.0"] == ("STRING", '"rs1.eiix.example.net"')


def test_wrong_community_gets_nothing(lab):
    r = lab.v2c("snmpget", f"{SYS}.5.0", community="wrong-community", retries=0)
    assert r.returncode != 0 and "Timeout" in (r.stdout + r.stderr)
    assert "rs1.eiix" not in r.stdout
    assert "refused SNMP request from 127.0.0.1: unknown community" in lab.log()


def test_wrong_v3_passwords_get_nothing(lab):
    r = lab.v3("snmpget", f"{SYS}.5.0", auth="not-the-password")
    assert r.returncode != 0 and "rs1.eiix" not in r.stdout
    assert "Authentication failure" in r.stderr
    r = lab.v3("snmpget", f"{SYS}.5.0", priv="not-the-password")
    assert r.returncode != 0 and "rs1.eiix" not in r.stdout
    r = lab.v3("snmpget", f"{SYS}.5.0", level="noAuthNoPriv")
    assert r.returncode != 0 and "rs1.eiix" not in r.stdout
    log = lab.log()
    assert "SNMPv3 user 'librenms': wrong authentication password or protocol" in log
    assert "SNMPv3 user 'librenms': wrong privacy password or protocol" in log


def test_source_outside_allowed_network_gets_nothing(lab):
    # The same community works from loopback (see the other tests) but not from the NMS host.
    r = lab.v2c("snmpget", f"{SYS}.5.0", ns=lab.nms, host="192.0.2.1", retries=0)
    assert r.returncode != 0 and "rs1.eiix" not in r.stdout
    assert f"refused SNMP request from {NMS_IP}: community #1 is not allowed" in lab.log()
    # Its own community is allowed from there: the refusal above was the network rule.
    r = lab.v2c("snmpget", f"{SYS}.5.0", ns=lab.nms, host="192.0.2.1",
                community=NMS_COMMUNITY)
    assert r.returncode == 0 and "rs1.eiix" in r.stdout, r.stderr


def test_v3_user_only_from_its_networks(lab):
    # "nmsonly" may poll from the NMS host only: from loopback it gets nothing, and says why.
    r = lab.v3("snmpget", f"{SYS}.5.0", user=V3_NMS_ONLY)
    assert r.returncode != 0 and "rs1.eiix" not in r.stdout
    assert (f"refused SNMP request from 127.0.0.1: SNMPv3 user 'nmsonly' is not allowed from "
            f"this address (allowed: {NMS_IP}/32)") in lab.log()
    u = V3_NMS_ONLY
    r = ns_run(lab.nms, "snmpget", "-v3", "-u", u["name"], "-l", "authPriv", "-a", "SHA-256",
               "-A", u["auth_password"], "-x", "AES", "-X", u["priv_password"], "-t", "1",
               "-r", "1", f"192.0.2.1:{PORT}", f"{SYS}.5.0", check=False)
    assert r.returncode == 0 and "rs1.eiix" in r.stdout, r.stderr
    # an unrestricted user still polls from loopback
    assert lab.v3("snmpget", f"{SYS}.5.0").returncode == 0


def test_nothing_is_writable(lab):
    r = lab.v2c("snmpset", f"{SYS}.5.0", "s", "hacked")
    assert r.returncode != 0 and "notWritable" in (r.stdout + r.stderr)
    r = lab.v3("snmpset", f"{SYS}.6.0", "s", "hacked")
    assert r.returncode != 0 and "notWritable" in (r.stdout + r.stderr)
    got = parse_lines(lab.v2c("snmpget", f"{SYS}.5.0", f"{SYS}.6.0").stdout)
    assert got[f".{SYS}.5.0"][1] == '"rs1.eiix.example.net"'
    assert got[f".{SYS}.6.0"][1] == '"Example Town exchange, rack 1"'
    # One line for the v2c SET and one for the v3 SET.
    assert lab.log().count("refused SNMP SET from 127.0.0.1: the agent is read-only") >= 2


def test_snmpv1_is_refused(lab):
    r = lab.v2c("snmpget", f"{SYS}.5.0", opts=("-v1",))
    assert "rs1.eiix" not in r.stdout


def test_snmptable_ifxtable(lab):
    r = lab.v2c("snmptable", "IXP-TEST-TABLES-MIB::ixpIfXTable",
                opts=("-M", str(MIB_DIR), "-m", "IXP-TEST-TABLES-MIB", "-Cf", "|"),
                numeric=False)
    assert r.returncode == 0, r.stderr
    rows = [line.split("|") for line in r.stdout.splitlines() if line.startswith('"')]
    assert sorted(row[0].strip('"') for row in rows) == sorted(PORTS)
    assert all(len(row) == 19 for row in rows)


def test_mrtg_walk_by_ifname_with_64_bit_counters(lab):
    # What MRTG does for IXP Manager's "#ifName" targets with ":::::2" (SNMPv2c, HC counters):
    # find the index by ifName, then poll the HC octets with sysUpTime and sysName.
    i = if_indexes(lab)["ixp1"]
    r = lab.v2c("snmpget", f"{IFX_ENTRY}.6.{i}", f"{IFX_ENTRY}.10.{i}", f"{SYS}.3.0",
                f"{SYS}.5.0", f"{IF_ENTRY}.8.{i}", f"{IFX_ENTRY}.18.{i}")
    assert r.returncode == 0, r.stderr
    got = parse_lines(r.stdout)
    assert got[f"{IFX_ENTRY}.6.{i}"][0] == "Counter64"
    assert got[f"{IFX_ENTRY}.10.{i}"][0] == "Counter64"
    assert "No Such" not in r.stdout


def test_real_mrtg_polls_like_ixp_manager_configures_it(lab, tool, tmp_path):
    # IXP Manager's generated target: the port found by name, 64-bit counters, SNMPv2c.
    mrtg = tool("mrtg", "mrtg")
    cfg = tmp_path / "mrtg.cfg"
    cfg.write_text(
        f"WorkDir: {tmp_path}\n"
        "Options[_]: growright, bits\n"
        f"Target[ixp1-bits]: ifHCInOctets#ixp1&ifHCOutOctets#ixp1:{COMMUNITY}@127.0.0.1:"
        f"{PORT}::::2\n"
        "MaxBytes[ixp1-bits]: 1250000000\n"
        "Title[ixp1-bits]: ixp1\n")
    # The first run only creates MRTG's log (rateup warns that there was none); the second
    # must be clean: no SNMP error, no warning.
    # traffic of our own, so the counters MRTG records are not zero whatever ran before
    ns_run(lab.member, "ping", "-c", "20", "-i", "0.01", "-s", "1000", "-q", "203.0.113.1")
    first = ns_run(lab.ixp, "env", "LANG=C", mrtg, str(cfg), check=False, timeout=120)
    assert first.returncode == 0 and "SNMP" not in first.stderr, first.stderr
    # The agent caches counters for 0.5 s (so a walk does not hammer netlink): wait that out,
    # or MRTG may be served a reading older than ``before``.
    time.sleep(0.6)
    before = kernel_stats(lab.ixp, "ixp1")
    time.sleep(0.6)
    r = ns_run(lab.ixp, "env", "LANG=C", mrtg, str(cfg), check=False, timeout=120)
    after = kernel_stats(lab.ixp, "ixp1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr.strip() == "", r.stderr
    _, rx, tx = (tmp_path / "ixp1-bits.log").read_text().splitlines()[0].split()[:3]
    assert before["rx"]["bytes"] <= int(rx) <= after["rx"]["bytes"]
    assert before["tx"]["bytes"] <= int(tx) <= after["tx"]["bytes"]
    assert int(rx) > 20_000  # this test's pings are in it


def test_librenms_discovery_walks_complete(lab):
    for oid in ("1.3.6.1.2.1.1", "1.3.6.1.2.1.2", "1.3.6.1.2.1.31", "1.3.6.1.2.1.15",
                "1.3.6.1.2.1.25", "1.3.6.1"):
        for tool in ("snmpbulkwalk", "snmpwalk"):
            r = lab.v2c(tool, oid)
            assert r.returncode == 0, (oid, tool, r.stderr)
            assert "Error" not in r.stderr and "not increasing" not in r.stderr
    r = lab.v3("snmpbulkwalk", "1.3.6.1")
    assert r.returncode == 0 and len(parse_lines(r.stdout)) > 100, r.stderr


def test_concern_reload_is_idempotent(lab):
    concern = SnmpConcern()
    ctx = ApplyContext(Target(lab.state))
    new_cfg = lab_config([{"community": "rotated-community", "allowed_networks": ["127.0.0.1/32"]}])
    lab.write_config(new_cfg)
    concern.apply(new_cfg, ctx, [AGENT_FILE])
    assert concern.last_reloaded == lab.proc.pid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if lab.v2c("snmpget", f"{SYS}.5.0", community="rotated-community",
                   timeout=0.3, retries=0).returncode == 0:
            break
    assert lab.v2c("snmpget", f"{SYS}.5.0", community="rotated-community").returncode == 0
    assert lab.v2c("snmpget", f"{SYS}.5.0", community=COMMUNITY,
                   retries=0).returncode != 0
    concern.apply(new_cfg, ctx, [])  # nothing changed: no signal
    assert concern.last_reloaded is None
    lab.write_config(lab_config())
    concern.apply(lab_config(), ctx, [AGENT_FILE])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if lab.v2c("snmpget", f"{SYS}.5.0", timeout=0.3, retries=0).returncode == 0:
            break
    assert lab.v2c("snmpget", f"{SYS}.5.0").returncode == 0


def test_oper_status_and_last_change_follow_the_link(lab):
    i = if_indexes(lab)["ixp1"]
    oper, last = f"{IF_ENTRY}.8.{i}", f"{IF_ENTRY}.9.{i}"

    def poll(*want: str) -> dict:
        deadline = time.monotonic() + 15
        got: dict = {}
        while time.monotonic() < deadline:
            got = parse_lines(lab.v2c("snmpget", oper, last).stdout)
            if got.get(oper, ("", ""))[1] in want:
                break
            time.sleep(0.2)
        return got

    ns_run(lab.member, "ip", "link", "set", "eth0", "down")  # the member unplugs
    try:
        got = poll("2", "7")  # down / lowerLayerDown: no carrier from the member
        kernel = json.loads(ns_run(lab.ixp, "ip", "-j", "link", "show", "dev", "ixp1").stdout)
        assert got[oper][1] == {"DOWN": "2", "LOWERLAYERDOWN": "7"}[kernel[0]["operstate"]]
        down_at = int(got[last][1].split(")")[0].strip("("))
        assert down_at > 0
    finally:
        ns_run(lab.member, "ip", "link", "set", "eth0", "up")
    got = poll("1")
    assert got[oper] == ("INTEGER", "1")
    assert int(got[last][1].split(")")[0].strip("(")) >= down_at


def test_ifindex_stable_across_restart_and_recreated_device(lab):
    before = if_indexes(lab)
    lab.stop()
    # Recreate ixp2: the kernel gives it a new index; ours must not change.
    ns_run(lab.ixp, "ip", "link", "del", "ixp2")
    veth(lab.ixp, "ixp2", "ixp2-far", up=False)
    ns_run(lab.ixp, "ip", "link", "set", "ixp2", "master", "br-ixp", "up")
    lab.start()
    assert if_indexes(lab) == before


def test_host_resources(lab):
    got = walk(lab, "1.3.6.1.2.1.25")
    hr = ".1.3.6.1.2.1.25"
    kind, ticks = got[f"{hr}.1.1.0"]
    assert kind == "Timeticks"
    host_uptime = float(Path("/proc/uptime").read_text().split()[0])
    assert abs(int(ticks.split(")")[0].strip("(")) / 100 - host_uptime) < 60
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = int(next(x for x in meminfo if x.startswith("MemTotal")).split()[1])
    assert got[f"{hr}.2.2.0"] == ("INTEGER", str(mem_kb))
    storage = f"{hr}.2.3.1"
    assert got[f"{storage}.3.1"] == ("STRING", '"Physical memory"')
    assert got[f"{storage}.2.1"] == ("OID", ".1.3.6.1.2.1.25.2.1.2")
    assert int(got[f"{storage}.4.1"][1]) * int(got[f"{storage}.5.1"][1]) == mem_kb * 1024
    disks = {v[1].strip('"'): oid.rsplit(".", 1)[1] for oid, v in got.items()
             if oid.startswith(f"{storage}.3.") and got[f"{storage}.2.{oid.rsplit('.', 1)[1]}"][1]
             == ".1.3.6.1.2.1.25.2.1.4"}
    assert "/" in disks
    st = os.statvfs("/")
    i = disks["/"]
    assert int(got[f"{storage}.4.{i}"][1]) * int(got[f"{storage}.5.{i}"][1]) == \
        st.f_blocks * st.f_frsize
    loads = [v for oid, v in got.items() if oid.startswith(f"{hr}.3.3.1.2.")]
    assert len(loads) == os.cpu_count()
    assert all(k == "INTEGER" and 0 <= int(x) <= 100 for k, x in loads)
    descr = [v for oid, v in got.items() if oid.startswith(f"{hr}.3.2.1.3.")]
    assert len(descr) == os.cpu_count()


def _extend(lab, column: int, token: str) -> tuple[str, str]:
    """nsExtendOutput1Table column for ``token`` (a string index: length, then bytes)."""
    got = walk(lab, "1.3.6.1.4.1.8072.1.3.2")
    idx = ".".join(str(x) for x in (len(token), *token.encode()))
    return got.get(f".1.3.6.1.4.1.8072.1.3.2.3.1.{column}.{idx}", ("", ""))


def test_anycast_and_resolver_health_in_net_snmp_extend_mib(lab):
    # What the anycast helper publishes is what a monitoring system reads, in the table of
    # net-snmp's own "extend" checks (nsExtendOutput1Line / nsExtendResult by name).
    from appliance.anycast.status import write_status

    up = {"name": "192.0.2.0/24", "prefixes": ["192.0.2.0/24"], "state": "up",
          "announced": True, "callback_error": None}
    down = {"name": "2001:db8:53::/48", "prefixes": ["2001:db8:53::/48"], "state": "down",
            "announced": False, "callback_error": None}
    write_status(lab.state, [up, down])
    time.sleep(0.6)  # past the agent's cache (--cache-seconds 0.5 in the lab)
    got = walk(lab, "1.3.6.1.4.1.8072.1.3.2")
    assert got[".1.3.6.1.4.1.8072.1.3.2.1.0"] == ("INTEGER", "2")
    assert _extend(lab, 1, "anycast:192.0.2.0/24") == ("STRING", '"up, announced"')
    assert _extend(lab, 4, "anycast:192.0.2.0/24") == ("INTEGER", "0")
    assert _extend(lab, 1, "anycast:2001:db8:53::/48") == ("STRING", '"down, withdrawn"')
    assert _extend(lab, 4, "anycast:2001:db8:53::/48") == ("INTEGER", "2")
    # the helper stopped: the row says "unknown" instead of a stale "up"
    write_status(lab.state, [up], running=False)
    time.sleep(0.6)
    assert _extend(lab, 4, "anycast:192.0.2.0/24") == ("INTEGER", "3")
    assert _extend(lab, 1, "anycast:192.0.2.0/24") == ("STRING",
                                                        '"the anycast helper is not running"')
