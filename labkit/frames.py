"""Raw frames in a lab's namespaces: send exactly these bytes out of an interface, and see
every frame that arrives on one (the tests build them with scapy, ``bytes(Ether()/...)``).

The sockets are opened inside the namespace by pyroute2's helper process, so nothing is bound
on the host's own interfaces.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from pyroute2.netns import create_socket

ETH_P_ALL = 0x0003
SO_RCVBUFFORCE = 33  # Linux; not exported by the socket module


def ns_socket(ns: str, family: int, kind: int, proto: int = 0) -> socket.socket:
    """A socket that lives in namespace ``ns`` (created there by a helper process)."""
    return create_socket(ns, family, kind, proto, flags=0)


@dataclass
class Sniffer:
    """A raw packet socket on a member's eth0: every frame the member receives."""

    sock: socket.socket
    frames: list[bytes] = field(default_factory=list)

    @classmethod
    def open(cls, ns: str, ifname: str = "eth0") -> Sniffer:
        """Start capturing on ``ifname`` in ``ns``."""
        sock = ns_socket(ns, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        # FORCE (root) lifts rmem_max, so a burst of test frames is never lost here.
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
        sock.bind((ifname, ETH_P_ALL))
        sock.setblocking(False)
        return cls(sock)

    def drain(self) -> list[bytes]:
        """Read everything captured so far (incoming frames only)."""
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                return self.frames
            if addr[2] != socket.PACKET_OUTGOING:
                self.frames.append(data)

    def seen(self, frame: bytes) -> bool:
        """Whether exactly this frame has arrived."""
        return frame in self.drain()

    def close(self) -> None:
        """Stop capturing."""
        self.sock.close()


class Sender:
    """Sends raw frames out of a member's eth0."""

    def __init__(self, ns: str, ifname: str = "eth0") -> None:
        self.sock = ns_socket(ns, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((ifname, 0))

    def send(self, frame: bytes) -> None:
        """Put ``frame`` on the wire as it is."""
        self.sock.send(frame)

    def close(self) -> None:
        """Release the socket."""
        self.sock.close()
