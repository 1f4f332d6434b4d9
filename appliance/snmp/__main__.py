"""``python -m appliance.snmp --config ETC/snmp/agent.json --state-dir STATE [--netns NS]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from appliance.snmp.agent import AgentOptions, run
from appliance.snmp.mibs import MibOptions
from appliance.snmp.settings import SettingsError
from appliance.util.memory import lean_malloc


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: use ADDRESS:PORT, like 127.0.0.1:1161")
    return host.strip("[]"), int(port)


def parse_args(argv: list[str] | None = None) -> AgentOptions:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m appliance.snmp",
                                description="The appliance's read-only SNMP agent.")
    p.add_argument("--config", required=True, type=Path, help="etc/snmp/agent.json")
    p.add_argument("--state-dir", required=True, type=Path,
                   help="where ifIndex and engine state are kept")
    p.add_argument("--netns", help="network namespace whose interfaces are described")
    p.add_argument("--listen", action="append", type=_listen, default=[],
                   help="ADDRESS:PORT to listen on instead of the configured ones (repeatable)")
    p.add_argument("--pid-file", type=Path)
    p.add_argument("--bird-socket", help="BIRD control socket for BGP4-MIB")
    p.add_argument("--cache-seconds", type=float, default=5.0,
                   help="how long interface and host data are reused (default 5)")
    p.add_argument("--bgp-cache-seconds", type=float, default=10.0,
                   help="how long BGP session data from BIRD is reused (default 10)")
    a = p.parse_args(argv)
    mib = MibOptions(if_ttl=a.cache_seconds, host_ttl=a.cache_seconds,
                     bgp_ttl=a.bgp_cache_seconds, bird_socket=a.bird_socket,
                     services_ttl=a.cache_seconds, state_dir=a.state_dir)
    return AgentOptions(a.config, a.state_dir, a.netns, a.listen, a.pid_file, mib)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s snmp-agent %(levelname)s %(message)s")
    opts = parse_args(argv)
    lean_malloc()  # before the collecting thread: one malloc arena (issue 14's memory bound)
    try:
        run(opts)
    except SettingsError as exc:
        logging.getLogger("appliance.snmp").error("cannot start: %s", exc)
        return 2
    except OSError as exc:  # the listen address is missing or taken
        logging.getLogger("appliance.snmp").error("cannot start: cannot listen: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
