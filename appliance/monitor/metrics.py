"""Prometheus metrics, gathered fresh at each scrape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from appliance.config.committed import committed_config
from appliance.config.model import IXPConfig
from appliance.config.revisions import RevisionStore
from appliance.monitor.counters import read_counters
from appliance.monitor.services import resolver_health
from appliance.platform.target import Target
from appliance.route_server.status import route_server_sessions


class ApplianceCollector(Collector):
    """Ports, hygiene drops, configuration and (when present) sessions and services."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.state_dir = target.state_dir

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """Called by prometheus_client at every scrape."""
        latest = RevisionStore(self.state_dir).latest()
        rev = GaugeMetricFamily("ixp_config_revision", "Number of the committed revision")
        rev.add_metric([], latest.id if latest else 0)
        yield rev
        if latest is None:
            return
        cfg = committed_config(self.state_dir)
        if cfg is None:
            return
        members = GaugeMetricFamily("ixp_members", "Member entries in the configuration")
        members.add_metric([], len(cfg.members))
        yield members
        yield from _service_metrics(self.state_dir, cfg)
        port_member = {p.ifname: f"AS{m.asn}" for m in cfg.members for p in m.ports}
        if not self.target.has_system:
            return  # a developer machine without a lab: no ports of ours to read
        labels = ["port", "member"]
        fams = {
            "rx_bytes": CounterMetricFamily("ixp_port_receive_bytes", "Bytes received",
                                            labels=labels),
            "tx_bytes": CounterMetricFamily("ixp_port_transmit_bytes", "Bytes sent",
                                            labels=labels),
            "rx_packets": CounterMetricFamily("ixp_port_receive_packets", "Packets received",
                                              labels=labels),
            "tx_packets": CounterMetricFamily("ixp_port_transmit_packets", "Packets sent",
                                              labels=labels),
            "rx_errors": CounterMetricFamily("ixp_port_receive_errors", "Receive errors",
                                             labels=labels),
            "rx_dropped": CounterMetricFamily("ixp_port_receive_dropped", "Receive discards",
                                              labels=labels),
        }
        up = GaugeMetricFamily("ixp_port_up", "1 when the port's link is up", labels=labels)
        for c in read_counters(self.target, set(port_member)):
            key = [c.name, port_member.get(c.name, "")]
            for attr, fam in fams.items():
                fam.add_metric(key, getattr(c, attr))
            up.add_metric(key, 1 if c.oper_up else 0)
        yield from fams.values()
        yield up
        from appliance.bridge.status import read_drops

        drops = CounterMetricFamily("ixp_hygiene_dropped_frames", "Frames dropped by the port "
                                    "hygiene rules", labels=["port", "member", "reason"])
        for d in read_drops(self.target):
            drops.add_metric([d.port, port_member.get(d.port, ""), d.reason], d.packets)
        yield drops
        from appliance.firewall.status import read_drops as read_firewall_drops

        fw = CounterMetricFamily("ixp_firewall_dropped_packets", "Packets to the box dropped "
                                 "by the management firewall", labels=["reason"])
        for f in read_firewall_drops(self.target):
            fw.add_metric([f.reason], f.packets)
        yield fw
        if cfg.peering_lan.traffic_matrix:
            yield from _matrix_metrics(cfg, self.target)


def _matrix_metrics(cfg: IXPConfig, target: Target) -> Iterator[CounterMetricFamily]:
    """The traffic matrix summed per member (sent to and received from the other members):
    exact, from the kernel. Per pair it is in ``GET /api/v1/matrix``, not here: N members
    make N² series."""
    from appliance.bridge.status import member_matrix

    labels = ["member", "asn", "family"]
    sent = CounterMetricFamily("ixp_member_sent_bytes", "Bytes this member sent to the other "
                               "members over the peering LAN", labels=labels)
    received = CounterMetricFamily("ixp_member_received_bytes", "Bytes this member received "
                                   "from the other members over the peering LAN",
                                   labels=labels)
    name = {m.asn: m.name for m in cfg.members}
    out: dict[tuple[int, str], int] = {}
    into: dict[tuple[int, str], int] = {}
    for r in member_matrix(cfg, target):
        out[(int(r["from_asn"]), str(r["family"]))] = \
            out.get((int(r["from_asn"]), str(r["family"])), 0) + int(r["bytes"])
        into[(int(r["to_asn"]), str(r["family"]))] = \
            into.get((int(r["to_asn"]), str(r["family"])), 0) + int(r["bytes"])
    for (asn, fam), value in sorted(out.items()):
        sent.add_metric([name.get(asn, ""), str(asn), fam], value)
    for (asn, fam), value in sorted(into.items()):
        received.add_metric([name.get(asn, ""), str(asn), fam], value)
    yield sent
    yield received


def render_metrics(target: Target) -> bytes:
    """The exposition text for one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ApplianceCollector(target))
    return generate_latest(registry)


def _service_metrics(state_dir: Path, cfg: IXPConfig) -> Iterator[GaugeMetricFamily]:
    rs = route_server_sessions(state_dir, cfg)
    up = GaugeMetricFamily("ixp_service_up", "1 when the service runs", labels=["service"])
    up.add_metric(["route_server"], 1 if rs["running"] else 0)
    resolver = resolver_health(state_dir, cfg)
    if resolver is not None:
        up.add_metric(["resolver"], 1 if resolver.get("running") else 0)
    yield up
    labels = ["member", "asn", "neighbor", "family"]
    session = GaugeMetricFamily("ixp_bgp_session_up", "1 when the route-server session is "
                                "Established", labels=labels)
    prefixes = GaugeMetricFamily("ixp_bgp_prefixes", "Routes per route-server session",
                                 labels=[*labels, "kind"])
    for s in rs["sessions"]:
        key = [s["member"], str(s["asn"] or ""), s["neighbor"], s["family"]]
        session.add_metric(key, 1 if s["up"] else 0)
        for kind in ("accepted", "filtered", "exported"):
            prefixes.add_metric([*key, kind], s[kind])
    yield session
    yield prefixes
    if cfg.services.anycast and cfg.services.resolver.enabled:
        yield from _anycast_metrics(state_dir)


def _anycast_metrics(state_dir: Path) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    from appliance.anycast.status import read_status

    doc = read_status(state_dir)
    helper = GaugeMetricFamily("ixp_anycast_helper_up", "1 when the anycast helper runs and "
                               "publishes its state")
    helper.add_metric([], 1 if doc["running"] else 0)
    yield helper
    healthy = GaugeMetricFamily("ixp_anycast_healthy", "1 when the service behind the prefix "
                                "passes its health checks", labels=["prefix"])
    announced = GaugeMetricFamily("ixp_anycast_announced", "1 while the prefix is announced "
                                  "to the members", labels=["prefix"])
    counters = {key: CounterMetricFamily(f"ixp_anycast_{key}", text, labels=["prefix"])
                for key, text in (("checks", "Health checks made"),
                                  ("check_failures", "Health checks failed"),
                                  ("transitions", "Changes between healthy and not"))}
    for chk in doc["checkers"] if doc["running"] else []:
        key = [str(chk["name"])]
        healthy.add_metric(key, 1 if chk.get("state") == "up" else 0)
        announced.add_metric(key, 1 if chk.get("announced") else 0)
        counters["checks"].add_metric(key, float(chk.get("checks_total", 0)))
        counters["check_failures"].add_metric(key, float(chk.get("failures_total", 0)))
        counters["transitions"].add_metric(key, float(chk.get("transitions_total", 0)))
    yield healthy
    yield announced
    yield from counters.values()
