"""ASPA records from the imported VRP file: parsing both rpki-client shapes, refusing bad
entries by name, rendering them into bird.conf, and the import re-applying the configuration."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.pipeline.concern import VerifyError
from appliance.route_server.aspa import Aspa, AspaData, load_aspas, parse_aspas
from appliance.route_server.bogons import load_bogons
from appliance.route_server.concern import RouteServerConcern, aspa_records_block
from appliance.route_server.render import render_bird
from appliance.route_server.rpki_service import aspa_count, check_vrps, vrp_path
from tests.bird.configs import config, member


def bird_conf(files):
    """bird.conf among the route-server concern's files (stayrtr's listen file is the other)."""
    (conf,) = [f for f in files if f.path == "bird/bird.conf"]
    return conf

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bird" / "vrps.json"
ROAS = [{"prefix": "31.1.8.0/24", "maxLength": 24, "asn": "AS10001"}]
NOW = 1_800_000_000


def _vrps(aspas: object) -> str:
    return json.dumps({"roas": ROAS, "aspas": aspas})


def test_current_rpki_client_shape():
    data = parse_aspas({"aspas": [
        {"customer_asid": 64501, "expires": NOW + 60, "providers": [64511, 64510]},
        {"customer_asid": 64502, "expires": NOW + 60, "providers": []},
    ]}, now=NOW)
    assert data.records == (Aspa(64501, (64510, 64511)), Aspa(64502, ()))
    assert data.expired == 0


def test_older_provider_set_shape():
    data = parse_aspas({"aspas": [
        {"customer_asid": 64501, "expires": NOW + 60,
         "provider_set": [{"provider_asid": 64510, "afi_limit": "ipv4"},
                          {"provider_asid": 64511}]},
    ]}, now=NOW)
    assert data.records == (Aspa(64501, (64510, 64511)),)


def test_as0_means_no_providers_and_duplicates_merge():
    data = parse_aspas({"aspas": [
        {"customer_asid": 64502, "providers": [0]},
        {"customer_asid": 64501, "providers": [64510]},
        {"customer_asid": 64501, "providers": ["AS64511"]},
    ]}, now=NOW)
    assert data.records == (Aspa(64501, (64510, 64511)), Aspa(64502, ()))


def test_expired_records_are_left_out_and_counted():
    data = parse_aspas({"aspas": [
        {"customer_asid": 64501, "expires": NOW - 1, "providers": [64510]},
        {"customer_asid": 64502, "expires": NOW + 1, "providers": [64510]},
    ]}, now=NOW)
    assert data.records == (Aspa(64502, (64510,)),) and data.expired == 1


def test_a_file_without_aspas_has_none():
    assert parse_aspas({"roas": ROAS}).records == ()


@pytest.mark.parametrize(("aspas", "why"), [
    ({"customer_asid": 1}, "'aspas' must be a list"),
    (["x"], "aspas[0] needs 'customer_asid'"),
    ([{"providers": [1]}], "aspas[0] needs 'customer_asid'"),
    ([{"customer_asid": 64501}], "aspas[0] needs 'providers' (or 'provider_set')"),
    ([{"customer_asid": "ASx", "providers": []}], "aspas[0].customer_asid must be an ASN"),
    ([{"customer_asid": 2**32, "providers": []}], "aspas[0].customer_asid must be an ASN"),
    ([{"customer_asid": 0, "providers": []}], "aspas[0].customer_asid cannot be AS0"),
    ([{"customer_asid": 64501, "providers": [64510]},
      {"customer_asid": 64502, "providers": [64510, -1]}],
     "aspas[1].providers[1] must be an ASN"),
    ([{"customer_asid": 64501, "providers": 64510}], "aspas[0].providers must be a list"),
    ([{"customer_asid": 64501, "provider_set": [{"asid": 1}]}],
     "aspas[0].provider_set[0] needs 'provider_asid'"),
    ([{"customer_asid": 64501, "provider_set": [{"provider_asid": True}]}],
     "aspas[0].provider_set[0].provider_asid must be an ASN"),
    ([{"customer_asid": 64501, "providers": [64501]}],
     "aspas[0]: AS64501 lists itself as its own provider"),
    ([{"customer_asid": 64501, "providers": [], "expires": "soon"}],
     "aspas[0].expires must be a Unix time"),
])
def test_bad_entries_are_refused_by_name(aspas, why):
    with pytest.raises(ValueError) as exc:
        parse_aspas({"aspas": aspas}, now=NOW)
    assert why in str(exc.value)
    # the import's check refuses the same file, before anything is installed
    with pytest.raises(ValueError) as again:
        check_vrps(_vrps(aspas))
    assert why in str(again.value)


def test_the_fixture_loads():
    assert aspa_count(FIXTURE.read_text()) == 4
    data = load_aspas(FIXTURE)
    assert data.source == "vrps.json" and data.problem is None
    assert Aspa(10043, ()) in data.records


def test_missing_or_broken_file(tmp_path):
    assert load_aspas(tmp_path / "none.json") == AspaData()
    bad = tmp_path / "vrps.json"
    bad.write_text(_vrps([{"customer_asid": "x", "providers": []}]))
    broken = load_aspas(bad)
    assert broken.records == () and "aspas[0].customer_asid must be an ASN" in broken.problem


def _cfg(**policy: str):
    return config([member(1, 10001, policy={"aspa": policy.get("m1")} if "m1" in policy
                          else {}), member(2, 10002)],
                  policy={"aspa": policy["all"]} if "all" in policy else {})


def test_records_render_as_a_static_aspa_protocol():
    text = render_bird(_cfg(), load_bogons(), aspa=load_aspas(FIXTURE))
    assert "aspa table rs_aspa;" in text
    assert "# 4 ASPA records from vrps.json." in text
    assert "  route aspa 10041 providers 10001, 10002;\n" in text
    assert "  route aspa 10043 transit;\n" in text
    assert aspa_records_block(text).count("route aspa") == 4
    # the default policy only tags
    assert "ASPA_INVALID: rs_info(12);" in text and "rs_reject(20)" not in text


def test_per_member_override_rejects():
    text = render_bird(_cfg(m1="reject_invalid"), load_bogons(), aspa=load_aspas(FIXTURE))
    m1 = text.split("filter rs_in_c10001_")[1].split("\n}\n")[0]
    m2 = text.split("filter rs_in_c10002_")[1].split("\n}\n")[0]
    assert "ASPA_INVALID: rs_reject(20);" in m1
    assert "ASPA_INVALID: rs_info(12);" in m2


def test_off_everywhere_renders_no_aspa_at_all():
    text = render_bird(_cfg(all="off"), load_bogons(), aspa=load_aspas(FIXTURE))
    assert "aspa" not in text.lower()
    mixed = render_bird(_cfg(all="off", m1="tag_only"), load_bogons(), aspa=load_aspas(FIXTURE))
    assert mixed.count("aspa_check_upstream") == 2  # m1's two sessions only


def test_no_file_says_so_in_the_config():
    text = render_bird(_cfg(), load_bogons())
    assert "# No VRP file imported yet (ixpctl rpki import): every path is ASPA Unknown." in text
    assert "protocol static rs_aspa_records {" not in text


@pytest.mark.parametrize("policy", ["off", "tag_only", "reject_invalid"])
def test_bird_accepts_the_rendered_config(tmp_path, policy):
    # The concern's own verify: bird -p of the image's BIRD (IXP_SHIPPED_ROOT).
    concern = RouteServerConcern(aspa=load_aspas(FIXTURE))
    cfg = _cfg(all=policy)
    for f in concern.render(cfg):
        (tmp_path / f.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f.path).write_bytes(f.content)
    concern.verify(cfg, tmp_path)
    (tmp_path / "bird" / "bird.conf").write_text(
        (tmp_path / "bird" / "bird.conf").read_text().replace("route aspa 10041", "route aspa x"))
    if policy != "off":
        with pytest.raises(VerifyError):
            concern.verify(cfg, tmp_path)


def test_concern_reads_the_records_from_the_imported_file(tmp_path):
    cfg = _cfg()
    before = bird_conf(RouteServerConcern.from_state(tmp_path).render(cfg))
    vrp_path(tmp_path).parent.mkdir(parents=True)
    shutil.copy(FIXTURE, vrp_path(tmp_path))
    after = bird_conf(RouteServerConcern.from_state(tmp_path).render(cfg))
    assert b"route aspa" not in before.content
    assert b"route aspa 10042 providers 10003;" in after.content


def test_rpki_import_reapplies_with_the_aspa_records(tmp_path, example_text):
    state = tmp_path / "state"
    conf = tmp_path / "ixp.yaml"
    conf.write_text(example_text)

    def ixpctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "appliance.cli", *args, "--state-dir",
                               str(state)], capture_output=True, text=True, timeout=300)

    assert ixpctl("apply", "-c", str(conf)).returncode == 0
    bird_conf = state / "etc" / "bird" / "bird.conf"
    assert "route aspa" not in bird_conf.read_text()
    res = ixpctl("rpki", "import", str(FIXTURE))
    assert res.returncode == 0, res.stderr
    assert "imported 4 ROAs and 4 ASPA records" in res.stdout and "re-applied" in res.stdout
    assert "route aspa 10041 providers 10001, 10002;" in bird_conf.read_text()
    status = ixpctl("rpki", "status")
    assert "4 ROAs and 4 ASPA records" in status.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(_vrps([{"customer_asid": 10041, "providers": ["AS10001", "x"]}]))
    refused = ixpctl("rpki", "import", str(bad))
    assert refused.returncode == 1
    assert "aspas[0].providers[1] must be an ASN" in refused.stderr
    assert "route aspa 10041 providers 10001, 10002;" in bird_conf.read_text()
