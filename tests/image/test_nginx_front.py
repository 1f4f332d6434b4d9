"""The shipped nginx front (rootfs/etc/nginx/ixp-appliance.conf), run by Debian's real nginx.

Not an image test: the file is taken as shipped, only the paths that cannot exist on a dev
machine are replaced (the certificate and key, made here with openssl; the pid file), and nginx
runs in a network namespace of its own with a tiny HTTP backend on 127.0.0.1:8080 standing in
for the Flask app. Every request is made from inside that namespace (curl, or a small Python
client run there), from its own 127.0.0.x source address so the per-address limits of one check
never touch another's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.platform import netns

pytestmark = [pytest.mark.netns, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "rootfs" / "etc" / "nginx" / "ixp-appliance.conf"
PYTHON = "/usr/bin/python3"  # Debian's, inside the namespace: no venv needed for these helpers
HEADER_TIMEOUT = 10  # what the shipped file says (checked below); nginx's default is 60 s

# Stands in for the Flask app: answers every method and path with what it saw (as JSON), 404
# for /missing, and never 429, so every 429 the checks see comes from nginx.
BACKEND = r'''
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        left = length
        while left:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
        body = json.dumps({
            "method": self.command, "path": self.path, "body_bytes": length - left,
            "host": self.headers.get("Host"),
            "forwarded_for": self.headers.get("X-Forwarded-For"),
            "forwarded_proto": self.headers.get("X-Forwarded-Proto"),
        }).encode()
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Test-Backend", "yes")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = answer

    def log_message(self, *args):
        pass

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", 8080), Handler).serve_forever()
'''

# Run inside the namespace. "wait PORT...": until each port accepts TCP (a bare connect is no
# request, so it costs nothing of the rate limits). "slow SRC PORT SECONDS": a slowloris client
# (over TLS on 443) that sends one header line a second and never ends its headers; prints
# whether nginx closed the connection and after how many seconds (it gives up after SECONDS).
CLIENT = r'''
import json, socket, ssl, sys, time

def wait(ports):
    deadline = time.monotonic() + 30
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"port {port} never accepted a connection")
                time.sleep(0.1)

def slow(src, port, give_up):
    s = socket.create_connection(("127.0.0.1", port), timeout=give_up, source_address=(src, 0))
    if port == 443:  # the handshake at once (the box's own certificate: not verified)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        s = tls.wrap_socket(s, server_hostname="box")
    s.settimeout(1)
    start = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\nHost: box\r\n")
    n = 0
    closed, how = False, "still open"
    while time.monotonic() - start < give_up:
        try:
            data = s.recv(4096)
            if not data:
                closed, how = True, "closed"
                break
            continue  # nginx says something (e.g. 408) before closing: read on
        except socket.timeout:
            pass
        except (ConnectionError, ssl.SSLError) as exc:  # a reset, or TLS cut short
            closed, how = True, type(exc).__name__
            break
        try:
            s.sendall(b"X-Slow-%d: x\r\n" % n)
            n += 1
        except OSError as exc:
            closed, how = True, type(exc).__name__
            break
    print(json.dumps({"closed": closed, "how": how, "after": time.monotonic() - start,
                      "header_lines_sent": n}))

if sys.argv[1] == "wait":
    wait([int(p) for p in sys.argv[2:]])
else:
    slow(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
'''


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with the one occurrence of ``old`` replaced; fails if it is not there once."""
    count = text.count(old)
    assert count == 1, f"the shipped nginx file has {count} copies of {old!r}, expected one"
    return text.replace(old, new)


def dev_config(shipped: str, tmp: Path) -> str:
    """The shipped file with the paths that exist only on the appliance moved to ``tmp``."""
    text = replace_once(shipped, "/var/lib/ixp-appliance/tls/cert.pem", str(tmp / "cert.pem"))
    text = replace_once(text, "/var/lib/ixp-appliance/tls/key.pem", str(tmp / "key.pem"))
    return replace_once(text, "pid /run/ixp-https/nginx.pid;", f"pid {tmp / 'nginx.pid'};")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM a process we started (by its PID) and wait; SIGKILL it and its children if not.

    ``ip netns exec`` execs the program, so the PID is nginx's master (or the backend) itself;
    nginx's master takes its workers down on SIGTERM.
    """
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
        return
    except subprocess.TimeoutExpired:
        pass
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    with contextlib.suppress(OSError):
        for pid in children.read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    proc.kill()
    proc.wait(timeout=10)


@dataclass
class Front:
    """nginx with the shipped file and the stand-in backend, in namespace ``ns``."""

    ns: str
    tmp: Path
    conf: Path
    nginx: str
    log: Path

    def curl(self, src: str, *args: str, timeout: float = 60) -> str:
        """curl inside the namespace from source address ``src``; returns its stdout."""
        r = netns.run(self.ns, ["curl", "-sS", "-k", "--interface", src, "--max-time", "30",
                                *args], check=False, timeout=timeout)
        assert r.returncode == 0, f"curl {' '.join(args)} failed: {r.stderr}\n{self.nginx_log()}"
        return r.stdout

    def burst(self, src: str, urls: list[str], *extra: str) -> list[int]:
        """All ``urls`` at once (one connection each), from ``src``; their status codes."""
        out = self.curl(src, "--parallel", "--parallel-immediate", "--parallel-max",
                        str(len(urls)), *extra,
                        *(x for url in urls for x in ("-o", "/dev/null", "-w",
                                                      "%{http_code}\\n", url)))
        codes = [int(c) for c in out.split()]
        assert len(codes) == len(urls), f"curl reported {len(codes)} answers for {len(urls)}"
        return codes

    def client(self, *args: str, timeout: float = 60) -> str:
        """The Python client (CLIENT) inside the namespace; returns its stdout."""
        r = netns.run(self.ns, [PYTHON, str(self.tmp / "client.py"), *args], check=False,
                      timeout=timeout)
        assert r.returncode == 0, f"client {args} failed: {r.stderr}\n{self.nginx_log()}"
        return r.stdout

    def nginx_log(self) -> str:
        """What nginx wrote to stderr so far (for failure messages)."""
        return "nginx stderr:\n" + self.log.read_text(errors="replace")[-3000:]


def need(name: str, package: str) -> str:
    """The path of a required program; fails loudly with the Debian package to install."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        pytest.fail(f"{name} is missing: the README's test command (./dev.sh test) installs "
                    f"the Debian package {package}")
    return path


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """Start the backend and nginx (shipped file) in a fresh namespace; stop and remove all."""
    if os.geteuid() != 0:
        pytest.fail("this test creates a network namespace and must run as root "
                    "(the README's test command does)")
    nginx = need("nginx", "nginx")
    openssl = need("openssl", "openssl")
    need("curl", "curl")
    if not Path(PYTHON).exists():
        pytest.fail(f"{PYTHON} is missing: install the Debian package python3")

    tmp = tmp_path_factory.mktemp("nginx-front")
    tmp.chmod(0o755)  # nginx's workers (www-data) never read it, but keep it traversable
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=box",
                    "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    conf = tmp / "ixp-appliance.conf"
    conf.write_text(dev_config(SHIPPED.read_text(), tmp))
    (tmp / "backend.py").write_text(BACKEND)
    (tmp / "client.py").write_text(CLIENT)
    log = tmp / "nginx.log"

    ns = f"{netns.unique_prefix('ixt')}-ngx"
    backend: subprocess.Popen[bytes] | None = None
    server: subprocess.Popen[bytes] | None = None
    try:
        netns.create(ns)
        f = Front(ns=ns, tmp=tmp, conf=conf, nginx=nginx, log=log)
        with open(tmp / "backend.log", "wb") as blog:
            backend = subprocess.Popen(netns.command(ns, [PYTHON, str(tmp / "backend.py")]),
                                       stdout=blog, stderr=blog)
        f.client("wait", "8080")
        # -e stderr: not even the early error log goes to /var/log/nginx.
        with open(log, "wb") as nlog:
            server = subprocess.Popen(netns.command(ns, [nginx, "-e", "stderr", "-c", str(conf),
                                                         "-g", "daemon off;"]),
                                      stdout=nlog, stderr=nlog)
        try:
            f.client("wait", "80", "443")
        except AssertionError:
            if server.poll() is not None:
                pytest.fail(f"nginx exited at start ({server.returncode}):\n{f.nginx_log()}")
            raise
        yield f
    finally:
        stop(server)
        stop(backend)
        netns.remove(ns)


def test_nginx_accepts_the_shipped_file(front: Front) -> None:
    """nginx -t (as ixp-https.service's ExecStartPre runs it) accepts the file."""
    r = netns.run(front.ns, [front.nginx, "-t", "-q", "-e", "stderr", "-c", str(front.conf)],
                  check=False)
    assert r.returncode == 0, f"nginx -t refused the file:\n{r.stderr}"
    assert "[warn]" not in r.stderr and "[emerg]" not in r.stderr, r.stderr


def test_the_limits_and_timeouts_are_configured() -> None:
    """The directives the checks below rely on (and those not exercised here) are set."""
    text = re.sub(r"#.*", "", SHIPPED.read_text())
    for directive in (r"worker_processes\s+auto;", r"worker_connections\s+1024;",
                      r"worker_rlimit_nofile\s+\d+;", r"limit_req_status\s+429;",
                      r"limit_conn\s+ixp_conn\s+\d+;", r"limit_conn_status\s+429;",
                      rf"client_header_timeout\s+{HEADER_TIMEOUT}s;",
                      r"client_body_timeout\s+\d+s;", r"send_timeout\s+\d+s;",
                      r"keepalive_timeout\s+\d+s;", r"large_client_header_buffers\s+4\s+8k;",
                      r"client_max_body_size\s+16m;", r"ssl_session_cache\s+shared:",
                      r"ssl_protocols\s+TLSv1\.2\s+TLSv1\.3;"):
        assert re.search(directive, text), f"the shipped nginx file lacks {directive}"
    redirect, https = text.split("listen 443", 1)
    assert "Strict-Transport-Security" not in redirect, "HSTS belongs on the HTTPS server only"
    assert 'add_header Strict-Transport-Security "max-age=31536000" always;' in https


def test_http_redirects_to_https_without_hsts(front: Front) -> None:
    """Port 80 answers every path with a 301 to the same path over HTTPS, and no HSTS."""
    out = front.curl("127.0.0.2", "-D", "-", "-o", "/dev/null", "-H", "Host: box.example.net",
                     "http://127.0.0.1/members?sort=asn")
    status = out.splitlines()[0]
    assert " 301" in status, out
    assert re.search(r"(?im)^location: https://box\.example\.net/members\?sort=asn\r?$", out), out
    assert "strict-transport-security" not in out.lower(), out


def test_https_proxies_to_the_app_with_hsts(front: Front) -> None:
    """HTTPS reaches the app with the forwarded headers, and carries HSTS, errors included."""
    out = front.curl("127.0.0.3", "-D", "-", "-H", "Host: box.example.net",
                     "https://127.0.0.1/members")
    head, _, body = out.partition("\n\n")  # text mode: CRLF is LF here
    assert " 200" in head.splitlines()[0], out
    assert re.search(r"(?im)^strict-transport-security: max-age=31536000\r?$", head), head
    seen = json.loads(body)
    assert seen == {"method": "GET", "path": "/members", "body_bytes": 0,
                    "host": "box.example.net", "forwarded_for": "127.0.0.3",
                    "forwarded_proto": "https"}, seen
    # The login location has its own limit_req lines: it must still pass the same headers.
    login = json.loads(front.curl("127.0.0.3", "-H", "Host: box.example.net",
                                  "https://127.0.0.1/login"))
    assert login["forwarded_proto"] == "https" and login["forwarded_for"] == "127.0.0.3", login
    # "always": the header is on error answers too (add_header alone skips a 404).
    missing = front.curl("127.0.0.3", "-D", "-", "-o", "/dev/null", "https://127.0.0.1/missing")
    assert " 404" in missing.splitlines()[0], missing
    assert re.search(r"(?im)^strict-transport-security: max-age=31536000\r?$", missing), missing


def test_a_burst_of_page_loads_is_never_limited(front: Front) -> None:
    """40 GETs at once (a page with its assets, the dashboard, the forms) all reach the app."""
    paths = ["/", "/static/app.css", "/static/app.js", "/favicon.ico", "/members", "/login",
             "/setup", "/wizard/peering-lan", "/api/v1/status", "/graphs/traffic.svg"]
    urls = [f"https://127.0.0.1{paths[i % len(paths)]}?n={i}" for i in range(40)]
    codes = front.burst("127.0.0.4", urls)
    assert codes == [200] * 40, f"page loads were limited: {codes}\n{front.nginx_log()}"


def test_a_limited_api_caller_gets_json_not_a_page(front: Front) -> None:
    """Alice-LG hammering the birdwatcher API (and a script the REST API): beyond the UI
    limit nginx answers 429 as JSON in birdwatcher's error shape, with Retry-After."""
    import json

    for path in ("/birdwatcher/status", "/api/v1/status"):
        bodies = front.tmp / f"bodies{path.replace('/', '-')}"
        bodies.mkdir()
        urls = [f"https://127.0.0.1{path}?n={i}" for i in range(150)]
        out = front.curl("127.0.0.8" if "bird" in path else "127.0.0.9", "--parallel",
                         "--parallel-immediate", "--parallel-max", "150",
                         *(x for i, url in enumerate(urls) for x in (
                             "-o", str(bodies / f"{i}"), "-w",
                             "%{http_code} %{url_effective} %header{retry-after}\\n", url)))
        # --parallel reports in the order the answers came: the URL tells whose body it is
        lines = [line.split() for line in out.splitlines()]
        answers = {int(f[1].rsplit("=", 1)[1]): int(f[0]) for f in lines}
        waits = {f[2] for f in lines if f[0] == "429" and len(f) > 2}
        codes = list(answers.values())
        assert 429 in codes and 200 in codes, f"{path}: {codes}"
        refused = [json.loads((bodies / str(i)).read_text())
                   for i, code in answers.items() if code == 429]
        assert all(r["error"].startswith("too many requests") and r["ttl"] == r["error"]
                   for r in refused), refused[:2]
        assert waits == {"1"}, f"{path}: Retry-After of the 429s: {waits}"


def test_a_burst_of_login_posts_is_limited_per_address(front: Front) -> None:
    """40 login POSTs at once: some are refused with 429 by nginx; another address is not."""
    urls = [f"https://127.0.0.1/login?n={i}" for i in range(40)]
    codes = front.burst("127.0.0.5", urls, "-d", "name=admin&password=guess")
    assert set(codes) <= {200, 429}, codes
    assert 429 in codes, f"no login POST was limited: {codes}"
    assert 200 in codes, f"even the first login POSTs were refused: {codes}"
    # The setup code form is limited the same way.
    setup = front.burst("127.0.0.6", [f"https://127.0.0.1/setup?n={i}" for i in range(40)],
                        "-d", "code=2222-3333-4444")
    assert 429 in setup and 200 in setup, f"setup code POSTs: {setup}"
    # Per address: a client elsewhere logs in at once.
    other = front.curl("127.0.0.7", "-o", "/dev/null", "-w", "%{http_code}", "-d",
                       "name=admin&password=right", "https://127.0.0.1/login")
    assert other == "200", f"another address was limited too: {other}"


def test_a_large_irr_upload_passes_and_a_larger_one_is_refused(front: Front) -> None:
    """client_max_body_size 16m: 15 MiB reach the app whole, 17 MiB get 413 from nginx."""
    for mib, want in ((15, "200"), (17, "413")):
        data = front.tmp / f"upload-{mib}"
        data.write_bytes(b"x" * (mib << 20))
        out = front.curl("127.0.0.8", "-o", str(front.tmp / f"answer-{mib}"), "-w",
                         "%{http_code}", "--data-binary", f"@{data}",
                         "https://127.0.0.1/members/irr-upload")
        assert out == want, f"{mib} MiB upload: HTTP {out}"
    seen = json.loads((front.tmp / "answer-15").read_text())
    assert seen["body_bytes"] == 15 << 20, seen


def test_a_client_sending_headers_slowly_is_cut_off(front: Front) -> None:
    """Slowloris: one header line a second, never finished; nginx closes the connection.

    Only "closed within the header timeout plus a margin" is asserted: without the directive
    nginx would wait 60 s, longer than the client waits.
    """
    margin = 15
    for port in ("80", "443"):
        result = json.loads(front.client("slow", "127.0.0.9", port,
                                         str(HEADER_TIMEOUT + margin),
                                         timeout=HEADER_TIMEOUT + margin + 30))
        assert result["header_lines_sent"] > 0, f"port {port}: the client sent nothing: {result}"
        assert result["closed"], (f"port {port}: a client still sending headers after "
                                  f"{HEADER_TIMEOUT + margin} s was not cut off: {result}")
