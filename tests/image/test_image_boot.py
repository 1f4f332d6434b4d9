"""The product is the image: build it, boot it with BIOS and UEFI, reach the wizard over HTTPS.

Each boot reads the serial console until the banner shows the setup code, fetches
https://127.0.0.1:<forwarded port>/setup, checks that a wrong code is refused and the right
one accepted, and powers the box off with the ACPI button. The BIOS box is then booted into
the boot menu's FACTORY RESET entry (new setup code, new certificate); the UEFI box is booted
again normally to check that what first boot made on the data partition (setup code, HTTPS
certificate) is still there and that the data partition grew to fill the disk.
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import pytest
import requests
import urllib3

from tests.image import vm
from tests.image.conftest import TIMINGS

pytestmark = [pytest.mark.image, pytest.mark.timeout(3000)]

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


def boot_to_banner(box: vm.Vm, label: str, *, start: bool = True) -> str:
    """Start the box and return the setup code from its console; records the time.

    Also waits until the banner reports the boot finished and checks that systemd says
    "running", not "degraded" (the banner then names the failed units).
    """
    if start:
        box.start()
    code = box.expect(vm.SETUP_CODE, timeout=BANNER_TIMEOUT)
    TIMINGS[f"boot_to_banner_seconds_{label}"] = round(time.monotonic() - box.started, 1)
    state = box.expect(r"System: (running|degraded|maintenance|stopping)\b",
                       timeout=BANNER_TIMEOUT)
    if state != "running":
        failed = box.expect(r"Failed units: ([^\r\n]*)", timeout=30)
        raise AssertionError(f"{label}: systemd is {state}; failed units: {failed}")
    return code


def test_image_is_lean_gpt(image_build: vm.BuiltImage) -> None:
    """Four partitions in the documented order; the image stays small."""
    TIMINGS.update(image_bytes=image_build.size, compressed_bytes=image_build.compressed_size,
                   build_seconds=image_build.build_seconds, build_reused=image_build.reused)
    parts = vm.partition_table(image_build.path)
    assert [p.get("name") for p in parts] == ["bios-boot", "efi", "ixp-root", "ixp-data"]
    assert parts[0]["type"] == "21686148-6453-6F6E-6744-6D6F76654966"
    assert parts[1]["type"] == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
    for index, label in ((2, "ixp-root"), (3, "ixp-data")):
        assert vm.ext4_size(image_build.path, parts[index]["start"])[1] == label
    assert image_build.size < 3 * 1024**3, "the raw image grew past 3 GiB"
    sums = (image_build.path.parent / "SHA256SUMS").read_text()
    assert "ixp-appliance.img.zst" in sums


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
        assert box.power_off()
    finally:
        box.kill()
        disk.unlink(missing_ok=True)  # 4 GiB sparse copy: do not leave it in pytest's tmp


def test_uefi_boot_reaches_wizard_and_keeps_state(image_build: vm.BuiltImage,
                                                  tmp_path: Path) -> None:
    """UEFI (OVMF): as BIOS, then a second boot finds the same state on a grown data partition."""
    disk = vm.make_disk(image_build.path, tmp_path / "uefi.img", DISK_BYTES)
    box = vm.Vm(disk, tmp_path, uefi=True, name="uefi")
    try:
        code = boot_to_banner(box, "uefi")
        check_setup_code_flow(box.https_port, code)
        fingerprint = vm.https_fingerprint(box.https_port)
        assert box.power_off(), "the box did not shut down on the ACPI power button"

        data = vm.partition_table(disk)[3]
        assert (data["start"] + data["size"]) * vm.SECTOR > DISK_BYTES - 2 * 1024**2, \
            "first boot did not grow the data partition to the end of the disk"
        fs_bytes, label = vm.ext4_size(disk, data["start"])
        assert label == "ixp-data" and fs_bytes > DISK_BYTES // 2, \
            "the data file system was not grown with its partition"

        again = boot_to_banner(box, "uefi_second")
        assert again == code, "the setup code changed across a reboot: state was lost"
        wait_for_setup_page(box.https_port)
        assert vm.https_fingerprint(box.https_port) == fingerprint, \
            "the HTTPS certificate changed across a reboot: state was lost"
        assert box.power_off()
    finally:
        box.kill()
        disk.unlink(missing_ok=True)  # 4 GiB sparse copy: do not leave it in pytest's tmp
