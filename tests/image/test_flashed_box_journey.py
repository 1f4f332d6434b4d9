"""The flashed box as a volunteer meets it: 1 GB, no internet, only a browser and the console.

The image boots under qemu (UEFI) with 1 GB of memory. Its management NIC is a user-mode
network that reaches nothing (restrict=on) but the HTTPS forwards on 127.0.0.1; its second NIC
is a tap inside a test namespace, where a member's BIRD runs. Everything else is done in
headless Chromium over HTTPS with the setup code read from the serial console:

1. the wizard, with a fixed management address, host name, DNS, NTP and time zone: the box
   moves to the new address at once, and the change is confirmed from there (a second tab);
2. every management setting read back on the box (its Management page and its banner);
3. a second address change left unconfirmed: the box comes back to the confirmed one by itself;
4. IRR data and RPKI VRPs uploaded on the Data page (BIRD then holds the ROAs), and a root
   zone signed with a key of our own refused against the real root trust anchor;
5. the member added on the Members page, its port picked from the NIC list by MAC;
6. then, from the member's side: both BGP sessions Established, the announcement outside its
   IRR data refused with the reason in words in the looking glass, the resolver answering it,
   the web UI not reachable from the peering LAN, and traffic on the Ports card after pings;
7. a reboot: the same revision comes back by itself with the same host name and certificate;
8. the same box booted with 512 MB: configured, sessions up, no process killed for memory.

Times, memory per service (from the box's own Status page) and the boot peak are recorded in
the image timings. The setup code, the banner and HTTPS are the only ways in, as for an operator.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from appliance.platform import netns
from labkit.image import vm
from labkit.image.boot import BANNER_TIMEOUT, DISK_BYTES, TIMINGS, boot_to_banner, expect_running
from labkit.image.journey import (
    MEMBER4,
    MEMBER6,
    MEMBER_MAC,
    Member,
    chromium,
    member_namespace,
    save_box_logs,
    shot,
    wait_for,
)
from tests.dns.signing import sign_fixture
from tests.image.test_image_boot import check_least_privilege, check_route_server

pytestmark = [pytest.mark.image, pytest.mark.timeout(4200)]

FIXTURES = Path(__file__).parents[1] / "fixtures"
PASSWORD = "island exchange first light"
DHCP_ADDRESS = "10.0.2.15"  # what qemu's user-mode DHCP gives the first client
STATIC = "10.0.2.20"  # the fixed management address the wizard sets
UNCONFIRMED = "10.0.2.21"  # the change nobody confirms
HOSTNAME = "rs1.itix.example.net"
MEMBER_ASN = 327700  # public: documentation ASNs are refused outside a lab configuration
MEMBER_NAME = "Coral Cloud Ñadi"  # a non-ASCII name, as members have
RS4, RS6, RESOLVER = "203.0.113.1", "2001:db8:eeee::1", "203.0.113.53"
REGISTERED4, REGISTERED6 = "45.65.0.0/22", "2a0c:1::/48"
UNREGISTERED4 = "45.66.0.0/24"  # announced, but not in the member's IRR data

MEMBER_BIRD = f"""
log stderr all;
router id {MEMBER4};
protocol device {{}}
protocol static s4 {{ ipv4; route {REGISTERED4} blackhole; route {UNREGISTERED4} blackhole; }}
protocol static s6 {{ ipv6; route {REGISTERED6} blackhole; }}
template bgp to_rs {{ local as {MEMBER_ASN}; hold time 30; keepalive time 10; connect retry time 3;
                   error wait time 1, 10; }}
protocol bgp rs4 from to_rs {{ neighbor {RS4} as 65000; source address {MEMBER4};
  ipv4 {{ import all; export where proto = "s4"; }}; }}
protocol bgp rs6 from to_rs {{ neighbor {RS6} as 65000; source address {MEMBER6};
  ipv6 {{ import all; export where proto = "s6"; }}; }}
"""


def select_by_mac(page, selector: str, mac: str) -> str:
    """Pick the option whose label shows ``mac`` (how a volunteer tells NICs apart)."""
    value = page.eval_on_selector(
        selector, "(s, mac) => { const o = [...s.options].find(o => o.text.includes(mac));"
                  " return o ? o.value : ''; }", mac)
    assert value, f"{selector} offers no NIC with MAC {mac}: " + page.inner_text(selector)
    page.select_option(selector, value)
    return value


def fill_step(page, values: dict[str, str]) -> None:
    """Fill a wizard step and press Next; it must move on (errors are shown otherwise)."""
    for key, value in values.items():
        fid = "#f-" + key.replace(".", "-")
        kind = page.eval_on_selector(fid, "e => e.tagName + ':' + (e.type || '')")
        if kind.startswith("SELECT"):
            page.select_option(fid, value)
        elif kind == "INPUT:checkbox":
            page.set_checked(fid, value == "on")
        else:
            page.fill(fid, value)
    before = page.url
    page.click("button[value=next]")
    page.wait_for_load_state()
    assert page.url != before, f"{before} refused: " + " | ".join(
        page.locator(".error").all_inner_texts())


def wizard(page, base: str, code: str) -> None:
    """Setup code, admin account, every wizard step, review, Apply (the last click)."""
    # nginx answers 502 until the app behind it has started (the banner can come first)
    wait_for(lambda: page.goto(base + "/").status == 200 and page.url.endswith("/setup"), 300,
             "the setup page")
    page.fill("#code", code)
    page.click("button[type=submit]")
    page.fill("#name", "admin")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("button[type=submit]")
    assert page.url.endswith("/wizard/identity"), page.url
    fill_step(page, {"name": "Image Test Internet Exchange", "short_name": "ITIX",
                     "country": "FJ", "city": "Suva", "contact_email": "noc@itix.example.net"})
    select_by_mac(page, "#f-interface", vm.MGMT_MAC)
    shot(page, "01-management")
    fill_step(page, {"hostname": HOSTNAME, "ipv4": f"{STATIC}/24", "ipv4_gateway": "10.0.2.2",
                     "dns": "10.0.2.3", "ntp": "10.0.2.2", "timezone": "Pacific/Fiji"})
    fill_step(page, {"ipv4_prefix": "203.0.113.0/24", "ipv6_prefix": "2001:db8:eeee::/64"})
    # The route server's addresses and router id come filled in (not grey placeholders).
    assert page.input_value("#f-router_id") == RS4
    assert page.input_value("#f-ipv4") == RS4 and page.input_value("#f-ipv6") == RS6
    fill_step(page, {"asn": "65000", "policy.rpki": "tag_only", "policy.irr": "reject"})
    fill_step(page, {"resolver.enabled": "on", "resolver.ipv4": RESOLVER})
    fill_step(page, {"enabled": "on", "location": "qemu", "users.0.name": "librenms",
                     "users.0.auth_password": "auth-pass-phrase",
                     "users.0.priv_password": "priv-pass-phrase"})
    # the optional last step, alerts by e-mail: left empty (no relay on an island at first)
    assert page.url.endswith("/wizard/alerts"), page.url
    fill_step(page, {})
    assert page.url.endswith("/wizard/review"), page.url
    assert "Everything checks out" in page.inner_text("main")
    shot(page, "02-review")
    page.click("button.primary")  # Apply: the box moves to the new address during it


def confirm_trial(context, port: int, address: str) -> object:
    """A second tab on the new address: log in if asked, press "Keep" on the Management page."""
    page = context.new_page()
    base = f"https://127.0.0.1:{port}"

    def trial_shown() -> bool:
        page.goto(base + "/management")
        if "/login" in page.url:
            page.fill("#name", "admin")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.goto(base + "/management")
        return page.locator("#confirm-trial").count() == 1
    wait_for(trial_shown, 400, f"the trial's confirm button on https://{address}/management")
    text = page.inner_text("#trial")
    assert f"https://{address}/management" in text and address in text
    shot(page, "03-trial")
    page.click("#confirm-trial")
    assert "Confirmed: the box keeps" in page.inner_text("main")
    assert page.locator("#trial").count() == 0
    return page


def management_row(page, name: str) -> tuple[str, str]:
    """(configured, running) of one row of the Management page."""
    row = page.locator("#management-state tr", has_text=name).first
    cells = row.locator("td").all_inner_texts()
    return cells[0], cells[1]


def wait_job_success(page, timeout: float = 900) -> None:
    """The apply progress page ends with "Applied"."""
    page.wait_for_selector("#result .success", timeout=timeout * 1000)
    assert page.inner_text("#apply-heading") == "Applied"


def status_json(page, base: str, timeout: float = 300) -> dict:
    """What the Status page shows, as the API gives it to the logged-in browser.

    After a boot, BIRD may have its sessions up before the web UI answers (nginx says 502):
    asked again until the API answers.
    """
    def ask() -> dict | None:
        resp = page.goto(base + "/api/v1/status")
        return json.loads(resp.text()) if resp is not None and resp.status == 200 else None
    return wait_for(ask, timeout, "the box's status API")  # type: ignore[return-value]


def test_flashed_box_journey(image_build: vm.BuiltImage, tmp_path: Path) -> None:
    disk = vm.make_disk(image_build.path, tmp_path / "journey.img", DISK_BYTES)
    with member_namespace(tmp_path) as member, chromium() as context:
        box = vm.Vm(disk, tmp_path, uefi=True, name="journey", memory_mb=1024,
                    no_internet=True, lan_tap=(member.ns, "tap0"),
                    extra_https=(STATIC, UNCONFIRMED))
        try:
            journey(box, member, context, disk)
        except BaseException:
            print("the box's warnings and errors:", save_box_logs(
                context, f"https://127.0.0.1:{box.https_port}", tmp_path / "box-logs.txt"))
            raise
        finally:
            TIMINGS[f"console_stalls_{box.name}"] = box.stalls
            TIMINGS[f"console_menu_kicks_{box.name}"] = box.kicks
            box.kill()
            disk.unlink(missing_ok=True)


def journey(box: vm.Vm, member: Member, context, disk: Path) -> None:
    code = boot_to_banner(box, "journey")
    # the banner with the code shows the DHCP address (the reachable one) first, the cable
    # fallback after it
    banner = [b for b in box.console_log.read_text(errors="replace").split("=" * 66)
              if code in b][-1]
    addresses = re.findall(r"https://([0-9.]+)/", banner)
    assert addresses[:2] == [DHCP_ADDRESS, "192.168.254.1"], banner
    started = time.monotonic()

    # 1. the wizard over HTTPS on the DHCP address; Apply moves the box to the static one
    page = context.new_page()
    wizard(page, f"https://127.0.0.1:{box.https_port}", code)
    static_port = box.https_ports[STATIC]
    new = confirm_trial(context, static_port, STATIC)
    TIMINGS["journey_wizard_to_confirmed_seconds"] = round(time.monotonic() - started, 1)
    page.close()
    base = f"https://127.0.0.1:{static_port}"

    # 2. every management setting, as the box runs it
    new.goto(base + "/management")
    wait_for(lambda: (new.reload() or True) and HOSTNAME in management_row(new, "Host name")[1],
             120, "the host name applied on the box")
    assert STATIC in management_row(new, "Network")[1]
    assert "10.0.2.3" in management_row(new, "DNS servers")[1]
    assert "10.0.2.2" in management_row(new, "NTP servers")[1]
    assert "Pacific/Fiji" in management_row(new, "Time zone")[1]
    shot(new, "04-management")
    box.expect(rf"IXP appliance {re.escape(HOSTNAME)}", timeout=BANNER_TIMEOUT)
    box.expect(rf"Open https://{re.escape(STATIC)}/ in a browser", timeout=120)
    # the peering LAN cannot reach the web UI (management firewall)
    reach = member.run("timeout", "5", "bash", "-c", f"exec 3<>/dev/tcp/{RS4}/443",
                       check=False)
    assert reach.returncode != 0, "the web UI answers on the peering LAN"

    # 3. an address change nobody confirms goes back by itself (a short trial here)
    new.goto(base + "/management")
    new.fill("#f-ipv4", f"{UNCONFIRMED}/24")
    new.fill("#f-trial_seconds", "60")
    new.click("button:has-text('Review the change')")
    # the review says, before Apply, that this goes on trial and where to confirm it
    assert f"https://{UNCONFIRMED}/management" in new.inner_text("#review-notice")
    new.click("button.primary")
    reverted_at = time.monotonic()

    # The box leaves STATIC at once (this tab stops answering) and comes back by itself: the
    # history then has the automatic revert, answered on STATIC again.
    def reverted() -> bool:
        new.goto(base + "/history", timeout=20_000)
        return "was not confirmed from the new address in time" in new.inner_text("main")
    wait_for(reverted, 600, f"the box back on {STATIC} after the unconfirmed trial", every=5)
    TIMINGS["journey_unconfirmed_back_seconds"] = round(time.monotonic() - reverted_at, 1)
    js = json.loads(new.goto(base + "/management/status.json").text())
    assert js["trial"] is None and js["confirmed"].split(": ", 1)[1].startswith(STATIC), js
    shot(new, "05-reverted")

    # 4. offline data through the Data page
    irr = {f"AS{MEMBER_ASN}": {"asns": [MEMBER_ASN], "source": "journey",
                               "ipv4": [{"prefix": REGISTERED4, "exact": True}],
                               "ipv6": [{"prefix": REGISTERED6, "exact": True}]}}
    irr_file = box.workdir / "irr.json"
    irr_file.write_text(json.dumps(irr))
    new.goto(base + "/data")
    new.set_input_files("#file-irr", str(irr_file))
    new.click("button:has-text('Upload IRR data')")
    if "/changes/apply/" in new.url:
        wait_job_success(new)
    new.goto(base + "/data")
    new.set_input_files("#file-rpki", str(FIXTURES / "bird" / "vrps.json"))
    new.click("button:has-text('Upload RPKI')")
    assert "VRPs loaded" in new.inner_text("main"), new.inner_text("main")[:2000]
    # the wizard set no RTR validator: the upload adds the box's own, and BIRD gets the ROAs
    # from the box's stayrtr (3 IPv4 + 1 IPv6 in the fixture), as the Data page says
    assert "now asks this box's RTR server" in new.inner_text("main")
    if "/changes/apply/" in new.url:
        wait_job_success(new)

    def roas_held() -> bool:
        new.goto(base + "/data")
        return "The route server holds 4 ROAs (RTR: 127.0.0.1:3323: Established)" in \
            new.inner_text("main")
    wait_for(roas_held, 120, "the route server holding the uploaded ROAs", every=5)
    # a root zone signed with a key of our own (DNSSEC and ZONEMD as the real one): the box
    # checks it against the root's real trust anchor and refuses it, saying why; no copy is
    # installed. (The accepted path needs a current IANA zone: tests/dns and the Data page
    # tests cover it with their own anchor.)
    forged = sign_fixture(box.workdir / "forged-root")
    new.goto(base + "/data")
    new.set_input_files("#file-rootzone", str(forged.zone))
    new.click("button:has-text('Upload Root zone copy')")
    refused_zone = new.inner_text("main")
    assert "do not verify" in refused_zone and "nothing was changed" in refused_zone, \
        refused_zone[:2000]
    shot(new, "06-data")

    # 5. the member, its port picked from the NIC list by the MAC on the tap's side
    new.goto(base + "/members/new")
    new.fill("#f-asn", str(MEMBER_ASN))
    new.fill("#f-name", MEMBER_NAME)
    select_by_mac(new, "#f-ports", vm.LAN_MAC)
    new.fill("#f-macs", MEMBER_MAC)
    new.fill("#f-ipv4", MEMBER4)
    new.fill("#f-ipv6", MEMBER6)
    new.fill("#f-max_prefix-ipv4", "100")
    new.fill("#f-max_prefix-ipv6", "100")
    new.click("button[value=save]")
    new.wait_for_selector("text=Review the change")
    new.dblclick("button.primary")  # a double click applies once
    wait_job_success(new)
    member.start_bird(MEMBER_BIRD)
    added_at = time.monotonic()

    # 6. the member's view: sessions, the IRR refusal in words, DNS, traffic on its port
    def established() -> bool:
        out = member.birdc("show protocols")
        return len(re.findall(r"\brs[46]\s+BGP\s+\S+\s+up\s+\S+\s+Established", out)) == 2
    wait_for(established, 600, "both BGP sessions of the member Established", every=5)
    TIMINGS["journey_member_established_seconds"] = round(time.monotonic() - added_at, 1)
    # the console says every daemon's unit is active and BIRD runs the committed revision
    # (1 the wizard, 2 the unconfirmed address, 3 its revert, 4 the VRP upload adding the
    # box's RTR validator, 5 the member)
    check_route_server(box, "journey", revision=5)
    check_least_privilege(box, "journey")
    # the route server answers the member's ping (echo requests are allowed, rate-limited)
    once = member.run("ping", "-c", "3", "-W", "5", RS4, check=False)
    assert once.returncode == 0, f"ping {RS4} from the member: {once.stdout}{once.stderr}"
    ping_log = (box.workdir / "ping.log").open("w")
    pinger = subprocess.Popen(netns.command(member.ns, ["ping", "-q", "-i", "0.2", "-s", "1200",
                                                        "-w", "400", RS4]),
                              stdout=ping_log, stderr=subprocess.STDOUT)
    try:
        new.goto(base + "/lg")
        new.click(f"a:has-text('AS{MEMBER_ASN}') >> nth=0")
        wait_for(lambda: (new.reload() or True) and UNREGISTERED4 in new.inner_text("#filtered"),
                 300, "the unregistered prefix in the looking glass's filtered list")
        refused = new.locator("#filtered tr", has_text=UNREGISTERED4).inner_text()
        assert "not registered for the member's AS-SET" in refused, refused
        shot(new, "07-looking-glass")
        assert REGISTERED4 in new.inner_text("#accepted"), "the registered prefix is refused"
        answer = member.run("dig", f"@{RESOLVER}", "-x", "10.1.2.3", "+time=3", "+tries=3",
                            check=False).stdout
        assert "status: NXDOMAIN" in answer, f"the resolver did not answer the member: {answer}"

        # 802.1Q in the image's own kernel (the development kernel has none): tagged TCP and
        # UDP, and 802.1ad (QinQ), from an untagged member port are dropped and counted
        tagged = send_tagged_frames(member)
        def drops_counted() -> bool:
            ports = status_json(new, base)["ports"]
            row = next(p for p in ports if MEMBER_NAME in p["member"])
            TIMINGS["journey_tagged_drops"] = row["drops"]
            return row["drops"].get("ethertype", 0) >= tagged
        wait_for(drops_counted, 120, f"the {tagged} tagged frames counted as dropped")

        seen: dict[str, object] = {}

        def port_has_traffic() -> bool:
            # the ping's 1228-byte frames five times a second: some 50 kbit/s each way, far
            # above the BGP keepalives (a few hundred bit/s)
            rows = [p for p in status_json(new, base)["ports"] if MEMBER_NAME in p["member"]]
            seen["ports"] = rows
            if not rows or not rows[0]["up"] or (rows[0]["rx_bps"] or 0) < 20_000:
                return False
            new.goto(base + "/")
            row = new.locator("#ports tr", has_text=MEMBER_NAME)
            cells = row.first.locator("td").all_inner_texts() if row.count() else []
            seen["cells"] = cells
            return len(cells) > 5 and cells[2].strip() == "up" and "kbit/s" in cells[4]
        try:
            wait_for(port_has_traffic, 400, "traffic on the member's port in the Ports card",
                     every=10)
        except AssertionError as exc:
            new.goto(base + "/")
            shot(new, "08-status-no-traffic")
            said = (box.workdir / "ping.log").read_text(errors="replace")[-500:]
            raise AssertionError(f"{exc}; the card showed {seen}; ping said {said!r}") from None
        shot(new, "08-status")
        record_memory(status_json(new, base))
    finally:
        pinger.kill()
        pinger.wait()
        ping_log.close()
    fingerprint = vm.https_fingerprint(box.https_ports[STATIC])
    assert box.power_off(), "the box did not shut down on the ACPI power button"
    data = vm.partition_table(disk)[4]  # bios-boot, efi, root-a, root-b, data
    assert (data["start"] + data["size"]) * vm.SECTOR > DISK_BYTES - 2 * 1024**2, \
        "the first boot did not grow the data partition to the end of the disk"
    fs_bytes, label = vm.ext4_size(disk, data["start"])
    assert label == "ixp-data" and fs_bytes > DISK_BYTES // 2, \
        "the data file system was not grown with its partition"

    # 7. a reboot brings the same revision back by itself, on the confirmed address
    box.start()
    box.expect(rf"IXP appliance {re.escape(HOSTNAME)}", timeout=BANNER_TIMEOUT)
    check_route_server(box, "journey_second", revision=5)
    check_least_privilege(box, "journey_second")
    expect_running(box, "journey_second")
    wait_for(established, 600, "the member's sessions back after the reboot", every=5)
    TIMINGS["journey_reboot_established_seconds"] = round(time.monotonic() - box.started, 1)
    assert vm.https_fingerprint(box.https_ports[STATIC]) == fingerprint, \
        "the HTTPS certificate changed across a reboot: state was lost"
    record_memory(status_json(new, base), "after_reboot")
    # what the services said, read in the browser (root is locked, no SSH): the gate's line
    # of this boot, read by the apply helper inside its sandbox
    new.goto(base + "/logs?unit=ixp-firmware-gate&lines=50")
    said = new.inner_text("#log-lines") if new.locator("#log-lines").count() else \
        new.inner_text("main")
    assert "marked good" in said, said[-2000:]
    shot(new, "09-logs")
    assert box.power_off()

    # 8. the same box with 512 MB: it comes up configured, and nothing is killed for memory
    box.memory_mb = 512
    box.start()
    box.expect(rf"IXP appliance {re.escape(HOSTNAME)}", timeout=BANNER_TIMEOUT)
    expect_running(box, "journey_512")
    wait_for(established, 600, "the member's sessions at 512 MB", every=5)
    status = status_json(new, base)
    record_memory(status, "512")
    # the kernel's own count since this boot (/proc/vmstat oom_kill), as the Status page shows
    TIMINGS["journey_oom_kills_512"] = status["system"]["oom_kills"]
    assert status["system"]["oom_kills"] == 0, "processes were killed for memory at 512 MB"
    assert box.power_off()


# Sent inside the member namespace: broadcast, so the bridge would flood them to everyone.
TAGGED_FRAMES = """
import sys
from scapy.all import IP, TCP, UDP, Dot1AD, Dot1Q, Ether, sendp
mac, src, dst = sys.argv[1:4]
frames = []
for n in range(20):
    frames.append(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=101) / IP(src=src, dst=dst)
                  / UDP(sport=40000 + n, dport=53))
    frames.append(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=102) / IP(src=src, dst=dst)
                  / TCP(sport=40000 + n, dport=179, flags="S"))
for n in range(10):
    frames.append(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / Dot1AD(vlan=200) / Dot1Q(vlan=101)
                  / IP(src=src, dst=dst) / UDP(sport=41000 + n, dport=53))
sendp(frames, iface="tap0", verbose=False)
print(len(frames))
"""



def send_tagged_frames(member: Member) -> int:
    """Tagged frames from the member's side of the cable (scapy in its namespace)."""
    import sys
    out = member.run(sys.executable, "-c", TAGGED_FRAMES, MEMBER_MAC, MEMBER4, RS4,
                     timeout=120).stdout
    return int(out.strip().splitlines()[-1])


def record_memory(status: dict, label: str = "") -> None:
    """Memory per appliance service and the boot peak, from the box's own cgroups."""
    mem = status["system"]["services_memory"]
    assert mem and mem["units"], "the box reports no memory per service"
    mib = 1024 * 1024
    suffix = f"_{label}" if label else ""
    TIMINGS[f"journey_rss_mib{suffix}"] = {n: round(u["current"] / mib, 1)
                                           for n, u in sorted(mem["units"].items())}
    TIMINGS[f"journey_appliance_total_mib{suffix}"] = round(mem["total_current"] / mib, 1)
    if mem.get("system_peak"):
        TIMINGS[f"journey_system_peak_mib{suffix}"] = round(mem["system_peak"] / mib, 1)
    TIMINGS[f"journey_memory_percent{suffix}"] = status["system"]["memory_percent"]
    TIMINGS[f"journey_oom_kills{suffix}"] = status["system"]["oom_kills"]
