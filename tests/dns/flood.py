"""Send a burst of DNS queries and count the answers (run inside a member namespace).

Usage: python -m tests.dns.flood SERVER NAME COUNT. Prints the number of answers received.
"""

from __future__ import annotations

import socket
import sys
import time

import dns.message


def burst(server: str, name: str, count: int, quiet: float = 1.5) -> int:
    """Send ``count`` queries at once; answers until ``quiet`` seconds pass without one."""
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        for i in range(count):
            q = dns.message.make_query(name, "A", id=i)
            sock.sendto(q.to_wire(), (server, 53))
        sock.settimeout(quiet)
        seen: set[int] = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                data, _ = sock.recvfrom(4096)
            except TimeoutError:
                break
            seen.add(dns.message.from_wire(data).id)
        return len(seen)


if __name__ == "__main__":
    print(burst(sys.argv[1], sys.argv[2], int(sys.argv[3])))
