"""The collector's own file: rendered from the model, read back without it (issue 14)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.monitor.concern import MonitorConcern
from appliance.monitor.targets import TARGETS_FILE, TargetsFile, load_targets
from appliance.pipeline.concern import VerifyError
from appliance.route_server.status import Member
from tests.dns.variants import example_data, load


def test_the_file_holds_the_member_ports_and_addresses(tmp_path: Path):
    cfg = load(example_data())
    concern = MonitorConcern()
    [rendered] = concern.render(cfg)
    assert rendered.path == TARGETS_FILE and concern.render(cfg) == [rendered]  # pure
    (tmp_path / TARGETS_FILE).parent.mkdir(parents=True)
    (tmp_path / TARGETS_FILE).write_bytes(rendered.content)
    concern.verify(cfg, tmp_path)
    targets = load_targets(tmp_path / TARGETS_FILE)
    assert targets.ports == {p.interface for m in cfg.members for p in m.ports}
    first = cfg.members[0]
    assert targets.members[str(first.ipv4[0])] == Member(first.asn, first.name)
    assert len(targets.members) == sum(len(m.ipv4) + len(m.ipv6) for m in cfg.members)


@pytest.mark.parametrize("text", ['{"version": 2, "ports": [], "members": {}}',
                                  '{"version": 1, "ports": [""], "members": {}}',
                                  '{"version": 1, "ports": [], "members": {"192.0.2.1": 5}}',
                                  "not json"])
def test_a_bad_file_is_refused_at_verify(tmp_path: Path, text: str):
    (tmp_path / TARGETS_FILE).parent.mkdir(parents=True)
    (tmp_path / TARGETS_FILE).write_text(text)
    with pytest.raises(VerifyError, match=r"collector\.json"):
        MonitorConcern().verify(load(example_data()), tmp_path)


def test_the_collector_sees_a_new_file_and_falls_back_without_one(tmp_path: Path):
    path = tmp_path / "etc" / TARGETS_FILE
    path.parent.mkdir(parents=True)
    files = TargetsFile(tmp_path)
    assert files.get().ports == frozenset()  # nothing committed, no file: nothing to sample
    path.write_text('{"version": 1, "ports": ["eth1"], "members": {}}')
    assert files.get().ports == {"eth1"}
    new = path.with_name("new.json")
    new.write_text('{"version": 1, "ports": ["eth1", "eth2"], "members": {}}')
    os.replace(new, path)  # as the pipeline installs it
    assert files.get().ports == {"eth1", "eth2"}
