"""The explorer's two guards, as plain ASGI middleware around the whole app.

* Host check (DNS rebinding; Jackson et al. 2007, "Protecting browsers from DNS rebinding
  attacks"): a web page on evil.example can make the browser resolve its own
  name to 127.0.0.1 and then talk to a local server as if same-origin; the browser still sends
  ``Host: evil.example``, so any Host not in the allowed list (port ignored) is answered 400.
* Body limit: a request body above ``max_body`` bytes is answered 413, from its Content-Length
  before anything is read, and, for a chunked body without one, as soon as the running count
  passes the limit. The body (≤ max_body) is read here and replayed to the app.

Both answer before the app runs, with the API's error shape ``{"detail": "one line"}``; neither
adds a CORS header (the explorer sends none anywhere).
"""
from __future__ import annotations

import json

LOOPBACK = ("127.0.0.1", "localhost", "::1")
SAFETY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"))


def host_name(header: str) -> str:
    """The host of a Host header, lower case, without port or brackets: ``[::1]:8000`` → ``::1``."""
    text = header.strip().lower()
    if text.startswith("["):                              # [IPv6]:port
        end = text.find("]")
        return text[1:end] if end > 0 else text
    if text.count(":") == 1:                              # name:port (a bare IPv6 address has several)
        text = text.split(":", 1)[0]
    return text.rstrip(".")                               # "localhost." names the same host


async def _answer(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *SAFETY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


class HostCheck:
    """400 "host not allowed" for a Host header outside ``allowed_hosts`` (or none at all); every
    answer gets ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY`` (no framing by
    another site, so no clickjacking of the page)."""

    def __init__(self, app, allowed_hosts=LOOPBACK):
        self.app = app
        self.allowed = {host_name(h) for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            host = host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.allowed:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await _answer(send, 400, "host not allowed")
                return

        async def guarded(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers") or []}
                extra = [(k, v) for k, v in SAFETY_HEADERS if k not in names]
                message = {**message, "headers": [*(message.get("headers") or []), *extra]}
            await send(message)

        await self.app(scope, receive, guarded if scope["type"] == "http" else send)


class BodyLimit:
    """413 for a request body above ``max_body`` bytes; the body is read whole (it is small) and
    handed on, so the app never sees a partial one."""

    def __init__(self, app, max_body: int = 1_000_000):
        self.app = app
        self.max_body = int(max_body)

    def _too_large(self) -> str:
        return f"request body too large: the limit is {self.max_body} bytes; send a smaller image"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            text = declared.decode("latin-1").strip()
            if not text.isdigit():
                await _answer(send, 400, "bad Content-Length header")
                return
            if int(text) > self.max_body:
                await _answer(send, 413, self._too_large())
                return
        chunks, size, pending = [], 0, None
        while True:
            message = await receive()
            if message["type"] != "http.request":         # http.disconnect before the body ended
                pending = message
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _answer(send, 413, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return pending or {"type": "http.request", "body": body, "more_body": False}
            return await receive()                         # then http.disconnect, when the client goes

        await self.app(scope, replay, send)


__all__ = ["LOOPBACK", "HostCheck", "BodyLimit", "host_name"]
