"""Run an apply in the background and keep each stage's progress for the page to poll."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import abort, jsonify, render_template, url_for

from appliance.apply_service.client import pipeline
from appliance.config.model import IXPConfig
from appliance.pipeline.run import STAGES, Outcome
from appliance.platform.target import Target
from appliance.util.memory import release_freed
from appliance.web import applying


@dataclass
class Job:
    """One apply, as the progress page shows it."""

    id: str
    stages: dict[str, dict[str, str]] = field(
        default_factory=lambda: {s: {"state": "waiting", "message": ""} for s in STAGES})
    done: bool = False
    outcome: dict[str, Any] | None = None
    owner: str = ""
    candidate: str = ""  # the candidate it applies (a second Apply click joins this job)

    def as_dict(self) -> dict[str, Any]:
        """JSON for the page."""
        return {"id": self.id, "stages": self.stages, "done": self.done, "outcome": self.outcome}


_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def get(job_id: str) -> Job | None:
    """A job by id."""
    with _lock:
        return _jobs.get(job_id)


def for_candidate(cand_id: str) -> Job | None:
    """The apply of candidate ``cand_id``, running or ended, if this process started one."""
    if not cand_id:
        return None
    with _lock:
        return next((j for j in _jobs.values() if j.candidate == cand_id), None)


def start(target: Target, cfg: IXPConfig, author: str, comment: str,
          on_success: Any = None, *, candidate: str = "", based_on: int | None = None,
          verified: str = "", on_end: Callable[[bool], None] | None = None) -> Job:
    """Start applying ``cfg`` in a thread; returns at once.

    While ``author`` has an apply running, that job is returned instead of a second one, so a
    double click (or a resent form) applies once. ``candidate``, ``based_on`` and ``verified``
    come from the candidate being applied (``pipeline.candidate``); ``on_end`` learns whether
    it was applied.
    """
    helper = applying.socket()  # read here: the thread has no app context
    with _lock:
        # A candidate's apply is joined by that candidate only: another tab's candidate is
        # another change, which waits for the pipeline's lock and is then applied on top.
        running = next((j for j in _jobs.values() if not j.done and (
            j.candidate == candidate if candidate else j.owner == author)), None)
        if running is not None:
            return running
        job = Job(secrets.token_urlsafe(12), owner=author, candidate=candidate)
        _jobs[job.id] = job

    def progress(stage: str, state: str, message: str) -> None:
        with _lock:
            job.stages[stage] = {"state": state, "message": message}

    def work() -> None:
        try:
            outcome = pipeline(target, helper, progress=progress).run(
                cfg, author=author, comment=comment, based_on=based_on, verified=verified)
        except Exception as exc:  # the page must always learn how it ended
            outcome = Outcome(False, "apply", error=f"internal error: {exc}")
        if outcome.ok and on_success is not None:
            on_success()
        if on_end is not None:
            on_end(outcome.ok)
        with _lock:
            job.outcome = outcome.as_dict()
            job.done = True
        release_freed(collect=False)  # the candidate's model and text: see web/__init__.py

    threading.Thread(target=work, name=f"apply-{job.id}", daemon=True).start()
    return job


def progress_page(job_id: str, *, poll_endpoint: str, done_label: str,
                  back_endpoint: str) -> str:
    """The live progress page of job ``job_id`` (404 when unknown)."""
    job = get(job_id)
    if job is None:
        abort(404)
    return render_template("apply_progress.html", job=job.as_dict(),
                           poll_url=url_for(poll_endpoint, job_id=job_id),
                           done_url=url_for("status.index"), done_label=done_label,
                           back_url=url_for(back_endpoint))


def progress_json(job_id: str) -> Any:
    """The job as JSON for the page's script (404 when unknown)."""
    job = get(job_id)
    if job is None:
        abort(404)
    return jsonify(job.as_dict())
