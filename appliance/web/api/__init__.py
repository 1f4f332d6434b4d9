"""The JSON API under /api/v1: what the admin UI does, for scripts. Described by OpenAPI.

Reads accept a bearer token or a logged-in browser session; changes need a bearer token (so no
cross-site request can make one with a browser's cookie) of scope admin whose user is an admin.
An expired token gets 401, a read-only one 403 on any change (web/api/tokens.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
)

from appliance.config.committed import committed_config
from appliance.config.errors import ConfigError
from appliance.config.loader import config_from_data
from appliance.config.revisions import RevisionNotFound, RevisionStore
from appliance.config.secrets import mask_data
from appliance.pipeline.run import Outcome
from appliance.web import accounts, apidocs, applying, auth, limits, roles
from appliance.web.api import openapi, tokens
from appliance.web.masking import mask_config_text
from appliance.web.status import collect
from appliance.web.where import current_target

bp = Blueprint("api", __name__, url_prefix="/api/v1")
_OPEN = {"api.openapi_document", "api.docs"}


def _state() -> Path:
    return current_app.config["STATE_DIR"]


def _error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


@bp.before_request
def _authenticate() -> tuple[Response, int] | None:
    g.user = g.role = g.asn = None
    if request.endpoint in _OPEN:
        return None
    if not accounts.setup_done(_state()):
        return _error(401, "the box is not set up yet: finish the setup wizard first")
    header = request.headers.get("Authorization", "")
    token = None
    if header.startswith("Bearer "):
        try:
            token = tokens.authenticate(_state(), header[7:].strip())
        except tokens.TokenRefused as exc:
            return _error(401, str(exc))
        account = next((a for a in accounts.committed_accounts(_state())
                        if a.name == token.user), None)
        if account is None:
            return _error(401, f"the token's user {token.user} no longer exists; make a token "
                               "on the Users page")
    elif request.method == "GET":
        account = auth.current_user()
        if account is None:
            return _error(401, "send 'Authorization: Bearer <token>'")
    else:
        # Changes need a token (a forged cross-site request could ride a cookie). A session
        # whose role may not make this change at all is told so (403), as its token would be.
        account = auth.current_user()
        if account is None or not roles.refusal(account.role, account.asn,
                                                request.endpoint or "", request.view_args or {},
                                                request.method, _state()):
            return _error(401, "changes need 'Authorization: Bearer <token>'")
    g.user, g.role, g.asn = account.name, account.role, account.asn
    refused = roles.refusal(g.role, g.asn, request.endpoint or "", request.view_args or {},
                            request.method, _state())
    if refused:
        return _error(403, f"user {g.user}: {roles.message(refused, g.asn)}")
    if request.method != "GET" and token is not None and token.scope != "admin":
        return _error(403, f"the token '{token.name}' is read-only (scope {token.scope}); make "
                           "an admin-scope token on the Users page to change things")
    return None


def _outcome(outcome: Outcome) -> tuple[Response, int]:
    if outcome.ok:
        status = 200
    elif outcome.stage in ("lock", "rebase"):
        status = 409
    elif outcome.stage == "apply":
        status = 500
    else:
        status = 422
    return jsonify(outcome.as_dict()), status


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes")


def _run(data: Any, comment: str, based_on: int | None = None) -> tuple[Response, int]:
    """Validate once and take ``data`` through the pipeline.

    ``based_on`` is the revision the change was made from: when another change was committed
    since, this one is replayed on it, or refused with 409 when both changed the same thing.
    """
    pipe = applying.pipeline()
    try:
        cfg = config_from_data(data)
    except ConfigError as exc:
        return _outcome(Outcome(False, "validate", issues=exc.issues,
                                error="the configuration has problems; nothing was changed"))
    return _outcome(pipe.run(cfg, author=g.user, comment=comment, dry_run=_flag("dry_run"),
                             based_on=based_on))


def _committed() -> tuple[dict[str, Any], int] | None:
    """The committed configuration as data, with its revision id (the change's base)."""
    latest = RevisionStore(_state()).latest()
    return (latest.data(), latest.id) if latest else None


def _base_arg() -> int | None:
    """``?base=N``: the revision a whole configuration was read from (optional)."""
    raw = request.args.get("base", "")
    if not raw:
        return None
    if not raw.isdigit():
        abort(400, "base: give the id of the revision the configuration was read from, "
                   "e.g. ?base=12 (GET /api/v1/revisions lists them)")
    return int(raw)


def _body() -> Any:
    # Not JSON at all: None, which validation then refuses with what is missing (422). Too
    # deeply nested: 400 at once (the parser would overflow; nothing deeper is meaningful).
    if not request.is_json:
        return None
    try:
        return limits.parse_json(request.get_data(cache=True))
    except limits.BodyError as exc:
        abort(400, str(exc))


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """This API's OpenAPI 3.1 document."""
    return jsonify(openapi.document())


@bp.get("/docs")
def docs() -> str:
    """The API reference as a page, rendered here from the OpenAPI document."""
    if accounts.accounts(_state()):
        account = auth.current_user()  # logged in: the page gets the usual navigation
        if account is not None:
            g.user, g.role, g.asn = account.name, account.role, account.asn
    doc = openapi.document()
    schemas = apidocs.schemas(doc)
    return render_template("api_docs.html", info=doc["info"], openapi=doc["openapi"],
                           ops=apidocs.operations(doc), schemas=schemas,
                           type_link=apidocs.type_linker({s.name for s in schemas}))


@bp.get("/status")
def status() -> Response:
    """What the status page shows."""
    return jsonify(collect(current_target()))


def _for_reader(data: Any) -> Any:
    """Configuration data as the current user may see it: secrets hidden unless admin."""
    return data if g.role == "admin" else mask_data(data)


@bp.get("/config")
def get_config() -> Response | tuple[Response, int]:
    """The committed configuration, every default filled in (secrets hidden from viewers)."""
    cfg = committed_config(_state())
    if cfg is None:
        return _error(404, "no configuration is committed yet")
    return jsonify(_for_reader(cfg.model_dump(mode="json")))


@bp.put("/config")
def put_config() -> tuple[Response, int]:
    """Apply a whole configuration (``?base=N``: refuse with 409, or replay it, when a change
    was committed after revision N, the one it was read from)."""
    return _run(_body(), request.args.get("comment", "")[:200] or "API: config", _base_arg())


@bp.post("/config/validate")
def validate_config() -> Response | tuple[Response, int]:
    """Check a configuration without applying it: 200 when valid, 422 with every issue."""
    try:
        config_from_data(_body())
    except ConfigError as exc:
        return jsonify({"valid": False, "issues": [i.as_dict() for i in exc.issues]}), 422
    return jsonify({"valid": True, "issues": []})


@bp.get("/members")
def list_members() -> Response:
    """Every member entry."""
    cfg = committed_config(_state())
    return jsonify(_for_reader([m.model_dump(mode="json") for m in cfg.members] if cfg else []))


@bp.get("/members/<int:asn>")
def get_member(asn: int) -> Response | tuple[Response, int]:
    """A member's entries (a member may have several routers)."""
    cfg = committed_config(_state())
    found = cfg.member_by_asn(asn) if cfg else []
    if not found:
        return _error(404, f"no member with AS{asn}")
    return jsonify(_for_reader([m.model_dump(mode="json") for m in found]))


@bp.post("/members")
def add_member() -> tuple[Response, int]:
    """Add a member to the committed configuration and apply."""
    head = _committed()
    if head is None:
        return _error(404, "no configuration is committed yet")
    data, base = head
    member = _body()
    data["members"] = [*(data.get("members") or []), member]
    asn = member.get("asn") if isinstance(member, dict) else "?"
    return _run(data, request.args.get("comment", "")[:200] or f"API: member add AS{asn}",
                base)


@bp.delete("/members/<int:asn>")
def remove_member(asn: int) -> tuple[Response, int]:
    """Remove every entry of a member and apply."""
    head = _committed()
    data, base = head if head is not None else ({}, 0)
    members = data.get("members") or []
    keep = [m for m in members if str(m.get("asn")) != str(asn)]
    if head is None or len(keep) == len(members):
        return _error(404, f"no member with AS{asn}")
    data["members"] = keep
    return _run(data, request.args.get("comment", "")[:200] or f"API: member remove AS{asn}",
                base)


@bp.get("/members/<int:asn>/onboarding")
def member_onboarding(asn: int) -> Response | tuple[Response, int]:
    """The member's onboarding checklist: each check green or red, and what to fix."""
    from appliance.web.member import onboarding_of

    result = onboarding_of(asn)
    if result is None:
        return _error(404, f"no member with AS{asn}")
    return jsonify(result)


@bp.get("/members/<int:asn>/report")
def member_report(asn: int) -> Response | tuple[Response, int]:
    """The member's report card: sessions, prefixes, RPKI and IRR coverage, its traffic."""
    from appliance.web.member import report_of

    card = report_of(asn)
    if card is None:
        return _error(404, f"no member with AS{asn}")
    return jsonify(card)


@bp.post("/members/<int:asn>/release")
def release_member(asn: int) -> tuple[Response, int]:
    """Release the member's port from quarantine once its checklist is green (409 with the
    checklist when it is not)."""
    from appliance.web.member import onboarding_of, released

    result = onboarding_of(asn)
    head = _committed()
    if result is None or head is None:
        return _error(404, f"no member with AS{asn}")
    data, base = head
    data = released(data, asn)
    if data is None:
        return _error(409, f"AS{asn} is not in quarantine")
    if not result["ready"]:
        return _error(409, f"AS{asn} is not ready: some onboarding checks are red",
                      checks=result["checks"])
    return _run(data, f"member release AS{asn} {result['name']} from quarantine "
                      "(onboarding checklist green)", base)


@bp.get("/alerts")
def alerts() -> Response:
    """Open and past alerts, the channels (without secrets) and the recent deliveries."""
    from appliance.alerts.status import alerts_status

    return jsonify(alerts_status(_state()))


@bp.get("/matrix")
def matrix() -> Response | tuple[Response, int]:
    """The traffic matrix: bytes and packets between every pair of members, per family."""
    from appliance.bridge.status import box_matrix

    cfg = committed_config(_state())
    if cfg is None:
        return _error(404, "no configuration is committed yet")
    if not cfg.peering_lan.traffic_matrix:
        return _error(404, "the traffic matrix is off (peering_lan.traffic_matrix)")
    rows = box_matrix(cfg, current_target())
    return jsonify(roles.own_pairs(g.role, g.asn, rows))  # a member: its own pairs only


@bp.get("/revisions")
def list_revisions() -> Response:
    """History, newest first."""
    return jsonify([r.summary() for r in reversed(RevisionStore(_state()).list())])


@bp.get("/revisions/<int:rev_id>")
def get_revision(rev_id: int) -> Response | tuple[Response, int]:
    """One revision with its configuration text."""
    try:
        rev = RevisionStore(_state()).get(rev_id)
    except RevisionNotFound as exc:
        return _error(404, str(exc))
    data = {**rev.summary(), "config": rev.config if g.role == "admin"
            else mask_config_text(rev.config, committed_config(_state()))}
    return jsonify(data)


@bp.post("/revisions/<int:rev_id>/rollback")
def rollback(rev_id: int) -> tuple[Response, int]:
    """Apply an earlier revision again, as a new revision."""
    try:
        data, base = RevisionStore(_state()).rollback_data(rev_id)
    except RevisionNotFound as exc:
        return _error(404, str(exc))
    return _run(data, f"rollback to revision {rev_id}", base)
