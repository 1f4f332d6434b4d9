"""ixpctl says the configuration's problems in the operator's language when LANG asks for one
of the web UI's (issue 17): the field path stays, the sentence is the catalogue's."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from ..conftest import EXAMPLE


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES")}
    return subprocess.run([sys.executable, "-m", "appliance.cli", *args], capture_output=True,
                          text=True, timeout=60, env={**clean, **env})


def _bad(tmp_path):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["peering_lan"]["mtu"] = "abc"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_validate_speaks_lang(tmp_path):
    bad = _bad(tmp_path)
    said = {
        "fr_FR.UTF-8": "peering_lan.mtu: doit être un nombre entier",
        "es_ES.UTF-8": "peering_lan.mtu: debe ser un número entero",
        "pt_BR.UTF-8": "peering_lan.mtu: deve ser um número inteiro",
        "C.UTF-8": "peering_lan.mtu: must be a whole number",
        "de_DE.UTF-8": "peering_lan.mtu: must be a whole number",  # not a language of ours
    }
    for lang, line in said.items():
        out = _run({"LANG": lang}, "validate", "-c", str(bad))
        assert out.returncode == 1 and line in out.stdout.splitlines(), (lang, out.stdout)
    # LC_ALL wins over LANG, as for gettext
    out = _run({"LANG": "fr_FR.UTF-8", "LC_ALL": "C"}, "validate", "-c", str(bad))
    assert "must be a whole number" in out.stdout


def test_apply_refused_in_lang_and_nothing_changed(tmp_path):
    out = _run({"LANG": "fr_FR.UTF-8"}, "apply", "-c", str(_bad(tmp_path)), "--state-dir",
               str(tmp_path / "state"))
    assert out.returncode == 1
    assert "peering_lan.mtu: doit être un nombre entier" in out.stderr, out.stderr
    assert not (tmp_path / "state" / "revisions").exists()
