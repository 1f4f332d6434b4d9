"""Fixtures for the management firewall tests (the shared ones are in tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

# The helper modules sit next to this file; make them importable however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parent))
