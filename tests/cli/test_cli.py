"""ixpctl as an operator uses it: exit codes, messages, JSON, history, members."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from appliance.config.revisions import RevisionStore

from ..conftest import EXAMPLE


def test_help_lists_every_verb(ixpctl):
    rc, out, _ = ixpctl("--help")
    assert rc == 0
    for verb in ("validate", "render", "apply", "status", "history", "diff", "rollback",
                 "member", "up", "lab", "demo", "version"):
        assert verb in out


def test_version(ixpctl):
    rc, data, _ = ixpctl("version", "--json", json_out=True)
    assert rc == 0 and data["version"]


def test_validate_ok_and_bad(ixpctl, tmp_path):
    rc, out, _ = ixpctl("validate", "-c", str(EXAMPLE))
    assert rc == 0 and "valid" in out and "5 members" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("asn: 64497", "asn: 23456"))
    rc, out, err = ixpctl("validate", "-c", str(bad))
    assert rc == 1
    assert "members[1].asn: AS 23456 is AS_TRANS" in out
    assert "Traceback" not in out + err
    rc, data, _ = ixpctl("validate", "-c", str(bad), "--json", json_out=True)
    assert rc == 1 and data["valid"] is False and data["issues"][0]["path"] == "members[1].asn"


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"", b"a: [1,", b"- 1\n- 2\n",
                                     b"identity: 5\n" * 3])
def test_validate_never_tracebacks(ixpctl, tmp_path, content):
    f = tmp_path / "x.yaml"
    f.write_bytes(content)
    rc, out, err = ixpctl("validate", "-c", str(f))
    assert rc == 1 and "Traceback" not in out + err and (out + err).strip()


def test_validate_missing_file(ixpctl, tmp_path):
    rc, out, err = ixpctl("validate", "-c", str(tmp_path / "nope.yaml"))
    assert rc == 1 and "cannot read" in out + err


def test_render_writes_files(ixpctl, tmp_path):
    rc, _out, _ = ixpctl("render", "-c", str(EXAMPLE), "-o", str(tmp_path / "out"))
    assert rc == 0
    assert (tmp_path / "out" / "ixp.yaml").read_text().startswith("lab: true")


def test_apply_history_diff_rollback(ixpctl, tmp_path):
    state = str(tmp_path / "state")
    rc, out, _ = ixpctl("apply", "-c", str(EXAMPLE), "--state-dir", state, "--dry-run")
    assert rc == 0 and "+ [core] file ixp.yaml" in out and "dry run" in out
    assert RevisionStore(tmp_path / "state").latest() is None
    rc, out, _ = ixpctl("apply", "-c", str(EXAMPLE), "--state-dir", state, "--comment", "one")
    assert rc == 0 and "revision 1" in out
    rc, out, _ = ixpctl("apply", "-c", str(EXAMPLE), "--state-dir", state)
    assert rc == 0 and "nothing to change" in out

    changed = tmp_path / "changed.yaml"
    changed.write_text(EXAMPLE.read_text().replace("Reef Networks", "Reef Networks Ltd"))
    rc, data, _ = ixpctl("apply", "-c", str(changed), "--state-dir", state, "--json",
                         json_out=True)
    assert rc == 0 and data["revision"]["id"] == 2

    rc, out, _ = ixpctl("history", "--state-dir", state)
    assert rc == 0 and out.splitlines()[0].split()[0] == "2" and "one" in out
    rc, out, _ = ixpctl("diff", "1", "2", "--state-dir", state)
    assert "-  name: Reef Networks\n" in out and "+  name: Reef Networks Ltd" in out
    rc, out, _ = ixpctl("rollback", "1", "--state-dir", state)
    assert rc == 0 and "revision 3" in out
    rc, hist, _ = ixpctl("history", "--state-dir", state, "--json", json_out=True)
    assert [h["id"] for h in hist] == [3, 2, 1] and hist[0]["comment"] == "rollback to revision 1"
    rc, out, err = ixpctl("rollback", "9", "--state-dir", state)
    assert rc == 1 and "revision 9 does not exist" in err


def test_apply_invalid_changes_nothing(ixpctl, tmp_path):
    state = tmp_path / "state"
    ixpctl("apply", "-c", str(EXAMPLE), "--state-dir", str(state))
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("203.0.113.12", "198.51.100.12"))
    rc, _out, err = ixpctl("apply", "-c", str(bad), "--state-dir", str(state))
    assert rc == 1 and "members[2].ipv4[0]" in err and "nothing was changed" in err
    assert RevisionStore(state).latest().id == 1


def test_member_verbs(ixpctl, tmp_path):
    state = str(tmp_path / "state")
    ixpctl("apply", "-c", str(EXAMPLE), "--state-dir", state)
    rc, out, _ = ixpctl("member", "list", "--state-dir", state)
    assert rc == 0 and "AS64498" in out and "5 member(s)" in out
    rc, out, _ = ixpctl("member", "add", "--state-dir", state, "--asn", "64501", "--name",
                        "Coral Cloud", "--port", "ixp6", "--mac", "02:00:5e:10:00:06",
                        "--ipv4", "203.0.113.15", "--ipv6", "2001:db8:eeee::15")
    assert rc == 0, out
    rc, data, _ = ixpctl("member", "show", "64501", "--state-dir", state, "--json",
                         json_out=True)
    assert data[0]["name"] == "Coral Cloud" and data[0]["ipv4"] == ["203.0.113.15"]
    # a clash is refused with the field named, and nothing changes
    rc, out, err = ixpctl("member", "add", "--state-dir", state, "--asn", "64502", "--name",
                          "Clash", "--port", "ixp7", "--mac", "02:00:5e:10:00:07",
                          "--ipv4", "203.0.113.15")
    assert rc == 1 and "members[6].ipv4[0]" in err and "already used by" in err
    rc, out, _ = ixpctl("member", "remove", "64501", "--state-dir", state)
    assert rc == 0
    rc, hist, _ = ixpctl("history", "--state-dir", state, "--json", json_out=True)
    assert [h["comment"] for h in hist[:2]] == ["member remove AS64501",
                                                "member add AS64501 Coral Cloud"]
    rc, out, err = ixpctl("member", "remove", "64999", "--state-dir", state)
    assert rc == 1 and "no member with AS64999" in err


def test_member_add_root_instance(ixpctl, tmp_path):
    state = str(tmp_path / "state")
    ixpctl("apply", "-c", str(EXAMPLE), "--state-dir", state)
    rc, _out, err = ixpctl("member", "add", "--state-dir", state, "--asn", "20144", "--name",
                          "L-root instance", "--port", "ixp6", "--mac", "02:00:5e:10:00:06",
                          "--ipv4", "203.0.113.60", "--root-instance", "L", "--bfd")
    assert rc == 0, err
    rc, data, _ = ixpctl("member", "show", "20144", "--state-dir", state, "--json",
                         json_out=True)
    assert data[0]["root_instance"] == {"letter": "l", "prefixes": []}
    assert data[0]["bfd"] is True and data[0]["ttl_security"] is False
    rc, _out, err = ixpctl("member", "add", "--state-dir", state, "--asn", "20145", "--name",
                          "Bad", "--port", "ixp7", "--mac", "02:00:5e:10:00:07",
                          "--root-instance", "z")
    assert rc == 1 and "members[6].root_instance.letter" in err


def test_member_list_from_file(ixpctl):
    rc, data, _ = ixpctl("member", "list", "-c", str(EXAMPLE), "--json", json_out=True)
    assert rc == 0 and len(data) == 5


def test_status_without_and_with_config(ixpctl, tmp_path):
    state = str(tmp_path / "state")
    rc, out, _ = ixpctl("status", "--state-dir", state)
    assert rc == 0 and "no configuration committed yet" in out
    ixpctl("apply", "-c", str(EXAMPLE), "--state-dir", state)
    rc, data, _ = ixpctl("status", "--state-dir", state, "--json", json_out=True)
    assert data["revision"]["id"] == 1 and len(data["members"]) == 5 and data["lab"] is None
    assert data["route_server"] == {"running": False, "sessions": []}, "the dashboard's model"
    rc, out, _ = ixpctl("status", "--state-dir", state)
    assert "IXP Example Island Internet Exchange, 5 members" in out
    assert "route server: not running" in out


def test_up_refuses_non_loopback(ixpctl, tmp_path):
    rc, _out, err = ixpctl("up", "--state-dir", str(tmp_path), "--listen", "0.0.0.0:8080")
    assert rc == 2 and "only on 127.0.0.1" in err


def test_kill_9_during_apply_loop(tmp_path):
    """Kill ixpctl apply at random moments; the store and installed files stay whole."""
    state = tmp_path / "state"
    variants = []
    for i in range(4):
        f = tmp_path / f"v{i}.yaml"
        f.write_text(EXAMPLE.read_text().replace("Reef Networks", f"Reef Networks {i}"))
        variants.append(f)
    rng = random.Random(99)
    for round_no in range(20):
        cfg = variants[round_no % 4]
        proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "apply", "-c", str(cfg),
                                 "--state-dir", str(state)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 0.9))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        store = RevisionStore(state)
        revs = store.list()
        assert store.problems == []
        assert [r.id for r in revs] == list(range(1, len(revs) + 1))
        installed = state / "etc" / "ixp.yaml"
        if installed.exists():
            text = installed.read_text()
            assert any(f"Reef Networks {i}" in text for i in range(4)), "torn ixp.yaml"
    # the store still works: a final apply goes through and matches
    final = subprocess.run([sys.executable, "-m", "appliance.cli", "apply", "-c",
                            str(variants[0]), "--state-dir", str(state)],
                           capture_output=True, text=True, timeout=60)
    assert final.returncode == 0, final.stderr
    assert "Reef Networks 0" in RevisionStore(state).latest().config


def test_hash_password_makes_a_hash_the_model_accepts(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "appliance.cli", "user", "hash-password",
                           "--stdin"], input="correct horse battery\n", capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    digest = proc.stdout.strip()
    assert digest.startswith("$argon2id$")
    cfg = EXAMPLE.read_text() + f"\nadmin_users:\n  - name: alice\n    password_hash: '{digest}'\n"
    f = tmp_path / "with-admin.yaml"
    f.write_text(cfg)
    check = subprocess.run([sys.executable, "-m", "appliance.cli", "validate", "-c", str(f)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout
    short = subprocess.run([sys.executable, "-m", "appliance.cli", "user", "hash-password",
                            "--stdin"], input="short\n", capture_output=True, text=True,
                           timeout=30)
    assert short.returncode == 1 and "at least 12" in short.stderr


def test_irr_import_feeds_the_route_server_filters(ixpctl, tmp_path):
    state = str(tmp_path / "state")
    ixpctl("apply", "-c", str(EXAMPLE), "--state-dir", state)
    rc, rows, _ = ixpctl("irr", "status", "--state-dir", state, "--json", json_out=True)
    assert rc == 0 and not any(r["present"] for r in rows)
    before = (tmp_path / "state" / "etc" / "bird" / "bird.conf").read_text()
    data = {"AS-ISLANDTEL": {"source": "USB stick", "fetched_at": "2026-11-20T00:00:00Z",
                             "asns": [64496],
                             "ipv4": [{"prefix": "31.0.0.0/16", "exact": False,
                                       "less-equal": 24}],
                             "ipv6": [{"prefix": "2a0c:1::/32", "exact": False,
                                       "less-equal": 48}]}}
    f = tmp_path / "irr.json"
    f.write_text(__import__("json").dumps(data))
    rc, out, err = ixpctl("irr", "import", str(f), "--state-dir", state)
    assert rc == 0, err
    assert "imported 1 IRR object" in out and "re-applied" in out
    after = (tmp_path / "state" / "etc" / "bird" / "bird.conf").read_text()
    assert after != before and "31.0.0.0/16" in after
    rc, rows, _ = ixpctl("irr", "status", "--state-dir", state, "--json", json_out=True)
    tel = next(r for r in rows if r["asn"] == 64496)
    assert tel["present"] and tel["ipv4"] == 1 and tel["age_seconds"] > 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    rc, out, err = ixpctl("irr", "import", str(bad), "--state-dir", state)
    assert rc == 1 and "not an IRR data file" in err


def test_status_shows_the_anycast_helper(ixpctl, tmp_path):
    import yaml

    from appliance.anycast.status import write_status

    state = tmp_path / "state"
    data = yaml.safe_load(EXAMPLE.read_text())
    data["services"]["anycast"] = [{"prefix": "192.0.2.0/24"}]
    (tmp_path / "anycast.yaml").write_text(yaml.safe_dump(data))
    rc, _out, err = ixpctl("apply", "-c", str(tmp_path / "anycast.yaml"), "--state-dir",
                           str(state))
    assert rc == 0, err
    write_status(state, [{"name": "192.0.2.0/24", "prefixes": ["192.0.2.0/24"], "state": "down",
                          "announced": False, "last_result": {"ok": False, "detail": "timeout",
                                                              "rtt_ms": 2000.0}}])
    rc, out, _ = ixpctl("status", "--state-dir", str(state))
    assert rc == 0 and "anycast 192.0.2.0/24: down, withdrawn (last check: timeout)" in out
    write_status(state, [], running=False)
    rc, data, _ = ixpctl("status", "--state-dir", str(state), "--json", json_out=True)
    assert data["anycast"]["running"] is False and data["anycast"]["checkers"] == []


def test_member_add_says_in_words_what_it_does(ixpctl, tmp_path):
    state = str(tmp_path)
    ixpctl("apply", "-c", str(EXAMPLE), "--state-dir", state)
    rc, out, err = ixpctl("member", "add", "--state-dir", state, "--asn", "64501", "--name",
                          "Kōrero Café ☕ Ñandú", "--port", "ixp6", "--mac",
                          "02:00:5e:10:00:06", "--ipv4", "203.0.113.15", "--dry-run")
    assert rc == 0, err
    words = out.split("Plan:")[0]
    assert "What this does:" in words
    assert "AS64501 Kōrero Café ☕ Ñandú joins the exchange: port ixp6" in words
    assert "locks ixp6 to the MAC address 02:00:5e:10:00:06" in words
