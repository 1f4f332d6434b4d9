#!/usr/bin/env bash
# The daemons the image ships, in a tree of their own, for the lab and the tests.
#
# Usage (as root): image/shipped-root.sh CACHE_DIR      prints the tree's path on stdout
#
# A tree with BIRD, unbound, stayrtr and nftables from the same Debian release (and mirror) as
# the image (build-image.sh's IXP_IMAGE_SUITE, default trixie), bootstrapped once with
# mmdebstrap and kept in CACHE_DIR/<hash of this script and the package list>/root. The lab
# and the tests then run each daemon inside its namespace with that tree's /usr bound over the
# host's (appliance/platform/shipped.py): the binaries and libraries the box runs, on the
# host's kernel, with the host's paths for configs, sockets and state. So the route server the
# tests check is the image's, on a Debian 12 development host too.
# The tree keeps its apt package lists: what this Debian release offers, known offline.
# Needs: mmdebstrap (dev.sh installs it). Reaches only Debian's mirror.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:?usage: image/shipped-root.sh CACHE_DIR}
mirror=${IXP_IMAGE_MIRROR:-http://deb.debian.org}
suite=${IXP_IMAGE_SUITE:-trixie}
# The daemons whose versions matter (image/packages.txt names the same ones), and the data
# unbound's DNSSEC trust anchor comes from. IXP_SHIPPED_BIRD=bird3: the same tree with BIRD 3
# instead (bench/bird2_vs_bird3.py compares the two; the image ships bird2).
bird=${IXP_SHIPPED_BIRD:-bird2}
case "$bird" in bird2|bird3) ;; *) echo "shipped-root: IXP_SHIPPED_BIRD=$bird: bird2 or bird3" >&2; exit 1 ;; esac
packages=("$bird" unbound stayrtr nftables dns-root-data)

key=$( { cat "$0"; echo "$suite ${packages[*]} $mirror"; } | sha256sum | cut -c1-16)
dest=$cache/$key
mkdir -p "$cache"
# One builder at a time (the suite's two pytest processes may both ask at start).
exec 9>"$cache/.lock"
flock 9
if [ -x "$dest/root/usr/sbin/bird" ] && [ -f "$dest/versions.txt" ]; then
    touch "$dest/used"  # (see below: a tree in use is kept)
    echo "$dest/root"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "shipped-root: run as root (mmdebstrap)" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "shipped-root: missing mmdebstrap (apt-get install mmdebstrap)" >&2; exit 1; }
mkdir -p "$cache"
# Only one tree per BIRD is kept: older ones are the daemons of an older package list. But not
# one made or used in the last day: another checkout of another version of this script (another
# branch) may be running tests with that tree's /usr bound right now.
for old in "$cache"/*/; do
    [ -d "$old" ] && [ "$old" != "$dest/" ] && [ "$(cat "$old/bird" 2>/dev/null)" = "$bird" ] \
        && [ -z "$(find "$old" "$old/used" -maxdepth 0 -mmin -1440 2>/dev/null)" ] \
        && rm -rf "$old"
done
tmp=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
apt_cache=${IXP_IMAGE_APT_CACHE:-/var/cache/ixp-image-apt}
mkdir -p "$apt_cache"
echo "shipped-root: bootstrapping ${packages[*]} from Debian $suite into $dest" >&2
# shellcheck disable=SC2016  # "$1" is for mmdebstrap's hook shell
mmdebstrap --mode=root --variant=minbase --format=directory --quiet \
    --include="$(IFS=,; echo "${packages[*]}")" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --aptopt='Acquire::Languages "none"' --aptopt='Acquire::GzipIndexes "true"' \
    --skip=download/empty --skip=essential/unlink --skip=cleanup/apt/lists \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in $apt_cache /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives $apt_cache" \
    "$suite" "$tmp/root" \
    "deb $mirror/debian $suite main" \
    "deb $mirror/debian $suite-updates main" \
    "deb $mirror/debian-security $suite-security main" >&2
echo "$bird" > "$tmp/bird"
chroot "$tmp/root" dpkg-query -W -f '${Package} ${Version}\n' "${packages[@]}" > "$tmp/versions.txt"
# The package lists stay (lz4-compressed, about 20 MB): they say offline which packages this
# release has, e.g. for the check that dev.sh's list installs on it (tests/unit/test_dev_sh.py).
rm -rf "$tmp/root/var/cache/apt/archives/"*.deb
mv "$tmp" "$dest"
trap - EXIT
echo "$dest/root"
