"""Where the web front end's box runs: the ``Target`` the app was made for (``create_app``)."""

from __future__ import annotations

from flask import current_app

from appliance.platform.target import Target


def current_target() -> Target:
    """The state directory and network namespace of the app serving this request."""
    target = current_app.config["TARGET"]
    assert isinstance(target, Target)
    return target
