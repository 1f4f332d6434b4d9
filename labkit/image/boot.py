"""Booting the flashed image and setting it up over HTTPS, as an operator does: the console's
banner and setup code, a browser-like session with the box's web UI, the minimal wizard.

Shared by the image tests (tests/image) and the benchmarks that boot the image
(bench/image_memory.py, bench/firmware_update.py); moved here unchanged from
tests/image/test_image_boot.py.
"""

from __future__ import annotations

import re
import time
import warnings

import requests
import urllib3

from labkit.image import vm
from labkit.webform import form_fields

# Build time, image size and boot-to-banner times: printed at the end of the image tests
# (tests/image/conftest.py), never asserted.
TIMINGS: dict[str, object] = {}

DISK_BYTES = 4 * 1024**3  # the "real disk" the image is written to: bigger than the image
BANNER_TIMEOUT = 900  # TCG on a busy 2-core machine; the measured time is printed


def wait_for_setup_page(port: int, timeout: float = 300) -> requests.Response:
    """GET /setup once nginx and the app answer (they may start after the banner)."""
    deadline = time.monotonic() + timeout
    last: Exception | str = "never answered"
    while time.monotonic() < deadline:
        try:
            with warnings.catch_warnings():  # self-signed on purpose: made on the box
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                resp = requests.get(f"https://127.0.0.1:{port}/setup", verify=False,
                                    timeout=20)
            if resp.status_code == 200:
                return resp
            last = f"HTTP {resp.status_code}"
        except requests.RequestException as exc:
            last = exc
        time.sleep(3)
    raise AssertionError(f"https://127.0.0.1:{port}/setup did not answer 200: {last}")


def csrf_token(html: str) -> str:
    """The wizard form's CSRF token."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the setup form has no CSRF token"
    return found.group(1)



def boot_to_banner(box: vm.Vm, label: str, *, start: bool = True) -> str:
    """Start the box and return the setup code from its console; records the time.

    Also waits until the banner reports the boot finished and checks that systemd says
    "running", not "degraded" (the banner then names the failed units).
    """
    if start:
        box.start()
    code = box.expect(vm.SETUP_CODE, timeout=BANNER_TIMEOUT)
    TIMINGS[f"boot_to_banner_seconds_{label}"] = round(time.monotonic() - box.started, 1)
    expect_running(box, label)
    return code


def expect_running(box: vm.Vm, label: str) -> None:
    """The banner's next "System:" line must say running (else it names the failed units)."""
    state = box.expect(r"System: (running|degraded|maintenance|stopping|starting)\b",
                       timeout=BANNER_TIMEOUT)
    if state == "starting":  # the banner came up before the last unit finished starting
        state = box.expect(r"System: (running|degraded|maintenance|stopping)\b",
                           timeout=BANNER_TIMEOUT)
    if state != "running":
        failed = box.expect(r"Failed units: ([^\r\n]*)", timeout=30)
        raise AssertionError(f"{label}: systemd is {state}; failed units: {failed}")


class Https:
    """A browser-like session with the box's web UI (self-signed certificate: not verified)."""

    def __init__(self, port: int) -> None:
        self.base = f"https://127.0.0.1:{port}"
        self.session = requests.Session()
        self.nics: dict[str, str] = {}  # MAC -> NIC name, as the wizard showed them

    def get(self, path: str) -> requests.Response:
        """GET, following redirects."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            # verify=False on every call: a Session-wide False loses to REQUESTS_CA_BUNDLE.
            return self.session.get(self.base + path, verify=False, timeout=120)

    def post_form(self, path: str, data: dict[str, str]) -> requests.Response:
        """GET the form for its CSRF token, POST ``data``; the redirect is not followed."""
        form = self.get(path)
        assert form.status_code == 200, f"GET {path}: HTTP {form.status_code}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            return self.session.post(self.base + path,
                                     data={**data, "csrf_token": csrf_token(form.text)},
                                     allow_redirects=False, verify=False, timeout=300)

    def post_with_token(self, path: str, page: str) -> requests.Response:
        """Click the button of ``page``'s form that posts to ``path``: its hidden fields (the
        CSRF token, the candidate's id and digest) are sent."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            return self.session.post(self.base + path, data=form_fields(page, path),
                                     allow_redirects=False, verify=False, timeout=300)

    def wait_job(self, location: str, timeout: float = 900) -> dict:
        """Poll an apply job's JSON until it is done; its outcome must be ok."""
        deadline = time.monotonic() + timeout
        job: dict = {}
        while time.monotonic() < deadline:
            job = self.get(location + ".json").json()
            if job["done"]:
                break
            time.sleep(3)
        assert job.get("done"), f"the apply did not finish in {timeout:g} s: {job}"
        assert job["outcome"]["ok"], f"the apply failed: {job['outcome']}"
        return job


def nic_names(html: str) -> dict[str, str]:
    """MAC -> NIC name from the NIC table the wizard and the member form show."""
    rows = re.findall(r"<td><code>([^<]+)</code></td><td>([0-9a-f:]{17})</td>", html)
    return {mac: name for name, mac in rows}


def form_errors(html: str) -> list[str]:
    """The problems a refused form names (what the operator would read next to the fields)."""
    return re.findall(r'<p class="error"[^>]*>(.*?)</p>', html, re.S) or [html[-1500:]]


PASSWORD = "correct-horse-battery-9"
MEMBER_SESSIONS = 2  # the one member has an IPv4 and an IPv6 address: a session each


def complete_setup(port: int, code: str, vlan: int | None = None) -> Https:
    """A minimal setup as an operator does it: setup code, admin, the wizard, one member
    (on VLAN ``vlan`` of the LAN NIC, if given).

    Returns the admin's logged-in session (revisions 1, the wizard's, and 2, the member)."""
    web = Https(port)
    assert web.post_form("/setup", {"code": code}).status_code in (302, 303)
    made = web.post_form("/setup/admin", {"name": "admin", "password": PASSWORD,
                                          "password2": PASSWORD})
    assert made.status_code in (302, 303), f"creating the admin: HTTP {made.status_code}"
    nics = web.nics = nic_names(web.get("/wizard/management").text)
    assert vm.MGMT_MAC in nics and vm.LAN_MAC in nics, f"the wizard shows NICs {nics}"
    steps = {
        "identity": {"name": "Image Test Internet Exchange", "short_name": "ITIX",
                     "country": "FJ", "city": "Suva", "contact_email": "noc@itix.example.net"},
        "management": {"interface": nics[vm.MGMT_MAC], "hostname": "rs1.itix.example.net",
                       "ipv4": "dhcp", "timezone": "UTC"},
        "peering_lan": {"ipv4_prefix": "203.0.113.0/24", "ipv6_prefix": "2001:db8:eeee::/64",
                        "mtu": "1500", "bridge": "br-ixp"},
        "route_server": {"asn": "65000", "ipv4": "203.0.113.1", "ipv6": "2001:db8:eeee::1",
                         "router_id": "203.0.113.1", "policy.rpki": "tag_only",
                         "policy.irr": "off"},
        "services": {"resolver.enabled": "on", "resolver.ipv4": "203.0.113.53"},
        "snmp": {"enabled": "on", "location": "qemu", "users.0.name": "librenms",
                 "users.0.auth_password": "auth-pass-phrase",
                 "users.0.priv_password": "priv-pass-phrase"},
    }
    for step, values in steps.items():
        resp = web.post_form(f"/wizard/{step}", {**values, "action": "next"})
        assert resp.status_code in (302, 303), \
            f"wizard step {step}: HTTP {resp.status_code}: {form_errors(resp.text)}"
    review = web.get("/wizard/review")
    assert "Everything checks out" in review.text, review.text[-3000:]
    job = web.post_with_token("/wizard/apply", review.text)
    assert job.status_code in (302, 303), f"wizard apply: HTTP {job.status_code}"
    web.wait_job(job.headers["Location"])

    member = web.post_form("/members/new", {
        # a public ASN: documentation ASNs are refused outside a lab configuration
        "asn": "327700", "name": "Coral Cloud", "ports": nics[vm.LAN_MAC],
        "macs": "02:00:5e:10:00:01", "ipv4": "203.0.113.10", "ipv6": "2001:db8:eeee::10",
        "max_prefix.ipv4": "100", "max_prefix.ipv6": "100", "route_server": "on",
        "vlan": str(vlan or "")})
    assert member.status_code in (302, 303), \
        f"adding a member: HTTP {member.status_code}: {form_errors(member.text)}"
    review = web.get("/changes/review")
    assert review.status_code == 200
    job = web.post_with_token("/changes/apply", review.text)
    assert job.status_code in (302, 303), f"change apply: HTTP {job.status_code}"
    web.wait_job(job.headers["Location"])
    return web
