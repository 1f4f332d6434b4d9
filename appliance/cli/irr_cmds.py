"""ixpctl irr status|import|refresh: the IRR data behind the route server's prefix filters.

Online, ``refresh`` asks the IRR through bgpq4; offline, ``import`` takes a file in the cache's
format (brought on a USB stick). Either way the route server's filters are then re-rendered and
applied through the pipeline, so the running BIRD uses the new data.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from appliance.cli.common import absolute_path, add_json, add_state_dir, pipeline_for
from appliance.cli.output import emit_json, error, print_outcome
from appliance.config.committed import committed_config
from appliance.pipeline.run import default_author
from appliance.route_server.concern import IRR_CACHE
from appliance.route_server.irr import IrrData, irr_object, parse_irr_cache
from appliance.route_server.irr_fetch import age_seconds, load_cache, refresh, save_cache


def _reapply(args: argparse.Namespace, why: str) -> int:
    latest = pipeline_for(args).store.latest()
    if latest is None:
        print("no configuration committed yet: the data is used at the first apply")
        return 0
    outcome = pipeline_for(args).run(latest.config, author=default_author(), comment=why)
    return print_outcome(outcome, False)


def _days(seconds: float | None) -> str:
    return "unknown age" if seconds is None else f"{seconds / 86400:.1f} days old"


def cmd_status(args: argparse.Namespace) -> int:
    """Which members have IRR data, how much, and how old it is."""
    cfg = committed_config(args.state_dir)
    if cfg is None:
        error(f"no configuration committed in {args.state_dir}")
        return 1
    data = load_cache(args.state_dir / IRR_CACHE)
    now = datetime.now(UTC)
    rows = []
    for m in cfg.members:
        entry = data.for_member(m)
        rows.append({"asn": m.asn, "name": m.name, "object": irr_object(m),
                     "present": entry is not None,
                     "ipv4": len(entry.prefixes4) if entry else 0,
                     "ipv6": len(entry.prefixes6) if entry else 0,
                     "age_seconds": age_seconds(entry, now) if entry else None,
                     "source": entry.source if entry else ""})
    if args.json:
        emit_json(rows)
        return 0
    for r in rows:
        state = (f"{r['ipv4']} IPv4 / {r['ipv6']} IPv6 entries, {_days(r['age_seconds'])}"
                 if r["present"] else "NO DATA (routes are tagged, not IRR-checked)")
        print(f"AS{r['asn']:<10} {r['object']:<24} {state}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Merge an IRR data file into the cache (its entries win) and re-apply."""
    try:
        imported = parse_irr_cache(json.loads(args.file.read_text("utf-8")))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        error(f"{args.file}: not an IRR data file ({exc}); nothing was changed")
        return 1
    cache = args.state_dir / IRR_CACHE
    merged = IrrData({**load_cache(cache).entries, **imported.entries})
    save_cache(cache, merged)
    print(f"imported {len(imported.entries)} IRR object(s) from {args.file}")
    return _reapply(args, f"IRR data imported from {args.file.name}")


def cmd_refresh(args: argparse.Namespace) -> int:
    """Fetch every member's IRR object with bgpq4 (needs Internet access) and re-apply."""
    cfg = committed_config(args.state_dir)
    if cfg is None:
        error(f"no configuration committed in {args.state_dir}")
        return 1
    now = datetime.now(UTC).isoformat(timespec="seconds")
    result = refresh([irr_object(m) for m in cfg.members], cfg.route_server.irr_sources,
                     args.state_dir / IRR_CACHE, now=now)
    for obj, why in sorted(result.failed.items()):
        print(f"warning: {obj}: {why} (the cached data, if any, is kept)")
    return _reapply(args, "IRR data refreshed")


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'irr' and its verbs."""
    irr = sub.add_parser("irr", help="IRR data for the route server's prefix filters")
    isub = irr.add_subparsers(dest="irr_verb", required=True, metavar="VERB")
    p = isub.add_parser("status", help="which members have IRR data and how old it is")
    add_state_dir(p)
    add_json(p)
    p.set_defaults(func=cmd_status)
    p = isub.add_parser("import", help="import an IRR data file (offline) and re-apply")
    p.add_argument("file", type=absolute_path, help="JSON in the format of <state>/irr/cache.json")
    add_state_dir(p)
    p.add_argument("--netns", default=None, help="apply inside this network namespace")
    p.set_defaults(func=cmd_import)
    p = isub.add_parser("refresh", help="fetch IRR data with bgpq4 (online) and re-apply")
    add_state_dir(p)
    p.add_argument("--netns", default=None, help="apply inside this network namespace")
    p.set_defaults(func=cmd_refresh)
