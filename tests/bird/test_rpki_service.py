"""The box's own stayrtr serves an imported VRP file to the route server, in the lab."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from appliance.platform.bird.control import BirdControl, BirdUnavailable
from appliance.platform.target import Target
from appliance.route_server.daemon import running_pid
from appliance.route_server.rpki_service import connect_route_server
from appliance.route_server.rpki_service import running_pid as stayrtr_pid
from appliance.route_server.status import rtr_sessions
from appliance.runner import Runner
from labkit.netlab import applied_lab

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "bird" / "vrps.json"


def test_rpki_import_refuses_garbage(tmp_path):
    bad = tmp_path / "vrps.json"
    bad.write_text('{"roas": []}')
    res = subprocess.run([sys.executable, "-m", "appliance.cli", "rpki", "import", str(bad),
                          "--state-dir", str(tmp_path / "state")], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 1 and "no 'roas' list" in res.stderr
    assert not (tmp_path / "state" / "rpki" / "vrps.json").exists()


@pytest.mark.netns
def test_route_server_gets_roas_from_the_box(root_required, tmp_path, example_text, tool):
    tool("stayrtr", "stayrtr")
    data = yaml.safe_load(example_text)
    data["route_server"]["rpki_validators"] = [{"host": "127.0.0.1", "port": 3323}]
    text = yaml.safe_dump(data)
    res = subprocess.run([sys.executable, "-m", "appliance.cli", "rpki", "import", str(FIXTURE),
                          "--state-dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 0 and "imported" in res.stdout, res.stderr
    with applied_lab(tmp_path, text) as state:
        runner = None
        try:
            box = Target(tmp_path, state.appliance_netns)
            # the apply started both daemons in the lab's namespace (the lifecycle rule): BIRD,
            # then stayrtr, which had BIRD's RTR session connect at once once it listened (BIRD
            # itself asks again only 90 s after a failed connect: main.j2, retry keep 90)
            assert running_pid(box), "the apply must start BIRD in the lab"
            first = stayrtr_pid(box)
            assert first, "the apply must start stayrtr where a local validator is configured"
            runner = Runner(box, port=0)
            runner.start()
            assert stayrtr_pid(box) == first, "the runner supervises: it starts no second one"
            deadline = time.monotonic() + 150
            roas = []
            while time.monotonic() < deadline and len(roas) < 2:
                try:
                    with BirdControl(tmp_path / "run" / "bird.ctl") as bc:
                        roas = bc.routes(table="rs_roa4")
                except BirdUnavailable:
                    pass
                time.sleep(0.5)
            rtr = rtr_sessions(tmp_path)
            assert len(roas) >= 2, f"the route server must load the imported ROAs: {rtr}"
            # what the Data page shows: the RTR session up, the ROA tables' sizes (fixture: 3 + 1)
            assert [(s["protocol"], s["cache"], s["status"], s["up"]) for s in rtr["sessions"]] \
                == [("rpki1", "127.0.0.1:3323", "Established", True)], rtr
            assert rtr["roas"] == {"ipv4": 3, "ipv6": 1}, rtr
            assert connect_route_server(tmp_path) == [], "a session with ROAs is left alone"
            # a stayrtr that died is started again by the runner's supervision
            os.kill(first, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and Path(f"/proc/{first}/cmdline").exists() and \
                    Path(f"/proc/{first}/cmdline").read_bytes():
                time.sleep(0.05)
            assert stayrtr_pid(box) is None
            runner.supervise()
            again = stayrtr_pid(box)
            assert again and again != first, "the runner must start a stayrtr that died"
        finally:
            if runner is not None:
                runner.stop()
