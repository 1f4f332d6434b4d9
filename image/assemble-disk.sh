#!/usr/bin/env bash
# Turn a finished root tree into a raw GPT disk image that boots with legacy BIOS and UEFI.
# Usage: image/assemble-disk.sh ROOTFS_DIR IMAGE_DIR OUT_IMG
#
# Layout (1 MiB aligned):
#   1  bios-boot  1 MiB     GRUB core.img for legacy BIOS
#   2  efi       64 MiB     FAT, /EFI/BOOT/BOOTX64.EFI (the removable-media path every UEFI tries)
#   3  ixp-root  ext4, the system (kernel, Debian, the appliance venv)
#   4  ixp-data  ext4 mounted at /var/lib/ixp-appliance: config + revision store; small here,
#                grown to fill the disk on first boot; factory reset re-creates only this one
# Every file system is made from a directory or a file (mkfs.ext4 -d, mtools), never mounted,
# so this needs no loop device and no udev.
set -euo pipefail
rootfs=$1 imgdir=$2 out=$3
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

# GRUB's menu and modules live on the root file system; the EFI binary and core.img carry only
# what is needed to find it (image/grub/early.cfg). No udev here: root=LABEL= is rendered in.
mkdir -p "$rootfs/boot/grub"
sed "s/@KVER@/$kver/g" "$imgdir/grub/grub.cfg.in" > "$rootfs/boot/grub/grub.cfg"
for platform in i386-pc x86_64-efi; do
    rm -rf "${rootfs:?}/boot/grub/$platform"
    mkdir -p "$rootfs/boot/grub/$platform"
    cp /usr/lib/grub/$platform/*.mod /usr/lib/grub/$platform/*.lst "$rootfs/boot/grub/$platform/"
done
modules="part_gpt part_msdos ext2 fat search search_label search_fs_uuid normal configfile
         linux echo test serial terminal reboot halt sleep"
# shellcheck disable=SC2086  # word splitting of the module list is wanted
grub-mkimage -O i386-pc -o "$tmp/core.img" -c "$imgdir/grub/early.cfg" -p /boot/grub \
    biosdisk $modules
# shellcheck disable=SC2086
grub-mkimage -O x86_64-efi -o "$tmp/BOOTX64.EFI" -c "$imgdir/grub/early.cfg" -p /boot/grub \
    $modules efi_gop efi_uga all_video

# Root: the tree's size plus room for logs and upgrades.
used_mib=$(du -sm --apparent-size "$rootfs" | cut -f1)
root_mib=$(( (used_mib * 13 / 10 + 256 + 63) / 64 * 64 ))
mkdir -p "$rootfs/var/lib/ixp-appliance"
mkfs.ext4 -q -F -L ixp-root -d "$rootfs" "$tmp/root.img" "${root_mib}M"
mkdir -p "$tmp/empty"
mkfs.ext4 -q -F -L ixp-data -d "$tmp/empty" "$tmp/data.img" "${data_mib}M"
mkfs.vfat -n IXP-EFI -C "$tmp/efi.img" $((efi_mib * 1024)) >/dev/null
mmd -i "$tmp/efi.img" ::/EFI ::/EFI/BOOT
mcopy -i "$tmp/efi.img" "$tmp/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI

# The disk: 1 MiB head (GPT), the partitions, 1 MiB tail (backup GPT).
efi_start=2 root_start=$((2 + efi_mib)) data_start=$((2 + efi_mib + root_mib))
total_mib=$((data_start + data_mib + 1))
rm -f "$out"
truncate -s "${total_mib}M" "$out"
sfdisk -q --no-reread --no-tell-kernel "$out" <<SFDISK
label: gpt
unit: sectors
first-lba: 2048
start=2048, size=2048, type=21686148-6453-6F6E-6744-6D6F76654966, name="bios-boot"
start=$((efi_start * 2048)), size=$((efi_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="efi"
start=$((root_start * 2048)), size=$((root_mib * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="ixp-root"
start=$((data_start * 2048)), size=$((data_mib * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="ixp-data"
SFDISK
dd if="$tmp/efi.img" of="$out" bs=$MiB seek=$efi_start conv=notrunc,sparse status=none
dd if="$tmp/root.img" of="$out" bs=$MiB seek=$root_start conv=notrunc,sparse status=none
dd if="$tmp/data.img" of="$out" bs=$MiB seek=$data_start conv=notrunc,sparse status=none
python3 "$imgdir/install-bios-boot.py" "$out" /usr/lib/grub/i386-pc/boot.img "$tmp/core.img" \
    2048 2048
echo "disk: $out (${total_mib} MiB: root ${root_mib} MiB, data ${data_mib} MiB, kernel $kver)" >&2
