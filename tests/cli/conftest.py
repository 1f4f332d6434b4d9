from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.fixture
def ixpctl(tmp_path):
    """Run ixpctl as an operator would, in a subprocess; returns (exit code, stdout, stderr)."""
    def run(*args: str, json_out: bool = False, timeout: float = 60):
        proc = subprocess.run([sys.executable, "-m", "appliance.cli", *args],
                              capture_output=True, text=True, timeout=timeout)
        if json_out:
            return proc.returncode, json.loads(proc.stdout), proc.stderr
        return proc.returncode, proc.stdout, proc.stderr
    return run
