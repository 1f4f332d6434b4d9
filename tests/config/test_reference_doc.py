"""docs/config.md documents every field of the model and is up to date."""

from __future__ import annotations

from appliance.config.reference import DESCRIPTIONS, fields, render_reference

from ..conftest import ROOT


def test_every_field_is_described():
    paths = {p for p, _ in fields()}
    missing = sorted(paths - set(DESCRIPTIONS))
    assert not missing, f"describe these in appliance/config/reference.py: {missing}"
    stale = sorted(set(DESCRIPTIONS) - paths)
    assert not stale, f"these described fields no longer exist: {stale}"


def test_docs_config_md_is_current():
    on_disk = (ROOT / "docs" / "config.md").read_text()
    assert on_disk == render_reference(), (
        "docs/config.md is stale: run 'python -m appliance.config.reference > docs/config.md'")
