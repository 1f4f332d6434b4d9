#!/usr/bin/env bash
# mmdebstrap customize hook: turn the freshly bootstrapped Debian tree into the appliance.
# Usage (by build-image.sh): image/customize.sh ROOTFS_DIR REPO_DIR WHEEL_DIR
# Runs after every package is installed, with /proc, /sys and /dev mounted in ROOTFS_DIR.
set -euo pipefail
root=$1 repo=$2 wheels=$3
in_root() { chroot "$root" "$@"; }

# The appliance in its own venv, from the wheels built on the host (no network, no compiler).
mkdir -p "$root/tmp/wheels"
cp "$wheels"/*.whl "$repo/constraints.txt" "$root/tmp/wheels/"
in_root /usr/bin/python3 -m venv /opt/ixp-appliance/venv
in_root /opt/ixp-appliance/venv/bin/pip install -q --disable-pip-version-check --no-cache-dir \
    --no-index --find-links /tmp/wheels -c /tmp/wheels/constraints.txt ixp-appliance
rm -rf "$root/tmp/wheels"
ln -sf /opt/ixp-appliance/venv/bin/ixpctl "$root/usr/local/bin/ixpctl"
# The box never installs Python packages itself (updates are whole signed system images, see
# docs/upgrade.md): pip and setuptools
# leave the venv, and python3-venv with its bundled wheels leaves the system.
in_root /opt/ixp-appliance/venv/bin/python -m pip uninstall -q -y pip setuptools wheel \
    >/dev/null 2>&1 || true
rm -f "$root"/opt/ixp-appliance/venv/bin/pip*
# (python3.X-venv by whatever X the release ships)
mapfile -t venv_pkgs < <(in_root dpkg-query -W -f '${db:Status-Abbrev}${Package}\n' \
    'python3*-venv' python3-pip-whl python3-setuptools-whl 2>/dev/null | sed -n 's/^ii *//p')
[ "${#venv_pkgs[@]}" -eq 0 ] || in_root dpkg --purge "${venv_pkgs[@]}" >/dev/null
# pip compiled the bytecode: keep it. Without it every ixpctl start on a slow box compiles
# pydantic and Flask again (and cannot store the result on a read-only or busy system).

# Our files over Debian's, then our units (enabled below).
cp -a --no-preserve=ownership "$repo/rootfs/." "$root/"
rm -f "$root/README.md"
install -m 0644 "$repo"/systemd/*.service "$repo"/systemd/*.path "$repo"/systemd/*.timer \
    "$repo"/systemd/*.socket \
    "$root/etc/systemd/system/"
chmod 0755 "$root"/usr/local/sbin/*
# The daemons' own users (rootfs/usr/lib/sysusers.d/ixp-appliance.conf), made now so that the
# image carries them with the same ids on every box (systemd-sysusers at boot finds them).
in_root systemd-sysusers /usr/lib/sysusers.d/ixp-appliance.conf

# Our own units run BIRD, unbound and stayrtr on the committed revision's files (see
# systemd/README.md), so Debian's default daemons with their sample configs stay off; so does
# Debian's nginx (ixp-https.service runs it with our config).
for unit in bird.service unbound.service stayrtr.service nginx.service \
            unbound-resolvconf.service; do
    if [ -e "$root/lib/systemd/system/$unit" ]; then in_root systemctl disable "$unit" || true; fi
done
in_root systemctl mask ssh.socket >/dev/null 2>&1 || true
in_root systemctl enable systemd-networkd.service systemd-resolved.service \
    systemd-timesyncd.service ssh.service \
    ixp-factory-reset.service ixp-grow-data.service ixp-host-init.service \
    ixp-state-init.service ixp-restore.service ixp-web.service ixp-apply.socket ixp-https.service \
    ixp-banner.service ixp-bird.service ixp-bird.path ixp-unbound.service ixp-anycast.service \
    ixp-stayrtr.service ixp-snmp.service ixp-snmp.path ixp-collector.service \
    ixp-rauc.service ixp-firmware-gate.service ixp-data-refresh.timer ixp-report-mail.timer

# Generated on the box at first boot, never baked in: SSH host keys (ixp-host-init), the
# machine id (build-image.sh marks it "uninitialized" after mmdebstrap empties it).
rm -f "$root/var/lib/dbus/machine-id" "$root"/etc/ssh/ssh_host_*
# Empty root password would be a backdoor: root stays locked; the console needs no login.
in_root passwd -l root >/dev/null

# Lean: no docs, manuals, locales (dpkg path-exclude already skipped most), no apt lists.
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* \
       "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/var/log/*.log

# Where the space goes (printed into the build log; the report quotes it).
du -xsm "$root"/usr/lib/modules "$root"/usr/lib/x86_64-linux-gnu "$root"/usr/lib/python3* \
    "$root"/opt/ixp-appliance "$root"/usr/share "$root"/boot "$root"/var 2>/dev/null \
    | sed "s|$root||" >&2
