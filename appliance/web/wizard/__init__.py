"""The setup wizard: identity → management → peering LAN → route server → services → SNMP →
review → apply. Every step is checked by the same model the CLI uses."""

from __future__ import annotations

from typing import Any

import yaml
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext

from appliance.config.committed import committed_config
from appliance.pipeline.candidate import Candidate as CandidateT
from appliance.pipeline.candidate import CandidateChanged, CandidateGone
from appliance.web import docs, draft, irr_status, jobs, secrets_store
from appliance.web.changes import store as changes_store
from appliance.web.masking import mask_config_text, mask_secrets
from appliance.web.nics import nic_rows
from appliance.web.summary import review_context
from appliance.web.where import current_target
from appliance.web.wizard import candidate
from appliance.web.wizard.steps import (
    STEP_BY_NAME,
    STEPS,
    TIME_ZONES,
    next_step,
    previous_step,
)

bp = Blueprint("wizard", __name__, url_prefix="/wizard")


def _state():
    return current_app.config["STATE_DIR"]


def _save_form(step_name: str, form: dict[str, str]) -> None:
    d = draft.load(_state())
    d.setdefault("forms", {})[step_name] = form
    draft.save(_state(), d)


@bp.route("/<name>", methods=["GET", "POST"])
def step(name: str) -> Response | str:
    """One wizard page; 'Back' keeps what was typed, 'Next' checks it first."""
    st = STEP_BY_NAME.get(name)
    if st is None:
        abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {f.key: request.form.get(f.key, "") for f in st.fields}
        _save_form(name, form)
        if request.form.get("action") == "back":
            prev = previous_step(name)
            return redirect(url_for("wizard.step", name=prev) if prev else url_for("wizard.step",
                                                                                   name=name))
        data, errors = candidate.parse_step(st, form, _state())
        if not errors:
            d = draft.load(_state())
            d.setdefault("data", {})[st.section] = data
            draft.save(_state(), d)
            nxt = next_step(name)
            return redirect(url_for("wizard.step", name=nxt) if nxt else url_for("wizard.review"))
    values = candidate.form_values(st, _state())
    placeholders: dict[str, str] = {}
    if name == "route_server" and request.method == "GET":
        # Real values, not grey placeholders that look filled in but are sent empty: a
        # beginner who types only the ASN gets the addresses the LAN suggests.
        for key, suggested in candidate.suggest(_state()).items():
            if not values.get(key):
                values[key] = suggested
    position = [s.name for s in STEPS].index(name)
    nics = []
    choices: dict[str, list[tuple[str, str]]] = {}
    if name in ("management", "peering_lan"):
        cfg, _issues = candidate.validate_candidate(_state())
        nics = nic_rows(current_target(), cfg)
    if name == "management":
        choices["interface"] = management_choices(nics, values.get("interface", ""))
        tz = values.get("timezone", "")
        if tz and tz not in {v for v, _ in TIME_ZONES}:
            choices["timezone"] = [(tz, tz), *TIME_ZONES]
    return render_template("wizard_step.html", step=st, steps=STEPS, position=position,
                           values=values, errors=errors, placeholders=placeholders, nics=nics,
                           choices=choices,
                           has_previous=previous_step(name) is not None), 400 if errors else 200


def management_choices(rows: list[dict[str, Any]], current: str) -> list[tuple[str, str]]:
    """The NICs the management network can use (not the bridge, not a member's port), with
    the current choice kept even when it was not detected. Empty: show a text field."""
    out: list[tuple[str, str]] = []
    for r in rows:
        if r.get("kind") not in (None, "veth") or r.get("role") not in ("free", "management"):
            continue
        facts = [_("link up") if r.get("carrier") else _("no link")]
        if r.get("mac"):
            facts.append(str(r["mac"]))
        if r.get("role") == "management":
            out.append((r["name"], _("%(nic)s (%(facts)s; the management NIC now)",
                                     nic=r["name"], facts=", ".join(facts))))
        else:
            out.append((r["name"], f"{r['name']} ({', '.join(facts)})"))
    if out and current and current not in {v for v, _text in out}:
        out.insert(0, (current, _("%(nic)s (not found on this box)", nic=current)))
    return out


@bp.get("/review")
def review() -> str:
    """The candidate configuration, every problem left, and what applying it will change."""
    cfg, issues = candidate.validate_candidate(_state())
    running = committed_config(_state())
    by_step: dict[str, list[str]] = {}
    for issue in issues:
        section = issue.path.split(".")[0].split("[")[0]
        owner = next((s.name for s in STEPS if s.section == section), "")
        by_step.setdefault(owner, []).append(str(issue))
    ctx: dict[str, Any] = {"summary": [], "plan": [], "problems": [], "files": [],
                           "ok": False}
    cand = None
    if cfg is not None:
        # The draft's configuration is loaded as a candidate like every other change; the
        # same answers give the same candidate, so a reload runs no tool.
        cand, comparison = changes_store().compare(changes_store().load(
            cfg, author=g.user or "", comment="setup wizard"))
        config_text = cand.config
        ctx = review_context(cfg, running, comparison.outcome,
                             mask_secrets(comparison.diff, cfg, running))
        left = []
        for path, msg in ctx["problems"]:
            section = path.split(".")[0].split("[")[0]
            owner = next((s.name for s in STEPS if s.section == section), "")
            if owner:
                by_step.setdefault(owner, []).append(f"{path}: {msg}")
            else:
                left.append((path, msg))
        ctx["problems"] = left
    else:
        config_text = yaml.safe_dump(candidate.candidate_data(_state()), sort_keys=False)
    return render_template("wizard_review.html", steps=STEPS, issues=by_step, cand=cand,
                           step_titles={s.name: s.title for s in STEPS},
                           valid=cfg is not None,
                           config_text=mask_config_text(config_text, cfg, running), **ctx,
                           irr=irr_status.wizard_notice(_state(), cfg))


@bp.get("/help/<path:name>")
def help_page(name: str) -> Response | str:
    """The guide, reachable while the wizard keeps a new admin inside it."""
    return docs.serve(name, "/wizard/help")


@bp.post("/irr/import")
def irr_import() -> Response:
    """Load an IRR data file from the review (the format ``ixpctl irr import`` takes)."""
    upload = request.files.get("irr_file")
    try:
        n = irr_status.import_bytes(_state(), upload.read() if upload else b"",
                                    (upload.filename if upload else "") or _("the file"))
        # English keeps "object(s)" (as before); the catalogues have real plural forms
        flash(ngettext("Imported IRR data for %(num)d object(s); the route server uses it "
                       "from the first apply.",
                       "Imported IRR data for %(num)d object(s); the route server uses it "
                       "from the first apply.", n), "info")
    except irr_status.IrrLoadError as exc:
        flash(str(exc), "error")
    return redirect(url_for("wizard.review") + "#irr")


@bp.post("/irr/fetch")
def irr_fetch() -> Response:
    """Fetch the candidate's members' IRR data with bgpq4 (online only)."""
    cfg, _issues = candidate.validate_candidate(_state())
    if cfg is None:
        flash(_("Finish the steps first: the members' AS-SETs come from the configuration."),
              "error")
        return redirect(url_for("wizard.review"))
    try:
        n, failed = irr_status.fetch(_state(), cfg)
        flash(irr_status.fetched_sentence(n, failed), "info")
    except irr_status.IrrLoadError as exc:
        flash(str(exc), "error")
    return redirect(url_for("wizard.review") + "#irr")


@bp.post("/apply")
def apply() -> Response:
    """Apply the candidate the review showed; the next page shows the progress."""
    cand_id = request.form.get("candidate", "")
    running = jobs.for_candidate(cand_id)
    if running is not None:
        return redirect(url_for("wizard.progress", job_id=running.id))
    state, user, target = _state(), g.user or "", current_target()
    cands = changes_store()

    def start(cand: CandidateT) -> str:
        cfg = cand.parsed()

        def ended(ok: bool) -> None:
            cands.finished(cand.id, ok)
            if ok:
                draft.clear(state)
                if any(u.name for u in cfg.admin_users):
                    secrets_store.retire_setup_code(state)

        return jobs.start(target, cfg, user, "setup wizard", candidate=cand.id,
                          based_on=cand.base, on_end=ended,
                          verified=(cand.review or {}).get("rendered", "")).id

    try:
        job_id = cands.claim(cand_id, user, request.form.get("digest", ""), start)
    except (CandidateGone, CandidateChanged):
        flash(_("The answers changed since this review was shown: check them again."), "error")
        return redirect(url_for("wizard.review"))
    return redirect(url_for("wizard.progress", job_id=job_id))


@bp.get("/apply/<job_id>")
def progress(job_id: str) -> str:
    """Live progress of each pipeline stage."""
    return jobs.progress_page(job_id, poll_endpoint="wizard.progress_json",
                              done_label=_("Go to the status page"),
                              back_endpoint="wizard.review")


@bp.get("/apply/<job_id>.json")
def progress_json(job_id: str) -> Response:
    """The same, for the page's script."""
    return jobs.progress_json(job_id)
