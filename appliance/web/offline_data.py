"""The box's offline data sets (IRR data, RPKI VRPs, the root zone copy, the PeeringDB dump).

Each set is loaded by the code that already reads it (``irr_status.import_bytes``,
``rpki_service.import_vrps``, ``rootzone.read_facts`` / ``root_zone_status``, and the dump
format ``peeringdb`` reads); this module only says how each stands, takes an upload, and says
which protections are not active for lack of data (:func:`missing_protections`).

Every upload is checked completely before anything is written, and then written with
``atomic_write`` under the state lock: a bad file changes nothing.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.lists import format_list
from flask_babel import gettext as _
from flask_babel import ngettext

from appliance.apply_service.client import HelperError, HelperUnavailable
from appliance.config.model import IXPConfig
from appliance.platform.target import Target
from appliance.resolver import daemon as dns_daemon
from appliance.resolver.paths import UnboundPaths
from appliance.resolver.render import ROOT_ZONE_FILE
from appliance.resolver.rootzone import read_facts, root_zone_status
from appliance.route_server import rpki_service
from appliance.route_server.irr_fetch import load_cache
from appliance.route_server.status import rtr_sessions
from appliance.util.atomic import atomic_write
from appliance.util.lock import state_lock
from appliance.web import applying, irr_status, peeringdb
from appliance.web.filters import human
from appliance.web.i18n import current_locale

MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # the real root zone is ~2 MB, a full VRP export ~30 MB
SYSTEM_ROOT_KEY = Path("/usr/share/dns/root.key")
LOCK_TIMEOUT = 10.0

KINDS = ("irr", "rpki", "rootzone", "peeringdb")


class DataLoadError(ValueError):
    """An uploaded data file was refused; nothing was changed."""


@dataclass(frozen=True)
class DataSet:
    """How one offline data set stands, for the Data page."""

    kind: str
    title: str
    loaded: bool
    updated: float | None  # epoch seconds the file last changed
    entries: int | None
    unit: str  # what ``entries`` counts ("VRPs", "IRR objects", ...)
    detail: str  # one sentence about its state


@dataclass(frozen=True)
class MissingProtection:
    """A protection that is configured but not active because its data is missing."""

    kind: str  # which data set would fix it (a key of KINDS)
    title: str
    message: str


# --- where each set lives, and how it stands -----------------------------------------------


def rootzone_path(state_dir: Path) -> Path:
    """The resolver's local root zone copy (the file unbound serves and rewrites)."""
    return UnboundPaths(Path(state_dir)).data_dir / ROOT_ZONE_FILE


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def irr_count(state_dir: Path) -> int:
    """How many IRR objects the route server's cache holds (0 when none or unreadable)."""
    try:
        return len(load_cache(irr_status.cache_path(state_dir)).entries)
    except (OSError, ValueError):
        return 0


def vrp_count(state_dir: Path) -> int:
    """How many VRPs the imported file holds (0 when none or unreadable)."""
    try:
        return rpki_service.check_vrps(rpki_service.vrp_path(state_dir).read_text("utf-8"))
    except (OSError, ValueError):
        return 0


def _peeringdb_nets(data: object) -> int:
    if not isinstance(data, dict):
        return 0
    return len(peeringdb._rows(data, "net"))  # the reader's own table access


def peeringdb_count(state_dir: Path) -> int:
    """How many networks the PeeringDB dump lists (0 when none or unreadable)."""
    try:
        return _peeringdb_nets(json.loads(peeringdb.dump_path(state_dir).read_text("utf-8")))
    except (OSError, ValueError):
        return 0


def _rtr_sentence(rtr: dict[str, Any]) -> str:
    """What the route server itself holds, from BIRD (empty when BIRD does not answer)."""
    if not rtr["running"]:
        return ""
    roas = sum(rtr["roas"].values())
    states = format_list([f"{s['cache']}: {s['status']}" for s in rtr["sessions"]],
                         locale=current_locale())
    if not rtr["sessions"]:
        return " " + _("The route server has no RTR connection configured "
                       "(route_server.rpki_validators).")
    return " " + ngettext("The route server holds %(num)d ROA (RTR: %(states)s).",
                          "The route server holds %(num)d ROAs (RTR: %(states)s).",
                          roas, states=states)


def data_sets(state_dir: Path, *, now: float | None = None) -> list[DataSet]:
    """The four offline data sets, each with whether it is loaded, its age and its size."""
    state_dir = Path(state_dir)
    now = time.time() if now is None else now
    out: list[DataSet] = []
    irr_file = irr_status.cache_path(state_dir)
    n = irr_count(state_dir)
    out.append(DataSet("irr", _("IRR data"), n > 0, _mtime(irr_file), n, _("IRR objects"),
                       _("The route server checks members' routes against it.") if n else
                       _("None loaded: members filtered \"reject\" are not IRR-checked.")))
    vrps = rpki_service.vrp_path(state_dir)
    n = vrp_count(state_dir)
    out.append(DataSet("rpki", _("RPKI VRPs"), n > 0, _mtime(vrps), n, _("VRPs"),
                       (_("This box's RTR server (stayrtr) serves them to the route server.")
                        + _rtr_sentence(rtr_sessions(state_dir))) if n else
                       _("None imported: RPKI needs these or a validator on the network.")))
    zone = root_zone_status(rootzone_path(state_dir), now=now)
    # zone.message comes from appliance.resolver, in English
    out.append(DataSet("rootzone", _("Root zone copy"), zone.state != "missing",
                       _mtime(rootzone_path(state_dir)), zone.serial, "serial", zone.message))
    n = peeringdb_count(state_dir)
    out.append(DataSet("peeringdb", _("PeeringDB dump"), n > 0,
                       _mtime(peeringdb.dump_path(state_dir)), n, _("networks"),
                       _("The member form fills in names, addresses and limits from it.") if n
                       else _("None loaded: the member form cannot look members up.")))
    return out


# --- which protections are not active for lack of data ------------------------------------


def _answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def missing_protections(state_dir: Path, cfg: IXPConfig | None, *,
                        probe: Callable[[str, int], bool] = _answers,
                        now: float | None = None,
                        rtr: Callable[[Path], dict[str, Any]] | None = None
                        ) -> list[MissingProtection]:
    """The protections the committed config asks for that are not active for lack of data.

    IRR: members filtered "reject" without IRR data (``irr_status.gaps``). RPKI: a policy
    other than "off" but no VRPs from this box's stayrtr and no validator elsewhere answering
    (``probe`` connects to it), or BIRD itself holding no ROA while its RTR connections are
    down (``rtr``: :func:`rtr_sessions`). Resolver: enabled with a local root but no usable
    root copy.
    """
    if cfg is None:
        return []
    state_dir = Path(state_dir)
    rtr = rtr_sessions if rtr is None else rtr
    out: list[MissingProtection] = []
    irr = irr_status.gaps(state_dir, cfg)
    if irr:
        out.append(MissingProtection(
            "irr", _("IRR filtering"),
            ngettext("%(num)d member is filtered \"reject\" but has no (or old) IRR data, so "
                     "its routes are not checked against current IRR data.",
                     "%(num)d members are filtered \"reject\" but have no (or old) IRR data, "
                     "so their routes are not checked against current IRR data.", len(irr))))
    policies = {cfg.route_server.policy.rpki} | {cfg.effective_policy(m).rpki
                                                 for m in cfg.members if m.route_server}
    if policies - {"off"}:
        local = rpki_service.local_validator(cfg)
        remote = [v for v in cfg.route_server.rpki_validators
                  if v.host not in rpki_service.LOCAL_HOSTS]
        has_vrps = vrp_count(state_dir) > 0
        held = rtr(state_dir)
        if held["running"] and held["sessions"] and not any(held["roas"].values()) \
                and not any(s["up"] for s in held["sessions"]) and (
                    (local is not None and has_vrps) or remote):
            # something should serve them, but BIRD itself holds none: say what BIRD says
            out.append(MissingProtection(
                "rpki", "RPKI",
                _("The RPKI policy checks routes, but the route server holds no ROAs: its "
                  "RTR connection says %(states)s.", states=format_list(
                      [f"{s['cache']}: {s['status']}" for s in held["sessions"]],
                      locale=current_locale()))))
        elif (local is not None and has_vrps) or any(probe(v.host, v.port) for v in remote):
            pass  # something serves the route server VRPs
        elif not cfg.route_server.rpki_validators:
            out.append(MissingProtection(
                "rpki", "RPKI",
                _("The RPKI policy checks routes, but no RPKI validator is configured "
                  "(route_server.rpki_validators), so no route is RPKI-checked. Import VRPs "
                  "below and add the box's own validator (host 127.0.0.1, port 3323) to "
                  "route_server.rpki_validators.")
                + (" " + _("VRPs are imported but unused.") if has_vrps else "")))
        else:
            why = [] if local is None else [_("no VRPs are imported for this box's RTR server")]
            why += [_("the validator %(validator)s does not answer",
                      validator=f"{v.host}:{v.port}") for v in remote]
            out.append(MissingProtection(
                "rpki", "RPKI", _("The RPKI policy checks routes, but %(why)s, so no route is "
                                  "RPKI-checked.", why=format_list(why, locale=current_locale()))))
    res = cfg.services.resolver
    if res.enabled and res.local_root:
        zone = root_zone_status(rootzone_path(state_dir),
                                now=time.time() if now is None else now)
        if zone.state in ("missing", "expired"):
            out.append(MissingProtection(
                "rootzone", _("Resolver without internet"),
                _("The resolver has no usable local root zone copy, so without internet it "
                  "answers nothing that is not cached.") + f" {zone.message}"))
    return out


# --- uploads ---------------------------------------------------------------------------------


def _check_size(raw: bytes, filename: str, what: str) -> None:
    if not raw:
        raise DataLoadError(_("Choose a file first (%(what)s).", what=what))
    if len(raw) > MAX_UPLOAD_BYTES:
        raise DataLoadError(_("%(file)s: the file is larger than %(mb)s MB; nothing was "
                              "changed.", file=filename, mb=MAX_UPLOAD_BYTES // (1024 * 1024)))


def _locked(state_dir: Path) -> Any:
    """The state lock here, or nothing when the helper installs (it takes the lock itself:
    the lock file is root's)."""
    import contextlib

    if applying.socket() is not None:
        return contextlib.nullcontext()
    return state_lock(Path(state_dir), timeout=LOCK_TIMEOUT)


def _install(kind: str, raw: bytes, filename: str) -> dict[str, Any]:
    """The helper installs a checked data set; ``DataLoadError`` with its reason if not."""
    try:
        return applying.privileged().install_data(kind, raw)
    except (HelperError, HelperUnavailable) as exc:
        raise DataLoadError(_("%(file)s: %(why)s; nothing was changed.", file=filename,
                              why=str(exc))) from None


def _count(n: int) -> str:
    return human(n)  # the reader's digit grouping (4 321, 4.321, 4,321)


def import_irr(state_dir: Path, raw: bytes, filename: str) -> str:
    """Merge an IRR file (``ixpctl irr import`` format) into the cache; says what changed."""
    with _locked(state_dir):
        before = irr_count(state_dir)
        try:
            n = irr_status.import_bytes(Path(state_dir), raw, filename)
        except irr_status.IrrLoadError as exc:
            raise DataLoadError(str(exc)) from None
        after = irr_count(state_dir)
    return ngettext("IRR data for %(num)d object imported from %(file)s: %(after)s IRR "
                    "objects loaded (was %(before)s).",
                    "IRR data for %(num)d objects imported from %(file)s: %(after)s IRR "
                    "objects loaded (was %(before)s).", n, file=filename,
                    after=_count(after), before=_count(before))


def import_rpki(target: Target, raw: bytes, filename: str) -> str:
    """Install a VRP export as ``ixpctl rpki import`` does, then sync stayrtr."""
    _check_size(raw, filename, _("a VRP JSON export from rpki-client or Routinator"))
    state_dir = target.state_dir
    if applying.socket() is not None:  # the VRP file is root's, stayrtr a unit: the helper
        before = vrp_count(state_dir)
        synced = str(_install("rpki", raw, filename).get("synced", ""))
        after = vrp_count(state_dir)
        aspas = rpki_service.aspa_count(rpki_service.vrp_path(state_dir).read_text("utf-8"))
        return _rpki_message(after, before, filename, synced, aspas)
    with state_lock(state_dir, timeout=LOCK_TIMEOUT):
        before = vrp_count(state_dir)
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            tmp.write(raw)
            tmp.flush()
            try:
                after = rpki_service.import_vrps(state_dir, Path(tmp.name))
            except (UnicodeDecodeError, ValueError) as exc:
                raise DataLoadError(_("%(file)s: not a VRP file (%(why)s); nothing was "
                                      "changed.", file=filename, why=exc)) from None
        synced = rpki_service.sync(target)
        aspas = rpki_service.aspa_count(rpki_service.vrp_path(state_dir).read_text("utf-8"))
    return _rpki_message(after, before, filename, synced, aspas)


def _rpki_message(after: int, before: int, filename: str, synced: str, aspas: int) -> str:
    # what the stayrtr sync did comes from appliance.route_server, in English
    return _("%(after)s VRPs loaded (was %(before)s) from %(file)s; %(synced)s.",
             after=_count(after), before=_count(before), file=filename, synced=synced) + " " \
        + ngettext("%(num)d ASPA record: the route server checks AS paths with it.",
                   "%(num)d ASPA records: the route server checks AS paths with them.", aspas)


def check_root_zone(raw: bytes, filename: str, anchors: list[Path],
                    *, now: float | None = None) -> int:
    """Validate a root zone file; returns its SOA serial or raises ``DataLoadError``.

    It must have the root's SOA, DNSSEC signatures that have not expired and a ZONEMD
    digest; with ``ldns-verify-zone`` installed, every signature and the digest are verified
    against the trust anchor(s) too (unbound checks them again when it loads the zone).
    """
    _check_size(raw, filename,
                _("the root zone, e.g. from https://www.internic.net/domain/root.zone"))
    try:
        lines = raw.decode("ascii").splitlines()
    except UnicodeDecodeError:
        raise DataLoadError(_("%(file)s: not a zone file (it is not plain text); nothing "
                              "was changed.", file=filename)) from None
    facts = read_facts(lines)
    if facts.serial is None:
        raise DataLoadError(_("%(file)s: no SOA record, so it is not a zone file; nothing "
                              "was changed.", file=filename))
    types = {p[p.index("IN") + 1] for p in (ln.split(";", 1)[0].split() for ln in lines)
             if "IN" in p and len(p) > p.index("IN") + 1}
    if "RRSIG" not in types or "ZONEMD" not in types:
        raise DataLoadError(_("%(file)s: the zone is not DNSSEC-signed with a ZONEMD "
                              "digest, so the resolver would refuse it; upload the root zone "
                              "exactly as IANA publishes it. Nothing was changed.",
                              file=filename))
    now = time.time() if now is None else now
    if facts.signatures_expire is not None and facts.signatures_expire <= now:
        raise DataLoadError(_("%(file)s: its DNSSEC signatures have expired (serial "
                              "%(serial)s); get a fresh copy. Nothing was changed.",
                              file=filename, serial=facts.serial))
    tool = shutil.which("ldns-verify-zone")
    if tool is not None:
        with tempfile.NamedTemporaryFile(suffix=".zone") as tmp:
            tmp.write(raw)
            tmp.flush()
            argv = [tool, "-Z", "-V", "1"]
            for a in anchors:
                argv += ["-k", str(a)]
            res = subprocess.run([*argv, tmp.name], capture_output=True, text=True,
                                 timeout=120, check=False)
        if res.returncode != 0:
            why = (res.stderr or res.stdout).strip().splitlines()
            raise DataLoadError(_("%(file)s: the DNSSEC signatures or the ZONEMD digest "
                                  "do not verify (%(why)s); nothing was changed.",
                                  file=filename,
                                  why=why[0] if why else "ldns-verify-zone failed"))
    return facts.serial


def trust_anchors(state_dir: Path) -> list[Path]:
    """The root trust anchor unbound uses (its RFC 5011 copy, else dns-root-data's)."""
    own = UnboundPaths(Path(state_dir)).data_dir / "root.key"
    return [own if own.is_file() else SYSTEM_ROOT_KEY]


def import_root_zone(state_dir: Path, raw: bytes, filename: str,
                     anchors: list[Path] | None = None) -> str:
    """Validate and install a root zone copy, then make a running resolver reload it."""
    state_dir = Path(state_dir)
    serial = check_root_zone(raw, filename, trust_anchors(state_dir) if anchors is None
                             else anchors)
    path = rootzone_path(state_dir)
    if applying.socket() is not None:  # unbound's folder: the helper installs the copy
        before = root_zone_status(path, now=time.time()).serial
        done = _install("rootzone", raw, filename)
        tail = {"not running": _("the resolver is not running; it uses the copy when it "
                                 "starts"),
                "done": _("the resolver reloaded it")}.get(str(done.get("reload"))) or \
            _("the resolver did not reload (%(why)s); restart it", why=done.get("why", ""))
        was = _("serial %(serial)s", serial=before) if before is not None else _("none")
        return _("Root zone serial %(serial)s loaded from %(file)s (was %(was)s); %(then)s.",
                 serial=serial, file=filename, was=was, then=tail)
    with state_lock(state_dir, timeout=LOCK_TIMEOUT):
        before = root_zone_status(path, now=time.time()).serial
        atomic_write(path, raw, 0o644)
        paths = UnboundPaths(state_dir)
        tail = _("the resolver is not running; it uses the copy when it starts")
        if dns_daemon.running_pid(paths) is not None:
            try:
                dns_daemon.reload(paths)
                tail = _("the resolver reloaded it")
            except dns_daemon.UnboundError as exc:
                tail = _("the resolver did not reload (%(why)s); restart it", why=exc)
    was = _("serial %(serial)s", serial=before) if before is not None else _("none")
    return _("Root zone serial %(serial)s loaded from %(file)s (was %(was)s); %(then)s.",
             serial=serial, file=filename, was=was, then=tail)


def import_peeringdb(state_dir: Path, raw: bytes, filename: str) -> str:
    """Check and install a PeeringDB dump (API format, with a ``net`` table)."""
    _check_size(raw, filename, _("a PeeringDB dump in the API's JSON format"))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataLoadError(_("%(file)s: not JSON (%(why)s); nothing was changed.",
                              file=filename, why=exc)) from None
    nets = _peeringdb_nets(data)
    if not nets:
        raise DataLoadError(_("%(file)s: no networks in it (it needs PeeringDB's "
                              "%(table)s table, as the API or a full dump has it); nothing "
                              "was changed.", file=filename,
                              table='{"net": {"data": [...]}}'))
    state_dir = Path(state_dir)
    with _locked(state_dir):
        before = peeringdb_count(state_dir)
        if applying.socket() is not None:  # the route server's data: the helper writes it
            _install("peeringdb", raw, filename)
        else:
            atomic_write(peeringdb.dump_path(state_dir), raw, 0o644)
    return _("PeeringDB dump from %(file)s: %(after)s networks loaded (was %(before)s).",
             file=filename, after=_count(nets), before=_count(before))
