"""ixpctl user hash-password: make the argon2id hash that admin_users[].password_hash holds."""

from __future__ import annotations

import argparse
import getpass
import sys

from argon2 import PasswordHasher

from appliance.cli.common import add_state_dir

MIN_LENGTH = 12


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Read a password (prompt, or one line of stdin) and print its argon2id hash."""
    if args.stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return 1
    if len(password) < MIN_LENGTH:
        print(f"error: use at least {MIN_LENGTH} characters (a pass phrase is best)",
              file=sys.stderr)
        return 1
    print(PasswordHasher().hash(password))
    return 0


def cmd_setup_code(args: argparse.Namespace) -> int:
    """Print the one-time setup code the wizard asks for (root only on the box)."""
    from appliance.web import accounts, secrets_store

    if not args.state_dir.is_dir():
        # never make a state dir just to print a code nobody's wizard will ask for
        print(f"error: no appliance state in {args.state_dir}: start the demo "
              "(./dev.sh demo) or give --state-dir", file=sys.stderr)
        return 1
    if accounts.setup_done(args.state_dir):
        print("setup is done: the wizard is closed; log in with an admin account")
        return 1
    print(secrets_store.setup_code(args.state_dir))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'user'."""
    user = sub.add_parser("user", help="admin user helpers")
    usub = user.add_subparsers(dest="user_verb", required=True, metavar="VERB")
    p = usub.add_parser("hash-password", help="print an argon2id hash for admin_users")
    p.add_argument("--stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=cmd_hash_password)

    p = sub.add_parser("setup-code", help="print the one-time code the setup wizard asks for")
    add_state_dir(p)
    p.set_defaults(func=cmd_setup_code)
