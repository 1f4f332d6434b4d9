"""The committed configuration, parsed once per revision (readers ask for it on every request)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from appliance.config.errors import ConfigError
from appliance.config.loader import load_config_text
from appliance.config.model import IXPConfig
from appliance.config.revisions import RevisionStore
from appliance.util.memory import release_freed

# One parsed model per state dir, the newest revision's, replaced when another is committed:
# a cache of several revisions kept each old 1000-member model (some 4-6 MiB) resident in the
# web UI after every change, up to eight of them (issue 14). A process serves one state dir;
# the few kept besides are the tests' and the CLI's.
_MAX_STATE_DIRS = 4
_parsed: OrderedDict[Path, tuple[str, IXPConfig]] = OrderedDict()
_lock = threading.Lock()


def _parse(text: str) -> IXPConfig:
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
    key = Path(state_dir)
    with _lock:
        hit = _parsed.get(key)
        if hit is not None and hit[0] == latest.sha256:
            _parsed.move_to_end(key)
            return hit[1]
        # the old model goes before the new one is built: never two of them at once
        _parsed.pop(key, None)
    try:
        cfg = _parse(latest.config)
    except ConfigError:
        return None
    with _lock:
        _parsed[key] = (latest.sha256, cfg)
        _parsed.move_to_end(key)
        while len(_parsed) > _MAX_STATE_DIRS:
            _parsed.popitem(last=False)
    return cfg
