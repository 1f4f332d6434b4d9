"""The appliance's web application (Flask app factory; one blueprint per area).

Access rules, enforced for every request in ``_gate``:
- until somebody can log in, every page leads to /setup (one-time code, then an admin account);
- after that, everything but the login page needs a session (the looking glass too, unless
  the committed config makes it public: services.looking_glass.public);
- until a configuration with an admin is committed, a logged-in user is kept in the wizard;
  once it is, the wizard is closed.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, g, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from appliance import __version__
from appliance.apply_service.client import helper_socket
from appliance.config.committed import committed_config
from appliance.platform.target import Target, as_target
from appliance.util.memory import release_freed
from appliance.web import accounts, filters, i18n, limits, roles, secrets_store
from appliance.web.i18n import lazy_gettext as _l
from appliance.web.lg_access import json_error, looking_glass_is_public

_ALWAYS_OPEN = {"static", "favicon", "status.healthz", "export.participants",
                "export.member_export_api", "graphs.metrics", "i18n.choose"}

# Titles of the error pages (lazy: translated when the page is made, in its reader's language).
ERROR_TITLES = {400: _l("The request was not understood"), 403: _l("Not allowed"),
                404: _l("Page not found"), 405: _l("Not allowed this way"),
                409: _l("That cannot be done now"), 413: _l("Too much sent at once"),
                429: _l("Too many attempts"), 500: _l("Something went wrong on the box")}
# What to do about it, when the code that refused did not say more itself.
ERROR_TEXTS = {400: _l("The form or the address was not as the box expected. Go back, reload "
                       "the page and try again."),
               403: _l("Your account may look but not change anything."),
               404: _l("There is no page at this address. Check the address, or start again "
                       "from the status page."),
               405: _l("This address does not take this kind of request."),
               500: _l("The box could not answer this request; nothing was changed. An admin "
                       "finds why on the Logs page, in the web UI's log (in a lab: in the "
                       "output of the web process).")}
_AFTER_SETUP_OK = {"wizard.progress", "wizard.progress_json", "auth.logout"}
# open while the wizard runs too: a first apply that fails is when the logs are needed most
_DURING_SETUP_OK = {"logs.index", "logs.download"}


def create_app(target: Target | str | Path, test_config: dict[str, Any] | None = None
               ) -> Flask:
    """Build the app for ``target`` (a bare state directory: config-only, on this host);
    ``test_config`` overrides settings in tests."""
    where = as_target(target)
    state = where.state_dir
    app = Flask(__name__)
    app.config.update(
        STATE_DIR=state,
        TARGET=where,
        # None: this process applies itself (as root, off the image); else the apply
        # helper's socket (the image's web runs as ixp-web with no capabilities)
        APPLY_SOCKET=helper_socket(where),
        SECRET_KEY=secrets_store.session_key(state),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # Behind the image's HTTPS front the cookie must never travel in clear; the dev
        # runner serves plain HTTP on loopback only.
        SESSION_COOKIE_SECURE=os.environ.get("IXP_HTTPS") == "1",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the session's own expiry bounds the token
    )
    if test_config:
        app.config.update(test_config)
    # the counters on the status pages: nft needs CAP_NET_ADMIN, which only the helper has
    # and the onboarding checklist's ARP/ND question a packet socket (CAP_NET_RAW)
    from appliance.apply_service.client import Privileged
    from appliance.platform import nft, probe

    helper = app.config["APPLY_SOCKET"]
    nft.use_reader(Privileged(where, helper).nft_reader() if helper else None)
    probe.use_asker(Privileged(where, helper).prober() if helper else None)
    if os.environ.get("IXP_HTTPS") == "1":
        # Behind the image's nginx every request comes from 127.0.0.1; take the client's
        # address from the one header nginx sets (it overwrites any the client sent), so the
        # login and setup-code throttles count per client, not for everyone at once.
        # Only the address: trusting X-Forwarded-Proto would make requests look HTTPS and turn
        # on Flask-WTF's strict Referer check, which our no-referrer policy would then fail.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=0,  # type: ignore[method-assign]
                                x_host=0, x_port=0, x_prefix=0)
    limits.register(app)  # before the CSRF check, which reads the body
    i18n.register(app)
    csrf = CSRFProtect(app)

    from appliance.web import (
        alerts,
        api,
        auth,
        backup,
        birdwatcher,
        changes,
        data,
        docs,
        export,
        firmware,
        graphs,
        history,
        lg,
        logs,
        management,
        member,
        members,
        setup,
        status,
        users,
        wizard,
    )

    for blueprint in (status.bp, auth.bp, setup.bp, wizard.bp, changes.bp, members.bp,
                      history.bp, users.bp, api.bp, export.bp, graphs.bp, lg.bp, birdwatcher.bp,
                      docs.bp, data.bp, management.bp, backup.bp, firmware.bp, member.bp,
                      alerts.bp, logs.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api.bp)  # bearer tokens, not cookies: nothing for a forged request to ride on
    filters.register(app)

    @app.get("/favicon.ico")
    def favicon() -> Response:
        """Browsers ask for /favicon.ico; the icon is an SVG in static/."""
        return redirect(url_for("static", filename="favicon.svg"), code=301)

    @app.before_request
    def _gate():
        endpoint = request.endpoint or ""
        g.user = g.role = g.asn = None
        if request.routing_exception is not None:
            # unknown path or method: Flask answers 404 / 405 itself, in a page that shows the
            # navigation to whoever is logged in
            if accounts.accounts(state):
                account = auth.current_user()
                if account is not None:
                    g.user, g.role, g.asn = account.name, account.role, account.asn
            return None
        if endpoint in _ALWAYS_OPEN or endpoint.startswith(("setup.", "api.", "docs.")):
            # the API authenticates in its own before_request; the guide (/help) is the
            # project's public documentation, needed most before anyone can log in
            return None
        if endpoint.startswith("birdwatcher."):
            # JSON clients (Alice-LG): tokens, a session, allowed networks or a public glass;
            # never a page or a redirect
            return birdwatcher.gate(state)
        if not accounts.accounts(state):
            return redirect(url_for("setup.code"))
        if endpoint == "auth.login":
            return None
        account = auth.current_user()
        if account is None:
            # The looking glass (pages and birdwatcher API) is open to anyone only when the
            # committed config says services.looking_glass.public (see web/lg_access.py).
            if endpoint.startswith("lg.") and looking_glass_is_public(state):
                return None
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        g.user, g.role, g.asn = account.name, account.role, account.asn
        refused = roles.refusal(g.role, g.asn, endpoint, request.view_args or {},
                                request.method, state)
        if refused:
            abort(403, roles.message(refused, g.asn))
        done = accounts.setup_done(state)
        if endpoint.startswith("wizard.") and done and endpoint not in _AFTER_SETUP_OK:
            return redirect(url_for("status.index"))
        if not done and not endpoint.startswith("wizard.") and \
                endpoint not in _AFTER_SETUP_OK | _DURING_SETUP_OK:
            return redirect(url_for("wizard.step", name="identity"))
        return None

    @app.errorhandler(HTTPException)
    def _errors(exc: HTTPException):
        code = exc.code or 500
        if code < 400:
            return exc  # a routing redirect (e.g. a missing trailing slash)
        wants_json = request.accept_mimetypes.best_match(["text/html", "application/json"]) \
            == "application/json"
        if request.path == "/birdwatcher" or request.path.startswith("/birdwatcher/"):
            # Alice-LG parses every answer as JSON; the shape is one it reports as an error
            resp = json_error(code, exc.description or exc.name)
        elif request.path.startswith("/api/") or request.path.endswith(".json") or wants_json:
            resp = jsonify({"error": exc.description or exc.name})
        else:
            # werkzeug's default descriptions are for developers; what our own code passes
            # to abort() is written for the person reading the page
            own = exc.description != type(exc).description
            try:
                body = render_template("error.html", code=code,
                                       title=ERROR_TITLES.get(code, exc.name),
                                       description=exc.description if own else
                                       ERROR_TEXTS.get(code, exc.description))
            except Exception:  # the page of last resort must not fail itself
                body = f"{code} {exc.name}"
            resp = app.make_response(body)
        resp.status_code = code
        if code == 405 and exc.valid_methods:
            resp.headers["Allow"] = ", ".join(exc.valid_methods)
        return resp

    @app.context_processor
    def _globals() -> dict[str, Any]:
        cfg = committed_config(state)
        notice = management.trial_notice(state) if g.get("user") else None
        open_alerts = 0
        if g.get("user"):
            from appliance.alerts.store import AlertStore

            open_alerts = len(AlertStore(state).state()["open"])
        return {"version": __version__, "ixp_name": cfg.identity.name if cfg else None,
                "management_trial": notice, "alert_count": open_alerts}

    @app.after_request
    def _security_headers(resp):  # noqa: ANN001 (Flask hook)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                                "form-action 'self'; base-uri 'none'")
        return resp

    @app.teardown_request
    def _hand_back(_exc: BaseException | None) -> None:
        # A change builds the model from the form or the JSON and its YAML text (with 1000
        # members some 5 MiB that the heap kept after the answer): give it back (issue 14).
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            release_freed(collect=False)

    return app
