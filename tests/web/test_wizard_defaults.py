"""The route-server step fills in real defaults, not grey placeholders that look filled in
(issue 14 item 6): typing only the ASN and pressing Next works."""

from __future__ import annotations

import re

from .test_wizard_flow import GOOD, _start, _submit


def _input_value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert tag, f"no input {name}"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def test_route_server_step_prefills_addresses_from_the_peering_lan(tmp_path):
    c = _start(tmp_path)
    for step in ("identity", "management", "peering_lan"):
        assert _submit(c, step, GOOD[step]).status_code == 302, step
    page = c.get("/wizard/route_server").data.decode()
    assert _input_value(page, "ipv4") == "203.0.113.1"
    assert _input_value(page, "ipv6") == "2001:db8:eeee::1"
    assert _input_value(page, "router_id") == "203.0.113.1"

    # a beginner types only the ASN, the prefilled values go with the form as a browser sends it
    form = {"asn": "65000", "ipv4": _input_value(page, "ipv4"),
            "ipv6": _input_value(page, "ipv6"), "router_id": _input_value(page, "router_id"),
            "policy.rpki": "reject_invalid", "policy.irr": "reject"}
    resp = _submit(c, "route_server", form)
    assert resp.status_code == 302, resp.data.decode()[:2000]


def test_an_emptied_router_id_falls_back_to_the_ipv4_address(tmp_path):
    c = _start(tmp_path)
    for step in ("identity", "management", "peering_lan"):
        _submit(c, step, GOOD[step])
    form = {**GOOD["route_server"], "router_id": ""}
    resp = _submit(c, "route_server", form)
    assert resp.status_code == 302, resp.data.decode()[:2000]
    page = c.get("/wizard/route_server").data.decode()
    assert _input_value(page, "router_id") == "203.0.113.1"


def test_route_server_step_offers_aspa_tag_only_by_default_and_says_why(tmp_path):
    c = _start(tmp_path)
    for step in ("identity", "management", "peering_lan"):
        _submit(c, step, GOOD[step])
    page = c.get("/wizard/route_server").data.decode()
    select = re.search(r'<select[^>]*name="policy.aspa".*?</select>', page, re.S)
    assert select, "the route-server step has the ASPA choice"
    assert re.search(r'<option[^>]*value="tag_only"[^>]*selected', select.group(0))
    assert ("Only tagging is the default because few networks publish ASPA yet, and one with "
            "an incomplete provider list would make its legitimate routes look leaked.") in \
        page.replace("&#39;", "'")
    resp = _submit(c, "route_server", {**GOOD["route_server"], "policy.aspa": "reject_invalid"})
    assert resp.status_code == 302, resp.data.decode()[:2000]
    again = c.get("/wizard/route_server").data.decode()
    chosen = re.search(r'<select[^>]*name="policy.aspa".*?</select>', again, re.S).group(0)
    assert re.search(r'<option[^>]*value="reject_invalid"[^>]*selected', chosen)
