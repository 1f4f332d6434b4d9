"""A namespace lab for the SNMP agent tests, and net-snmp client helpers.

Three namespaces of the lab harness (``labkit.netlab``), without IPv6: ``ixp`` (the appliance:
bridge, member ports, management NIC and the agent), ``member`` (a member router on ixp1) and
``nms`` (a monitoring host on the management LAN, outside the v2c community's allowed network).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from appliance.config.model import IXPConfig
from appliance.platform import netns
from appliance.snmp.paths import PID_FILE
from appliance.snmp.render import AGENT_FILE, render_agent_config
from labkit import netlab
from labkit.netlab import NetLab, end_process, sh, veth

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "small-island.yaml"
MIB_DIR = ROOT / "tests" / "fixtures" / "snmp" / "mibs"
PORT = 16161
MGMT_IP, NMS_IP = "192.0.2.1", "192.0.2.2"
COMMUNITY = "lo-only-community"
NMS_COMMUNITY = "nms-community"
V3 = {"name": "librenms", "auth_protocol": "SHA-256", "auth_password": "auth-secret-1",
      "priv_protocol": "AES-128", "priv_password": "priv-secret-1"}
V3_512 = {"name": "mrtg512", "auth_protocol": "SHA-512", "auth_password": "auth-secret-2",
          "priv_protocol": "AES-128", "priv_password": "priv-secret-2"}
V3_NMS_ONLY = {"name": "nmsonly", "auth_protocol": "SHA-256", "auth_password": "auth-secret-3",
               "priv_protocol": "AES-128", "priv_password": "priv-secret-3",
               "allowed_networks": [f"{NMS_IP}/32"]}

# net-snmp output: ".1.3.6.1.2.1.1.5.0 = STRING: "x"" (with -On)
LINE_RE = re.compile(r"^(\.[0-9.]+) = (?:([A-Za-z0-9-]+): )?(.*)$")

# Names outside Latin-1 (macrons are common in Pacific names), as issue 13 reported them.
KORERO = "Kōrero Café ☕ Ñandú"
# "AS64497 " + this is 77 characters; its 64th byte is inside "ā", so a byte cut breaks it.
LONG_NAME = "Ngāti Whātua Ōrākei Kōrero Café ☕ Ñandú — Tāmaki Makaurau"
# 196 characters (the model allows 200), about 370 bytes: cut inside "ā" at byte 255.
LONG_LOCATION = "Rarotonga (Kūki ʻĀirani) — " + "ā" * 169


def fitting_prefix(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 form has at most ``limit`` bytes."""
    out = ""
    for ch in text:
        if len((out + ch).encode("utf-8")) > limit:
            break
        out += ch
    return out


def parse_octets(text: str) -> dict[str, bytes]:
    """OID -> raw octets of every string value in net-snmp's ``-On -Ox`` output.

    ``-Ox`` prints every OCTET STRING in hex, so the bytes are exactly what the agent sent
    (whatever the client's locale); long values continue on the following lines.
    """
    out: dict[str, bytes] = {}
    current: str | None = None
    for line in text.splitlines():
        m = LINE_RE.match(line)
        if m:
            current = None
            kind, value = m.group(2) or "", m.group(3)
            if kind == "Hex-STRING":
                current = m.group(1)
                out[current] = bytes.fromhex(value)
            elif kind == "STRING" or value == '""':
                out[m.group(1)] = value.strip('"').encode()  # empty or plain ASCII
        elif current is not None and line.strip():
            out[current] += bytes.fromhex(line)
    return out


def lab_config(communities: list[dict] | None = None, *,
               member_names: dict[int, str] | None = None,
               location: str = "Example Town exchange, rack 1") -> IXPConfig:
    """The shipped example with SNMP on, the management NIC called mgmt0.

    ``member_names`` renames members by ASN (their ports' ifAlias is ``AS<asn> <name>``).
    """
    data = yaml.safe_load(EXAMPLE.read_text())
    data["management"]["interface"] = "mgmt0"
    for m in data["members"]:
        m["name"] = (member_names or {}).get(m["asn"], m["name"])
    data["snmp"] = {
        "enabled": True, "port": PORT, "location": location,
        "communities": communities if communities is not None else [
            {"community": COMMUNITY, "allowed_networks": ["127.0.0.0/8"]},
            {"community": NMS_COMMUNITY, "allowed_networks": [f"{NMS_IP}/32"]},
        ],
        "users": [V3, V3_512, V3_NMS_ONLY],
    }
    return IXPConfig.model_validate(data)


def ns_run(ns: str, *argv: str, check: bool = True, timeout: float = 30
           ) -> subprocess.CompletedProcess[str]:
    """Run a command inside one of our namespaces."""
    return netns.run(ns, list(argv), check=check, timeout=timeout)


def kernel_stats(ns: str, ifname: str) -> dict:
    """The kernel's 64-bit counters of a device (iproute2 JSON)."""
    out = ns_run(ns, "ip", "-s", "-s", "-j", "link", "show", "dev", ifname).stdout
    return json.loads(out)[0]["stats64"]


def parse_lines(text: str) -> dict[str, tuple[str, str]]:
    """OID -> (type, value) from net-snmp's -On output."""
    out = {}
    for line in text.splitlines():
        m = LINE_RE.match(line)
        if m and not m.group(3).startswith("No more variables"):
            out[m.group(1)] = (m.group(2) or "", m.group(3))
    return out


@dataclass
class Lab:
    """The namespaces, the state dir and the running agent."""

    prefix: str
    state: Path
    ixp: str = ""
    member: str = ""
    nms: str = ""
    proc: subprocess.Popen | None = None
    log_path: Path = field(default=Path("/dev/null"))
    extra_args: list[str] = field(default_factory=list)
    listen: list[str] = field(default_factory=lambda: [f"127.0.0.1:{PORT}", f"{MGMT_IP}:{PORT}"])
    net: NetLab | None = None  # the harness whose namespaces these are: it ends the agent too

    # -- clients -------------------------------------------------------------------------

    def v2c(self, tool: str, *args: str, community: str = COMMUNITY, ns: str | None = None,
            host: str = "127.0.0.1", timeout: float = 1, retries: int = 1,
            opts: tuple[str, ...] = (), numeric: bool = True
            ) -> subprocess.CompletedProcess[str]:
        """A net-snmp client with SNMPv2c against the agent."""
        out = ("-On",) if numeric else ()
        return ns_run(ns or self.ixp, tool, "-v2c", "-c", community, *out, "-t", str(timeout),
                      "-r", str(retries), *opts, f"{host}:{PORT}", *args, check=False)

    def v3(self, tool: str, *args: str, user: dict = V3, auth: str | None = None,
           priv: str | None = None, level: str = "authPriv",
           opts: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """A net-snmp client with SNMPv3 USM against the agent."""
        cred = ["-u", user["name"], "-l", level]
        if level != "noAuthNoPriv":
            cred += ["-a", user["auth_protocol"], "-A", auth or user["auth_password"]]
        if level == "authPriv":
            cred += ["-x", "AES", "-X", priv or user["priv_password"]]
        return ns_run(self.ixp, tool, "-v3", *cred, "-On", "-t", "1", "-r", "1", *opts,
                      f"127.0.0.1:{PORT}", *args, check=False)

    def log(self) -> str:
        """The agent's log so far."""
        return self.log_path.read_text(errors="replace")

    # -- the agent -----------------------------------------------------------------------

    def write_config(self, cfg: IXPConfig) -> Path:
        """Render the agent file into the state dir, as the pipeline installs it."""
        path = self.state / "etc" / AGENT_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render_agent_config(cfg))
        return path

    def start(self) -> None:
        """Start the agent inside the appliance namespace; wait until it answers."""
        cmd = [sys.executable, "-m", "appliance.snmp",
               "--config", str(self.state / "etc" / AGENT_FILE), "--state-dir", str(self.state),
               *(x for addr in self.listen for x in ("--listen", addr)),
               "--pid-file", str(self.state / "run" / PID_FILE),
               "--cache-seconds", "0.5", *self.extra_args]
        assert self.net is not None, "the lab harness starts the agent"
        with self.log_path.open("ab") as log:
            self.proc = self.net.spawn(self.ixp, cmd, stdout=log, stderr=log, cwd=ROOT,
                                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the agent exited at start:\n{self.log()}")
            r = self.v2c("snmpget", "1.3.6.1.2.1.1.5.0", timeout=0.3, retries=0)
            if r.returncode == 0:
                return
        raise RuntimeError(f"the agent did not answer within 30 s:\n{self.log()}")

    def stop(self) -> None:
        """End the agent we started (by its PID) and wait for it."""
        if self.proc is not None:
            end_process(self.proc)
        self.proc = None


def build_lab(net: NetLab, state: Path) -> Lab:
    """The three namespaces and their links, in ``net`` (which removes them)."""
    ixp = net.namespace("ixp", ipv6=False)
    # Member port ixp1 <-> the member router's eth0, the management NIC <-> the NMS's eth0.
    member = net.add_host("mem", into=ixp, port="ixp1", addrs=["203.0.113.10/24"], ipv6=False)
    nms = net.add_host("nms", into=ixp, port="mgmt0", addrs=[f"{NMS_IP}/24"], ipv6=False)
    veth(ixp, "ixp2", "ixp2-far")
    sh(ixp, "ip", "link", "add", "br-ixp", "mtu", "1500", "type", "bridge")
    for dev in ("ixp1", "ixp2"):
        sh(ixp, "ip", "link", "set", dev, "master", "br-ixp")
    for dev in ("ixp1", "mgmt0", "br-ixp"):
        sh(ixp, "ip", "link", "set", dev, "up")
    sh(ixp, "ip", "addr", "add", "203.0.113.1/24", "dev", "br-ixp")
    sh(ixp, "ip", "addr", "add", f"{MGMT_IP}/24", "dev", "mgmt0")
    (state / "run").mkdir(parents=True, exist_ok=True)
    return Lab(net.prefix, state, ixp=ixp, member=member.ns, nms=nms.ns,
               log_path=state / "agent.log", net=net)


@contextlib.contextmanager
def running_lab(state: Path, cfg: IXPConfig, prefix_stem: str = "ixt") -> Iterator[Lab]:
    """Namespaces and an agent configured from ``cfg``; everything removed afterwards."""
    with netlab.session(state / "netlab", prefix_stem) as net:
        lab = build_lab(net, state)
        lab.write_config(cfg)
        lab.start()
        yield lab
