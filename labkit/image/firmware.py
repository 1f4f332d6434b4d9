"""A firmware update on the flashed box, as the firmware test and bench/firmware_update.py do it:
the box's configuration and its backup, bundles made with image/make-bundle.sh, the member's
view of the route server's route sampled in a thread, and the Firmware page driven in a
browser. Moved here unchanged from tests/image/test_firmware_update.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from labkit.image import vm
from labkit.image.journey import MEMBER4, MEMBER6, MEMBER_MAC, Member, shot, wait_for

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "island exchange first light"
RS4, RS6 = "203.0.113.1", "2001:db8:eeee::1"
SERVICE_PREFIX = "192.0.2.0/24"  # the resolver's anycast prefix: the route the RS sends
MEMBER_ASN, RS_ASN = 64496, 64511
GSHUT = "(65535,0)"

MEMBER_BIRD = f"""
log stderr all;
router id {MEMBER4};
protocol device {{}}
protocol static s4 {{ ipv4; route 198.51.100.0/24 blackhole; }}
template bgp to_rs {{ local as {MEMBER_ASN}; hold time 30; keepalive time 10;
                   connect retry time 3; error wait time 1, 10; }}
protocol bgp rs4 from to_rs {{ neighbor {RS4} as {RS_ASN}; source address {MEMBER4};
  ipv4 {{ import all; export where proto = "s4"; }}; }}
protocol bgp rs6 from to_rs {{ neighbor {RS6} as {RS_ASN}; source address {MEMBER6};
  ipv6 {{ import all; export none; }}; }}
"""


def box_config() -> dict:
    """The box's configuration: one member on the second NIC, the resolver announced."""
    from appliance.web.accounts import hash_password
    return {
        "version": 1, "lab": True,
        "identity": {"name": "Firmware Test Internet Exchange", "short_name": "FTIX",
                     "country": "FJ", "city": "Suva", "contact_email": "noc@ftix.example.net"},
        "admin_users": [{"name": "admin", "password_hash": hash_password(PASSWORD)}],
        # qemu's first virtio NIC (PCI slot 2) manages, the second is the member's port
        "management": {"interface": "enp0s2", "hostname": "rs1.ftix.example.net",
                       "ipv4": "dhcp", "ntp": []},
        "peering_lan": {"bridge": "br-ixp", "ipv4_prefix": "203.0.113.0/24",
                        "ipv6_prefix": "2001:db8:eeee::/64"},
        "route_server": {"asn": RS_ASN, "router_id": RS4, "ipv4": RS4, "ipv6": RS6},
        "members": [{"asn": MEMBER_ASN, "name": "Island Telecom", "ports": ["enp0s3"],
                     "macs": [MEMBER_MAC], "ipv4": [MEMBER4], "ipv6": [MEMBER6]}],
        "services": {"resolver": {"enabled": True, "ipv4": ["203.0.113.53", "192.0.2.53"]},
                     "anycast": [{"prefix": SERVICE_PREFIX,
                                  # no internet and no root zone here: a name the
                                  # resolver answers itself
                                  "check": {"interval": 3, "timeout": 2, "rise": 1,
                                            "fall": 2, "query_name": "localhost"}}]},
    }


def backup_of(workdir: Path) -> Path:
    """A backup made on this machine of a state dir with ``box_config`` committed."""
    from appliance.backup.restore import create
    from appliance.box import build_pipeline

    state = workdir / "host-state"
    outcome = build_pipeline(state).run(yaml.safe_dump(box_config()), author="test",
                                  comment="firmware test box")
    assert outcome.ok, outcome.error or outcome.issues
    path = workdir / "ftix.ixpbackup"
    path.write_bytes(create(state))
    return path


def make_bundle(image: vm.BuiltImage, slot: Path, version: str, out: Path, *,
                key: vm.ReleaseKey | None = None, **env: str) -> Path:
    """``image/make-bundle.sh`` of ``slot`` as ``version`` (reused when already made)."""
    if out.exists():
        return out
    key = key or image.key
    assert key is not None
    done = subprocess.run([str(REPO / "image" / "make-bundle.sh"), str(slot), version,
                           str(out) + ".tmp"], capture_output=True, text=True,
                          env={**os.environ, **key.env(), **env}, check=False, timeout=1200)
    assert done.returncode == 0, f"make-bundle.sh {version}: {done.stderr}"
    Path(str(out) + ".tmp").rename(out)
    return out


@dataclass
class RouteWatch:
    """The member's view of the route server's route, sampled every second in a thread."""

    member: Member
    samples: list[tuple[float, bool, bool]] = field(default_factory=list)  # t, present, 65535:0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Sample until stopped."""
        def loop() -> None:
            while not self._stop.is_set():
                out = self.member.birdc(f"show route {SERVICE_PREFIX} all")
                present = "BGP.as_path" in out
                self.samples.append((time.monotonic(), present, present and GSHUT in out))
                self._stop.wait(1.0)
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    def first(self, since: float, *, present: bool, gshut: bool | None = None) -> float | None:
        """The first sample time at or after ``since`` matching."""
        for t, p, g in self.samples:
            if t >= since and p == present and (gshut is None or g == gshut):
                return t
        return None


def established(member: Member) -> bool:
    """Both of the member's sessions to the route server are up."""
    out = member.birdc("show protocols")
    return len(re.findall(r"\brs[46]\s+BGP\s+\S+\s+up\s+\S+\s+Established", out)) == 2


def has_route(member: Member, gshut: bool = False) -> bool:
    """The member has the route server's route (with 65535:0 if ``gshut``)."""
    out = member.birdc(f"show route {SERVICE_PREFIX} all")
    return "BGP.as_path" in out and (GSHUT in out) == gshut


def login_if_asked(page: Any, base: str) -> None:
    """Log in as the admin when the box asks (a new boot may have ended the session)."""
    if "/login" in page.url:
        page.fill("#name", "admin")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
    assert "/login" not in page.url, page.url


def goto(page: Any, base: str, path: str, timeout: float = 600) -> None:
    """Open ``path`` once the web UI answers (after a reboot nginx says 502 for a while)."""
    def answered() -> bool:
        resp = page.goto(base + path, timeout=30_000)
        if resp is None or resp.status >= 500:
            return False
        login_if_asked(page, base)
        if not page.url.endswith(path):
            page.goto(base + path)
        return True
    wait_for(answered, timeout, f"{path} answering", every=5)


def restore_setup(page: Any, base: str, code: str, backup: Path) -> None:
    """The setup code, then "Restore from a backup" with the backup made on this machine."""
    wait_for(lambda: page.goto(base + "/").status == 200 and page.url.endswith("/setup"), 300,
             "the setup page")
    page.fill("#code", code)
    page.click("button[type=submit]")
    page.click("#restore-offer a")
    page.set_input_files("#backup", str(backup))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    main = page.inner_text("main")
    assert page.locator("#restored").count() == 1 and "could not be applied" not in main, main
    goto(page, base, "/")


def upload(page: Any, bundle: Path) -> str:
    """Choose the bundle and press "Upload and check"; waits for the answer and returns what
    the box answered (HTTP status and the start of the body, or that nothing came back), so
    that a failure says more than the page's "the box did not answer"."""
    answers: list[str] = []

    def seen(response: Any) -> None:
        if response.url.endswith("/firmware/upload"):
            try:
                body = response.text()[:600]
            except Exception as exc:  # the body is only for the message: never fail here
                body = f"(no body: {exc})"
            answers.append(f"HTTP {response.status}: {body}")

    def failed(request: Any) -> None:
        if request.url.endswith("/firmware/upload"):
            answers.append(f"no answer: {request.failure}")

    page.on("response", seen)
    page.on("requestfailed", failed)
    try:
        page.set_input_files("#bundle", str(bundle))
        page.click("#upload-button")
        page.wait_for_selector("#confirm:not([hidden]), #upload-refused:not([hidden])",
                               timeout=900_000)
    finally:
        page.remove_listener("response", seen)
        page.remove_listener("requestfailed", failed)
    return "; ".join(answers) or "no request seen"


def install(page: Any, base: str, bundle: Path, version: str,
            drain_seconds: int) -> tuple[float, float]:
    """Upload, check what the page says about the bundle, confirm; when the upload started
    and when the update was confirmed."""
    goto(page, base, "/firmware")
    started = time.monotonic()
    answer = upload(page, bundle)
    assert page.is_visible("#confirm"), \
        f"{page.inner_text('#upload-refused')} (the box's answer: {answer})"
    assert page.inner_text("#bundle-version") == version
    assert version in page.inner_text("#bundle-notes")
    page.fill("#drain-seconds", str(drain_seconds))
    shot(page, f"firmware-confirm-{version}")
    with page.expect_navigation(timeout=300_000):
        page.click("#confirm-button")
    confirmed = time.monotonic()
    # the page the box answers with: the update under way, or why it did not start
    if page.locator("#update-progress").count() != 1:
        raise AssertionError("the update did not start; the Firmware page says: "
                             + page.inner_text("main")[:3000])
    return started, confirmed


def start_member(member: Member) -> None:
    """The member's BIRD with the firmware test's configuration."""
    member.start_bird(MEMBER_BIRD)
