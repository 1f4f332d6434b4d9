"""What a change means, in plain sentences, for people who review it (web and CLI).

``summarize`` compares the running configuration with a candidate and says what happens:
"AS64501 Coral Cloud joins the exchange on port ixp6 ...", "The route server opens 2 BGP
sessions for it". ``describe_change`` rewords one technical plan line of the pipeline
("~ [firewall] nft table inet ixp_mgmt (reload in place, atomic (drop counters kept))")
for a beginner.
Both are pure: no file, process or network is touched. Secrets are never shown, only that
they change.
"""

from __future__ import annotations

from typing import Any, Protocol

from appliance.config.model import IXPConfig, Member
from appliance.config.secrets import is_secret

RPKI_WORDS = {"reject_invalid": "RPKI-invalid routes are rejected",
              "tag_only": "RPKI-invalid routes are only tagged, not rejected",
              "off": "RPKI is not checked"}
IRR_WORDS = {"reject": "routes not registered in the IRR are rejected",
             "tag_only": "routes not registered in the IRR are only tagged, not rejected",
             "off": "the IRR is not checked"}

# Labels for settings outside the member list (dotted paths in the model's JSON form).
_LABELS = {
    "identity.name": "the exchange's name", "identity.short_name": "the short name",
    "identity.country": "the country", "identity.city": "the city",
    "identity.contact_email": "the contact e-mail", "identity.url": "the web site",
    "management.interface": "the management NIC", "management.hostname": "the host name",
    "management.ipv4": "the management IPv4 address",
    "management.ipv4_gateway": "the IPv4 gateway", "management.ipv6": "the management IPv6 "
    "address", "management.dns": "the DNS servers", "management.ntp": "the NTP servers",
    "management.timezone": "the time zone", "management.allowed_networks":
    "the networks allowed to manage the box", "management.firewall":
    "the management firewall",
    "peering_lan.ipv4_prefix": "the peering LAN's IPv4 prefix",
    "peering_lan.ipv6_prefix": "the peering LAN's IPv6 prefix", "peering_lan.mtu":
    "the peering LAN's MTU", "peering_lan.bridge": "the bridge (the switch inside the box)",
    "peering_lan.vlan": "the peering LAN's VLAN",
    "route_server.asn": "the route server's ASN", "route_server.router_id":
    "the route server's router id", "route_server.ipv4": "the route server's IPv4 address",
    "route_server.ipv6": "the route server's IPv6 address",
    "route_server.policy.rpki": "RPKI filtering", "route_server.policy.irr": "IRR filtering",
    "services.resolver.enabled": "the members' DNS resolver",
    "services.resolver.ipv4": "the resolver's IPv4 address(es)",
    "services.resolver.ipv6": "the resolver's IPv6 address(es)",
    "services.resolver.local_root": "the local copy of the root zone",
    "services.looking_glass.public": "the public looking glass",
    "snmp.enabled": "the SNMP agent", "snmp.location": "the SNMP location",
}


class PlanLine(Protocol):
    """What ``describe_change`` needs of a pipeline change (``pipeline.concern.Change``)."""

    concern: str
    action: str
    target: str
    detail: str


def _show(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "nothing"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    return str(value)


def _and(values: list[Any]) -> str:
    items = [str(i) for i in values if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: data}


def _who(m: Member) -> str:
    return f"AS{m.asn} {m.name}"


def _ports(m: Member) -> list[str]:
    return [p.interface if p.vlan is None else f"{p.interface} VLAN {p.vlan}" for p in m.ports]


def _sessions(m: Member) -> int:
    return len(m.ipv4) + len(m.ipv6) if m.route_server else 0


def _sessions_text(n: int) -> str:
    return "one BGP session" if n == 1 else f"{n} BGP sessions"


def _member_added(cfg: IXPConfig, m: Member) -> list[str]:
    parts = [f"port {_and(_ports(m))}"]
    if m.ipv4 or m.ipv6:
        parts.append(f"address{'es' if len(m.ipv4) + len(m.ipv6) > 1 else ''} "
                     f"{_and([*m.ipv4, *m.ipv6])}")
    parts.append(f"max-prefix {m.max_prefix.ipv4} IPv4 / {m.max_prefix.ipv6} IPv6")
    if m.as_set:
        parts.append(f"AS-SET {m.as_set}")
    out = [f"{_who(m)} joins the exchange: {_and(parts)}."]
    n = _sessions(m)
    if n:
        pol = cfg.effective_policy(m)
        out.append(f"The route server opens {_sessions_text(n)} for {_who(m)} "
                   f"({IRR_WORDS[pol.irr]}; {RPKI_WORDS[pol.rpki]}).")
    elif m.route_server:
        out.append(f"{_who(m)} has no peering-LAN address, so the route server opens no "
                   "session for it.")
    else:
        out.append(f"{_who(m)} does not peer with the route server (bilateral peering only).")
    out.append(f"The switch locks {_and(_ports(m))} to the MAC address"
               f"{'es' if len(m.macs) > 1 else ''} {_and(list(m.macs))}: frames from any "
               "other router are dropped.")
    if m.quarantine:
        out.append(f"{_and(_ports(m))} starts in quarantine: the member reaches only the "
                   "route server until you release it.")
    return out


def _member_removed(m: Member) -> list[str]:
    out = [f"{_who(m)} leaves the exchange: {_and(_ports(m))} is released from the "
           "peering LAN."]
    n = _sessions(m)
    if n:
        out.append(f"The route server closes its {_sessions_text(n)} with {_who(m)}; "
                   "the other members stop receiving its routes.")
    return out


_MEMBER_LABELS = {
    "name": "name", "noc_email": "NOC e-mail", "ports": "port", "macs": "router MAC",
    "ipv4": "IPv4 address", "ipv6": "IPv6 address", "max_prefix.ipv4": "IPv4 max-prefix",
    "max_prefix.ipv6": "IPv6 max-prefix", "as_set": "AS-SET", "quarantine": "quarantine",
    "bfd": "BFD", "ttl_security": "GTSM (TTL security)", "md5_password": "BGP password",
    "root_instance.letter": "root server instance", "policy.rpki": "RPKI filtering",
    "policy.irr": "IRR filtering",
}


def _member_changed(cfg: IXPConfig, old: Member, new: Member) -> list[str]:
    a = _flat(old.model_dump(mode="json"))
    b = _flat(new.model_dump(mode="json"))
    a["ports"], b["ports"] = _ports(old), _ports(new)
    for k in list(a) + list(b):
        if k.startswith("ports."):
            a.pop(k, None)
            b.pop(k, None)
    bits: list[str] = []
    for key in sorted(set(a) | set(b), key=lambda k: (k not in _MEMBER_LABELS, k)):
        if a.get(key) == b.get(key) or key in ("asn", "route_server"):
            continue
        label = _MEMBER_LABELS.get(key, key)
        if is_secret(key):
            bits.append(f"the {label} changes")
        else:
            bits.append(f"{label} {_show(a.get(key))} → {_show(b.get(key))}")
    out = [f"{_who(new)} changes: {'; '.join(bits)}."] if bits else []
    before, after = _sessions(old), _sessions(new)
    if after and not before:
        out.append(f"The route server opens {_sessions_text(after)} for {_who(new)}.")
    elif before and not after:
        out.append(f"The route server closes its {_sessions_text(before)} with {_who(new)}.")
    elif before and (old.ipv4 != new.ipv4 or old.ipv6 != new.ipv6 or old.md5_password
                     != new.md5_password or old.bfd != new.bfd
                     or old.ttl_security != new.ttl_security):
        out.append(f"The route server re-opens its sessions with {_who(new)} "
                   "(they drop for a moment).")
    if old.macs != new.macs or old.ports != new.ports:
        out.append(f"The switch locks {_and(_ports(new))} to {_and(list(new.macs))}.")
    if old.quarantine != new.quarantine:
        out.append(f"{_and(_ports(new))} " + ("goes into quarantine." if new.quarantine
                                             else "leaves quarantine."))
    return out


def _pair_members(old: list[Member], new: list[Member]) -> tuple[list[tuple[Member, Member]],
                                                                  list[Member], list[Member]]:
    """Match entries by ASN (in order, as an ASN may connect several routers)."""
    pairs: list[tuple[Member, Member]] = []
    left = list(old)
    added: list[Member] = []
    for m in new:
        match = next((o for o in left if o.asn == m.asn and o == m), None) \
            or next((o for o in left if o.asn == m.asn), None)
        if match is None:
            added.append(m)
        else:
            left.remove(match)
            pairs.append((match, m))
    return pairs, added, left


def _members(old: IXPConfig | None, new: IXPConfig) -> list[str]:
    pairs, added, removed = _pair_members(list(old.members) if old else [], list(new.members))
    out: list[str] = []
    for m in added:
        out += _member_added(new, m)
    for m in removed:
        out += _member_removed(m)
    for a, b in pairs:
        if a != b:
            out += _member_changed(new, a, b)
    return out


def _setting(key: str, before: Any, after: Any) -> str:
    label = _LABELS.get(key, key.replace("_", " "))
    if is_secret(key):
        return f"The {label} changes (not shown)."
    if key == "route_server.policy.rpki":
        return f"RPKI filtering: {RPKI_WORDS.get(after, after)} (was: "\
               f"{RPKI_WORDS.get(before, before)})."
    if key == "route_server.policy.irr":
        return f"IRR filtering: {IRR_WORDS.get(after, after)} (was: "\
               f"{IRR_WORDS.get(before, before)})."
    if isinstance(after, bool) and isinstance(before, bool):
        return f"{label[0].upper()}{label[1:]} is turned {'on' if after else 'off'}."
    return f"{label[0].upper()}{label[1:]}: {_show(before)} → {_show(after)}."


def _sections(old: IXPConfig, new: IXPConfig) -> list[str]:
    out: list[str] = []
    skip = ("members", "admin_users", "snmp", "version")
    a = {k: v for k, v in _flat(old.model_dump(mode="json")).items()
         if not k.startswith(skip)}
    b = {k: v for k, v in _flat(new.model_dump(mode="json")).items()
         if not k.startswith(skip)}
    for key in [k for k in a if k in b] + [k for k in b if k not in a]:
        if a.get(key) != b.get(key):
            out.append(_setting(key, a.get(key), b.get(key)))
    if old.management.interface != new.management.interface:
        out.append(f"The web UI, SSH and SNMP then answer only on "
                   f"{new.management.interface}; make sure you reach the box through it.")
    return out


def _snmp(old: IXPConfig | None, new: IXPConfig) -> list[str]:
    o, n = (old.snmp if old else None), new.snmp
    out: list[str] = []
    if o is None or o.enabled != n.enabled:
        out.append("The SNMP agent is turned on." if n.enabled else
                   ("The SNMP agent is turned off." if o is not None else ""))
    if o is not None and o.location != n.location:
        out.append(f"The SNMP location: {_show(o.location)} → {_show(n.location)}.")
    old_users = {u.name: u for u in (o.users if o else [])}
    for u in n.users:
        if u.name not in old_users:
            out.append(f"SNMPv3 user {u.name} is added.")
        elif old_users[u.name] != u:
            out.append(f"SNMPv3 user {u.name} changes (pass phrases not shown).")
    for name in old_users.keys() - {u.name for u in n.users}:
        out.append(f"SNMPv3 user {name} is removed.")
    if (o.communities if o else []) != n.communities:
        out.append(f"The SNMPv2c communities change ({len(n.communities)} now; "
                   "not shown).")
    return [x for x in out if x]


def _users(old: IXPConfig | None, new: IXPConfig) -> list[str]:
    before = {u.name: u for u in (old.admin_users if old else [])}
    out: list[str] = []
    for u in new.admin_users:
        if u.name not in before:
            out.append(f"Account {u.name} ({u.role}) can log in.")
        elif before[u.name].role != u.role:
            out.append(f"Account {u.name} becomes {u.role}.")
        elif before[u.name].password_hash != u.password_hash:
            out.append(f"The password of {u.name} changes.")
    for name in before.keys() - {u.name for u in new.admin_users}:
        out.append(f"Account {name} is removed and can no longer log in.")
    return out


def _first_setup(new: IXPConfig) -> list[str]:
    rs, lan, mg = new.route_server, new.peering_lan, new.management
    prefixes = [str(lan.ipv4_prefix)] + ([str(lan.ipv6_prefix)] if lan.ipv6_prefix else [])
    out = [f"{new.identity.name} ({new.identity.short_name}) is set up on this box.",
           f"The management NIC is {mg.interface} ({'DHCP' if mg.ipv4 == 'dhcp' else mg.ipv4})"
           f": the web UI, SSH and SNMP answer only there.",
           f"The peering LAN is {_and(prefixes)}"
           f" on the bridge {lan.bridge}, MTU {lan.mtu}.",
           f"The route server AS{rs.asn} listens on "
           f"{_and([str(x) for x in (rs.ipv4, rs.ipv6) if x]) or 'the peering LAN'} "
           f"({IRR_WORDS[rs.policy.irr]}; {RPKI_WORDS[rs.policy.rpki]})."]
    res = new.services.resolver
    if res.enabled:
        out.append(f"The members' DNS resolver answers on {_and([*res.ipv4, *res.ipv6])}"
                   + (" with a local copy of the root zone." if res.local_root else "."))
    for a in new.services.anycast:
        out.append(f"The route server announces {a.prefix} to the members while the "
                   "resolver answers.")
    if new.services.looking_glass.public:
        out.append("The looking glass is public (read-only, no account needed).")
    return out


def summarize(running: IXPConfig | None, candidate: IXPConfig) -> list[str]:
    """Plain sentences saying what applying ``candidate`` over ``running`` does."""
    out = _first_setup(candidate) if running is None else _sections(running, candidate)
    out += _members(running, candidate)
    out += _snmp(running, candidate)
    out += _users(running, candidate)
    return out


_CONCERN_WORDS = {"core": "the configuration", "route_server": "the route server (BIRD)",
                  "bridge": "the peering LAN switch", "firewall": "the management firewall",
                  "resolver": "the DNS resolver", "anycast": "the anycast service",
                  "snmp": "the SNMP agent", "lab": "the lab"}
_FILE_WORDS = {"ixp.yaml": "the configuration file", "bird/bird.conf":
               "the route server's configuration", "nft/hygiene.nft":
               "the peering LAN's traffic filter", "nft/mgmt-firewall.nft":
               "the management firewall's rules", "snmp/agent.json":
               "the SNMP agent's settings"}
_VERBS = {"add": "is created", "change": "is updated", "remove": "is removed"}


def describe_change(change: PlanLine) -> str:
    """One plan line in words, e.g. "The management firewall is reloaded (atomic replace)"."""
    concern = _CONCERN_WORDS.get(change.concern, change.concern.replace("_", " "))
    target, action, detail = change.target, change.action, change.detail
    verb = _VERBS.get(action, action)
    if target.startswith("file "):
        rel = target[5:]
        what = _FILE_WORDS.get(rel, f"the file {rel}")
        text = f"{what[0].upper()}{what[1:]} {verb}"
    elif change.concern == "firewall":
        text = {"add": "The management firewall is loaded",
                "change": "The management firewall is reloaded",
                "remove": "The management firewall is removed"}.get(action, verb)
        if "counters kept" in detail:
            detail = "updated in place in one step: no moment without rules, drop counts kept"
        elif "atomic" in detail:
            detail = "replaced in one step: no moment without rules"
    elif target.startswith("port "):
        text = f"Port {target[5:]} {'joins the peering LAN' if action == 'add' else verb}"
    elif target.startswith("fdb "):
        mac, _, port = target[4:].partition(" on ")
        text = (f"The switch locks {port} to MAC {mac}" if action == "add"
                else f"The switch forgets MAC {mac} on {port}")
        detail = ""
    elif target.startswith("neighbour "):
        text = f"The route server's neighbour entry for {target[10:]} {verb}"
    elif target.startswith("address "):
        text = f"Address {target[8:]} {'is added' if action == 'add' else verb}"
    elif target.startswith("nft table"):
        text = f"The {'peering LAN traffic filter' if change.concern == 'bridge' else target}"\
               f" {'is loaded' if action == 'add' else verb}"
    elif target.startswith("unbound process"):
        text = "The DNS resolver is started" if action == "add" else \
            "The DNS resolver is stopped"
    elif target.startswith("lab "):
        text = f"The lab {'creates' if action == 'add' else 'removes'} {target[4:]}"
    else:
        text = f"{concern[0].upper()}{concern[1:]}: {target} {verb}"
    return f"{text} ({detail})." if detail else f"{text}."
