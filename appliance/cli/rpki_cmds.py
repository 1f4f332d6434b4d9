"""ixpctl rpki import|status: the VRP file the box's own stayrtr serves to the route server.

The file's ROAs reach BIRD over RTR (stayrtr); its ASPA records are rendered into bird.conf,
so an import also re-applies the committed configuration through the pipeline.
"""

from __future__ import annotations

import argparse
import time

from appliance.cli.common import absolute_path, add_state_dir, pipeline_for, target_of
from appliance.cli.output import error, print_outcome
from appliance.config.committed import committed_config
from appliance.pipeline.run import default_author
from appliance.route_server.rpki_service import (
    aspa_count,
    check_vrps,
    import_vrps,
    local_validator,
    sync,
    vrp_path,
)


def cmd_import(args: argparse.Namespace) -> int:
    """Check and install a VRP export (rpki-client / Routinator JSON), then re-apply."""
    try:
        count = import_vrps(args.state_dir, args.file)
    except (OSError, ValueError) as exc:
        error(f"{args.file}: {exc}; nothing was changed")
        return 1
    aspas = aspa_count(vrp_path(args.state_dir).read_text("utf-8"))
    # On the image systemd (re)starts ixp-stayrtr; on a dev machine the runner owns it.
    print(f"imported {count} ROAs and {aspas} ASPA records; {sync(target_of(args))}")
    cfg = committed_config(args.state_dir)
    if cfg is not None and local_validator(cfg) is None:
        print("note: route_server.rpki_validators has no entry on this box; add "
              "{host: 127.0.0.1, port: 3323} so the route server uses these ROAs")
    # The ASPA records are part of bird.conf: the pipeline renders and applies them.
    latest = pipeline_for(args).store.latest()
    if latest is None:
        print("no configuration committed yet: the ASPA records are used at the first apply")
        return 0
    outcome = pipeline_for(args).run(latest.config, author=default_author(),
                                     comment=f"VRP file imported from {args.file.name}")
    return print_outcome(outcome, False)


def cmd_status(args: argparse.Namespace) -> int:
    """The imported file: how many ROAs, how old."""
    path = vrp_path(args.state_dir)
    if not path.exists():
        print("no VRP file imported: 'ixpctl rpki import FILE'")
        return 0
    text = path.read_text("utf-8")
    count, aspas = check_vrps(text), aspa_count(text)
    age = (time.time() - path.stat().st_mtime) / 86400
    print(f"{count} ROAs and {aspas} ASPA records, imported {age:.1f} days ago ({path})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'rpki' and its verbs."""
    rpki = sub.add_parser("rpki", help="the VRP file the box's RTR server (stayrtr) serves")
    rsub = rpki.add_subparsers(dest="rpki_verb", required=True, metavar="VERB")
    p = rsub.add_parser("import", help="install a VRP export (rpki-client/Routinator JSON) "
                        "and re-apply (its ASPA records are part of the route server's config)")
    p.add_argument("file", type=absolute_path, help="the JSON export")
    add_state_dir(p)
    p.add_argument("--netns", default=None, help="apply inside this network namespace")
    p.set_defaults(func=cmd_import)
    p = rsub.add_parser("status", help="how many ROAs are imported and how old they are")
    add_state_dir(p)
    p.set_defaults(func=cmd_status)
