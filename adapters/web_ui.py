"""The local stack's Temporal Web UI, opening on the onboarding columns and saved views.

The UI (2.54) keeps its table columns and saved views in the browser's local storage
(`namespace-workflow-table-columns`, `saved-workflow-queries`), per namespace; the server has
no setting for them and a link carries only the filter (`?query=`). So that ops see segment,
phase, health, owner and the next action from their first visit, the stack serves the UI
through this small proxy: it forwards every request to the dev server's UI unchanged and, in
the HTML page, seeds those two entries when the browser has none for the namespace. Anything
ops change afterwards is theirs: the seed never overwrites a stored choice.
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from workflows import attributes

# Shown in this order when the workflow keeps them (the next action's when it has them).
PREFERRED = [
    "OnboardingSegment",
    "OnboardingPhase",
    "OnboardingHealth",
    "OnboardingOwner",
    "OnboardingNextAction",
    "OnboardingNextActionAt",
    "OnboardingDueAt",
    "OnboardingEscalated",
    "OnboardingPaused",
    "OnboardingPlaybook",
]
ONBOARDINGS = "WorkflowType = 'OnboardingWorkflow' AND ExecutionStatus = 'Running'"
VIEWS = [
    ("onboardings-red", "Onboardings: red", f"{ONBOARDINGS} AND OnboardingHealth = 'red'"),
    ("onboardings-escalated", "Onboardings: escalated", f"{ONBOARDINGS} AND OnboardingEscalated = true"),
    ("onboardings-paused", "Onboardings: paused", f"{ONBOARDINGS} AND OnboardingPaused = true"),
    ("onboardings-running", "Onboardings: all running", ONBOARDINGS),
]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def columns() -> list[dict[str, object]]:
    kept = {key.name for key in attributes.ALL}
    shown = [name for name in PREFERRED if name in kept]
    labels = ["Status", "Workflow ID", *shown, "Start"]
    return [{"label": label, "pinned": label in ("Status", "Workflow ID")} for label in labels]


def seed_script(namespace: str) -> str:
    """The script put first in the page's head: it runs before the UI reads local storage."""
    views = [{"id": i, "name": name, "query": query} for i, name, query in VIEWS]
    seeds = {"namespace-workflow-table-columns": columns(), "saved-workflow-queries": views}
    return (
        "<script>(function(){try{var ns=" + json.dumps(namespace) + ",seeds=" + json.dumps(seeds) + ";"
        "Object.keys(seeds).forEach(function(k){var v=JSON.parse(localStorage.getItem(k)||'{}')||{};"
        "if(!v[ns]||!v[ns].length){v[ns]=seeds[k];localStorage.setItem(k,JSON.stringify(v));}});"
        "}catch(e){}})();</script>"
    )


def with_seed(page: bytes, namespace: str) -> bytes:
    head = page.find(b"<head>")
    if head < 0:
        return page
    at = head + len(b"<head>")
    return page[:at] + seed_script(namespace).encode() + page[at:]


class UiProxy(ThreadingHTTPServer):
    """Serves 127.0.0.1:`port`, forwarding to the UI on 127.0.0.1:`upstream`."""

    daemon_threads = True

    def __init__(self, port: int, upstream: int, namespace: str = "default") -> None:
        self.upstream = upstream
        self.namespace = namespace
        super().__init__(("127.0.0.1", port), _Forward)

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, name="ui-proxy", daemon=True).start()


class _Forward(BaseHTTPRequestHandler):
    server: UiProxy
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"accept-encoding"}}
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream, timeout=120)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            content = response.read()
        except OSError:
            self.send_error(502, "the Temporal UI is not answering yet")
            return
        finally:
            upstream.close()
        if response.getheader("Content-Type", "").startswith("text/html"):
            content = with_seed(content, self.server.namespace)
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP | {"content-length"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _forward

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the UI polls; its requests are not news."""
