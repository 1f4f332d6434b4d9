"""The unbound wrapper's launch file and defaults, made without the renderer, are the
renderer's (``ixpctl run unbound`` must not import jinja2 or the model: issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.resolver import daemon
from appliance.resolver.paths import ROOT_ZONE_FILE, TRUST_ANCHOR_FILE, UnboundPaths
from appliance.resolver.render import ROOT_ZONE_FILE as RENDER_ROOT_ZONE
from appliance.resolver.render import TRUST_ANCHOR_FILE as RENDER_TRUST_ANCHOR
from appliance.resolver.render import RenderOptions, render_launch


@pytest.mark.parametrize("user", [None, "unbound"])
def test_launch_text_is_the_templates(tmp_path: Path, monkeypatch, user):
    monkeypatch.setattr(daemon, "image_user", lambda paths: user)
    paths = UnboundPaths(tmp_path)
    want = render_launch(str(paths.conf), str(paths.data_dir), str(paths.pidfile),
                         str(paths.control_socket), user)
    assert daemon.launch_text(paths) == want
    other = tmp_path / "staged" / "unbound.conf"
    assert daemon.launch_text(paths, conf=other) == render_launch(
        str(other), str(paths.data_dir), str(paths.pidfile), str(paths.control_socket), user)


def test_no_options_are_the_default_options(tmp_path: Path):
    assert TRUST_ANCHOR_FILE == RENDER_TRUST_ANCHOR == RenderOptions().trust_anchor
    assert ROOT_ZONE_FILE == RENDER_ROOT_ZONE == RenderOptions().root_zone.zonefile
    assert RenderOptions().root_zone.seed is None
    key = tmp_path / "root.key.system"
    key.write_text("; the root key\n")
    with_none, with_defaults = UnboundPaths(tmp_path / "a"), UnboundPaths(tmp_path / "b")
    daemon.prepare(with_none, None, root_key=key)
    daemon.prepare(with_defaults, RenderOptions(), root_key=key)
    assert sorted(p.name for p in with_none.data_dir.iterdir()) == sorted(
        p.name for p in with_defaults.data_dir.iterdir()) == [TRUST_ANCHOR_FILE]
