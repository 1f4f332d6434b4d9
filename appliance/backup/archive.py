"""The backup file: what it holds, how it is written, and every check made when reading one.

Layout: a plain backup is a gzip tar, ``manifest.json`` first, then the files of ``PARTS``
under their paths in the state dir. An encrypted backup is ``MAGIC``, the scrypt parameters,
salt and nonce, then the plain backup sealed with AES-256-GCM (the header is the associated
data, so none of it can be changed either). Only ``cryptography``'s primitives are used.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import struct
import tarfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from appliance import __version__
from appliance.config import migrations
from appliance.util.atomic import TMP_MARK

FORMAT = "ixp-appliance-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SUFFIX = ".ixpbackup"

# The durable parts of the state dir, relative to it: a directory (everything under it) or
# one file. Not kept: etc/ (rendered again from the restored revision), run/ (sockets, PID
# files), the lock, web/ sessions, session key, setup code and wizard draft (this box's own),
# lab.json and the demo marker (a lab's namespaces are not restored), unbound/ (the resolver
# fetches the root zone again) and monitor/samples.sqlite (traffic samples: a rolling window
# of counters, the largest file on a busy box; the graphs start again empty).
PARTS: tuple[str, ...] = (
    "revisions",             # every configuration, so the accounts' argon2 hashes too
    "web/api-tokens.json",   # API tokens (SHA-256 digests only)
    "tls",                   # the HTTPS certificate and its key
    "snmp",                  # the SNMP engine ID (SNMPv3 keys are localised to it), ifindexes
    "irr",                   # IRR data the route server filters with
    "rpki",                  # imported VRPs
    "peeringdb",             # the PeeringDB dump
    "management",            # management network trial and confirmation records
    "route_server",          # max-prefix trip records
)

MAGIC = b"IXP-APPLIANCE-BACKUP-ENCRYPTED-1\n"
_KDF = struct.Struct(">BBB")  # log2(n), r, p
SALT_BYTES, NONCE_BYTES = 16, 12
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1  # 32 MiB and about 0.1 s to try one passphrase
MAX_BACKUP_BYTES = 256 * 1024 * 1024
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_FILES = 200_000
MIN_PASSPHRASE = 8


class BackupError(ValueError):
    """A backup cannot be made or used; the message says what is wrong and what to do."""


@dataclass
class Backup:
    """A backup read into memory and checked: its manifest and files."""

    manifest: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    encrypted: bool = False


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def part_of(path: str) -> str | None:
    """The part of ``PARTS`` a relative path belongs to, or None."""
    for part in PARTS:
        if path == part or path.startswith(part + "/"):
            return part
    return None


def collect(state_dir: Path) -> dict[str, tuple[bytes, int]]:
    """The durable files of ``state_dir``: relative path → (content, permission bits)."""
    out: dict[str, tuple[bytes, int]] = {}
    for part in PARTS:
        top = state_dir / part
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file()) \
            if top.is_dir() else []
        for path in paths:
            if TMP_MARK in path.name or path.is_symlink():
                continue  # a writer's temporary, or a link that could point anywhere
            rel = path.relative_to(state_dir).as_posix()
            out[rel] = (path.read_bytes(), path.stat().st_mode & 0o777)
    return out


def _schema_of(files: dict[str, bytes]) -> tuple[int, int | None]:
    """The newest schema version among the revisions, and the newest revision's number."""
    schema, latest = migrations.SCHEMA_VERSION, None
    versions = []
    for rel, data in files.items():
        if rel.startswith("revisions/") and rel.endswith(".json"):
            rev = json.loads(data)
            versions.append(migrations.text_version(rev.get("config", "")))
            latest = max(latest or 0, int(rev["id"]))
    return (max(versions) if versions else schema), latest


def build(state_dir: Path, passphrase: str | None = None) -> bytes:
    """The backup of ``state_dir`` as bytes (encrypted when ``passphrase`` is given).

    Call with the state lock held, so no revision is committed halfway through.
    """
    if passphrase is not None and len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase is too short: use at least {MIN_PASSPHRASE} "
                          "characters (a few unrelated words are best)")
    found = collect(state_dir)
    contents = {rel: data for rel, (data, _mode) in found.items()}
    schema, latest = _schema_of(contents)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "software_version": __version__,
        "schema_version": schema,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "latest_revision": latest,
        "files": {rel: {"sha256": _sha256(data), "size": len(data), "mode": mode}
                  for rel, (data, mode) in sorted(found.items())},
    }
    buf = io.BytesIO()
    # mtime 0 in the gzip header: the same state gives the same bytes, apart from "created"
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = [(MANIFEST, json.dumps(manifest, indent=1).encode(), 0o600)]
        entries += [(rel, data, mode) for rel, (data, mode) in sorted(found.items())]
        for rel, data, mode in entries:
            info = tarfile.TarInfo(rel)
            info.size, info.mode, info.mtime = len(data), mode, int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
    plain = buf.getvalue()
    return plain if passphrase is None else seal(plain, passphrase)


# cryptography (some 7 MiB with its libraries) is imported when a backup is sealed or opened:
# the web UI imports this module for its Backup page and stays resident (issue 14).
def _key(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=2 ** log2_n, r=r, p=p).derive(passphrase.encode())


def seal(plain: bytes, passphrase: str) -> bytes:
    """``plain`` encrypted with a key derived from ``passphrase``."""
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    header = MAGIC + _KDF.pack(SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P) + salt + nonce
    key = _key(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return header + AESGCM(key).encrypt(nonce, plain, header)


def unseal(raw: bytes, passphrase: str | None) -> bytes:
    """The plain backup inside an encrypted one."""
    if not passphrase:
        raise BackupError("this backup is encrypted: give the passphrase it was made with")
    head_len = len(MAGIC) + _KDF.size + SALT_BYTES + NONCE_BYTES
    if len(raw) < head_len + 16:
        raise BackupError("the backup file is truncated (it ends inside its header); copy it "
                          "again from where it was kept")
    log2_n, r, p = _KDF.unpack_from(raw, len(MAGIC))
    # Bounded so a crafted header cannot make the box spend gigabytes on the key.
    if not (14 <= log2_n <= 20 and 1 <= r <= 16 and 1 <= p <= 4):
        raise BackupError("the backup's encryption header is not one this software writes; "
                          "the file is damaged or not an ixp-appliance backup")
    salt = raw[len(MAGIC) + _KDF.size:][:SALT_BYTES]
    nonce = raw[len(MAGIC) + _KDF.size + SALT_BYTES:][:NONCE_BYTES]
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(_key(passphrase, salt, log2_n, r, p)).decrypt(
            nonce, raw[head_len:], raw[:head_len])
    except InvalidTag:
        raise BackupError("the passphrase is wrong, or the file is truncated or was changed "
                          "after it was made; nothing was changed") from None


def _safe_name(name: str) -> str:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or name != p.as_posix() or not name:
        raise BackupError(f"the backup holds a file with a path that is not allowed ({name!r}); "
                          "it was not made by ixp-appliance")
    return name


def _gunzip(plain: bytes) -> bytes:
    """The whole gzip stream, its CRC checked: a tar read alone stops at its end marker and
    would not notice a file cut inside the gzip trailer."""
    d = zlib.decompressobj(wbits=31)
    try:
        out = d.decompress(plain, MAX_UNPACKED_BYTES + 1)
    except zlib.error as exc:
        raise BackupError(f"the backup file is damaged ({exc}); copy it again from where it "
                          "was kept. Nothing was changed") from None
    if len(out) > MAX_UNPACKED_BYTES:
        raise BackupError(f"the backup unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MiB; "
                          "refused")
    if not d.eof:
        raise BackupError("the backup file is truncated; copy it again from where it was "
                          "kept. Nothing was changed")
    if d.unused_data:
        raise BackupError("the backup file has data after its end; it is damaged or two files "
                          "were joined")
    return out


def _unpack(plain: bytes) -> tuple[dict[str, Any], dict[str, bytes], dict[str, int]]:
    files: dict[str, bytes] = {}
    modes: dict[str, int] = {}
    manifest: dict[str, Any] | None = None
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(_gunzip(plain)), mode="r:") as tar:
            for n, info in enumerate(tar):
                if n > MAX_FILES:
                    raise BackupError(f"the backup holds more than {MAX_FILES} files; it was "
                                      "not made by ixp-appliance")
                if info.isdir():
                    continue
                if not info.isreg():
                    raise BackupError(f"the backup holds {info.name!r}, which is not a plain "
                                      "file (a link or device); it was not made by "
                                      "ixp-appliance")
                name = _safe_name(info.name)
                total += info.size
                if total > MAX_UNPACKED_BYTES:
                    raise BackupError(f"the backup unpacks to more than "
                                      f"{MAX_UNPACKED_BYTES // 2**20} MiB; refused")
                fh = tar.extractfile(info)
                data = fh.read() if fh else b""
                if len(data) != info.size:
                    raise EOFError("short member")
                if n == 0:
                    if name != MANIFEST:
                        raise BackupError("this is a tar archive, but not an ixp-appliance "
                                          "backup (it has no manifest.json first)")
                    manifest = json.loads(data)
                elif name in files or name == MANIFEST:
                    raise BackupError(f"the backup holds {name!r} twice; it is damaged")
                else:
                    files[name] = data
                    modes[name] = info.mode & 0o777
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise BackupError(f"the backup file is truncated or damaged ({exc.__class__.__name__}: "
                          f"{exc}); copy it again from where it was kept. Nothing was "
                          "changed") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"the backup's manifest cannot be read ({exc}); the file is damaged "
                          "or not an ixp-appliance backup") from None
    if manifest is None:
        raise BackupError("the backup file is empty; copy it again from where it was kept")
    return manifest, files, modes


def _check_manifest(manifest: Any, files: dict[str, bytes]) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("this is not an ixp-appliance backup (its manifest names another "
                          "format)")
    made_by = manifest.get("software_version", "?")
    fmt = manifest.get("format_version")
    if not isinstance(fmt, int) or fmt > FORMAT_VERSION:
        raise BackupError(f"this backup has format version {fmt} (made by ixp-appliance "
                          f"{made_by}); this firmware ({__version__}) reads format "
                          f"{FORMAT_VERSION}: install ixp-appliance {made_by} or newer to "
                          "restore it")
    schema = manifest.get("schema_version")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise BackupError("the backup's manifest has no schema version; it is damaged")
    if schema > migrations.SCHEMA_VERSION:
        raise BackupError("the backup cannot be restored here: " + migrations.newer_message(
            schema, written_by=str(made_by)))
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise BackupError("the backup's manifest lists no files; it is damaged")
    for rel, meta in listed.items():
        if rel not in files:
            raise BackupError(f"the backup is missing {rel}, which its manifest lists; it is "
                              "truncated or damaged")
        if not isinstance(meta, dict) or _sha256(files[rel]) != meta.get("sha256"):
            raise BackupError(f"{rel} in the backup does not match its checksum; the file is "
                              "damaged. Nothing was changed")
    for rel in files:
        if rel not in listed:
            raise BackupError(f"the backup holds {rel}, which its manifest does not list; it "
                              "was changed after it was made")
        if part_of(rel) is None:
            raise BackupError(f"the backup holds {rel}, which is not part of an appliance's "
                              "state; it was not made by ixp-appliance")


def read(raw: bytes, passphrase: str | None = None) -> Backup:
    """Decrypt, unpack and check a whole backup; raise ``BackupError`` saying what is wrong."""
    if len(raw) > MAX_BACKUP_BYTES:
        raise BackupError(f"the file is larger than {MAX_BACKUP_BYTES // 2**20} MiB; this is "
                          "not an ixp-appliance backup")
    encrypted = raw.startswith(MAGIC)
    if encrypted:
        plain = unseal(raw, passphrase)
    elif raw.startswith(b"\x1f\x8b"):
        plain = raw
    elif raw and (MAGIC.startswith(raw) or raw == b"\x1f"):
        raise BackupError("the backup file is truncated (it ends inside its header); copy it "
                          "again from where it was kept")
    else:
        raise BackupError("this is not an ixp-appliance backup (it is neither an encrypted "
                          "backup nor a gzip archive); choose the .ixpbackup file the box made")
    manifest, files, modes = _unpack(plain)
    _check_manifest(manifest, files)
    return Backup(manifest, files, modes, encrypted)
