"""appliance.util.memory: one malloc arena for a resident service's threads (issue 14)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

# Threads that each allocate from the C heap (bytearrays beyond pymalloc's 512 bytes), then
# glibc's own account of its arenas (malloc_stats prints one "Arena N:" block per arena).
THREADS = """
import ctypes, sys, threading
from appliance.util import memory
lean = sys.argv[1] == "lean"
if lean:
    assert memory.lean_malloc() is True
keep = []
def work():
    keep.append([bytearray(4096) for _ in range(200)])
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
memory.release_freed()
ctypes.CDLL("libc.so.6").malloc_stats()
"""


def _arenas(mode: str) -> int:
    proc = subprocess.run([sys.executable, "-c", THREADS, mode], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return len(re.findall(r"^Arena \d+:", proc.stderr, re.M))


def test_lean_malloc_keeps_every_thread_in_one_arena():
    if "glibc" not in " ".join(__import__("platform").libc_ver()):
        pytest.fail("the box is Debian (glibc); this test must run on glibc")
    assert _arenas("lean") == 1
    # the control: without it, glibc gives the threads arenas of their own
    assert _arenas("default") > 1
