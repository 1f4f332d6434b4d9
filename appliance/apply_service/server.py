"""``ixp-apply``: the root service that applies what the web UI asks, and nothing else.

It listens on a Unix socket (``Target.apply_socket``); on the image systemd holds the socket
(``ixp-apply.socket``, root:ixp-web 0660) and starts the helper at the first request, and the
helper exits after an idle minute, so it holds no memory between changes. Every connection is
checked with ``SO_PEERCRED``: only root and the web UI's user may ask. Every request is checked
by ``protocol.check_request`` (a fixed set of verbs and typed arguments), and every
configuration goes through the pipeline, which validates it again: the helper trusts the web
for who the admin is (the author it records), nothing else.
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import pwd
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

from appliance.apply_service import protocol
from appliance.config.errors import ConfigError
from appliance.platform.target import Target

log = logging.getLogger(__name__)

WEB_USER = "ixp-web"
IDLE_SECONDS = 60.0
# systemd's socket activation hands the listening socket over as fd 3 (sd_listen_fds).
LISTEN_FDS_START = 3
IXPCTL = "/opt/ixp-appliance/venv/bin/ixpctl"
FIRMWARE_UNIT = "ixp-firmware-update"


class Refused(Exception):
    """A request the helper will not do; the message says why and what to do."""


def allowed_uids(web_user: str) -> set[int]:
    """Root, and the web UI's user if this system has it."""
    uids = {0}
    with contextlib.suppress(KeyError):
        uids.add(pwd.getpwnam(web_user).pw_uid)
    return uids


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of ``conn`` (the kernel's word for it)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


class ApplyHelper:
    """The verbs, each doing one privileged thing for the web UI on one target."""

    def __init__(self, target: Target, web_user: str = WEB_USER) -> None:
        """``target``: the state dir and namespace this helper applies to (never the web's);
        ``web_user``: who the web UI runs as (what a restore hands back to it)."""
        self.target = target
        self.web_user = web_user

    def _hand_back(self) -> None:
        """After a restore, as ixp-web.service's root steps leave them: the revisions the web
        UI's group's to read, its API tokens its own (the restore put root's copies there)."""
        from appliance.config import revisions

        try:
            entry = pwd.getpwnam(self.web_user)
        except KeyError:
            return  # no such user here (a test's helper for root only)
        try:
            gid = grp.getgrnam(revisions.READER_GROUP).gr_gid
        except KeyError:
            gid = entry.pw_gid
        folder = self.target.state_dir / "revisions"
        if folder.is_dir():
            os.chown(folder, 0, gid)
            os.chmod(folder, 0o755)  # which revisions there are is no secret
            for path in folder.iterdir():
                if path.is_file():
                    os.chown(path, 0, gid)
                    os.chmod(path, 0o640)
        for path in (self.target.state_dir / "web", self.target.state_dir / "web" /
                     "api-tokens.json"):
            if path.exists():
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def _pipeline(self, progress: Any = None) -> Any:
        from appliance.box import build_pipeline  # heavy: only while a request runs

        return build_pipeline(self.target, progress=progress)

    def handle(self, verb: str, args: dict[str, Any], out: BinaryIO, uid: int = 0) -> Any:
        """Do ``verb`` for ``uid``; returns the result (JSON-able), may stream progress to
        ``out``."""
        if verb == "backup_create":
            args = {**args, "peer_uid": uid}
        return getattr(self, f"verb_{verb}")(out=out, **args)

    def verb_compare(self, *, config: str, author: str, out: BinaryIO) -> dict[str, Any]:
        """Render, verify with the real tools, plan and diff (nothing changes)."""
        cmp = self._pipeline().compare(config, author=author)
        return {"outcome": cmp.outcome.as_dict(), "diff": cmp.diff, "rendered": cmp.rendered,
                "head": cmp.head}

    def verb_apply(self, *, config: str, author: str, out: BinaryIO, comment: str = "",
                   based_on: int | None = None, verified: str = "", dry_run: bool = False,
                   record: bool = False) -> dict[str, Any]:
        """The whole pipeline, each stage's progress sent back as it happens."""
        lock = threading.Lock()

        def progress(stage: str, state: str, message: str) -> None:
            with lock:
                protocol.send(out, {"progress": [stage, state, message]})
        from appliance.pipeline.run import Pipeline

        pipe: Pipeline = self._pipeline(progress)
        try:
            cfg = pipe.validate(config)
        except ConfigError as exc:
            return _refused_config(exc)
        return pipe.run(cfg, author=author, comment=comment, dry_run=dry_run,
                        based_on=based_on, verified=verified, record=record).as_dict()

    def verb_reapply(self, *, author: str, out: BinaryIO) -> dict[str, Any]:
        """Apply the committed revision again."""
        return self._pipeline().reapply_latest(author=author).as_dict()

    def _upload(self, token: str) -> Path:
        path = self.target.web_uploads / token
        if not path.is_file() or path.is_symlink():
            raise Refused(f"no upload {token} in {self.target.web_uploads}: upload the file "
                          "again")
        return path

    def verb_restore_backup(self, *, upload: str, out: BinaryIO,
                            passphrase: str | None = None) -> dict[str, Any]:
        """Restore a backup the web UI received (a box not set up yet), then apply it."""
        from appliance.backup.archive import BackupError
        from appliance.backup.restore import restore
        from appliance.util.lock import LockBusy

        path = self._upload(upload)
        try:
            raw = path.read_bytes()
        finally:
            path.unlink(missing_ok=True)
        try:
            done = restore(self.target.state_dir, raw, passphrase)
        except (BackupError, LockBusy) as exc:
            raise Refused(str(exc)) from None
        self._hand_back()
        outcome = self._pipeline().reapply_latest(author="restore")
        return {"done": asdict(done), "outcome": outcome.as_dict()}

    def verb_backup_create(self, *, out: BinaryIO, peer_uid: int,
                           passphrase: str | None = None) -> dict[str, Any]:
        """A backup of the whole state (it holds root's secrets), left in the web's uploads
        folder for the asking user only; its token."""

        from appliance.backup.archive import BackupError
        from appliance.backup.restore import create
        from appliance.util.lock import LockBusy

        try:
            data = create(self.target.state_dir, passphrase)
        except (BackupError, LockBusy) as exc:
            raise Refused(str(exc)) from None
        token = protocol.put_upload(self.target.web_uploads, data)
        os.chown(self.target.web_uploads / token, peer_uid, -1)
        return {"download": token}

    def verb_identify(self, *, nic: str, out: BinaryIO) -> dict[str, Any]:
        """Blink a NIC's port light (ethtool)."""
        from appliance.bridge.identify import SECONDS, IdentifyError, identify

        try:
            identify(nic, self.target)
        except (IdentifyError, OSError) as exc:
            raise Refused(str(exc)) from None
        return {"seconds": SECONDS}

    def verb_firmware_install(self, *, token: str, out: BinaryIO,
                              allow_downgrade: bool = False,
                              drain_seconds: float = 120) -> dict[str, Any]:
        """Check the uploaded bundle again, then start the update as a unit of its own."""
        from appliance.firmware import records, update
        from appliance.firmware.bundle import BundleRefused

        path = records.folder(self.target.state_dir) / records.INCOMING / f"{token}.raucb"
        if not path.is_file() or path.is_symlink():
            raise Refused("that upload is gone: upload the bundle again")
        try:
            update.check(path, self.target.state_dir, allow_downgrade=allow_downgrade,
                         payload=False)
        except BundleRefused as exc:
            raise Refused(f"the update was refused; nothing was changed: {exc}") from None
        argv = ["systemd-run", f"--unit={FIRMWARE_UNIT}-{token[:8]}", "--collect", "--quiet",
                IXPCTL, "system", "update", str(path), "--state-dir",
                str(self.target.state_dir), "--drain-seconds", f"{drain_seconds:g}",
                "--payload-checked"]
        if allow_downgrade:
            argv.append("--allow-downgrade")
        return _start(argv)

    def verb_reboot(self, *, out: BinaryIO) -> dict[str, Any]:
        """Drain the route server, then reboot (a unit of its own)."""
        from appliance.route_server import drain

        return _start(["systemd-run", "--unit=ixp-reboot", "--collect", "--quiet", IXPCTL,
                       "system", "reboot", "--state-dir", str(self.target.state_dir),
                       "--drain-seconds", str(drain.DEFAULT_SECONDS)])


    def verb_probe(self, *, bridge: str, src_mac: str, sources: dict[str, str],
                   targets: list[str], out: BinaryIO, timeout: float = 1.0) -> dict[str, Any]:
        """Who answers ARP/ND for ``targets`` on the peering LAN's bridge (onboarding)."""
        from appliance.platform import probe

        try:
            found = probe.who_answers(self.target.netns, bridge, src_mac,
                                      {int(k): v for k, v in sources.items()}, targets,
                                      timeout=timeout)
        except OSError as exc:
            raise Refused(f"cannot ask on {bridge}: {exc.strerror or exc}") from None
        return {"answers": {addr: sorted(macs) for addr, macs in found.items()}}

    def verb_nft_read(self, *, args: list[str], out: BinaryIO) -> dict[str, Any]:
        """A read-only nft listing (the status pages' counters) in the target's namespace."""
        from appliance.platform import nft

        proc = nft.run(self.target.netns, list(args))
        return {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}

    def verb_confirm_trial(self, *, out: BinaryIO, reached_at: str | None = None
                           ) -> dict[str, Any]:
        """Keep the management addresses on trial (the web says where the request came in)."""
        from appliance.management import trial

        try:
            kept = trial.confirm(self.target.state_dir, reached_at)
        except trial.TrialError as exc:
            raise Refused(str(exc)) from None
        return {"kept": kept.new.describe()}

    def verb_alert_test(self, *, channel: str, out: BinaryIO) -> dict[str, Any]:
        """Send the test message on one alert channel (its settings and log are root's and
        the collector's)."""
        from appliance.alerts.engine import send_test

        try:
            return {"problem": send_test(self.target.state_dir, channel), "missing": False}
        except KeyError:
            return {"problem": None, "missing": True}

    def verb_report_test(self, *, asn: int, out: BinaryIO) -> dict[str, Any]:
        """Send a member's monthly report, marked TEST, to the alert recipients: what
        ``ixpctl report mail --test ASN`` does (the CLI composes it in the box's language)."""
        import json

        # the image's ixpctl, else this environment's (a lab, the tests)
        ixpctl = IXPCTL if Path(IXPCTL).exists() else str(Path(sys.executable).parent / "ixpctl")
        argv = [ixpctl, "report", "mail", "--state-dir", str(self.target.state_dir),
                "--test", str(asn), "--json"]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        try:
            reports = json.loads(res.stdout)["reports"]
        except (ValueError, KeyError, TypeError):
            why = (res.stderr.strip().splitlines() or [f"exit code {res.returncode}"])[-1]
            raise Refused(why.removeprefix("error: ")) from None
        return {"report": reports[0] if reports else None}

    def verb_irr_fetch(self, *, out: BinaryIO) -> dict[str, Any]:
        """Fetch every member's IRR object with bgpq4 into the route server's cache (the web
        re-applies afterwards, as after an upload)."""
        from appliance.config.committed import committed_config
        from appliance.route_server.concern import IRR_CACHE
        from appliance.route_server.irr_fetch import refresh_members

        cfg = committed_config(self.target.state_dir)
        if cfg is None:
            raise Refused("no configuration is committed yet: there is nothing to fetch")
        return {"failed": refresh_members(cfg, self.target.state_dir / IRR_CACHE).failed}

    def verb_journal(self, *, unit: str, out: BinaryIO, lines: int = 500,
                     priority: str | None = None) -> dict[str, Any]:
        """The newest lines of the journal of one of the box's units (or all of them), for
        the web's Logs page; only on the image, whose journal is the box's."""
        from appliance.platform import journal

        if not journal.available(self.target):
            raise Refused("the system journal here is not the box's (this helper serves a lab "
                          "or a developer machine's state dir): its logs are not read")
        try:
            got = journal.read(unit, lines, priority)
        except journal.JournalError as exc:
            raise Refused(str(exc)) from None
        return {"text": got.text, "argv": got.argv, "truncated": got.truncated}

    def verb_install_data(self, *, kind: str, upload: str, out: BinaryIO) -> dict[str, Any]:
        """Install an offline data set the web UI checked (checked here again), under the
        state lock, and make its daemon follow (stayrtr, unbound)."""
        import json

        from appliance.util.atomic import atomic_write
        from appliance.util.lock import LockBusy, state_lock

        path = self._upload(upload)
        try:
            raw = path.read_bytes()
        finally:
            path.unlink(missing_ok=True)
        state = self.target.state_dir
        try:
            with state_lock(state, timeout=10.0):
                if kind == "irr":
                    from appliance.route_server.concern import IRR_CACHE
                    from appliance.route_server.irr import IrrData, parse_irr_cache
                    from appliance.route_server.irr_fetch import load_cache, save_cache

                    try:
                        imported = parse_irr_cache(json.loads(raw.decode("utf-8")))
                    except (UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
                        raise Refused(f"not an IRR data file ({exc})") from None
                    try:
                        old = load_cache(state / IRR_CACHE).entries
                    except (OSError, ValueError):
                        old = {}
                    save_cache(state / IRR_CACHE, IrrData({**old, **imported.entries}))
                    return {"objects": len(imported.entries)}
                if kind == "rpki":
                    import tempfile

                    from appliance.route_server import rpki_service

                    with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
                        tmp.write(raw)
                        tmp.flush()
                        try:
                            rpki_service.import_vrps(state, Path(tmp.name))
                        except (UnicodeDecodeError, ValueError) as exc:
                            raise Refused(f"not a VRP file ({exc})") from None
                    return {"synced": rpki_service.sync(self.target)}
                if kind == "rootzone":
                    from appliance.resolver import daemon as dns_daemon
                    from appliance.resolver.paths import UnboundPaths
                    from appliance.resolver.render import ROOT_ZONE_FILE

                    paths = UnboundPaths(state)
                    atomic_write(paths.data_dir / ROOT_ZONE_FILE, raw, 0o644)
                    if dns_daemon.running_pid(paths) is None:
                        return {"reload": "not running"}
                    try:
                        dns_daemon.reload(paths)
                    except dns_daemon.UnboundError as exc:
                        return {"reload": "failed", "why": str(exc)}
                    return {"reload": "done"}
                from appliance.route_server import peeringdb

                try:
                    json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    raise Refused(f"not JSON ({exc})") from None
                atomic_write(peeringdb.dump_path(state), raw, 0o644)
                return {}
        except LockBusy as exc:
            raise Refused(str(exc)) from None


def _start(argv: list[str]) -> dict[str, Any]:
    if shutil.which(argv[0]) is None:
        raise Refused(f"{argv[0]} is not on this system (only the image runs updates)")
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if res.returncode != 0:
        raise Refused(res.stderr.strip() or f"{argv[0]} failed ({res.returncode})")
    return {"started": True}


def _refused_config(exc: ConfigError) -> dict[str, Any]:
    return {"ok": False, "stage": "validate", "message": "", "issues":
            [i.as_dict() for i in exc.issues], "changes": [], "revision": None,
            "rolled_back": False, "rebased_on": None,
            "error": "the configuration has problems; nothing was changed"}


class Server:
    """Accepts connections, checks each peer and request, answers, exits when idle."""

    def __init__(self, helper: ApplyHelper, uids: set[int], idle: float | None) -> None:
        """``uids`` may ask; ``idle``: exit after that many seconds without a request."""
        self.helper = helper
        self.uids = uids
        self.idle = idle
        self._active = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def serve(self, listener: socket.socket, stop: threading.Event | None = None) -> None:
        """Serve until ``stop`` is set or the helper has been idle long enough."""
        listener.settimeout(1.0)
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                with self._lock:
                    idle = self._active == 0 and time.monotonic() - self._last
                if self.idle is not None and idle and idle >= self.idle:
                    log.info("idle for %.0f s: exiting (the socket starts it again)", idle)
                    return
                continue
            with self._lock:
                self._active += 1
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        try:
            with conn, conn.makefile("rwb") as stream:
                self._answer(conn, stream)
        except (BrokenPipeError, ConnectionResetError):
            log.warning("the client went away before the answer")
        finally:
            with self._lock:
                self._active -= 1
                self._last = time.monotonic()

    def _answer(self, conn: socket.socket, stream: BinaryIO) -> None:
        uid = peer_uid(conn)
        if uid not in self.uids:
            protocol.send(stream, {"ok": False, "error": (
                f"uid {uid} may not ask the apply helper: only root and the web UI's user "
                f"({WEB_USER}) may")})
            log.warning("refused a connection from uid %s", uid)
            return
        try:
            message = protocol.receive(stream)
            if message is None:
                return
            verb, args = protocol.check_request(message)
        except protocol.ProtocolError as exc:
            protocol.send(stream, {"ok": False, "error": f"malformed request: {exc}"})
            return
        log.info("%s from uid %s", verb, uid)
        try:
            result = self.helper.handle(verb, args, stream, uid)
        except Refused as exc:
            protocol.send(stream, {"ok": False, "error": str(exc)})
            return
        except ConfigError as exc:
            protocol.send(stream, {"ok": False, "error": "the configuration has problems",
                                   "issues": [i.as_dict() for i in exc.issues]})
            return
        except Exception as exc:  # the web must always learn how it ended
            log.exception("%s failed", verb)
            protocol.send(stream, {"ok": False, "error": f"internal error in {verb}: {exc}"})
            return
        protocol.send(stream, {"ok": True, "result": result})


def listening_socket(path: Path, gid: int = 0) -> tuple[socket.socket, bool]:
    """The socket systemd handed over, else one bound at ``path`` (0660 root:``gid``, as
    ``ixp-apply.socket`` makes it); True when it came from systemd."""
    if os.environ.get("LISTEN_PID") == str(os.getpid()) and \
            int(os.environ.get("LISTEN_FDS", "0")) >= 1:
        return socket.socket(fileno=LISTEN_FDS_START), True
    path.parent.mkdir(parents=True, exist_ok=True)
    # bound under a temporary name and moved into place once its mode and group are set:
    # nobody ever finds it there with the wrong ones, or not yet listening
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(tmp))
    os.chmod(tmp, 0o660)
    os.chown(tmp, 0, gid)
    sock.listen(16)
    os.replace(tmp, path)
    return sock, False


def main(target: Target, *, web_user: str = WEB_USER, idle: float | None = None,
         stop: threading.Event | None = None) -> int:
    """Run the helper on ``target`` until idle (socket-activated) or stopped."""
    from appliance.config import revisions

    gid = 0
    with contextlib.suppress(KeyError):  # the revisions it commits: readable by the web
        gid = pwd.getpwnam(web_user).pw_gid
        revisions.READER_GROUP = grp.getgrgid(gid).gr_name
    listener, activated = listening_socket(target.apply_socket, gid)
    if idle is None and activated:
        idle = IDLE_SECONDS
    server = Server(ApplyHelper(target, web_user), allowed_uids(web_user), idle)
    print(f"ixp-apply listening on {target.apply_socket} for uids "
          f"{sorted(server.uids)}", flush=True)
    try:
        server.serve(listener, stop)
    finally:
        listener.close()
        if not activated:
            target.apply_socket.unlink(missing_ok=True)
    return 0
