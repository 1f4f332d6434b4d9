"""Rendered files on disk: the staging area verified by tools, and the installed set."""

from __future__ import annotations

import difflib
import grp
import json
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from appliance.pipeline.concern import Change, RenderedFile
from appliance.util.atomic import atomic_write, fsync_dir

MANIFEST = ".manifest.json"


def check_relative(path: str) -> None:
    """A rendered path must stay inside the etc directory."""
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not p.parts or path.startswith("."):
        raise ValueError(f"rendered file path {path!r} must be relative and inside etc/")


def write_tree(root: Path, files: dict[str, RenderedFile]) -> None:
    """Write ``files`` below ``root`` (no fsync: staging and ``render -o`` only)."""
    for rel, f in files.items():
        check_relative(rel)
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(f.content)
        dest.chmod(f.mode)


def make_staging(state_dir: Path, files: dict[str, RenderedFile]) -> Path:
    """A fresh directory holding the candidate files, for the verify stage."""
    state_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="staging-", dir=state_dir))
    write_tree(root, files)
    return root


def drop_staging(root: Path) -> None:
    """Remove a staging directory."""
    shutil.rmtree(root, ignore_errors=True)


def installed_manifest(etc_dir: Path) -> dict[str, str]:
    """Path → owning concern of the files the pipeline installed last time."""
    try:
        data = json.loads((etc_dir / MANIFEST).read_text("utf-8"))
        return {str(k): str(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError):
        return {}


def file_changes(
    etc_dir: Path, files: dict[str, RenderedFile], owners: dict[str, str]
) -> list[Change]:
    """Which installed files the candidate adds, changes or removes."""
    changes: list[Change] = []
    for rel in sorted(files):
        dest = etc_dir / rel
        try:
            current = dest.read_bytes()
        except OSError:
            changes.append(Change(owners[rel], "add", f"file {rel}", path=rel))
            continue
        if current != files[rel].content:
            changes.append(Change(owners[rel], "change", f"file {rel}", path=rel))
    for rel, owner in sorted(installed_manifest(etc_dir).items()):
        if rel not in files and (etc_dir / rel).exists():
            changes.append(Change(owner, "remove", f"file {rel}", path=rel))
    return changes


def unified_diff(etc_dir: Path, files: dict[str, RenderedFile]) -> str:
    """A unified diff of every installed file against its candidate (for review screens)."""
    out: list[str] = []
    names = sorted(set(files) | set(installed_manifest(etc_dir)))
    for rel in names:
        try:
            old = (etc_dir / rel).read_text("utf-8", "replace").splitlines(keepends=True)
        except OSError:
            old = []
        new = files[rel].content.decode("utf-8", "replace").splitlines(keepends=True) \
            if rel in files else []
        out.extend(difflib.unified_diff(old, new, f"running/{rel}", f"candidate/{rel}"))
    return "".join(out)


def set_group(path: Path, group: str | None) -> None:
    """Give ``path`` to ``group`` (if this system has it and we may); else leave it."""
    if group is None:
        return
    try:
        gid = grp.getgrnam(group).gr_gid
        if path.stat().st_gid != gid:
            os.chown(path, -1, gid)
    except (KeyError, PermissionError):
        pass


def install_files(etc_dir: Path, files: dict[str, RenderedFile], paths: list[str]) -> None:
    """Install (or, when no longer rendered, remove) each of ``paths`` atomically."""
    for rel in sorted(paths):
        check_relative(rel)
        if rel in files:
            atomic_write(etc_dir / rel, files[rel].content, files[rel].mode)
            set_group(etc_dir / rel, files[rel].group)
        else:
            (etc_dir / rel).unlink(missing_ok=True)
    if paths and etc_dir.exists():
        fsync_dir(etc_dir)


def write_manifest(etc_dir: Path, owners: dict[str, str]) -> None:
    """Record which files the pipeline owns, so a later change may remove them."""
    manifest = json.dumps(dict(sorted(owners.items())), indent=1).encode()
    atomic_write(etc_dir / MANIFEST, manifest, 0o644)
