"""Listeners and probes for the firewall tests, run inside a namespace with ``ip netns exec``.

``netprobe.py listen TCP_PORTS UDP_PORTS``: answer "ok" on every port, IPv4 and IPv6, until
killed; prints "ready" once every socket is bound.

``netprobe.py probe JSON``: JSON is a list of [proto, host, port, source-or-null]; prints a JSON
list of results in the same order: "ok" (the listener answered), "timeout" (nothing came back:
dropped), "refused" or "error: ...". Probes run in parallel so that dropped ones cost one
timeout in all, not one each.
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

TIMEOUT = 1.5


def _bind(kind: int, port: int) -> socket.socket:
    # One dual-stack socket per port and protocol: "::" with V6ONLY off takes IPv4 too.
    sock = socket.socket(socket.AF_INET6, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", port))
    if kind == socket.SOCK_STREAM:
        sock.listen(64)
    sock.setblocking(False)
    return sock


def listen(tcp_ports: list[int], udp_ports: list[int]) -> None:
    """Serve until killed."""
    sel = selectors.DefaultSelector()
    for port in tcp_ports:
        sel.register(_bind(socket.SOCK_STREAM, port), selectors.EVENT_READ, "tcp")
    for port in udp_ports:
        sel.register(_bind(socket.SOCK_DGRAM, port), selectors.EVENT_READ, "udp")
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                if key.data == "tcp":
                    conn, _addr = sock.accept()
                    conn.sendall(b"ok\n")
                    conn.close()
                else:
                    _data, addr = sock.recvfrom(2048)
                    sock.sendto(b"ok\n", addr)
            except OSError:
                continue


def probe_one(proto: str, host: str, port: int, source: str | None) -> str:
    """One attempt; what came back."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(family, kind) as sock:
        sock.settimeout(TIMEOUT)
        try:
            if source:
                sock.bind((source, 0))
            if proto == "tcp":
                sock.connect((host, port))
            else:
                sock.sendto(b"probe", (host, port))
            data = sock.recv(16)
        except TimeoutError:
            return "timeout"
        except ConnectionRefusedError:
            return "refused"
        except OSError as exc:
            return f"error: {exc}"
    return "ok" if data.startswith(b"ok") else f"error: unexpected {data!r}"


def probe(spec: list[list]) -> list[str]:
    """Every probe of ``spec`` in parallel."""
    with ThreadPoolExecutor(max_workers=max(1, len(spec))) as pool:
        return list(pool.map(lambda s: probe_one(s[0], s[1], int(s[2]), s[3]), spec))


def main(argv: list[str]) -> None:
    """Command line: listen or probe."""
    if argv[0] == "listen":
        ports = [[int(p) for p in arg.split(",") if p] for arg in argv[1:3]]
        listen(ports[0], ports[1])
    elif argv[0] == "probe":
        print(json.dumps(probe(json.loads(argv[1]))))
    else:
        raise SystemExit(f"unknown verb {argv[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
