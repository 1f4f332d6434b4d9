#!/usr/bin/env bash
# Make the signed RAUC update bundle of a system slot's file system image.
# Usage: image/make-bundle.sh SLOT_EXT4 VERSION OUT.raucb
# Environment:
#   IXP_RELEASE_KEY, IXP_RELEASE_CERT   the release signing key and its certificate (PEM);
#                                       see docs/upgrade.md, "Release keys"
#   IXP_BUNDLE_NOTES                    release notes shown before an operator confirms
#   IXP_BUNDLE_SCHEMA                   config schema version (default: the source tree's)
#   IXP_BUNDLE_TEST_BREAK=web           TEST ONLY: a system whose web UI never starts, to prove
#                                       the health gate and the automatic fallback
# The slot image is copied, never changed: its /etc/ixp-appliance/firmware-version is set to
# VERSION in the copy (debugfs, no mount), and the copy is shrunk to its content (RAUC grows it
# to the slot after writing it: resize=true in /etc/rauc/system.conf). So a bundle of another
# version of the same tree costs a copy and a compression, not a new build.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
slot=$1 version=$2 out=$3
die() { echo "make-bundle: $*" >&2; exit 1; }
[ -f "$slot" ] || die "no slot image $slot"
case "$version" in
    ''|*[!0-9A-Za-z.+~-]*) die "version '$version': use digits, letters and . + ~ - only" ;;
esac
key=${IXP_RELEASE_KEY:-} cert=${IXP_RELEASE_CERT:-}
if [ -z "$key" ] || [ -z "$cert" ] || [ ! -r "$key" ] || [ ! -r "$cert" ]; then
    die "no release key: set IXP_RELEASE_KEY and IXP_RELEASE_CERT to a readable PEM key and
certificate. To make one for your own builds (keep the key off the box, see docs/upgrade.md):
  openssl req -x509 -newkey rsa:4096 -nodes -days 3650 -subj '/CN=my IXP release' \\
      -keyout release.key.pem -out release.cert.pem"
fi
schema=${IXP_BUNDLE_SCHEMA:-$(sed -n 's/^SCHEMA_VERSION = \([0-9]*\).*/\1/p' \
    "$repo/appliance/config/migrations/__init__.py")}
[ -n "$schema" ] || die "cannot read SCHEMA_VERSION from the source tree"
notes=${IXP_BUNDLE_NOTES:-"ixp-appliance $version"}
# one line in the manifest: newlines become spaces
notes=$(printf '%s' "$notes" | tr '\n' ' ')

tmp=$(mktemp -d /var/tmp/ixp-bundle.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/content"
img=$tmp/content/rootfs.ext4
cp --sparse=always "$slot" "$img"
printf '%s\n' "$version" > "$tmp/version"
{
    echo "rm /etc/ixp-appliance/firmware-version"
    echo "write $tmp/version /etc/ixp-appliance/firmware-version"
    echo "sif /etc/ixp-appliance/firmware-version mode 0100644"
} > "$tmp/edit"
if [ "${IXP_BUNDLE_TEST_BREAK:-}" = web ]; then
    # TEST ONLY (tests/image/test_firmware_update.py): the web UI's unit fails at once and is
    # never restarted, so the health gate finds the web UI not answering.
    printf '[Service]\nExecStart=\nExecStart=/bin/false\nRestart=no\n' > "$tmp/broken.conf"
    {
        echo "mkdir /etc/systemd/system/ixp-web.service.d"
        echo "write $tmp/broken.conf /etc/systemd/system/ixp-web.service.d/zz-test-broken.conf"
        echo "sif /etc/systemd/system/ixp-web.service.d/zz-test-broken.conf mode 0100644"
        echo "sif /etc/systemd/system/ixp-web.service.d mode 040755"
    } >> "$tmp/edit"
    notes="$notes (TEST BUILD: web UI broken on purpose)"
elif [ -n "${IXP_BUNDLE_TEST_BREAK:-}" ]; then
    die "IXP_BUNDLE_TEST_BREAK=$IXP_BUNDLE_TEST_BREAK: only 'web' exists"
fi
debugfs -w -f "$tmp/edit" "$img" >/dev/null 2>"$tmp/debugfs.log" \
    || { cat "$tmp/debugfs.log" >&2; die "debugfs could not edit the slot image"; }
e2fsck -fy "$img" >/dev/null 2>&1 || [ $? -le 1 ] || die "e2fsck found the slot image damaged"
resize2fs -M "$img" >/dev/null 2>&1 || die "resize2fs -M failed on the slot image"

# Runs inside RAUC when the new system is written (slot-post-install, the new slot mounted):
# what makes this box itself, and lives on the running system rather than on the data
# partition, goes along, so the new system boots as the same box (same SSH host keys,
# machine id, management network, host name, time zone), and its fstab names its own slot.
cat > "$tmp/content/hook.sh" <<'HOOK'
#!/bin/sh
set -eu
[ "${1:-}" = slot-post-install ] || exit 0
[ "${RAUC_SLOT_CLASS:-}" = rootfs ] || exit 0
new=$RAUC_SLOT_MOUNT_POINT
for f in /etc/machine-id /etc/hostname /etc/localtime /etc/ixp-appliance/mgmt-interface \
         /etc/ixp-appliance/data-grown /etc/systemd/network/10-ixp-mgmt.network \
         /etc/systemd/timesyncd.conf.d/ixp.conf /etc/ssh/ssh_host_*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    mkdir -p "$new$(dirname "$f")"
    cp -a "$f" "$new$f"
done
# The new system's fstab names its own slot (the image's says ixp-root-a).
slot=$(basename "$RAUC_SLOT_DEVICE")
case "$slot" in
    ixp-root-a|ixp-root-b) sed -i "s|^PARTLABEL=ixp-root-[ab][[:space:]]|PARTLABEL=$slot |" "$new/etc/fstab" ;;
    *) echo "unexpected slot device $RAUC_SLOT_DEVICE" >&2; exit 1 ;;
esac
grep -q "^PARTLABEL=$slot " "$new/etc/fstab"
HOOK
chmod 0755 "$tmp/content/hook.sh"
cat > "$tmp/content/manifest.raucm" <<MANIFEST
[update]
compatible=ixp-appliance-x86_64
version=$version
description=$notes
build=config-schema=$schema

[bundle]
format=verity

[hooks]
filename=hook.sh

[image.rootfs]
filename=rootfs.ext4
hooks=post-install
MANIFEST
rm -f "$out"
rauc bundle --cert "$cert" --key "$key" \
    --mksquashfs-args="-comp zstd -Xcompression-level 6" "$tmp/content" "$out" >"$tmp/rauc.log" 2>&1 \
    || { cat "$tmp/rauc.log" >&2; die "rauc bundle failed"; }
echo "bundle: $out ($(( $(stat -c %s "$out") / 1048576 )) MiB, version $version, schema $schema)" >&2
