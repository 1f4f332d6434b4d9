"""How pages show things: the box's time zone, human units, drop reasons in words, the API
reference page, styled error pages and the favicon."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import yaml

from appliance.box import build_pipeline
from appliance.bridge.render import REASONS
from appliance.config.revisions import RevisionStore
from appliance.web import create_app
from appliance.web.api import openapi
from appliance.web.filters import DROP_REASONS, box_timezone, drop_reason, human, localtime

from .conftest import ADMIN, PASSWORD, csrf, logged_in

FIJI = ZoneInfo("Pacific/Fiji")


def test_localtime_converts_to_the_given_zone():
    assert localtime("2026-11-23T21:59:40+00:00", tz=FIJI) == "2026-11-24 09:59:40 +12"
    assert localtime(datetime(2026, 6, 1, 0, 0, tzinfo=UTC), tz=FIJI) == "2026-06-01 12:00:00 +12"
    assert localtime(0, tz=UTC) == "1970-01-01 00:00:00 UTC"
    assert localtime(None) == "–" and localtime("") == "–"
    assert localtime("not a time") == "not a time"
    # BIRD's "since" has no zone: it is the host's local time, shown in the box's zone
    naive = "2026-11-23 22:33:12.072"
    expected = datetime.fromisoformat(naive).astimezone().astimezone(FIJI)
    assert localtime(naive, tz=FIJI) == expected.strftime("%Y-%m-%d %H:%M:%S +12")


def test_box_timezone_from_the_committed_config(configured, tmp_path):
    assert box_timezone(configured) == FIJI  # the example says Pacific/Fiji
    assert box_timezone(tmp_path / "fresh") == UTC  # nothing committed yet


def test_human_units():
    assert human(1_234_567, "B") == "1.23 MB"
    assert human(12_300_000, "bit/s") == "12.3 Mbit/s"
    assert human(4321) == "4,321"
    assert human(1_234_567) == "1.23 M"
    assert human(0) == "0" and human(None) == "–"


def test_every_drop_reason_has_words():
    assert set(DROP_REASONS) == set(REASONS), "a hygiene reason without words in the web UI"
    assert drop_reason("src_mac") == "frame from a MAC address that is not the member's"
    assert drop_reason("something_new") == "something new"  # never the raw key


def test_history_and_users_show_the_box_time_zone(client, configured):
    history = client.get("/history").data.decode()
    rev = RevisionStore(configured).latest()
    assert localtime(rev.time, tz=FIJI) in history and rev.time not in history
    page = client.get("/users")
    made = client.post("/users/tokens", data={"label": "mrtg", "csrf_token": csrf(page.data)})
    text = made.data.decode()
    assert "+00:00" not in text
    assert re.search(r'<td class="when">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+12</td>', text)
    assert '<div class="table-wrap">' in text and "<h1>Users</h1>" in text


def test_times_fall_back_to_utc_without_a_time_zone(tmp_path, example_text):
    data = yaml.safe_load(example_text)
    data["management"].pop("timezone", None)
    data["admin_users"] = [{"name": ADMIN, "password_hash": _hash()}]
    assert build_pipeline(tmp_path).run(yaml.safe_dump(data), author="t").ok
    c = _logged_in(tmp_path)
    history = c.get("/history").data.decode()
    assert re.search(r'<td class="when">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>', history)


def test_api_reference_page(tmp_path, client):
    doc = openapi.document()
    for c in (create_app(tmp_path).test_client(), client):  # open before setup, like the JSON
        resp = c.get("/api/v1/docs")
        assert resp.status_code == 200 and resp.mimetype == "text/html"
        page = resp.data.decode()
        assert "<h1>IXP appliance API" in page
        for path, item in doc["paths"].items():
            assert f"<code>{path}</code>" in page, path
            for method, op in item.items():
                assert f'id="op-{op["operationId"]}"' in page and method.upper() in page
        for name in doc["components"]["schemas"]:
            assert f'id="schema-{name}"' in page, name
        assert '<a href="#schema-Member"><code>Member</code></a>' in page
        assert "http://" not in page and "https://" not in page  # nothing from elsewhere
        assert "<script" not in page
    assert 'href="/api/v1/docs">API reference</a>' in client.get("/").data.decode()


def test_error_pages_are_styled_for_people_and_json_for_the_api(client, configured):
    page = client.get("/nope")
    assert page.status_code == 404 and page.mimetype == "text/html"
    text = page.data.decode()
    assert "<h1>Page not found</h1>" in text and "/static/app.css" in text
    assert "There is no page at this address." in text  # our words, not werkzeug's
    assert 'href="/members"' in text, "a logged-in reader keeps the navigation"
    api = client.get("/api/v1/nope")
    assert api.status_code == 404 and api.get_json()["error"]
    assert client.get("/wizard/apply/nope.json").mimetype == "application/json"
    token = csrf(client.get("/users").data)
    conflict = client.post("/users/alice/remove", data={"csrf_token": token})
    assert conflict.status_code == 409
    assert "You cannot remove yourself or the last admin." in conflict.data.decode()
    assert "<h1>That cannot be done now</h1>" in conflict.data.decode()
    # a viewer's change is refused with a page that says why
    data = yaml.safe_load(RevisionStore(configured).latest().config)
    data["admin_users"].append({"name": "vic", "password_hash": _hash(), "role": "viewer"})
    assert build_pipeline(configured).run(yaml.safe_dump(data), author="t").ok
    viewer = _logged_in(configured, "vic")
    token = csrf(viewer.get("/members").data)
    denied = viewer.post("/members/0/remove", data={"csrf_token": token})
    assert denied.status_code == 403 and "<h1>Not allowed</h1>" in denied.data.decode()
    assert "may look but not change anything" in denied.data.decode()


def test_a_crash_shows_the_500_page(configured):
    app = create_app(configured)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    c = app.test_client()
    login = c.get("/login")
    c.post("/login", data={"name": ADMIN, "password": PASSWORD, "csrf_token": csrf(login.data)})
    resp = c.get("/boom")
    assert resp.status_code == 500
    assert "<h1>Something went wrong on the box</h1>" in resp.data.decode()
    assert "boom" not in resp.data.decode().replace("/boom", "")  # no internals shown


def test_favicon(client, tmp_path):
    assert 'rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in \
        client.get("/").data.decode()
    fresh = create_app(tmp_path).test_client()  # before setup too: no redirect to /setup
    ico = fresh.get("/favicon.ico")
    assert ico.status_code == 301 and ico.headers["Location"].endswith("/static/favicon.svg")
    svg = fresh.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"


def _hash() -> str:
    from appliance.web.accounts import hash_password
    return hash_password(PASSWORD)


def _logged_in(state, name: str = ADMIN):
    return logged_in(state, name)


def test_chart_times_in_the_box_time_zone(configured):
    from appliance.monitor.store import Rate
    from appliance.web.graphs import traffic_chart

    t0 = int(datetime(2026, 11, 23, 21, 0, tzinfo=UTC).timestamp())
    rates = [Rate(t0, 1e6, 2e6, 100, 200), Rate(t0 + 3600, 3e6, 1e6, 300, 100)]
    with create_app(configured).test_request_context("/graphs"):
        svg = str(traffic_chart(rates, title="Port ixp1"))
        one = str(traffic_chart(rates[:1], title="Port ixp1"))
    assert ">24 Nov 09:00 +12<" in svg and ">24 Nov 10:00 +12<" in svg
    assert " UTC<" not in svg and " UTC<" not in one


def test_api_reference_describes_types_and_defaults():
    from appliance.web.apidocs import operations, schemas, type_of

    assert type_of({"$ref": "#/components/schemas/Member"}) == "Member"
    assert type_of({"type": "array", "items": {"$ref": "#/components/schemas/Port"}}) \
        == "list of Port"
    assert type_of({"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "null"}]}) \
        == "string (ipv4) or null"
    assert type_of({"enum": ["auto", "none"]}) == 'one of "auto", "none"'
    doc = openapi.document()
    management = next(s for s in schemas(doc) if s.name == "Management")
    timezone = next(p for p in management.properties if p.name == "timezone")
    assert (timezone.type, timezone.required, timezone.default) == ("string", False, '"UTC"')
    ops = {o.operation_id: o for o in operations(doc)}
    assert ops["ixfMemberExport"].public and not ops["addMember"].public
    assert ops["addMember"].body == "Member"
    assert ("422", "refused: the issues say why; nothing was changed", "Outcome") \
        in ops["addMember"].responses
