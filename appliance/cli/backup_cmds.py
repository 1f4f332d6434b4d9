"""ixpctl backup create / restore: the box's durable state in one file, and back."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from appliance.cli.common import absolute_path, add_state_dir


def _passphrase(args: argparse.Namespace, *, twice: bool) -> str | None:
    """The passphrase from --passphrase-file, or asked for (--passphrase), or None."""
    if args.passphrase_file is not None:
        try:
            text = args.passphrase_file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the passphrase file {args.passphrase_file}: "
                             f"{exc}") from None
        phrase = text.splitlines()[0] if text.strip() else ""
        if not phrase:
            raise ValueError(f"{args.passphrase_file} is empty: put the passphrase on its "
                             "first line")
        return phrase
    if not args.passphrase:
        return None
    if not sys.stdin.isatty():
        raise ValueError("--passphrase asks on the terminal; without one, use "
                         "--passphrase-file FILE")
    phrase = getpass.getpass("Backup passphrase: ")
    if twice and getpass.getpass("Again: ") != phrase:
        raise ValueError("the two passphrases differ; nothing was written")
    return phrase


def cmd_create(args: argparse.Namespace) -> int:
    """Write a backup of the state dir to -o FILE (mode 0600: it holds the TLS key)."""
    from appliance.backup.archive import BackupError
    from appliance.backup.restore import create
    from appliance.util.atomic import atomic_write

    phrase = _passphrase(args, twice=True)
    try:
        data = create(args.state_dir, phrase)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    atomic_write(args.output, data, 0o600)
    kind = "encrypted" if phrase else "not encrypted: keep it as safe as the box itself"
    print(f"backup written to {args.output} ({len(data)} bytes, {kind})")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Check a backup whole, put it in place, and apply its newest revision."""
    from appliance.backup import archive
    from appliance.backup.archive import BackupError
    from appliance.backup.restore import check_contents, restore
    from appliance.cli.common import pipeline_for
    from appliance.cli.output import print_outcome

    try:
        raw = args.file.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    phrase = _passphrase(args, twice=False)
    try:
        if args.check:
            backup = archive.read(raw, phrase)
            check_contents(backup)
            m = backup.manifest
            print(f"{args.file}: a whole backup made by ixp-appliance {m['software_version']} "
                  f"on {m['created']}: {len(backup.files)} file(s), newest revision "
                  f"{m['latest_revision']}, schema version {m['schema_version']}")
            return 0
        done = restore(args.state_dir, raw, phrase, force=args.force)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"restored {done.files} file(s), {done.revisions} revision(s), from a backup made "
          f"by ixp-appliance {done.software_version}; applying revision {done.latest}")
    outcome = pipeline_for(args).reapply_latest(author="restore")
    return print_outcome(outcome, False)


def _add_passphrase(p: argparse.ArgumentParser, what: str) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--passphrase", action="store_true",
                       help=f"ask for the passphrase {what} on the terminal")
    group.add_argument("--passphrase-file", type=absolute_path, metavar="FILE",
                       help=f"read the passphrase {what} from the first line of FILE")


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'backup'."""
    backup = sub.add_parser("backup", help="back up the box's state, or restore it")
    bsub = backup.add_subparsers(dest="backup_verb", required=True, metavar="VERB")
    p = bsub.add_parser("create", help="write a backup: config, history, accounts, tokens, "
                        "TLS and SNMP keys, IRR/RPKI/PeeringDB data")
    p.add_argument("-o", "--output", type=absolute_path, required=True, metavar="FILE",
                   help="where to write it (e.g. box.ixpbackup)")
    _add_passphrase(p, "to encrypt it with")
    add_state_dir(p)
    p.set_defaults(func=cmd_create)

    p = bsub.add_parser("restore", help="check a backup whole, put it in place and apply it")
    p.add_argument("file", type=Path, metavar="FILE")
    _add_passphrase(p, "it was encrypted with")
    p.add_argument("--force", action="store_true",
                   help="replace the state of a box that is already set up")
    p.add_argument("--check", action="store_true", help="only check the backup; change nothing")
    p.add_argument("--netns", help="apply inside this network namespace (labs)")
    add_state_dir(p)
    p.set_defaults(func=cmd_restore)
