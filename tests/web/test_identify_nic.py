"""Which cable is it? The member form's Blink buttons run ethtool's identify on the box's NIC
and say what happened: here on a real NIC of a test namespace (a veth, which cannot blink, so
the page must say so in words), an unknown name, and a name that is not one."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.bridge.identify import IdentifyError, identify
from appliance.platform import netns
from appliance.platform.target import Target
from appliance.web import create_app
from labkit.netlab import veth

from .conftest import ADMIN, PASSWORD, csrf

# These calls only read or change the namespace: no state directory is involved.
NO_STATE = Path("/nonexistent")

pytestmark = pytest.mark.netns


@pytest.fixture
def box_ns(ns_factory, tool):
    """A namespace standing in for the box, with one NIC (a veth pair)."""
    tool("ethtool", "ethtool")
    ns = ns_factory("box")
    veth(ns, "port7", "cable7", up=False)
    netns.run(ns, ["ip", "link", "set", "port7", "up"])
    return ns


def _admin(state_dir, ns):
    app = create_app(Target(state_dir, ns))
    c = app.test_client()
    page = c.get("/login")
    c.post("/login", data={"name": ADMIN, "password": PASSWORD, "csrf_token": csrf(page.data)})
    return c


def test_identify_says_why_a_port_cannot_blink(box_ns):
    with pytest.raises(IdentifyError, match=r"port7 cannot blink its light: .*not supported"):
        identify("port7", Target(NO_STATE, box_ns))
    with pytest.raises(IdentifyError, match="no NIC named port9"):
        identify("port9", Target(NO_STATE, box_ns))
    with pytest.raises(IdentifyError, match="not a network interface name"):
        identify("-x", Target(NO_STATE, box_ns))


def test_the_member_form_offers_blink_and_tells_the_outcome(configured, box_ns):
    c = _admin(configured, box_ns)
    page = c.get("/members/new").data.decode()
    assert 'id="find-cable"' in page and "/members/nics/port7/identify" in page
    token = csrf(c.get("/members/new").data)
    resp = c.post("/members/nics/port7/identify",
                  data={"csrf_token": token, "back": "/members/new"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/members/new")
    shown = c.get("/members/new").data.decode()
    assert "The light of port7 cannot blink" in shown and "not supported" in shown
    # never a redirect off the box
    resp = c.post("/members/nics/port7/identify",
                  data={"csrf_token": token, "back": "//evil.example/"})
    assert resp.headers["Location"].endswith("/members/new")


def test_a_viewer_cannot_blink(configured, box_ns):
    import yaml

    from appliance.box import build_pipeline
    from appliance.config.revisions import RevisionStore
    from appliance.web.accounts import hash_password

    data = yaml.safe_load(RevisionStore(configured).latest().config)
    data["admin_users"].append({"name": "watcher", "role": "viewer",
                                "password_hash": hash_password(PASSWORD)})
    assert build_pipeline(configured).run(yaml.safe_dump(data), author="t", comment="v").ok
    c = create_app(Target(configured, box_ns)).test_client()
    page = c.get("/login")
    c.post("/login", data={"name": "watcher", "password": PASSWORD, "csrf_token": csrf(page.data)})
    resp = c.post("/members/nics/port7/identify", data={"csrf_token": csrf(c.get("/").data)})
    assert resp.status_code == 403
