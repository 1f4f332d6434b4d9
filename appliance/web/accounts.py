"""Who may log in: the admin users of the committed configuration, or the wizard's draft."""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import gettext as _

from appliance.config.committed import committed_config
from appliance.web import draft

_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the account does not exist (same time either way).

    Made at the first login, not at import: argon2 takes 64 MiB for a moment, and every process
    that imports this module (the web UI at boot) would pay it.
    """
    return _HASHER.hash("not a real password, only for constant timing")


MIN_PASSWORD = 12
# Each argon2 check takes 64 MiB for a moment: bound how many run at once, so a burst of logins
# cannot exhaust the box's memory (the box has few cores; more at once would not be faster).
MAX_PASSWORD_CHECKS = 2
_CHECK_SLOTS = threading.BoundedSemaphore(MAX_PASSWORD_CHECKS)


class ChecksBusy(RuntimeError):
    """Every password check slot is taken; the caller should refuse at once (429)."""


@dataclass(frozen=True)
class Account:
    """A person who may log in."""

    name: str
    password_hash: str
    role: str
    pending: bool  # only in the wizard's draft, not yet committed
    asn: int | None = None  # a member account's own ASN (role member)


def committed_accounts(state_dir: Path) -> list[Account]:
    """Admin users of the newest revision."""
    cfg = committed_config(state_dir)
    if cfg is None:
        return []
    return [Account(u.name, u.password_hash, u.role, False, u.asn) for u in cfg.admin_users]


def accounts(state_dir: Path) -> list[Account]:
    """Committed admins; while there are none, the admin the wizard's draft holds."""
    found = committed_accounts(state_dir)
    if found:
        return found
    pending = draft.load(state_dir).get("admin")
    if pending:
        return [Account(pending["name"], pending["password_hash"], "admin", True)]
    return []


def setup_done(state_dir: Path) -> bool:
    """Setup is over once a committed configuration has an admin user."""
    return bool(committed_accounts(state_dir))


def verify(state_dir: Path, name: str, password: str) -> Account | None:
    """The account if ``password`` is right, else None (same work either way).

    Raises ``ChecksBusy`` without checking anything when ``MAX_PASSWORD_CHECKS`` checks are
    already running: waiting for a slot would pile up requests (and their memory) instead.
    """
    account = next((a for a in accounts(state_dir) if a.name == name), None)
    slots = _CHECK_SLOTS  # the one acquired is the one released, even if a test swaps it
    if not slots.acquire(blocking=False):
        raise ChecksBusy("other password checks are running")
    try:
        _HASHER.verify(account.password_hash if account else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    finally:
        slots.release()
    return account


def password_problem(name: str, password: str) -> str | None:
    """Why a new password is too weak, as a sentence in the reader's language, or None."""
    if len(password) < MIN_PASSWORD:
        return _("Use at least %(num)d characters; a few unrelated words make a good one.",
                 num=MIN_PASSWORD)
    if name and name.lower() in password.lower():
        return _("Do not put the user name in the password.")
    if len(set(password)) < 6:
        return _("Use more different characters.")
    if re.fullmatch(r"(.)\1+|0?123456789.*|password.*|qwerty.*", password.lower()):
        return _("This password is among the first an attacker tries.")
    return None


def hash_password(password: str) -> str:
    """argon2id hash for admin_users[].password_hash."""
    return _HASHER.hash(password)
