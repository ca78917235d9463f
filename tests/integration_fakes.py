"""Local stand-ins for HubSpot's CRM API, Slack's Web API and a Teams Workflows webhook.

Each is an HTTP server on 127.0.0.1 (pytest-httpserver) answering the real clients
(`hubspot-api-client`, `slack_sdk`, plain HTTP) in the providers' own wire formats, and
recording what it was asked, so tests assert what a person would see in HubSpot or Slack.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

STAMP = "2026-11-30T10:00:00.000Z"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def _object(object_id: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"id": object_id, "properties": properties, "createdAt": STAMP, "updatedAt": STAMP, "archived": False}


@dataclass
class FakeHubSpot:
    """HubSpot's CRM v3/v4 API for deals, companies, contacts, owners and deal associations."""

    server: HTTPServer
    token: str
    deals: dict[str, dict[str, Any]] = field(default_factory=dict)
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    owners: dict[str, dict[str, Any]] = field(default_factory=dict)
    links: dict[tuple[str, str], list[tuple[str, str | None]]] = field(default_factory=dict)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.expect_request(re.compile(r"^/crm/.*")).respond_with_handler(self.handle)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def add_deal(
        self,
        deal_id: str,
        properties: dict[str, Any],
        company: dict[str, Any] | None,
        contacts: list[tuple[dict[str, Any], str | None]],
        owner: dict[str, Any] | None = None,
    ) -> None:
        """A deal with its company, contacts (each with an association label) and owner."""
        if owner is not None:
            self.owners[str(owner["id"])] = owner
            properties = {"hubspot_owner_id": str(owner["id"])} | properties
        self.deals[deal_id] = properties
        if company is not None:
            company_id = f"9{deal_id}"
            self.companies[company_id] = company
            self.links[(deal_id, "companies")] = [(company_id, None)]
        self.links[(deal_id, "contacts")] = []
        for n, (contact, label) in enumerate(contacts):
            contact_id = f"{deal_id}0{n}"
            self.contacts[contact_id] = contact
            self.links[(deal_id, "contacts")].append((contact_id, label))

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json(
                {
                    "status": "error",
                    "message": "Authentication credentials not found",
                    "category": "INVALID_AUTHENTICATION",
                },
                401,
            )
        path, method = request.path, request.method
        self.calls.append(f"{method} {path}")
        if m := re.fullmatch(r"/crm/v3/objects/deals/(\d+)", path):
            deal = self.deals.get(m[1])
            if deal is None:
                return _json({"status": "error", "message": "Object not found", "category": "OBJECT_NOT_FOUND"}, 404)
            if method == "PATCH":
                properties = json.loads(request.data)["properties"]
                self.updates.append((m[1], properties))
                deal.update(properties)
            asked = [p for value in request.args.getlist("properties") for p in value.split(",")]
            wanted = asked if method == "GET" else list(deal)
            return _json(_object(m[1], {k: deal.get(k) for k in wanted if k} | {"hs_object_id": m[1]}))
        if m := re.fullmatch(r"/crm/v4/objects/deals/(\d+)/associations/(\w+)", path):
            results = [
                {
                    "toObjectId": int(to),
                    "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]
                    + ([{"category": "USER_DEFINED", "typeId": 42, "label": label}] if label else []),
                }
                for to, label in self.links.get((m[1], m[2]), [])
            ]
            return _json({"results": results})
        if m := re.fullmatch(r"/crm/v3/objects/companies/(\d+)", path):
            return _json(_object(m[1], self.companies[m[1]]))
        if path == "/crm/v3/objects/contacts/batch/read":
            asked = json.loads(request.data)
            results = [_object(i["id"], self.contacts[i["id"]]) for i in asked["inputs"] if i["id"] in self.contacts]
            return _json({"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP})
        if m := re.fullmatch(r"/crm/v3/owners/(\d+)", path):
            owner = self.owners[m[1]]
            return _json(owner | {"userId": 1, "createdAt": STAMP, "updatedAt": STAMP, "archived": False})
        return _json({"status": "error", "message": f"no route {path}", "category": "OBJECT_NOT_FOUND"}, 404)


@dataclass
class FakeSlack:
    """Slack's Web API (chat.postMessage, chat.update, conversations.history, users.info) and response_urls."""

    server: HTTPServer
    token: str
    users: dict[str, str] = field(default_factory=dict)
    """Slack member id -> profile email."""
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    """ts -> the message as posted and updated."""
    posts: int = 0
    updates: int = 0
    replies: list[dict[str, Any]] = field(default_factory=list)
    rate_limit_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.server.expect_request(re.compile(r"^/api/.*")).respond_with_handler(self.handle)
        self.server.expect_request(re.compile(r"^/respond/.*")).respond_with_handler(self.reply)

    @property
    def api_url(self) -> str:
        return self.server.url_for("/api/")

    @property
    def response_url(self) -> str:
        return self.server.url_for("/respond/T1/B2/xyz")

    @staticmethod
    def _args(request: Request) -> dict[str, Any]:
        if request.mimetype == "application/json":
            return dict(json.loads(request.data or b"{}"))
        return {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()} | dict(request.args)

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json({"ok": False, "error": "invalid_auth"})
        method, args = request.path.removeprefix("/api/"), self._args(request)
        with self.lock:
            if method == "chat.postMessage":
                if self.rate_limit_next:
                    self.rate_limit_next -= 1
                    return _json({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "1"})
                self.posts += 1
                ts = f"1764500000.{self.posts:06d}"
                blocks = args["blocks"] if isinstance(args["blocks"], list) else json.loads(args["blocks"])
                metadata = args.get("metadata")
                metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
                self.messages[ts] = {
                    "ts": ts,
                    "channel": args["channel"],
                    "text": args["text"],
                    "blocks": blocks,
                    "metadata": metadata,
                }
                return _json({"ok": True, "channel": args["channel"], "ts": ts, "message": self.messages[ts]})
            if method == "chat.update":
                message = self.messages.get(args["ts"])
                if message is None:
                    return _json({"ok": False, "error": "message_not_found"})
                self.updates += 1
                blocks = args["blocks"] if isinstance(args["blocks"], list) else json.loads(args["blocks"])
                message.update(text=args["text"], blocks=blocks)
                return _json({"ok": True, "channel": args["channel"], "ts": args["ts"]})
            if method == "conversations.history":
                found = [m for m in self.messages.values() if m["channel"] == args["channel"]]
                return _json({"ok": True, "messages": found, "has_more": False})
            if method == "users.info":
                email = self.users.get(args["user"])
                if email is None:
                    return _json({"ok": False, "error": "user_not_found"})
                return _json({"ok": True, "user": {"id": args["user"], "profile": {"email": email}}})
        return _json({"ok": False, "error": "unknown_method"})

    def reply(self, request: Request) -> Response:
        self.replies.append(json.loads(request.data))
        return Response("ok", content_type="text/plain")

    def only_message(self) -> dict[str, Any]:
        [message] = self.messages.values()
        return message

    @staticmethod
    def buttons(message: dict[str, Any]) -> list[str]:
        return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]

    @staticmethod
    def text(message: dict[str, Any]) -> str:
        return json.dumps(message["blocks"])


@dataclass
class FakeTeams:
    """A Teams Workflows webhook: takes a message with an Adaptive Card attachment, answers 202."""

    server: HTTPServer
    cards: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.expect_request("/workflows/hook", method="POST").respond_with_handler(self.handle)

    @property
    def url(self) -> str:
        return self.server.url_for("/workflows/hook") + "?api-version=2016-06-01&sig=secret-signature"

    def handle(self, request: Request) -> Response:
        body = json.loads(request.data)
        if body.get("type") != "message" or not body.get("attachments"):
            return Response("bad request", status=400)
        attachment = body["attachments"][0]
        if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
            return Response("bad request", status=400)
        self.cards.append(attachment["content"])
        return Response("", status=202)
