"""The report card's ASPA line: the member's policy and its own record in the imported file."""

from __future__ import annotations

import shutil

from appliance.monitor.report import aspa_readiness
from appliance.route_server.rpki_service import vrp_path
from appliance.web import create_app
from appliance.web.report_mail import aspa_sentence
from tests.bird.configs import config, member

from ..conftest import ROOT

VRPS = ROOT / "tests" / "fixtures" / "bird" / "vrps.json"


def test_aspa_line_follows_policy_and_the_members_record(tmp_path):
    # the fixture's ASPA records: customer 10041 with providers 10001 and 10002
    cfg = config([member(1, 10041), member(2, 10001),
                  member(3, 10002, policy={"aspa": "off"})], lab=True)
    none = aspa_readiness(tmp_path, cfg, 10041)
    assert none == {"policy": "tag_only", "data": False, "record": False, "providers": []}
    vrp_path(tmp_path).parent.mkdir(parents=True)
    shutil.copy(VRPS, vrp_path(tmp_path))
    found = aspa_readiness(tmp_path, cfg, 10041)
    assert found == {"policy": "tag_only", "data": True, "record": True,
                     "providers": ["AS10001", "AS10002"]}
    assert aspa_readiness(tmp_path, cfg, 10001)["record"] is False
    assert aspa_readiness(tmp_path, cfg, 10002)["policy"] == "off"
    with create_app(tmp_path).test_request_context():
        assert aspa_sentence(found) == (
            "ASPA: this network has published its ASPA record (providers: AS10001, AS10002); "
            "the route server checks its AS paths.")
        assert "has no ASPA record for this network" in aspa_sentence(
            aspa_readiness(tmp_path, cfg, 10001))
        assert "(policy off)" in aspa_sentence(aspa_readiness(tmp_path, cfg, 10002))
        assert "every AS path is Unknown" in aspa_sentence(none)
