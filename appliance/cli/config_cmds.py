"""ixpctl validate, render, apply, status, history, diff, rollback, version."""

from __future__ import annotations

import argparse
import difflib
import sys

from appliance import __version__
from appliance.box import build_pipeline
from appliance.cli.common import (
    absolute_path,
    add_json,
    add_state_dir,
    pipeline_for,
    target_of,
)
from appliance.cli.language import issue_lines
from appliance.cli.output import emit_json, error, print_outcome, print_summary
from appliance.config.errors import ConfigError
from appliance.config.loader import load_config_file
from appliance.config.revisions import RevisionStore
from appliance.lab.lab import lab_status
from appliance.pipeline import staging
from appliance.pipeline.run import default_author
from appliance.platform.target import IMAGE_MARKER


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a config file; print every problem as 'path: message'."""
    try:
        cfg = load_config_file(args.config)
    except ConfigError as exc:
        if args.json:
            emit_json({"valid": False, "issues": [i.as_dict() for i in exc.issues]})
        else:
            for line in issue_lines(exc.issues):
                print(line)
            print(f"{args.config}: {len(exc.issues)} problem(s); nothing was changed",
                  file=sys.stderr)
        return 1
    if args.json:
        emit_json({"valid": True, "members": len(cfg.members), "lab": cfg.lab})
    else:
        print(f"{args.config}: valid ({cfg.identity.short_name}, {len(cfg.members)} members"
              + (", lab" if cfg.lab else "") + ")")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    """Write every rendered file to a directory, without verifying or applying."""
    cfg = load_config_file(args.config)
    files, _owners = build_pipeline(args.output).render(cfg)
    args.output.mkdir(parents=True, exist_ok=True)
    staging.write_tree(args.output, files)
    for rel in sorted(files):
        print(args.output / rel)
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    """Run the pipeline on a config file."""
    load_config_file(args.config)  # refuse early, with the file's own errors
    text = args.config.read_text("utf-8")
    if not args.json:
        print_summary(args.state_dir, text)
    outcome = pipeline_for(args).run(text, author=args.author or default_author(),
                                     comment=args.comment, dry_run=args.dry_run)
    return print_outcome(outcome, args.json)


def cmd_status(args: argparse.Namespace) -> int:
    """The box's status (the dashboard's model, ``monitor.status``) and the lab, if one runs."""
    from appliance.monitor.status import box_status  # late: the other commands start fast

    lab = lab_status(args.state_dir)
    data = {**box_status(target_of(args), lab),
            "state_dir": str(args.state_dir)}
    if args.json:
        emit_json(data)
        return 0
    print(f"ixpctl {__version__}, state dir {args.state_dir}")
    latest = data["revision"]
    if latest is None:
        print("no configuration committed yet: 'ixpctl apply -c FILE' applies one")
    else:
        print(f"revision {latest['id']} ({latest['time']} by {latest['author']}: "
              f"{latest['comment'] or '-'})")
        if data["ixp"]:
            print(f"IXP {data['ixp']['name']}, {len(data['members'])} members")
    for problem in data["problems"]:
        print(f"warning: {problem}")
    rs = data["route_server"]
    if latest is not None:
        up = sum(1 for s in rs["sessions"] if s.get("up"))
        print(f"route server: BIRD {rs['version']} running, {up} of {len(rs['sessions'])} "
              "sessions established" if rs["running"] else "route server: not running")
    anycast = data["anycast"] or {"running": False, "checkers": []}
    for chk in anycast["checkers"]:
        if not anycast["running"]:
            print(f"anycast {chk['name']}: the anycast helper is not running (withdrawn)")
            continue
        said = "announced" if chk["announced"] else "withdrawn"
        last = (chk.get("last_result") or {}).get("detail", "-")
        print(f"anycast {chk['name']}: {chk['state']}, {said} (last check: {last})")
    if lab is None:
        if not IMAGE_MARKER.exists():  # the image never runs a lab: nothing to say there
            print("lab: not running")
    else:
        print(f"lab {lab['prefix']}: appliance namespace {lab['appliance_netns']}")
        for m in lab["members"]:
            sessions = ", ".join(f"{k} {v}" for k, v in m["sessions"].items()) or "-"
            state = "running" if m["router_running"] else "STOPPED"
            print(f"  AS{m['asn']:<10} {m['name'][:30]:<30} {m['netns']:<18} router {state:<8}"
                  f" {sessions}")
    return 0


def cmd_matrix(args: argparse.Namespace) -> int:
    """The traffic matrix: who sent how much to whom since the counters were made."""
    from appliance.bridge.status import box_matrix
    from appliance.config.committed import committed_config

    cfg = committed_config(args.state_dir)
    if cfg is None:
        error(f"no configuration committed in {args.state_dir}")
        return 1
    rows = box_matrix(cfg, target_of(args))
    if args.json:
        emit_json(rows)
        return 0
    if not cfg.peering_lan.traffic_matrix:
        print("the traffic matrix is off (peering_lan.traffic_matrix)")
        return 0
    if not rows:
        print("no traffic between members counted yet")
    for r in rows:
        print(f"AS{r['from_asn']:<10} -> AS{r['to_asn']:<10} {r['family']}  "
              f"{r['bytes']:>15,} bytes {r['packets']:>12,} packets  ({r['from']} -> {r['to']})")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """List revisions, newest first."""
    store = RevisionStore(args.state_dir)
    revs = store.list()
    if args.json:
        emit_json([r.summary() for r in reversed(revs)])
        return 0
    if not revs:
        print("no revisions yet")
    for r in reversed(revs[-args.limit:] if args.limit else revs):
        print(f"{r.id:>5}  {r.time}  {r.author:<12} {r.comment}")
    for problem in store.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Unified diff between two revisions' configurations."""
    store = RevisionStore(args.state_dir)
    a = store.get(args.a)
    b = store.get(args.b) if args.b is not None else store.latest()
    if b is None:
        error("no revisions yet")
        return 1
    lines = difflib.unified_diff(a.config.splitlines(keepends=True),
                                 b.config.splitlines(keepends=True),
                                 f"revision {a.id}", f"revision {b.id}")
    sys.stdout.writelines(lines)
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    """Apply an earlier revision's configuration as a new revision."""
    pipe = pipeline_for(args)
    rev = pipe.store.get(args.revision)
    outcome = pipe.run(rev.config, author=args.author or default_author(),
                       comment=f"rollback to revision {rev.id}", dry_run=args.dry_run)
    return print_outcome(outcome, args.json)


def cmd_export_ixf(args: argparse.Namespace) -> int:
    """Print the IX-F Member Export of a config file or of the committed configuration."""
    from datetime import UTC, datetime

    from appliance.config.loader import load_config_text
    from appliance.export.ixf import member_export

    if args.config:
        cfg = load_config_file(args.config)
    else:
        latest = RevisionStore(args.state_dir).latest()
        if latest is None:
            error(f"no configuration committed in {args.state_dir}; give -c FILE")
            return 1
        cfg = load_config_text(latest.config)
    emit_json(member_export(cfg, datetime.now(UTC)))
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    """Print the version."""
    if args.json:
        emit_json({"version": __version__})
    else:
        print(f"ixpctl {__version__}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's verbs to the parser."""
    p = sub.add_parser("validate", help="check a config file and list every problem")
    p.add_argument("-c", "--config", type=absolute_path, required=True, help="YAML config file")
    add_json(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("render", help="write the rendered files of a config to a directory")
    p.add_argument("-c", "--config", type=absolute_path, required=True, help="YAML config file")
    p.add_argument("-o", "--output", type=absolute_path, required=True,
                   help="directory to write into")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("apply", help="validate, render, verify, apply and commit a config")
    p.add_argument("-c", "--config", type=absolute_path, required=True, help="YAML config file")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--comment", default="", help="why (kept in the history)")
    p.add_argument("--author", default=None, help="who (default: the login name)")
    p.add_argument("--netns", default=None, help="apply inside this network namespace "
                   "(default: the lab's appliance namespace when a lab runs)")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("status", help="committed revision, lab and sessions")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("matrix", help="bytes and packets between every pair of members, "
                       "counted in the kernel (the traffic matrix)")
    p.add_argument("--netns", default=None, help="the peering LAN's namespace (default: the "
                   "lab's appliance namespace when a lab runs)")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_matrix)

    p = sub.add_parser("history", help="list committed revisions")
    p.add_argument("--limit", type=int, default=0, help="show only the newest N")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("diff", help="diff two revisions (B defaults to the newest)")
    p.add_argument("a", type=int, help="older revision number")
    p.add_argument("b", type=int, nargs="?", default=None, help="newer revision number")
    add_state_dir(p)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("rollback", help="apply an earlier revision again, as a new revision")
    p.add_argument("revision", type=int, help="revision number from 'ixpctl history'")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--author", default=None, help="who (default: the login name)")
    p.add_argument("--netns", default=None, help="apply inside this network namespace")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("export", help="export the configuration in another format")
    esub = p.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    e = esub.add_parser("ixf", help="IX-F Member Export JSON 1.0")
    e.add_argument("-c", "--config", type=absolute_path, default=None,
                   help="a config file (default: the committed configuration)")
    add_state_dir(e)
    e.set_defaults(func=cmd_export_ixf)

    p = sub.add_parser("version", help="print the version")
    add_json(p)
    p.set_defaults(func=cmd_version)
