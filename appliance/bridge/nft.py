"""Running ``nft`` for the hygiene ruleset: check in a throw-away namespace, load and list in
the appliance's namespace. Never the host's ruleset unless on the appliance image."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from appliance.bridge.hygiene import FAMILY, TABLE, RunningObject, RunningTable
from appliance.lab import netns as labns


class NftError(RuntimeError):
    """nft refused a ruleset or a command; the message is nft's own."""


def nft_binary() -> str:
    """Path of the nft program (Debian package nftables)."""
    path = shutil.which("nft") or shutil.which("nft", path="/usr/sbin:/sbin")
    if path is None:
        raise NftError("nft is missing: install the Debian package nftables")
    return path


def _in_netns(netns: str | None, argv: list[str]) -> list[str]:
    if netns and not labns.exists(netns):  # else "table absent" and "no namespace" look alike
        raise NftError(f"network namespace {netns} does not exist")
    return ["ip", "netns", "exec", netns, *argv] if netns else argv


def _run(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def check_file(path: Path) -> None:
    """``nft -c -f path`` in a private, empty network namespace; raise ``NftError`` if refused.

    ``unshare -n`` gives the check a namespace of its own that disappears with the process, so
    even a check can never touch a real ruleset; without root, a user namespace does the same.
    """
    unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net",
                                                              "--map-root-user"]
    proc = _run([*unshare, nft_binary(), "-c", "-f", str(path)])
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip()
        raise NftError(f"nft -c refused {path.name}: {msg}")


def load_file(netns: str | None, path: Path) -> None:
    """Load ``path`` (it replaces only our table, in one transaction) in ``netns``."""
    proc = _run(_in_netns(netns, [nft_binary(), "-f", str(path)]))
    if proc.returncode != 0:
        raise NftError(f"nft -f {path} failed: {(proc.stderr or proc.stdout).strip()}")


def table_loaded(netns: str | None) -> bool:
    """Whether our table exists in ``netns``."""
    proc = _run(_in_netns(netns, [nft_binary(), "list", "table", FAMILY, TABLE]))
    return proc.returncode == 0


def list_counters(netns: str | None) -> list[dict[str, Any]]:
    """The named counters of our table (nft's JSON objects); empty if the table is absent."""
    proc = _run(_in_netns(netns, [nft_binary(), "-j", "list", "counters", "table", FAMILY,
                                  TABLE]))
    if proc.returncode != 0:
        return []
    data = json.loads(proc.stdout or "{}")
    return [item["counter"] for item in data.get("nftables", []) if "counter" in item]


def read_table(netns: str | None) -> RunningTable | None:
    """What our table holds now (chains, sets, named objects), or None if it is not loaded."""
    proc = _run(_in_netns(netns, [nft_binary(), "-j", "list", "table", FAMILY, TABLE]))
    if proc.returncode != 0:
        return None
    objects = []
    for item in json.loads(proc.stdout or "{}").get("nftables", []):
        for kind, body in item.items():
            if kind in ("metainfo", "table", "rule"):  # rules go with ``flush table``
                continue
            objects.append(RunningObject(kind, str(body.get("name", "")),
                                         int(body.get("handle", -1)),
                                         str(body.get("comment", ""))))
    return RunningTable(tuple(objects))
