"""The route server's data refreshes itself (issue 18 item 3): IRR prefix lists through bgpq4
and PeeringDB's data, on the schedule of ``route_server.refresh``, applied through the real
pipeline (``bird -p`` checks every bird.conf) as revisions by "refresh" naming what changed per
member; offline, the data in force stays and its age and the failure are shown.

Only the Internet is faked: bgpq4 is a script on PATH answering from fixture files, PeeringDB
a small HTTP server on loopback serving fixture JSON (tests/bird/refresh_fakes.py).
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from appliance.box import build_pipeline, refresh_data
from appliance.config.errors import ConfigError
from appliance.config.loader import load_config_text
from appliance.config.revisions import RevisionStore
from appliance.monitor.status import box_status
from appliance.platform.target import Target
from appliance.route_server import refresh
from appliance.route_server.peeringdb import dump_path
from appliance.route_server.status import data_freshness
from appliance.runner import RefreshService
from tests.bird.refresh_fakes import FAKE_BIN, fake_peeringdb, irr_data
from tests.web.conftest import ADMIN, PASSWORD, logged_in

from ..conftest import EXAMPLE

IX_ID = 777


@pytest.fixture
def internet(tmp_path, monkeypatch):
    """The fake bgpq4 first on PATH and a fake PeeringDB on loopback."""
    data = irr_data(tmp_path)
    monkeypatch.setenv("PATH", f"{FAKE_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_BGPQ4_DATA", str(data))
    with fake_peeringdb() as pdb:
        yield data, pdb


@pytest.fixture
def box(tmp_path, internet):
    """A state dir with the example exchange committed, refreshing from the fakes."""
    from appliance.web.accounts import hash_password

    _, pdb = internet
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg["identity"]["peeringdb_ix_id"] = IX_ID
    cfg["route_server"]["refresh"] = {"peeringdb_url": pdb.url}
    cfg["admin_users"] = [{"name": ADMIN, "password_hash": hash_password(PASSWORD)}]
    state = tmp_path / "state"
    out = build_pipeline(state).run(yaml.safe_dump(cfg), author="t", comment="first light")
    assert out.ok, out.error
    return state


def _bird_conf(state) -> str:
    return (state / "etc" / "bird" / "bird.conf").read_text()


def _backdate(state, hours: float) -> None:
    """Make the last attempts ``hours`` old: the schedule has come round."""
    st = refresh.read_state(state)
    for source in refresh.SOURCES:
        when = refresh.parse_time(st[source]["attempted"]) - timedelta(hours=hours)
        st[source]["attempted"] = refresh.iso(when)
    refresh.status_path(state).write_text(json.dumps(st))


def _revisions(state):
    return RevisionStore(state).list()


def test_first_refresh_brings_every_members_data_in(box, internet):
    report = refresh_data(box)
    assert report.ok and report.changed == ["irr", "peeringdb"], report
    rev = _revisions(box)[-1]
    assert rev.author == "refresh" and rev.id == 2
    assert rev.comment.startswith("IRR and PeeringDB data refreshed: ")
    assert "AS64497 Lagoon Broadband: IRR data for AS-LAGOON now known: 1 IPv4 and 1 IPv6 " \
        "entries" in rev.comment
    conf = _bird_conf(box)
    assert "198.18.0.0/24" in conf and "2001:db8:1000::/36{36,48}" in conf
    # PeeringDB: every flagged network (not only members), the members' rows, our LAN's
    dump = json.loads(dump_path(box).read_text())
    assert {r["asn"] for r in dump["net"]["data"]} == {64496, 64497, 64498, 64510}
    assert "define NEVER_VIA_RS_ASNS = [ 64510 ];" in conf
    # AS64498 has no max_prefix of its own: PeeringDB's 20 applies
    assert "AS64498 Reef Networks: IRR data for AS64498 now known: 1 IPv4 and 0 IPv6 entries; " \
        "max-prefix IPv4 100 → 20; max-prefix IPv6 100 → 5; PeeringDB's AS-SET: AS-REEF" \
        in rev.comment
    _, pdb = internet
    assert any(p.startswith("/api/net?asn__in=64496%2C64497%2C64498%2C64499%2C64500")
               for p in pdb.requests), pdb.requests
    assert f"/api/netixlan?ix_id={IX_ID}" in pdb.requests


def test_scheduled_refresh_records_one_members_change_in_the_history(box, internet):
    data, _ = internet
    assert refresh_data(box).ok
    before = len(_revisions(box))
    # Lagoon registers a new route object; twelve hours on, the IRR is due, PeeringDB not yet
    lagoon = json.loads((data / "AS-LAGOON.json").read_text())
    lagoon["ipv4"].append({"prefix": "198.18.1.0/24", "exact": True})
    (data / "AS-LAGOON.json").write_text(json.dumps(lagoon))
    _backdate(box, 13)
    report = refresh_data(box, only_due=True)
    assert report.sources == ["irr"] and report.changed == ["irr"], report
    revs = _revisions(box)
    assert len(revs) == before + 1
    rev = revs[-1]
    assert rev.author == "refresh"
    assert rev.comment == ("IRR data refreshed: AS64497 Lagoon Broadband: IRR IPv4 prefixes "
                           "added: 198.18.1.0/24"), rev.comment
    assert rev.config == revs[-2].config  # the configuration is the same; the data is not
    assert "198.18.1.0/24" in _bird_conf(box)
    # the history page shows who and what
    page = logged_in(box).get("/history").get_data(as_text=True)
    assert "<td>refresh</td>" in page
    assert "IRR data refreshed:" in page
    assert "<li>AS64497 Lagoon Broadband: IRR IPv4 prefixes added: 198.18.1.0/24</li>" in page
    # ...in the reader's language (the comment itself stays English, as every comment)
    fr = html.unescape(logged_in(box).get("/history", headers={"Accept-Language": "fr"})
                       .get_data(as_text=True))
    assert "Données IRR mises à jour" in fr
    assert "AS64497 Lagoon Broadband : préfixes IPv4 ajoutés dans l'IRR : 198.18.1.0/24" in fr
    # the last refresh is kept for the Data page and the status
    last = refresh.read_state(box)["last"]
    assert last["revision"] == rev.id and last["changes"][0]["asn"] == 64497


def test_unchanged_data_makes_no_new_revision(box, internet):
    assert refresh_data(box).ok
    revs, conf = _revisions(box), _bird_conf(box)
    cache = (box / "irr" / "cache.json").read_bytes()
    report = refresh_data(box)
    assert report.ok and report.changed == [] and report.outcome is None
    assert "unchanged" in report.message
    assert _revisions(box) == revs and _bird_conf(box) == conf
    assert (box / "irr" / "cache.json").read_bytes() == cache  # its times stay too
    # ...but the data counts as confirmed now: its age starts again
    fresh = data_freshness(box, load_config_text(revs[-1].config),
                           now=(datetime.now(UTC) + timedelta(minutes=1)).timestamp())
    assert fresh["irr"]["age_seconds"] < 600 and not fresh["irr"]["stale"]


def test_nothing_is_due_before_the_interval(box, internet):
    assert refresh_data(box).ok
    _backdate(box, 2)
    report = refresh_data(box, only_due=True)
    assert report.sources == [] and report.message == "nothing is due"
    _backdate(box, 23)  # 25 h now: both due (irr_hours 12, peeringdb_hours 24)
    assert refresh_data(box, only_due=True).sources == ["irr", "peeringdb"]


def test_unreachable_sources_keep_the_old_data_and_say_so(box, internet):
    data, pdb = internet
    assert refresh_data(box).ok
    revs, conf = _revisions(box), _bird_conf(box)
    files = {p: p.read_bytes() for p in (box / "irr" / "cache.json", dump_path(box))}
    (data / "unreachable").write_text("")
    pdb.stop()
    report = refresh_data(box)
    assert not report.ok and report.changed == []
    assert "Network is unreachable" in report.failures["irr"]
    assert report.failures["peeringdb"].startswith("PeeringDB could not be reached: ")
    assert _revisions(box) == revs and _bird_conf(box) == conf
    assert {p: p.read_bytes() for p in files} == files
    # eight days later, still offline: the data is old and stale, and the status says why
    later = datetime.now(UTC) + timedelta(days=8)
    refresh_data(box, now=later)
    cfg = load_config_text(revs[-1].config)
    fresh = data_freshness(box, cfg, now=later.timestamp())
    for source in ("irr", "peeringdb"):
        s = fresh[source]
        assert s["present"] and s["stale"] and s["age_seconds"] > 8 * 86400 - 60, s
        assert s["error"] and s["last_attempt"] == refresh.iso(later), s
        assert s["last_success"] != s["last_attempt"]
    assert fresh["stale_after_seconds"] == 7 * 86400
    # the one status model carries it (the dashboard, the API, ixpctl status, the alerts)
    status = box_status(Target(box))
    assert status["data"]["irr"]["error"].startswith("bgpq4 could not fetch any IRR object")
    # by hand: the warning, and exit 3 (unreachable; the timer's unit counts it a success)
    env = {**os.environ, "IXP_STATE_DIR": str(box)}
    out = subprocess.run([sys.executable, "-m", "appliance.cli", "data", "refresh", "--irr"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 3
    assert "warning: irr: bgpq4 could not fetch any IRR object" in out.stdout
    assert "the previous data stays in force" in out.stdout
    out = subprocess.run([sys.executable, "-m", "appliance.cli", "data", "status"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0 and "last attempt failed: bgpq4 could not fetch" in out.stdout
    # the Data page shows the failure too
    page = logged_in(box).get("/data").get_data(as_text=True)
    assert "Network is unreachable" in page


def test_one_objects_failure_keeps_its_data_and_applies_the_others(box, internet):
    data, _ = internet
    assert refresh_data(box).ok
    (data / "AS64499.json").unlink()  # now nothing registered: an empty answer, not a failure
    report = refresh_data(box, sources=["irr"])
    assert report.ok
    assert "AS64499 University of Example Island: IRR IPv4 prefixes removed: " \
        "198.18.32.0/24; IRR IPv6 prefixes removed: 2001:db8:4000::/48; IRR origin ASNs " \
        "removed: AS64499" in _revisions(box)[-1].comment


def test_peeringdb_changes_max_prefix_as_set_and_the_never_via_list(box, internet):
    _, pdb = internet
    assert refresh_data(box).ok
    reef = pdb.row(64498)
    reef["info_prefixes4"], reef["irr_as_set"] = 30, "AS-REEF-ALL"
    pdb.net.append({"id": 9520, "asn": 64520, "name": "Other Transit", "irr_as_set": "",
                    "info_never_via_route_servers": True})
    # Island Telecom has max_prefix of its own: PeeringDB's new number changes nothing there
    pdb.row(64496)["info_prefixes4"] = 999
    report = refresh_data(box, sources=["peeringdb"])
    assert report.ok and report.changed == ["peeringdb"], report
    comment = _revisions(box)[-1].comment
    assert comment == ("PeeringDB data refreshed: AS64498 Reef Networks: max-prefix IPv4 20 → "
                       "30; PeeringDB's AS-SET AS-REEF → AS-REEF-ALL | Networks PeeringDB "
                       "flags never-via-route-servers: added AS64520"), comment
    assert "define NEVER_VIA_RS_ASNS = [ 64510, 64520 ];" in _bird_conf(box)
    assert "64496" not in comment


def test_peeringdb_merge_keeps_an_uploaded_dumps_other_networks(box, internet):
    dump_path(box).parent.mkdir(parents=True, exist_ok=True)
    dump_path(box).write_text(json.dumps({"net": {"data": [
        {"asn": 65001, "name": "Not a member", "info_never_via_route_servers": False},
        {"asn": 65002, "name": "Was flagged", "info_never_via_route_servers": True}]}}))
    assert refresh_data(box, sources=["peeringdb"]).ok
    rows = {r["asn"]: r for r in json.loads(dump_path(box).read_text())["net"]["data"]}
    assert rows[65001]["name"] == "Not a member"  # the member form can still look it up
    assert rows[65002]["info_never_via_route_servers"] is False  # unflagged since
    assert 64496 in rows


def test_a_refused_apply_puts_the_old_data_back(box, internet, monkeypatch):
    data, _ = internet
    assert refresh_data(box).ok
    cache = (box / "irr" / "cache.json").read_bytes()
    revs = _revisions(box)
    lagoon = json.loads((data / "AS-LAGOON.json").read_text())
    lagoon["ipv4"].append({"prefix": "198.18.2.0/24", "exact": True})
    (data / "AS-LAGOON.json").write_text(json.dumps(lagoon))
    from appliance.pipeline.concern import VerifyError
    from appliance.route_server.concern import RouteServerConcern

    def refuse(self, cfg, staged):
        raise VerifyError("BIRD refuses the route-server configuration: test")
    monkeypatch.setattr(RouteServerConcern, "verify", refuse)
    report = refresh_data(box)
    assert not report.ok and "the previous data stays in force" in report.message
    assert (box / "irr" / "cache.json").read_bytes() == cache
    assert _revisions(box) == revs


def test_the_runners_refresh_follows_the_same_schedule(box, internet):
    data, _ = internet
    svc = RefreshService(Target(box), check_every=3600)
    svc.started_at = datetime.now(UTC)
    svc.check()  # a lab starts with its own data: nothing is due at the start
    assert refresh.read_state(box) == {} and len(_revisions(box)) == 1
    svc.started_at = datetime.now(UTC) - timedelta(hours=25)
    svc.check()  # one interval on: both are due
    revs = _revisions(box)
    assert len(revs) == 2 and revs[-1].author == "refresh"
    (data / "AS64500.json").write_text(json.dumps({"asns": [64500], "ipv4": [
        {"prefix": "198.18.48.0/23", "exact": False, "less-equal": 24}], "ipv6": []}))
    svc.check()  # attempted just now: not due again
    assert len(_revisions(box)) == 2
    _backdate(box, 12)
    svc.check()
    rev = _revisions(box)[-1]
    assert rev.id == 3 and rev.comment.startswith(
        "IRR data refreshed: AS64500 Example Island Network Information Centre: IRR IPv4 "
        "prefixes added: 198.18.48.0/23{23,24}; IRR IPv4 prefixes removed: 198.18.48.0/24")


def test_switched_off_nothing_is_due(box):
    cfg = load_config_text(RevisionStore(box).latest().config)
    off = cfg.route_server.refresh.model_copy(update={"enabled": False})
    assert refresh.due(box, off, datetime.now(UTC)) == []
    assert refresh.due(box, cfg.route_server.refresh, datetime.now(UTC)) == ["irr", "peeringdb"]


@pytest.mark.parametrize(("refresh_settings", "path", "words"), [
    ({"irr_hours": 0}, "route_server.refresh.irr_hours", "at least 1"),
    ({"peeringdb_hours": 1000}, "route_server.refresh.peeringdb_hours", "at most 720"),
    ({"stale_days": 1, "irr_hours": 24}, "route_server.refresh.irr_hours",
     "not less than stale_days"),
    ({"peeringdb_url": "ftp://x"}, "route_server.refresh.peeringdb_url", "https://"),
    ({"every": 3}, "route_server.refresh.every", "not a known setting"),
])
def test_bad_refresh_settings_name_the_field(refresh_settings, path, words):
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg["route_server"]["refresh"] = refresh_settings
    with pytest.raises(ConfigError) as err:
        load_config_text(yaml.safe_dump(cfg))
    issues = {i.path: i.message for i in err.value.issues}
    assert path in issues and words in issues[path], issues


def test_the_dashboard_says_when_the_data_is_stale(box, internet):
    data, pdb = internet
    assert refresh_data(box).ok
    # eight days ago it was fetched, and every refresh since has failed (offline)
    old = datetime.now(UTC) - timedelta(days=8)
    cache = json.loads((box / "irr" / "cache.json").read_text())
    for entry in cache.values():
        entry["fetched_at"] = refresh.iso(old)
    (box / "irr" / "cache.json").write_text(json.dumps(cache))
    dump = json.loads(dump_path(box).read_text())
    dump["meta"]["generated"] = int(old.timestamp())
    dump_path(box).write_text(json.dumps(dump))
    st = refresh.read_state(box)
    for source in refresh.SOURCES:
        st[source]["succeeded"] = refresh.iso(old)
    refresh.status_path(box).write_text(json.dumps(st))
    (data / "unreachable").write_text("")
    pdb.stop()
    assert not refresh_data(box).ok
    status = box_status(Target(box))["data"]
    assert status["irr"]["stale"] and status["peeringdb"]["stale"]
    page = logged_in(box).get("/").get_data(as_text=True)
    assert 'id="stale-irr"' in page and 'id="stale-peeringdb"' in page
    assert "older than 7 days (stale)" in page
    fr = logged_in(box).get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'id="stale-irr"' in fr and "older than 7 days" not in fr
