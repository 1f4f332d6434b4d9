"""The revision store: append-only, checksummed, and whole after kill -9 at any moment."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from appliance.config.revisions import RevisionNotFound, RevisionStore


def test_commit_list_latest_get(tmp_path):
    store = RevisionStore(tmp_path)
    assert store.latest() is None and store.list() == []
    r1 = store.commit("a: 1\n", "alice", "first")
    r2 = store.commit("a: 2\n", "bob", "second")
    assert (r1.id, r2.id) == (1, 2)
    assert store.latest() == r2
    assert store.get(1).config == "a: 1\n" and store.get(1).author == "alice"
    assert [r.id for r in store.list()] == [1, 2]
    try:
        store.get(7)
    except RevisionNotFound as exc:
        assert "ixpctl history" in str(exc)
    else:
        raise AssertionError("missing revision must raise")


def test_corrupted_and_temporary_files_are_ignored(tmp_path):
    store = RevisionStore(tmp_path)
    store.commit("a: 1\n", "alice", "first")
    r2 = store.commit("a: 2\n", "alice", "second")
    # a torn temporary (the writer died before its rename) and a bit-rotted revision
    (store.root / "000003.json.tmp-1234-abcd").write_text('{"id": 3, "conf')
    data = json.loads((store.root / "000002.json").read_text())
    data["config"] = "a: 666\n"
    (store.root / "000002.json").write_text(json.dumps(data))
    assert store.latest().id == 1
    assert any("checksum" in p for p in store.problems)
    r3 = store.commit("a: 3\n", "alice", "third")
    assert r3.id == r2.id + 1
    assert not list(store.root.glob("*.tmp-*"))


WRITER = """
import sys
from pathlib import Path
from appliance.config.revisions import RevisionStore
store = RevisionStore(Path(sys.argv[1]))
i = 0
while True:
    i += 1
    store.commit(("x" * 20000) + f"\\nrevision-body {i}\\n", "writer", f"loop {i}")
    print(i, flush=True)
"""


def test_kill_9_during_commits_never_tears_a_revision(tmp_path):
    """A writer committing in a tight loop is killed at random moments, 25 times."""
    rng = random.Random(1234)
    for _ in range(25):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.readline()  # at least one commit happened in this round
        time.sleep(rng.uniform(0, 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        store = RevisionStore(tmp_path)
        revs = store.list()
        assert store.problems == [], store.problems
        ids = [r.id for r in revs]
        assert ids == list(range(1, len(ids) + 1)), "revision numbers must stay contiguous"
        for r in revs:
            assert r.config.endswith(f"revision-body {r.comment.split()[-1]}\n")
    assert len(RevisionStore(tmp_path).list()) >= 25
