"""BridgeConcern in the real pipeline: verify with nft -c, plan, apply, no-op re-apply."""

from __future__ import annotations

import bridgelab as bl
import pytest

from appliance.bridge import nft
from appliance.bridge.concern import NFT_FILE, BridgeConcern
from appliance.bridge.render import REASONS
from appliance.bridge.status import read_drops
from appliance.pipeline.concern import ApplyContext, VerifyError
from appliance.pipeline.run import Pipeline
from appliance.platform.target import Target


def test_verify_accepts_the_rendered_ruleset(tmp_path, tool):
    tool("nft", "nftables")
    cfg = bl.config([bl.member_data(i) for i in (1, 2)] + [bl.member_data(3, quarantine=True)])
    concern = BridgeConcern()
    (tmp_path / "nft").mkdir()
    [f] = concern.render(cfg)
    (tmp_path / f.path).write_bytes(f.content)
    concern.verify(cfg, tmp_path)  # raises on refusal


def test_verify_refuses_a_broken_ruleset_with_nfts_message(tmp_path, tool):
    tool("nft", "nftables")
    cfg = bl.config([bl.member_data(1)])
    (tmp_path / "nft").mkdir()
    (tmp_path / NFT_FILE).write_text("table bridge ixp_hygiene {\n chain c { drop-it }\n}\n")
    with pytest.raises(VerifyError, match=r"nft -c refused hygiene\.nft: .*syntax error"):
        BridgeConcern().verify(cfg, tmp_path)


def test_off_the_image_without_a_lab_nothing_on_the_host_changes(tmp_path, monkeypatch):
    """A developer machine with no lab: config only, the host's network is never touched."""
    monkeypatch.delenv("IXP_ALLOW_HOST_NETWORK", raising=False)
    from pyroute2 import IPRoute

    from appliance.platform.target import IMAGE_MARKER
    if IMAGE_MARKER.exists():
        pytest.skip("running on the appliance image, where the host is the target")
    cfg = bl.config([bl.member_data(1)])
    concern = BridgeConcern()
    ctx = ApplyContext(Target(tmp_path))
    assert concern.plan(cfg, ctx) == []
    concern.apply(cfg, ctx, [NFT_FILE])
    assert concern.last_writes == [] and concern.last_ruleset_loaded is False
    with IPRoute() as ipr:
        assert ipr.link_lookup(ifname=cfg.peering_lan.bridge) == []


@pytest.mark.netns
def test_pipeline_applies_then_has_nothing_to_change(netlab, tmp_path, tool):
    tool("nft", "nftables")
    members = [bl.member_data(i) for i in (1, 2)]
    app, _ = bl.build(netlab, members)
    cfg = bl.config(members)
    concern = BridgeConcern()
    pipe = Pipeline(Target(tmp_path / "state", app), concerns=[concern])

    dry = pipe.run(cfg, author="test", dry_run=True)
    assert dry.ok and any(c.target == "bridge br-ixp" for c in dry.changes)
    assert any(c.target == "nft table bridge ixp_hygiene" for c in dry.changes)
    assert "br-ixp" not in bl.sh(app, "ip", "link")  # a dry run changes nothing
    assert not nft.table_loaded(Target(tmp_path, app))

    first = pipe.run(cfg, author="test")
    assert first.ok, first.error
    assert concern.last_writes and concern.last_ruleset_loaded
    assert nft.table_loaded(Target(tmp_path, app))
    drops = read_drops(Target(tmp_path, app))
    assert {(d.port, d.reason) for d in drops} >= {(p, r) for p in ("ixp1", "ixp2")
                                                  for r in REASONS
                                                  if not r.startswith("quarantine")}

    second = pipe.run(cfg, author="test")
    assert second.ok and second.changes == [] and "nothing to change" in second.message

    # Applying again directly (as a re-apply after another concern changed) writes nothing.
    ctx = ApplyContext(Target(tmp_path / "state", app))
    concern.apply(cfg, ctx, [])
    assert concern.last_writes == [] and not concern.last_ruleset_loaded


@pytest.mark.netns
def test_pipeline_refuses_a_missing_port_before_changing_anything(netlab, tmp_path):
    members = [bl.member_data(i) for i in (1, 2)]
    app, _ = bl.build(netlab, members)
    before = bl.snapshot(app)
    cfg = bl.config([*members, bl.member_data(3)])  # ixp3 does not exist
    out = Pipeline(Target(tmp_path / "state", app), concerns=[BridgeConcern()]).run(
        cfg, author="test")
    assert not out.ok and out.stage == "plan"
    assert "members[2].ports[0].interface: interface ixp3 does not exist" in out.error
    assert bl.snapshot(app) == before and not nft.table_loaded(Target(tmp_path, app))
