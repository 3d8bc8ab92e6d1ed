"""The service's OpenAPI 3.1 description, built from the data contract (never written by hand twice).

The lead's fields, types, allowed values and minimums come from the contract's
``opportunities`` columns (the same ones :func:`engine.live.parse_lead` checks), and the
decision's fields from :class:`engine.live.LiveDecision`, so the description cannot drift from
what the service accepts and returns.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

__all__ = ["openapi_document"]

_JSON_TYPES = {"string": "string", "enum": "string", "integer": "integer", "number": "number", "date": "string"}


def _lead_schema() -> dict[str, Any]:
    from engine.contract import CUSTOMER_DATABASE
    from engine.live import LEAD_FIELDS

    spec = CUSTOMER_DATABASE["opportunities"]
    properties: dict[str, Any] = {}
    required: list[str] = []
    for column in spec.columns:
        if column.name not in LEAD_FIELDS:
            continue
        schema: dict[str, Any] = {"type": _JSON_TYPES[column.type], "description": column.description}
        if column.allowed:
            schema["enum"] = list(column.allowed)
        if column.type == "date":
            schema["format"] = "date"
        if column.minimum is not None:
            schema["minimum"] = column.minimum
        if column.maximum is not None:
            schema["maximum"] = column.maximum
        properties[column.name] = schema
        if column.required and column.name != "created_date":
            required.append(column.name)
    return {
        "type": "object",
        "description": "One lead as it arrives: an existing account_id, or a prospect with prospect_name, "
                       "region and industry. opportunity_id is the idempotency key: a lead routed before "
                       "returns its recorded decision (replayed: true). created_date defaults to the day "
                       "before the as-of date.",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _json_type(annotation: Any) -> dict[str, Any]:
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    nullable = "None" in text
    for name, kind in (("bool", "boolean"), ("int", "integer"), ("float", "number"), ("str", "string")):
        if text.startswith(name):
            return {"type": [kind, "null"] if nullable else kind}
    return {}


def _decision_schema() -> dict[str, Any]:
    from engine.live import LiveDecision

    hints = typing.get_type_hints(LiveDecision)
    properties = {field.name: _json_type(hints.get(field.name, field.type))
                  for field in dataclasses.fields(LiveDecision)}
    properties["snapshot"] = {"type": "integer", "description": "Generation of the rules-and-models snapshot "
                              "that decided (1 at start, +1 per reload)."}
    return {"type": "object", "description": "The recorded decision (docs/live.md explains each field).",
            "properties": properties, "required": list(properties)}


_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["status", "type", "message", "problems"],
        "properties": {
            "status": {"type": "integer"},
            "type": {"type": "string", "description": "The kam error class (e.g. LeadError) or the HTTP problem."},
            "message": {"type": "string"},
            "problems": {"type": "array", "items": {
                "type": "object", "required": ["field", "expected", "got", "fix"],
                "properties": {k: {"type": "string"} for k in ("field", "expected", "got", "fix")},
            }},
        },
    }},
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def openapi_document(version: str, max_body_bytes: int) -> dict[str, Any]:
    """The OpenAPI 3.1 document ``GET /openapi.json`` serves.

    Examples
    --------
    >>> doc = openapi_document("0.1.0", 65536)
    >>> sorted(doc["paths"])
    ['/accounts/{account_id}', '/healthz', '/metrics', '/openapi.json', '/route']
    >>> doc["components"]["schemas"]["Lead"]["properties"]["stage"]["enum"][:2]
    ['lead', 'qualified']
    """
    auth_errors = {"401": _error("The Authorization header is missing, not a Bearer token, or the wrong token.")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "kam", "version": version,
                 "description": "Route one lead the moment it arrives; read an account's latest scores. "
                                "Every route but /healthz needs `Authorization: Bearer <KAM_SERVE_TOKEN>`."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Lead": _lead_schema(), "Decision": _decision_schema(), "Error": _ERROR},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/route": {"post": {
                "summary": "Route one lead: tier, route, person within capacity, win probability; recorded once.",
                "requestBody": {"required": True, "description": f"At most {max_body_bytes} bytes.",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Lead"}}}},
                "responses": {
                    "200": {"description": "The decision (recorded; a repeated opportunity_id replays it).",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Decision"}}}},
                    "400": _error("The body is not JSON (the message gives line and column)."),
                    **auth_errors,
                    "413": _error(f"The body is larger than {max_body_bytes} bytes (serve.max_body_bytes)."),
                    "415": _error("Content-Type is not application/json."),
                    "422": _error("The lead is not valid: one problem per field (expected / got / fix)."),
                    "503": _error("The database or the models are unavailable; nothing was recorded."),
                },
            }},
            "/accounts/{account_id}": {"get": {
                "summary": "An account's latest scores, tier and why, reasons, open opportunities and open alerts.",
                "parameters": [{"name": "account_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "As `kam show account ID --json`.",
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                    **auth_errors,
                    "404": _error("The account is not in the latest scoring run."),
                    "503": _error("No scoring run yet, or the database is unavailable."),
                },
            }},
            "/healthz": {"get": {
                "summary": "Liveness and the serving snapshot (no token needed).", "security": [],
                "responses": {"200": {"description": "Serving.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics (text exposition format).",
                "responses": {"200": {"description": "Metrics.",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}},
                              **auth_errors},
            }},
            "/openapi.json": {"get": {
                "summary": "This document.",
                "responses": {"200": {"description": "OpenAPI 3.1.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **auth_errors},
            }},
        },
    }
