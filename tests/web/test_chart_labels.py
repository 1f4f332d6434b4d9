"""The charts' words (traffic and prefix counts, on the graphs pages and in the looking glass)
in the reader's language; English stays byte for byte what ``monitor.graphs`` draws."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from appliance.monitor.graphs import LABELS, svg_chart, svg_prefix_chart
from appliance.monitor.store import PrefixPoint, Rate, SampleStore, SessionCounts, samples_path
from appliance.web import create_app
from appliance.web.graphs import chart_labels, port_title, traffic_chart
from tests.web.conftest import logged_in

T0 = int(datetime(2026, 11, 23, 21, 0, tzinfo=UTC).timestamp())
RATES = [Rate(T0, 1e6, 2e6, 100, 200), Rate(T0 + 3600, 3e6, 1e6, 300, 100)]
POINTS = [[PrefixPoint(T0, 10, 8, 2, 30), PrefixPoint(T0 + 600, 12, 9, 3, 30)]]


def test_english_labels_are_the_drawn_defaults(configured):
    with create_app(configured).test_request_context("/graphs"):
        assert chart_labels() == LABELS
        assert port_title("ixp1") == "Port ixp1"
    assert svg_chart(RATES, title="t") == svg_chart(RATES, title="t", labels=LABELS)
    assert ">out (peak 3 Mbit/s)<" in svg_chart(RATES, title="t")


@pytest.mark.parametrize(("lang", "words", "month"), [
    ("fr", ["entrant", "sortant (pointe 3 Mbit/s)", "Tous les ports des membres"], "nov."),
    ("es", ["entrante", "saliente (pico 3 Mbit/s)", "Todos los puertos de los miembros"],
     "nov"),
    ("pt", ["entrada", "saída (pico 3 Mbit/s)", "Todas as portas dos membros"], "nov."),
])
def test_charts_speak_the_readers_language(configured, lang, words, month):
    app = create_app(configured)
    with app.test_request_context("/graphs", headers={"Accept-Language": lang}):
        svg = str(traffic_chart(RATES, title=port_title("_total")))
        empty = str(traffic_chart([], title=port_title("ixp1")))
        labels = chart_labels()
    for word in words[:2]:
        assert f">{word}<" in svg, svg
    with app.test_request_context("/graphs", headers={"Accept-Language": lang}):
        assert port_title("_total") == words[2]
    assert ">in<" not in svg and "collecting samples" not in empty
    # the time axis: the month in the language (the box's zone is +12)
    assert f">24 {month} 09:00 +12<" in svg, svg
    prefixes = svg_prefix_chart(POINTS, title="x", since=T0, until=T0 + 3600, labels=labels)
    for field in ("received", "accepted", "filtered", "exported"):
        assert f">{labels[field]} " in prefixes and labels[field] != field
    empty = svg_prefix_chart([], title="x", since=T0, until=T0 + 3600, labels=labels)
    assert "no counts in this range" not in empty and labels["no_counts"] in empty


def test_a_members_page_draws_its_prefix_chart_in_spanish(configured):
    # the looking glass's session page draws the same prefix_chart
    store = SampleStore(samples_path(configured))
    now = int(time.time())
    for k, accepted in enumerate((1, 2)):
        store.add_prefix_counts(now - 120 + 60 * k, [
            SessionCounts("c64496_203_0_113_10", 64496, "ipv4", "203.0.113.10",
                          "Island Telecom", accepted + 1, accepted, 1, 4)])
    client = logged_in(configured)
    es = {"Accept-Language": "es"}
    page = client.get("/graphs/member/64496?range=2h", headers=es).get_data(as_text=True)
    assert 'class="chart prefixes"' in page
    assert "sesión IPv4 203.0.113.10" in page and "aceptadas 2" in page
    assert "filtradas 1" in page and "accepted 2" not in page
