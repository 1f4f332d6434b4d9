"""A firmware update against a plain reboot, on the flashed box, and bundle against image size.

Builds the image of this tree (or reuses the suite's cached build), makes bundle N+1 from the
same system image (``image/make-bundle.sh``), boots the image under qemu (TCG, UEFI, 1 GB) with
a member router on a tap in a test namespace, sets the box up by restoring a backup, then:

1. installs N+1 through the Firmware page (headless Chromium over HTTPS) with the default
   30 s drain, watching the route server's route from the member's BIRD every second: when the
   member first sees GRACEFUL_SHUTDOWN (65535:0), when the route is withdrawn, when both
   sessions are Established again;
2. as the reference, a plain reboot without a drain (the ACPI power button, then power on):
   when the route is withdrawn and when the sessions are back.

Printed side by side, with ratios: the warning the members get before the withdrawal (the
drain's time with 65535:0 on the route, against none), the time from the action to the
sessions Established again, and the bundle's size against the image's (raw and compressed).

Run as root: .venv/bin/python bench/firmware_update.py
Everything runs on files, a qemu child process (user-mode networking on 127.0.0.1 only) and a
test namespace with its own prefix, all removed at the end.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labkit.image import vm  # noqa: E402 (the lab kit the image tests use too)
from labkit.image.boot import BANNER_TIMEOUT, DISK_BYTES, boot_to_banner  # noqa: E402
from labkit.image.firmware import (  # noqa: E402
    SERVICE_PREFIX,
    RouteWatch,
    backup_of,
    established,
    has_route,
    install,
    make_bundle,
    restore_setup,
    start_member,
)
from labkit.image.journey import chromium, member_namespace, wait_for  # noqa: E402

MIB = 1024 * 1024


def ratio(a: float | None, b: float | None) -> str:
    """a / b, or a dash when it has no meaning."""
    return f"{a / b:.2f}" if a is not None and b else "–"


def measure() -> dict[str, float | None]:
    """Boot, set up, update with the drain, then reboot plainly; the figures."""
    vm.require_tools()
    image = vm.build_or_reuse(ROOT)
    assert image.slot_image is not None and image.bundle is not None
    folder = image.path.parent / "test-bundles"
    folder.mkdir(exist_ok=True)
    n1 = f"{image.version}.1"
    bundle = make_bundle(image, image.slot_image, n1, folder / f"ixp-appliance-{n1}.raucb",
                         IXP_BUNDLE_NOTES=f"Test release {n1}: same system, new number")
    out: dict[str, float | None] = {
        "image_bytes": image.size, "image_zst_bytes": image.compressed_size,
        "bundle_bytes": bundle.stat().st_size}
    with tempfile.TemporaryDirectory(prefix="ixp-bench-fw-") as tmp:
        work = Path(tmp)
        backup = backup_of(work)
        disk = vm.make_disk(image.path, work / "fw.img", DISK_BYTES)
        with member_namespace(work) as member, chromium() as context:
            box = vm.Vm(disk, work, uefi=True, name="bench", memory_mb=1024, no_internet=True,
                        lan_tap=(member.ns, "tap0"))
            try:
                code = boot_to_banner(box, "bench_firmware")
                base = f"https://127.0.0.1:{box.https_port}"
                page = context.new_page()
                restore_setup(page, base, code, backup)
                start_member(member)
                wait_for(lambda: established(member), 600, "sessions", every=2)
                wait_for(lambda: has_route(member), 300, SERVICE_PREFIX, every=2)

                watch = RouteWatch(member)
                watch.start()
                uploaded, confirmed = install(page, base, bundle, n1, drain_seconds=30)
                box.expect(rf"firmware: update to {n1} succeeded", timeout=BANNER_TIMEOUT + 1800)
                wait_for(lambda: established(member), 600, "sessions after the update",
                         every=1)
                back = time.monotonic()
                wait_for(lambda: has_route(member), 300, "route after the update", every=1)
                watch.stop()
                gshut = watch.first(confirmed, present=True, gshut=True)
                gone = watch.first(gshut or confirmed, present=False)
                out.update(update_upload_to_established=back - uploaded,
                           update_confirm_to_established=back - confirmed,
                           update_confirm_to_withdrawn=(gone - confirmed) if gone else None,
                           update_warning=(gone - gshut) if gone and gshut else None)

                # the reference: a plain reboot, no drain
                watch = RouteWatch(member)
                watch.start()
                pressed = time.monotonic()
                assert box.power_off(), "the box did not shut down on the power button"
                box.start()
                box.expect("firmware: ixp-appliance", timeout=BANNER_TIMEOUT)
                wait_for(lambda: established(member), 600, "sessions after the reboot",
                         every=1)
                again = time.monotonic()
                watch.stop()
                gshut2 = watch.first(pressed, present=True, gshut=True)
                gone2 = watch.first(pressed, present=False)
                out.update(reboot_to_established=again - pressed,
                           reboot_to_withdrawn=(gone2 - pressed) if gone2 else None,
                           reboot_warning=(gone2 - gshut2) if gone2 and gshut2 else 0.0)
                box.power_off()
            finally:
                box.kill()
                disk.unlink(missing_ok=True)
    return out


def main() -> int:
    """Measure and print the figures side by side."""
    m = measure()

    def s(key: str) -> str:
        value = m.get(key)
        return "–" if value is None else f"{value:.1f} s"
    print(f"{'':44}{'update (drain 30 s)':>22}{'plain reboot':>16}{'ratio':>8}")
    print(f"{'warning before the withdrawal (65535:0)':44}{s('update_warning'):>22}"
          f"{s('reboot_warning'):>16}{'':>8}")
    print(f"{'action to the route withdrawn':44}{s('update_confirm_to_withdrawn'):>22}"
          f"{s('reboot_to_withdrawn'):>16}"
          f"{ratio(m.get('update_confirm_to_withdrawn'), m.get('reboot_to_withdrawn')):>8}")
    print(f"{'action to the sessions Established again':44}"
          f"{s('update_confirm_to_established'):>22}{s('reboot_to_established'):>16}"
          f"{ratio(m.get('update_confirm_to_established'), m.get('reboot_to_established')):>8}")
    print(f"{'upload to the sessions Established again':44}"
          f"{s('update_upload_to_established'):>22}")
    b, raw, zst = m["bundle_bytes"], m["image_bytes"], m["image_zst_bytes"]
    print(f"\n{'bundle':>12}{'image (raw)':>14}{'image (.zst)':>14}{'bundle/raw':>12}"
          f"{'bundle/zst':>12}")
    print(f"{b / MIB:>9.0f} MiB{raw / MIB:>10.0f} MiB{zst / MIB:>10.0f} MiB"
          f"{ratio(b, raw):>12}{ratio(b, zst):>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
