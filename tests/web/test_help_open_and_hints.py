"""The guide opens without an account, the setup page's hint is one that works in the demo,
and a member's own page warns when its IRR filter cannot work (issue 13, items 3, 6, 11)."""

from __future__ import annotations

from appliance.web import create_app


def test_the_guide_opens_before_setup_and_without_login(tmp_path, configured):
    fresh = create_app(tmp_path / "fresh").test_client()  # nobody can log in yet
    page = fresh.get("/help/setup-wizard.md")
    assert page.status_code == 200 and b"<h1" in page.data
    anonymous = create_app(configured).test_client()  # set up, not logged in
    assert anonymous.get("/help/lab.md").status_code == 200
    assert anonymous.get("/help/../pyproject.toml").status_code == 404
    assert anonymous.get("/members").status_code == 302  # the rest still needs a login


def test_setup_page_names_the_command_that_finds_the_demo(tmp_path):
    page = create_app(tmp_path).test_client().get("/setup").data.decode()
    assert ".venv/bin/ixpctl setup-code" in page and "finds the running demo" in page


def test_member_graph_page_warns_for_that_member_only(client):
    # the example members filter IRR with "reject" and no IRR data is loaded
    page = client.get("/graphs/member/64496").data.decode()
    assert "IRR filtering is not protecting 1 member." in page
    assert "AS64496" in page.split("irr-warning", 1)[1].split("</div>", 1)[0]
