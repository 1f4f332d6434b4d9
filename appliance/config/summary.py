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

from collections.abc import Iterable
from typing import Any, Protocol

from appliance.config.model import IXPConfig, Member
from appliance.config.secrets import is_secret, mask_data


class Phrase(str):
    """English words that also carry their shape: ``template`` (a gettext msgid with
    ``%(name)s`` placeholders, told apart by ``context`` when set) and the ``values`` filled
    in, so the web can say them in the reader's language (``appliance.web.summary.say``). As a
    ``str`` it is exactly the English the CLI prints. Values may be Phrases or Series
    themselves; they are translated too."""

    template: str
    values: dict[str, Any]
    capital: bool
    context: str | None

    def __new__(cls, template: str, /, **values: Any) -> Phrase:
        self = super().__new__(cls, template % values if values else template)
        self.template, self.values, self.capital, self.context = template, values, False, None
        return self

    def capitalized(self) -> Phrase:
        """The same words with a capital first letter (in every language)."""
        out = str.__new__(Phrase, self[:1].upper() + self[1:])
        out.template, out.values, out.capital = self.template, self.values, True
        out.context = self.context
        return out


def _term(context: str, text: str) -> Phrase:
    """``text`` as a Phrase with a gettext ``context``: a form's label ("IPv4 address") is
    written with a capital in other languages, the same words inside a sentence are not."""
    out = Phrase(text)
    out.context = context
    return out


class Series(str):
    """A list of words joined by ``joiner``: "and" for "a, b and c" (each language has its
    own, see Babel's lists), else that separator as it is. ``items`` keep their Phrases."""

    items: tuple[Any, ...]
    joiner: str

    def __new__(cls, joiner: str, items: Iterable[Any]) -> Series:
        kept = tuple(items)
        if joiner == "and":
            text = "".join(kept) if len(kept) <= 1 else \
                ", ".join(kept[:-1]) + " and " + kept[-1]
        else:
            text = joiner.join(kept)
        self = super().__new__(cls, text)
        self.items, self.joiner = kept, joiner
        return self


RPKI_WORDS = {"reject_invalid": Phrase("RPKI-invalid routes are rejected"),
              "tag_only": Phrase("RPKI-invalid routes are only tagged, not rejected"),
              "off": Phrase("RPKI is not checked")}
ASPA_WORDS = {"reject_invalid": Phrase("ASPA-invalid routes are rejected"),
              "tag_only": Phrase("ASPA-invalid routes are only tagged, not rejected"),
              "off": Phrase("ASPA is not checked")}
IRR_WORDS = {"reject": Phrase("routes not registered in the IRR are rejected"),
             "tag_only": Phrase("routes not registered in the IRR are only tagged, not rejected"),
             "off": Phrase("the IRR is not checked")}

# Labels for settings outside the member list (dotted paths in the model's JSON form).
_LABELS = {
    "identity.name": Phrase("the exchange's name"),
    "identity.short_name": Phrase("the short name"),
    "identity.country": Phrase("the country"), "identity.city": Phrase("the city"),
    "identity.contact_email": Phrase("the contact e-mail"),
    "identity.url": Phrase("the web site"),
    "management.interface": Phrase("the management NIC"),
    "management.hostname": Phrase("the host name"),
    "management.ipv4": Phrase("the management IPv4 address"),
    "management.ipv4_gateway": Phrase("the IPv4 gateway"),
    "management.ipv6": Phrase("the management IPv6 address"),
    "management.dns": Phrase("the DNS servers"), "management.ntp": Phrase("the NTP servers"),
    "management.timezone": Phrase("the time zone"),
    "management.allowed_networks": Phrase("the networks allowed to manage the box"),
    "management.firewall": Phrase("the management firewall"),
    "peering_lan.ipv4_prefix": Phrase("the peering LAN's IPv4 prefix"),
    "peering_lan.ipv6_prefix": Phrase("the peering LAN's IPv6 prefix"),
    "peering_lan.mtu": Phrase("the peering LAN's MTU"),
    "peering_lan.bridge": Phrase("the bridge (the switch inside the box)"),
    "peering_lan.vlan": Phrase("the peering LAN's VLAN"),
    "route_server.asn": Phrase("the route server's ASN"),
    "route_server.router_id": Phrase("the route server's router id"),
    "route_server.ipv4": Phrase("the route server's IPv4 address"),
    "route_server.ipv6": Phrase("the route server's IPv6 address"),
    "route_server.policy.rpki": _term("setting", "RPKI filtering"),
    "route_server.policy.irr": _term("setting", "IRR filtering"),
    "route_server.policy.aspa": _term("setting", "ASPA path check"),
    "services.resolver.enabled": Phrase("the members' DNS resolver"),
    "services.resolver.ipv4": Phrase("the resolver's IPv4 address(es)"),
    "services.resolver.ipv6": Phrase("the resolver's IPv6 address(es)"),
    "services.resolver.local_root": Phrase("the local copy of the root zone"),
    "services.looking_glass.public": Phrase("the public looking glass"),
    "snmp.enabled": Phrase("the SNMP agent"), "snmp.location": Phrase("the SNMP location"),
}


class PlanLine(Protocol):
    """What ``describe_change`` needs of a pipeline change (``pipeline.concern.Change``)."""

    concern: str
    action: str
    target: str
    detail: str


def _show(value: Any) -> str:
    if value is None or value == [] or value == "":
        return Phrase("nothing")
    if isinstance(value, bool):
        return Phrase("on") if value else Phrase("off")
    if isinstance(value, list):
        return Series(", ", [_show(v) for v in value])
    if isinstance(value, dict):
        # an entry of a list (a webhook, an SNMP manager): its fields, never its secrets
        return "(" + "; ".join(f"{k} {_show(v)}" for k, v in mask_data(value).items()
                               if v not in (None, [], "")) + ")"
    return str(value)


def _and(values: list[Any]) -> str:
    """"a, b and c" of the non-empty values (Phrases kept, to be translated)."""
    return Series("and", [i if isinstance(i, str) else str(i) for i in values if i])


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
    return Phrase("one BGP session") if n == 1 else Phrase("%(n)s BGP sessions", n=n)


def _member_added(cfg: IXPConfig, m: Member) -> list[str]:
    ports = _and(_ports(m))
    parts: list[str] = [Phrase("port %(ports)s", ports=ports)]
    if m.ipv4 or m.ipv6:
        addresses = _and([*m.ipv4, *m.ipv6])
        parts.append(Phrase("addresses %(addresses)s", addresses=addresses)
                     if len(m.ipv4) + len(m.ipv6) > 1
                     else Phrase("address %(address)s", address=addresses))
    parts.append(Phrase("max-prefix %(ipv4)s IPv4 / %(ipv6)s IPv6", ipv4=m.max_prefix.ipv4,
                        ipv6=m.max_prefix.ipv6))
    if m.as_set:
        parts.append(f"AS-SET {m.as_set}")
    who = _who(m)
    out: list[str] = [Phrase("%(who)s joins the exchange: %(parts)s.", who=who,
                             parts=_and(parts))]
    n = _sessions(m)
    if n:
        pol = cfg.effective_policy(m)
        out.append(Phrase("The route server opens %(sessions)s for %(who)s (%(irr)s; "
                          "%(rpki)s).", sessions=_sessions_text(n), who=who,
                          irr=IRR_WORDS[pol.irr], rpki=RPKI_WORDS[pol.rpki]))
    elif m.route_server:
        out.append(Phrase("%(who)s has no peering-LAN address, so the route server opens no "
                          "session for it.", who=who))
    else:
        out.append(Phrase("%(who)s does not peer with the route server (bilateral peering "
                          "only).", who=who))
    macs = _and(list(m.macs))
    out.append(Phrase("The switch locks %(ports)s to the MAC addresses %(macs)s: frames from "
                      "any other router are dropped.", ports=ports, macs=macs)
               if len(m.macs) > 1 else
               Phrase("The switch locks %(ports)s to the MAC address %(macs)s: frames from "
                      "any other router are dropped.", ports=ports, macs=macs))
    if m.quarantine:
        out.append(Phrase("%(ports)s starts in quarantine: the member reaches only the route "
                          "server until you release it.", ports=ports))
    return out


def _member_removed(m: Member) -> list[str]:
    out: list[str] = [Phrase("%(who)s leaves the exchange: %(ports)s is released from the "
                             "peering LAN.", who=_who(m), ports=_and(_ports(m)))]
    n = _sessions(m)
    if n:
        out.append(Phrase("The route server closes its %(sessions)s with %(who)s; the other "
                          "members stop receiving its routes.", sessions=_sessions_text(n),
                          who=_who(m)))
    return out


# The member form's labels, lower-case inside "AS64501 X changes: name A → B; ..."
_MEMBER_LABELS = {
    "name": _term("member setting", "name"),
    "noc_email": _term("member setting", "NOC e-mail"),
    "ports": _term("member setting", "port"),
    "macs": _term("member setting", "router MAC"),
    "ipv4": _term("member setting", "IPv4 address"),
    "ipv6": _term("member setting", "IPv6 address"),
    "max_prefix.ipv4": _term("member setting", "IPv4 max-prefix"),
    "max_prefix.ipv6": _term("member setting", "IPv6 max-prefix"),
    "as_set": "AS-SET",
    "quarantine": _term("member setting", "quarantine"),
    "bfd": "BFD",
    "ttl_security": _term("member setting", "GTSM (TTL security)"),
    "md5_password": _term("member setting", "BGP password"),
    "root_instance.letter": _term("member setting", "root server instance"),
    "policy.rpki": _term("member setting", "RPKI filtering"),
    "policy.aspa": _term("member setting", "ASPA path check"),
    "policy.irr": _term("member setting", "IRR filtering"),
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
            bits.append(Phrase("the %(label)s changes", label=label))
        else:
            bits.append(Phrase("%(label)s %(before)s → %(after)s", label=label,
                               before=_show(a.get(key)), after=_show(b.get(key))))
    who = _who(new)
    out: list[str] = [Phrase("%(who)s changes: %(changes)s.", who=who,
                             changes=Series("; ", bits))] if bits else []
    before, after = _sessions(old), _sessions(new)
    if after and not before:
        out.append(Phrase("The route server opens %(sessions)s for %(who)s.",
                          sessions=_sessions_text(after), who=who))
    elif before and not after:
        out.append(Phrase("The route server closes its %(sessions)s with %(who)s.",
                          sessions=_sessions_text(before), who=who))
    elif before and (old.ipv4 != new.ipv4 or old.ipv6 != new.ipv6 or old.md5_password
                     != new.md5_password or old.bfd != new.bfd
                     or old.ttl_security != new.ttl_security):
        out.append(Phrase("The route server re-opens its sessions with %(who)s (they drop "
                          "for a moment).", who=who))
    ports = _and(_ports(new))
    if old.macs != new.macs or old.ports != new.ports:
        out.append(Phrase("The switch locks %(ports)s to %(macs)s.", ports=ports,
                          macs=_and(list(new.macs))))
    if old.quarantine != new.quarantine:
        out.append(Phrase("%(ports)s goes into quarantine.", ports=ports) if new.quarantine
                   else Phrase("%(ports)s leaves quarantine.", ports=ports))
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
        return Phrase("The %(label)s changes (not shown).", label=label)
    if key == "route_server.policy.rpki":
        return Phrase("RPKI filtering: %(after)s (was: %(before)s).",
                      after=RPKI_WORDS.get(after, after), before=RPKI_WORDS.get(before, before))
    if key == "route_server.policy.aspa":
        return Phrase("ASPA path check: %(after)s (was: %(before)s).",
                      after=ASPA_WORDS.get(after, after), before=ASPA_WORDS.get(before, before))
    if key == "route_server.policy.irr":
        return Phrase("IRR filtering: %(after)s (was: %(before)s).",
                      after=IRR_WORDS.get(after, after), before=IRR_WORDS.get(before, before))
    if isinstance(after, bool) and isinstance(before, bool):
        return (Phrase("%(label)s is turned on.", label=label) if after
                else Phrase("%(label)s is turned off.", label=label)).capitalized()
    return Phrase("%(label)s: %(before)s → %(after)s.", label=label, before=_show(before),
                  after=_show(after)).capitalized()


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
        out.append(Phrase("The web UI, SSH and SNMP then answer only on %(nic)s; make sure "
                          "you reach the box through it.", nic=new.management.interface))
    return out


def _snmp(old: IXPConfig | None, new: IXPConfig) -> list[str]:
    o, n = (old.snmp if old else None), new.snmp
    out: list[str] = []
    if o is None or o.enabled != n.enabled:
        out.append(Phrase("The SNMP agent is turned on.") if n.enabled else
                   (Phrase("The SNMP agent is turned off.") if o is not None else ""))
    if o is not None and o.location != n.location:
        out.append(Phrase("The SNMP location: %(before)s → %(after)s.",
                          before=_show(o.location), after=_show(n.location)))
    old_users = {u.name: u for u in (o.users if o else [])}
    for u in n.users:
        if u.name not in old_users:
            out.append(Phrase("SNMPv3 user %(name)s is added.", name=u.name))
        elif old_users[u.name] != u:
            out.append(Phrase("SNMPv3 user %(name)s changes (pass phrases not shown).",
                              name=u.name))
    for name in old_users.keys() - {u.name for u in n.users}:
        out.append(Phrase("SNMPv3 user %(name)s is removed.", name=name))
    if (o.communities if o else []) != n.communities:
        out.append(Phrase("The SNMPv2c communities change (%(n)s now; not shown).",
                          n=len(n.communities)))
    return [x for x in out if x]


# The roles' names, as the users page shows them.
_ROLES = {"admin": Phrase("admin"), "viewer": Phrase("viewer")}


def _users(old: IXPConfig | None, new: IXPConfig) -> list[str]:
    before = {u.name: u for u in (old.admin_users if old else [])}
    out: list[str] = []
    for u in new.admin_users:
        role = _ROLES.get(u.role, u.role)
        if u.name not in before:
            out.append(Phrase("Account %(name)s (%(role)s) can log in.", name=u.name, role=role))
        elif before[u.name].role != u.role:
            out.append(Phrase("Account %(name)s becomes %(role)s.", name=u.name, role=role))
        elif before[u.name].password_hash != u.password_hash:
            out.append(Phrase("The password of %(name)s changes.", name=u.name))
    for name in before.keys() - {u.name for u in new.admin_users}:
        out.append(Phrase("Account %(name)s is removed and can no longer log in.", name=name))
    return out


def _first_setup(new: IXPConfig) -> list[str]:
    rs, lan, mg = new.route_server, new.peering_lan, new.management
    prefixes = [str(lan.ipv4_prefix)] + ([str(lan.ipv6_prefix)] if lan.ipv6_prefix else [])
    out: list[str] = [
        Phrase("%(name)s (%(short_name)s) is set up on this box.", name=new.identity.name,
               short_name=new.identity.short_name),
        Phrase("The management NIC is %(nic)s (%(address)s): the web UI, SSH and SNMP answer "
               "only there.", nic=mg.interface,
               address="DHCP" if mg.ipv4 == "dhcp" else str(mg.ipv4)),
        Phrase("The peering LAN is %(prefixes)s on the bridge %(bridge)s, MTU %(mtu)s.",
               prefixes=_and(prefixes), bridge=lan.bridge, mtu=lan.mtu),
        Phrase("The route server AS%(asn)s listens on %(addresses)s (%(irr)s; %(rpki)s).",
               asn=rs.asn, addresses=_and([str(x) for x in (rs.ipv4, rs.ipv6) if x])
               or Phrase("the peering LAN"),
               irr=IRR_WORDS[rs.policy.irr], rpki=RPKI_WORDS[rs.policy.rpki])]
    res = new.services.resolver
    if res.enabled:
        addresses = _and([*res.ipv4, *res.ipv6])
        out.append(Phrase("The members' DNS resolver answers on %(addresses)s with a local "
                          "copy of the root zone.", addresses=addresses) if res.local_root
                   else Phrase("The members' DNS resolver answers on %(addresses)s.",
                               addresses=addresses))
    for a in new.services.anycast:
        out.append(Phrase("The route server announces %(prefix)s to the members while the "
                          "resolver answers.", prefix=a.prefix))
    if new.services.looking_glass.public:
        out.append(Phrase("The looking glass is public (read-only, no account needed)."))
    return out


def summarize(running: IXPConfig | None, candidate: IXPConfig) -> list[str]:
    """Plain sentences saying what applying ``candidate`` over ``running`` does (Phrases:
    English as ``str``, translatable by their template and values)."""
    out = _first_setup(candidate) if running is None else _sections(running, candidate)
    out += _members(running, candidate)
    out += _snmp(running, candidate)
    out += _users(running, candidate)
    return out


_CONCERN_WORDS = {"core": Phrase("the configuration"),
                  "route_server": Phrase("the route server (BIRD)"),
                  "bridge": Phrase("the peering LAN switch"),
                  "firewall": Phrase("the management firewall"),
                  "resolver": Phrase("the DNS resolver"),
                  "anycast": Phrase("the anycast service"),
                  "snmp": Phrase("the SNMP agent"), "lab": Phrase("the lab"),
                  "alerts": Phrase("the alerts")}
_FILE_WORDS = {"ixp.yaml": Phrase("the configuration file"),
               "bird/bird.conf": Phrase("the route server's configuration"),
               "nft/hygiene.nft": Phrase("the peering LAN's traffic filter"),
               "nft/mgmt-firewall.nft": Phrase("the management firewall's rules"),
               "snmp/agent.json": Phrase("the SNMP agent's settings"),
               "alerts/alerts.json": Phrase("the alerts' rules and channels")}


def _done(what: str, action: str) -> Phrase:
    """"``what`` is created / updated / removed", as one sentence to translate whole (the
    verb agrees with its subject in other languages)."""
    if action == "add":
        return Phrase("%(what)s is created", what=what)
    if action == "remove":
        return Phrase("%(what)s is removed", what=what)
    return Phrase("%(what)s is updated", what=what)


def describe_change(change: PlanLine) -> str:
    """One plan line in words, e.g. "The management firewall is reloaded (atomic replace)"."""
    concern = _CONCERN_WORDS.get(change.concern, change.concern.replace("_", " "))
    target, action, detail = change.target, change.action, change.detail
    text: str
    if target.startswith("file "):
        rel = target[5:]
        text = _done(_FILE_WORDS.get(rel) or Phrase("the file %(path)s", path=rel),
                     action).capitalized()
    elif change.concern == "firewall":
        text = {"add": Phrase("The management firewall is loaded"),
                "change": Phrase("The management firewall is reloaded"),
                "remove": Phrase("The management firewall is removed")}[action]
        if "counters kept" in detail:
            detail = Phrase("updated in place in one step: no moment without rules, drop "
                            "counts kept")
        elif "atomic" in detail:
            detail = Phrase("replaced in one step: no moment without rules")
    elif target.startswith("port "):
        port = Phrase("port %(port)s", port=target[5:])
        text = (Phrase("%(what)s joins the peering LAN", what=port) if action == "add"
                else _done(port, action)).capitalized()
    elif target.startswith("fdb "):
        mac, _, port = target[4:].partition(" on ")
        text = (Phrase("The switch locks %(port)s to MAC %(mac)s", port=port, mac=mac)
                if action == "add" else
                Phrase("The switch forgets MAC %(mac)s on %(port)s", mac=mac, port=port))
        detail = ""
    elif target.startswith("neighbour "):
        text = _done(Phrase("the route server's neighbour entry for %(neighbour)s",
                            neighbour=target[10:]), action).capitalized()
    elif target.startswith("address "):
        address = Phrase("address %(address)s", address=target[8:])
        text = (Phrase("%(what)s is added", what=address) if action == "add"
                else _done(address, action)).capitalized()
    elif target.startswith("nft table"):
        table = Phrase("the peering LAN traffic filter") if change.concern == "bridge" \
            else Phrase("the %(table)s", table=target)
        text = (Phrase("%(what)s is loaded", what=table) if action == "add"
                else _done(table, action)).capitalized()
    elif target.startswith("unbound process"):
        text = Phrase("The DNS resolver is started") if action == "add" else \
            Phrase("The DNS resolver is stopped")
    elif target.startswith("lab "):
        text = (Phrase("The lab creates %(thing)s", thing=target[4:]) if action == "add"
                else Phrase("The lab removes %(thing)s", thing=target[4:]))
    else:
        text = Phrase("%(concern)s: %(step)s", concern=concern,
                      step=_done(target, action)).capitalized()
    return Phrase("%(text)s (%(detail)s).", text=text, detail=detail) if detail \
        else Phrase("%(text)s.", text=text)


# --- what a data refresh changed (appliance.route_server.refresh.member_changes) -----------

_IRR_FAMILY = {"ipv4": (Phrase("IRR IPv4 prefixes added: %(items)s"),
                        Phrase("IRR IPv4 prefixes removed: %(items)s")),
               "ipv6": (Phrase("IRR IPv6 prefixes added: %(items)s"),
                        Phrase("IRR IPv6 prefixes removed: %(items)s")),
               "asns": (Phrase("IRR origin ASNs added: %(items)s"),
                        Phrase("IRR origin ASNs removed: %(items)s"))}
_MOST_ITEMS = 8  # a long list is cut: the history shows a sentence, not the whole IRR


def _items(values: list[str]) -> str:
    if len(values) <= _MOST_ITEMS:
        return Series(", ", values)
    return Phrase("%(first)s and %(more)s more", first=Series(", ", values[:_MOST_ITEMS]),
                  more=len(values) - _MOST_ITEMS)


def _data_change(c: dict[str, Any]) -> list[Phrase]:
    kind = c["kind"]
    if kind == "irr_new":
        return [Phrase("IRR data for %(object)s now known: %(v4)s IPv4 and %(v6)s IPv6 "
                       "entries", object=c["object"], v4=c["ipv4"], v6=c["ipv6"])]
    if kind == "irr":
        add, rem = _IRR_FAMILY[c["family"]]
        return ([Phrase(add.template, items=_items(c["added"]))] if c["added"] else []) + \
               ([Phrase(rem.template, items=_items(c["removed"]))] if c["removed"] else [])
    if kind == "max_prefix":
        if c["family"] == "ipv4":
            return [Phrase("max-prefix IPv4 %(before)s → %(after)s", before=c["before"],
                           after=c["after"])]
        return [Phrase("max-prefix IPv6 %(before)s → %(after)s", before=c["before"],
                       after=c["after"])]
    if kind == "as_set" and c["before"] is None:
        return [Phrase("PeeringDB's AS-SET: %(after)s", after=c["after"])]
    if kind == "as_set":
        return [Phrase("PeeringDB's AS-SET %(before)s → %(after)s",
                       before=c["before"] or Phrase("nothing"),
                       after=c["after"] or Phrase("nothing"))]
    if kind == "never_via_rs":
        return [Phrase("PeeringDB now flags it never-via-route-servers") if c["flagged"]
                else Phrase("PeeringDB no longer flags it never-via-route-servers")]
    if kind == "never_via_rs_list":
        out = []
        if c["added"]:
            out.append(Phrase("networks PeeringDB flags never-via-route-servers: added "
                              "%(items)s", items=_items(c["added"])))
        if c["removed"]:
            out.append(Phrase("networks PeeringDB flags never-via-route-servers: removed "
                              "%(items)s", items=_items(c["removed"])))
        return out
    return []


def data_change_lines(changes: list[dict[str, Any]]) -> list[Phrase]:
    """One sentence per member (and one for the never-via-route-servers list) saying what a
    data refresh changed, e.g. "AS64501 Coral Cloud: IRR IPv4 prefixes added: 31.7.0.0/16"."""
    by_member: dict[int | None, tuple[str, list[Phrase]]] = {}
    for c in changes:
        label = f"AS{c['asn']} {c['name']}".strip() if c["asn"] is not None else ""
        by_member.setdefault(c["asn"], (label, []))[1].extend(_data_change(c))
    out = []
    for label, parts in by_member.values():
        if not parts:
            continue
        what = Series("; ", parts)
        out.append(Phrase("%(member)s: %(what)s", member=label, what=what) if label
                   else Phrase("%(what)s", what=what).capitalized())
    return out


def refresh_heading(sources: list[str]) -> Phrase:
    """"IRR data refreshed", "PeeringDB data refreshed" or both."""
    if set(sources) >= {"irr", "peeringdb"}:
        return Phrase("IRR and PeeringDB data refreshed")
    if "irr" in sources:
        return Phrase("IRR data refreshed")
    return Phrase("PeeringDB data refreshed")


def refresh_comment(sources: list[str], changes: list[dict[str, Any]]) -> str:
    """The revision comment of a refresh: which data, then what changed per member (English,
    as every revision comment)."""
    head = refresh_heading(sources)
    lines = data_change_lines(changes)
    return f"{head}: " + " | ".join(lines) if lines else str(head)
