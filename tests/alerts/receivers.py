"""Real receivers for what the box sends, on loopback: an SMTP server with STARTTLS and AUTH
(aiosmtpd), net-snmp's snmptrapd, an HTTP sink, and syslog sockets (UDP and TCP)."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the test trusts it via SSL_CERT_FILE)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True,
                   capture_output=True)
    return cert, key


class MailBox:
    """What the SMTP server got."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes, str | None]] = []
        self.event = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        login = session.authenticated and session.auth_data
        user = login.login.decode() if isinstance(login, LoginPassword) else None
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                              user))
        self.event.set()
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 requiring STARTTLS before AUTH, one user."""

    def __init__(self, folder: Path, user: str = "alerts", password: str = "s3cret-pass"):
        self.cert, self.key = make_cert(folder)
        self.user, self.password = user, password
        self.port = free_port()
        self.box = MailBox()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)

        def auth(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword) and data.login.decode() == self.user
                  and data.password.decode() == self.password)
            return AuthResult(success=ok, auth_data=data if ok else None)

        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port,
                                     tls_context=ctx, require_starttls=True,
                                     authenticator=auth, auth_required=True,
                                     auth_require_tls=True)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.controller.stop()


class HttpSink:
    """Records every POST (path, headers, body); answers ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.requests: list[tuple[str, Any, bytes]] = []
        self.status = status
        self.event = threading.Event()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                sink.requests.append((self.path, self.headers, self.rfile.read(n)))
                self.send_response(sink.status)
                self.end_headers()
                sink.event.set()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpSink:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class SyslogUdp:
    """A UDP socket that syslog messages go to."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]

    def receive(self) -> bytes:
        return self.sock.recvfrom(65535)[0]

    def close(self) -> None:
        self.sock.close()


class SyslogTcp:
    """A TCP listener reading one RFC 6587 octet-counted message per connection."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]

    def receive(self) -> bytes:
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while chunk := conn.recv(65535):
                data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


class TrapDaemon:
    """net-snmp's snmptrapd on 127.0.0.1, accepting one community, logging numeric OIDs."""

    V3_USER, V3_AUTH, V3_PRIV = "alerts", "auth-pass-phrase", "priv-pass-phrase"

    def __init__(self, folder: Path, community: str = "trap-community") -> None:
        binary = shutil.which("snmptrapd") or "/usr/sbin/snmptrapd"
        if not os.path.exists(binary):
            raise RuntimeError("snmptrapd is missing: ./dev.sh installs the snmptrapd package")
        self.binary, self.community = binary, community
        self.port = free_port(socket.SOCK_DGRAM)
        self.conf = folder / "snmptrapd.conf"
        # and one SNMPv3 user for informs (snmptrapd is their authoritative engine)
        self.conf.write_text(f"authCommunity log {community}\n"
                             f'createUser {self.V3_USER} SHA-256 "{self.V3_AUTH}" AES '
                             f'"{self.V3_PRIV}"\nauthUser log {self.V3_USER} priv\n')
        self.log = folder / "traps.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> TrapDaemon:
        self.proc = subprocess.Popen(
            [self.binary, "-f", "-n", "-On", "-C", "-c", str(self.conf), "-M", "/nonexistent",
             "-m", "", "-Lf", str(self.log), "-p", str(self.conf.with_suffix(".pid")),
             f"udp:127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # it logs its start once it listens
            if self.log.exists() and "NET-SNMP version" in self.log.read_text():
                return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("snmptrapd did not start")

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            content = self.log.read_text()
            if text in content:
                return content
            time.sleep(0.1)
        raise AssertionError(f"snmptrapd never logged {text!r}; it logged:\n"
                             f"{self.log.read_text()}")

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
