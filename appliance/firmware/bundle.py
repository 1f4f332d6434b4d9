"""What an update bundle is, and whether this box may install it (checks before any change).

``read`` asks RAUC for the bundle's manifest (RAUC checks the signature against the image's
keyring); ``refusals`` is pure: the reasons, in words for the operator, why the bundle must
not be installed here. Nothing is changed by either.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.firmware import rauc

COMPATIBLE = "ixp-appliance-x86_64"
_SCHEMA = re.compile(r"(?:^|\s)config-schema=(\d+)(?:\s|$)")


@dataclass(frozen=True)
class BundleInfo:
    """The signed manifest of a bundle, as the Firmware page shows it before confirming."""

    version: str
    compatible: str
    schema: int | None  # the configuration schema the bundle's system reads (None: unknown)
    notes: str
    image_bytes: int  # size of the system image it writes into the slot
    signer: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"version": self.version, "compatible": self.compatible, "schema": self.schema,
                "notes": self.notes, "image_bytes": self.image_bytes}


def _images(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [image for entry in data.get("images") or [] for image in entry.values()]


def from_manifest(data: dict[str, Any]) -> BundleInfo:
    """``BundleInfo`` from ``rauc info``'s JSON (pure)."""
    size = sum(int(image.get("size") or 0) for image in _images(data))
    m = _SCHEMA.search(data.get("build") or "")
    return BundleInfo(version=str(data.get("version") or ""),
                      compatible=str(data.get("compatible") or ""),
                      schema=int(m.group(1)) if m else None,
                      notes=str(data.get("description") or ""), image_bytes=size)


class BundleRefused(ValueError):
    """The bundle cannot be installed here; ``reasons`` says why, each in one sentence."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def verify_payload(path: Path, data: dict[str, Any], timeout: float = 1800) -> str | None:
    """None if every image inside the bundle has the size and SHA-256 its signed manifest
    gives, else what differs.

    RAUC checks the signature of the manifest when it reads a bundle, and the payload only
    block by block while it installs (dm-verity): a bundle changed after signing would be
    refused only halfway through writing the other slot, which holds the previous system,
    the one to fall back to. Reading the whole payload first keeps "refused, nothing
    changed" true for it too.
    """
    for image in _images(data):
        name, want = image.get("filename"), image.get("checksum")
        if not name or not want:
            return "an image in the manifest has no file name or checksum"
        digest, size = hashlib.sha256(), 0
        try:
            proc = subprocess.Popen(["unsquashfs", "-cat", str(path), name],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError:
            return "unsquashfs is missing (Debian package squashfs-tools)"
        out = proc.stdout
        assert out is not None
        while chunk := out.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return f"reading {name} took longer than {timeout:g} s"
        if proc.returncode != 0:
            err = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace")
            detail = "; ".join(line.strip() for line in err.splitlines() if line.strip())
            return f"{name} cannot be read from the bundle: {detail[:300]}"
        if size != int(image.get("size") or -1) or digest.hexdigest() != want:
            return f"{name} differs from what the signed manifest says"
    return None


def read(path: Path, keyring: Path = rauc.KEYRING, *, payload: bool = True) -> BundleInfo:
    """The manifest of the bundle at ``path``, signature (and, with ``payload``, content)
    checked; ``BundleRefused`` for an unsigned, tampered or foreign-signed file, or one that
    is no bundle at all."""
    words = ("the file is not an update bundle signed by this firmware's release key (it is "
             "damaged, changed after signing, or signed by someone else): ")
    try:
        data = rauc.info(path, keyring)
    except rauc.RaucError as exc:
        raise BundleRefused([words + str(exc)]) from None
    if payload:
        problem = verify_payload(path, data)
        if problem:
            raise BundleRefused([words + problem])
    return from_manifest(data)


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key for versions like 0.1.0, 0.10.2, 1.0.0rc1 (numbers compare as numbers)."""
    parts = re.findall(r"\d+|[A-Za-z]+", version)
    # a number sorts after a word at the same place: 1.0.0 is newer than 1.0.0rc1
    return (*tuple((1, int(p)) if p.isdigit() else (0, p.lower()) for p in parts), (1, -1))


def is_newer(candidate: str, running: str) -> bool:
    """Whether ``candidate`` is a newer version than ``running``."""
    return version_key(candidate) > version_key(running)


def refusals(info: BundleInfo, *, running_version: str, data_schema: int,
             allow_downgrade: bool, slot_bytes: int | None,
             compatible: str = COMPATIBLE) -> list[str]:
    """Why ``info`` must not be installed on this box ([] when it may be) (pure).

    ``data_schema``: the schema version of the configuration stored on the data partition
    (the newest revision's); ``slot_bytes``: the size of the slot it would be written to.
    """
    reasons: list[str] = []
    if info.compatible != compatible:
        reasons.append(f"this bundle is for {info.compatible or 'an unnamed system'!r}, not "
                       f"for this box ({compatible!r})")
    if info.schema is None:
        reasons.append("this bundle does not say which configuration schema its system reads "
                       "(no config-schema in its manifest), so it may not read this box's "
                       "configuration")
    elif info.schema < data_schema:
        reasons.append(f"the bundle's system reads configuration schema versions up to "
                       f"{info.schema}, but this box's configuration has schema version "
                       f"{data_schema}: it could not read it. Install a firmware that reads "
                       f"schema {data_schema}")
    if not info.version:
        reasons.append("this bundle has no version")
    elif not is_newer(info.version, running_version) and not allow_downgrade:
        same = info.version == running_version
        reasons.append(
            (f"version {info.version} is the version this box runs" if same else
             f"version {info.version} is older than the running {running_version}")
            + ": installing it needs --allow-downgrade (the Firmware page's \"allow an older "
              "or the same version\")")
    if slot_bytes is not None and info.image_bytes > slot_bytes:
        reasons.append(f"the bundle's system needs {info.image_bytes // 1048576} MiB and the "
                       f"other system slot holds {slot_bytes // 1048576} MiB")
    return reasons
