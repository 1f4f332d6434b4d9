"""The one way the web UI applies: in-process where it may (lab, tests, as root), else through
the apply helper (the image, or any web not running as root), with the same call shape.

``pipeline()`` gives a ``Pipeline``: the box's own, or a ``HelperPipeline`` whose compare,
run and re-apply are the helper's verbs (reads such as the revision store and a rebase stay
in-process: the committed revisions are readable by the web's group). ``Privileged`` does the
few other root operations (backup restore, NIC identify, firmware install, reboot, the
journal's lines) one way or the other. Which of the two is decided once, by ``helper_socket``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.apply_service import protocol
from appliance.config.errors import ConfigError, Issue
from appliance.config.loader import dump_config
from appliance.config.model import IXPConfig
from appliance.pipeline.candidate import CandidateStore
from appliance.pipeline.run import Comparison, Outcome, Pipeline, ProgressFn
from appliance.platform import journal
from appliance.platform.target import Target, as_target, on_image

if TYPE_CHECKING:
    from appliance.platform import probe

ENV_SOCKET = "IXP_APPLY_SOCKET"  # a helper's socket to use (tests, a lab web as non-root)
TIMEOUT = 30 * 60.0  # an apply of 1000 members with a BIRD reconfigure stays far below


class HelperUnavailable(RuntimeError):
    """The apply helper did not answer (not running, or its socket is not ours)."""


def helper_socket(target: Target) -> Path | None:
    """The helper's socket when this process must not apply itself, else None.

    The image's web UI runs as ``ixp-web`` without capabilities: it always uses the helper.
    Elsewhere a web running as root (the dev runner, the tests) applies in-process; one
    running as another user uses the helper of its state dir (or ``IXP_APPLY_SOCKET``).
    """
    explicit = os.environ.get(ENV_SOCKET)
    if explicit:
        return Path(explicit)
    if os.geteuid() == 0 and not on_image():
        return None
    return target.apply_socket


def request(path: Path, verb: str, args: dict[str, Any],
            progress: ProgressFn | None = None) -> Any:
    """Ask the helper at ``path`` for ``verb``; its result, or ``HelperError``."""
    for message in _exchange(path, {"verb": verb, "args": args}):
        if "progress" in message:
            if progress is not None:
                progress(*[str(p) for p in message["progress"]][:3])
            continue
        if message.get("ok"):
            return message.get("result")
        if message.get("issues"):
            raise ConfigError([Issue(str(i.get("path", "")), str(i.get("message", "")))
                               for i in message["issues"]])
        raise HelperError(str(message.get("error") or "the apply helper refused"))
    raise HelperUnavailable("the apply helper closed the connection without an answer")


class HelperError(RuntimeError):
    """The helper refused or failed; the message says why."""


def _exchange(path: Path, message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    try:
        try:
            sock.connect(str(path))
        except OSError as exc:
            raise HelperUnavailable(f"the apply helper does not answer at {path} ({exc}); "
                                    "on the box: systemctl status ixp-apply.socket") from None
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        # refused before it read the request: its answer is still there to read
        with contextlib.suppress(BrokenPipeError):
            sock.sendall(line + b"\n")
        with sock.makefile("rb") as stream:
            while True:
                answer = protocol.receive(stream)
                if answer is None:
                    return
                yield answer
    finally:
        sock.close()


def _outcome(data: dict[str, Any], store: Any) -> Outcome:
    """An ``Outcome`` from the helper's JSON form, with its revision read back."""
    outcome = Outcome.from_dict(data)
    outcome.rebased_on = data.get("rebased_on")
    rev = data.get("revision")
    if isinstance(rev, dict) and isinstance(rev.get("id"), int):
        try:
            outcome.revision = store.get(rev["id"])
        except (KeyError, OSError):
            outcome.revision = None
    return outcome


def _text(candidate: str | IXPConfig) -> str:
    return candidate if isinstance(candidate, str) else dump_config(candidate)


class HelperPipeline(Pipeline):
    """The pipeline whose changing stages run in the apply helper (reads stay here)."""

    def __init__(self, target: Target | str | Path, socket_path: Path, *,
                 progress: ProgressFn | None = None) -> None:
        """No concerns here: rendering, verifying and applying are the helper's."""
        super().__init__(target, [], progress=progress)
        self.socket_path = socket_path

    def run(self, candidate: str | IXPConfig, *, author: str, comment: str = "",
            dry_run: bool = False, based_on: int | None = None,
            verified: str = "", record: bool = False) -> Outcome:
        """``Pipeline.run`` in the helper, its stages reported here as they run."""
        args = {"config": _text(candidate), "author": author, "comment": comment,
                "based_on": based_on, "verified": verified, "dry_run": dry_run,
                "record": record}
        try:
            data = request(self.socket_path, "apply", args, self._progress)
        except ConfigError as exc:
            return Outcome(False, "validate", issues=exc.issues,
                           error="the configuration has problems; nothing was changed")
        except HelperUnavailable as exc:  # nothing was changed: like a busy pipeline
            return Outcome(False, "lock", error=str(exc))
        except (HelperError, protocol.ProtocolError) as exc:
            return Outcome(False, "apply", error=str(exc))
        return _outcome(data, self.store)

    def compare(self, candidate: str | IXPConfig, *, author: str) -> Comparison:
        """``Pipeline.compare`` in the helper (``ConfigError`` if the model refuses it)."""
        try:
            data = request(self.socket_path, "compare",
                           {"config": _text(candidate), "author": author})
        except HelperUnavailable as exc:  # "lock": the review asks again, nothing is kept
            return Comparison(Outcome(False, "lock", error=str(exc)), "", "", None)
        except (HelperError, protocol.ProtocolError) as exc:
            return Comparison(Outcome(False, "verify", error=str(exc)), "", "", None)
        return Comparison(_outcome(data["outcome"], self.store), str(data["diff"]),
                          str(data["rendered"]), data.get("head"))

    def reapply_latest(self, *, author: str = "system") -> Outcome:
        """``Pipeline.reapply_latest`` in the helper."""
        try:
            return _outcome(request(self.socket_path, "reapply", {"author": author}),
                            self.store)
        except (HelperError, HelperUnavailable, protocol.ProtocolError) as exc:
            return Outcome(False, "apply", error=str(exc))


def pipeline(target: Target, socket_path: Path | None, *,
             progress: ProgressFn | None = None) -> Pipeline:
    """The box's pipeline in-process (``socket_path`` None) or through the helper."""
    if socket_path is None:
        from appliance.box import build_pipeline  # heavy: every capability

        return build_pipeline(target, progress=progress)
    return HelperPipeline(target, socket_path, progress=progress)


def candidates(target: Target, socket_path: Path | None) -> CandidateStore:
    """The candidates of ``target``, compared and applied one way or the other."""
    return CandidateStore(target.state_dir, lambda: pipeline(target, socket_path))


class Privileged:
    """The web's other root operations, in-process or through the helper."""

    def __init__(self, target: Target | str | Path, socket_path: Path | None) -> None:
        """One target: its state directory and namespace."""
        self.target = as_target(target)
        self.socket_path = socket_path

    def _ask(self, verb: str, **args: Any) -> Any:
        assert self.socket_path is not None
        return request(self.socket_path, verb, args)

    def identify(self, nic: str) -> int:
        """Blink ``nic``'s light; the seconds it blinks (``HelperError`` why not)."""
        from appliance.bridge.identify import SECONDS, IdentifyError, identify

        if self.socket_path is not None:
            return int(self._ask("identify", nic=nic)["seconds"])
        try:
            identify(nic, self.target)
        except (IdentifyError, OSError) as exc:
            raise HelperError(str(exc)) from None
        return SECONDS

    def restore_backup(self, raw: bytes, passphrase: str | None) -> tuple[Any, Outcome]:
        """Restore a backup and apply it: (what was restored, the apply's outcome).

        ``HelperError`` when the backup is refused (nothing changed).
        """
        if self.socket_path is None:
            from appliance.backup.archive import BackupError
            from appliance.backup.restore import restore
            from appliance.box import build_pipeline
            from appliance.util.lock import LockBusy

            try:
                done = restore(self.target.state_dir, raw, passphrase)
            except (BackupError, LockBusy) as exc:
                raise HelperError(str(exc)) from None
            return done, build_pipeline(self.target).reapply_latest(author="restore")
        from types import SimpleNamespace

        token = self._hand_over(raw)
        try:
            result = self._ask("restore_backup", upload=token, passphrase=passphrase)
        finally:
            (self.target.web_uploads / token).unlink(missing_ok=True)
        from appliance.config.revisions import RevisionStore

        return SimpleNamespace(**result["done"]), _outcome(result["outcome"],
                                                           RevisionStore(self.target.state_dir))

    def backup(self, passphrase: str | None) -> bytes:
        """A backup of the whole state (``HelperError`` why not)."""
        if self.socket_path is None:
            from appliance.backup.archive import BackupError
            from appliance.backup.restore import create
            from appliance.util.lock import LockBusy

            try:
                return create(self.target.state_dir, passphrase)
            except (BackupError, LockBusy) as exc:
                raise HelperError(str(exc)) from None
        token = self._ask("backup_create", passphrase=passphrase)["download"]
        path = self.target.web_uploads / str(token)
        try:
            return path.read_bytes()
        finally:
            path.unlink(missing_ok=True)

    def _hand_over(self, raw: bytes) -> str:
        """Put an upload where the helper takes it (the web's own folder, 0600)."""
        return protocol.put_upload(self.target.web_uploads, raw)

    def firmware_install(self, argv: list[str], token: str, allow_downgrade: bool,
                         drain_seconds: float) -> None:
        """Start the firmware update (``argv`` in-process: the web's own systemd-run)."""
        if self.socket_path is not None:
            self._ask("firmware_install", token=token, allow_downgrade=allow_downgrade,
                      drain_seconds=drain_seconds)
            return
        _run(argv)

    def reboot(self, argv: list[str]) -> None:
        """Start the drain and reboot."""
        if self.socket_path is not None:
            self._ask("reboot")
            return
        _run(argv)


    def confirm_trial(self, reached_at: str | None) -> str:
        """Keep the management addresses on trial; what is kept, in words (English).

        ``HelperError`` with the reason when there is nothing to confirm or the request did
        not come in through the new address.
        """
        if self.socket_path is not None:
            return str(self._ask("confirm_trial", reached_at=reached_at)["kept"])
        from appliance.management import trial

        try:
            return trial.confirm(self.target.state_dir, reached_at).new.describe()
        except trial.TrialError as exc:
            raise HelperError(str(exc)) from None

    def alert_test(self, channel: str) -> str | None:
        """Send the alert test message on ``channel`` now: what went wrong, or None when it
        went out. ``KeyError`` when there is no such channel."""
        if self.socket_path is not None:
            answer = self._ask("alert_test", channel=channel)
            if answer["missing"]:
                raise KeyError(channel)
            return answer["problem"]  # type: ignore[no-any-return]
        from appliance.alerts.engine import send_test

        return send_test(self.target.state_dir, channel)

    def report_test(self, cfg: IXPConfig, compose: Any, asn: int) -> dict[str, Any]:
        """Send member ``asn``'s monthly report, marked TEST, to the alert recipients; its
        outcome (``month``, ``to``, ``error``). In-process ``compose`` writes it; the helper
        has ``ixpctl report mail --test`` write it. ``ValueError`` when it cannot go."""
        if self.socket_path is not None:
            return dict(self._ask("report_test", asn=asn)["report"])
        from appliance.alerts.monthly import send_test

        return send_test(self.target, cfg, compose, asn).as_dict()

    def irr_fetch(self, cfg: IXPConfig) -> dict[str, str]:
        """Fetch every member's IRR object with bgpq4 into the route server's cache; the
        objects that failed, with why."""
        if self.socket_path is not None:
            return dict(self._ask("irr_fetch")["failed"])
        from appliance.route_server.concern import IRR_CACHE
        from appliance.route_server.irr_fetch import refresh_members

        return refresh_members(cfg, self.target.state_dir / IRR_CACHE).failed

    def install_data(self, kind: str, raw: bytes) -> dict[str, Any]:
        """Hand a checked offline data set to the helper, which installs it (helper only)."""
        token = self._hand_over(raw)
        try:
            return dict(self._ask("install_data", kind=kind, upload=token))
        finally:
            (self.target.web_uploads / token).unlink(missing_ok=True)

    def journal(self, unit: str, lines: int, priority: str | None) -> journal.Lines | None:
        """The newest ``lines`` of ``unit``'s journal (``journal.UNITS``, or ``all``) at
        ``priority`` and above, read by the helper (the web may not read the journal); None
        off the image, whose system journal is not the box's (nothing is read there).
        ``HelperError``/``HelperUnavailable`` when the helper could not read it."""
        if self.socket_path is None or not journal.available(self.target):
            return None
        got = self._ask("journal", unit=unit, lines=lines, priority=priority)
        return journal.Lines(str(got["text"]), [str(a) for a in got["argv"]],
                             bool(got["truncated"]))

    def nft_reader(self) -> Callable[[str | None, list[str]],
                                     subprocess.CompletedProcess[str]]:
        """An ``nft.use_reader`` reader asking the helper (the namespace is the helper's)."""
        path = self.socket_path
        assert path is not None

        # the namespace is the helper's own Target's, whatever the caller names
        def read(_ns: str | None, args: list[str]) -> subprocess.CompletedProcess[str]:
            try:
                got = request(path, "nft_read", {"args": args})
            except (HelperError, HelperUnavailable, protocol.ProtocolError) as exc:
                return subprocess.CompletedProcess(["nft", *args], 1, "", str(exc))
            return subprocess.CompletedProcess(["nft", *args], int(got["returncode"]),
                                               str(got["stdout"]), str(got["stderr"]))
        return read


    def prober(self) -> probe.Asker:
        """A ``probe.use_asker`` asker through the helper (its packet socket, its namespace)."""
        path = self.socket_path
        assert path is not None

        def ask(_ns: str | None, bridge: str, src_mac: str, sources: dict[int, str],
                targets: Iterable[str], timeout: float = 1.0) -> dict[str, set[str]]:
            try:
                got = request(path, "probe", {"bridge": bridge, "src_mac": src_mac,
                                              "sources": {str(k): v for k, v in sources.items()},
                                              "targets": list(targets), "timeout": timeout})
            except (HelperError, HelperUnavailable, protocol.ProtocolError) as exc:
                raise OSError(str(exc)) from None
            return {addr: set(macs) for addr, macs in got["answers"].items()}
        return ask


def _run(argv: list[str]) -> None:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if res.returncode != 0:
        raise HelperError(res.stderr.strip() or f"{argv[0]} failed ({res.returncode})")
