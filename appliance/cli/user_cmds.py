"""ixpctl user hash-password: make the argon2id hash that admin_users[].password_hash holds."""

from __future__ import annotations

import argparse
import getpass
import sys

from argon2 import PasswordHasher

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


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'user'."""
    user = sub.add_parser("user", help="admin user helpers")
    usub = user.add_subparsers(dest="user_verb", required=True, metavar="VERB")
    p = usub.add_parser("hash-password", help="print an argon2id hash for admin_users")
    p.add_argument("--stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=cmd_hash_password)
