"""The apply helper (``ixp-apply``) as the web UI's only way to change the box: who may ask,
what it accepts, and what it answers (issue 16 item 8).

The helper runs for real on a Unix socket of a state dir of ours; the peers that must be
refused are real processes of another user (``nobody``, through ``setpriv``).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from appliance.apply_service import client, server
from appliance.box import build_pipeline
from appliance.config import revisions
from appliance.config.errors import ConfigError
from appliance.platform import netns
from appliance.platform.target import Target

ROOT = Path(__file__).resolve().parents[2]
NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def state(example_text) -> Iterator[Path]:
    """A state dir every user may enter (as the image's), with the example committed."""
    path = Path(tempfile.mkdtemp(prefix="ixp-apply-", dir="/var/tmp"))
    os.chmod(path, 0o755)
    try:
        out = build_pipeline(path).run(example_text, author="t", comment="first")
        assert out.ok, out.error
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def start_helper(state: Path, web_user: str, ns: str | None = None
                 ) -> tuple[Path, threading.Event, threading.Thread]:
    """The helper serving ``state`` (in namespace ``ns``) in a thread, as ``ixpctl run
    apply`` does."""
    stop = threading.Event()
    target = Target(state, ns)
    thread = threading.Thread(target=server.main, args=(target,),
                              kwargs={"web_user": web_user, "stop": stop}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not target.apply_socket.exists():
        assert time.monotonic() < deadline, "the helper made no socket"
        time.sleep(0.05)
    return target.apply_socket, stop, thread


@pytest.fixture
def helper(state, root_required) -> Iterator[Path]:
    """The helper on ``state``, for root and nobody (standing in for ixp-web)."""
    group = revisions.READER_GROUP
    path, stop, thread = start_helper(state, "nobody")
    try:
        yield path
    finally:
        stop.set()
        thread.join(10)
        revisions.READER_GROUP = group


def raw_exchange(path: Path, line: bytes) -> list[dict]:
    """Send one raw line, read every answer line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(60)
        s.connect(str(path))
        s.sendall(line)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return [json.loads(x) for x in data.splitlines()]


def as_nobody(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Python ``code`` run as nobody (the peer the helper must judge)."""
    argv = ["setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", sys.executable, "-c", code, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd="/")


ASK = ("import sys; from pathlib import Path; from appliance.apply_service import client\n"
       "try:\n"
       "    print(client.request(Path(sys.argv[1]), 'reapply', {'author': 'mallory'}))\n"
       "except Exception as exc:\n"
       "    print(type(exc).__name__, exc); sys.exit(3)\n")


def test_the_socket_is_for_root_and_the_web_group_only(helper) -> None:
    assert helper.stat().st_mode & 0o777 == 0o660


def test_a_peer_that_is_not_the_web_user_is_refused(state, root_required) -> None:
    """Only root and the web UI's user: another uid gets a clear refusal, nothing is done,
    even when the socket's mode would let it connect."""
    group = revisions.READER_GROUP
    path, stop, thread = start_helper(state, "ixp-no-such-user")  # only root may ask
    try:
        os.chmod(path, 0o666)  # as if the socket's mode were wrong: SO_PEERCRED still judges
        before = revisions.RevisionStore(state).latest().id
        done = as_nobody(ASK, str(path))
        assert done.returncode == 3, done.stdout + done.stderr
        assert f"uid {NOBODY.pw_uid} may not ask the apply helper" in done.stdout, done.stdout
        assert "only root and the web UI's user" in done.stdout
        assert revisions.RevisionStore(state).latest().id == before
        # root may
        assert client.request(path, "reapply", {"author": "root"})["ok"] is True
    finally:
        stop.set()
        thread.join(10)
        revisions.READER_GROUP = group


def test_the_web_user_may_ask(helper) -> None:
    # nobody stands in for ixp-web: the socket is its group's, as ixp-apply.socket makes it
    assert helper.stat().st_gid == NOBODY.pw_gid
    done = as_nobody(ASK, str(helper))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "'ok': True" in done.stdout


@pytest.mark.parametrize(("line", "words"), [
    (b"this is not json\n", "malformed request: a request line is not JSON"),
    (b"[1, 2]\n", "malformed request: a request line must be a JSON object"),
    (b'{"verb": "format_disk", "args": {}}\n',
     "malformed request: unknown verb 'format_disk'; the helper knows compare, apply"),
    (b'{"args": {}}\n', "unknown verb None"),
    (b'{"verb": "identify", "args": {"nic": "eth0", "then": "rm -rf /"}}\n',
     "identify: unknown argument(s) then; it takes nic"),
    (b'{"verb": "identify", "args": {}}\n', "identify: the argument nic is missing"),
    (b'{"verb": "identify", "args": {"nic": "../../etc"}}\n',
     "identify: nic must be a user or interface name"),
    (b'{"verb": "apply", "args": {"config": "x", "author": "a", "based_on": "3"}}\n',
     "apply: based_on has the wrong type (str)"),
    (b'{"verb": "apply", "args": {"config": "x", "author": "a", "dry_run": 1}}\n',
     "apply: dry_run has the wrong type (int)"),
    (b'{"verb": "reapply", "args": {"author": "a\\nforged line"}}\n',
     "reapply: author must be a user or interface name"),
    (b'{"verb": "restore_backup", "args": {"upload": "../../../etc/shadow"}}\n',
     "restore_backup: upload must be an upload token"),
    (b'{"verb": "reboot", "args": [], "x": 1}\n', "reboot: unexpected fields ['x']"),
    (b'{"verb": "nft_read", "args": {"args": ["flush", "ruleset"]}}\n',
     "nft_read: args must be one of: list table F T"),
    (b'{"verb": "nft_read", "args": {"args": ["list", "table", "inet", "x;reboot"]}}\n',
     "nft_read: args names a family or table that is not nft's or not a plain name"),
    (b'{"verb": "install_data", "args": {"kind": "kernel", "upload": "abcdefgh12"}}\n',
     "install_data: kind must be one of irr, rpki, rootzone, peeringdb"),
    (b'{"verb": "probe", "args": {"bridge": "br-ixp", "src_mac": "02:00:00:00:00:01", '
     b'"sources": {"4": "203.0.113.1"}, "targets": ["203.0.113.0/24"]}}\n',
     "probe: targets must be a list of 1 to 64 IPv4 or IPv6 addresses"),
    (b'{"verb": "probe", "args": {"bridge": "br-ixp", "src_mac": "02:00:00:00:00:01", '
     b'"sources": {"4": "203.0.113.1"}, "targets": ' + str(["203.0.113.9"] * 65).replace(
         "'", '"').encode() + b'}}\n',
     "probe: targets must be a list of 1 to 64 IPv4 or IPv6 addresses"),
    (b'{"verb": "probe", "args": {"bridge": "br-ixp", "src_mac": "ff;reboot", '
     b'"sources": {"4": "203.0.113.1"}, "targets": ["203.0.113.9"]}}\n',
     "probe: src_mac must be a MAC address"),
    (b'{"verb": "probe", "args": {"bridge": "br-ixp", "src_mac": "02:00:00:00:00:01", '
     b'"sources": {"5": "x"}, "targets": ["203.0.113.9"], "timeout": 1}}\n',
     'probe: sources must map "4" and/or "6"'),
    (b'{"verb": "probe", "args": {"bridge": "br-ixp", "src_mac": "02:00:00:00:00:01", '
     b'"sources": {"4": "203.0.113.1"}, "targets": ["203.0.113.9"], "timeout": 600}}\n',
     "probe: timeout must be a number of seconds above 0, at most 5"),
    (b'{"verb": "journal", "args": {"unit": "sshd"}}\n',
     "journal: unit must be one of all, ixp-web, ixp-apply"),
    (b'{"verb": "journal", "args": {"unit": "ixp-web; cat /etc/shadow"}}\n',
     "journal: unit must be one of all, ixp-web"),
    (b'{"verb": "journal", "args": {}}\n', "journal: the argument unit is missing"),
    (b'{"verb": "journal", "args": {"unit": "all", "lines": 0}}\n',
     "journal: lines must be a number of lines from 1 to 5000"),
    (b'{"verb": "journal", "args": {"unit": "all", "lines": 5001}}\n',
     "journal: lines must be a number of lines from 1 to 5000"),
    (b'{"verb": "journal", "args": {"unit": "all", "lines": "500"}}\n',
     "journal: lines has the wrong type (str)"),
    (b'{"verb": "journal", "args": {"unit": "all", "lines": true}}\n',
     "journal: lines has the wrong type (bool)"),
    (b'{"verb": "journal", "args": {"unit": "all", "priority": "3 --file=/etc/shadow"}}\n',
     "journal: priority must be one of emerg, alert, crit, err, warning"),
    (b'{"verb": "journal", "args": {"unit": "all", "argv": ["--file", "/etc/shadow"]}}\n',
     "journal: unknown argument(s) argv; it takes unit, lines, priority"),
])
def test_malformed_requests_and_unknown_verbs_get_a_clear_error(helper, line, words) -> None:
    answers = raw_exchange(helper, line)
    assert len(answers) == 1 and answers[0]["ok"] is False, answers
    assert words in answers[0]["error"], answers[0]["error"]


def test_an_upload_that_is_not_there_is_refused(helper) -> None:
    with pytest.raises(client.HelperError, match=r"no upload abcdefgh12 in .*upload the file"):
        client.request(helper, "restore_backup", {"upload": "abcdefgh12"})


def test_the_helper_validates_the_configuration_itself(helper, state, example_text) -> None:
    """The web's word is not taken for the configuration: a bad one is refused by the model
    in the helper, with the field and the problem."""
    data = yaml.safe_load(example_text)
    data["peering_lan"]["ipv4_prefix"] = "203.0.113.1/24"
    bad = yaml.safe_dump(data)
    with pytest.raises(ConfigError) as caught:
        client.request(helper, "compare", {"config": bad, "author": "alice"})
    assert caught.value.issues[0].path == "peering_lan.ipv4_prefix"
    pipe = client.HelperPipeline(state, helper)
    out = pipe.run(bad, author="alice")
    assert not out.ok and out.stage == "validate"
    assert out.issues[0].path == "peering_lan.ipv4_prefix"
    assert revisions.RevisionStore(state).latest().id == 1


def test_apply_streams_each_stage_and_commits(helper, state, example_text) -> None:
    """The same call shape as in-process: the stages arrive as they run, the revision is
    committed by the helper with the web's author, readable back here."""
    data = yaml.safe_load(example_text)
    data["identity"]["city"] = "Apia"
    seen: list[tuple[str, str]] = []
    pipe = client.HelperPipeline(state, helper, progress=lambda s, st, _m: seen.append((s, st)))
    cmp = pipe.compare(yaml.safe_dump(data), author="alice")
    assert cmp.outcome.ok and cmp.rendered and cmp.head == 1
    out = pipe.run(yaml.safe_dump(data), author="alice", comment="the city", based_on=1,
                   verified=cmp.rendered)
    assert out.ok, out.error
    assert out.revision is not None and out.revision.id == 2 and out.revision.author == "alice"
    assert ("verify", "ok") in seen and ("commit", "ok") in seen
    assert seen.index(("validate", "running")) < seen.index(("commit", "ok"))
    assert out.as_dict()["revision"]["comment"] == "the city"


def test_an_unreachable_helper_is_said_so(state) -> None:
    pipe = client.HelperPipeline(state, state / "run" / "no-such.sock")
    out = pipe.run("x: 1", author="alice")
    # nothing was changed, as when another apply holds the lock: the API says 409, try again
    assert not out.ok and out.stage == "lock" and "the apply helper does not answer" in out.error
    assert pipe.compare("x: 1", author="alice").outcome.stage == "lock"


def test_the_status_pages_read_counters_through_the_helper(state, netlab) -> None:
    """nft needs CAP_NET_ADMIN: a reader the web sets asks the helper (in its namespace),
    with nft's own answer."""
    ns = netlab.namespace("ixp")  # removed by the test's lab after the test
    group = revisions.READER_GROUP
    path, stop, thread = start_helper(state, "nobody", ns)
    try:
        netns.run(ns, ["nft", "add table bridge ixp_counted; add counter bridge ixp_counted "
                             "seen"])
        read = client.Privileged(state, path).nft_reader()
        got = read(None, ["list", "counters", "table", "bridge", "ixp_counted"])
        assert got.returncode == 0 and "counter seen {" in got.stdout, got
        gone = read(None, ["list", "counters", "table", "bridge", "ixp_no_such"])
        assert gone.returncode != 0 and "No such file or directory" in gone.stderr, gone
    finally:
        stop.set()
        thread.join(10)
        revisions.READER_GROUP = group


def test_the_onboarding_asks_on_the_lan_through_the_helper(state, netlab) -> None:
    """A packet socket needs CAP_NET_RAW, which the web UI has not: the asker it sets sends
    the ARP and ND questions through the helper, on the helper's bridge, and gets who
    answered; an interface the helper has not is a clear error."""
    box = netlab.namespace("ixp")  # the test's lab removes it, and the member's, afterwards
    netns.run(box, ["ip", "link", "add", "br-ixp", "type", "bridge"])
    netlab.add_host("m1", into=box, port="p1", mac="02:00:5e:10:00:09",
                    addrs=["203.0.113.9/24"], bridge="br-ixp", ifname="m1")
    netns.run(box, ["ip", "link", "set", "br-ixp", "address", "02:00:5e:00:00:01", "up"])
    netns.run(box, ["ip", "addr", "add", "203.0.113.1/24", "dev", "br-ixp"])
    group = revisions.READER_GROUP
    path = stop = thread = None
    try:
        path, stop, thread = start_helper(state, "nobody", box)
        ask = client.Privileged(state, path).prober()
        got = ask(None, "br-ixp", "02:00:5e:00:00:01", {4: "203.0.113.1"},
                  ["203.0.113.9", "203.0.113.10"], timeout=2.0)
        assert got == {"203.0.113.9": {"02:00:5e:10:00:09"}, "203.0.113.10": set()}, got
        with pytest.raises(OSError, match="cannot ask on br-nothere"):
            ask(None, "br-nothere", "02:00:5e:00:00:01", {4: "203.0.113.1"}, ["203.0.113.9"])
    finally:
        if stop is not None:
            stop.set()
            thread.join(10)
        revisions.READER_GROUP = group


def test_a_backup_is_left_for_the_asking_user_only(helper, state) -> None:
    data = client.Privileged(state, helper).backup(None)
    assert len(data) > 100
    assert not list((state / "web" / "uploads").iterdir()), "the download was left behind"


def test_the_web_decides_once_where_it_applies(tmp_path, monkeypatch, root_required) -> None:
    """As root off the image the web applies in-process; told of a helper (or not root), every
    page's pipeline is the helper's. One decision, in create_app."""
    from appliance.platform import nft
    from appliance.web import applying, create_app

    app = create_app(tmp_path)
    assert app.config["APPLY_SOCKET"] is None
    with app.app_context():
        assert not isinstance(applying.pipeline(), client.HelperPipeline)
    monkeypatch.setenv(client.ENV_SOCKET, str(tmp_path / "apply.sock"))
    try:
        app = create_app(tmp_path)
        assert app.config["APPLY_SOCKET"] == tmp_path / "apply.sock"
        with app.app_context():
            pipe = applying.pipeline()
            assert isinstance(pipe, client.HelperPipeline)
            assert pipe.socket_path == tmp_path / "apply.sock"
            assert applying.store()._pipeline().socket_path == tmp_path / "apply.sock"
        # the counters too: read through the helper (none answers here, so nft says so)
        got = nft.read(None, ["list", "counters", "table", "bridge", "ixp_x"])
        assert got.returncode == 1 and "the apply helper does not answer" in got.stderr
    finally:
        monkeypatch.delenv(client.ENV_SOCKET)
        create_app(tmp_path)  # back to in-process for the tests after this one
    assert nft.read.__module__ == "appliance.platform.nft" and nft._reader is None


def test_the_helper_exits_when_idle_and_not_while_it_works(state, root_required) -> None:
    """Socket-activated it holds no memory between changes: it ends after its idle time
    (60 s on the box, 2 s here), never in the middle of a request."""
    group = revisions.READER_GROUP
    target = Target(state)
    thread = threading.Thread(target=server.main, args=(target,),
                              kwargs={"web_user": "nobody", "idle": 2.0}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not target.apply_socket.exists():
            assert time.monotonic() < deadline, "the helper made no socket"
            time.sleep(0.05)
        # a request is answered; the idle time counts from its end
        out = client.request(target.apply_socket, "reapply", {"author": "root"})
        assert out["ok"] is True
        thread.join(20)
        assert not thread.is_alive(), "the helper did not exit when idle"
        assert not target.apply_socket.exists(), "the helper left its socket"
    finally:
        revisions.READER_GROUP = group


def test_the_alert_and_report_test_messages_go_out_through_the_helper(
        state, example_text, monkeypatch, root_required) -> None:
    """The Alerts page's test message and a member's test report read the mail and webhook
    settings (``alerts.json``, the collector's on the image) and write the delivery log:
    the helper sends them for the web, and says when there is no such channel."""
    from tests.alerts.receivers import HttpSink, SmtpServer

    with HttpSink() as sink, SmtpServer(state) as smtp:
        monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert))  # the test relay's certificate
        data = yaml.safe_load(example_text)
        data["alerts"] = {"webhooks": [{"url": sink.url}],
                          "email": {"enabled": True, "relay": "127.0.0.1", "port": smtp.port,
                                    "username": smtp.user, "smtp_password": smtp.password,
                                    "sender": "ixp@ix.example.net",
                                    "recipients": ["ops@ix.example.net"]}}
        out = build_pipeline(state).run(yaml.safe_dump(data), author="t", comment="alerts")
        assert out.ok, out.error
        group = revisions.READER_GROUP
        path, stop, thread = start_helper(state, "nobody")
        try:
            priv = client.Privileged(state, path)
            assert priv.alert_test("webhook:0") is None
            assert sink.event.wait(10) and json.loads(sink.requests[-1][2])["kind"] == "test"
            with pytest.raises(KeyError):
                priv.alert_test("webhook:7")
            with pytest.raises(client.HelperError, match="channel"):
                client.request(path, "alert_test", {"channel": "no such; thing"})
            # the member's report, written by ``ixpctl report mail --test`` as root
            asn = data["members"][0]["asn"]
            report = priv.report_test(None, None, asn)
            assert report["error"] is None and report["to"] == ["ops@ix.example.net"], report
            assert smtp.box.event.wait(10)
            assert smtp.box.messages[-1][1] == ["ops@ix.example.net"]
            assert f"AS{asn}".encode() in smtp.box.messages[-1][2]
            with pytest.raises(client.HelperError, match="AS number"):
                client.request(path, "report_test", {"asn": 0})
        finally:
            stop.set()
            thread.join(10)
            revisions.READER_GROUP = group


def test_an_irr_fetch_goes_through_the_helper(state, monkeypatch, root_required) -> None:
    """bgpq4 writes the route server's IRR cache (root's): the helper runs the fetch, with
    the fixture bgpq4 standing in for the IRR servers."""
    from appliance.route_server.concern import IRR_CACHE
    from appliance.route_server.irr_fetch import load_cache

    fixtures = ROOT / "tests" / "fixtures" / "refresh"
    data = state / "bgpq4-data"
    shutil.copytree(fixtures / "irr", data)
    monkeypatch.setenv("PATH", f"{fixtures / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_BGPQ4_DATA", str(data))
    group = revisions.READER_GROUP
    path, stop, thread = start_helper(state, "nobody")
    try:
        failed = client.Privileged(state, path).irr_fetch(None)
        cache = load_cache(state / IRR_CACHE)
        assert cache.entries and not failed, f"fetched {cache.entries}; failed: {failed}"
        assert "AS-ISLANDTEL" in (data / "calls.log").read_text()
        # offline: every object fails, and says why
        (data / "unreachable").touch()
        failed = client.Privileged(state, path).irr_fetch(None)
        assert failed and all("unreachable" in why for why in failed.values()), failed
    finally:
        stop.set()
        thread.join(10)
        revisions.READER_GROUP = group


def test_a_restore_through_the_helper_leaves_the_web_ui_able_to_read_it(
        state, root_required) -> None:
    """The first-boot "Restore from a backup": the helper puts the backup in place as root,
    then hands the revisions to the web UI's group and its API tokens to it, as
    ixp-web.service's root steps do (else the web saw no configuration after the restore)."""
    from appliance.backup.restore import create
    from appliance.web.api import tokens

    tokens.create(state, "lab", "alice")
    raw = create(state, None)
    fresh = Path(tempfile.mkdtemp(prefix="ixp-apply-fresh-", dir="/var/tmp"))
    os.chmod(fresh, 0o755)
    group = revisions.READER_GROUP
    path, stop, thread = start_helper(fresh, "nobody")
    try:
        done, outcome = client.Privileged(fresh, path).restore_backup(raw, None)
        assert done.revisions >= 1 and outcome.ok, outcome
        folder = fresh / "revisions"
        assert folder.stat().st_mode & 0o777 == 0o755
        for rev in folder.glob("*.json"):
            st = rev.stat()
            assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, NOBODY.pw_gid, 0o640), rev
        assert (fresh / "web" / "api-tokens.json").stat().st_uid == NOBODY.pw_uid
    finally:
        stop.set()
        thread.join(10)
        revisions.READER_GROUP = group
        shutil.rmtree(fresh, ignore_errors=True)


def test_the_journal_is_read_only_on_the_image(helper, state) -> None:
    """A lab's or a developer machine's helper reads no journal: the host's is not the box's;
    the web reads none either without asking (``Privileged.journal`` is None there)."""
    answers = raw_exchange(helper, b'{"verb": "journal", "args": {"unit": "ixp-web"}}\n')
    assert answers[0]["ok"] is False, answers
    assert "the system journal here is not the box's" in answers[0]["error"]
    assert client.Privileged(state, helper).journal("ixp-web", 10, None) is None
    assert client.Privileged(state, None).journal("ixp-web", 10, None) is None


def test_the_logs_page_reads_the_journal_through_the_helper(helper, state,
                                                            monkeypatch) -> None:
    """On the image the helper runs journalctl with the argv ``journal.argv`` builds (the
    lines come back as they are, tags and all: the page escapes them)."""
    from appliance.platform import journal

    ran: list[list[str]] = []

    def fake_read(unit: str, lines: int = 500, priority: str | None = None) -> journal.Lines:
        cmd = journal.argv(unit, lines, priority)
        ran.append(cmd)
        return journal.Lines("2026-12-02T10:00:00+0000 box ixpctl[7]: <script>é\n", cmd)

    monkeypatch.setattr(journal, "available", lambda target: target.netns is None)
    monkeypatch.setattr(journal, "read", fake_read)
    got = client.Privileged(state, helper).journal("ixp-bird", 20, "warning")
    assert got is not None and got.text.endswith("<script>é\n") and not got.truncated
    assert ran == [["journalctl", "--no-pager", "-o", "short-iso", "-n", "20",
                    "-u", "ixp-bird.service", "-u", "ixp-bird.path", "-p", "warning"]]
    assert got.argv == ran[0]
    monkeypatch.setattr(journal, "read", lambda *a: (_ for _ in ()).throw(
        journal.JournalError("journalctl failed (1): no journal files")))
    with pytest.raises(client.HelperError, match="no journal files"):
        client.Privileged(state, helper).journal("all", 500, None)
