"""The pattern every emulator follows.

An `Emulator` subclass declares routes with `@route("POST", r"/emails")`. Each handler receives the
`RecordedRequest` and the regex match and returns a `Response`. The base class gives every
emulator the same four things:

- a real `ThreadingHTTPServer` on a loopback port (port 0 picks a free one);
- a request log (`emulator.requests`, also served as JSON at GET /_sandbox/requests);
- failure injection: `fail_next(...)` queues canned error responses, `fault_rate(...)` fails a
  random share of matching requests (POST /_sandbox/faults does either over HTTP, see `_add_fault`);
- `reset()` (POST /_sandbox/reset) to forget requests, faults and state between tests.

Each emulator also declares the settings that point ALT at it (`sandbox_settings`), which
registry.py gathers for `make run`.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "at": self.at,
        }


@dataclass
class Response:
    status: int = 200
    json: Any = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def encoded(self) -> bytes:
        if self.json is not None:
            return json.dumps(self.json).encode()
        return self.body


@dataclass
class Fault:
    responses: list[Response]  # one is picked at random when the fault fires
    remaining: int | None  # None: for as long as the fault rate applies
    when: Callable[[RecordedRequest], bool] | None = None
    rate: float = 1.0


Handler = Callable[[Any, RecordedRequest, re.Match[str]], Response]


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def decorate(func: Handler) -> Handler:
        func._sandbox_route = (method.upper(), re.compile(f"^{pattern}$"))  # type: ignore[attr-defined]
        return func

    return decorate


class Emulator:
    name: ClassVar[str] = "emulator"
    # The port `make run` uses; tests pass port=0 for a free one.
    default_port: ClassVar[int] = 0

    @classmethod
    def sandbox_settings(cls, base_url: str, env: Mapping[str, str]) -> dict[str, str]:
        """The settings (environment variables) that point ALT at this emulator at `base_url`,
        or nothing when `env` configures the real provider."""
        return {}

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed: int | None = None) -> None:
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self.random = random.Random(seed)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = []
        for name in dir(type(self)):
            # Looked up on the class: getattr on the instance would evaluate a subclass's
            # properties before its own __init__ has set the state they read.
            func: Any = getattr(type(self), name, None)
            if hasattr(func, "_sandbox_route"):
                self._routes.append((*func._sandbox_route, getattr(self, name)))

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Self:
        emulator = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm on, a keep-alive client
            # waits ~40 ms for the delayed ACK before the body follows, on every request.
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                emulator._dispatch(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return  # the request log is the record; stderr noise helps no one

        self._server = ThreadingHTTPServer((self.host, self.port), RequestHandler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        # stop() waits up to one poll interval; the default 0.5 s adds up over a test run.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- test helpers ---------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.reset_state()

    def reset_state(self) -> None:
        """Subclasses forget their stored objects here."""

    def requests_to(self, method: str, path_pattern: str) -> list[RecordedRequest]:
        compiled = re.compile(path_pattern)
        with self.lock:
            return [r for r in self.requests if r.method == method and compiled.search(r.path)]

    def fail_next(
        self,
        status: int,
        body: Any,
        *,
        times: int = 1,
        when: Callable[[RecordedRequest], bool] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` matching requests with this error instead of handling them."""
        response = Response(status=status, json=body, headers=headers or {})
        with self.lock:
            self.faults.append(Fault(responses=[response], remaining=times, when=when))

    def fault_rate(
        self,
        rate: float,
        responses: list[tuple[int, Any]],
        *,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Fail a random `rate` share of matching requests with one of `responses`.

        One draw decides whether a request fails and a second which response it gets, so the share
        is `rate` however many responses there are (one fault per response, each at
        rate/len(responses), would fail only 1 - (1 - rate/n)**n of them).
        """
        if not responses:
            raise ValueError("fault_rate needs at least one (status, body) response")
        with self.lock:
            self.faults.append(
                Fault(
                    responses=[Response(status=status, json=body) for status, body in responses],
                    remaining=None,
                    when=when,
                    rate=rate,
                )
            )

    # -- dispatch -------------------------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            response = self._respond(handler)
        except Exception as exc:  # an emulator bug must be visible, not a dropped connection
            response = Response(500, json={"emulator_error": repr(exc)})
        payload = response.encoded()
        handler.send_response(response.status)
        if payload or response.status not in (204, 304):
            handler.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if payload:
            handler.wfile.write(payload)

    def _respond(self, handler: BaseHTTPRequestHandler) -> Response:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        if parts.path.startswith("/_sandbox/"):
            return self._control(request)
        with self.lock:
            self.requests.append(request)
        return self._injected_fault(request) or self._route(request)

    def _injected_fault(self, request: RecordedRequest) -> Response | None:
        with self.lock:
            for fault in list(self.faults):
                if fault.when is not None and not fault.when(request):
                    continue
                if fault.remaining is None:
                    if self.random.random() < fault.rate:
                        return self.random.choice(fault.responses)
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault.responses[0]
        return None

    def _route(self, request: RecordedRequest) -> Response:
        for method, pattern, func in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                return func(request, match)  # _dispatch turns an exception into a 500
        return self.not_found(request)

    def not_found(self, request: RecordedRequest) -> Response:
        return Response(404, json={"error": f"no route for {request.method} {request.path}"})

    def _control(self, request: RecordedRequest) -> Response:
        if request.path == "/_sandbox/requests" and request.method == "GET":
            with self.lock:
                return Response(json=[r.as_dict() for r in self.requests])
        if request.path == "/_sandbox/reset" and request.method == "POST":
            self.reset()
            return Response(json={"ok": True})
        if request.path == "/_sandbox/faults" and request.method == "POST":
            return self._add_fault(request)
        return Response(404, json={"error": "unknown control endpoint"})

    def _add_fault(self, request: RecordedRequest) -> Response:
        """POST /_sandbox/faults with a JSON spec:

        {"status": 429, "body": {...}, "times": 2}   the next 2 matching requests fail, or
        {"status": 500, "body": {...}, "rate": 0.3}  30% of matching requests fail until reset;
        optional "method" and "path" (a regex searched in the path) limit which requests match.
        """
        try:
            spec = request.json()
            status = int(spec["status"])
            method = str(spec.get("method", "")).upper()
            path = re.compile(str(spec.get("path", "")))
            times = int(spec.get("times", 1))
            rate = float(spec["rate"]) if "rate" in spec else None
        except (ValueError, TypeError, KeyError, AttributeError, re.error) as exc:
            return Response(400, json={"error": f"bad fault spec: {exc!r}"})

        def when(r: RecordedRequest) -> bool:
            return (not method or r.method == method) and bool(path.search(r.path))

        if rate is None:
            self.fail_next(status, spec.get("body"), times=times, when=when)
        else:
            self.fault_rate(rate, [(status, spec.get("body"))], when=when)
        return Response(json={"ok": True})
