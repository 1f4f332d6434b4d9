"""Where ixpctl keeps state: relative paths resolved at the edge, the running lab found by
itself, no state dir made by a command that only reads (issue 13, items 1 and 6)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.cli.common import default_state_dir
from appliance.lab import registry
from appliance.platform import netns
from labkit.netlab import session

from ..conftest import EXAMPLE, ROOT


def _ixpctl(cwd: Path, *args: str, env: dict[str, str] | None = None):
    return subprocess.run([sys.executable, "-m", "appliance.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_a_relative_state_dir_works_with_the_resolver(tmp_path):
    # unbound-checkconf runs in another directory: a relative path once failed verification
    cwd = tmp_path / "clone"
    cwd.mkdir()
    out = _ixpctl(cwd, "apply", "-c", str(EXAMPLE), "--state-dir", "state/demo")
    assert out.returncode == 0, out.stderr
    assert "committed as revision 1" in out.stdout
    assert (cwd / "state" / "demo" / "revisions").is_dir()
    hist = _ixpctl(cwd, "history", "--state-dir", "state/demo", "--json")
    assert hist.returncode == 0 and '"id": 1' in hist.stdout, hist.stdout + hist.stderr


def test_a_relative_config_path_and_env_state_dir_are_made_absolute(tmp_path):
    cwd = tmp_path / "w"
    cwd.mkdir()
    (cwd / "my.yaml").write_text(EXAMPLE.read_text())
    out = _ixpctl(cwd, "apply", "-c", "my.yaml", env={"IXP_STATE_DIR": "st"})
    assert out.returncode == 0, out.stderr
    st = _ixpctl(cwd, "status", env={"IXP_STATE_DIR": "st"})
    assert f"state dir {cwd / 'st'}" in st.stdout, st.stdout


def test_setup_code_does_not_create_a_state_dir(tmp_path):
    missing = tmp_path / "nowhere"
    out = _ixpctl(tmp_path, "setup-code", "--state-dir", str(missing))
    assert out.returncode == 1
    assert "no appliance state in" in out.stderr and "--state-dir" in out.stderr
    assert not missing.exists()


def test_verbs_find_the_one_running_lab(root_required, tmp_path, monkeypatch):
    monkeypatch.delenv("IXP_STATE_DIR", raising=False)
    monkeypatch.setenv(registry.REGISTRY_ENV, str(tmp_path / "registry"))
    state = tmp_path / "demo"
    (state / "web").mkdir(parents=True)
    (state / "lab.json").write_text("{}")
    # two labs of the harness, each with a prefix of its own: removed after the test
    with session(tmp_path / "one", "ixt") as one, session(tmp_path / "two", "ixt") as two:
        prefix, other = one.prefix, two.prefix
        one.namespace("ixp")
        registry.register(prefix, state)
        assert default_state_dir() == state
        env = {registry.REGISTRY_ENV: str(tmp_path / "registry")}
        code = _ixpctl(tmp_path, "setup-code", env=env)
        assert code.returncode == 0, code.stderr
        assert "using the running lab's state dir" in code.stderr
        assert code.stdout.strip() == (state / "web" / "setup-code").read_text().strip()

        two.namespace("ixp")
        (tmp_path / "second").mkdir()
        (tmp_path / "second" / "lab.json").write_text("{}")
        registry.register(other, tmp_path / "second")
        with pytest.raises(ValueError, match="several labs are running"):
            default_state_dir()
        netns.remove(f"{other}-ixp")  # the second lab ends
        assert default_state_dir() == state  # a lab that ended is forgotten
        assert not (tmp_path / "registry" / other).exists()
