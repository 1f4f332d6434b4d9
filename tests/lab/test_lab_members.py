"""In the lab, a member added to the config gets its port and router (issue 13, item 4)."""

from __future__ import annotations

import time

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.lab.lab import LabState, lab_status, member_protocols
from appliance.platform import netns
from appliance.platform.target import Target
from labkit.netlab import applied_lab

pytestmark = [pytest.mark.netns, pytest.mark.slow]

NEW = {"asn": 64501, "name": "Kōrero Café ☕ Ñandú", "ports": [{"interface": "ixp6"}],
       "macs": ["02:00:5e:10:00:06"], "ipv4": ["203.0.113.15"], "ipv6": ["2001:db8:eeee::15"]}


@pytest.fixture
def two_member_lab(root_required, tmp_path, example_text):
    data = yaml.safe_load(example_text)
    data["members"] = data["members"][:2]
    text = yaml.safe_dump(data, allow_unicode=True)
    with applied_lab(tmp_path, text) as state:
        yield data, state, tmp_path


def _established(lm, timeout: float = 90) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = member_protocols(lm)
        if states and all(s == "Established" for s in states.values()):
            return states
        time.sleep(1)
    return states


def test_adding_a_member_in_the_lab_makes_its_port_and_router(two_member_lab):
    data, state, state_dir = two_member_lab
    pipe = build_pipeline(Target(state_dir, state.appliance_netns))
    data["members"].append(NEW)
    text = yaml.safe_dump(data, allow_unicode=True)

    dry = pipe.run(text, author="t", dry_run=True)
    assert dry.ok, dry.error
    assert any(c.concern == "lab" and c.target == "lab port ixp6" for c in dry.changes)
    assert not netns.exists(f"{state.prefix}-m3"), "a dry run must not create anything"

    out = pipe.run(text, author="t")
    assert out.ok, out.error
    lab = LabState.load(state_dir)
    new = next(lm for lm in lab.members if lm.asn == 64501)
    assert new.port == "ixp6" and netns.exists(new.netns)
    # the port joined the bridge and the router reaches the route server on both families
    assert set(_established(new)) == {"rs4", "rs6"}
    status = lab_status(state_dir)
    assert len(status["members"]) == 3

    again = pipe.run(text, author="t")  # idempotent: nothing more for the lab to do
    assert again.ok and not [c for c in again.changes if c.concern == "lab"]

    data["members"] = data["members"][:2]
    out = pipe.run(yaml.safe_dump(data, allow_unicode=True), author="t")
    assert out.ok, out.error
    assert not netns.exists(new.netns)
    assert [lm.asn for lm in LabState.load(state_dir).members] == [m["asn"] for m in
                                                                  data["members"]]


def test_a_new_members_router_does_not_reuse_a_slot(two_member_lab):
    data, state, state_dir = two_member_lab
    pipe = build_pipeline(Target(state_dir, state.appliance_netns))
    first = data["members"].pop(0)  # a member leaves; another joins
    data["members"].append(NEW)
    out = pipe.run(yaml.safe_dump(data, allow_unicode=True), author="t")
    assert out.ok, out.error
    slots = {lm.asn: lm.slot for lm in LabState.load(state_dir).members}
    assert first["asn"] not in slots
    assert slots[64501] == 2, slots  # a fresh slot: it announces prefixes of its own
