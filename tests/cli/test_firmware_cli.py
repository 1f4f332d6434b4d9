"""ixpctl system update / status and ixpctl rs drain, on a machine that is not the image."""

from __future__ import annotations

from ..conftest import EXAMPLE


def test_update_off_the_image_is_refused_with_nothing_changed(ixpctl, tmp_path):
    bundle = tmp_path / "ixp-appliance-9.9.9.raucb"
    bundle.write_bytes(b"not a bundle")
    rc, _out, err = ixpctl("system", "update", str(bundle), "--state-dir", str(tmp_path))
    assert rc == 1
    assert "refused: this system cannot install updates" in err
    assert "the update was refused; nothing was changed" in err
    assert not (tmp_path / "firmware" / "pending.json").exists()


def test_status_says_the_version(ixpctl, tmp_path):
    rc, data, _ = ixpctl("system", "status", "--json", "--state-dir", str(tmp_path),
                         json_out=True)
    assert rc == 0 and data["version"] and data["available"] is False and data["slots"] == []


def test_rs_drain_renders_graceful_shutdown_then_ends(ixpctl, tmp_path):
    rc, _, err = ixpctl("apply", "-c", str(EXAMPLE), "--state-dir", str(tmp_path))
    assert rc == 0, err
    conf = tmp_path / "etc" / "bird" / "bird.conf"
    assert "bgp_community.add((65535, 0));" not in conf.read_text()
    rc, out, err = ixpctl("rs", "drain", "--seconds", "120", "--hold", "--state-dir",
                          str(tmp_path))
    assert rc == 0, err
    assert "GRACEFUL_SHUTDOWN (65535:0)" in out
    assert "bgp_community.add((65535, 0));" in conf.read_text()
    history = ixpctl("history", "--state-dir", str(tmp_path))[1]
    rc, out, err = ixpctl("rs", "drain", "--stop", "--state-dir", str(tmp_path))
    assert rc == 0, err
    assert "bgp_community.add((65535, 0));" not in conf.read_text()
    # draining is not a change of the configuration: no revision was made
    assert ixpctl("history", "--state-dir", str(tmp_path))[1] == history
