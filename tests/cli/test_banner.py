"""The console banner (rootfs/usr/local/sbin/ixp-banner) in the box's language (issue 17 item
4): its sentences come from the web UI's catalogues through ``ixpctl banner words``; without a
configuration (first boot, the setup code screen) or a language of ours it is English, byte for
byte the lines the image tests match. The real script runs here (``--once``: it prints and
writes nothing) on a fake state dir; no image is built or booted."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys

import pytest
import yaml

from appliance.cli.banner_cmds import banner_words
from appliance.config.revisions import RevisionStore
from appliance.web.banner import WORDS, shell_template
from labkit.image.vm import SETUP_CODE

from ..conftest import EXAMPLE, ROOT

BANNER = ROOT / "rootfs" / "usr" / "local" / "sbin" / "ixp-banner"


@pytest.fixture
def ixpctl(tmp_path):
    """An ixpctl for the script: this checkout's, with the test's Python."""
    path = tmp_path / "ixpctl"
    path.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m appliance.cli "
                    '"$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _state(tmp_path, language: str | None):
    state = tmp_path / "state"
    state.mkdir()
    if language is not None:
        data = yaml.safe_load(EXAMPLE.read_text())
        data["identity"]["language"] = language
        RevisionStore(state).commit(yaml.safe_dump(data), "t", "the wizard's first step")
    return state


def _banner(state, ixpctl) -> list[str]:
    env = {**os.environ, "IXP_BANNER_STATE": str(state), "IXP_BANNER_IXPCTL": str(ixpctl)}
    out = subprocess.run(["sh", str(BANNER), "--once"], capture_output=True, text=True,
                         timeout=120, env=env, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_first_boot_banner_is_the_english_one_the_image_tests_read(tmp_path, ixpctl):
    state = _state(tmp_path, None)
    lines = _banner(state, ixpctl)
    code = (state / "setup-code").read_text().strip() if (state / "setup-code").exists() \
        else None
    text = "\n".join(lines)
    assert f" IXP appliance {socket.gethostname()}" in lines
    assert "   No DHCP address yet on the management port; try https://192.168.254.1/" in lines
    m = re.search(SETUP_CODE, text)
    assert m and (code is None or m.group(1) == code), text
    assert f"   Setup code: {m.group(1)}" in lines
    assert "   (the wizard asks for it; it proves you can see this console)" in lines
    assert re.search(r"^   System: \S*$", text, re.M), text
    assert "   Factory reset: log in and run ixp-factory-reset, or pick it in the boot menu" \
        in lines
    # with no configuration the box has no language yet: English
    assert banner_words(state) == {k: shell_template(e, e) for k, (e, _t) in WORDS.items()}


@pytest.mark.parametrize(("language", "title", "code", "reset"), [
    ("fr", "Appliance IXP", "Code d'installation : ", "Réinitialisation d'usine"),
    ("es", "Appliance IXP", "Código de configuración: ", "Restablecimiento de fábrica"),
    ("pt", "Appliance IXP", "Código de configuração: ", "Restauração de fábrica"),
])
def test_banner_speaks_the_box_language(tmp_path, ixpctl, language, title, code, reset):
    state = _state(tmp_path, language)
    lines = _banner(state, ixpctl)
    text = "\n".join(lines)
    assert f" {title} {socket.gethostname()}" in lines, text
    setup = next(line for line in lines if line.startswith(f"   {code}"))
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}",
                        setup.removeprefix(f"   {code}")), setup
    assert any(line.startswith(f"   {reset}") for line in lines), text
    assert "Setup code" not in text and "Factory reset" not in text and "@@" not in text


def test_every_sentence_keeps_its_placeholder_in_every_language(tmp_path):
    state = _state(tmp_path, None)
    english = banner_words(state, "en")
    for language in ("fr", "es", "pt"):
        words = banner_words(state, language)
        assert words.keys() == english.keys()
        for name, text in words.items():
            assert text.count("@@") == english[name].count("@@"), (language, name, text)
            assert text != english[name], (language, name)  # translated, not copied


def test_a_broken_translation_falls_back_to_english():
    assert shell_template("Setup code: %(value)s", "Code : %(valeur)s") == "Setup code: @@"
    assert shell_template("Setup code: %(value)s", "a\nb %(value)s") == "Setup code: @@"
    assert shell_template("Setup code: %(value)s", "Code : %(value)s") == "Code : @@"


def test_the_script_falls_back_to_english_when_ixpctl_fails(tmp_path):
    state = _state(tmp_path, "fr")
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    lines = _banner(state, broken)
    assert f" IXP appliance {socket.gethostname()}" in lines
    assert "   Factory reset: log in and run ixp-factory-reset, or pick it in the boot menu" \
        in lines


def _caps_names(mask: str) -> str:
    out = subprocess.run(["sh", str(BANNER), "--caps-names", mask], capture_output=True,
                         text=True, timeout=30, check=True)
    return out.stdout.strip()


def test_the_capabilities_line_names_what_each_daemon_holds():
    """The banner's "Capabilities:" line decodes /proc/PID/status CapEff (the image test
    reads it to check each daemon's set, issue 16 item 8)."""
    assert _caps_names("0000000000000000") == "none"
    assert _caps_names("0000000000001000") == "net_admin"
    assert _caps_names("0000000000002400") == "net_bind_service+net_raw"
    assert _caps_names("0000000000003c00") == \
        "net_bind_service+net_broadcast+net_admin+net_raw"
    assert _caps_names("000001ffffffffff") == "all"
    # most of them (the web UI: root's set less what its unit takes away) by what is missing
    assert _caps_names("000001fbfffeffff") == "all but sys_module+syslog"
    # every name in bit order, one at a time (linux/capability.h)
    names = [_caps_names(f"{1 << bit:016x}") for bit in range(41)]
    assert names[0] == "chown" and names[12] == "net_admin" and names[40] == \
        "checkpoint_restore" and len(set(names)) == 41
    assert "T_CAPS" in WORDS and WORDS["T_CAPS"][0] == "Capabilities: %(value)s"
