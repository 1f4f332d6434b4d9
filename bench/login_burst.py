"""Memory of the web process during a burst of wrong logins, with the shipped bound on
concurrent password checks (accounts.MAX_PASSWORD_CHECKS) next to no bound, in the same run.

Each variant runs in a fresh child process (peak RSS only grows, so two variants cannot share
one): the app on a threaded werkzeug server on 127.0.0.1, N parallel wrong logins from N
client addresses, then the child reports its peak RSS before and after and how the logins
were answered. Nothing but loopback is used; the state dir is a temporary one.

Run: .venv/bin/python bench/login_burst.py [logins]   (default 24)
"""

from __future__ import annotations

import http.client
import json
import resource
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from collections import Counter
from pathlib import Path

from appliance.box import build_pipeline

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(n: int, bounded: bool) -> dict[str, object]:
    """One variant: serve, burst, measure; returns the figures."""
    import yaml
    from werkzeug.serving import make_server

    from appliance.web import accounts, create_app

    state = Path(tempfile.mkdtemp(prefix="ixp-login-burst-"))
    data = yaml.safe_load((HERE.parent / "examples" / "small-island.yaml").read_text())
    data["admin_users"] = [{"name": "alice",
                            "password_hash": accounts.hash_password("bench pass phrase ok")}]
    assert build_pipeline(state).run(yaml.safe_dump(data), author="bench").ok
    if not bounded:
        accounts._CHECK_SLOTS = threading.BoundedSemaphore(10_000)
    app = create_app(state, {"WTF_CSRF_ENABLED": False})
    inner = app.wsgi_app

    def per_client(environ, start_response):  # each login from its own address
        environ["REMOTE_ADDR"] = environ.get("HTTP_X_BENCH_SOURCE", environ["REMOTE_ADDR"])
        return inner(environ, start_response)

    app.wsgi_app = per_client
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    before = _peak_mib()
    answers: list[int] = []
    go = threading.Barrier(n)

    def login(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=120)
        body = urllib.parse.urlencode({"name": "alice", "password": f"wrong {i}"})
        go.wait()
        conn.request("POST", "/login", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Bench-Source": f"10.0.{i // 250}.{i % 250 + 1}"})
        answers.append(conn.getresponse().status)
        conn.close()

    threads = [threading.Thread(target=login, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.shutdown()
    return {"before": before, "after": _peak_mib(), "answers": dict(Counter(answers))}


def main() -> None:
    """Run both variants and print them side by side."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    rows = {}
    for bounded in (False, True):
        out = subprocess.run([sys.executable, __file__, "--child", str(n), str(int(bounded))],
                             capture_output=True, text=True, check=True)
        rows[bounded] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{n} parallel wrong logins")
    print(f"{'':28}{'no bound':>14}{'bound ' + str(_bound()):>14}")
    for key, label in (("before", "peak RSS before (MiB)"), ("after", "peak RSS after (MiB)")):
        print(f"{label:28}{rows[False][key]:>14.0f}{rows[True][key]:>14.0f}")
    for status in sorted({*rows[False]["answers"], *rows[True]["answers"]}):
        print(f"{'answered ' + status:28}{rows[False]['answers'].get(status, 0):>14}"
              f"{rows[True]['answers'].get(status, 0):>14}")


def _bound() -> int:
    from appliance.web import accounts
    return accounts.MAX_PASSWORD_CHECKS


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]), sys.argv[3] == "1")))
    else:
        main()
