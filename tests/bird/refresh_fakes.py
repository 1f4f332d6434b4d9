"""Stand-ins for the Internet in the data-refresh tests: bgpq4 on PATH answering from fixture
files, and a PeeringDB API on loopback serving fixture JSON. Everything else is real (the
pipeline, ``bird -p``, the revision store, the web UI)."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "refresh"
FAKE_BIN = FIXTURES / "bin"


def irr_data(tmp: Path) -> Path:
    """A copy of the IRR fixture objects the fake bgpq4 answers from (tests edit it)."""
    out = tmp / "bgpq4-data"
    shutil.copytree(FIXTURES / "irr", out)
    return out


class FakePeeringDb:
    """PeeringDB's API subset the refresh calls (``/api/net?asn__in=``,
    ``/api/net?info_never_via_route_servers=1``, ``/api/netixlan?ix_id=``), from the fixture
    rows in ``self.net`` and ``self.netixlan`` (tests edit them). ``requests`` lists the
    paths asked."""

    def __init__(self) -> None:
        self.net: list[dict[str, Any]] = json.loads((FIXTURES / "peeringdb" / "net.json")
                                                    .read_text())["data"]
        self.netixlan: list[dict[str, Any]] = json.loads(
            (FIXTURES / "peeringdb" / "netixlan.json").read_text())["data"]
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                url = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/api/net" and "asn__in" in q:
                    wanted = {int(a) for a in q["asn__in"].split(",")}
                    rows = [r for r in fake.net if r["asn"] in wanted]
                elif url.path == "/api/net" and q.get("info_never_via_route_servers") == "1":
                    rows = [r for r in fake.net if r.get("info_never_via_route_servers")]
                elif url.path == "/api/netixlan" and "ix_id" in q:
                    rows = [r for r in fake.netixlan if r["ix_id"] == int(q["ix_id"])]
                else:
                    self.send_error(404)
                    return
                body = json.dumps({"data": rows, "meta": {}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def row(self, asn: int) -> dict[str, Any]:
        """The fixture row of ``asn`` (to edit)."""
        return next(r for r in self.net if r["asn"] == asn)

    def start(self) -> None:
        """Serve in a thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port (later requests are refused: PeeringDB offline)."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def fake_peeringdb() -> Iterator[FakePeeringDb]:
    """A running fake PeeringDB, stopped at the end."""
    pdb = FakePeeringDb()
    pdb.start()
    try:
        yield pdb
    finally:
        if pdb._thread.is_alive():
            pdb.stop()
