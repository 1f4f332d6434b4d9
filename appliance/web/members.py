"""Members: list, add, edit and remove; each change goes through review → apply."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

from appliance.config.errors import ConfigError
from appliance.dns.root_servers import ROOT_SERVERS
from appliance.web import peeringdb
from appliance.web.changes import propose
from appliance.web.forms import (
    FormField,
    as_bool,
    as_flag,
    as_list,
    deep_merge,
    field_for_issue,
    form_to_data,
    prune,
)
from appliance.web.nics import free_nics, nic_rows
from appliance.web.status import collect
from appliance.web.wizard.candidate import base_data, validate_candidate

bp = Blueprint("members", __name__, url_prefix="/members")

FIELDS: tuple[FormField, ...] = (
    FormField("asn", "ASN", "The member's public AS number.", kind="number", required=True),
    FormField("name", "Organisation", required=True),
    FormField("noc_email", "NOC e-mail", kind="email"),
    FormField("ports", "Port(s)", "The NIC(s) of this box the member is cabled to.",
              parse=as_list, required=True),
    FormField("macs", "Router MAC address(es)", "Only these may send on the port.",
              parse=as_list, required=True),
    FormField("ipv4", "IPv4 address(es) on the peering LAN", parse=as_list),
    FormField("ipv6", "IPv6 address(es) on the peering LAN", parse=as_list),
    FormField("max_prefix.ipv4", "IPv4 max-prefix", kind="number"),
    FormField("max_prefix.ipv6", "IPv6 max-prefix", kind="number"),
    FormField("as_set", "AS-SET", "For IRR filtering, e.g. AS-EXAMPLE."),
    FormField("route_server", "Peers with the route server", kind="checkbox", parse=as_bool),
    FormField("quarantine", "Start the port in quarantine", kind="checkbox", parse=as_bool),
    FormField("bfd", "BFD on the route-server sessions",
              "Only if the member's router runs BFD too, or the sessions stay down.",
              kind="checkbox", parse=as_flag),
    FormField("ttl_security", "GTSM (TTL security)", "Both sides must enable it.",
              kind="checkbox", parse=as_flag),
    FormField("root_instance.letter", "Root server instance",
              "For a root operator's server hosted here: the route server then accepts only "
              "that root server's prefixes from it, and keeps their NO_EXPORT.",
              kind="select", choices=(("", "No: an ordinary member"), *(
                  (r.letter, f"{r.letter.upper()}-root ({r.operator})")
                  for r in ROOT_SERVERS.values()))),
)


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
            default = f.key == "route_server"
            out[f.key] = "on" if (node if node is not None else default) else ""
        elif isinstance(node, list):
            out[f.key] = " ".join(x["interface"] if isinstance(x, dict) else str(x) for x in node)
        else:
            out[f.key] = "" if node is None else str(node)
    return out


@bp.get("")
def index() -> str:
    """All members with their ports, addresses and (in the lab) sessions."""
    return render_template("members.html", s=collect(_state()))


def _edit(index: int | None) -> Response | str:
    data = base_data(_state())
    members: list[dict[str, Any]] = list(data.get("members") or [])
    if index is not None and not 0 <= index < len(members):
        abort(404)
    errors: dict[str, str] = {}
    general: list[str] = []
    notice = None
    values = _values(members[index] if index is not None else {"route_server": True})
    if request.method == "POST":
        values = {f.key: request.form.get(f.key, "") for f in FIELDS}
        if request.form.get("action") == "lookup":
            notice = _apply_lookup(values, data)
        else:
            member = form_to_data(FIELDS, values)
            member.setdefault("route_server", False)
            if index is not None:
                member = merge_member(members[index], member)
            pos = index if index is not None else len(members)
            members[pos:pos + (1 if index is not None else 0)] = [member]
            data["members"] = members
            verb = "edit" if index is not None else "add"
            try:
                return propose(data, f"member {verb} AS{member.get('asn')} {member.get('name')}",
                               url_for("members.index"))
            except ConfigError as exc:
                prefix = f"members[{pos}]"
                for issue in exc.issues:
                    if issue.path == prefix or issue.path.startswith(prefix + "."):
                        key = field_for_issue(FIELDS, issue.path[len(prefix) + 1:])
                        errors.setdefault(key, issue.message[0].upper() + issue.message[1:] + ".")
                    else:
                        general.append(str(issue))
    status = 400 if errors or general else 200
    cfg, _ = validate_candidate(_state())
    free = free_nics(nic_rows(_state(), current_app.config.get("NETNS"), cfg))
    return render_template("member_form.html", fields=FIELDS, values=values, errors=errors,
                           general=general, index=index, notice=notice, free_nics=free,
                           peeringdb=peeringdb.available(_state())), status


def _apply_lookup(values: dict[str, str], data: dict[str, Any]) -> str:
    try:
        asn = int(values.get("asn", "").upper().removeprefix("AS"))
    except ValueError:
        return "Type the ASN first, then look it up."
    ix_id = (data.get("identity") or {}).get("peeringdb_ix_id")
    found = peeringdb.lookup(_state(), asn, ix_id)
    if found is None:
        return f"AS{asn} is not in the PeeringDB file on this box."
    for key in ("name", "as_set"):
        if found.get(key):
            values[key] = found[key]
    for fam in ("ipv4", "ipv6"):
        if found.get(fam):
            values[fam] = " ".join(found[fam])
        if found.get("max_prefix", {}).get(fam):
            values[f"max_prefix.{fam}"] = str(found["max_prefix"][fam])
    return f"Filled in from PeeringDB: {found.get('name')}. Check the values before saving."


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
