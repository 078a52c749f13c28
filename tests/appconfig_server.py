"""A local AWS AppConfigData server (and AppConfig Agent endpoint) for the test suite.

It speaks the real REST protocol as boto3 sends it, on 127.0.0.1 only:

* ``POST /configurationsessions`` -- JSON ``{ApplicationIdentifier, EnvironmentIdentifier,
  ConfigurationProfileIdentifier, RequiredMinimumPollIntervalInSeconds?}`` -> ``201
  {"InitialConfigurationToken": ...}``; unknown names -> ``404 ResourceNotFoundException``;
* ``GET /configuration?configuration_token=T`` -> ``200`` with the configuration as the body
  (empty when this session already has the newest version) and the headers
  ``Next-Poll-Configuration-Token``, ``Next-Poll-Interval-In-Seconds``, ``Content-Type`` and
  ``Version-Label``.  Tokens are single use (a reused token -> ``400 BadRequestException``,
  the strict behaviour), expire 24 h after they were issued (``Problem: Expired``) --
  with *session_ttl*, also once their session is that old (the strict reading of "tokens
  live up to 24 hours") -- and a poll before the previous answer's interval has passed
  gets ``400 BadRequestException: Request too early`` (``PollIntervalNotSatisfied``), as
  real AWS answers.  *poll_interval* is what the server advises; real AppConfig never
  says less than 15 s, but tests may ask for less (even 0) to run in real time quickly;
* ``GET /applications/{app}/environments/{env}/configurations/{profile}`` -- the AppConfig
  Agent's endpoint: the newest version with ``Configuration-Version`` and ``Version-Label``.

Errors use the rest-json shape botocore parses (``x-amzn-ErrorType`` header plus a JSON body
with ``Message``, ``Reason``, ``Details``).  Time comes from an injectable clock
(:class:`FakeClock`), so a test jumps 24 h without sleeping.  :meth:`AppConfigServer.fail_next`
injects faults (a slow answer waits until :meth:`~AppConfigServer.release_slow`, or
``slow_seconds``); :attr:`AppConfigServer.requests` records every request, and
:meth:`~AppConfigServer.wait_until` waits (bounded) for one to arrive.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["AppConfigServer", "FakeClock", "Recorded"]

FAULTS = ("throttle", "internal", "expired", "notfound", "slow", "malformed", "drop")


class FakeClock:
    """``monotonic()`` and ``sleep()`` that only move when told (``sleep`` advances)."""

    def __init__(self, start: float = 10_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@dataclass
class Version:
    number: int
    body: bytes
    content_type: str
    label: str | None


@dataclass
class Recorded:
    """One request as the server saw it, and what it answered."""

    op: str  # "start", "get", "agent" or "other"
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float  # server clock
    status: int = 0  # 0: the connection was dropped
    token: str | None = None  # the token a GET presented
    rejection: str | None = None  # "reused", "expired", "early", "invalid"
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    fault: str | None = None


@dataclass
class _Token:
    value: str
    session: int
    issued_at: float
    not_before: float
    used: bool = False


@dataclass
class _Session:
    id: int
    key: tuple[str, str, str]
    interval: int
    started: float
    served: int | None = None


@dataclass
class _Fault:
    kind: str
    op: str | None
    remaining: int


class AppConfigServer:
    """The server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        clock: Any = None,
        *,
        poll_interval: int = 60,
        token_ttl: float = 24 * 3600,
        session_ttl: float | None = None,
        strict_reuse: bool = True,
        slow_seconds: float = 0.3,
    ) -> None:
        self.clock = clock if clock is not None else FakeClock()
        self.poll_interval = poll_interval
        self.token_ttl = token_ttl
        self.session_ttl = session_ttl
        self.strict_reuse = strict_reuse
        self.slow_seconds = slow_seconds
        self.requests: list[Recorded] = []
        self.deployments: dict[tuple[str, str, str], list[Version]] = {}
        self._tokens: dict[str, _Token] = {}
        self._sessions: dict[int, _Session] = {}
        self._faults: list[_Fault] = []
        self._connections: set[socket.socket] = set()
        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)  # notified on every request
        self._release = threading.Event()  # set: the slow answers waiting now go out
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> AppConfigServer:
        server = self

        class Handler(_Handler):
            owner = server

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.02,), name="appconfig-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection (as a server that went away)."""
        self.release_slow()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> AppConfigServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    agent_url = endpoint_url

    # --- what tests drive --------------------------------------------------------------

    def deploy(
        self,
        application: str,
        environment: str,
        profile: str,
        body: bytes | str | Mapping[str, Any] | list[Any],
        content_type: str = "application/json",
        version: str | None = None,
    ) -> int:
        """Deploy a new version (a mapping or list is sent as JSON); returns its number."""
        if isinstance(body, Mapping | list):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        with self._lock:
            versions = self.deployments.setdefault((application, environment, profile), [])
            number = len(versions) + 1
            versions.append(Version(number, body, content_type, version))
            return number

    def fail_next(self, kind: str, times: int = 1, op: str | None = None) -> None:
        """The next *times* requests (of *op*: "start", "get", "agent"; any if None) fail.

        *kind*: ``throttle`` (429 ThrottlingException), ``internal`` (500
        InternalServerException), ``expired`` (400 BadRequestException, token expired),
        ``notfound`` (404 ResourceNotFoundException), ``slow`` (answers after
        ``slow_seconds``), ``malformed`` (an answer boto3 cannot use: a non-JSON session
        body, a configuration without its next token, or broken JSON from the agent),
        ``drop`` (closes the connection without an answer).
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULTS}")
        with self._lock:
            self._faults.append(_Fault(kind, op, times))

    def release_slow(self) -> None:
        """Let every slow answer that is waiting now go out (later ones wait again)."""
        with self._lock:
            event, self._release = self._release, threading.Event()
        event.set()

    # --- what tests assert -------------------------------------------------------------

    def wait_until(self, predicate: Any, timeout: float = 5.0) -> bool:
        """Wait (at most *timeout* real seconds) until *predicate()* is true; checked as
        each request arrives."""
        with self._arrived:
            return self._arrived.wait_for(predicate, timeout)

    def of(self, op: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.op == op]

    def rejections(self, reason: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.rejection and reason in (None, r.rejection)]

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def accepted_tokens(self) -> list[str]:
        """Tokens of the GetLatestConfiguration calls that were answered 200, in order."""
        return [r.token for r in self.of("get") if r.status == 200 and r.token]

    # --- the protocol ------------------------------------------------------------------

    def _now(self) -> float:
        return float(self.clock.monotonic())

    def _take_fault(self, op: str) -> str | None:
        with self._lock:
            for fault in self._faults:
                if fault.op in (None, op) and fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault.kind
        return None

    def _new_token(self, session: int, not_before: float) -> str:
        value = "tok-" + secrets.token_urlsafe(24)
        self._tokens[value] = _Token(value, session, self._now(), not_before)
        return value

    def _start(self, rec: Recorded) -> tuple[int, dict[str, str], bytes]:
        try:
            req = json.loads(rec.body or b"{}")
            if not isinstance(req, dict):
                raise ValueError
        except ValueError:
            return _error(
                400,
                "BadRequestException",
                "Request body is not valid JSON",
                reason="InvalidParameters",
            )
        names = []
        for member in (
            "ApplicationIdentifier",
            "EnvironmentIdentifier",
            "ConfigurationProfileIdentifier",
        ):
            value = req.get(member)
            if not isinstance(value, str) or not 1 <= len(value) <= 128:
                return _error(
                    400,
                    "BadRequestException",
                    f"{member} is required",
                    reason="InvalidParameters",
                    details={"InvalidParameters": {member: {"Problem": "Corrupted"}}},
                )
            names.append(value)
        app, env, profile = names
        minimum = req.get("RequiredMinimumPollIntervalInSeconds")
        if minimum is not None and (not isinstance(minimum, int) or not 15 <= minimum <= 86400):
            return _error(
                400,
                "BadRequestException",
                "RequiredMinimumPollIntervalInSeconds out of range",
                reason="InvalidParameters",
            )
        with self._lock:
            keys = list(self.deployments)
            if not any(k[0] == app for k in keys):
                return _not_found("Application", app)
            if not any(k[:2] == (app, env) for k in keys):
                return _not_found("Environment", env)
            if (app, env, profile) not in self.deployments:
                return _not_found("ConfigurationProfile", profile)
            sid = len(self._sessions) + 1
            interval = minimum if minimum is not None else self.poll_interval
            self._sessions[sid] = _Session(sid, (app, env, profile), interval, self._now())
            token = self._new_token(sid, self._now())
        return (
            201,
            {"Content-Type": "application/json"},
            json.dumps({"InitialConfigurationToken": token}).encode(),
        )

    def _get(self, rec: Recorded, fault: str | None) -> tuple[int, dict[str, str], bytes]:
        values = rec.query.get("configuration_token") or [""]
        value = values[0]
        rec.token = value or None
        now = self._now()
        with self._lock:
            token = self._tokens.get(value)
            if token is None:
                rec.rejection = "invalid"
                return _bad_token("Invalid configuration token", "Corrupted")
            session = self._sessions[token.session]
            too_old = self.session_ttl is not None and now - session.started > self.session_ttl
            if fault == "expired" or now - token.issued_at > self.token_ttl or too_old:
                token.used = True
                rec.rejection = "expired"
                return _bad_token("Token expired", "Expired")
            if token.used and self.strict_reuse:
                rec.rejection = "reused"
                return _bad_token("The configuration token was already used", "Corrupted")
            if now < token.not_before:
                rec.rejection = "early"
                return _bad_token("Request too early", "PollIntervalNotSatisfied")
            versions = self.deployments.get(session.key)
            if not versions:
                return _not_found("Deployment", "/".join(session.key))
            token.used = True
            latest = versions[-1]
            next_token = self._new_token(session.id, now + session.interval)
            headers = {
                "Next-Poll-Configuration-Token": next_token,
                "Next-Poll-Interval-In-Seconds": str(session.interval),
            }
            if fault == "malformed":
                session.served = None
                return 200, {"Content-Type": "application/json"}, b"\x00\xffgarbage{"
            if session.served == latest.number:
                return 200, headers, b""
            session.served = latest.number
            headers["Content-Type"] = latest.content_type
            if latest.label is not None:
                headers["Version-Label"] = latest.label
            return 200, headers, latest.body

    def _agent(self, rec: Recorded, fault: str | None) -> tuple[int, dict[str, str], bytes] | None:
        parts = rec.path.split("/")
        # ['', 'applications', app, 'environments', env, 'configurations', profile]
        if len(parts) != 7 or parts[1::2] != ["applications", "environments", "configurations"]:
            return None
        key = tuple(urllib.parse.unquote(p) for p in parts[2::2])
        if fault == "malformed":
            return 200, {"Content-Type": "application/json"}, b'{"broken": '
        with self._lock:
            versions = self.deployments.get(key)  # type: ignore[call-overload]
            if not versions:
                return (
                    404,
                    {"Content-Type": "text/plain"},
                    b"ResourceNotFoundException: configuration not found",
                )
            latest = versions[-1]
        headers = {"Content-Type": latest.content_type, "Configuration-Version": str(latest.number)}
        if latest.label is not None:
            headers["Version-Label"] = latest.label
        return 200, headers, latest.body

    def _handle(self, handler: _Handler, method: str) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = parsed.path
        if method == "POST" and path == "/configurationsessions":
            op = "start"
        elif method == "GET" and path == "/configuration":
            op = "get"
        elif method == "GET" and path.startswith("/applications/"):
            op = "agent"
        else:
            op = "other"
        rec = Recorded(
            op,
            method,
            path,
            urllib.parse.parse_qs(parsed.query),
            dict(handler.headers.items()),
            body,
            self._now(),
        )
        if op == "get":
            rec.token = (rec.query.get("configuration_token") or [""])[0] or None
        fault = self._take_fault(op) if op != "other" else None
        rec.fault = fault
        with self._arrived:
            release = self._release
            self.requests.append(rec)
            self._arrived.notify_all()
        if fault == "drop":
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        answer: tuple[int, dict[str, str], bytes] | None
        if fault == "throttle":
            answer = _error(429, "ThrottlingException", "Rate exceeded")
        elif fault == "internal":
            answer = _error(500, "InternalServerException", "Internal failure, please retry")
        elif fault == "notfound":
            answer = _not_found("Deployment", path) if op != "agent" else (404, {}, b"not found")
        elif op == "start":
            answer = (
                self._start(rec)
                if fault != "malformed"
                else (201, {"Content-Type": "application/json"}, b"<html>Bad gateway</html>")
            )
        elif op == "get":
            answer = self._get(rec, fault)
        elif op == "agent":
            answer = self._agent(rec, fault)
        else:
            answer = None
        if answer is None:
            answer = _error(404, "UnknownOperationException", f"no route for {method} {path}")
        status, headers, payload = answer
        rec.status, rec.response_headers, rec.response_body = status, headers, payload
        if fault == "slow":
            release.wait(self.slow_seconds)  # real time: the client's timeout is what is tested
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.send_header("x-amzn-RequestId", secrets.token_hex(8))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:  # the client gave up (timeout)
            handler.close_connection = True


class _Handler(BaseHTTPRequestHandler):
    owner: AppConfigServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.owner._lock:
            self.owner._connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self.owner._handle(self, "GET")

    def do_POST(self) -> None:
        self.owner._handle(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _error(
    status: int,
    code: str,
    message: str,
    *,
    reason: str | None = None,
    details: Any = None,
    **extra: Any,
) -> tuple[int, dict[str, str], bytes]:
    payload: dict[str, Any] = {"Message": message}
    if reason is not None:
        payload["Reason"] = reason
    if details is not None:
        payload["Details"] = details
    payload.update(extra)
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return status, headers, json.dumps(payload).encode()


def _bad_token(message: str, problem: str) -> tuple[int, dict[str, str], bytes]:
    return _error(
        400,
        "BadRequestException",
        message,
        reason="InvalidParameters",
        details={"InvalidParameters": {"ConfigurationToken": {"Problem": problem}}},
    )


def _not_found(kind: str, name: str) -> tuple[int, dict[str, str], bytes]:
    return _error(404, "ResourceNotFoundException", f"{kind} {name} not found", ResourceType=kind)
