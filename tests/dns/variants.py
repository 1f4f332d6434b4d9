"""Configuration variants of the shipped example for the resolver tests."""

from __future__ import annotations

import yaml

from appliance.config.loader import load_config_text
from appliance.config.model import IXPConfig
from labkit.resolver import (  # noqa: F401 (the resolver tests import them from here)
    FIXTURE_ADDR,
    FIXTURE_NAME,
    FIXTURE_ROOT,
    example_data,
    fixture_options,
)


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
