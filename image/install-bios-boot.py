#!/usr/bin/env python3
"""Install GRUB's legacy-BIOS boot code into a GPT disk image file, without a loop device.

This is what grub-bios-setup does for a GPT disk with a BIOS boot partition, reduced to the
three numbers that matter, so it works on a plain file inside a container with no udev:

* core.img (diskboot + the compressed kernel with our early config) is copied, contiguous,
  to the start of the BIOS boot partition;
* the blocklist at the end of core.img's first sector is told where the rest of core.img
  starts (the sector count is already filled in by grub-mkimage);
* boot.img goes into the MBR's first 440 bytes (the disk signature and the protective
  partition table written by sfdisk stay), told which sector core.img starts at.

Usage: install-bios-boot.py DISK_IMAGE BOOT_IMG CORE_IMG START_SECTOR PARTITION_SECTORS
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

SECTOR = 512
KERNEL_SECTOR = 0x5C  # boot.img: LBA of core.img's first sector (uint64)
DRIVE_CHECK = 0x66  # boot.img: 2-byte jump that trusts the BIOS drive number; nop'ed for disks
BLOCKLIST = SECTOR - 12  # core.img: struct {uint64 start; uint16 len; uint16 segment}
MBR_CODE = 440  # boot code ends where the disk signature begins


def install(disk: Path, boot_img: Path, core_img: Path, start: int, sectors: int) -> None:
    """Write core.img at START and a patched boot.img into the MBR of DISK."""
    core = bytearray(core_img.read_bytes())
    if len(core) > sectors * SECTOR:
        raise SystemExit(f"core.img is {len(core)} bytes; the BIOS boot partition holds "
                         f"{sectors * SECTOR}")
    _old_start, length, segment = struct.unpack_from("<QHH", core, BLOCKLIST)
    if length == 0 or (length + 1) * SECTOR < len(core):
        raise SystemExit("core.img's blocklist length is not what grub-mkimage writes")
    struct.pack_into("<QHH", core, BLOCKLIST, start + 1, length, segment)

    boot = bytearray(boot_img.read_bytes())
    if len(boot) != SECTOR:
        raise SystemExit("boot.img must be one sector")
    struct.pack_into("<Q", boot, KERNEL_SECTOR, start)
    boot[DRIVE_CHECK:DRIVE_CHECK + 2] = b"\x90\x90"

    with disk.open("r+b") as f:
        f.seek(start * SECTOR)
        f.write(core)
        f.seek(0)
        f.write(boot[:MBR_CODE])


if __name__ == "__main__":
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    install(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]),
            int(sys.argv[5]))
