"""The agent process: serve the object tree over UDP until SIGTERM; SIGHUP reloads the config.

Data is collected on one worker thread, which first enters the appliance's network namespace
(``netns``), so the agent can listen on loopback in one namespace while it describes the
interfaces of another (the dev runner's lab). Everything else runs on the asyncio loop.
pysnmp's engine is built only when SNMPv3 users are configured: v2c alone is answered by the
fast path on plain sockets (``transport.V2cListener``), without USM and cryptography loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from appliance import __version__
from appliance.snmp import transport
from appliance.snmp.access import AccessPolicy
from appliance.snmp.ifindex import IfIndexMap
from appliance.snmp.instrum import TreeInstrumentation
from appliance.snmp.mibs import MibOptions, build_tree
from appliance.snmp.netlink import enter_netns
from appliance.snmp.oidstore import ObjectTree, Row
from appliance.snmp.settings import Settings, SettingsError, load_settings
from appliance.snmp.v2c import V2cResponder

if TYPE_CHECKING:
    from pysnmp.entity.engine import SnmpEngine

log = logging.getLogger("appliance.snmp")


@dataclass
class AgentOptions:
    """How the agent is started (command line of ``python -m appliance.snmp``)."""

    config: Path
    state_dir: Path
    netns: str | None = None  # where the interfaces are; None = the agent's own namespace
    listen: list[tuple[str, int]] = field(default_factory=list)  # overrides the config
    pid_file: Path | None = None
    mib: MibOptions = field(default_factory=MibOptions)


class Agent:
    """One agent: an engine, its sockets, the object tree and the collector thread."""

    def __init__(self, opts: AgentOptions) -> None:
        self.opts = opts
        self.started = time.monotonic()
        self.settings = load_settings(opts.config)
        snmp_dir = opts.state_dir / "snmp"
        snmp_dir.mkdir(parents=True, exist_ok=True)
        self.ifindex = IfIndexMap(snmp_dir / "ifindex.json")
        self.identity_path = snmp_dir / "engine.json"
        self.policy = AccessPolicy(self.settings.communities, self.settings.users)
        self.collector = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snmp-collect",
                                            initializer=enter_netns, initargs=(opts.netns,))
        self.instrum = TreeInstrumentation(ObjectTree([], self._run_collector))
        self.engine: SnmpEngine | None = None  # with SNMPv3 users
        self.listener: transport.V2cListener | None = None  # without
        self.listening: list[tuple[str, int]] = []
        self._stop = asyncio.Event()

    def _run_collector(self, fn: Callable[[], list[Row]]) -> list[Row]:
        return self.collector.submit(fn).result()

    def listen_addresses(self, settings: Settings) -> list[tuple[str, int, str | None]]:
        """(host, port, device) to bind: the override, the config's addresses, or its NIC."""
        if self.opts.listen:
            return [(h, p, None) for h, p in self.opts.listen]
        if settings.listen_addresses:
            return [(a, settings.port, None) for a in settings.listen_addresses]
        if settings.listen_interface:
            # The management address comes from DHCP: take any address, on that NIC only.
            return [("0.0.0.0", settings.port, settings.listen_interface)]
        return []

    def _tree(self, settings: Settings, snmp: SnmpEngine | None) -> ObjectTree:
        values = None
        if snmp is not None:
            from appliance.snmp import engine as eng

            values = functools.partial(eng.engine_values, snmp)
        elif self.listener is not None:
            values = self.listener.engine_values
        sections = build_tree(settings, self.ifindex, self.started, values,
                              __version__, self.opts.mib)
        return ObjectTree(sections, self._run_collector)

    def start_engine(self) -> None:
        """Open the sockets and start answering (no-op when SNMP is disabled)."""
        if not self.settings.enabled:
            log.info("SNMP is disabled in the configuration; not listening")
            return
        targets = self.listen_addresses(self.settings)
        if not targets:
            log.error("no listen address: set management.ipv4 or start with --listen")
            return
        sockets = []
        try:
            for host, port, dev in targets:
                sockets.append(transport.open_socket(host, port, dev))
        except OSError:
            for s in sockets:
                s.close()
            raise
        identity = transport.next_identity(self.identity_path)
        if self.settings.users:
            from appliance.snmp import engine as eng  # pysnmp: USM, VACM, cryptography

            self.engine = eng.build_engine(self.settings, self.instrum, sockets, identity,
                                           self.policy)
        else:
            self.listener = transport.V2cListener(
                sockets, V2cResponder(self.instrum, self.policy), identity)
        self.instrum.tree = self._tree(self.settings, self.engine)
        self.listening = [(h, p) for h, p, _ in targets]
        if self.engine is not None:
            self.engine.open_dispatcher()
        else:
            assert self.listener is not None
            self.listener.open()
        log.info("SNMP agent listening on %s (engine ID %s, boot %d)",
                 ", ".join(f"{h}:{p}" for h, p in self.listening), identity.engine_id.hex(),
                 identity.boots)

    def stop_engine(self) -> None:
        """Stop answering and close the sockets."""
        if self.engine is not None:
            from appliance.snmp import engine as eng

            eng.close_engine(self.engine)
            self.engine = None
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        self.listening = []

    async def reload(self) -> None:
        """Re-read the configuration file; keep running the old one if the new one is bad."""
        try:
            new = load_settings(self.opts.config)
        except (OSError, SettingsError) as exc:
            log.error("reload refused, keeping the running configuration: %s", exc)
            return
        old = self.settings
        same_listen = self.listen_addresses(new) == self.listen_addresses(old)
        if self.engine is not None and new.enabled and same_listen and new.users:
            from appliance.snmp import engine as eng

            eng.remove_principals(self.engine, old)
            eng.add_principals(self.engine, new)
            self.settings = new
            self.policy.update(new.communities, new.users)
            self.instrum.tree = self._tree(new, self.engine)
            log.info("configuration reloaded")
            return
        if self.listener is not None and new.enabled and same_listen and not new.users:
            self.settings = new
            self.policy.update(new.communities, new.users)
            self.instrum.tree = self._tree(new, None)
            log.info("configuration reloaded")
            return
        # SNMPv3 users added or all removed (pysnmp's engine comes or goes), other
        # addresses, or SNMP switched on or off: the sockets are opened again
        self.stop_engine()
        await asyncio.sleep(0.2)  # let asyncio close the old sockets before binding again
        self.settings = new
        self.policy.update(new.communities, new.users)
        try:
            self.start_engine()
        except OSError as exc:
            log.error("reloaded, but cannot listen: %s; not answering until the next reload",
                      exc)
            return
        log.info("configuration reloaded")

    def request_stop(self) -> None:
        """End ``serve`` (signal handler)."""
        self._stop.set()

    async def serve(self) -> None:
        """Run until SIGTERM or SIGINT; SIGHUP reloads."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload()))
        self.start_engine()
        if self.opts.pid_file is not None:
            self.opts.pid_file.parent.mkdir(parents=True, exist_ok=True)
            self.opts.pid_file.write_text(f"{os.getpid()}\n")
        try:
            await self._stop.wait()
        finally:
            self.stop_engine()
            self.collector.shutdown(wait=False, cancel_futures=True)
            if self.opts.pid_file is not None:
                with contextlib.suppress(FileNotFoundError):
                    self.opts.pid_file.unlink()
            log.info("SNMP agent stopped")


def run(opts: AgentOptions) -> None:
    """Run an agent in this process until it is told to stop."""
    agent = Agent(opts)
    asyncio.run(agent.serve())
