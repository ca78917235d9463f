"""The codec server: lets the Temporal UI (and the `temporal` CLI) show encrypted payloads to ops.

    POST /decode, /encode   Temporal's remote codec protocol: {"payloads": [...]} in, the same out
    GET  /                  a sign-in page: paste the codec token once, get a cookie for the UI's calls
    POST /session           the sign-in itself

The browser calls it directly from the UI's pages (TEMPORAL_CODEC_ENDPOINT), so it answers
only requests whose Origin is the configured UI (CORS for that origin alone) and that carry
the codec token: `Authorization: Bearer <token>` (the CLI's `--codec-auth`, or a UI that
passes its access token) or the cookie the sign-in page sets (a UI with
TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true). Payloads and tokens never appear in its logs.

    PAYLOAD_ENCRYPTION_KEYS   the same keys as the workers (adapters/codec.py)
    CODEC_UI_ORIGIN           the UI's origin, e.g. http://localhost:8080
    CODEC_TOKEN               the shared secret ops sign in with, at least 24 characters
    CODEC_HOST, CODEC_PORT    where to listen (127.0.0.1, 8081)

Run it with `python -m intake.codec_server`. The CLI sends no Origin of its own, so pass it:
`temporal workflow show -w ID --codec-endpoint http://localhost:8081 --codec-auth "Bearer $CODEC_TOKEN"
--codec-header Origin=$CODEC_UI_ORIGIN`.
"""

from __future__ import annotations

import hmac
import html
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads

from adapters.codec import CodecConfigError, EncryptionCodec, Keyring, UndecodablePayload

log = logging.getLogger("intake.codec")
COOKIE = "onboarding_codec"
COOKIE_SECONDS = 12 * 3600
MAX_BODY = 4 * 1024 * 1024  # Temporal's own gRPC message limit: no single request holds more payloads
MIN_TOKEN = 24
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


class CodecServerConfigError(ValueError):
    """The codec server cannot run with this environment; the message names the variable."""


@dataclass(frozen=True)
class CodecSettings:
    ui_origin: str
    token: str = field(repr=False)
    keyring: Keyring

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CodecSettings:
        env = os.environ if env is None else env
        origin = env.get("CODEC_UI_ORIGIN", "").strip().rstrip("/")
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise CodecServerConfigError(
                f"CODEC_UI_ORIGIN: expected the Temporal UI's origin, like http://localhost:8080, got {origin!r}"
            )
        token = env.get("CODEC_TOKEN", "")
        if len(token) < MIN_TOKEN:
            raise CodecServerConfigError(f"CODEC_TOKEN: expected a secret of at least {MIN_TOKEN} characters")
        try:
            keyring = Keyring.from_env(env)
        except CodecConfigError as e:
            raise CodecServerConfigError(str(e)) from None
        if keyring is None:
            raise CodecServerConfigError(
                "PAYLOAD_ENCRYPTION_KEYS: expected the workers' keys; there is nothing to decode"
            )
        return cls(origin, token, keyring)


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def create_app(settings: CodecSettings | None = None) -> Starlette:
    settings = settings or CodecSettings.from_env()
    codec = EncryptionCodec(settings.keyring)
    cors = {
        "Access-Control-Allow-Origin": settings.ui_origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }

    def from_the_ui(request: Request) -> None:
        origin = request.headers.get("origin")
        if origin != settings.ui_origin:
            raise Refused(403, f"Origin: only the Temporal UI at {settings.ui_origin} may call the codec server")

    def signed_in(request: Request) -> None:
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        offered = bearer.strip() if scheme.lower() == "bearer" else request.cookies.get(COOKIE, "")
        if not offered or not hmac.compare_digest(offered.encode(), settings.token.encode()):
            raise Refused(401, "missing or wrong codec token: sign in at this server's / page, or send a Bearer token")

    async def payloads_in(request: Request) -> Payloads:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise Refused(413, f"body larger than {MAX_BODY} bytes")
        try:
            return json_format.Parse(body or b"{}", Payloads())
        except (json_format.ParseError, DecodeError, UnicodeDecodeError):
            raise Refused(400, 'body: expected {"payloads": [{"metadata": {...}, "data": "<base64>"}]}') from None

    async def transcode(request: Request) -> Response:
        try:
            from_the_ui(request)
            signed_in(request)
            payloads = await payloads_in(request)
            if request.url.path == "/encode":
                out = await codec.encode(payloads.payloads)
            else:
                out = await codec.decode(payloads.payloads)
        except Refused as e:
            log.warning("refused %s %s: %s", request.method, request.url.path, e.detail)
            headers = cors if e.status != 403 else {}
            return JSONResponse({"detail": e.detail}, status_code=e.status, headers=headers)
        except UndecodablePayload as e:
            return JSONResponse({"detail": str(e)}, status_code=400, headers=cors)
        return JSONResponse(json_format.MessageToDict(Payloads(payloads=out)), headers=cors)

    async def preflight(request: Request) -> Response:
        try:
            from_the_ui(request)
        except Refused as e:
            log.warning("refused preflight for %s: %s", request.url.path, e.detail)
            return Response(status_code=403)
        headers = cors | {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": "600",
        }
        return Response(status_code=204, headers=headers)

    async def sign_in_page(request: Request) -> HTMLResponse:
        return HTMLResponse(_page(settings.ui_origin, ""))

    async def sign_in(request: Request) -> Response:
        form = parse_qs((await request.body())[:4096].decode("utf-8", "replace"))
        offered = form.get("token", [""])[0]
        if not hmac.compare_digest(offered.encode(), settings.token.encode()):
            log.warning("refused a sign-in: wrong codec token")
            return HTMLResponse(_page(settings.ui_origin, "That is not the codec token."), status_code=401)
        response = RedirectResponse(settings.ui_origin, status_code=303)
        response.set_cookie(
            COOKIE,
            settings.token,
            max_age=COOKIE_SECONDS,
            httponly=True,
            samesite="strict",  # the UI and this server share a site (host), whatever their ports
            secure=settings.ui_origin.startswith("https://"),
        )
        return response

    return Starlette(
        routes=[
            Route("/decode", transcode, methods=["POST"]),
            Route("/encode", transcode, methods=["POST"]),
            Route("/decode", preflight, methods=["OPTIONS"]),
            Route("/encode", preflight, methods=["OPTIONS"]),
            Route("/", sign_in_page, methods=["GET"]),
            Route("/session", sign_in, methods=["POST"]),
        ]
    )


def _page(ui_origin: str, problem: str) -> str:
    note = f"<p><strong>{html.escape(problem)}</strong></p>" if problem else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Onboarding codec server</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>Read encrypted onboardings</h1>
<p>Sign in with the codec token, and the Temporal UI at {html.escape(ui_origin)} shows decrypted
inputs, results and messages in this browser for the next 12 hours.</p>{note}
<form method="post" action="/session">
<label>Codec token <input type="password" name="token" autocomplete="off" required></label>
<button type="submit">Sign in</button>
</form></body></html>
"""


def main() -> int:
    import uvicorn

    try:
        app = create_app()
    except CodecServerConfigError as e:
        print(f"cannot serve: {e}", file=sys.stderr)
        return 2
    host = os.environ.get("CODEC_HOST", "127.0.0.1")
    port = int(os.environ.get("CODEC_PORT", "8081"))
    uvicorn.run(app, host=host, port=port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
