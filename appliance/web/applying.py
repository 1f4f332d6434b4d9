"""Where this web app applies: in-process or through the apply helper (decided once, in
``create_app``: ``APPLY_SOCKET``, see ``appliance.apply_service.client.helper_socket``)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, has_app_context

from appliance.apply_service import client
from appliance.pipeline.candidate import CandidateStore
from appliance.pipeline.run import Pipeline, ProgressFn
from appliance.web.where import current_target


def socket() -> Path | None:
    """The helper's socket this app uses, or None when it applies in-process."""
    return current_app.config.get("APPLY_SOCKET") if has_app_context() else None


def pipeline(progress: ProgressFn | None = None) -> Pipeline:
    """The box's pipeline, one way or the other."""
    return client.pipeline(current_target(), socket(), progress=progress)


def store() -> CandidateStore:
    """The box's candidates, compared and applied one way or the other."""
    return client.candidates(current_target(), socket())


def privileged() -> client.Privileged:
    """The other root operations (restore, identify, firmware)."""
    return client.Privileged(current_target(), socket())
