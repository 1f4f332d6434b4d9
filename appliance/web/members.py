"""Members: list, add, edit and remove; each change goes through review → apply."""

from __future__ import annotations

import copy
import ipaddress
import re
from pathlib import Path
from typing import Any

import yaml
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from appliance.config.committed import committed_config
from appliance.config.model import IXPConfig
from appliance.config.root_servers import ROOT_SERVERS
from appliance.lab.lab import LabError, LabState
from appliance.pipeline.candidate import CandidateGone
from appliance.web import irr_status, jobs, peeringdb
from appliance.web.changes import prepare, propose
from appliance.web.changes import store as changes_store
from appliance.web.forms import (
    FormField,
    as_bool,
    as_flag,
    as_list,
    as_opt_out,
    deep_merge,
    field_for_issue,
    form_to_data,
    prune,
)
from appliance.web.nics import free_nics, nic_rows
from appliance.web.status import collect
from appliance.web.where import current_target
from appliance.web.wizard.candidate import base_data, validate_candidate

bp = Blueprint("members", __name__, url_prefix="/members")

FIELDS: tuple[FormField, ...] = (
    FormField("asn", _l("ASN"), _l("The member's public AS number."), kind="number", required=True),
    FormField("name", _l("Organisation"), required=True),
    FormField("noc_email", _l("NOC e-mail"), kind="email"),
    FormField("monthly_report", _l("Mail the NOC its monthly report card"),
              _l("Once a month, to the NOC e-mail, when the alert mail is set up."),
              kind="checkbox", parse=as_opt_out),
    FormField("ports", _l("Port(s)"), _l("The NIC(s) of this box the member is cabled to."),
              parse=as_list, required=True),
    FormField("vlan", _l("VLAN"),
              _l("Empty: the member's frames arrive untagged on the NIC. A VLAN id from 1 to "
                 "4094: they arrive tagged with it, and the NIC may carry other members' "
                 "VLANs."), kind="number"),
    FormField("macs", _l("Router MAC address(es)"), _l("Only these may send on the port."),
              parse=as_list, required=True),
    FormField("ipv4", _l("IPv4 address(es) on the peering LAN"), parse=as_list),
    FormField("ipv6", _l("IPv6 address(es) on the peering LAN"), parse=as_list),
    FormField("max_prefix.ipv4", _l("IPv4 max-prefix"), kind="number"),
    FormField("max_prefix.ipv6", _l("IPv6 max-prefix"), kind="number"),
    FormField("as_set", _l("AS-SET"),
              _l("The name under which the member lists its networks in the "
              "IRR, e.g. AS-EXAMPLE; the route server accepts only prefixes listed there. Empty: "
              "what is registered for its ASN.")),
    FormField("route_server", _l("Peers with the route server"), kind="checkbox", parse=as_bool),
    FormField("quarantine", _l("Start the port in quarantine"), kind="checkbox", parse=as_bool),
    FormField("bfd", _l("BFD on the route-server sessions"),
              _l("Only if the member's router runs BFD too, or the sessions stay down."),
              kind="checkbox", parse=as_flag),
    FormField("ttl_security", _l("GTSM (TTL security)"), _l("Both sides must enable it."),
              kind="checkbox", parse=as_flag),
    FormField("root_instance.letter", _l("Root server instance"),
              _l("For a root operator's server hosted here: the route server then accepts only "
              "that root server's prefixes from it, and keeps their NO_EXPORT."),
              kind="select", choices=(("", _l("No: an ordinary member")), *(
                  (r.letter, f"{r.letter.upper()}-root ({r.operator})")
                  for r in ROOT_SERVERS.values()))),
)


VLAN_MIN, VLAN_MAX = 1, 4094
# An issue about a port's VLAN (``ports[0].vlan``) belongs next to the VLAN field.
_VLAN_PATH = re.compile(r"ports\[\d+\]\.vlan")


def vlan_problem(text: str) -> str | None:
    """Why the VLAN field's text is not a VLAN id, or None (empty: an untagged port)."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not VLAN_MIN <= int(text) <= VLAN_MAX:
        return _("VLAN: give a VLAN id from %(low)s to %(high)s, or leave the field empty for "
                 "an untagged port (you typed %(typed)s).", low=VLAN_MIN, high=VLAN_MAX,
                 typed=text[:20])
    return None


def with_vlan(member: dict[str, Any]) -> dict[str, Any]:
    """The form's member with its VLAN field folded into its ports: ``ports: [eth1]`` and
    ``vlan: 101`` become ``ports: [{interface: eth1, vlan: 101}]``."""
    out = dict(member)
    vlan = out.pop("vlan", None)
    if vlan is not None:
        out["ports"] = [{"interface": p, "vlan": int(vlan)} for p in out.get("ports") or []]
    return out


def port_vlans(member: dict[str, Any]) -> set[int | None]:
    """The VLANs of a member's ports as the configuration has them (None: untagged)."""
    return {p.get("vlan") if isinstance(p, dict) else None for p in member.get("ports") or []}


def merge_member(existing: dict[str, Any], form_data: dict[str, Any]) -> dict[str, Any]:
    """The edited member: what the form shows replaced, everything else kept.

    The form does not show every setting (the BGP password, policy overrides, a root
    instance's extra prefixes); saving it must not drop them.
    """
    out = copy.deepcopy(existing)
    for f in FIELDS:
        *parents, last = f.key.split(".")
        node: Any = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    out = deep_merge(out, form_data)
    if isinstance(out.get("root_instance"), dict) and not out["root_instance"].get("letter"):
        out.pop("root_instance")  # not a root instance any more: its prefixes go too
    return prune(out)


def _state() -> Path:
    return current_app.config["STATE_DIR"]


def _values(member: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in FIELDS:
        node: Any = member
        for part in f.key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if f.kind == "checkbox":
            default = f.key in ("route_server", "monthly_report")  # on unless said off
            out[f.key] = "on" if (node if node is not None else default) else ""
        elif f.key == "vlan":
            # the form gives every port of a member one VLAN; a member set up otherwise (in
            # the YAML or through the API) is refused on save rather than changed silently
            vlans = port_vlans(member)
            one = vlans.pop() if len(vlans) == 1 else None
            out[f.key] = "" if one is None else str(one)
        elif isinstance(node, list):
            out[f.key] = " ".join(x["interface"] if isinstance(x, dict) else str(x) for x in node)
        else:
            out[f.key] = "" if node is None else str(node)
    return out


@bp.get("")
def index() -> str:
    """All members with their ports, addresses and (in the lab) sessions."""
    return render_template("members.html", s=collect(current_target()),
                           irr_bgpq4=irr_status.shutil.which("bgpq4") is not None)


def _pending_member(index: int | None, count: int) -> dict[str, Any] | None:
    """The member as the prepared change has it (for the review's "Edit"), if any."""
    try:
        cand = changes_store().get(request.args.get("candidate", ""), g.user)
        members = yaml.safe_load(cand.config).get("members") or []
    except (CandidateGone, yaml.YAMLError, AttributeError):
        return None
    pos = index if index is not None else count
    return members[pos] if 0 <= pos < len(members) else None


def _edit(index: int | None) -> Response | str:
    data = base_data(_state())
    members: list[dict[str, Any]] = list(data.get("members") or [])
    if index is not None and not 0 <= index < len(members):
        abort(404)
    errors: dict[str, str] = {}
    general: list[str] = []
    notice = None
    cfg, _issues = validate_candidate(_state())
    if index is not None:
        values = _values(members[index])
    else:
        values = _values({"route_server": True})
        values.update(next_free_addresses(cfg))
    if request.method == "GET" and request.args.get("candidate"):
        again = _pending_member(index, len(members))
        if again is not None:
            values = _values(again)
    if request.method == "POST":
        values = {f.key: request.form.get(f.key, "") for f in FIELDS}
        if request.form.get("action") == "lookup":
            notice = _apply_lookup(values, data)
        elif vlan_error := vlan_problem(values.get("vlan", "")):
            errors["vlan"] = vlan_error
        elif index is not None and len(port_vlans(members[index])) > 1:
            errors["vlan"] = _("This member's ports are on different VLANs; this form gives "
                               "every port of a member one VLAN. Change them in the "
                               "configuration (YAML or the API) instead.")
        else:
            member = with_vlan(form_to_data(FIELDS, values))
            member.setdefault("route_server", False)
            if index is not None:
                member = merge_member(members[index], member)
            pos = index if index is not None else len(members)
            members[pos:pos + (1 if index is not None else 0)] = [member]
            data["members"] = members
            verb = "edit" if index is not None else "add"
            edit_url = (url_for("members.edit", index=index) if index is not None
                        else url_for("members.new"))
            problems = prepare(data, f"member {verb} AS{member.get('asn')} "
                               f"{member.get('name')}", url_for("members.index"), edit_url)
            if not isinstance(problems, list):
                return problems  # the review of the prepared change
            _place_problems(problems, f"members[{pos}]", errors, general)
            _suggest_max_prefix(values, data)
    status = 400 if errors or general else 200
    rows = nic_rows(current_target(), cfg)
    current = values.get("ports", "")
    own = _values(members[index]).get("ports", "") if index is not None else ""
    ports = port_choices(rows, cfg, _in_lab(), own, current,
                         vlan=bool(values.get("vlan", "").strip()))
    gap = [x for x in irr_status.gaps(_state(), committed_config(_state()))
           if index is not None and x.asn == members[index].get("asn")]
    return render_template("member_form.html", fields=FIELDS, values=values, errors=errors,
                           general=general, index=index, notice=notice,
                           free_nics=free_nics(rows), port_choices=ports, irr_gap=gap,
                           blink_nics=[r for r in rows if r["name"] in free_nics(rows)
                                       or (own and r["name"] in own.split())],
                           peeringdb=peeringdb.available(_state())), status


def _in_lab() -> bool:
    """Whether a lab is recorded for this state dir (adding a member then adds its port)."""
    try:
        return LabState.load(_state()) is not None
    except LabError:
        return False


def _place_problems(problems: list[tuple[str, str]], prefix: str, errors: dict[str, str],
                    general: list[str]) -> None:
    """Put each problem next to its field when its path is this member's, else on top."""
    for path, message in problems:
        text = message[0].upper() + message[1:] if message else message
        text = text if text.endswith(".") else text + "."
        if path == prefix or path.startswith(prefix + "."):
            sub = path[len(prefix) + 1:]
            key = "vlan" if _VLAN_PATH.fullmatch(sub) else field_for_issue(FIELDS, sub)
            if key:
                errors.setdefault(key, text)
                continue
        general.append(f"{path}: {message}" if path else message)


def _suggest_max_prefix(values: dict[str, str], data: dict[str, Any]) -> None:
    """Fill empty max-prefix fields from PeeringDB when the dump knows the ASN."""
    if values.get("max_prefix.ipv4") and values.get("max_prefix.ipv6"):
        return
    try:
        asn = int(values.get("asn", "").upper().removeprefix("AS"))
    except ValueError:
        return
    ix_id = (data.get("identity") or {}).get("peeringdb_ix_id")
    found = peeringdb.lookup(_state(), asn, ix_id) if peeringdb.available(_state()) else None
    for fam, n in ((found or {}).get("max_prefix") or {}).items():
        if not values.get(f"max_prefix.{fam}"):
            values[f"max_prefix.{fam}"] = str(n)


def next_free_addresses(cfg: IXPConfig | None) -> dict[str, str]:
    """The next free IPv4 and IPv6 address of the peering LAN for a new member.

    Not used by a member, the route server (address or router id) or the resolver, and not
    the network or broadcast address; the one after the highest member address when free,
    else the lowest free one.
    """
    if cfg is None:
        return {}
    lan = cfg.peering_lan
    used: set[Any] = set()
    for m in cfg.members:
        used.update(ipaddress.ip_address(a) for a in (*m.ipv4, *m.ipv6))
    member_addrs = set(used)
    rs = cfg.route_server
    used.update(ipaddress.ip_address(a) for a in (rs.ipv4, rs.ipv6, rs.router_id) if a)
    res = cfg.services.resolver
    used.update(ipaddress.ip_address(a) for a in (*res.ipv4, *res.ipv6))
    out: dict[str, str] = {}
    for key, net in (("ipv4", lan.ipv4_prefix), ("ipv6", lan.ipv6_prefix)):
        if net is None:
            continue
        net = ipaddress.ip_network(net)
        last = net.broadcast_address if net.version == 4 else net[-1]
        mine = sorted(a for a in member_addrs if a.version == net.version and a in net)
        starts = [mine[-1] + 1] if mine and mine[-1] + 1 < last else []
        starts.append(net.network_address + 1)
        for start in starts:
            found = _first_free(start, last, used)
            if found is not None:
                out[key] = str(found)
                break
    return out


def _first_free(start: Any, last: Any, used: set[Any], limit: int = 65536) -> Any:
    addr = start
    for _step in range(limit):
        if addr >= last:
            return None
        if addr not in used:
            return addr
        addr += 1
    return None


def nic_facts(row: dict[str, Any]) -> str:
    """What tells two NICs apart at the rack: link, speed, MAC and driver."""
    facts = [_("link up") if row.get("carrier") else _("no link")]
    if row.get("carrier") and row.get("speed_mbps"):
        mbps = int(row["speed_mbps"])
        facts.append(f"{mbps // 1000} Gbit/s" if mbps >= 1000 and mbps % 1000 == 0
                     else f"{mbps} Mbit/s")
    if row.get("mac"):
        facts.append(str(row["mac"]))
    if row.get("driver"):
        facts.append(str(row["driver"]))
    return ", ".join(facts)


def port_choices(rows: list[dict[str, Any]], cfg: IXPConfig | None, lab: bool, own: str,
                 current: str, vlan: bool = False) -> list[tuple[str, str]]:
    """What the port select offers: this member's port, the free NICs, the NICs that carry
    VLAN ports (for one more VLAN port, never untagged) and, in a lab, a new lab port (the
    lab creates it and a member router). Empty: show a text field instead.

    A NIC that is another member's untagged port is never offered. ``vlan``: the form has a
    VLAN id, so the NICs carrying VLAN ports come first after this member's own port.
    """
    choices: list[tuple[str, str]] = []
    if own:
        choices.append((own, _("%(nic)s — this member's port now", nic=own)))
    trunk_rows = [r for r in rows if r["name"] in trunk_nics(cfg) and r["name"] != own]
    trunk_choices = [(r["name"], _("%(nic)s — carries VLAN ports (%(members)s): only with a "
                                   "VLAN (%(facts)s)", nic=r["name"],
                                   members=r.get("used_by") or "", facts=nic_facts(r)))
                     for r in trunk_rows]
    if vlan:
        choices += trunk_choices
    for r in rows:
        if r["name"] in free_nics([r]) and r["name"] != own:
            choices.append((r["name"], _("%(nic)s — free NIC (%(facts)s)", nic=r["name"],
                                         facts=nic_facts(r))))
    if not vlan:
        choices += trunk_choices
    if lab:
        taken = {r["name"] for r in rows}
        taken |= {p.interface for m in (cfg.members if cfg else []) for p in m.ports}
        n = 1
        while f"ixp{n}" in taken:
            n += 1
        choices.append((f"ixp{n}", _("%(nic)s — new lab port (the lab creates it and a "
                                     "member router)", nic=f"ixp{n}")))
    if choices and current and current not in {v for v, _ in choices}:
        choices.insert(0, (current, _("%(nic)s — as typed (not a free NIC of this box)",
                                      nic=current)))
    return choices


def trunk_nics(cfg: IXPConfig | None) -> set[str]:
    """The NICs that carry members' VLAN ports (each may take more VLAN ports)."""
    return {p.interface for m in (cfg.members if cfg else []) for p in m.ports
            if p.vlan is not None}


def _apply_lookup(values: dict[str, str], data: dict[str, Any]) -> str:
    try:
        asn = int(values.get("asn", "").upper().removeprefix("AS"))
    except ValueError:
        return _("Type the ASN first, then look it up.")
    ix_id = (data.get("identity") or {}).get("peeringdb_ix_id")
    found = peeringdb.lookup(_state(), asn, ix_id)
    if found is None:
        return _("AS%(asn)s is not in the PeeringDB file on this box.", asn=asn)
    for key in ("name", "as_set"):
        if found.get(key):
            values[key] = found[key]
    for fam in ("ipv4", "ipv6"):
        if found.get(fam):
            values[fam] = " ".join(found[fam])
        if found.get("max_prefix", {}).get(fam):
            values[f"max_prefix.{fam}"] = str(found["max_prefix"][fam])
    return _("Filled in from PeeringDB: %(name)s. Check the values before saving.",
             name=found.get("name"))


@bp.app_context_processor
def _irr_context() -> dict[str, Any]:
    """``irr_warnings()`` for every template (the dashboard includes _irr_warning.html)."""
    def irr_warnings(asn: int | None = None) -> list[irr_status.IrrGap]:
        """Members (or just ``asn``) filtered "reject" without IRR data; none when anonymous."""
        if not getattr(g, "user", None):
            return []
        found = irr_status.gaps(_state(), committed_config(_state()))
        return [x for x in found if asn is None or x.asn == asn]
    return {"irr_warnings": irr_warnings}


def _reapply(why: str) -> Response:
    cfg = committed_config(_state())
    if cfg is None:
        return redirect(url_for("members.index"))
    job = jobs.start(current_target(), cfg, g.user, why)
    return redirect(url_for("changes.progress", job_id=job.id))


@bp.post("/nics/<name>/identify")
def identify_nic(name: str) -> Response:
    """Blink a NIC's port light (ethtool's identify) so the cable can be found; back to the
    page the button was on."""
    from appliance.apply_service.client import HelperError, HelperUnavailable
    from appliance.web.applying import privileged

    try:
        seconds = privileged().identify(name)  # ethtool needs root: maybe the helper's
    except (HelperError, HelperUnavailable) as exc:
        flash(_("The light of %(nic)s cannot blink: %(why)s", nic=name, why=str(exc)),
              "error")
    else:
        flash(_("The light of port %(nic)s blinks for %(seconds)s seconds: follow the cable "
                "from there.", nic=name, seconds=seconds))
    back = request.form.get("back", "")
    # only a path of this box: never a redirect elsewhere
    return redirect(back if back.startswith("/") and not back.startswith("//")
                    else url_for("members.new"))


@bp.post("/irr/import")
def irr_import() -> Response:
    """Load an IRR data file (the ``ixpctl irr import`` format), then re-apply."""
    upload = request.files.get("irr_file")
    name = (upload.filename if upload else "") or _("the file")
    try:
        n = irr_status.import_bytes(_state(), upload.read() if upload else b"", name)
    except irr_status.IrrLoadError as exc:
        flash(str(exc), "error")
        return redirect(url_for("members.index") + "#irr")
    # English keeps "object(s)" (as before); the catalogues have real plural forms
    flash(ngettext("Imported IRR data for %(num)d object(s); the route server now uses it.",
                   "Imported IRR data for %(num)d object(s); the route server now uses it.", n),
          "info")
    return _reapply(f"IRR data imported from {name}")


@bp.post("/irr/fetch")
def irr_fetch() -> Response:
    """Fetch every member's IRR data with bgpq4 (online only), then re-apply."""
    cfg = committed_config(_state())
    if cfg is None:
        return redirect(url_for("members.index"))
    try:
        n, failed = irr_status.fetch(_state(), cfg)
    except irr_status.IrrLoadError as exc:
        flash(str(exc), "error")
        return redirect(url_for("members.index") + "#irr")
    flash(irr_status.fetched_sentence(n, failed), "info")
    return _reapply("IRR data refreshed")



@bp.route("/new", methods=["GET", "POST"])
def new() -> Response | str:
    """Add a member."""
    return _edit(None)


@bp.route("/<int:index>/edit", methods=["GET", "POST"])
def edit(index: int) -> Response | str:
    """Edit a member."""
    return _edit(index)


@bp.post("/<int:index>/remove")
def remove(index: int) -> Response:
    """Remove a member (after review)."""
    data = base_data(_state())
    members = list(data.get("members") or [])
    if not 0 <= index < len(members):
        abort(404)
    gone = members.pop(index)
    data["members"] = members
    return propose(data, f"member remove AS{gone.get('asn')} {gone.get('name')}",
                   url_for("members.index"))
