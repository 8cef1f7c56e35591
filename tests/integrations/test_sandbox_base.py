"""The emulator base: routes on a loopback port, a request log, fault injection (next, predicate,
rate, seeded), reset, HTTP control endpoints, 404 and 500 answers that never hang a client, and
`python -m integrations.sandbox serve`."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.sandbox.base import Emulator, RecordedRequest, Response, route
from integrations.sandbox.resend import ResendEmulator

ROOT = Path(__file__).resolve().parents[2]


class ThingsEmulator(Emulator):
    name = "things"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.things: list[Any] = []

    def reset_state(self) -> None:
        self.things.clear()

    @route("GET", r"/things/(?P<thing_id>\d+)")
    def get_thing(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        return Response(json={"id": int(match["thing_id"])})

    @route("POST", r"/things")
    def create_thing(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        self.things.append(request.json())
        return Response(201, json={"created": len(self.things)})

    @route("GET", r"/boom")
    def boom(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        raise RuntimeError("the handler broke")


@pytest.fixture
def things() -> Iterator[ThingsEmulator]:
    with ThingsEmulator(seed=1234) as emulator:
        yield emulator


@pytest.fixture
def http(things: ThingsEmulator) -> Iterator[httpx.Client]:
    # A short timeout turns a hung emulator into a failure instead of a stuck test run.
    with httpx.Client(base_url=things.base_url, timeout=5, trust_env=False) as client:
        yield client


def test_it_serves_its_routes_on_a_free_loopback_port(
    things: ThingsEmulator, http: httpx.Client
) -> None:
    assert things.host == "127.0.0.1"
    assert things.port != 0
    assert things.base_url == f"http://127.0.0.1:{things.port}"

    response = http.get("/things/42")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"id": 42}


def test_it_records_method_path_query_lower_cased_headers_and_body(
    things: ThingsEmulator, http: httpx.Client
) -> None:
    body = b'{"name": "Lakeside condo"}'
    http.post(
        "/things?source=import&tag=a&tag=b",
        content=body,
        headers={"X-Request-Tag": "Abc-1", "Content-Type": "application/json"},
    )

    [request] = things.requests
    assert request.method == "POST"
    assert request.path == "/things"
    assert request.query == {"source": ["import"], "tag": ["a", "b"]}
    assert request.headers["x-request-tag"] == "Abc-1"
    assert request.headers["content-type"] == "application/json"
    assert all(name == name.lower() for name in request.headers)
    assert request.body == body
    assert request.json() == {"name": "Lakeside condo"}
    assert things.requests_to("POST", r"^/things$") == [request]
    assert things.requests_to("GET", r"^/things$") == []


def test_fail_next_answers_exactly_the_next_two_requests_with_the_error_then_resumes(
    things: ThingsEmulator, http: httpx.Client
) -> None:
    things.fail_next(503, {"error": "down for maintenance"}, times=2, headers={"Retry-After": "7"})

    responses = [http.get("/things/1") for _ in range(3)]

    assert [r.status_code for r in responses] == [503, 503, 200]
    assert responses[0].json() == {"error": "down for maintenance"}
    assert responses[0].headers["retry-after"] == "7"
    assert responses[2].json() == {"id": 1}
    assert len(things.requests) == 3  # failed requests are recorded too
    assert things.faults == []


def test_a_fault_limited_by_when_only_hits_matching_requests(
    things: ThingsEmulator, http: httpx.Client
) -> None:
    things.fail_next(422, {"error": "invalid"}, when=lambda r: r.method == "POST")

    assert http.get("/things/1").status_code == 200
    assert http.post("/things", json={"n": 1}).status_code == 422
    assert http.post("/things", json={"n": 2}).status_code == 201
    assert things.things == [{"n": 2}]


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_fault_rate_fails_about_that_share_of_matching_requests_with_the_given_responses(
    things: ThingsEmulator, http: httpx.Client, rate: float
) -> None:
    things.fault_rate(
        rate,
        [(500, {"error": "boom"}), (429, {"error": "slow down"})],
        when=lambda r: r.method == "GET",
    )

    statuses = [http.get("/things/1").status_code for _ in range(300)]

    failed = [s for s in statuses if s != 200]
    # The share is `rate` however many responses are given, not 1 - (1 - rate/2)**2.
    assert abs(len(failed) - rate * 300) <= 30
    assert set(failed) == {500, 429}
    assert http.post("/things", json={}).status_code == 201  # `when` spares other requests


def test_the_same_seed_gives_the_same_fault_sequence() -> None:
    def statuses(seed: int) -> list[int]:
        with ThingsEmulator(seed=seed) as emulator, httpx.Client(trust_env=False) as client:
            emulator.fault_rate(0.5, [(500, None)])
            return [client.get(f"{emulator.base_url}/things/1").status_code for _ in range(40)]

    first = statuses(7)

    assert statuses(7) == first
    assert statuses(8) != first


def test_reset_forgets_requests_faults_and_state(
    things: ThingsEmulator, http: httpx.Client
) -> None:
    http.post("/things", json={"n": 1})
    things.fail_next(500, {"error": "boom"}, times=5)
    things.fault_rate(1.0, [(500, {"error": "boom"})])

    things.reset()

    assert things.requests == []
    assert things.faults == []
    assert things.things == []
    assert http.get("/things/1").status_code == 200


def test_the_http_control_endpoints_list_requests_inject_faults_and_reset(
    things: ThingsEmulator, http: httpx.Client
) -> None:
    http.post("/things?x=1", json={"n": 1}, headers={"X-Trace": "t1"})

    listed = http.get("/_sandbox/requests").json()

    assert [(r["method"], r["path"], r["query"]) for r in listed] == [
        ("POST", "/things", {"x": ["1"]})
    ]
    assert listed[0]["headers"]["x-trace"] == "t1"
    assert json.loads(listed[0]["body"]) == {"n": 1}

    fault = {"status": 429, "body": {"error": "slow"}, "times": 2, "method": "GET"}
    assert http.post("/_sandbox/faults", json=fault).json() == {"ok": True}
    assert http.post("/things", json={"n": 2}).status_code == 201
    assert [http.get("/things/1").status_code for _ in range(3)] == [429, 429, 200]

    rate = {"status": 500, "body": None, "rate": 1.0, "path": r"^/things/"}
    assert http.post("/_sandbox/faults", json=rate).status_code == 200
    assert http.get("/things/9").status_code == 500
    assert http.post("/things", json={"n": 3}).status_code == 201

    assert http.post("/_sandbox/reset").json() == {"ok": True}
    assert http.get("/_sandbox/requests").json() == []
    assert things.things == []
    assert http.get("/things/9").status_code == 200


def test_a_bad_fault_spec_over_http_is_refused_with_400(
    things: ThingsEmulator, http: httpx.Client
) -> None:
    response = http.post("/_sandbox/faults", json={"body": {"status": "missing"}})

    assert response.status_code == 400
    assert "bad fault spec" in response.json()["error"]
    assert things.faults == []


def test_control_requests_are_not_recorded_in_the_request_log(
    things: ThingsEmulator, http: httpx.Client
) -> None:
    http.get("/_sandbox/requests")
    http.post("/_sandbox/faults", json={"status": 500, "times": 1, "path": "^/nothing$"})
    http.get("/_sandbox/nonsense")

    assert things.requests == []
    assert http.get("/_sandbox/requests").json() == []


def test_an_unknown_route_or_method_answers_404(things: ThingsEmulator, http: httpx.Client) -> None:
    unknown = http.get("/nowhere")
    wrong_method = http.delete("/things/1")

    assert unknown.status_code == 404
    assert unknown.json() == {"error": "no route for GET /nowhere"}
    assert wrong_method.status_code == 404
    assert len(things.requests) == 2


def test_a_handler_that_raises_answers_500_with_the_error_instead_of_hanging_the_client(
    http: httpx.Client,
) -> None:
    response = http.get("/boom")

    assert response.status_code == 500
    assert "the handler broke" in response.json()["emulator_error"]
    assert http.get("/things/1").status_code == 200  # the server survives


def test_a_fault_predicate_that_raises_answers_500_instead_of_dropping_the_connection(
    things: ThingsEmulator, http: httpx.Client
) -> None:
    def broken(request: RecordedRequest) -> bool:
        raise KeyError("no such header")

    things.fail_next(429, {}, when=broken)

    response = http.get("/things/1")

    assert response.status_code == 500
    assert "no such header" in response.json()["emulator_error"]


# --- python -m integrations.sandbox serve ---------------------------------------------------------
_SERVE_ON_PORT = """
import runpy, sys
from integrations.sandbox.resend import ResendEmulator
ResendEmulator.default_port = int(sys.argv[1])
sys.argv[1:] = ["serve"]
runpy.run_module("integrations.sandbox", run_name="__main__", alter_sys=True)
"""


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _handles_sigterm(pid: int) -> bool:
    # serve() installs its SIGTERM handler just after the emulators start answering; a SIGTERM
    # sent in between would kill it with the default action. /proc shows when it is in place.
    status = Path(f"/proc/{pid}/status")
    if not status.exists():  # not Linux: nothing to look at, so accept the small race
        return True
    caught = next(ln for ln in status.read_text().splitlines() if ln.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


def test_serve_runs_every_emulator_on_its_fixed_port_and_stops_cleanly_on_sigterm() -> None:
    port = ResendEmulator.default_port
    command = [sys.executable, "-m", "integrations.sandbox", "serve"]
    if not _port_is_free(port):  # someone runs `make run`: same entry point, another port
        port = _free_port()
        command = [sys.executable, "-c", _SERVE_ON_PORT, str(port)]
    proc = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        answered = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                answered = httpx.get(
                    f"http://127.0.0.1:{port}/_sandbox/requests", timeout=1, trust_env=False
                )
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if _handles_sigterm(proc.pid):
                break
            time.sleep(0.05)
        assert answered is not None, proc.communicate(timeout=5)
        assert answered.json() == []

        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 0, stderr.decode()
    assert f"[sandbox] resend emulator on http://127.0.0.1:{port}" in stdout.decode()
