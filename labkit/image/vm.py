"""Build the appliance disk image (or reuse it) and boot it under qemu with TCG.

Everything here works on files and processes of its own: a copy of the image, a qemu process
with user-mode networking whose only port forward binds 127.0.0.1, killed by its PID.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pexpect

# Where built images are kept between test runs (outside the repository): one per tree hash.
CACHE = Path(os.environ.get("IXP_IMAGE_TEST_CACHE", "/var/cache/ixp-image-test"))
# .debs between builds (build-image.sh's IXP_IMAGE_APT_CACHE); a fresh machine just fills it.
APT_CACHE = Path(os.environ.get("IXP_IMAGE_APT_CACHE", "/var/cache/ixp-image-apt"))
# The throwaway release key the test images are signed with: made on the first run, kept
# beside the caches (never in the repository), and part of the cache key through its
# certificate, which the image carries as its keyring.
KEYS = Path(os.environ.get("IXP_IMAGE_TEST_KEYS", "/var/cache/ixp-image-keys"))
# What the image is made of: a change in any of these means a new image.
INPUTS = ("build-image.sh", "image", "rootfs", "systemd", "appliance", "pyproject.toml",
          "constraints.txt")
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
BUILD_TOOLS = {
    "mmdebstrap": "mmdebstrap", "grub-mkimage": "grub2-common", "mcopy": "mtools",
    "mkfs.vfat": "dosfstools", "mkfs.ext4": "e2fsprogs", "sfdisk": "fdisk", "zstd": "zstd",
    "qemu-system-x86_64": "qemu-system-x86", "rauc": "rauc", "mksquashfs": "squashfs-tools",
    "grub-editenv": "grub-common", "debugfs": "e2fsprogs",
}
SECTOR = 512
# A console silent this long in GRUB's menu (which counts down every second) is a frozen VM.
STALL_SECONDS = 120
SETUP_CODE = r"Setup code: ([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})"
# The box's two NICs, told apart by MAC: management (first, so ixp-host-init picks it) and a
# peering-LAN port for a member (its own user-mode network with no way out: restrict=on).
MGMT_MAC = "52:54:00:12:34:56"
LAN_MAC = "52:54:00:12:34:57"


class MissingTool(AssertionError):
    """A tool the image test needs is not installed: a failure, never a skip."""


def require_tools() -> None:
    """Fail loudly, naming the Debian packages, when a build or boot tool is missing."""
    if os.geteuid() != 0:
        raise MissingTool("the image test runs as root (mmdebstrap sets file ownership)")
    missing = sorted({pkg for tool, pkg in BUILD_TOOLS.items() if not shutil.which(tool)})
    for path, pkg in ((Path("/usr/lib/grub/i386-pc"), "grub-pc-bin"),
                      (Path("/usr/lib/grub/x86_64-efi"), "grub-efi-amd64-bin"),
                      (OVMF_CODE, "ovmf")):
        if not path.exists():
            missing.append(pkg)
    if missing:
        raise MissingTool("missing Debian packages for the image test: " + " ".join(missing)
                          + " (apt-get install --no-install-recommends them; see dev.sh)")


@dataclass(frozen=True)
class ReleaseKey:
    """A signing key and its self-signed certificate (PEM files)."""

    key: Path
    cert: Path

    def env(self) -> dict[str, str]:
        """build-image.sh's and make-bundle.sh's variables for this key."""
        return {"IXP_RELEASE_KEY": str(self.key), "IXP_RELEASE_CERT": str(self.cert)}


def make_key(folder: Path, name: str, subject: str) -> ReleaseKey:
    """A throwaway RSA key with a self-signed certificate in ``folder`` (kept if there)."""
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = folder / f"{name}.key.pem", folder / f"{name}.cert.pem"
    if not (key.exists() and cert.exists()):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "3650", "-subj", f"/CN={subject}", "-keyout", str(key), "-out",
                        str(cert)], check=True, capture_output=True)
        key.chmod(0o600)
    return ReleaseKey(key, cert)


def release_key_for_tests() -> ReleaseKey:
    """The test images' release key (TESTS ONLY: never a real release's)."""
    return make_key(KEYS, "test-release", "ixp-appliance TEST release (throwaway, tests only)")


def tree_hash(repo: Path) -> str:
    """Hash of every file (tracked or not, not ignored) the image is built from, and of the
    test release certificate the image trusts."""
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "-co", "--exclude-standard", "--", *INPUTS],
        check=True, capture_output=True).stdout.split(b"\0")
    digest = hashlib.sha256()
    for name in sorted(n for n in listed if n):
        path = repo / os.fsdecode(name)
        if path.is_file():
            digest.update(name + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    digest.update(b"keyring\0" + hashlib.sha256(release_key_for_tests().cert.read_bytes()).digest())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class BuiltImage:
    """A built image and what its build measured."""

    path: Path
    size: int
    compressed_size: int
    build_seconds: float
    reused: bool
    root_used_mib: int
    packages: dict[str, int]  # Debian package -> installed size in KiB
    version: str = ""  # the firmware version it was built as
    bundle: Path | None = None  # the signed RAUC bundle of the same system
    slot_image: Path | None = None  # the system slot's file system (bundles are made from it)
    key: ReleaseKey | None = None


def build_or_reuse(repo: Path) -> BuiltImage:
    """Run build-image.sh unless an image of the same tree is cached; keep only the newest."""
    key = tree_hash(repo)
    out = CACHE / key
    img = out / "ixp-appliance.img"
    reused = img.exists() and (out / "build-stats.txt").exists()
    if not reused:
        if CACHE.exists():
            for old in CACHE.iterdir():
                if old.is_dir():
                    shutil.rmtree(old)
        out.mkdir(parents=True)
        env = {**os.environ, "IXP_IMAGE_APT_CACHE": str(APT_CACHE),
               **release_key_for_tests().env()}
        log = out / "build.log"
        with log.open("wb") as f:
            done = subprocess.run(["nice", "-n", "10", str(repo / "build-image.sh"), str(out)],
                                  stdout=f, stderr=subprocess.STDOUT, env=env, check=False)
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-4000:]
            shutil.rmtree(out)
            raise AssertionError(f"build-image.sh failed ({done.returncode}):\n{tail}")
    stats = dict(kv.split("=", 1) for kv in (out / "build-stats.txt").read_text().split())
    version = stats.get("version", "")
    return BuiltImage(path=img, size=img.stat().st_size, version=version,
                      bundle=out / f"ixp-appliance-{version}.raucb",
                      slot_image=out / "rootfs.ext4", key=release_key_for_tests(),
                      compressed_size=(out / "ixp-appliance.img.zst").stat().st_size,
                      build_seconds=float(stats["build_seconds"]), reused=reused,
                      root_used_mib=int(stats["root_used_mib"]),
                      packages={name: int(size) for name, size in (
                          line.split() for line in
                          (out / "packages.list").read_text().splitlines() if line.strip())})


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_disk(image: Path, dest: Path, size_bytes: int) -> Path:
    """A sparse copy of the image, enlarged like a real disk bigger than the image."""
    subprocess.run(["cp", "--sparse=always", str(image), str(dest)], check=True)
    os.truncate(dest, size_bytes)
    return dest


class Vm:
    """One qemu-system-x86_64 (TCG) with the serial console on a pexpect pipe."""

    def __init__(self, disk: Path, workdir: Path, *, uefi: bool, name: str,
                 memory_mb: int = 1024, no_internet: bool = False,
                 lan_tap: tuple[str, str] | None = None,
                 extra_https: tuple[str, ...] = ()) -> None:
        """``lan_tap`` (namespace, tap name): the peering-LAN NIC is that tap, inside a test
        namespace, instead of a closed user-mode network. ``extra_https``: more guest
        addresses whose 443 is forwarded (to ``https_ports[address]``), e.g. a static
        management address the test gives the box. ``no_internet``: the management network
        reaches nothing but the forwards (qemu's restrict=on)."""
        self.disk, self.workdir, self.uefi, self.name = disk, workdir, uefi, name
        self.memory_mb, self.no_internet, self.lan_tap = memory_mb, no_internet, lan_tap
        self.https_port = free_port()
        self.https_ports = {addr: free_port() for addr in extra_https}
        self.snmp_port = free_port()  # UDP: the management NIC's SNMP agent (port 161)
        self.monitor = workdir / f"{name}.monitor"
        self.console_log = workdir / f"{name}.console.log"
        self.child: pexpect.spawn | None = None
        self.started = 0.0
        self.stalls = 0  # hardware resets after qemu froze in GRUB (see expect_match)
        self.kicks = 0  # Enter pressed in a boot menu that stopped counting down
        self.kicked_at: float | None = None

    def command(self) -> list[str]:
        """qemu's argv: TCG (no KVM on these machines), user networking, 127.0.0.1 only."""
        forwards = f"hostfwd=tcp:127.0.0.1:{self.https_port}-:443"
        forwards += f",hostfwd=udp:127.0.0.1:{self.snmp_port}-:161"
        for addr, port in self.https_ports.items():
            forwards += f",hostfwd=tcp:127.0.0.1:{port}-{addr}:443"
        restrict = ",restrict=on" if self.no_internet else ""
        lan = (f"tap,id=lan,fd={TAP_FD}" if self.lan_tap
               else "user,id=lan,restrict=on,net=10.255.255.0/24")
        argv = ["nice", "-n", "10", "qemu-system-x86_64",
                "-machine", "q35,accel=tcg", "-cpu", "max", "-smp", "2",
                "-m", str(self.memory_mb),
                "-nographic", "-serial", "stdio",
                "-monitor", f"unix:{self.monitor},server,nowait",
                "-drive", f"file={self.disk},format=raw,if=virtio",
                "-netdev", f"user,id=mgmt{restrict},{forwards}",
                "-device", f"virtio-net-pci,netdev=mgmt,mac={MGMT_MAC}",
                "-netdev", lan,
                "-device", f"virtio-net-pci,netdev=lan,mac={LAN_MAC}"]
        if self.uefi:
            vars_copy = self.workdir / f"{self.name}.OVMF_VARS.fd"
            if not vars_copy.exists():
                shutil.copy(OVMF_VARS, vars_copy)
            argv += ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                     "-drive", f"if=pflash,format=raw,file={vars_copy}"]
        return argv

    def start(self) -> None:
        """Power on; the console goes to <name>.console.log as well."""
        argv = self.command()
        self.started = time.monotonic()
        pre = open_tap_in(*self.lan_tap) if self.lan_tap else None
        self.child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", codec_errors="replace",
                                   timeout=60, dimensions=(50, 200), preexec_fn=pre)
        self.child.logfile_read = self.console_log.open("a")

    def expect(self, pattern: str, timeout: float) -> str:
        """Wait for a regex on the serial console; its first group (or the match)."""
        match = self.expect_match(pattern, timeout)
        return match.group(1) if match.groups() else match.group(0)

    def expect_match(self, pattern: str, timeout: float) -> re.Match[str]:
        """Wait for a regex on the serial console; the match with all its groups.

        Under TCG on a busy machine qemu has frozen, now and then, in the firmware or GRUB's
        menu right after a reboot (the menu half drawn, no countdown, nothing more). When the
        console has been silent for STALL_SECONDS with GRUB's menu as the last thing on it,
        Enter is pressed on the console (``kicks``); if that does not help within another
        STALL_SECONDS, the VM gets one hardware reset, as an operator would power-cycle a box;
        every such reset is counted in ``stalls`` (the tests print both with their timings).
        """
        assert self.child is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                self.child.expect(pattern, timeout=max(0.1, min(left, 30.0)))
                return self.child.match
            except pexpect.TIMEOUT:
                if left <= 30.0:
                    exc_name = "TIMEOUT"
                    break
                self._reset_if_stalled()
            except pexpect.EOF:
                exc_name = "EOF"
                break
        text = self.console_log.read_text(errors="replace")
        # the banner repeats itself: what the boots and the firmware gate said is further up
        said = [line.strip() for line in text.splitlines()
                if "firmware" in line or "Booting `" in line or "Out of memory" in line]
        raise AssertionError(f"{self.name}: no {pattern!r} on the console ({exc_name}; "
                             f"{self.kicks} Enter and {self.stalls} resets in a frozen boot "
                             "menu); boots and firmware lines:\n" + "\n".join(said[-20:])
                             + f"\nlast output:\n{text[-3000:]}")

    def _reset_if_stalled(self) -> None:
        try:
            stat = self.console_log.stat()
            text = self.console_log.read_text(errors="replace")[-20000:]
        except OSError:
            return
        silent = time.time() - stat.st_mtime
        in_grub = text.rfind("GNU GRUB") > max(text.rfind("Booting `"), text.rfind("login:"))
        if silent <= STALL_SECONDS or not in_grub:
            self.kicked_at = None
            return
        if self.kicked_at is None:
            # First Enter, as a person in front of a menu whose countdown stopped would press:
            # a reset would count as one more boot attempt, and on a trial boot (one attempt)
            # that is a rollback the test did not ask for.
            self.kicked_at = time.time()
            self.kicks += 1
            assert self.child is not None
            self.child.send("\r")
        elif time.time() - self.kicked_at > STALL_SECONDS and self.stalls < 3:
            self.kicked_at = None
            self.stalls += 1
            self.monitor_command("system_reset")

    def monitor_command(self, line: str) -> None:
        """Send one line to qemu's human monitor (e.g. system_powerdown)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.monitor))
            s.sendall(line.encode() + b"\n")
            time.sleep(0.5)

    def power_off(self, timeout: float = 180) -> bool:
        """ACPI power button, as a person would press it; True if the guest shut down cleanly."""
        assert self.child is not None
        clean = True
        try:
            self.monitor_command("system_powerdown")
            self.child.expect(pexpect.EOF, timeout=timeout)
        except (OSError, pexpect.TIMEOUT):
            clean = False
        self.kill()
        return clean

    def kill(self) -> None:
        """Stop qemu (our own child, by PID) if it still runs."""
        if self.child is not None and self.child.isalive():
            self.child.terminate(force=True)
        if self.child is not None:
            self.child.close(force=True)


# qemu takes the peering-LAN tap as this inherited descriptor (-netdev tap,fd=...).
TAP_FD = 100
_CLONE_NEWNET = 0x40000000
_TUNSETIFF = 0x400454CA
_IFF_TAP, _IFF_NO_PI = 0x0002, 0x1000


def open_tap_in(namespace: str, tap: str) -> Callable[[], None]:
    """A pre-exec hook for qemu's child: attach to ``tap`` inside test namespace
    ``namespace`` as descriptor ``TAP_FD``, then return to this network namespace (qemu's
    user-mode forwards stay on this host's 127.0.0.1). Nothing outside the namespace is made.
    """
    def attach() -> None:
        import ctypes
        import fcntl
        libc = ctypes.CDLL(None, use_errno=True)
        home = os.open("/proc/self/ns/net", os.O_RDONLY)
        there = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
        if libc.setns(there, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {namespace}")
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", tap.encode(), _IFF_TAP | _IFF_NO_PI))
        if libc.setns(home, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back")
        os.dup2(fd, TAP_FD)  # inheritable: qemu finds it after exec
        for extra in (fd, home, there):
            os.close(extra)
    return attach


def https_fingerprint(port: int, timeout: float = 10) -> str:
    """SHA-256 of the certificate served on 127.0.0.1:PORT (self-signed: not verified)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw, \
            ctx.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der, "no certificate"
    return hashlib.sha256(der).hexdigest()


def partition_table(disk: Path) -> list[dict]:
    """The disk's GPT as sfdisk reads it."""
    import json
    out = subprocess.run(["sfdisk", "--json", str(disk)], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)["partitiontable"]["partitions"]


def ext4_size(disk: Path, start_sector: int) -> tuple[int, str]:
    """Size in bytes and label of the ext4 file system starting at START_SECTOR."""
    with disk.open("rb") as f:
        f.seek(start_sector * SECTOR + 1024)
        sb = f.read(1024)
    magic = struct.unpack_from("<H", sb, 0x38)[0]
    assert magic == 0xEF53, "no ext4 superblock there"
    blocks_lo, log_block = struct.unpack_from("<I", sb, 4)[0], struct.unpack_from("<I", sb, 24)[0]
    blocks_hi = struct.unpack_from("<I", sb, 0x150)[0]
    label = sb[0x78:0x88].split(b"\0", 1)[0].decode()
    return ((blocks_hi << 32) | blocks_lo) * (1024 << log_block), label


@contextlib.contextmanager
def running(vm: Vm) -> Iterator[Vm]:
    """Start a VM and make sure it is gone afterwards, whatever happens."""
    vm.start()
    try:
        yield vm
    finally:
        vm.kill()
