#!/usr/bin/env bash
# The two commands of the README, on a fresh Debian 12 or 13 machine, as root:
#   ./dev.sh demo    lab + route server + web UI on http://127.0.0.1:8080 (Ctrl-C stops)
#   ./dev.sh test    the whole test suite (and ruff)
# Both install what they need first: Debian packages with apt-get, Python packages into .venv.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the appliance and its tests use (one place; the image has its own list).
# Real package names only, the same on Debian 12 and 13: a virtual or transitional name (e.g.
# dnsutils, only provided by bind9-dnsutils on 13) never shows as installed to dpkg-query, so
# every run would call apt-get again.
APT_PACKAGES=(
  python3 python3-venv iproute2 procps
  bird2 nftables iputils-ping iperf3 util-linux stayrtr bgpq4 ethtool
  unbound dns-root-data bind9-dnsutils ldnsutils snmp snmptrapd mrtg prometheus-snmp-exporter nginx curl openssl
  chromium fonts-dejavu-core
  mmdebstrap grub-pc-bin grub-efi-amd64-bin grub2-common mtools dosfstools e2fsprogs fdisk
  zstd qemu-system-x86 ovmf git
  rauc squashfs-tools grub-common systemd
)

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: run as root (sudo $0 $*): the lab and the tests create network namespaces" >&2
    exit 1
  fi
}

install_debian_packages() {
  local missing=()
  # npm for axe-core: Debian's nodejs and npm only when no Node.js is installed already (a
  # machine with Node.js from elsewhere has its own npm, which Debian's npm conflicts with).
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  # Keep apt from starting bird/unbound on the host itself: everything runs in namespaces.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } || rc=$?
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  return "$rc"
}

install_python_packages() {
  local stamp=.venv/.installed
  local want
  want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "installing Python packages into .venv"
  # Debian's own Python (3.11 on Debian 12, 3.13 on 13), whatever else is on PATH.
  [ -x .venv/bin/python ] || /usr/bin/python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
  echo "$want" > "$stamp"
}

# The web UI's catalogues (.po) compiled to the .mo files Flask-Babel reads; every setup, since
# a changed .po does not change the install stamp above.
compile_catalogues() {
  .venv/bin/pybabel compile -d appliance/web/translations
}

# axe-core (the accessibility checker the browser tests inject into every page), from npm into
# .venv/npm; the stamp holds the version, so it is fetched once.
AXE_CORE_VERSION=4.10.3
install_axe_core() {
  local stamp=.venv/npm/.installed
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$AXE_CORE_VERSION" ] \
      && [ -f .venv/npm/node_modules/axe-core/axe.min.js ]; then
    return 0
  fi
  log "installing axe-core $AXE_CORE_VERSION from npm into .venv/npm"
  mkdir -p .venv/npm
  npm install -q --prefix .venv/npm --no-audit --no-fund --no-save "axe-core@$AXE_CORE_VERSION"
  echo "$AXE_CORE_VERSION" > "$stamp"
}

# The whole suite in two pytest processes side by side: the image tests (build, then qemu
# boots, which wait on the emulated box most of the time) in the background, everything else in
# the foreground. One after the other they take about 30 minutes; side by side about the longer
# of the two. The image tests' report is printed after the rest, then one verdict for both.
run_whole_suite() {
  local image_log rest=0 image=0
  image_log=$(mktemp /tmp/ixp-image-tests.XXXXXX.log)
  log "pytest: the image tests (tests/image, qemu) in the background, output in $image_log"
  .venv/bin/pytest -m image -p no:cacheprovider >"$image_log" 2>&1 &
  local image_pid=$!
  # interrupted (Ctrl-C, CI's time limit): end the background run too, so its qemu goes
  trap 'kill -TERM "$image_pid" 2>/dev/null; wait "$image_pid"; exit 130' INT TERM
  log "pytest: everything else"
  .venv/bin/pytest -m "not image" || rest=$?
  log "waiting for the image tests"
  wait "$image_pid" || image=$?
  trap - INT TERM
  log "the image tests' report"
  cat "$image_log"
  log "verdict: everything else exit $rest, image tests exit $image"
  [ "$rest" -eq 0 ] && [ "$image" -eq 0 ]
}

# The route server, resolver and firewall of the demo are the image's own BIRD, unbound,
# stayrtr and nft (its Debian release), from a tree made once (image/shipped-root.sh, about a
# minute the first time); IXP_SHIPPED_ROOT already set is kept (empty: the host's daemons).
use_shipped_daemons() {
  if [ -z "${IXP_SHIPPED_ROOT+set}" ]; then
    log "the image's daemons for the lab (image/shipped-root.sh)"
    IXP_SHIPPED_ROOT=$(image/shipped-root.sh "${IXP_SHIPPED_CACHE:-/var/cache/ixp-shipped-root}")
    export IXP_SHIPPED_ROOT
  fi
}

setup() {
  need_root "$@"
  install_debian_packages
  install_python_packages
  compile_catalogues
  install_axe_core
}

case "${1:-}" in
  demo)
    shift
    setup demo
    use_shipped_daemons
    exec .venv/bin/ixpctl demo "$@"
    ;;
  test)
    shift
    setup test
    log "ruff"
    .venv/bin/ruff check .
    if [ $# -gt 0 ]; then
      log "pytest $*"
      exec .venv/bin/pytest "$@"
    fi
    run_whole_suite
    ;;
  setup)
    setup setup
    ;;
  packages)
    # the Debian packages setup installs (nodejs and npm only where no Node.js is), one a
    # line; tests/unit/test_dev_sh.py checks them against the image's Debian release
    printf '%s\n' "${APT_PACKAGES[@]}" nodejs npm
    ;;
  *)
    echo "usage: sudo $0 demo [ixpctl demo options] | test [pytest options] | setup | packages" >&2
    exit 2
    ;;
esac
