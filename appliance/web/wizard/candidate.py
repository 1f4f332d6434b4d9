"""Turn wizard forms into model data, validate them, and assemble the candidate configuration."""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from appliance.config.errors import ConfigError, Issue
from appliance.config.loader import config_from_data, issues_from_validation_error
from appliance.config.model import (
    Alerts,
    Identity,
    IXPConfig,
    Management,
    PeeringLan,
    RouteServer,
    Services,
    Snmp,
)
from appliance.config.revisions import RevisionStore
from appliance.firewall import safety
from appliance.web import draft
from appliance.web.forms import deep_merge, get_path, prune, set_path
from appliance.web.wizard.steps import Step

SECTION_MODELS: dict[str, type[BaseModel]] = {
    "identity": Identity, "management": Management, "peering_lan": PeeringLan,
    "route_server": RouteServer, "services": Services, "snmp": Snmp, "alerts": Alerts,
}


def base_data(state_dir: Path) -> dict[str, Any]:
    """The committed configuration as data (the wizard starts from it), or an empty one."""
    latest = RevisionStore(state_dir).latest()
    return latest.data() if latest else {}


def form_values(step: Step, state_dir: Path) -> dict[str, str]:
    """What the step's inputs show: the draft's raw input, else the current value."""
    saved = draft.load(state_dir).get("forms", {}).get(step.name)
    if saved is not None:
        return dict(saved)
    section = candidate_data(state_dir).get(step.section, {})
    values: dict[str, str] = {}
    for f in step.fields:
        v = get_path(section, f.key)
        if v is None:
            v = model_default(SECTION_MODELS[step.section], f.key)
        if f.kind == "checkbox":
            values[f.key] = "on" if v else ""
        elif isinstance(v, list):
            values[f.key] = " ".join(map(str, v))
        else:
            values[f.key] = "" if v is None else str(v)
    return values


def model_default(model: type[BaseModel], key: str) -> Any:
    """The model's default for a dotted field key (None when required or unknown)."""
    node: Any = model
    value: Any = None
    for part in key.split("."):
        if part.isdigit() or not (isinstance(node, type) and issubclass(node, BaseModel)):
            return None
        info = node.model_fields.get(part)
        if info is None or info.is_required():
            return None
        value = info.get_default(call_default_factory=True)
        node = type(value) if isinstance(value, BaseModel) else None
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def parse_step(step: Step, form: dict[str, str], state_dir: Path) -> tuple[dict[str, Any],
                                                                           dict[str, str]]:
    """Validate one step's form; returns (section data, errors by field key)."""
    section: dict[str, Any] = copy.deepcopy(base_data(state_dir).get(step.section, {}))
    section = deep_merge(section, draft.load(state_dir).get("data", {}).get(step.section, {}))
    errors: dict[str, str] = {}
    for f in step.fields:
        raw = form.get(f.key, "")
        if f.required and not raw.strip():
            errors[f.key] = "This is needed."
            continue
        set_path(section, f.key, f.parse(raw))
    section = prune(section)
    if step.section == "route_server" and "router_id" not in section and "ipv4" in section:
        section["router_id"] = section["ipv4"]
    try:
        SECTION_MODELS[step.section].model_validate(section)
    except ValidationError as exc:
        for issue in issues_from_validation_error(exc):
            key = issue.path.replace("[", ".").replace("]", "")
            target = key if any(f.key == key for f in step.fields) else _nearest(step, key)
            errors.setdefault(target, issue.message[0].upper() + issue.message[1:] + ".")
    if not errors:
        _cross_field_errors(step, section, state_dir, errors)
    return section, errors


def _cross_field_errors(step: Step, section: dict[str, Any], state_dir: Path,
                        errors: dict[str, str]) -> None:
    """Rules that relate this step to earlier answers (an anycast prefix overlapping the
    peering LAN, a resolver address outside it), shown on the step rather than at the review.
    Problems of other sections, or of sections not answered yet, wait for the review."""
    candidate = candidate_data(state_dir)
    candidate[step.section] = section
    try:
        config_from_data(candidate)
    except ConfigError as exc:
        for issue in exc.issues:
            if not issue.path.startswith(step.section + "."):
                continue
            key = issue.path[len(step.section) + 1:].replace("[", ".").replace("]", "")
            target = key if any(f.key == key for f in step.fields) else _nearest(step, key)
            errors.setdefault(target, issue.message[0].upper() + issue.message[1:] + ".")


def _nearest(step: Step, key: str) -> str:
    # An error on a field the form does not show (e.g. a nested default) lands on the closest
    # shown field, or on the step as a whole ("").
    for f in step.fields:
        if key.startswith(f.key) or f.key.startswith(key):
            return f.key
    return ""


def candidate_data(state_dir: Path) -> dict[str, Any]:
    """Committed configuration + the wizard's sections + its admin account."""
    data = base_data(state_dir)
    # On the image the management NIC is the one first boot chose (the model's "eth0" may
    # not exist there, and the management firewall refuses a NIC that does not).
    nic = safety.recorded_mgmt_interface(safety.RECORDED_MGMT_INTERFACE)
    if nic and not (data.get("management") or {}).get("interface"):
        data.setdefault("management", {})["interface"] = nic
    d = draft.load(state_dir)
    for section, values in d.get("data", {}).items():
        data[section] = deep_merge(data.get(section, {}), values) \
            if section != "snmp" else values
    admin = d.get("admin")
    if admin:
        users = [u for u in data.get("admin_users", []) if u.get("name") != admin["name"]]
        data["admin_users"] = [*users, {"name": admin["name"],
                                        "password_hash": admin["password_hash"]}]
    return data


def suggest(state_dir: Path) -> dict[str, str]:
    """Suggested values derived from earlier answers (route server addresses from the LAN)."""
    data = candidate_data(state_dir)
    out: dict[str, str] = {}
    lan = data.get("peering_lan", {})
    try:
        if lan.get("ipv4_prefix"):
            out["ipv4"] = str(ipaddress.ip_network(lan["ipv4_prefix"]).network_address + 1)
            out["router_id"] = out["ipv4"]
        if lan.get("ipv6_prefix"):
            out["ipv6"] = str(ipaddress.ip_network(lan["ipv6_prefix"]).network_address + 1)
    except ValueError:
        pass
    return out


def validate_candidate(state_dir: Path) -> tuple[IXPConfig | None, list[Issue]]:
    """The whole candidate, validated as the pipeline will."""
    try:
        return config_from_data(candidate_data(state_dir)), []
    except ConfigError as exc:
        return None, exc.issues
