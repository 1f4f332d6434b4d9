"""A firmware update on the flashed box as an operator does it: a browser, a bundle, nothing else.

The image of this tree is version N. Bundles N+1 and N+2 are made from the same cached system
image with another version string (``image/make-bundle.sh``: a copy, a version file, a
compression; no new build); N+2 is built with the test-only option that breaks its web UI.
The box boots N under qemu (UEFI, 1 GB) with a member router on its peering-LAN port (a tap
in a test namespace running BIRD), and is set up by restoring a backup in the setup wizard.
Then, in headless Chromium over HTTPS:

1. a tampered bundle (one byte changed) and a bundle signed by another key are refused on the
   Firmware page, and nothing changes (same slots, same versions);
2. N+1 is uploaded (progress bar), its version and notes shown, and confirmed: the member sees
   GRACEFUL_SHUTDOWN (65535:0) on the route server's routes during the drain, and no route
   withdrawn before it; the box reboots into the other slot, its health gate marks it good,
   and the member's sessions are Established again on the same revision and history;
3. N+2 is installed the same way: its web UI never starts, the gate finds it unhealthy, and
   the box returns to N+1 by itself; the dashboard says the update failed and was rolled
   back, and why.

Times (upload to Established again, when the member saw 65535:0 and the withdrawal) and the
bundle and image sizes go into the image timings.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labkit.image import vm
from labkit.image.boot import BANNER_TIMEOUT, DISK_BYTES, TIMINGS, boot_to_banner
from labkit.image.firmware import (
    SERVICE_PREFIX,
    RouteWatch,
    backup_of,
    established,
    goto,
    has_route,
    install,
    make_bundle,
    restore_setup,
    start_member,
    upload,
)
from labkit.image.journey import (
    Member,
    chromium,
    member_namespace,
    save_box_logs,
    shot,
    wait_for,
)

pytestmark = [pytest.mark.image, pytest.mark.timeout(3600)]

@dataclass(frozen=True)
class Bundles:
    """The bundles the test installs or offers, beside the cached image."""

    n: str
    n1: str
    n2: str
    next_bundle: Path
    broken: Path
    tampered: Path
    foreign: Path


def tiny_slot(folder: Path) -> Path:
    """A small ext4 with the version file: enough for bundles that must be refused."""
    path = folder / "tiny.ext4"
    if not path.exists():
        tree = folder / "tiny-tree" / "etc" / "ixp-appliance"
        tree.mkdir(parents=True, exist_ok=True)
        (tree / "firmware-version").write_text("0\n")
        (tree / "random").write_bytes(os.urandom(2 * 1024 * 1024))  # a payload to change
        subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(folder / "tiny-tree"), str(path),
                        "16M"], check=True)
    return path


@pytest.fixture(scope="module")
def bundles(image_build: vm.BuiltImage) -> Bundles:
    """N+1, N+2 (web UI broken on purpose), a tampered one and one signed by another key."""
    assert image_build.slot_image is not None and image_build.slot_image.exists()
    folder = image_build.path.parent / "test-bundles"
    folder.mkdir(exist_ok=True)
    n = image_build.version
    n1, n2 = f"{n}.1", f"{n}.2"
    start = time.monotonic()
    next_bundle = make_bundle(image_build, image_build.slot_image, n1,
                              folder / f"ixp-appliance-{n1}.raucb",
                              IXP_BUNDLE_NOTES=f"Test release {n1}: same system, new number")
    broken = make_bundle(image_build, image_build.slot_image, n2,
                         folder / f"ixp-appliance-{n2}.raucb", IXP_BUNDLE_TEST_BREAK="web",
                         IXP_BUNDLE_NOTES=f"Test release {n2}")
    small = make_bundle(image_build, tiny_slot(folder), f"{n}.9",
                        folder / "small.raucb")
    tampered = folder / "tampered.raucb"
    if not tampered.exists():
        data = bytearray(small.read_bytes())
        data[len(data) // 4] ^= 0x01  # one byte of the payload, after signing
        tampered.write_bytes(bytes(data))
    other = vm.make_key(folder, "other", "someone else's release key")
    foreign = make_bundle(image_build, tiny_slot(folder), f"{n}.8", folder / "foreign.raucb",
                          key=other)
    TIMINGS["firmware_bundles_made_seconds"] = round(time.monotonic() - start, 1)
    return Bundles(n, n1, n2, next_bundle, broken, tampered, foreign)


def revisions(page, base: str) -> list[dict]:
    """The box's revision history as its status API gives it to the logged-in browser."""
    import json
    goto(page, base, "/")
    resp = page.goto(base + "/api/v1/status")
    assert resp is not None and resp.status == 200
    data = json.loads(resp.text())
    assert data["history"], "no revision on the box"
    return data["history"]


def slots(page) -> dict[str, tuple[str, str, str]]:
    """The Firmware page's slot table: slot -> (version, state, boot state)."""
    rows = {}
    for row in page.locator("#slots tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        rows[cells[0].strip()] = tuple(c.strip() for c in cells[1:4])
    return rows


@contextlib.contextmanager
def watching(member: Member) -> Iterator[RouteWatch]:
    """Sample the member's view of the route while the block runs."""
    watch = RouteWatch(member)
    watch.start()
    try:
        yield watch
    finally:
        watch.stop()


def test_update_drain_trial_boot_and_rollback(image_build: vm.BuiltImage, bundles: Bundles,
                                              tmp_path: Path) -> None:
    TIMINGS["firmware_image_bytes"] = image_build.size
    TIMINGS["firmware_image_compressed_bytes"] = image_build.compressed_size
    assert image_build.bundle is not None
    TIMINGS["firmware_bundle_bytes"] = image_build.bundle.stat().st_size
    backup = backup_of(tmp_path)
    disk = vm.make_disk(image_build.path, tmp_path / "fw.img", DISK_BYTES)
    with member_namespace(tmp_path) as member, chromium() as context:
        box = vm.Vm(disk, tmp_path, uefi=True, name="firmware", memory_mb=1024,
                    no_internet=True, lan_tap=(member.ns, "tap0"))
        try:
            journey(box, member, context, bundles, backup)
        except BaseException:
            print("the box's warnings and errors:", save_box_logs(
                context, f"https://127.0.0.1:{box.https_port}", tmp_path / "box-logs.txt"))
            raise
        finally:
            TIMINGS[f"console_stalls_{box.name}"] = box.stalls
            TIMINGS[f"console_menu_kicks_{box.name}"] = box.kicks
            box.kill()
            disk.unlink(missing_ok=True)


def journey(box: vm.Vm, member: Member, context, b: Bundles, backup: Path) -> None:
    code = boot_to_banner(box, "firmware")
    base = f"https://127.0.0.1:{box.https_port}"
    page = context.new_page()
    restore_setup(page, base, code, backup)
    start_member(member)
    wait_for(lambda: established(member), 600, "the member's sessions Established", every=5)
    wait_for(lambda: has_route(member), 300, f"{SERVICE_PREFIX} from the route server")
    history = revisions(page, base)

    # 1. refused bundles change nothing
    goto(page, base, "/firmware")
    before = slots(page)
    # the web UI (ixp-web) reads RAUC's slot status over the bus: the boot state is shown
    assert page.locator("#firmware-problem").count() == 0, page.inner_text("#firmware-problem")
    assert before["A"][0] == b.n and "running" in before["A"][1], before
    assert before["A"][2] == "good", before
    assert before["B"][0] == "empty", before
    for bad, words in ((b.tampered, "differs from what the signed manifest says"),
                       (b.foreign, "signed by this firmware's release key")):
        upload(page, bad)
        assert page.is_visible("#upload-refused") and not page.is_visible("#confirm")
        said = page.inner_text("#upload-refused")
        assert words in said or "cannot be read from the bundle" in said, said
        shot(page, f"firmware-refused-{bad.stem}")
        goto(page, base, "/firmware")
        assert slots(page) == before, "a refused bundle changed the slots"

    # 2. N+1: drain, trial boot, health gate, mark good
    with watching(member) as watch:
        uploaded, confirmed = install(page, base, b.next_bundle, b.n1, drain_seconds=30)
        box.expect(rf"firmware: trial boot of ixp-appliance {re.escape(b.n1)}", timeout=1800)
        box.expect(rf"firmware: update to {re.escape(b.n1)} succeeded", timeout=BANNER_TIMEOUT)
        marked_good = time.monotonic()
        wait_for(lambda: established(member), 600, "the sessions back on the new system",
                 every=2)
        back = time.monotonic()
        wait_for(lambda: has_route(member), 300, "the route back on the new system", every=2)
    gshut_at = watch.first(confirmed, present=True, gshut=True)
    assert gshut_at is not None, "the member never saw 65535:0 during the drain"
    withdrawn_at = watch.first(gshut_at, present=False)
    assert withdrawn_at is not None, "the route was never withdrawn across the reboot"
    early = [t for t, present, gshut in watch.samples
             if confirmed <= t < gshut_at and not present]
    assert not early, "a route was withdrawn before the drain had run"
    TIMINGS["firmware_confirm_to_gshut_seconds"] = round(gshut_at - confirmed, 1)
    TIMINGS["firmware_gshut_to_withdrawn_seconds"] = round(withdrawn_at - gshut_at, 1)
    TIMINGS["firmware_confirm_to_marked_good_seconds"] = round(marked_good - confirmed, 1)
    TIMINGS["firmware_confirm_to_established_seconds"] = round(back - confirmed, 1)
    TIMINGS["firmware_upload_to_established_seconds"] = round(back - uploaded, 1)
    TIMINGS["firmware_upload_and_check_seconds"] = round(confirmed - uploaded, 1)
    goto(page, base, "/firmware")
    after = slots(page)
    assert after["B"][0] == b.n1 and "running" in after["B"][1], after
    assert after["B"][2] == "good" and after["A"][0] == b.n, after
    assert "succeeded" in page.inner_text("#firmware-last")
    shot(page, "firmware-after-update")
    assert revisions(page, base) == history, "the history changed across the update"

    # 3. N+2 breaks its web UI: found unhealthy, the box goes back to N+1 by itself
    install(page, base, b.broken, b.n2, drain_seconds=5)
    box.expect(rf"firmware: trial boot of ixp-appliance {re.escape(b.n2)}", timeout=1800)
    box.expect(rf"update to {re.escape(b.n2)} is not healthy", timeout=BANNER_TIMEOUT)
    # the whole sentence: the console may deliver a line in pieces
    box.expect(rf"update to {re.escape(b.n2)} failed and was rolled back: the web UI does not "
               r"answer: ixp-web.service failed", timeout=BANNER_TIMEOUT)
    wait_for(lambda: established(member), 600, "the sessions back on N+1", every=5)
    goto(page, base, "/")
    alert = page.inner_text("#firmware-rollback")
    assert f"The update to {b.n2} failed and was rolled back" in alert and \
        "ixp-web.service failed" in alert, alert
    shot(page, "firmware-rolled-back-dashboard")
    goto(page, base, "/firmware")
    final = slots(page)
    assert final["B"][0] == b.n1 and "running" in final["B"][1], final
    assert final["A"][2] == "bad", final
    assert revisions(page, base) == history, "the history changed across the rollback"
    assert box.power_off()

