"""The OpenAPI 3.1 document of /api/v1, with the model's own JSON Schemas as components."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from appliance import __version__
from appliance.config.model import IXPConfig, Member

REF = "#/components/schemas/{model}"


def _schemas() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in (IXPConfig, Member):
        schema = model.model_json_schema(ref_template=REF)
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    out["Issue"] = {"type": "object", "required": ["path", "message"],
                    "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}
    out["Outcome"] = {
        "type": "object", "required": ["ok", "stage"],
        "properties": {
            "ok": {"type": "boolean"}, "stage": {"type": "string"},
            "message": {"type": "string"}, "error": {"type": ["string", "null"]},
            "issues": {"type": "array", "items": {"$ref": "#/components/schemas/Issue"}},
            "changes": {"type": "array", "items": {"type": "object"}},
            "revision": {"type": ["object", "null"]}, "rolled_back": {"type": "boolean"},
            "rebased_on": {"type": ["integer", "null"]},
        }}
    out["Error"] = {"type": "object", "required": ["error"],
                    "properties": {"error": {"type": "string"},
                                   "issues": {"type": "array",
                                              "items": {"$ref": "#/components/schemas/Issue"}}}}
    out["Revision"] = {"type": "object", "required": ["id", "time", "author", "comment"],
                       "properties": {"id": {"type": "integer"}, "time": {"type": "string"},
                                      "author": {"type": "string"},
                                      "comment": {"type": "string"},
                                      "software_version": {"type": "string"},
                                      "sha256": {"type": "string"},
                                      "config": {"type": "string"}}}
    return out


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def _resp(desc: str, ref: str) -> dict[str, Any]:
    return {"description": desc, "content": _json(ref)}


ERRORS = {"401": _resp("no token, a wrong one or an expired one", "Error"),
          "403": _resp("the token's user may not change anything, or the token is read-only",
                       "Error")}
BODY_ERRORS = {"400": _resp("the JSON body nests more than 64 levels deep", "Error"),
               "413": _resp("the body is larger than 16 MiB", "Error")}
CHANGE_ERRORS = {**ERRORS, "409": _resp("another change is being applied, or what this change "
                                        "changes was changed since it was read", "Error"),
                 "422": _resp("refused: the issues say why; nothing was changed", "Outcome")}
DRY_RUN = {"name": "dry_run", "in": "query", "required": False,
           "schema": {"type": "boolean", "default": False},
           "description": "only plan; change nothing"}
BASE = {"name": "base", "in": "query", "required": False, "schema": {"type": "integer"},
        "description": "the revision the configuration was read from: a change committed "
                       "since is kept (this one is replayed on it), or 409 when both changed "
                       "the same setting"}
COMMENT = {"name": "comment", "in": "query", "required": False,
           "schema": {"type": "string", "maxLength": 200}, "description": "why (kept in history)"}
ASN = {"name": "asn", "in": "path", "required": True,
       "schema": {"type": "integer", "minimum": 0, "maximum": 4294967295}}
REV = {"name": "rev_id", "in": "path", "required": True, "schema": {"type": "integer"}}


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    arr_members = {"application/json": {"schema": {
        "type": "array", "items": {"$ref": "#/components/schemas/Member"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "IXP appliance API", "version": __version__,
                 "description": "Everything the admin UI does. Changes go through the same "
                 "validate → render → verify → apply → commit pipeline. Authenticate with "
                 "'Authorization: Bearer <token>' (tokens: Users page or 'ixpctl api-token')."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"schemas": _schemas(),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/api/v1/status": {"get": {"operationId": "status", "summary": "status overview",
                                       "responses": {"200": {"description": "status",
                                                             "content": {"application/json": {
                                                                 "schema": {"type": "object"}}}},
                                                     **ERRORS}}},
            "/api/v1/config": {
                "get": {"operationId": "getConfig", "summary": "the committed configuration "
                        "(secrets hidden)", "responses": {"200": _resp("config", "IXPConfig"),
                                                          "404": _resp("none yet", "Error"),
                                                          **ERRORS}},
                "put": {"operationId": "applyConfig", "summary": "apply a whole configuration",
                        "parameters": [DRY_RUN, COMMENT, BASE],
                        "requestBody": {"required": True, "content": _json("IXPConfig")},
                        "responses": {"200": _resp("applied (or planned)", "Outcome"),
                                      "500": _resp("apply failed and was rolled back", "Outcome"),
                                      **CHANGE_ERRORS, **BODY_ERRORS}}},
            "/api/v1/config/validate": {
                "post": {"operationId": "validateConfig", "summary": "check a configuration",
                         "requestBody": {"required": True, "content": _json("IXPConfig")},
                         "responses": {"200": {"description": "valid",
                                               "content": {"application/json": {"schema": {
                                                   "type": "object"}}}},
                                       "422": {"description": "not valid: every issue",
                                               "content": {"application/json": {"schema": {
                                                   "type": "object"}}}}, **ERRORS,
                                       **BODY_ERRORS}}},
            "/api/v1/members": {
                "get": {"operationId": "listMembers", "summary": "all members",
                        "responses": {"200": {"description": "members", "content": arr_members},
                                      **ERRORS}},
                "post": {"operationId": "addMember", "summary": "add a member",
                         "parameters": [DRY_RUN, COMMENT],
                         "requestBody": {"required": True, "content": _json("Member")},
                         "responses": {"200": _resp("added (or planned)", "Outcome"),
                                       "500": _resp("apply failed and was rolled back",
                                                    "Outcome"),
                                       **CHANGE_ERRORS, **BODY_ERRORS}}},
            "/api/v1/members/{asn}": {
                "get": {"operationId": "getMember", "summary": "a member's entries",
                        "parameters": [ASN],
                        "responses": {"200": {"description": "entries", "content": arr_members},
                                      "404": _resp("no such member", "Error"), **ERRORS}},
                "delete": {"operationId": "removeMember", "summary": "remove a member",
                           "parameters": [ASN, DRY_RUN, COMMENT],
                           "responses": {"200": _resp("removed (or planned)", "Outcome"),
                                         "404": _resp("no such member", "Error"),
                                         "500": _resp("apply failed and was rolled back",
                                                      "Outcome"),
                                         **CHANGE_ERRORS}}},
            "/api/v1/members/{asn}/onboarding": {
                "get": {"operationId": "memberOnboarding", "summary": "the member's onboarding "
                        "checklist: link, MACs, hygiene drops, ARP/ND, BGP, RPKI/IRR, "
                        "max-prefix; each check ok or with its findings in words",
                        "parameters": [ASN],
                        "responses": {"200": {"description": "the checklist", "content": {
                            "application/json": {"schema": {"type": "object", "properties": {
                                "asn": {"type": "integer"}, "name": {"type": "string"},
                                "quarantine": {"type": "boolean"},
                                "ready": {"type": "boolean"},
                                "checks": {"type": "array", "items": {"type": "object"}}}}}}},
                                      "404": _resp("no such member", "Error"), **ERRORS}}},
            "/api/v1/members/{asn}/report": {
                "get": {"operationId": "memberReport", "summary": "the member's report card: "
                        "sessions, prefixes accepted and filtered by reason, RPKI and IRR "
                        "coverage, traffic and top peers",
                        "parameters": [ASN],
                        "responses": {"200": {"description": "the report card", "content": {
                            "application/json": {"schema": {"type": "object"}}}},
                                      "404": _resp("no such member", "Error"), **ERRORS}}},
            "/api/v1/members/{asn}/release": {
                "post": {"operationId": "releaseMember", "summary": "release the member's "
                         "port from quarantine (only when every onboarding check is green)",
                         "parameters": [ASN, DRY_RUN],
                         "responses": {"200": _resp("released (or planned)", "Outcome"),
                                       "404": _resp("no such member", "Error"),
                                       "500": _resp("apply failed and was rolled back",
                                                    "Outcome"),
                                       **CHANGE_ERRORS}}},
            "/api/v1/ixf/member-export": {
                "get": {"operationId": "ixfMemberExport", "security": [],
                        "summary": "IX-F Member Export JSON 1.0 (public; also /participants.json)",
                        "responses": {"200": {"description": "the export", "content": {
                            "application/json": {"schema": {"type": "object"}}}},
                                      "404": _resp("no configuration yet", "Error")}}},
            "/api/v1/alerts": {
                "get": {"operationId": "alerts", "summary": "open and past alerts, the "
                        "channels and the recent deliveries (docs/alerts.md)",
                        "responses": {"200": {"description": "alerts", "content": {
                            "application/json": {"schema": {"type": "object", "properties": {
                                "configured": {"type": "boolean"},
                                "enabled": {"type": "boolean"},
                                "open": {"type": "array", "items": {"type": "object"}},
                                "past": {"type": "array", "items": {"type": "object"}},
                                "pending": {"type": "integer"},
                                "channels": {"type": "array", "items": {"type": "object"}},
                                "deliveries": {"type": "array", "items": {"type": "object"}},
                                "retrying": {"type": "integer"}}}}}},
                                      **ERRORS}}},
            "/api/v1/matrix": {
                "get": {"operationId": "trafficMatrix", "summary": "bytes and packets between "
                        "every pair of members, per family, counted in the kernel",
                        "responses": {"200": {"description": "one row per member pair and "
                                              "family that exchanged traffic", "content": {
                            "application/json": {"schema": {"type": "array", "items": {
                                "type": "object", "properties": {
                                    "from_asn": {"type": "integer"}, "from": {"type": "string"},
                                    "to_asn": {"type": "integer"}, "to": {"type": "string"},
                                    "family": {"type": "string", "enum": ["ipv4", "ipv6"]},
                                    "packets": {"type": "integer"},
                                    "bytes": {"type": "integer"}}}}}}},
                                      "404": _resp("none yet, or the matrix is off", "Error"),
                                      **ERRORS}}},
            "/api/v1/revisions": {
                "get": {"operationId": "listRevisions", "summary": "history, newest first",
                        "responses": {"200": {"description": "revisions", "content": {
                            "application/json": {"schema": {"type": "array", "items": {
                                "$ref": "#/components/schemas/Revision"}}}}}, **ERRORS}}},
            "/api/v1/revisions/{rev_id}": {
                "get": {"operationId": "getRevision", "summary": "one revision",
                        "parameters": [REV],
                        "responses": {"200": _resp("revision", "Revision"),
                                      "404": _resp("no such revision", "Error"), **ERRORS}}},
            "/api/v1/revisions/{rev_id}/rollback": {
                "post": {"operationId": "rollback", "summary": "apply an earlier revision again",
                         "parameters": [REV, DRY_RUN],
                         "responses": {"200": _resp("rolled back (or planned)", "Outcome"),
                                       "404": _resp("no such revision", "Error"),
                                       "500": _resp("apply failed and was rolled back",
                                                    "Outcome"),
                                       **CHANGE_ERRORS}}},
        },
    }
