"""The dashboard's Ports card on the box itself (issue 14 item 3): there the exchange's NICs
are the host's, so the web app runs with no namespace; the card must not be empty.

The box is played by the lab's appliance namespace: the status code runs *inside* it, with
no namespace given and the image's "this host is the appliance" switch set, exactly as on the
image, and must see the member ports and their hygiene counters."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from appliance.platform import netns

from ..conftest import ROOT

PROBE = """
import json, sys
from pathlib import Path
from appliance.platform.target import Target
from appliance.web.status import collect
print(json.dumps(collect(Target(Path(sys.argv[1])))["ports"]))
"""


def _ports_inside(appliance_ns: str, state_dir, *, on_box: bool) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k != "IXP_ALLOW_HOST_NETWORK"}
    env["PYTHONPATH"] = str(ROOT)
    if on_box:
        env["IXP_ALLOW_HOST_NETWORK"] = "1"  # what the image marker says on the box
    out = subprocess.run(netns.command(appliance_ns, [sys.executable, "-c", PROBE,
                                                      str(state_dir)]),
                         capture_output=True, text=True, timeout=120, env=env, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_ports_card_without_a_namespace_on_the_box(lab):
    cfg, state, state_dir = lab
    ports = _ports_inside(state.appliance_netns, state_dir, on_box=True)
    by_port = {p["port"]: p for p in ports}
    assert set(by_port) == {m.ports[0].interface for m in cfg.members}
    assert all(p["present"] and p["up"] for p in ports), ports
    assert by_port["ixp1"]["member"].startswith("AS64496")
    assert isinstance(by_port["ixp1"]["drops"], dict)


def test_no_ports_card_on_a_developer_machine_without_a_lab(lab):
    _cfg, state, state_dir = lab
    # the same code where the host is not the appliance: the host's NICs are never shown
    assert _ports_inside(state.appliance_netns, state_dir, on_box=False) == []
