"""The resolver's anycast announcement alert on its real cause: unbound stopped in the lab, the
anycast helper withdraws the service prefix, the alert goes to the webhook; unbound started
again, the prefix is announced again and the alert resolves."""

from __future__ import annotations

import json
import time

import pytest

from appliance.alerts.engine import AlertEngine
from appliance.alerts.render import SETTINGS_FILE, render_settings
from appliance.anycast.status import read_status
from appliance.config.loader import load_config_text
from appliance.pipeline.concern import ApplyContext
from appliance.platform.target import Target
from appliance.resolver.concern import stop_resolver
from appliance.util.atomic import atomic_write
from labkit.anycast import FALL, INTERVAL, RISE, SLACK, anycast_data, anycast_lab
from labkit.netlab import wait_for

from .receivers import HttpSink

pytestmark = pytest.mark.netns


def _until(engine: AlertEngine, kind: str, key: str, timeout: float) -> dict:
    """Alert rounds until an event ``kind`` for ``key``; that event."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += engine.round()
        for e in seen:
            if e["kind"] == kind and e["alert"]["key"] == key:
                return e
        time.sleep(1.0)
    pytest.fail(f"no {kind} {key} within {timeout} s; events: "
                f"{[(e['kind'], e['alert']['key']) for e in seen]}")


def test_anycast_withdrawn_fires_and_resolves(root_required, tool, tmp_path):
    tool("unbound", "unbound")
    with HttpSink() as sink, anycast_lab(tmp_path) as lab:
        ns = lab.state.appliance_netns
        data = anycast_data()
        data["alerts"] = {"rules": {"anycast_withdrawn": {"minutes": 0}},
                          "webhooks": [{"url": sink.url}]}
        # what AlertsConcern renders (this lab's pipeline has only the resolver's concerns)
        atomic_write(tmp_path / "etc" / SETTINGS_FILE,
                     render_settings(load_config_text(json.dumps(data))), 0o600)
        engine = AlertEngine(Target(tmp_path, ns), has_system=True)
        # the anycast helper: started by the lab's apply, stopped by its teardown
        wait_for("the announcement", lambda: (c := read_status(tmp_path)["checkers"])
                 and c[0]["announced"], RISE * INTERVAL + SLACK)
        name = read_status(tmp_path)["checkers"][0]["name"]
        key = f"anycast_withdrawn:{name}"
        engine.round()
        assert key not in engine.store.state()["open"]

        assert stop_resolver(tmp_path)
        fired = _until(engine, "firing", key, FALL * INTERVAL + SLACK)
        assert fired["alert"]["severity"] == "critical"
        assert "192.0.2.0/24" in fired["alert"]["text"] and "withdrawn" in \
            fired["alert"]["text"]
        assert any(json.loads(b)["alert"]["key"] == key for _p, _h, b in sink.requests)

        lab.resolver.apply(lab.cfg, ApplyContext(Target(tmp_path, ns)), [])
        _until(engine, "resolved", key, RISE * INTERVAL + SLACK)
        assert [json.loads(b)["kind"] for _p, _h, b in sink.requests
                if json.loads(b)["alert"]["key"] == key] == ["firing", "resolved"]
