"""The product is the image: build it, boot it with BIOS and UEFI, set it up over HTTPS.

Each boot reads the serial console until the banner shows the setup code, fetches
https://127.0.0.1:<forwarded port>/setup, checks that a wrong code is refused and the right
one accepted. The BIOS box is then powered off with the ACPI button and booted into the boot
menu's FACTORY RESET entry (new setup code, new certificate).

After the reset it is set up over HTTPS (wizard, a member, an anycast prefix through the API)
and checked: each daemon runs as its own user with only its capabilities, and still works
(an SNMP walk through a forwarded port, the collector's samples, the anycast announcement).

The UEFI boot, set up in a browser and checked on the box, is the flashed-box journey
(test_flashed_box_journey.py), which uses the helpers here. The box has no shell on its
console and no password, so the banner and HTTPS are the only ways in, as for an operator.
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import pytest
import requests
import urllib3

from appliance.platform import shipped
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


def add_anycast_prefix(web: Https) -> None:
    """The resolver's anycast prefix, through the API as an operator's script adds it (the web
    UI has no form for it): an admin token from the Users page, then GET and PUT the config.
    Revision 3."""
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
# boot-time restore and the apply helper keep root's capabilities to apply changes, but must
# not be UNSAFE (>= 9.0) either.
MAX_EXPOSURE = 7.0
MAX_EXPOSURE_WEB = 9.0


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
    # the boot-time restore and the apply helper apply changes with root's capabilities
    for daemon in ("restore", "apply"):
        assert scores[daemon] < MAX_EXPOSURE_WEB, f"{label}: {daemon} exposure {scores[daemon]}"
    # nginx: root master, www-data workers, sandboxed to its files and ports
    assert scores["https"] < MAX_EXPOSURE, f"{label}: https exposure {scores['https']}"
    TIMINGS[f"runs_as_{label}"] = runs.strip()
    TIMINGS[f"capabilities_{label}"] = caps_line.strip()
    TIMINGS[f"sandbox_{label}"] = line.strip()


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
    box = vm.Vm(disk, tmp_path, uefi=False, name="bios")
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
        # set up: the daemons run as their own users (issue 16 item 8) and still work
        web = complete_setup(box.https_port, new_code)
        add_anycast_prefix(web)
        check_route_server(box, "bios", revision=3)
        check_least_privilege(box, "bios")
        check_daemons_work(box, web, "bios")
        expect_running(box, "bios_configured")
        assert box.power_off()
    finally:
        TIMINGS[f"console_stalls_{box.name}"] = box.stalls
        box.kill()
        disk.unlink(missing_ok=True)  # 4 GiB sparse copy: do not leave it in pytest's tmp
