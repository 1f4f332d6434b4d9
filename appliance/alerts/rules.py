"""The alert rules: a pure function of (previous state, status snapshot, now, settings).

``evaluate`` is all the logic: which causes are present now (``causes``), how long each has
lasted (the "for N minutes" hold), which alerts open, which resolve, which are only recorded
because the same alert was sent a moment ago (the quiet period), and which one-off events
(a max-prefix trip, a firmware roll-back, an applied configuration) happened since the last
round. It reads no file and no clock, so the tests drive it with plain data; the engine
(``engine.py``) reads the snapshot, calls it, keeps the state and delivers the events.

The state is plain JSON-ready data::

    {"pending": {key: first_seen}, "open": {key: alert}, "past": [alert, ...],
     "last_sent": {key: time}, "drops": {port: {reason: [time, packets]}},
     "seen": {"trips": [...], "revision": id, "firmware": at}}

A snapshot (``snapshot.py``) holds what the box's status says now; a part that could not be
read is None and leaves the alerts of its rules as they were (a route server that does not
answer is not "every session resolved").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

PAST_KEEP = 500  # past alerts kept in the state (the newest)
TRIPS_KEEP = 200  # max-prefix trip keys remembered (the route server keeps 200 trips)

# rule -> severity: what the operator must do something about, and what is only news
SEVERITY = {
    "session_down": "warning", "max_prefix": "warning", "port_down": "warning",
    "hygiene_drops": "warning", "filtered_routes": "notice", "filter_data_stale": "warning",
    "anycast_withdrawn": "critical", "root_zone_stale": "warning", "disk_full": "critical",
    "firmware_rolled_back": "critical", "config_applied": "info",
}
RULES = tuple(SEVERITY)
# rules that are one-off events: sent once, never open, never resolved
EVENT_RULES = ("firmware_rolled_back", "config_applied")
IRR_REASONS = ("irr_origin", "irr_prefix")


@dataclass(frozen=True)
class Cause:
    """One thing wrong now: the alert it would open and its words (English: the channels)."""

    key: str  # rule:what, the same for the same cause round after round
    rule: str
    text: str
    hold: float = 0.0  # seconds it must last before the alert opens
    member: str = ""
    asn: int | None = None
    port: str = ""
    reason: str = ""
    value: float | None = None
    details: dict[str, Any] | None = None


def empty_state() -> dict[str, Any]:
    """The state before the first round."""
    return {"pending": {}, "open": {}, "past": [], "last_sent": {}, "drops": {},
            "seen": {"trips": None, "revision": None, "firmware": None}}


def _rule(settings: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The rule's settings when it is on, else None."""
    rule = (settings.get("rules") or {}).get(name) or {}
    return rule if rule.get("enabled", True) else None


def _who(asn: int | None, member: str) -> str:
    return f"AS{asn} {member}".strip() if asn else (member or "an unknown neighbour")


def _session_causes(snap: dict[str, Any], settings: dict[str, Any]) -> list[Cause]:
    rule = _rule(settings, "session_down")
    if rule is None:
        return []
    minutes = int(rule.get("minutes", 5))
    out = []
    for s in snap["sessions"]:
        if s.get("up"):
            continue
        who = _who(s.get("asn"), s.get("member", ""))
        out.append(Cause(
            f"session_down:{s['protocol']}", "session_down",
            f"BGP session of {who} ({s.get('family', '')}, {s.get('neighbor', '')}) is "
            f"{s.get('state') or 'down'}" + (f" for more than {minutes} min" if minutes else ""),
            hold=minutes * 60, member=s.get("member", ""), asn=s.get("asn"),
            reason=str(s.get("state") or ""),
            details={"protocol": s["protocol"], "neighbor": s.get("neighbor", ""),
                     "family": s.get("family", "")}))
    return out


def _max_prefix_causes(snap: dict[str, Any], settings: dict[str, Any],
                       state: dict[str, Any], new_trips: list[dict[str, Any]]) -> list[Cause]:
    """A session with a new trip, and one still held down or [HIT] after an earlier one."""
    if _rule(settings, "max_prefix") is None:
        return []
    sessions = {s["protocol"]: s for s in snap.get("sessions") or []}
    tripped: dict[str, dict[str, Any]] = {t["session"]: t for t in new_trips if t.get("session")}
    # an open trip alert stays while its session is down or still over its limit
    for key in state["open"]:
        if key.startswith("max_prefix:"):
            name = key.split(":", 1)[1]
            s = sessions.get(name)
            if s is None or not s.get("up") or s.get("limit_hit"):
                tripped.setdefault(name, state["open"][key].get("details") or {})
    out = []
    for name, t in tripped.items():
        who = _who(t.get("asn"), t.get("member", ""))
        out.append(Cause(
            f"max_prefix:{name}", "max_prefix",
            f"{who} sent more {t.get('family', '')} routes than its max-prefix limit "
            f"({t.get('limit')}); the route server's action: {t.get('action', '')}",
            member=t.get("member", ""), asn=t.get("asn"), value=t.get("limit"),
            details={"session": name, "family": t.get("family", ""), "limit": t.get("limit"),
                     "action": t.get("action", ""), "asn": t.get("asn"),
                     "member": t.get("member", "")}))
    return out


def _port_causes(snap: dict[str, Any], settings: dict[str, Any]) -> list[Cause]:
    rule = _rule(settings, "port_down")
    if rule is None:
        return []
    minutes = int(rule.get("minutes", 1))
    return [Cause(f"port_down:{p['port']}", "port_down",
                  f"port {p['port']} of {p.get('member') or 'no member'} is down"
                  + (f" for more than {minutes} min" if minutes else ""), hold=minutes * 60,
                  member=p.get("member", ""), port=p["port"], details={"ifindex": p.get("ifindex")})
            for p in snap["ports"] if not p.get("up")]


def _hygiene_causes(snap: dict[str, Any], settings: dict[str, Any], state: dict[str, Any],
                    now: float) -> tuple[list[Cause], dict[str, Any]]:
    """Ports and reasons whose drop counter grew faster than the rate since the last round;
    and the counters to compare with next round."""
    rule = _rule(settings, "hygiene_drops")
    members = {p["port"]: p.get("member", "") for p in snap.get("ports") or []}
    seen: dict[str, Any] = {}
    out: list[Cause] = []
    limit = float(rule.get("per_minute", 10)) if rule else 0.0
    for port, reasons in snap["drops"].items():
        for reason, packets in reasons.items():
            seen.setdefault(port, {})[reason] = [now, packets]
            before = (state["drops"].get(port) or {}).get(reason)
            if rule is None or before is None:
                continue
            then, old = before
            if packets < old or now <= then:  # a counter that was made anew: no rate yet
                continue
            # per minute; a round shorter than a minute counts its frames as they are (a
            # burst of three router solicitations at a member's boot is not 180 a minute)
            rate = (packets - old) * 60.0 / max(now - then, 60.0)
            if rate > limit:
                member = members.get(port, "")
                out.append(Cause(
                    f"hygiene_drops:{port}:{reason}", "hygiene_drops",
                    f"{member or 'port ' + port} (port {port}) sends frames the peering LAN "
                    f"drops: {reason}, {rate:.0f} per minute (more than {limit:g})",
                    member=member, port=port, reason=reason, value=round(rate, 1)))
    return out, seen


def _filtered_causes(snap: dict[str, Any], settings: dict[str, Any]) -> list[Cause]:
    rule = _rule(settings, "filtered_routes")
    if rule is None:
        return []
    minutes = int(rule.get("minutes", 60))
    out = []
    for f in snap["filtered"]:
        who = _who(f.get("asn"), f.get("member", ""))
        for kind, count, words in (("rpki", f.get("rpki_invalid", 0), "RPKI Invalid"),
                                   ("irr", f.get("irr", 0), "not registered in the IRR")):
            if count:
                out.append(Cause(
                    f"filtered_routes:{f['protocol']}:{kind}", "filtered_routes",
                    f"{who} announces {count} route(s) the route server refuses as {words}"
                    + (f" (for more than {minutes} min)" if minutes else "")
                    + "; see its filtered routes in the looking glass",
                    hold=minutes * 60, member=f.get("member", ""), asn=f.get("asn"),
                    reason="rpki_invalid" if kind == "rpki" else "irr", value=count,
                    details={"protocol": f["protocol"], "examples": f.get(f"{kind}_examples",
                                                                          [])}))
    return out


def _data_causes(snap: dict[str, Any], settings: dict[str, Any]) -> list[Cause]:
    rule = _rule(settings, "filter_data_stale")
    if rule is None:
        return []
    days = int(rule.get("days", 7))
    out = []
    for kind, age in snap["data_age_days"].items():
        if age is not None and age > days:
            out.append(Cause(f"filter_data_stale:{kind}", "filter_data_stale",
                             f"the route server's {kind.upper()} data is {age:.0f} days old "
                             f"(more than {days})", reason=kind, value=round(age, 1)))
    return out


def _anycast_causes(snap: dict[str, Any], settings: dict[str, Any]) -> list[Cause]:
    rule = _rule(settings, "anycast_withdrawn")
    if rule is None:
        return []
    minutes = int(rule.get("minutes", 1))
    anycast = snap["anycast"]
    if not anycast.get("running"):
        return [Cause("anycast_withdrawn:helper", "anycast_withdrawn",
                      "the anycast helper is not running: the resolver's service prefixes "
                      "are not announced", hold=minutes * 60)]
    return [Cause(f"anycast_withdrawn:{c.get('name')}", "anycast_withdrawn",
                  f"the resolver's anycast prefix {', '.join(c.get('prefixes') or [])} is "
                  f"withdrawn (health check: {c.get('state')})", hold=minutes * 60,
                  reason=str(c.get("state", "")))
            for c in anycast.get("checkers") or [] if not c.get("announced")]


def _root_causes(snap: dict[str, Any], settings: dict[str, Any]) -> list[Cause]:
    if _rule(settings, "root_zone_stale") is None:
        return []
    root = snap["root_zone"]
    if root.get("state") in ("stale", "expired"):
        return [Cause("root_zone_stale", "root_zone_stale",
                      str(root.get("message") or f"the local root copy is {root['state']}"),
                      reason=str(root["state"]))]
    return []


def _disk_causes(snap: dict[str, Any], settings: dict[str, Any]) -> list[Cause]:
    rule = _rule(settings, "disk_full")
    if rule is None:
        return []
    limit = float(rule.get("percent", 90))
    used = float(snap["disk_percent"])
    if used > limit:
        return [Cause("disk_full", "disk_full",
                      f"the data disk is {used:.0f} % full (more than {limit:g} %)",
                      value=used)]
    return []


# rule -> the snapshot part it reads: None there leaves that rule's alerts as they were
_INPUTS = {"session_down": "sessions", "max_prefix": "sessions", "port_down": "ports",
           "hygiene_drops": "drops", "filtered_routes": "filtered",
           "filter_data_stale": "data_age_days", "anycast_withdrawn": "anycast",
           "root_zone_stale": "root_zone", "disk_full": "disk_percent"}


def _alert(cause: Cause, now: float) -> dict[str, Any]:
    return {"key": cause.key, "rule": cause.rule, "severity": SEVERITY[cause.rule],
            "text": cause.text, "member": cause.member, "asn": cause.asn, "port": cause.port,
            "reason": cause.reason, "value": cause.value, "details": cause.details or {},
            "opened": now, "resolved": None, "notified": False}


def _event(kind: str, alert: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "alert": copy.deepcopy(alert)}


def evaluate(state: dict[str, Any] | None, snap: dict[str, Any], now: float,
             settings: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(new state, events to deliver) after one round; ``state`` is not changed.

    An event is ``{"kind": "firing" | "resolved" | "event", "alert": {...}}``. An alert that
    opens within the quiet period after the same one was sent is recorded (its ``notified``
    false) and sends nothing, neither now nor when it resolves.
    """
    st = copy.deepcopy(state) if state else empty_state()
    for k, v in empty_state().items():
        st.setdefault(k, v)
    quiet = float(settings.get("quiet_minutes", 30)) * 60
    events: list[dict[str, Any]] = []
    unknown = {rule for rule, part in _INPUTS.items() if snap.get(part) is None}

    # one-off events, and the max-prefix trips seen for the first time
    new_trips: list[dict[str, Any]] = []
    if snap.get("trips") is not None:
        keys = [t.get("key") for t in snap["trips"] if t.get("key")]
        if st["seen"]["trips"] is not None:  # not on the first round: those are old
            known = set(st["seen"]["trips"])
            new_trips = [t for t in snap["trips"] if t.get("key") and t["key"] not in known]
        st["seen"]["trips"] = keys[-TRIPS_KEEP:]
    oneoff: list[Cause] = []
    revision = snap.get("revision")
    if revision is not None:
        if st["seen"]["revision"] is not None and revision["id"] != st["seen"]["revision"] \
                and _rule(settings, "config_applied") is not None:
            oneoff.append(Cause(
                f"config_applied:{revision['id']}", "config_applied",
                f"configuration revision {revision['id']} applied by "
                f"{revision.get('author') or 'someone'}: {revision.get('message') or ''}".strip(),
                details={"revision": revision["id"], "author": revision.get("author", "")}))
        st["seen"]["revision"] = revision["id"]
    firmware = snap.get("firmware")
    if firmware is not None:
        at = firmware.get("at")
        if firmware.get("result") == "rolled_back" and at != st["seen"]["firmware"] \
                and _rule(settings, "firmware_rolled_back") is not None:
            oneoff.append(Cause(
                f"firmware_rolled_back:{at}", "firmware_rolled_back",
                str(firmware.get("message") or "a firmware update was rolled back"),
                reason=str(firmware.get("reason") or ""),
                details={"version": firmware.get("version"),
                         "from_version": firmware.get("from_version")}))
        st["seen"]["firmware"] = at

    causes: list[Cause] = []
    if "session_down" not in unknown:
        causes += _session_causes(snap, settings)
        causes += _max_prefix_causes(snap, settings, st, new_trips)
    if "port_down" not in unknown:
        causes += _port_causes(snap, settings)
    if "hygiene_drops" not in unknown:
        drop_causes, st["drops"] = _hygiene_causes(snap, settings, st, now)
        causes += drop_causes
    for rule, finder in (("filtered_routes", _filtered_causes),
                         ("filter_data_stale", _data_causes),
                         ("anycast_withdrawn", _anycast_causes),
                         ("root_zone_stale", _root_causes), ("disk_full", _disk_causes)):
        if rule not in unknown:
            causes += finder(snap, settings)

    present = {c.key: c for c in causes}
    # causes gone: forget the pending ones, resolve the open ones
    for key in list(st["pending"]):
        if key not in present and key.split(":", 1)[0] not in unknown:
            del st["pending"][key]
    for key in list(st["open"]):
        alert = st["open"][key]
        if key in present:
            continue
        if alert["rule"] in unknown and _rule(settings, alert["rule"]) is not None:
            continue  # its input could not be read this round: nothing is known
        alert["resolved"] = now
        if _rule(settings, alert["rule"]) is None:
            alert["resolution"] = "rule switched off"
        else:
            alert["resolution"] = "resolved"
            if alert.get("notified"):
                events.append(_event("resolved", alert))
        st["past"].append(alert)
        del st["open"][key]
    # causes present: wait out the hold, then open (once)
    for key, cause in present.items():
        if key in st["open"]:
            st["open"][key]["text"] = cause.text  # the newest numbers
            st["open"][key]["value"] = cause.value
            continue
        first = st["pending"].setdefault(key, now)
        if now - first < cause.hold:
            continue
        del st["pending"][key]
        alert = _alert(cause, first)
        alert["fired"] = now
        if now - float(st["last_sent"].get(key, -1e18)) >= quiet:
            alert["notified"] = True
            st["last_sent"][key] = now
            events.append(_event("firing", alert))
        st["open"][key] = alert
    for cause in oneoff:
        alert = {**_alert(cause, now), "fired": now, "resolved": now, "resolution": "event",
                 "notified": True}
        events.append(_event("event", alert))
        st["past"].append(alert)

    st["past"] = st["past"][-PAST_KEEP:]
    # the quiet period only needs the sends of the last quiet_minutes
    st["last_sent"] = {k: t for k, t in st["last_sent"].items() if now - t < max(quiet, 1)}
    return st, events
