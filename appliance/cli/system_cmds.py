"""ixpctl system update / status / gate / reboot: the firmware and its two system slots."""

from __future__ import annotations

import argparse
import sys

from appliance.cli.common import absolute_path, add_json, add_state_dir


def _positive(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def cmd_update(args: argparse.Namespace) -> int:
    """Check a bundle, install it into the other slot, drain the route server, reboot."""
    from appliance.cli.output import error
    from appliance.firmware import update
    from appliance.firmware.bundle import BundleRefused

    try:
        if args.check:
            info = update.check(args.file, args.state_dir, allow_downgrade=args.allow_downgrade)
            print(f"ixp-appliance {info.version} (configuration schema {info.schema}) may be "
                  f"installed: {info.notes}")
            return 0
        update.install(args.file, args.state_dir, allow_downgrade=args.allow_downgrade,
                       payload_checked=args.payload_checked,
                       drain_seconds=args.drain_seconds, health_timeout=args.health_timeout,
                       reboot=not args.no_reboot)
    except BundleRefused as exc:
        for reason in exc.reasons:
            print(f"refused: {reason}", file=sys.stderr)
        error("the update was refused; nothing was changed")
        return 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """The running firmware, both slots and the last update's outcome."""
    from appliance.cli.output import emit_json
    from appliance.firmware.status import firmware_status

    st = firmware_status(args.state_dir)
    if args.json:
        emit_json(st.as_dict())
        return 0
    print(f"Firmware: ixp-appliance {st.version}"
          + (f", running on slot {st.booted}" if st.booted else ""))
    for slot in st.slots:
        marks = [w for w, on in (("running", slot.booted), ("next boot", slot.next_boot)) if on]
        print(f"  slot {slot.bootname}: {slot.version or 'empty'}"
              f" ({', '.join([*marks, slot.boot_status or 'no boot state'])})")
    if st.pending:
        print(f"Update to {st.pending.get('to_version')} installed, on trial until its health "
              "check passes")
    if st.last:
        print(f"Last update: {st.last.get('message')}")
    if st.problem:
        print(f"Problem: {st.problem}")
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    """The boot's health gate (ixp-firmware-gate.service)."""
    from appliance.firmware import gate

    return gate.run(args.state_dir, say=lambda line: print(line, flush=True))


def cmd_reboot(args: argparse.Namespace) -> int:
    """Drain the route server, then reboot the box into the same system."""
    import subprocess
    import time

    from appliance.firmware import update

    if args.drain_seconds > 0:
        update.start_drain(args.state_dir, args.drain_seconds, "reboot", print)
        time.sleep(args.drain_seconds)
    update.end_drain(args.state_dir, print, apply=False)
    print("rebooting")
    subprocess.run(["systemctl", "reboot"], check=False, timeout=60)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add 'system'."""
    system = sub.add_parser("system", help="firmware: install an update, slots, reboot")
    ssub = system.add_subparsers(dest="system_verb", required=True, metavar="VERB")
    p = ssub.add_parser("update", help="install a signed update bundle (.raucb) into the other "
                        "slot, drain the route server, reboot into it on trial")
    p.add_argument("file", type=absolute_path, metavar="FILE")
    p.add_argument("--allow-downgrade", action="store_true",
                   help="also install an older version, or the running one again")
    p.add_argument("--drain-seconds", type=_positive, default=30, metavar="S",
                   help="how long the route server drains before the reboot (default 30)")
    p.add_argument("--health-timeout", type=_positive, default=300, metavar="S",
                   help="how long the new system has to prove healthy (default 300)")
    p.add_argument("--check", action="store_true", help="only check the bundle; change nothing")
    # the Firmware page read the whole upload already: only the signature is checked again
    p.add_argument("--payload-checked", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-reboot", action="store_true",
                   help="install only; the next reboot starts the new system on trial")
    add_state_dir(p)
    p.set_defaults(func=cmd_update)

    p = ssub.add_parser("status", help="the running firmware, both slots, the last update")
    add_json(p)
    add_state_dir(p)
    p.set_defaults(func=cmd_status)

    p = ssub.add_parser("gate", help="the boot's firmware health gate (run by systemd)")
    add_state_dir(p)
    p.set_defaults(func=cmd_gate)

    p = ssub.add_parser("reboot", help="drain the route server, then reboot")
    p.add_argument("--drain-seconds", type=_positive, default=30, metavar="S",
                   help="how long the route server drains first (default 30; 0: no drain)")
    add_state_dir(p)
    p.set_defaults(func=cmd_reboot)



