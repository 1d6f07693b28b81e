"""The OpenAPI 3 description of the JSON API, served at /api/openapi.json.

Written by hand next to the handlers (server/edge/opinion_api.py) and checked by a test with
openapi-spec-validator; the test also compares its paths with the app's routes.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.accounts.access import public
from server.core.fields import MAX_ID
from server.models import OpinionStatus
from server.opinions.commands import MAX_CONTACT, MAX_NAME, MAX_NOTE, MAX_TEXT, MAX_WORKDAYS
from server.opinions.lifecycle import Action

STATUSES = [s.value for s in OpinionStatus]
ACTIONS = [a.value for a in Action if a is not Action.AUTO_CLOSE]

_STR: dict[str, Any] = {"type": "string"}
_INT: dict[str, Any] = {"type": "integer"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_ID_VALUE: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_TEXT_RULE = ("Stored normalised: NFC; control characters, ANSI escapes and bidirectional "
              "marks removed; both ends stripped. The limit counts characters after that.")
_DATE: dict[str, Any] = {"type": "string", "format": "date"}
_DT: dict[str, Any] = {"type": "string", "format": "date-time"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "401": {"$ref": "#/components/responses/NotAuthenticated"},
    "403": {"$ref": "#/components/responses/Forbidden"},
}
_NAMED = {"type": "object", "required": ["id", "name"],
          "properties": {"id": _INT, "name": _STR}}

SCHEMAS: dict[str, Any] = {
    "Named": _NAMED,
    "Status": {"type": "string", "enum": list(STATUSES)},
    "Photo": {"type": "object", "required": ["id", "content_type", "url"], "properties": {
        "id": _INT, "content_type": {"type": "string",
                                     "enum": ["image/jpeg", "image/png", "image/webp"]},
        "url": {"type": "string", "description": "Served only to readers of the item."}}},
    "Opinion": {"type": "object", "required": [
        "id", "text", "status", "site", "category", "anonymous", "received_at", "updated_at",
        "overdue", "escalated", "public_note", "version"], "properties": {
        "id": _INT, "text": {"type": "string", "maxLength": 1000},
        "status": _ref("Status"), "site": _ref("Named"), "category": _ref("Named"),
        "department": {**_ref("Named"), "nullable": True},
        "deputy": {**_ref("Named"), "nullable": True},
        "anonymous": _BOOL, "resident_name": _nullable(_STR),
        "received_at": _DT, "updated_at": _DT, "due_day": _nullable(_DATE),
        "due_at": _nullable({**_DT, "description":
                             "The instant the item becomes overdue: local midnight after "
                             "due_day."}),
        "overdue": _BOOL, "escalated": _BOOL,
        "public_note": {"type": "string",
                        "description": "The result, or the reason for rejecting or "
                                       "terminating; the site sees it."},
        "version": {"type": "integer", "description":
                    "Send it back with a transition; a stale one is refused with 409."}}},
    "Event": {"type": "object", "required": ["id", "at", "action", "note", "photos"],
              "properties": {
                  "id": _INT, "at": _DT,
                  "actor": _nullable({**_STR, "description": "null: the supervision job"}),
                  "action": _STR, "from_status": {**_ref("Status"), "nullable": True},
                  "to_status": {**_ref("Status"), "nullable": True}, "note": _STR,
                  "department": _nullable(_STR), "due_day": _nullable(_DATE),
                  "photos": {"type": "array", "items": _ref("Photo")}}},
    "OpinionDetail": {"allOf": [_ref("Opinion"), {
        "type": "object", "required": ["recorded_by", "timeline", "photos", "actions"],
        "properties": {
            "contact": {"type": "string", "description":
                        "Only for the item's site, the street office and the assigned "
                        "department; absent for everyone else."},
            "recorded_by": _STR,
            "timeline": {"type": "array", "items": _ref("Event")},
            "photos": {"type": "array", "items": _ref("Photo")},
            "actions": {"type": "array", "items": {"type": "string", "enum": list(ACTIONS)},
                        "description": "What the caller may do now."}}}]},
    "OpinionList": {"type": "object", "required": ["items", "total", "limit", "offset"],
                    "properties": {"items": {"type": "array", "items": _ref("Opinion")},
                                   "total": _INT, "limit": _INT, "offset": _INT}},
    "NewOpinion": {"type": "object", "required": ["text", "category_id"], "properties": {
        "text": {"type": "string", "maxLength": MAX_TEXT, "description": _TEXT_RULE},
        "site_id": {**_ID_VALUE, "description": "Ignored for site accounts: their own."},
        "category_id": _ID_VALUE,
        "anonymous": _BOOL,
        "resident_name": {"type": "string", "maxLength": MAX_NAME,
                          "description": "Required unless anonymous; one line."},
        "contact": {"type": "string", "maxLength": MAX_CONTACT, "description": "One line."},
        "deputy_id": {**_ID_VALUE, "nullable": True,
                      "description": "The deputy on duty; a deputy's own for deputies."}}},
    "Transition": {"type": "object", "required": ["action", "version"], "properties": {
        "action": {"type": "string", "enum": list(ACTIONS)},
        "version": _INT,
        "note": {"type": "string", "maxLength": MAX_NOTE, "description":
                 "The internal note of the timeline. Required for reassign, update and "
                 "reopen; for resolve, reject and terminate too unless public_note is "
                 "sent, and then it is published as the public answer."},
        "public_note": {"type": "string", "maxLength": MAX_NOTE, "description":
                        "The public answer for resolve (the result), reject and terminate "
                        "(the reason): the resident, the public board and Open311 see it. "
                        "When sent it is required and kept apart from the internal note."},
        "department_id": {**_ID_VALUE, "description": "For accept and reassign."},
        "merged_into_id": {**_ID_VALUE, "description": "For merge: the item about the same "
                           "matter that stands for this one."},
        "workdays": {"type": "integer", "minimum": 1, "maximum": MAX_WORKDAYS, "default": 5,
                     "description": "Working days to reply, for accept and reassign."}}},
    "Categories": {"type": "object", "required": ["items"],
                   "properties": {"items": {"type": "array", "items": _ref("Named")}}},
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": _STR, "message": _STR,
            "fields": {"type": "object", "additionalProperties": _STR}}}}},
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_ID = {"name": "id", "in": "path", "required": True, "schema": _INT}
_ERROR = {"content": {"application/json": {"schema": _ref("Error")}}}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Yizhan opinion items API",
        "version": "1",
        "description": "Residents' opinion items collected at the sites and the deputies' "
                       "duty station, tracked until resolved. Every caller sees only the "
                       "items they may see; an item they may not see answers 404.",
    },
    "servers": [{"url": "/"}],
    "security": [{"session": [], "csrf": []}, {"deviceToken": []}],
    "tags": [{"name": "opinions"}],
    "paths": {
        "/api/opinions": {
            "get": {
                "tags": ["opinions"], "operationId": "listOpinions",
                "summary": "Items the caller may see, newest first",
                "parameters": [
                    _query("status", _ref("Status"), "Only items in this state"),
                    _query("site_id", _INT, "Only this site's items"),
                    _query("department_id", _INT, "Only items assigned to this department"),
                    _query("category_id", _INT, "Only this category"),
                    _query("deputy_id", _INT, "Only items of this deputy's duty hours"),
                    _query("flagged", _BOOL, "Only overdue or escalated items"),
                    _query("q", _STR, "Text contains"),
                    _query("limit", {"type": "integer", "minimum": 0, "maximum": 200,
                                     "default": 50}, "Page size"),
                    _query("offset", {"type": "integer", "minimum": 0, "default": 0},
                           "Items to skip")],
                "responses": {"200": _json(_ref("OpinionList"), "A page of items"),
                              "422": {"description": "A filter is invalid", **_ERROR},
                              **_ERRORS}},
            "post": {
                "tags": ["opinions"], "operationId": "createOpinion",
                "summary": "Record an item (sites, deputies, host, admin)",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("NewOpinion")}}},
                "responses": {"201": _json(_ref("OpinionDetail"), "The new item"),
                              "400": {"$ref": "#/components/responses/NotJson"},
                              "422": {"description": "A field is invalid", **_ERROR},
                              **_ERRORS}},
        },
        "/api/opinions/categories": {"get": {
            "tags": ["opinions"], "operationId": "listCategories",
            "summary": "Active categories to choose from",
            "responses": {"200": _json(_ref("Categories"), "The categories"), **_ERRORS}}},
        "/api/opinions/{id}": {"get": {
            "tags": ["opinions"], "operationId": "getOpinion",
            "summary": "An item with its timeline and what the caller may do",
            "parameters": [_ID],
            "responses": {"200": _json(_ref("OpinionDetail"), "The item"),
                          "404": {"description": "No such item for this caller", **_ERROR},
                          **_ERRORS}}},
        "/api/opinions/{id}/transitions": {"post": {
            "tags": ["opinions"], "operationId": "transitionOpinion",
            "summary": "Move an item along its life",
            "description": "received → accepted (assigned, due in working days) → in "
                           "progress → resolved → confirmed, or closed automatically after "
                           "10 working days; rejected, terminated; reopened from resolved.",
            "parameters": [_ID],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("Transition")}}},
            "responses": {
                "200": _json(_ref("OpinionDetail"), "The item after the change"),
                "400": {"$ref": "#/components/responses/NotJson"},
                "404": {"description": "No such item for this caller", **_ERROR},
                "409": {"description": "The item changed meanwhile (stale version) or its "
                                       "state does not allow the action", **_ERROR},
                "422": {"description": "A field is invalid", **_ERROR},
                **_ERRORS}}},
    },
    "components": {
        "schemas": SCHEMAS,
        "responses": {
            "NotAuthenticated": {"description": "Not signed in", **_ERROR},
            "Forbidden": {"description": "The caller's role may not do this", **_ERROR},
            "NotJson": {"description": "The body is not JSON (not UTF-8, malformed, or "
                                       "nested too deep)", **_ERROR},
        },
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "yizhan_session"},
            "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                     "description": "The session's CSRF token, on POST with a session."},
            "deviceToken": {"type": "http", "scheme": "bearer",
                            "description": "A meeting-room PC's device token."},
        },
    },
}


@public
async def openapi_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(SPEC)
