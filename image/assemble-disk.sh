#!/usr/bin/env bash
# Turn a finished root tree into a raw GPT disk image that boots with legacy BIOS and UEFI.
# Usage: image/assemble-disk.sh ROOTFS_DIR IMAGE_DIR OUT_IMG [OUT_SLOT_IMG]
#
# Layout (1 MiB aligned):
#   1  bios-boot   1 MiB    GRUB core.img for legacy BIOS
#   2  efi        64 MiB    FAT, label IXP-EFI: /EFI/BOOT/BOOTX64.EFI (the removable-media
#                           path every UEFI tries), GRUB's menu, modules and RAUC's grubenv
#   3  ixp-root-a  ext4, system slot A (kernel, Debian, the appliance venv): this build
#   4  ixp-root-b  ext4, system slot B, the same size: empty until the first update
#   5  ixp-data    ext4 mounted at /var/lib/ixp-appliance: config + revision store, shared by
#                  both slots; small here, grown to fill the disk on first boot; factory
#                  reset re-creates only this one
# The slots are found by GPT partition name (root=PARTLABEL=…), not by file-system label: an
# update writes the same file system image into either slot.
# OUT_SLOT_IMG, if given, keeps slot A's file system image (the RAUC bundle is made from it).
# Every file system is made from a directory or a file (mkfs.ext4 -d, mtools), never mounted,
# so this needs no loop device and no udev.
set -euo pipefail
rootfs=$1 imgdir=$2 out=$3 slot_out=${4:-}
tmp=$(mktemp -d /var/tmp/ixp-disk.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
MiB=1048576
efi_mib=64 data_mib=128

# Kernel version: the one linux-image-amd64 installed (exactly one).
kver=$(find "$rootfs/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//')
if [ -z "$kver" ] || [ "$(echo "$kver" | wc -l)" -ne 1 ]; then
    echo "expected one kernel in $rootfs/boot, got: $kver" >&2
    exit 1
fi
[ -f "$rootfs/boot/initrd.img-$kver" ] || { echo "no initrd for $kver" >&2; exit 1; }
# The menu on the EFI partition outlives the slots' kernels: it boots /boot/vmlinuz and
# /boot/initrd.img of whichever slot, so each slot names its own kernel with these links.
ln -sfn "vmlinuz-$kver" "$rootfs/boot/vmlinuz"
ln -sfn "initrd.img-$kver" "$rootfs/boot/initrd.img"
rm -rf "$rootfs/boot/grub"
mkdir -p "$rootfs/boot/efi"

modules="part_gpt part_msdos ext2 fat search search_label search_fs_uuid normal configfile
         linux echo test serial terminal reboot halt sleep loadenv regexp"
# The embedded config is run by GRUB's early parser, which takes a comment line for a command
# (and then misses the search): only its commands go in.
grep -v '^[[:space:]]*#' "$imgdir/grub/early.cfg" > "$tmp/early.cfg"
# shellcheck disable=SC2086  # word splitting of the module list is wanted
grub-mkimage -O i386-pc -o "$tmp/core.img" -c "$tmp/early.cfg" -p /grub biosdisk $modules
# shellcheck disable=SC2086
grub-mkimage -O x86_64-efi -o "$tmp/BOOTX64.EFI" -c "$tmp/early.cfg" -p /grub \
    $modules efi_gop efi_uga all_video
# RAUC's boot state, 1024 bytes made by grub-editenv (GRUB rewrites it in place, which works on
# FAT): slot A holds this build and is good, slot B is empty.
grub-editenv "$tmp/grubenv" create
grub-editenv "$tmp/grubenv" set "ORDER=A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0

# Each slot: the tree's size plus room for logs and for later, larger systems.
used_mib=$(du -sm --apparent-size "$rootfs" | cut -f1)
root_mib=$(( (used_mib * 13 / 10 + 256 + 63) / 64 * 64 ))
mkdir -p "$rootfs/var/lib/ixp-appliance"
mkfs.ext4 -q -F -L ixp-root -d "$rootfs" "$tmp/root.img" "${root_mib}M"
mkdir -p "$tmp/empty"
mkfs.ext4 -q -F -L ixp-data -d "$tmp/empty" "$tmp/data.img" "${data_mib}M"
mkfs.vfat -n IXP-EFI -C "$tmp/efi.img" $((efi_mib * 1024)) >/dev/null
mmd -i "$tmp/efi.img" ::/EFI ::/EFI/BOOT ::/grub ::/grub/i386-pc ::/grub/x86_64-efi
mcopy -i "$tmp/efi.img" "$tmp/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$tmp/efi.img" "$imgdir/grub/grub.cfg" "$tmp/grubenv" ::/grub/
for platform in i386-pc x86_64-efi; do
    mcopy -i "$tmp/efi.img" /usr/lib/grub/$platform/*.mod /usr/lib/grub/$platform/*.lst \
        "::/grub/$platform/"
done

# The disk: 1 MiB head (GPT), the partitions, 1 MiB tail (backup GPT).
efi_start=2 a_start=$((2 + efi_mib)) b_start=$((2 + efi_mib + root_mib))
data_start=$((2 + efi_mib + 2 * root_mib))
total_mib=$((data_start + data_mib + 1))
rm -f "$out"
truncate -s "${total_mib}M" "$out"
root_type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709  # Linux root (x86-64)
sfdisk -q --no-reread --no-tell-kernel "$out" <<SFDISK
label: gpt
unit: sectors
first-lba: 2048
start=2048, size=2048, type=21686148-6453-6F6E-6744-6D6F76654966, name="bios-boot"
start=$((efi_start * 2048)), size=$((efi_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="efi"
start=$((a_start * 2048)), size=$((root_mib * 2048)), type=$root_type, name="ixp-root-a"
start=$((b_start * 2048)), size=$((root_mib * 2048)), type=$root_type, name="ixp-root-b"
start=$((data_start * 2048)), size=$((data_mib * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="ixp-data"
SFDISK
dd if="$tmp/efi.img" of="$out" bs=$MiB seek=$efi_start conv=notrunc,sparse status=none
dd if="$tmp/root.img" of="$out" bs=$MiB seek=$a_start conv=notrunc,sparse status=none
dd if="$tmp/data.img" of="$out" bs=$MiB seek=$data_start conv=notrunc,sparse status=none
python3 "$imgdir/install-bios-boot.py" "$out" /usr/lib/grub/i386-pc/boot.img "$tmp/core.img" \
    2048 2048
if [ -n "$slot_out" ]; then
    mv "$tmp/root.img" "$slot_out"
fi
echo "disk: $out (${total_mib} MiB: two slots of ${root_mib} MiB, data ${data_mib} MiB, kernel $kver)" >&2
