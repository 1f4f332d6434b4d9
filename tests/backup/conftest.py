"""Backup fixtures: a set-up box with something in every durable part, and a fresh box."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from appliance.backup.archive import PARTS
from appliance.pipeline.run import Pipeline
from appliance.web import secrets_store
from appliance.web.accounts import hash_password
from appliance.web.api import tokens

ADMIN, PASSWORD = "alice", "correct horse battery staple"


def durable(state_dir: Path) -> dict[str, bytes]:
    """Every file of the durable parts, by relative path (what a restore must bring back)."""
    out: dict[str, bytes] = {}
    for part in PARTS:
        top = state_dir / part
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for p in paths:
            out[p.relative_to(state_dir).as_posix()] = p.read_bytes()
    return out


def make_box(state_dir: Path, example_text: str, *, marker: str = "a") -> Path:
    """A box that is set up: two revisions, a token and a file in every other part."""
    data = yaml.safe_load(example_text)
    data["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    pipe = Pipeline(state_dir, concerns=[])
    assert pipe.run(yaml.safe_dump(data), author="t", comment="first light").ok
    data["identity"]["city"] = f"Town {marker}"
    assert pipe.run(yaml.safe_dump(data), author="t", comment="second").ok
    tokens.create(state_dir, "ci", ADMIN)
    files = {"tls/cert.pem": "CERT", "tls/key.pem": "KEY", "snmp/engine.json": "{}",
             "irr/cache.json": "{}", "rpki/vrps.json": "{}", "peeringdb/peeringdb.json": "{}",
             "management/confirmed.json": "{}", "route_server/max_prefix_trips.json": "[]",
             # not durable: must not travel
             "run/bird.ctl": "socket", "etc/bird/bird.conf": "rendered", "lab.json": "{}",
             "monitor/samples.sqlite": "samples"}
    for rel, text in files.items():
        (state_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        # JSON files stay what their readers expect; the marker goes beside them
        (state_dir / rel).write_text(text + "\n" if text in ("{}", "[]") else
                                     f"{text} {marker}\n")
        (state_dir / rel).with_name(f"note-{marker}.txt").write_text(marker)
    (state_dir / "tls" / "key.pem").chmod(0o600)
    secrets_store.session_key(state_dir)
    return state_dir


@pytest.fixture
def box(tmp_path, example_text) -> Path:
    """A set-up box's state dir."""
    return make_box(tmp_path / "box", example_text)


@pytest.fixture
def fresh(tmp_path) -> Path:
    """A freshly flashed box: a setup code and nothing else."""
    state = tmp_path / "fresh"
    state.mkdir()
    secrets_store.setup_code(state)
    return state
