"""The Data page: each offline data set can be uploaded from the web (never from the Internet
here), a bad file is refused with the reason and keeps the old data, viewers cannot upload,
and the dashboard says which protections are not active for lack of data."""

from __future__ import annotations

import json
import shutil
from io import BytesIO
from pathlib import Path

import pytest
import yaml

from appliance.box import build_pipeline
from appliance.config.committed import committed_config
from appliance.config.revisions import RevisionStore
from appliance.platform.target import Target
from appliance.route_server import rpki_service
from appliance.route_server.irr import irr_object
from appliance.web import create_app, irr_status, offline_data, peeringdb
from appliance.web.accounts import hash_password

from ..conftest import ROOT
from .conftest import ADMIN, PASSWORD, csrf, logged_in, wait_job

FIX = ROOT / "tests" / "fixtures"
VRPS = FIX / "bird" / "vrps.json"
PDB = FIX / "peeringdb" / "peeringdb.json"
UNSIGNED_ROOT = FIX / "dns" / "root.zone"
VIEWER, VIEWER_PASSWORD = "bob", "viewer pass phrase"


@pytest.fixture
def state(tmp_path, example_text):
    """The example config with a validator on this box (stayrtr) and an admin and a viewer."""
    data = yaml.safe_load(example_text)
    data["route_server"]["rpki_validators"] = [{"host": "127.0.0.1", "port": 3323}]
    data["admin_users"] = [
        {"name": ADMIN, "password_hash": hash_password(PASSWORD)},
        {"name": VIEWER, "password_hash": hash_password(VIEWER_PASSWORD), "role": "viewer"}]
    out = build_pipeline(tmp_path).run(yaml.safe_dump(data), author="t", comment="first light")
    assert out.ok, out.error
    return tmp_path


@pytest.fixture
def synced(monkeypatch):
    """Record the stayrtr syncs an upload asks for (no daemon is started by a test)."""
    calls: list[Path] = []

    def fake_sync(target: Target) -> str:
        calls.append(target.state_dir)
        return "stayrtr restarted (test)"
    monkeypatch.setattr(rpki_service, "sync", fake_sync)
    return calls


def _post(client, kind: str, raw: bytes, name: str, **kw):
    page = client.get("/data")
    return client.post(f"/data/{kind}", data={"csrf_token": csrf(page.data),
                                              "file": (BytesIO(raw), name)},
                       content_type="multipart/form-data", **kw)



def _signed_root(tmp_path: Path) -> tuple[bytes, Path]:
    from tests.dns.signing import sign_fixture
    signed = sign_fixture(tmp_path / "sign")
    anchor = tmp_path / "sign" / "anchor.key"
    anchor.write_text(signed.anchor)
    return signed.zone.read_bytes(), anchor


def test_page_lists_every_set_and_is_in_the_nav(state):
    c = logged_in(state)
    html = c.get("/data").data.decode()
    for title in ("IRR data", "RPKI VRPs", "Root zone copy", "PeeringDB dump"):
        assert title in html
    assert html.count('enctype="multipart/form-data"') == 4
    assert html.count('name="csrf_token"') >= 4 + 1  # four uploads and the logout form
    assert 'href="/data"' in c.get("/").data.decode()
    assert html.count("not loaded") == 4


def test_vrp_upload_and_bad_vrp_kept(state, synced):
    c = logged_in(state)
    resp = _post(c, "rpki", VRPS.read_bytes(), "vrps.json")
    # the file's ASPA records are part of bird.conf: the route server is re-applied
    assert "/changes/apply/" in resp.headers["Location"], "the route server is re-applied"
    progress = c.get(resp.headers["Location"]).data.decode()
    n = rpki_service.check_vrps(VRPS.read_text())
    assert f"{n:,} VRPs loaded (was 0) from vrps.json" in progress
    assert "4 ASPA records: the route server checks AS paths with them." in progress
    assert wait_job(c, resp.headers["Location"])["outcome"]["ok"]
    assert "route aspa 10041 providers 10001, 10002;" in \
        (state / "etc" / "bird" / "bird.conf").read_text()
    assert synced == [state], "stayrtr follows the new file"
    before = rpki_service.vrp_path(state).read_bytes()
    bad = _post(c, "rpki", b'{"roas": [{"prefix": "192.0.2.0/24"}]}', "broken.json",
                follow_redirects=True)
    assert b"broken.json: not a VRP file (roas[0] needs &#39;prefix&#39; and &#39;asn&#39;)" \
        in bad.data and b"nothing was changed" in bad.data
    assert rpki_service.vrp_path(state).read_bytes() == before
    bad_aspa = _post(c, "rpki", json.dumps({**json.loads(VRPS.read_text()), "aspas": [
        {"customer_asid": 10041, "providers": [10001, "ten"]}]}).encode(), "aspa.json",
                     follow_redirects=True)
    assert b"aspa.json: not a VRP file (aspas[0].providers[1] must be an ASN" in bad_aspa.data
    assert rpki_service.vrp_path(state).read_bytes() == before
    assert synced == [state], "a refused file restarts nothing"
    empty = _post(c, "rpki", b"", "", follow_redirects=True)
    assert b"Choose a file first" in empty.data


def test_irr_upload_reapplies_and_bad_irr_kept(state):
    c = logged_in(state)
    sample = next(iter(json.loads((FIX / "bird" / "irr" / "irr-cache.json")
                                  .read_text()).values()))
    objects = sorted({irr_object(m) for m in committed_config(state).members})
    raw = json.dumps({o: sample for o in objects}).encode()
    bad = _post(c, "irr", b"[1, 2", "irr.json", follow_redirects=True)
    assert b"irr.json: not an IRR data file" in bad.data
    assert not irr_status.cache_path(state).exists()
    resp = _post(c, "irr", raw, "irr.json")
    assert "/changes/apply/" in resp.headers["Location"], "the route server is re-applied"
    assert wait_job(c, resp.headers["Location"])["outcome"]["ok"]
    page = c.get("/data").data.decode()
    assert f"{len(objects)} IRR objects loaded (was 0)" in page
    assert offline_data.irr_count(state) == len(objects)
    assert not [m for m in offline_data.missing_protections(state, committed_config(state))
                if m.kind == "irr"]


def test_peeringdb_upload_and_bad_dump_kept(state):
    c = logged_in(state)
    resp = _post(c, "peeringdb", PDB.read_bytes(), "pdb.json")
    assert "/changes/apply/" in resp.headers["Location"], "the route server is re-applied"
    assert wait_job(c, resp.headers["Location"])["outcome"]["ok"]
    nets = len(json.loads(PDB.read_text())["net"]["data"])
    assert f"{nets} networks" in c.get("/data").data.decode()
    assert peeringdb.lookup(state, 64501, None)["name"] == "Coral Cloud"
    bad = _post(c, "peeringdb", b'{"net": {"data": []}}', "empty.json", follow_redirects=True)
    assert b"empty.json: no networks in it" in bad.data
    notjson = _post(c, "peeringdb", b"\xff\xfe", "x.json", follow_redirects=True)
    assert b"x.json: not JSON" in notjson.data
    assert peeringdb.dump_path(state).read_bytes() == PDB.read_bytes()


def test_peeringdb_upload_puts_never_via_rs_in_force_at_once(state):
    # The never-via-route-servers list is rendered into bird.conf: the upload re-applies.
    conf = state / "etc" / "bird" / "bird.conf"
    assert "no never-via-route-servers list" in conf.read_text()
    dump = {"net": {"data": [{"asn": 64999, "name": "Never", "info_never_via_route_servers":
                              True}]}}
    c = logged_in(state)
    resp = _post(c, "peeringdb", json.dumps(dump).encode(), "pdb.json")
    assert wait_job(c, resp.headers["Location"])["outcome"]["ok"]
    assert "define NEVER_VIA_RS_ASNS = [ 64999 ];" in conf.read_text()


def test_root_zone_upload_validated_and_warning_goes(state, tmp_path):
    if shutil.which("ldns-signzone") is None or shutil.which("ldns-verify-zone") is None:
        pytest.fail("ldns-signzone and ldns-verify-zone are missing: the README's test command "
                    "installs the Debian package ldnsutils")
    raw, anchor = _signed_root(tmp_path)
    app = create_app(state, {"ROOT_ZONE_TRUST_ANCHOR": str(anchor)})
    c = app.test_client()
    login = c.get("/login")
    c.post("/login", data={"name": ADMIN, "password": PASSWORD,
                           "csrf_token": csrf(login.data)})
    dash = c.get("/").data.decode()
    assert "Not active for lack of data" in dash and "Resolver without internet" in dash

    unsigned = _post(c, "rootzone", UNSIGNED_ROOT.read_bytes(), "root.zone",
                     follow_redirects=True)
    assert b"root.zone: the zone is not DNSSEC-signed with a ZONEMD digest" in unsigned.data
    assert not offline_data.rootzone_path(state).exists()
    tampered = raw.replace(b"192.0.2.80", b"192.0.2.81")
    assert tampered != raw
    bad = _post(c, "rootzone", tampered, "root.zone", follow_redirects=True)
    assert b"the DNSSEC signatures or the ZONEMD digest do not verify" in bad.data
    assert not offline_data.rootzone_path(state).exists(), "a bad zone replaces nothing"

    ok = _post(c, "rootzone", raw, "root.zone", follow_redirects=True)
    assert b"Root zone serial 2026112301 loaded from root.zone (was none)" in ok.data
    assert offline_data.rootzone_path(state).read_bytes() == raw
    assert "Resolver without internet" not in c.get("/").data.decode()

    # another trust anchor (the real root's key): the same zone does not verify
    other = create_app(state, {"ROOT_ZONE_TRUST_ANCHOR": "/usr/share/dns/root.key"})
    c2 = other.test_client()
    login = c2.get("/login")
    c2.post("/login", data={"name": ADMIN, "password": PASSWORD,
                            "csrf_token": csrf(login.data)})
    wrong = _post(c2, "rootzone", raw, "root.zone", follow_redirects=True)
    assert b"do not verify" in wrong.data


def test_rpki_warning_appears_and_goes(state, synced):
    c = logged_in(state)
    dash = c.get("/").data.decode()
    assert "Not active for lack of data" in dash
    assert "no VRPs are imported for this box&#39;s RTR server" in dash
    resp = _post(c, "rpki", VRPS.read_bytes(), "vrps.json")
    assert wait_job(c, resp.headers["Location"])["outcome"]["ok"]
    dash = c.get("/").data.decode()
    assert "RTR server" not in dash and "<strong>RPKI</strong>" not in dash


def test_rpki_gap_kinds(configured):
    cfg = committed_config(configured)
    none = offline_data.missing_protections(configured, cfg)
    assert any(m.kind == "rpki" and "no RPKI validator is configured" in m.message
               for m in none)
    data = cfg.model_dump(mode="json")
    data["route_server"]["rpki_validators"] = [{"host": "192.0.2.9", "port": 3323}]
    remote = type(cfg).model_validate(data)
    asked: list[tuple[str, int]] = []

    def down(host: str, port: int) -> bool:
        asked.append((host, port))
        return False
    gone = offline_data.missing_protections(configured, remote, probe=down)
    assert asked == [("192.0.2.9", 3323)]
    assert any("the validator 192.0.2.9:3323 does not answer" in m.message for m in gone)
    up = offline_data.missing_protections(configured, remote, probe=lambda h, p: True)
    assert not [m for m in up if m.kind == "rpki"]
    data["route_server"]["policy"]["rpki"] = "off"
    for m in data["members"]:
        (m.get("policy") or {}).pop("rpki", None)
    off = offline_data.missing_protections(configured, type(cfg).model_validate(data),
                                           probe=down)
    assert not [m for m in off if m.kind == "rpki"]


def test_rpki_gap_when_bird_holds_no_roas(configured):
    """The validator answers, but BIRD's own RTR session is down and it holds nothing."""
    cfg = committed_config(configured)
    data = cfg.model_dump(mode="json")
    data["route_server"]["rpki_validators"] = [{"host": "192.0.2.9", "port": 3323}]
    remote = type(cfg).model_validate(data)
    session = {"protocol": "rpki1", "cache": "192.0.2.9:3323", "status": "Transport-Error",
               "up": False}
    empty = {"running": True, "sessions": [session], "roas": {"ipv4": 0, "ipv6": 0}}
    gap = offline_data.missing_protections(configured, remote, probe=lambda h, p: True,
                                           rtr=lambda _s: empty)
    assert [m.message for m in gap if m.kind == "rpki"] == [
        "The RPKI policy checks routes, but the route server holds no ROAs: its RTR "
        "connection says 192.0.2.9:3323: Transport-Error."]
    # ROAs held (kept while the session reconnects), or BIRD not answering: no such warning
    held = dict(empty, roas={"ipv4": 3, "ipv6": 1})
    for rtr in (held, {"running": False, "sessions": [], "roas": {}}):
        fine = offline_data.missing_protections(configured, remote, probe=lambda h, p: True,
                                                rtr=lambda _s, r=rtr: r)
        assert not [m for m in fine if m.kind == "rpki"], rtr


def test_viewer_sees_but_cannot_upload(state, synced):
    c = logged_in(state, VIEWER, VIEWER_PASSWORD)
    page = c.get("/data")
    assert page.status_code == 200 and b"RPKI VRPs" in page.data
    assert b'enctype="multipart/form-data"' not in page.data
    denied = c.post("/data/rpki", data={"csrf_token": csrf(page.data),
                                        "file": (BytesIO(VRPS.read_bytes()), "vrps.json")},
                    content_type="multipart/form-data")
    assert denied.status_code == 403
    assert not rpki_service.vrp_path(state).exists() and synced == []


def test_unknown_kind_is_404(state):
    c = logged_in(state)
    page = c.get("/data")
    assert c.post("/data/nonsense", data={"csrf_token": csrf(page.data)}).status_code == 404


def test_upload_needs_csrf(state, synced):
    c = logged_in(state)
    resp = c.post("/data/rpki", data={"file": (BytesIO(VRPS.read_bytes()), "vrps.json")},
                  content_type="multipart/form-data")
    assert resp.status_code == 400
    assert not rpki_service.vrp_path(state).exists()


def test_upload_while_a_change_holds_the_lock_changes_nothing(state, synced, monkeypatch):
    from appliance.util.lock import state_lock
    c = logged_in(state)
    monkeypatch.setattr(offline_data, "LOCK_TIMEOUT", 0.2)
    with state_lock(state):
        resp = _post(c, "rpki", VRPS.read_bytes(), "vrps.json", follow_redirects=True)
    assert b"another change is being applied" in resp.data and b"nothing was changed" in resp.data
    assert not rpki_service.vrp_path(state).exists() and synced == []
    again = _post(c, "rpki", VRPS.read_bytes(), "vrps.json")
    assert b"VRPs loaded (was 0)" in c.get(again.headers["Location"]).data
    assert wait_job(c, again.headers["Location"])["outcome"]["ok"]


def test_rpki_upload_adds_the_box_validator(configured, synced):
    """VRPs uploaded on a box whose route server asks no validator: the box's own is added."""
    assert committed_config(configured).route_server.rpki_validators == []
    c = logged_in(configured)
    resp = _post(c, "rpki", VRPS.read_bytes(), "vrps.json")
    job = wait_job(c, resp.headers["Location"])
    assert job["outcome"]["ok"], job
    validators = committed_config(configured).route_server.rpki_validators
    assert [(v.host, v.port) for v in validators] == [("127.0.0.1", 3323)]
    latest = RevisionStore(configured).latest()
    assert "this box's RTR server added" in latest.comment
    page = c.get("/data").data.decode()
    assert "The route server now asks this box&#39;s RTR server" in page
    # a second upload keeps the one validator (nothing to add)
    resp = _post(c, "rpki", VRPS.read_bytes(), "vrps.json")
    assert wait_job(c, resp.headers["Location"])["outcome"]["ok"]
    assert len(committed_config(configured).route_server.rpki_validators) == 1
