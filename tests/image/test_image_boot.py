"""The product is the image: build it, boot it with BIOS and UEFI, set it up over HTTPS.

Each boot reads the serial console until the banner shows the setup code, fetches
https://127.0.0.1:<forwarded port>/setup, checks that a wrong code is refused and the right
one accepted. The BIOS box is then powered off with the ACPI button and booted into the boot
menu's FACTORY RESET entry (new setup code, new certificate).

After the reset it is set up over HTTPS (wizard, a member, an anycast prefix through the API)
and checked: each daemon runs as its own user with only its capabilities, and still works
(an SNMP walk through a forwarded port, the collector's samples, the anycast announcement).

Its peering-LAN NIC is a tap in a test namespace and a trunk: the member added on the Members
page is on VLAN 101 of it, a second one (through the API) on VLAN 102. Frames from the tap then
show, in the image's own kernel (the development kernel has no 802.1Q), that the VLAN ports
are bridge ports that answer and forward only their own VLAN (issue 16 item 10).

The UEFI boot, set up in a browser and checked on the box, is the flashed-box journey
(test_flashed_box_journey.py), which uses the helpers here. The box has no shell on its
console and no password, so the banner and HTTPS are the only ways in, as for an operator.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import urllib3

from appliance.platform import netns, shipped
from labkit.image import vm
from labkit.image.boot import (
    BANNER_TIMEOUT,
    DISK_BYTES,
    MEMBER_SESSIONS,
    TIMINGS,
    Https,
    boot_to_banner,
    complete_setup,
    csrf_token,
    expect_running,
    wait_for_setup_page,
)

pytestmark = [pytest.mark.image, pytest.mark.timeout(3000)]


def check_setup_code_flow(port: int, code: str) -> None:
    """The wizard asks for the setup code, refuses a wrong one, accepts the right one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        page = wait_for_setup_page(port)
        assert 'name="code"' in page.text, "the setup page does not ask for the code"
        with requests.Session() as s:
            # verify=False on every call: a Session-wide False loses to REQUESTS_CA_BUNDLE.
            url = f"https://127.0.0.1:{port}/setup"
            form = s.get(url, verify=False, timeout=30)
            wrong = "2222-3333-4444" if code != "2222-3333-4444" else "5555-6666-7777"
            refused = s.post(url, data={"csrf_token": csrf_token(form.text), "code": wrong},
                             allow_redirects=False, verify=False, timeout=30)
            assert refused.status_code == 401, f"a wrong code got HTTP {refused.status_code}"
            accepted = s.post(url, data={"csrf_token": csrf_token(refused.text), "code": code},
                              allow_redirects=False, verify=False, timeout=30)
            assert accepted.status_code in (302, 303), \
                f"the console's code was not accepted: HTTP {accepted.status_code}"
            assert accepted.headers["Location"].rstrip("/").endswith("/setup/admin")
            admin = s.get(f"{url}/admin", verify=False, timeout=30)
            assert admin.status_code == 200 and 'name="password"' in admin.text


SERVICE_PREFIX, SERVICE_ADDRESS = "192.0.2.0/24", "192.0.2.53"
SNMP_V3 = ["-v3", "-l", "authPriv", "-u", "librenms", "-a", "SHA-256", "-A", "auth-pass-phrase",
           "-x", "AES", "-X", "priv-pass-phrase", "-t", "10", "-r", "2"]


def add_anycast_prefix(web: Https, members: tuple[dict, ...] = ()) -> None:
    """The resolver's anycast prefix, through the API as an operator's script adds it (the web
    UI has no form for it): an admin token from the Users page, then GET and PUT the config,
    with ``members`` added in the same change. Revision 3."""
    users = web.get("/users")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        made = web.session.post(web.base + "/users/tokens", verify=False, timeout=120, data={
            "csrf_token": csrf_token(users.text), "label": "image test", "scope": "admin",
            "days": "30"})
        assert made.status_code == 200, f"making a token: HTTP {made.status_code}"
        token = re.search(r"ixp_[0-9a-f]{8}_[A-Za-z0-9_-]+", made.text)
        assert token, "the Users page showed no new token"
        auth = {"Authorization": f"Bearer {token.group(0)}"}
        cfg = requests.get(web.base + "/api/v1/config", headers=auth, verify=False,
                           timeout=120).json()
        cfg["services"]["resolver"]["ipv4"].append(SERVICE_ADDRESS)
        # the check asks for a name unbound answers from its own data (the RFC 1918 reverse
        # zone): the default, the root ".", needs the root zone copy, which this box (no
        # internet) never fetches, so it would never turn healthy
        cfg["services"]["anycast"] = [{"prefix": SERVICE_PREFIX,
                                       "check": {"query_name": "10.in-addr.arpa"}}]
        cfg["members"] += list(members)
        put = requests.put(web.base + "/api/v1/config?base=2&comment=anycast", json=cfg,
                           headers=auth, verify=False, timeout=900)
    assert put.status_code == 200, f"PUT /api/v1/config: HTTP {put.status_code}: {put.text}"


def snmpwalk(port: int, oid: str) -> str:
    """What the box's SNMP agent answers a walk of ``oid`` with (SNMPv3, the wizard's user),
    through qemu's forward of the management NIC's port 161."""
    import subprocess
    out = subprocess.run(["snmpwalk", *SNMP_V3, "-On", f"udp:127.0.0.1:{port}", oid],
                         capture_output=True, text=True, timeout=120, check=False)
    return out.stdout + out.stderr


def check_daemons_work(box: vm.Vm, web: Https, label: str) -> None:
    """The daemons that run as their own users still do their work: the SNMP agent answers a
    walk (BGP rows too: BIRD's socket through the bird group), the collector writes samples
    (the port's rate on the Status API), the anycast helper announces the service prefix."""
    deadline = time.monotonic() + 300
    seen: dict[str, object] = {}
    while True:
        status = web.get("/api/v1/status").json()
        port = [p for p in status["ports"] if "Coral Cloud" in p["member"]]
        anycast = status.get("anycast") or {}
        checkers = anycast.get("checkers") or []
        seen = {"port": port, "anycast": anycast, "snmp": status.get("snmp")}
        if (port and port[0]["rx_bps"] is not None and anycast.get("running")
                and checkers and checkers[0].get("announced")):
            break
        if time.monotonic() >= deadline:
            raise AssertionError(f"{label}: the collector's samples or the anycast "
                                 f"announcement are missing: {seen}")
        time.sleep(10)
    assert checkers[0]["prefixes"] == [SERVICE_PREFIX], checkers
    TIMINGS[f"anycast_{label}"] = {k: checkers[0][k] for k in ("state", "announced",
                                                                "checks_total")}
    location = snmpwalk(box.snmp_port, "1.3.6.1.2.1.1.6")  # sysLocation
    assert '"qemu"' in location or "qemu" in location, f"{label}: SNMP walk: {location}"
    # bgpPeerRemoteAddr: rows only when the agent reads BIRD over its control socket
    peers = snmpwalk(box.snmp_port, "1.3.6.1.2.1.15.3.1.7")
    assert "203.0.113.10" in peers, f"{label}: BGP4-MIB walk: {peers}"
    TIMINGS[f"snmp_walk_{label}"] = location.strip()


# What the banner shows from `ixpctl services` once BIRD runs the committed revision (2: the
# wizard's, then the member) and every daemon is up.
SERVICES = (r"Services: ([^\r\n]*)[\r\n]+\s*Route server: BIRD ([\d.]+) runs the installed "
            r"configuration of revision (\d+): (\d+) protocols, (\d+) BGP sessions")


def check_route_server(box: vm.Vm, label: str, revision: int) -> None:
    """The banner says BIRD runs revision ``revision``'s installed config and units are up."""
    deadline = time.monotonic() + BANNER_TIMEOUT
    while True:
        match = box.expect_match(SERVICES, timeout=max(1.0, deadline - time.monotonic()))
        services = dict(item.rsplit(" ", 1) for item in match.group(1).split(", "))
        wanted = ("bird", "unbound", "snmp", "collector", "web")
        if int(match.group(3)) == revision and all(services.get(s) == "active"
                                                   for s in wanted):
            break
        if time.monotonic() >= deadline:
            raise AssertionError(f"{label}: the banner still says {match.group(0)!r}")
    assert int(match.group(5)) == MEMBER_SESSIONS, \
        f"{label}: BIRD has {match.group(5)} BGP sessions, the member makes {MEMBER_SESSIONS}"
    # the route server the lab tests ran is the one the box runs (issue 19)
    tested = shipped.versions().get("bird2", "")
    assert tested, "the lab tests ran no shipped BIRD: IXP_SHIPPED_ROOT is not set"
    assert tested.split("-")[0] == match.group(2), \
        f"{label}: the box runs BIRD {match.group(2)}, the lab tests ran bird2 {tested}"
    TIMINGS["bird_version_box"] = match.group(2)
    TIMINGS["bird_version_lab"] = tested
    # stayrtr has nothing to serve (no VRPs imported): its unit is skipped, not failed.
    assert services.get("stayrtr") in ("inactive", "active"), services
    TIMINGS[f"route_server_ok_seconds_{label}"] = round(time.monotonic() - box.started, 1)
    # What the box said, kept beside the timings as the evidence of this run.
    TIMINGS[f"banner_{label}"] = " | ".join(
        line.strip() for line in match.group(0).splitlines() if line.strip())


# Who each daemon runs as (issue 16 item 8): BIRD and unbound drop root themselves, the
# appliance's own daemons are started as users of their own by their units (User=).
RUNS_AS = {"bird": "bird", "unbound": "unbound", "stayrtr": "ixp-stayrtr", "snmp": "ixp-snmp",
           "collector": "ixp-collector", "anycast": "ixp-anycast", "web": "ixp-web"}
# The capabilities each may still use once it runs (CapEff of its main process, as the banner
# names them): at most these for the daemons that drop root themselves, exactly these for ours.
MAY_KEEP = {"bird": {"net_admin", "net_bind_service", "net_raw", "net_broadcast"},
            "unbound": set()}
KEEPS = {"stayrtr": set(), "snmp": {"net_bind_service", "net_raw"},
         "collector": {"net_admin"}, "anycast": {"net_admin"}, "web": set()}
# stayrtr runs only with a validator entry on the box (none here): its unit is then skipped.
MAY_BE_STOPPED = ("stayrtr",)
CONFINED = ("bird", "unbound", "stayrtr", "snmp", "collector", "anycast", "web")
# systemd-analyze security levels: the daemons must not be EXPOSED or UNSAFE (>= 7.0); the
# boot-time restore and the apply helper are root, to apply changes, but bounded to what that
# takes (ProtectSystem=strict, a capability bounding set, a system call filter): below 5.0
# (7.5 when they had every capability and /var writable).
MAX_EXPOSURE = 7.0
MAX_EXPOSURE_ROOT = 5.0


def check_least_privilege(box: vm.Vm, label: str) -> None:
    """The banner right after the services: who each daemon runs as, and its unit's score."""
    # Up to the line's end: pexpect matches whatever has arrived so far.
    runs = box.expect(r"Runs as: ([^\r\n]*)[\r\n]", timeout=120)
    users = dict(item.rsplit(" ", 1) for item in runs.strip().split(", "))
    caps_line = box.expect(r"Capabilities: ([^\r\n]*)[\r\n]", timeout=120)
    # "DAEMON NAME+NAME", "DAEMON none", "DAEMON -" (not running), "web all but NAME+NAME"
    caps = dict(item.split(" ", 1) for item in caps_line.strip().split(", "))
    for daemon, user in RUNS_AS.items():
        if daemon in MAY_BE_STOPPED and users.get(daemon) == "-":
            continue
        assert users.get(daemon) == user, f"{label}: {daemon} runs as {users.get(daemon)!r}"
        held = set() if caps.get(daemon) == "none" else set(caps.get(daemon, "?").split("+"))
        if daemon in KEEPS:
            assert held == KEEPS[daemon], f"{label}: {daemon} holds {caps.get(daemon)!r}"
        else:
            assert held <= MAY_KEEP[daemon], f"{label}: {daemon} holds {caps.get(daemon)!r}"
    line = box.expect(r"Sandbox: ([^\r\n]*)[\r\n]", timeout=120)
    scores: dict[str, float] = {}
    for item in line.strip().split(", "):
        name, score, _level = item.split(" ")
        scores[name] = float(score)
    for daemon in CONFINED:
        assert scores[daemon] < MAX_EXPOSURE, f"{label}: {daemon} exposure {scores[daemon]}"
    # the boot-time restore and the apply helper apply changes as root, bounded
    for daemon in ("restore", "apply"):
        assert scores[daemon] < MAX_EXPOSURE_ROOT, f"{label}: {daemon} exposure {scores[daemon]}"
    # nginx: root master, www-data workers, sandboxed to its files and ports
    assert scores["https"] < MAX_EXPOSURE, f"{label}: https exposure {scores['https']}"
    TIMINGS[f"runs_as_{label}"] = runs.strip()
    TIMINGS[f"capabilities_{label}"] = caps_line.strip()
    TIMINGS[f"sandbox_{label}"] = line.strip()


# The peering-LAN NIC as a trunk: the form's member on VLAN_A, the API's on VLAN_B; VLAN_M is
# one no member has. Lagoon Net has no route-server session (MEMBER_SESSIONS stays the same).
VLAN_A, VLAN_B, VLAN_M = 101, 102, 103
MEMBER_MAC, MEMBER4, RS4 = "02:00:5e:10:00:01", "203.0.113.10", "203.0.113.1"
SECOND_MAC, SECOND4 = "02:00:5e:10:00:02", "203.0.113.11"


def second_member(nic: str) -> dict:
    """The second member, on VLAN_B of the same NIC (added through the API)."""
    return {"asn": 327701, "name": "Lagoon Net", "ports": [{"interface": nic, "vlan": VLAN_B}],
            "macs": [SECOND_MAC], "ipv4": [SECOND4], "route_server": False}


@contextlib.contextmanager
def lan_namespace() -> Iterator[str]:
    """A test namespace holding the tap that is the box's peering-LAN NIC (the cable to the
    members' trunk), removed afterwards whatever happens."""
    prefix = netns.unique_prefix("ixv")
    name = f"{prefix}-lan"
    try:
        netns.create(name)
        for argv in (["ip", "link", "set", "lo", "up"],
                     ["ip", "tuntap", "add", "dev", "tap0", "mode", "tap"],
                     # quiet: only the frames the test sends leave this end of the cable
                     ["sysctl", "-qw", "net.ipv6.conf.tap0.disable_ipv6=1"],
                     ["ip", "link", "set", "tap0", "address", MEMBER_MAC, "up"]):
            netns.run(name, argv, timeout=30)
        yield name
    finally:
        for made in netns.list_with_prefix(prefix):
            netns.remove(made)


# Runs inside the LAN namespace. Frames that must not get through go first, then those that
# must: the box handles the frames of its one virtio queue in order, so once the answers to
# the later ones are back, anything the earlier ones could have caused has arrived too. A frame
# that "reached another member" is one the box sends back tagged VLAN_B: unicast to the second
# member's MAC (the bridge forwards it to that member's port alone; IPv4 broadcast other than
# ARP is dropped at every port).
VLAN_FRAMES = r"""
import json, sys, time
from scapy.all import ARP, ICMP, IP, UDP, AsyncSniffer, Dot1Q, Ether, Raw, sendp
a = json.loads(sys.argv[1])
mac, me, rs, N, B, M = a["mac"], a["ip"], a["rs"], a["vlan"], a["other"], a["foreign"]
peer_mac, peer_ip = a["peer_mac"], a["peer_ip"]
seen = []
sniffer = AsyncSniffer(iface="tap0", prn=seen.append, store=False)
sniffer.start()
time.sleep(1)

def tags(p):
    out = []
    while p is not None and p.haslayer(Dot1Q):
        p = p.getlayer(Dot1Q)
        out.append(p.vlan)
        p = p.payload
    return out

def wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for p in list(seen):
            if pred(p):
                return p
        time.sleep(0.2)
    return None

def tagged(frame, vlans):
    for v in vlans:
        frame = frame / Dot1Q(vlan=v)
    return frame

def arp(vlans):
    return tagged(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff"), vlans) / ARP(
        op=1, hwsrc=mac, psrc=me, pdst=rs)

def echo(dst, ident, vlans):
    return tagged(Ether(src=mac, dst=dst), vlans) / IP(src=me, dst=rs) / ICMP(
        id=ident, seq=1) / Raw(b"vlanport")

def to_peer(marker, vlans):
    return tagged(Ether(src=mac, dst=peer_mac), vlans) / IP(src=me, dst=peer_ip) / UDP(
        sport=40404, dport=40404) / Raw(marker.encode())

def is_arp_reply(p):
    return p.haslayer(ARP) and p[ARP].op == 2 and p[ARP].psrc == rs

reply = None
for _ in range(6):
    sendp(arp([N]), iface="tap0", verbose=False)
    reply = wait(is_arp_reply, 10)
    if reply is not None:
        break
out = {"arp_tags": tags(reply) if reply is not None else None}
if reply is not None:
    rs_mac = reply[ARP].hwsrc
    seen.clear()
    # must not get through: untagged, a VLAN of no member, a second tag inside N (QinQ)
    sendp([echo(rs_mac, 1, []), echo(rs_mac, 2, [M]), echo(rs_mac, 3, [N, 7]),
           to_peer("neg-untagged", []), to_peer("neg-foreign", [M]),
           to_peer("neg-qinq", [N, 7])], iface="tap0", verbose=False)
    # not the bridge but the box's own stack on the trunk NIC: neither ARP nor the echo answered
    sendp([arp([]), echo(a["trunk_mac"], 5, [])], iface="tap0", verbose=False)
    # must get through: an echo in VLAN N, and a frame to the member in VLAN B
    sendp([echo(rs_mac, 4, [N]), to_peer("pos-vlan", [N])], iface="tap0", verbose=False)
    answer = wait(lambda p: p.haslayer(ICMP) and p[ICMP].type == 0 and p[ICMP].id == 4, 60)
    forwarded = wait(lambda p: tags(p) == [B] and b"pos-vlan" in bytes(p), 60)
    time.sleep(1)
    out.update(
        rs_mac=rs_mac,
        echo_tags=tags(answer) if answer is not None else None,
        peer_tags=tags(forwarded) if forwarded is not None else None,
        replies={str(p[ICMP].id): tags(p) for p in seen
                 if p.haslayer(ICMP) and p[ICMP].type == 0},
        leaked=sorted({m for p in seen if tags(p)[:1] == [B]
                       for m in ("neg-untagged", "neg-foreign", "neg-qinq")
                       if m.encode() in bytes(p)}),
        untagged_arp_replies=[p[ARP].hwsrc for p in seen if is_arp_reply(p) and not tags(p)],
        qinq_sent=2)
sniffer.stop()
print(json.dumps(out))
"""


def check_vlan_ports(web: Https, lan_ns: str, nic: str, label: str) -> None:
    """Members on VLAN ports of one trunk NIC, in the image's kernel: listed as such, each
    ``<nic>.<vid>`` a port of the bridge (what the box's kernel says), the route server
    answering in the member's VLAN only, untagged frames, another VLAN's and a second tag
    reaching no other member, the second tag counted as dropped."""
    started = time.monotonic()
    listed = web.get("/members").text
    assert f"<code>{nic}</code> · VLAN {VLAN_A}" in listed, "the Members page shows no VLAN"
    port_a, port_b = f"{nic}.{VLAN_A}", f"{nic}.{VLAN_B}"
    deadline = time.monotonic() + 120
    while True:
        rows = {p["port"]: p for p in web.get("/api/v1/status").json()["ports"]}
        if all(rows.get(p, {}).get("bridge") == "br-ixp" and rows[p]["up"]
               for p in (port_a, port_b)):
            break
        if time.monotonic() >= deadline:
            raise AssertionError(f"{label}: the VLAN ports are not up in br-ixp: {rows}")
        time.sleep(5)
    before = rows[port_a]["drops"].get("ethertype", 0)
    args = {"mac": MEMBER_MAC, "ip": MEMBER4, "rs": RS4, "vlan": VLAN_A, "other": VLAN_B,
            "foreign": VLAN_M, "trunk_mac": vm.LAN_MAC, "peer_mac": SECOND_MAC,
            "peer_ip": SECOND4}
    ran = netns.run(lan_ns, [sys.executable, "-c", VLAN_FRAMES, json.dumps(args)],
                    timeout=300, check=False)
    assert ran.returncode == 0 and ran.stdout.strip(), \
        f"{label}: the frames script failed ({ran.returncode}): {ran.stdout}{ran.stderr[-3000:]}"
    seen = json.loads(ran.stdout.strip().splitlines()[-1])
    TIMINGS[f"vlan_frames_{label}"] = seen
    assert seen["arp_tags"] == [VLAN_A], f"{label}: the route server's ARP answer: {seen}"
    assert seen["echo_tags"] == [VLAN_A], f"{label}: no echo reply in VLAN {VLAN_A}: {seen}"
    assert seen["peer_tags"] == [VLAN_B], \
        f"{label}: a frame in VLAN {VLAN_A} did not reach the member in VLAN {VLAN_B}: {seen}"
    # 5: an untagged echo to the trunk's own MAC (the box's stack on a NIC that is neither
    # the LAN nor management: the firewall drops it before its echo limit)
    for ident, what in (("1", "an untagged"), ("2", f"a VLAN {VLAN_M}"), ("3", "a QinQ"),
                        ("5", "the trunk's own untagged")):
        assert ident not in seen["replies"], f"{label}: {what} echo request was answered: {seen}"
    assert seen["leaked"] == [], f"{label}: frames reached the member in VLAN {VLAN_B}: {seen}"
    # the trunk's arp_ignore=1: the box's stack on the trunk answers ARP for no address
    assert seen["untagged_arp_replies"] == [], \
        f"{label}: the box answered an untagged ARP on the trunk NIC: {seen}"

    def counted() -> int:
        rows = {p["port"]: p for p in web.get("/api/v1/status").json()["ports"]}
        return rows[port_a]["drops"].get("ethertype", 0) - before
    deadline = time.monotonic() + 120
    while counted() < seen["qinq_sent"]:
        if time.monotonic() >= deadline:
            raise AssertionError(f"{label}: {counted()} of the {seen['qinq_sent']} QinQ "
                                 f"frames counted as ethertype drops on {port_a}")
        time.sleep(5)
    TIMINGS[f"vlan_qinq_counted_{label}"] = counted()
    TIMINGS[f"vlan_check_seconds_{label}"] = round(time.monotonic() - started, 1)


def test_image_is_lean_gpt(image_build: vm.BuiltImage) -> None:
    """Four partitions in the documented order; the image stays small."""
    TIMINGS.update(image_bytes=image_build.size, compressed_bytes=image_build.compressed_size,
                   build_seconds=image_build.build_seconds, build_reused=image_build.reused,
                   root_used_mib=image_build.root_used_mib,
                   packages=len(image_build.packages))
    # What made the image heavy once and is not needed on the box (docs/install.md).
    for unwanted in ("perl", "perl-modules-5.36", "libperl5.36", "usrmerge", "snmp",
                     "python3-pip-whl", "python3-setuptools-whl"):
        assert unwanted not in image_build.packages, f"the image carries {unwanted}"
    venv = (image_build.path.parent / "venv.list").read_text().split()
    assert "appliance" in venv and not [n for n in venv if n.startswith(("pip", "setuptools"))]
    # the management plane's tools (appliance/management)
    assert {"systemd-timesyncd", "systemd-resolved", "tzdata"} <= set(image_build.packages)
    parts = vm.partition_table(image_build.path)
    assert [p.get("name") for p in parts] == ["bios-boot", "efi", "ixp-root-a", "ixp-root-b",
                                             "ixp-data"]
    assert parts[0]["type"] == "21686148-6453-6F6E-6744-6D6F76654966"
    assert parts[1]["type"] == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
    # two system slots of the same size (B empty until the first update), one data partition
    assert parts[2]["size"] == parts[3]["size"] and parts[2]["type"] == parts[3]["type"]
    assert vm.ext4_size(image_build.path, parts[2]["start"])[1] == "ixp-root"
    assert vm.ext4_size(image_build.path, parts[4]["start"])[1] == "ixp-data"
    slot_bytes = parts[2]["size"] * vm.SECTOR
    assert slot_bytes > image_build.root_used_mib * 1024**2 * 1.25, "no headroom in the slots"
    assert image_build.size < 3 * 1024**3, "the raw image grew past 3 GiB"
    sums = (image_build.path.parent / "SHA256SUMS").read_text()
    assert "ixp-appliance.img.zst" in sums
    # the signed update bundle of the same system, beside the image
    assert image_build.bundle is not None and image_build.bundle.name in sums
    TIMINGS["bundle_bytes"] = image_build.bundle.stat().st_size
    assert {"rauc", "grub-common"} <= set(image_build.packages)


def test_bios_boot_reaches_wizard_then_factory_reset(image_build: vm.BuiltImage,
                                                     tmp_path: Path) -> None:
    """Legacy BIOS (SeaBIOS): banner, wizard over HTTPS, power-off; then the boot menu's
    FACTORY RESET entry gives the box a new setup code and a new certificate."""
    disk = vm.make_disk(image_build.path, tmp_path / "bios.img", DISK_BYTES)
    with lan_namespace() as lan_ns:
        box = vm.Vm(disk, tmp_path, uefi=False, name="bios", lan_tap=(lan_ns, "tap0"))
        bios_box(box, disk)


def bios_box(box: vm.Vm, disk: Path) -> None:
    """The BIOS test's box, from the first boot to the last power-off."""
    try:
        code = boot_to_banner(box, "bios")
        check_setup_code_flow(box.https_port, code)
        fingerprint = vm.https_fingerprint(box.https_port)
        assert box.power_off(), "the box did not shut down on the ACPI power button"

        box.start()
        box.expect("FACTORY RESET", timeout=300)  # GRUB's menu, drawn on the serial console
        assert box.child is not None
        box.child.send("\x1b[B")  # arrow down to the second entry (VT100, as GRUB reads it)
        box.child.send("\r")
        box.expect("ixp-factory-reset: erasing", timeout=BANNER_TIMEOUT)
        new_code = boot_to_banner(box, "bios_factory_reset", start=False)
        assert new_code != code, "the factory reset kept the old setup code"
        wait_for_setup_page(box.https_port)
        assert vm.https_fingerprint(box.https_port) != fingerprint, \
            "the factory reset kept the old HTTPS certificate"
        check_setup_code_flow(box.https_port, new_code)
        # set up: the daemons run as their own users (issue 16 item 8) and still work; the
        # members are on VLAN ports of the LAN NIC (issue 16 item 10)
        web = complete_setup(box.https_port, new_code, vlan=VLAN_A)
        nic = web.nics[vm.LAN_MAC]
        add_anycast_prefix(web, members=(second_member(nic),))
        check_route_server(box, "bios", revision=3)
        check_least_privilege(box, "bios")
        check_daemons_work(box, web, "bios")
        assert box.lan_tap is not None
        check_vlan_ports(web, box.lan_tap[0], nic, "bios")
        expect_running(box, "bios_configured")
        assert box.power_off()
    finally:
        TIMINGS[f"console_stalls_{box.name}"] = box.stalls
        TIMINGS[f"console_menu_kicks_{box.name}"] = box.kicks
        box.kill()
        disk.unlink(missing_ok=True)  # 4 GiB sparse copy: do not leave it in pytest's tmp
