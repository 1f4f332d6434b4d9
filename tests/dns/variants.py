"""Configuration variants of the shipped example for the resolver tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from appliance.config.loader import load_config_text
from appliance.config.model import IXPConfig
from appliance.resolver.render import RenderOptions, RootZone

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "small-island.yaml"


def example_data() -> dict:
    """The example as plain data, to change before loading."""
    return yaml.safe_load(EXAMPLE.read_text())


def load(data: dict) -> IXPConfig:
    """Validate changed example data."""
    return load_config_text(yaml.safe_dump(data))


def variant(*, ipv6: bool = True, local_root: bool = True, enabled: bool = True,
            allowed: list[str] | None = None, management: list[str] | None = None) -> IXPConfig:
    """The example with the resolver settings changed."""
    data = example_data()
    res = data["services"]["resolver"]
    res["enabled"] = enabled
    res["local_root"] = local_root
    if not ipv6:
        res["ipv6"] = []
    if allowed is not None:
        res["allowed_networks"] = allowed
    if management is not None:
        data["management"]["allowed_networks"] = management
    return load(data)


FIXTURE_ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "dns" / "root.zone"
# A name only the fixture root knows, and its address.
FIXTURE_NAME, FIXTURE_ADDR = "www.island.example.", "192.0.2.80"


def fixture_options(**root_kwargs: object) -> RenderOptions:
    """Render options serving the unsigned fixture root, validation off: tests only."""
    kwargs = {"primaries": (), "zonemd_check": False, "seed": str(FIXTURE_ROOT), **root_kwargs}
    return RenderOptions(root_zone=RootZone(**kwargs), trust_anchor=None)
