"""Fixtures for the peering LAN tests (the shared ones are in tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

# The helpers module sits next to this file; make it importable however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parent))
