"""dev.sh's Debian packages are real packages of the image's Debian release, installable together.

The README's two commands start by installing dev.sh's package list with apt-get, on a fresh
Debian 12 or 13 host. This host is one of the two; the tree of the shipped daemons
(image/shipped-root.sh, made once for the suite) is the image's release (Debian 13 unless
IXP_IMAGE_SUITE says otherwise) and keeps its apt package lists, so the names can be checked
there offline: a name that release lacks, or has only as a virtual name (which dpkg-query
never reports installed, so dev.sh would call apt-get on every run), fails here by name.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from appliance.platform import shipped

ROOT = Path(__file__).resolve().parents[2]


def _dev_sh_packages() -> list[str]:
    done = subprocess.run([str(ROOT / "dev.sh"), "packages"], capture_output=True, text=True,
                          check=True, timeout=30)
    return done.stdout.split()


def _release_tree() -> Path:
    tree = shipped.root()
    if tree is None:
        pytest.skip(f"{shipped.ENV} is empty: this run uses the host's daemons, so there is no "
                    "tree of the image's Debian release to check dev.sh's packages against")
    if os.geteuid() != 0:
        pytest.fail("checking dev.sh's packages runs apt inside the shipped tree (chroot): "
                    "run the tests as root, as dev.sh does")
    lists = list((tree / "var/lib/apt/lists").glob("*_Packages*"))
    assert lists, (f"{tree} has no apt package lists: it was made by an older "
                   "image/shipped-root.sh; remove it and run the tests again")
    return tree


def _codename(tree: Path) -> str:
    m = re.search(r"^VERSION_CODENAME=(\S+)", (tree / "etc/os-release").read_text(), re.M)
    return m.group(1) if m else str(tree)


# apt's binary caches built in memory: the shared tree is only read
_NO_CACHE_FILES = ["-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache="]


def _apt(tree: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chroot", str(tree), argv[0], *_NO_CACHE_FILES, *argv[1:]],
                          capture_output=True, text=True, check=False, timeout=300,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})


def candidates(policy_output: str) -> dict[str, str]:
    """Package name → candidate version from ``apt-cache policy`` output ("(none)" for a
    name apt knows only as provided by others)."""
    found: dict[str, str] = {}
    name = None
    for line in policy_output.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            name = line[:-1]
        elif name and line.strip().startswith("Candidate:"):
            found[name] = line.split(":", 1)[1].strip()
    return found


def test_dev_sh_lists_its_packages_once():
    packages = _dev_sh_packages()
    assert {"bird2", "unbound", "chromium", "mmdebstrap", "nodejs", "npm"} <= set(packages)
    assert len(packages) == len(set(packages)), "a package is listed twice in dev.sh"


def test_candidates_parses_real_and_virtual_names():
    out = ("bind9-dnsutils:\n  Installed: (none)\n  Candidate: 1:9.20.15-1\n"
           "  Version table:\n     1:9.20.15-1 500\n"
           "dnsutils:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n")
    assert candidates(out) == {"bind9-dnsutils": "1:9.20.15-1", "dnsutils": "(none)"}


def test_every_package_is_a_real_one_in_the_image_release():
    tree = _release_tree()
    packages = _dev_sh_packages()
    done = _apt(tree, "apt-cache", "policy", *packages)
    assert done.returncode == 0, done.stderr
    found = candidates(done.stdout)
    unknown = [p for p in packages if p not in found]
    virtual = [p for p in packages if found.get(p) == "(none)"]
    release = _codename(tree)
    assert not unknown, f"dev.sh names packages Debian {release} does not have: {unknown}"
    assert not virtual, (f"dev.sh names packages Debian {release} has only as names other "
                         f"packages provide (dpkg-query never reports them installed, so "
                         f"dev.sh would run apt-get every time; name the real one): {virtual}")


def test_the_whole_list_installs_together_in_the_image_release():
    tree = _release_tree()
    done = _apt(tree, "apt-get", "--simulate", "-q", "install", "--no-install-recommends",
                *_dev_sh_packages())
    assert done.returncode == 0, (f"dev.sh's packages do not install together on Debian "
                                  f"{_codename(tree)}:\n{done.stdout[-3000:]}{done.stderr}")
    # (bird2 is in the tree already; chromium, for the browser tests, is not)
    assert re.search(r"^Inst chromium ", done.stdout, re.M), done.stdout[-2000:]
