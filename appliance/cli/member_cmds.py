"""ixpctl member list|show|add|remove: member changes go through the pipeline like any other."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from appliance.cli.common import absolute_path, add_json, add_state_dir, pipeline_for
from appliance.cli.output import emit_json, error, print_outcome, print_summary
from appliance.config.errors import ConfigError, Issue
from appliance.config.loader import load_config_file, load_config_text
from appliance.config.model import IXPConfig, Member
from appliance.config.revisions import RevisionStore
from appliance.pipeline.run import default_author


def _current(args: argparse.Namespace) -> IXPConfig:
    if getattr(args, "config", None):
        return load_config_file(args.config)
    latest = RevisionStore(args.state_dir).latest()
    if latest is None:
        raise ConfigError([Issue("", f"no configuration committed in {args.state_dir}; "
                                 "apply one first with 'ixpctl apply -c FILE'")])
    return load_config_text(latest.config)


def _row(m: Member) -> dict[str, Any]:
    return m.model_dump(mode="json", exclude_defaults=False)


def cmd_list(args: argparse.Namespace) -> int:
    """One line per member."""
    cfg = _current(args)
    if args.json:
        emit_json([_row(m) for m in cfg.members])
        return 0
    print(f"{'ASN':<12}{'name':<34}{'port':<10}{'IPv4':<17}IPv6")
    for m in cfg.members:
        print(f"AS{m.asn:<10}{m.name[:33]:<34}{m.ports[0].interface:<10}"
              f"{','.join(map(str, m.ipv4)):<17}{','.join(map(str, m.ipv6))}")
    print(f"{len(cfg.members)} member(s)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Everything about one member (all its entries when it has several routers)."""
    cfg = _current(args)
    found = cfg.member_by_asn(args.asn)
    if not found:
        error(f"no member with AS{args.asn}; 'ixpctl member list' shows them")
        return 1
    rows = [_row(m) for m in found]
    if args.json:
        emit_json(rows)
    else:
        print(yaml.safe_dump(rows, sort_keys=False, allow_unicode=True), end="")
    return 0


def _change(args: argparse.Namespace, data: dict[str, Any], comment: str) -> int:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if not args.json:
        print_summary(args.state_dir, text)
    # made from the revision read by _committed_data: a change committed meanwhile (the web
    # UI, the API) is kept, this one replayed on it, or refused when both changed the same
    outcome = pipeline_for(args).run(text, author=args.author or default_author(),
                                     comment=comment, dry_run=args.dry_run,
                                     based_on=args.based_on)
    return print_outcome(outcome, args.json)


def _committed_data(args: argparse.Namespace) -> dict[str, Any]:
    latest = RevisionStore(args.state_dir).latest()
    if latest is None:
        raise ConfigError([Issue("", f"no configuration committed in {args.state_dir}; "
                                 "apply one first with 'ixpctl apply -c FILE'")])
    args.based_on = latest.id
    return latest.data()


def cmd_add(args: argparse.Namespace) -> int:
    """Add a member to the committed config and apply it."""
    data = _committed_data(args)
    member: dict[str, Any] = {
        "asn": args.asn, "name": args.name, "ports": args.port, "macs": args.mac,
        "ipv4": args.ipv4 or [], "ipv6": args.ipv6 or [],
    }
    if args.noc_email:
        member["noc_email"] = args.noc_email
    if args.as_set:
        member["as_set"] = args.as_set
    if args.max_prefix_v4 or args.max_prefix_v6:
        member["max_prefix"] = {k: v for k, v in
                                (("ipv4", args.max_prefix_v4), ("ipv6", args.max_prefix_v6)) if v}
    if args.no_route_server:
        member["route_server"] = False
    if args.quarantine:
        member["quarantine"] = True
    for flag in ("bfd", "ttl_security"):
        if getattr(args, flag):
            member[flag] = True
    if args.root_instance:
        member["root_instance"] = {"letter": args.root_instance.lower()}
    data.setdefault("members", []).append(member)
    return _change(args, data, args.comment or f"member add AS{args.asn} {args.name}")


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove every entry of a member (by ASN) from the committed config and apply it."""
    data = _committed_data(args)
    members = data.get("members") or []
    keep = [m for m in members if str(m.get("asn")) != str(args.asn)]
    if len(keep) == len(members):
        error(f"no member with AS{args.asn}; 'ixpctl member list' shows them")
        return 1
    data["members"] = keep
    return _change(args, data, args.comment or f"member remove AS{args.asn}")


def cmd_onboarding(args: argparse.Namespace) -> int:
    """The member's onboarding checklist; exit 0 when every check is green, 3 when not."""
    from appliance.cli.common import target_of
    from appliance.cli.language import in_cli_language
    from appliance.monitor.onboarding import checklist
    from appliance.web.onboarding import in_words

    cfg = _current(args)
    result = checklist(target_of(args), cfg, args.asn,
                       quiet_seconds=args.quiet_minutes * 60)
    if result is None:
        error(f"no member with AS{args.asn}; 'ixpctl member list' shows them")
        return 1
    result = in_cli_language(lambda: in_words(result))
    if args.json:
        emit_json(result)
        return 0 if result["ready"] else 3
    state = "in quarantine" if result["quarantine"] else "not in quarantine"
    print(f"AS{result['asn']} {result['name']} ({state})")
    for c in result["checks"]:
        print(f"  [{'ok' if c['ok'] else 'RED'}] {c['title']}")
        for f in c["findings"]:
            print(f"        - {f['text']}")
        for n in c["notes"]:
            print(f"        {n['text']}")
    if result["ready"]:
        print("every check is green: release the port on the member's onboarding page, or "
              f"'ixpctl member release {result['asn']}'")
    else:
        print("some checks are red: the member must fix what they say")
    return 0 if result["ready"] else 3


def cmd_release(args: argparse.Namespace) -> int:
    """Release the member's port from quarantine once its checklist is green."""
    from appliance.cli.common import target_of
    from appliance.monitor.onboarding import checklist

    data = _committed_data(args)
    cfg = _current(args)
    result = checklist(target_of(args), cfg, args.asn,
                       quiet_seconds=args.quiet_minutes * 60)
    if result is None:
        error(f"no member with AS{args.asn}; 'ixpctl member list' shows them")
        return 1
    entries = [m for m in data.get("members") or [] if str(m.get("asn")) == str(args.asn)]
    if not any(m.get("quarantine") for m in entries):
        error(f"AS{args.asn} is not in quarantine")
        return 1
    if not result["ready"] and not args.force:
        error(f"AS{args.asn} is not ready: 'ixpctl member onboarding {args.asn}' shows the "
              "red checks (--force releases anyway)")
        return 3
    for m in entries:
        m.pop("quarantine", None)
    return _change(args, data, args.comment or f"member release AS{args.asn} "
                   f"{result['name']} from quarantine")


def cmd_report(args: argparse.Namespace) -> int:
    """The member's report card as JSON."""
    from appliance.cli.common import target_of
    from appliance.monitor.report import member_report

    card = member_report(target_of(args), _current(args), args.asn)
    if card is None:
        error(f"no member with AS{args.asn}; 'ixpctl member list' shows them")
        return 1
    emit_json(card)
    return 0


def _common_change(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--comment", default="", help="why (kept in the history)")
    p.add_argument("--author", default=None, help="who (default: the login name)")
    p.add_argument("--netns", default=None, help="apply inside this network namespace")


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'member' and its verbs."""
    member = sub.add_parser("member", help="list, show, add or remove members")
    msub = member.add_subparsers(dest="member_verb", required=True, metavar="VERB")

    p = msub.add_parser("list", help="list members")
    p.add_argument("-c", "--config", type=absolute_path, default=None,
                   help="read this file instead of the committed config")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_list)

    p = msub.add_parser("show", help="show one member")
    p.add_argument("asn", type=int, help="the member's AS number")
    p.add_argument("-c", "--config", type=absolute_path, default=None,
                   help="read this file instead of the committed config")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_show)

    p = msub.add_parser("add", help="add a member and apply")
    p.add_argument("--asn", required=True, help="AS number, e.g. 64500")
    p.add_argument("--name", required=True, help="organisation name")
    p.add_argument("--port", action="append", required=True, help="NIC (repeatable)")
    p.add_argument("--mac", action="append", required=True, help="router MAC (repeatable)")
    p.add_argument("--ipv4", action="append", help="address on the peering LAN (repeatable)")
    p.add_argument("--ipv6", action="append", help="address on the peering LAN (repeatable)")
    p.add_argument("--as-set", default=None, help="IRR AS-SET, e.g. AS-EXAMPLE")
    p.add_argument("--noc-email", default=None, help="NOC contact")
    p.add_argument("--max-prefix-v4", type=int, default=None, help="IPv4 max-prefix")
    p.add_argument("--max-prefix-v6", type=int, default=None, help="IPv6 max-prefix")
    p.add_argument("--no-route-server", action="store_true", help="no route-server session")
    p.add_argument("--quarantine", action="store_true", help="start the port in quarantine")
    p.add_argument("--bfd", action="store_true", help="BFD on the route-server sessions")
    p.add_argument("--ttl-security", action="store_true", help="GTSM on the sessions")
    p.add_argument("--root-instance", metavar="LETTER", default=None,
                   help="a hosted root server instance (a-m): accept only its prefixes")
    _common_change(p)
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_add)

    p = msub.add_parser("remove", help="remove a member and apply")
    p.add_argument("asn", type=int, help="the member's AS number")
    _common_change(p)
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_remove)

    p = msub.add_parser("onboarding", help="the onboarding checklist of a member")
    p.add_argument("asn", type=int, help="the member's AS number")
    p.add_argument("--quiet-minutes", type=float, default=10,
                   help="minutes without hygiene drops the check needs (default 10)")
    p.add_argument("--netns", default=None, help="the box's namespace (default: the lab's)")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_onboarding, config=None)

    p = msub.add_parser("release", help="release a member's port from quarantine (when its "
                        "onboarding checklist is green)")
    p.add_argument("asn", type=int, help="the member's AS number")
    p.add_argument("--quiet-minutes", type=float, default=10,
                   help="minutes without hygiene drops the check needs (default 10)")
    p.add_argument("--force", action="store_true", help="release even with red checks")
    _common_change(p)
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_release, config=None)

    p = msub.add_parser("report", help="a member's report card (JSON)")
    p.add_argument("asn", type=int, help="the member's AS number")
    p.add_argument("--netns", default=None, help="the box's namespace (default: the lab's)")
    add_state_dir(p)
    p.set_defaults(func=cmd_report, config=None)
