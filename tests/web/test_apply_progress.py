"""The progress page says "Applying…" while the job runs and "Applied" once it is done."""

from __future__ import annotations

import time

from appliance.platform.target import Target
from appliance.web import jobs

from .conftest import csrf, form_fields
from .test_admin_pages import NEW_MEMBER


def test_applying_turns_into_applied(client):
    page = client.get("/members/new")
    client.post("/members/new", data={**NEW_MEMBER, "action": "save",
                                       "csrf_token": csrf(page.data)})
    review = client.get("/changes/review")
    url = client.post("/changes/apply",
                      data=form_fields(review.data, "/changes/apply")).headers["Location"]
    job_id = url.rsplit("/", 1)[1]
    running = jobs.Job("still-running")
    with jobs._lock:
        jobs._jobs[running.id] = running
    html = client.get("/changes/apply/still-running").data.decode()
    assert "<title>Applying… ·" in html and "Applying the configuration…" in html
    assert 'data-done=""' in html and 'data-applied="Applied"' in html
    deadline = time.monotonic() + 30
    while not client.get(url + ".json").get_json()["done"]:
        assert time.monotonic() < deadline, "apply did not finish"
        time.sleep(0.05)
    done = client.get(f"/changes/apply/{job_id}").data.decode()
    assert '<h1 id="apply-heading">Applied</h1>' in done and "<title>Applied ·" in done
    assert 'data-done="yes"' in done and "Applying" not in done


def test_failed_apply_says_not_applied(client):
    job = jobs.Job("failed-one", done=True, outcome={"ok": False, "error": "verify failed",
                                                      "issues": [], "message": ""})
    with jobs._lock:
        jobs._jobs[job.id] = job
    html = client.get("/changes/apply/failed-one").data.decode()
    assert '<h1 id="apply-heading">Not applied</h1>' in html and "verify failed" in html


def test_a_second_apply_while_one_runs_joins_it(monkeypatch, tmp_path, example_text):
    import threading

    from appliance.config.loader import load_config_text
    from appliance.pipeline.run import Outcome

    release = threading.Event()
    runs = []

    class SlowPipeline:
        def __init__(self, *a, **kw):
            pass

        def run(self, cfg, **kw):
            runs.append(cfg)
            release.wait(10)
            return Outcome(True, "commit", message="done")

    # the one pipeline the web applies through (in-process here, the helper on the image)
    monkeypatch.setattr(jobs, "pipeline", lambda *a, **kw: SlowPipeline())
    cfg = load_config_text(example_text)
    first = jobs.start(Target(tmp_path), cfg, "double-clicker", "c")
    second = jobs.start(Target(tmp_path), cfg, "double-clicker", "c")
    other = jobs.start(Target(tmp_path), cfg, "someone-else", "c")
    assert second is first and other is not first
    release.set()
    deadline = time.monotonic() + 10
    while not (first.done and other.done):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert len(runs) == 2, "one apply per person, not per click"
    third = jobs.start(Target(tmp_path), cfg, "double-clicker", "c")
    assert third is not first, "after it finished, a new apply starts"
    while not third.done:
        assert time.monotonic() < deadline
        time.sleep(0.01)
