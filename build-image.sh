#!/usr/bin/env bash
# Build the appliance disk image: Debian 13 (trixie) + the appliance, as a raw GPT disk that boots with
# legacy BIOS and UEFI, plus a zstd-compressed copy, the signed RAUC update bundle of the same
# system (ixp-appliance-<version>.raucb) and SHA-256 sums.
#
# Usage (as root on Debian 12 or 13): ./build-image.sh [OUT_DIR]     (default: ./out)
# Needs: mmdebstrap grub-pc-bin grub-efi-amd64-bin mtools dosfstools e2fsprogs fdisk zstd
#        python3-venv (see dev.sh). Reaches only Debian's mirror and PyPI.
# Environment:
#   IXP_IMAGE_APT_CACHE  directory keeping downloaded .debs between builds (optional)
#   IXP_IMAGE_WORK       scratch directory (default: a fresh one under /var/tmp)
#   IXP_RELEASE_KEY      the release signing key (PEM) the bundle is signed with (required)
#   IXP_RELEASE_CERT     its X.509 certificate (PEM) (required)
#   IXP_RELEASE_KEYRING  the certificate(s) the box trusts (default: IXP_RELEASE_CERT); only
#                        this goes into the image, never the key (docs/upgrade.md)
#   IXP_FIRMWARE_VERSION the firmware version (default: the appliance package's version)
#   IXP_IMAGE_SUITE      the Debian release under the box (default: trixie; bookworm still
#                        builds, for comparisons: docs/install.md)
# Works only on files: no loop device, no mount, nothing of the host's disks is touched.
set -euo pipefail
repo=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "${1:-$repo/out}")
mirror=${IXP_IMAGE_MIRROR:-http://deb.debian.org}
suite=${IXP_IMAGE_SUITE:-trixie}
# The image's Python: the appliance's wheels are fetched for it (image/build-wheels.sh).
case "$suite" in
    trixie) image_python=3.13 debian=13 ;;
    bookworm) image_python=3.11 debian=12 ;;
    *) echo "build-image: IXP_IMAGE_SUITE=$suite: use trixie or bookworm" >&2; exit 1 ;;
esac

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { echo "build-image: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (mmdebstrap needs it to set file ownership)"
for tool in mmdebstrap grub-mkimage mcopy mkfs.vfat mkfs.ext4 sfdisk zstd sha256sum; do
    command -v "$tool" >/dev/null || die "missing $tool (install the packages listed in dev.sh)"
done
for dir in /usr/lib/grub/i386-pc /usr/lib/grub/x86_64-efi; do
    [ -d "$dir" ] || die "missing $dir (apt-get install grub-pc-bin grub-efi-amd64-bin)"
done
for tool in rauc mksquashfs grub-editenv debugfs resize2fs; do
    command -v "$tool" >/dev/null || die "missing $tool (apt-get install rauc squashfs-tools grub-common e2fsprogs)"
done
# The release key is checked first: a build that cannot sign its bundle stops here, not after
# minutes of bootstrapping. The key is only read by rauc on this machine.
key=${IXP_RELEASE_KEY:-} cert=${IXP_RELEASE_CERT:-}
if [ -z "$key" ] || [ -z "$cert" ] || [ ! -r "$key" ] || [ ! -r "$cert" ]; then
    die "no release key to sign the update bundle with.
Set IXP_RELEASE_KEY and IXP_RELEASE_CERT to your release key and certificate (PEM). To create
a key pair for your own builds (docs/upgrade.md, \"Release keys\", says how to keep it):
    openssl req -x509 -newkey rsa:4096 -nodes -days 3650 -subj '/CN=my IXP release' \\
        -keyout release.key.pem -out release.cert.pem
    IXP_RELEASE_KEY=\$PWD/release.key.pem IXP_RELEASE_CERT=\$PWD/release.cert.pem $0"
fi
keyring=${IXP_RELEASE_KEYRING:-$cert}
openssl x509 -in "$keyring" -noout 2>/dev/null || die "$keyring is not a PEM certificate"
version=${IXP_FIRMWARE_VERSION:-$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$repo/appliance/__init__.py")}
[ -n "$version" ] || die "cannot read the version from appliance/__init__.py"

work=${IXP_IMAGE_WORK:-$(mktemp -d /var/tmp/ixp-image-build.XXXXXX)}
mkdir -p "$work" "$out"
cleanup() { rm -rf "$work/rootfs" "$work/wheels"; [ -n "${IXP_IMAGE_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
start=$(date +%s)

log "building the appliance wheel and its pinned dependencies"
"$repo/image/build-wheels.sh" "$repo" "$work/wheels" "$image_python"

log "bootstrapping Debian $debian ($suite) with mmdebstrap"
mapfile -t packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$repo/image/packages.txt")
cache_args=()
if [ -n "${IXP_IMAGE_APT_CACHE:-}" ]; then
    # Reuse .debs from earlier builds (mmdebstrap's documented sync-in/sync-out pattern).
    mkdir -p "$IXP_IMAGE_APT_CACHE"
    # shellcheck disable=SC2016  # "$1" is for mmdebstrap's hook shell, not this one
    cache_args=(--skip=download/empty --skip=essential/unlink
        --setup-hook='mkdir -p "$1"/var/cache/apt/archives/'
        --setup-hook="sync-in $IXP_IMAGE_APT_CACHE /var/cache/apt/archives/"
        --customize-hook="sync-out /var/cache/apt/archives $IXP_IMAGE_APT_CACHE")
    # (the .debs themselves leave the image right after sync-out: the hook below)
fi
rm -rf "$work/rootfs"
# Lean: no manuals, info pages, locales or docs (copyright files stay), no kernel test modules,
# no stayrtr debugging tools (rtrdump, rtrmon), merged /usr set up by mmdebstrap's hook rather
# than the usrmerge package (which needs Perl), and no kernel modules a route-server box cannot use (sound, cameras, Wi-Fi, Bluetooth, desktop GPUs, exotic file
# systems, InfiniBand). Every wired NIC and storage driver stays: real servers need them.
# (dpkg sees the kernel's files under /lib/modules, the path in the package, not /usr/lib.)
# shellcheck disable=SC2016  # "$1" in hooks is for mmdebstrap's hook shell (the rootfs dir)
mmdebstrap --mode=root --variant=minbase --format=directory \
    --include="$(IFS=,; echo "${packages[*]}")" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/sound/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/media/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/bluetooth/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/net/wireless/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/net/bluetooth/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/net/wireless/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/net/mac80211/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/gpu/drm/amd/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/gpu/drm/i915/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/gpu/drm/radeon/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/iio/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/staging/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/infiniband/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/isdn/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/target/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/nfc/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/input/joystick/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/input/touchscreen/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/input/tablet/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/gpu/drm/nouveau/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/ocfs2/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/gfs2/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/ceph/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/smb/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/afs/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/coda/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/jfs/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/reiserfs/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/nilfs2/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/ubifs/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/orangefs/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/f2fs/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/btrfs/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/fs/xfs/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/net/ceph/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/net/rxrpc/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/net/nfc/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/net/ieee802154/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/net/mac802154/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/lib/test_*' \
    --dpkgopt='path-exclude=/usr/bin/rtrdump' \
    --dpkgopt='path-exclude=/usr/bin/rtrmon' \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --setup-hook='mkdir -p "$1"/etc/initramfs-tools/conf.d' \
    --setup-hook="cp $repo/image/initramfs.conf \"\$1\"/etc/initramfs-tools/conf.d/ixp.conf" \
    --customize-hook="$repo/image/customize.sh \"\$1\" $repo $work/wheels" \
    --customize-hook="mkdir -p \"\$1\"/usr/share/doc/ixp-appliance && cp -a --no-preserve=ownership $repo/docs/. \"\$1\"/usr/share/doc/ixp-appliance/" \
    "${cache_args[@]}" \
    --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/cache/apt/archives/partial/*' \
    "$suite" "$work/rootfs" \
    "deb $mirror/debian $suite main" \
    "deb $mirror/debian $suite-updates main" \
    "deb $mirror/debian-security $suite-security main"

# mmdebstrap empties /etc/machine-id after the hooks; "uninitialized" makes systemd treat the
# box's first boot as a first boot (ConditionFirstBoot=yes units run, the id is committed).
echo uninitialized > "$work/rootfs/etc/machine-id"
# The box's own resolver list is systemd-resolved's (DHCP's servers, or the wizard's): never
# the build machine's file that mmdebstrap leaves behind. No stub listener (resolved.conf.d).
ln -sfn ../run/systemd/resolve/resolv.conf "$work/rootfs/etc/resolv.conf"
# The firmware version the Firmware page, the banner and RAUC compare, and the certificates an
# update bundle must be signed by (only the certificates: the key stays with whoever builds).
printf '%s\n' "$version" > "$work/rootfs/etc/ixp-appliance/firmware-version"
install -m 0644 "$keyring" "$work/rootfs/etc/rauc/keyring.pem"

# What the system actually takes (the root partition has headroom for updates).
root_mib=$(du -sxm "$work/rootfs" | cut -f1)
chroot "$work/rootfs" dpkg-query -W -f '${Package} ${Installed-Size}\n' | sort > "$out/packages.list"
ls "$work"/rootfs/opt/ixp-appliance/venv/lib/python3*/site-packages > "$out/venv.list"

log "assembling the GPT disk image"
"$repo/image/assemble-disk.sh" "$work/rootfs" "$repo/image" "$out/ixp-appliance.img" \
    "$out/rootfs.ext4"

log "making the signed update bundle"
bundle=ixp-appliance-$version.raucb
IXP_BUNDLE_NOTES=${IXP_BUNDLE_NOTES:-"ixp-appliance $version"} \
    "$repo/image/make-bundle.sh" "$out/rootfs.ext4" "$version" "$out/$bundle"

log "compressing and checksumming"
zstd -q -T0 -10 -f "$out/ixp-appliance.img" -o "$out/ixp-appliance.img.zst"
(cd "$out" && sha256sum ixp-appliance.img ixp-appliance.img.zst "$bundle" > SHA256SUMS)

took=$(( $(date +%s) - start ))
raw=$(stat -c %s "$out/ixp-appliance.img")
zst=$(stat -c %s "$out/ixp-appliance.img.zst")
bundle_bytes=$(stat -c %s "$out/$bundle")
printf 'build_seconds=%s image_bytes=%s compressed_bytes=%s root_used_mib=%s bundle_bytes=%s version=%s suite=%s\n' \
    "$took" "$raw" "$zst" "$root_mib" "$bundle_bytes" "$version" "$suite" \
    | tee "$out/build-stats.txt"
log "image: $out/ixp-appliance.img ($((raw / 1048576)) MiB, $((zst / 1048576)) MiB compressed)"
log "bundle: $out/$bundle ($((bundle_bytes / 1048576)) MiB)"
