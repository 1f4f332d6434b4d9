"""The local root as in production: signed, with ZONEMD, validated before use.

The fixture root is signed at test time with a throw-away key that stands in for the root KSK,
so the production settings (validation on, zonemd-check, zonemd-reject-absence, fallback)
are exercised without the internet.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.resolver.paths import UnboundPaths
from appliance.resolver.render import TRUST_ANCHOR_FILE, RenderOptions, RootZone
from labkit.resolver import dig, resolver_lab, status_of
from tests.dns.signing import sign_fixture
from tests.dns.variants import FIXTURE_ADDR, FIXTURE_NAME, example_data

pytestmark = pytest.mark.netns


def _options(zone: Path) -> RenderOptions:
    # production settings except where the copy comes from: no primaries, a seed file
    return RenderOptions(root_zone=RootZone(primaries=(), zonemd_check=True, seed=str(zone)),
                         trust_anchor=TRUST_ANCHOR_FILE)


def _state_with_anchor(tmp_path: Path, anchor: str) -> Path:
    state_dir = tmp_path / "state"
    paths = UnboundPaths(state_dir)
    paths.data_dir.mkdir(parents=True)
    # our test KSK instead of the real root key (prepare() keeps an existing anchor)
    (paths.data_dir / TRUST_ANCHOR_FILE).write_text(anchor)
    return state_dir


def test_a_signed_local_root_is_validated(root_required, tool, tmp_path):
    tool("ldns-signzone", "ldnsutils")
    signed = sign_fixture(tmp_path / "keys")
    state_dir = _state_with_anchor(tmp_path, signed.anchor)
    with resolver_lab(example_data(), state_dir, _options(signed.zone)) as lab:
        member = lab.state.members[0].netns
        res = dig(member, "203.0.113.53", FIXTURE_NAME, "A", "+dnssec")
        assert status_of(res.stdout) == "NOERROR", res.stdout
        flags = res.stdout.split("flags:")[1].split(";")[0].split()
        assert "ad" in flags, f"the answer must be DNSSEC-validated: {res.stdout}"
        short = dig(member, "203.0.113.53", FIXTURE_NAME, "+short")
        assert short.stdout.split() == [FIXTURE_ADDR]


def test_a_tampered_local_root_is_not_used(root_required, tool, tmp_path):
    tool("ldns-signzone", "ldnsutils")
    signed = sign_fixture(tmp_path / "keys")
    forged = tmp_path / "forged.zone"
    text = signed.zone.read_text()
    assert f"\t{FIXTURE_ADDR}\n" in text
    forged.write_text(text.replace(f"\t{FIXTURE_ADDR}\n", "\t192.0.2.66\n"))
    state_dir = _state_with_anchor(tmp_path, signed.anchor)
    with resolver_lab(example_data(), state_dir, _options(forged)) as lab:
        member = lab.state.members[0].netns
        res = dig(member, "203.0.113.53", FIXTURE_NAME, "A")
        # offline there is nowhere to fall back to: a clear failure, never the forged data
        assert "192.0.2.66" not in res.stdout, res.stdout
        assert status_of(res.stdout) == "SERVFAIL", res.stdout
