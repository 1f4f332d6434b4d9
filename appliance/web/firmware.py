"""The Firmware page: the running system and the other slot, and installing an update.

An update is two steps, so the operator sees what they install before anything changes:

1. the bundle is uploaded (``POST /firmware/upload``, the raw file, with a progress bar in
   the page) straight into ``firmware/incoming/`` on the data partition, and checked there
   (signature, compatible, schema, version, space): the page shows its version and notes,
   or why it is refused (the file is then deleted: nothing changed);
2. the operator confirms (``POST /firmware/install``): ``ixpctl system update`` runs as a
   transient systemd unit of its own, so the install, the drain and the reboot do not depend
   on this web process; the page follows its progress (``/firmware/progress.json``).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from appliance.apply_service.client import HelperError, HelperUnavailable
from appliance.firmware import records, update
from appliance.firmware.bundle import BundleRefused
from appliance.firmware.status import firmware_status
from appliance.route_server import drain
from appliance.web.applying import privileged
from appliance.web.i18n import gettext as _

bp = Blueprint("firmware", __name__, url_prefix="/firmware")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
CHUNK = 1024 * 1024
# Room left on the data partition besides the bundle (the revision store, samples, logs).
SPARE_BYTES = 64 * 1024 * 1024
UNIT = "ixp-firmware-update"


def _state() -> Path:
    return current_app.config["STATE_DIR"]


def _incoming(token: str) -> Path:
    if not _TOKEN.match(token):
        abort(400)
    return records.folder(_state()) / records.INCOMING / f"{token}.raucb"


def _clear_incoming(keep: str | None = None) -> None:
    """Only one uploaded bundle is kept: the newest (they are large)."""
    folder = records.folder(_state()) / records.INCOMING
    for old in folder.glob("*.raucb*") if folder.exists() else ():
        if keep is None or old.name != f"{keep}.raucb":
            old.unlink(missing_ok=True)


def _running_update() -> dict[str, Any] | None:
    """The progress of an update under way (None when there is none)."""
    prog = records.read(_state(), records.PROGRESS)
    if prog is None or prog.get("done") or time.time() - float(prog.get("at", 0)) > 3600:
        return None
    if float(prog.get("at", 0)) < _boot_time():
        return None  # written before this boot: its reboot ended it
    return prog


def _boot_time() -> float:
    try:
        return time.time() - float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


@bp.get("")
def index() -> str:
    """Slots, versions, boot state, the last update's outcome, and the upload form."""
    st = firmware_status(_state())
    return render_template("firmware.html", st=st, running=_running_update(),
                           drain_seconds=drain.DEFAULT_SECONDS)


@bp.post("/upload")
def upload() -> tuple[Response, int] | Response:
    """Receive a bundle (the raw file as the body) and check it; JSON for the page's script."""
    state = _state()
    length = request.content_length
    if not length:
        return jsonify({"ok": False, "reasons": [_("Choose a bundle file (.raucb) first.")]}), 400
    folder = records.folder(state) / records.INCOMING
    folder.mkdir(parents=True, exist_ok=True)
    _clear_incoming()
    free = shutil.disk_usage(folder).free
    if length + SPARE_BYTES > free:
        return jsonify({"ok": False, "reasons": [_(
            "Not enough space on the data partition for this bundle: it is %(size)s MiB and "
            "%(free)s MiB are free. Nothing was changed.",
            size=length // 1048576, free=max(0, free - SPARE_BYTES) // 1048576)]}), 400
    token = secrets.token_hex(16)
    path = folder / f"{token}.raucb"
    part = path.with_suffix(".raucb.part")
    received = 0
    # streamed to the data partition: a bundle is hundreds of MiB, more than the box's memory
    with part.open("wb") as out:
        while True:
            chunk = request.stream.read(CHUNK)
            if not chunk:
                break
            received += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if received != length:
        part.unlink(missing_ok=True)
        return jsonify({"ok": False, "reasons": [_(
            "The upload was cut off (%(got)s of %(size)s bytes arrived). Nothing was changed; "
            "upload it again.", got=received, size=length)]}), 400
    part.rename(path)
    try:
        info = update.check(path, state, allow_downgrade=True)
    except BundleRefused as exc:
        path.unlink(missing_ok=True)
        return jsonify({"ok": False, "reasons": exc.reasons}), 400
    try:
        update.check(path, state, allow_downgrade=False, payload=False)
        downgrade: list[str] = []
    except BundleRefused as exc:
        downgrade = exc.reasons
    return jsonify({"ok": True, "token": token, "bundle": info.as_dict(),
                    "downgrade": downgrade}), 200


@bp.post("/install")
def install() -> Response:
    """Start the update of a checked upload (the operator confirmed)."""
    token = request.form.get("token", "")
    path = _incoming(token)
    if not path.exists():
        flash(_("That upload is gone (another one replaced it, or the box restarted): upload "
                "the bundle again."), "error")
        return redirect(url_for("firmware.index"))
    if _running_update() is not None:
        flash(_("An update is already under way."), "error")
        return redirect(url_for("firmware.index"))
    allow = request.form.get("allow_downgrade") == "on"
    try:
        seconds = float(request.form.get("drain_seconds") or drain.DEFAULT_SECONDS)
    except ValueError:
        seconds = -1
    if not 0 <= seconds <= 600:
        flash(_("The drain time is a number of seconds from 0 to 600."), "error")
        return redirect(url_for("firmware.index"))
    try:
        # the upload read the whole file already; it has not left the box since
        update.check(path, _state(), allow_downgrade=allow, payload=False)
    except BundleRefused as exc:
        flash(_("The update was refused; nothing was changed: %(why)s", why=str(exc)), "error")
        return redirect(url_for("firmware.index"))
    records.progress(_state(), "check", _("Starting the update"), 0)
    argv = ["systemd-run", f"--unit={UNIT}-{token[:8]}", "--collect", "--quiet",
            "/opt/ixp-appliance/venv/bin/ixpctl", "system", "update", str(path),
            "--state-dir", str(_state()), "--drain-seconds", f"{seconds:g}",
            "--payload-checked"]
    if allow:
        argv.append("--allow-downgrade")
    try:
        privileged().firmware_install(argv, token, allow, seconds)
    except (HelperError, HelperUnavailable) as exc:
        records.progress(_state(), "check", str(exc), done=True, ok=False)
        flash(_("The update could not be started: %(why)s", why=str(exc)), "error")
    return redirect(url_for("firmware.index"))


@bp.get("/progress.json")
def progress() -> Response:
    """The running update's step (polled by the page)."""
    return jsonify(records.read(_state(), records.PROGRESS) or {})


@bp.post("/reboot")
def reboot() -> Response:
    """Drain the route server, then reboot into the same system."""
    argv = ["systemd-run", "--unit=ixp-reboot", "--collect", "--quiet",
            "/opt/ixp-appliance/venv/bin/ixpctl", "system", "reboot",
            "--state-dir", str(_state()), "--drain-seconds", str(drain.DEFAULT_SECONDS)]
    try:
        privileged().reboot(argv)
    except (HelperError, HelperUnavailable) as exc:
        flash(_("The reboot could not be started: %(why)s", why=str(exc)), "error")
    else:
        flash(_("The route server drains for %(seconds)s s, then the box reboots.",
                seconds=drain.DEFAULT_SECONDS), "success")
    return redirect(url_for("firmware.index"))
