"""The engine as the runner wires it into the collector: a round on a configured box writes
its state; the collector runs its after-round hooks and survives one that fails; a damaged
state file starts afresh instead of stopping the collector."""

from __future__ import annotations

import threading

from appliance.alerts.store import AlertStore
from appliance.box import build_pipeline
from appliance.config.revisions import RevisionStore
from appliance.monitor.collector import Collector
from appliance.monitor.store import SampleStore, samples_path
from appliance.platform.target import Target
from appliance.runner import alert_engine
from tests.web.conftest import configured  # noqa: F401


def test_the_runners_engine_runs_a_round_on_a_configured_box(configured):  # noqa: F811
    engine = alert_engine(Target(configured))
    assert engine.round() == []  # a box without a lab: ports and sessions are unknown
    state = AlertStore(configured).state()
    assert state["seen"]["revision"] == 1  # the first round remembers what runs
    assert Target(configured).alerts_state.exists()
    assert oct(Target(configured).alerts_state.stat().st_mode & 0o777) == "0o600"

    # a configuration applied after that is news, once
    before = RevisionStore(configured).latest().config
    text = before.replace("Island Telecom", "Island Tel")
    assert text != before
    assert build_pipeline(configured).run(text, author="alice", comment="a comment").ok
    [event] = engine.round()
    assert event["kind"] == "event" and event["alert"]["rule"] == "config_applied"
    assert event["alert"]["severity"] == "info"
    assert "revision 2 applied by alice: a comment" in event["alert"]["text"]
    assert engine.round() == []


def test_the_collector_runs_its_hooks_and_survives_a_failing_one(tmp_path):
    done = threading.Event()
    calls = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("a bug in an alert round")

    def fine() -> None:
        calls.append("fine")
        if calls.count("fine") >= 2:
            done.set()

    collector = Collector(SampleStore(samples_path(tmp_path)), Target(tmp_path),
                          ports=lambda: set(), interval=0.05, state_dir=tmp_path,
                          after_round=[broken, fine])
    collector.start()
    try:
        assert done.wait(10), calls
    finally:
        collector.stop()
    assert calls[:4] == ["broken", "fine", "broken", "fine"]


def test_a_damaged_state_file_starts_afresh(configured):  # noqa: F811
    path = Target(configured).alerts_state
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    engine = alert_engine(Target(configured))
    assert engine.round() == []
    assert AlertStore(configured).state()["seen"]["revision"] == 1
