"""unbound.conf rendering: pure and deterministic, and unbound-checkconf accepts it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.pipeline.concern import VerifyError
from appliance.resolver.concern import ResolverConcern
from appliance.resolver.paths import CONF
from appliance.resolver.render import ROOT_PRIMARIES, render_unbound
from tests.dns.variants import fixture_options, variant


def _lines(text: str, key: str) -> list[str]:
    return [m.group(1).split("#")[0].strip()
            for m in re.finditer(rf"^\s*{re.escape(key)}:\s*(.+)$", text, re.M)]


def test_render_is_deterministic():
    a = render_unbound(variant())
    b = render_unbound(variant())
    assert a == b
    assert ResolverConcern().render(variant()) == ResolverConcern().render(variant())


def test_listens_only_on_the_service_addresses():
    text = render_unbound(variant())
    assert _lines(text, "interface") == ["203.0.113.53@53", "2001:db8:eeee::53@53"]
    assert _lines(text, "interface-automatic") == ["no"]
    assert _lines(render_unbound(variant(ipv6=False)), "interface") == ["203.0.113.53@53"]


def test_refuses_by_default_and_allows_lan_management_and_extra_networks():
    cfg = variant(allowed=["198.51.100.0/24", "2001:db8:1234::/48"],
                  management=["192.0.2.0/28"])
    acl = dict(line.split() for line in _lines(render_unbound(cfg), "access-control"))
    assert acl["0.0.0.0/0"] == "refuse" and acl["::/0"] == "refuse"
    for allowed in ("203.0.113.0/24", "2001:db8:eeee::/64", "198.51.100.0/24",
                    "2001:db8:1234::/48", "192.0.2.0/28", "127.0.0.0/8", "::1/128"):
        assert acl[allowed] == "allow", allowed
    # nothing else is allowed: no open resolver
    assert not [n for n, a in acl.items() if a == "allow" and n.endswith("/0")]


def test_dnssec_rate_limits_and_privacy():
    text = render_unbound(variant())
    assert _lines(text, "auto-trust-anchor-file") == ['"root.key"']
    assert "validator" in _lines(text, "module-config")[0]
    assert int(_lines(text, "ip-ratelimit")[0]) > 0
    assert int(_lines(text, "ratelimit")[0]) > 0
    for key in ("hide-identity", "hide-version", "deny-any"):
        assert _lines(text, key) == ["yes"], key
    assert _lines(text, "chroot") == ['""'] and _lines(text, "username") == ['""']


def test_local_root_is_an_rfc8806_auth_zone():
    text = render_unbound(variant())
    zone = text[text.index("auth-zone:"):]
    assert _lines(zone, "name") == ['"."']
    assert _lines(zone, "primary") == [addr for addr, _ in ROOT_PRIMARIES]
    assert _lines(zone, "fallback-enabled") == ["yes"]
    assert _lines(zone, "for-downstream") == ["no"]
    assert _lines(zone, "for-upstream") == ["yes"]
    assert _lines(zone, "zonemd-check") == ["yes"]
    assert _lines(zone, "zonefile") == ['"root.zone"']


def test_local_root_off_has_no_auth_zone():
    assert "auth-zone:" not in render_unbound(variant(local_root=False))


def test_disabled_resolver_renders_nothing():
    assert ResolverConcern().render(variant(enabled=False)) == []


def test_no_absolute_state_paths_in_the_rendered_file():
    # the same bytes must be right for every state directory
    text = render_unbound(variant())
    assert not re.search(r'"/', text)


def _stage(tmp_path: Path, concern: ResolverConcern, cfg) -> Path:
    for f in concern.render(cfg):
        dest = tmp_path / f.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(f.content)
    return tmp_path


@pytest.mark.parametrize("cfg_kwargs", [
    {}, {"ipv6": False}, {"local_root": False},
    {"allowed": ["198.51.100.0/24", "2001:db8:1234::/48"], "management": ["192.0.2.0/28"]},
], ids=["example", "ipv4-only", "no-local-root", "extra-networks"])
def test_unbound_checkconf_accepts_the_renders(tmp_path, tool, cfg_kwargs):
    tool("unbound-checkconf", "unbound")
    cfg = variant(**cfg_kwargs)
    concern = ResolverConcern()
    concern.verify(cfg, _stage(tmp_path, concern, cfg))  # raises VerifyError if refused


def test_unbound_checkconf_accepts_the_fixture_variant(tmp_path, tool):
    tool("unbound-checkconf", "unbound")
    concern = ResolverConcern(fixture_options())
    concern.verify(variant(), _stage(tmp_path, concern, variant()))


def test_verify_reports_what_unbound_refuses(tmp_path, tool):
    tool("unbound-checkconf", "unbound")
    concern = ResolverConcern()
    staged = _stage(tmp_path, concern, variant())
    conf = staged / CONF
    conf.write_text(conf.read_text().replace("ip-ratelimit: 500", "ip-ratelimit: lots"))
    with pytest.raises(VerifyError, match="unbound refuses"):
        concern.verify(variant(), staged)


def test_listen_signature_changes_only_with_where_it_listens():
    from appliance.resolver.concern import listen_signature

    base = listen_signature(render_unbound(variant()))
    assert base == listen_signature(render_unbound(variant(allowed=["198.51.100.0/24"])))
    assert base != listen_signature(render_unbound(variant(ipv6=False)))
    assert "interface: 203.0.113.53@53" in base


def test_rate_limits_come_from_the_model():
    from tests.dns.variants import example_data, load

    data = example_data()
    assert "ip-ratelimit: 500\n" in render_unbound(load(data))
    data["services"]["resolver"].update(ip_ratelimit=50, ratelimit=200)
    text = render_unbound(load(data))
    assert "ip-ratelimit: 50\n" in text and "    ratelimit: 200\n" in text
