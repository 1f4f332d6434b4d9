"""The collector's samples, read by another user (issue 16 item 8): on the image the collector
(``ixp-collector``) writes ``monitor/samples.sqlite`` and the web UI (``ixp-web``) only reads
it, for the graphs and the looking glass's prefix chart. Once the reader failed at the first
statement ("attempt to write a readonly database": the schema set-up, then WAL's -shm file),
and every page with a chart answered 500 on the image."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITE = """
import sys
from pathlib import Path
from appliance.monitor.counters import PortCounters
from appliance.monitor.store import SampleStore, SessionCounts, samples_path
store = SampleStore(samples_path(Path(sys.argv[1])))
for ts, n in ((1000, 0), (1060, 6000)):
    store.add(ts, [PortCounters("ixp1", n, 2 * n, 1, 1, 0, 0, 0, 0, True)])
    store.add_prefix_counts(ts, [SessionCounts("AS64496_v4", 64496, "ipv4", "203.0.113.10",
                                               "Telecom", 5, 4, 1, 3)])
"""
READ = """
import sys
from pathlib import Path
from appliance.monitor.store import SampleStore, samples_path
store = SampleStore(samples_path(Path(sys.argv[1])))
print(store.read_only, [s.session for s in store.sessions()], store.ports(),
      [r.rx_bps for r in store.rates("ixp1", 0)])
"""


def _as(user: str, script: str, state: Path) -> subprocess.CompletedProcess[str]:
    entry = pwd.getpwnam(user)
    return subprocess.run(["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                           "--clear-groups",
                           sys.executable, "-c", script, str(state)], capture_output=True,
                          text=True, timeout=60, check=False, cwd="/",
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_another_user_reads_the_collectors_samples(root_required) -> None:
    state = Path(tempfile.mkdtemp(prefix="ixp-samples-", dir="/var/tmp"))
    try:
        os.chmod(state, 0o755)
        (state / "monitor").mkdir()
        shutil.chown(state / "monitor", "nobody")  # what ixp-collector.service's root step does
        wrote = _as("nobody", WRITE, state)
        assert wrote.returncode == 0, wrote.stderr
        read = _as("daemon", READ, state)  # neither the owner nor in its group
        assert read.returncode == 0, read.stderr
        assert read.stdout.split("] [")[0] + "]" == "True ['AS64496_v4']", read.stdout
        assert "'ixp1'" in read.stdout and "[800.0]" in read.stdout, read.stdout
        # and the reader changed nothing
        assert sorted(p.name for p in (state / "monitor").iterdir()) == ["samples.sqlite"]
    finally:
        shutil.rmtree(state, ignore_errors=True)
