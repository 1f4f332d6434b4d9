"""The committed configuration, parsed once per revision (readers ask for it on every request)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from appliance.config.errors import ConfigError
from appliance.config.loader import load_config_text
from appliance.config.model import IXPConfig
from appliance.config.revisions import RevisionStore
from appliance.util.memory import release_freed


@lru_cache(maxsize=8)
def _parse(sha256: str, text: str) -> IXPConfig:
    # Keyed by the checksum too so equal texts share one parsed (frozen, immutable) model.
    del sha256
    cfg = load_config_text(text)
    # The YAML tree of a 1000-member file is many MiB of temporaries: hand them back, so the
    # resident web UI does not keep them as free heap (issue 14).
    release_freed()
    return cfg


def committed_config(state_dir: Path) -> IXPConfig | None:
    """The newest revision's configuration, or None when there is none or it is unreadable."""
    latest = RevisionStore(state_dir).latest()
    if latest is None:
        return None
    try:
        return _parse(latest.sha256, latest.config)
    except ConfigError:
        return None
