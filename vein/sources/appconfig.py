"""``from_appconfig``: AWS AppConfig, through the AppConfigData API or the AppConfig Agent.

The source keeps one configuration session per (application, environment, profile) and
follows the AppConfigData rules:

* ``StartConfigurationSession`` once (with ``RequiredMinimumPollIntervalInSeconds`` when
  *min_poll_interval* is given), then ``GetLatestConfiguration`` with the newest token every
  time -- a token is never sent twice once the server has answered it;
* never earlier than the server's ``NextPollIntervalInSeconds``: asked before that, the
  source does not call the server and answers "unchanged";
* an empty body means "unchanged"; a restarted session sends the whole configuration again,
  which is recognised by its content hash and is not a change;
* the session is restarted every 23 hours (tokens live up to 24 hours) and whenever the
  server answers ``BadRequestException`` (expired or invalid token);
* throttling (429), server errors (5xx) and network faults raise :class:`vein.SourceError`
  for that poll; the source stays usable and the next poll backs off (1 s, doubling, at most
  5 minutes) -- the watcher reports the error and keeps the last good state.  Such an error
  has ``transient = True``: no version was received (a watcher reports it as a failed poll),
  unlike an error for a version that was received and cannot be read (a rejected version);
* the client vein makes gives up on a request after *timeout* seconds (connect and read),
  so a poll never hangs for botocore's default 60 s (a watcher's ``stop()`` waits for it);
* the body is decoded by its ``Content-Type``: ``application/json``, ``application/x-yaml``
  (also ``application/yaml``, ``text/yaml``); ``text/plain``, ``application/octet-stream``
  or no type are read as JSON when they start with ``{`` or ``[`` and as YAML otherwise;
  ``format="json"`` / ``"yaml"`` decides whatever the type says.  Parameters such as
  ``; charset=utf-8`` are honoured and stripped.  The top level must be a mapping;
* the ``Version-Label`` of the deployed version is kept in provenance, so ``explain`` says
  ``appconfig myapp/prod/default version 7``.

Feature-flag profiles (``AWS.AppConfig.FeatureFlags``) arrive in AppConfig's retrieval
format, ``{"flag": {"enabled": true, "attr": value, ...}}``, where a disabled flag carries
only ``enabled``; they structure into ordinary flow classes whose attributes have defaults::

    @vein.flow
    class Flag:
        enabled: bool = False

    @vein.flow
    class CheckoutFlag:
        enabled: bool = False
        max_items: int = 10          # an attribute of the flag
        banner: str = ""

    @vein.flow
    class Flags:
        new_ui: Flag = vein.field(factory=Flag)
        checkout: CheckoutFlag = vein.field(factory=CheckoutFlag)

    flags = vein.load(Flags, vein.from_appconfig("shop", "prod", "flags"))
    if flags.checkout.enabled: ...

Multi-variant flags need caller context, which only the agent evaluates; vein reads the
flags' default values.

Agent mode (``agent_url="http://localhost:2772"``) reads
``GET {agent_url}/applications/{app}/environments/{env}/configurations/{profile}`` from the
AppConfig Agent (or the Lambda extension) with the standard library -- no boto3 -- and
decodes the body the same way; the agent does the sessions and polling.

Clock: *clock* is any object with ``monotonic()`` and ``sleep(seconds)`` (default: the
``time`` module's), so tests never wait for real.  :attr:`AppConfigSource.next_poll_at`
says (on that clock) when asking the server again can bring something new.
"""

from __future__ import annotations

import codecs
import hashlib
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import attrs

from ..errors import SourceError
from ..flow.provenance import Provenance
from .base import Document

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_appconfigdata import AppConfigDataClient

    from ..flow.schema import Schema

__all__ = ["AppConfigSource", "Clock", "from_appconfig"]

#: Restart the session this long after it started (AppConfigData tokens live up to 24 h).
SESSION_MAX_AGE: Final = 23 * 3600.0
#: Poll interval assumed when the server does not say one.
DEFAULT_POLL_INTERVAL: Final = 60.0
#: Back-off after a failed poll: first delay and cap (seconds).
BACKOFF_FIRST: Final = 1.0
BACKOFF_MAX: Final = 300.0

_JSON_TYPES: Final = frozenset({"application/json", "text/json"})
_YAML_TYPES: Final = frozenset(
    {"application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml", "application/vnd.yaml"}
)
_TEXT_TYPES: Final = frozenset({"", "text/plain", "application/octet-stream"})
_TRANSIENT_CODES: Final = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalServerException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
_SECRETS_RE: Final = re.compile(
    r"(configuration_token=)[^&\s\"']+"
    r"|(Credential=)[^,\s\"']+"
    r"|(Signature=)[0-9a-fA-F]+"
    r"|(Bearer )\S+"
    r"|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"
)


class Clock(Protocol):
    """What the source needs of a clock: ``monotonic()`` seconds and ``sleep(seconds)``."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class _RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


REAL_CLOCK: Final[Clock] = _RealClock()


@attrs.frozen
class _Content:
    """One configuration body as served: equal when body, type and label are equal."""

    body: bytes = attrs.field(eq=False, repr=False)
    digest: bytes
    content_type: str | None
    label: str | None

    @classmethod
    def of(cls, body: bytes, content_type: str | None, label: str | None) -> _Content:
        return cls(body, hashlib.blake2b(body, digest_size=16).digest(), content_type, label)


def _scrub(text: str, *secrets: str | None) -> str:
    """*text* without tokens, signatures or credentials in it."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return _SECRETS_RE.sub(lambda m: next((g for g in m.groups() if g), "") + "<redacted>", text)


class AppConfigSource:
    """An AWS AppConfig configuration profile as a layer (see :func:`from_appconfig`)."""

    kind = "appconfig"

    def __init__(
        self,
        application: str,
        environment: str,
        profile: str = "default",
        *,
        client: AppConfigDataClient | None = None,
        session: Session | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        agent_url: str | None = None,
        format: Literal["json", "yaml"] | None = None,
        clock: Clock | None = None,
        min_poll_interval: float | None = None,
        strict: bool = True,
        timeout: float = 5.0,
    ) -> None:
        for what, value in (
            ("application", application),
            ("environment", environment),
            ("profile", profile),
        ):
            if not isinstance(value, str) or not value:
                raise ValueError(f"from_appconfig(): {what} must be a non-empty string")
        if not (isinstance(timeout, int | float) and 0 < timeout < math.inf):
            raise ValueError("from_appconfig(): timeout must be a positive number of seconds")
        if format not in (None, "json", "yaml"):
            raise ValueError(f"from_appconfig(): format must be 'json' or 'yaml', not {format!r}")
        if (
            agent_url is None
            and min_poll_interval is not None
            and not (15 <= min_poll_interval <= 86400)
        ):
            raise ValueError(
                "from_appconfig(): min_poll_interval must be between 15 and 86400 seconds "
                "(AppConfig's limits)"
            )
        self.application = application
        self.environment = environment
        self.profile = profile
        self.name = f"{application}/{environment}/{profile}"
        self.key = f"appconfig:{self.name}"
        self.display = f"appconfig {self.name}"
        self.strict = strict
        self.format = format
        self.agent_url = agent_url.rstrip("/") if agent_url else None
        self.min_poll_interval = min_poll_interval
        self.timeout = timeout
        self.clock: Clock = clock if clock is not None else REAL_CLOCK
        self._client = client
        self._boto_session = session
        self._region = region
        self._endpoint_url = endpoint_url
        self._lock = threading.RLock()
        # session state
        self._token: str | None = None
        self._session_started = 0.0
        self._server_next = float("-inf")  # the server's NextPollInterval, as a time
        self._fresh_session = False  # the next answer is the first of a session
        # failures
        self._retry_at = float("-inf")
        self._failures = 0
        self._error: SourceError | None = None
        # content
        self._content: _Content | None = None
        self._returned: _Content | None = None
        self._doc: tuple[_Content, Document] | None = None
        self.polls = 0  # calls made to the server (GetLatestConfiguration or agent GET)

    def __repr__(self) -> str:
        extra = f", agent_url={self.agent_url!r}" if self.agent_url else ""
        return (
            f"from_appconfig({self.application!r}, {self.environment!r}, {self.profile!r}{extra})"
        )

    # --- what the engine and the watcher use ---------------------------------------------

    @property
    def next_poll_at(self) -> float:
        """When (on :attr:`clock`'s ``monotonic()``) the server may be asked again."""
        with self._lock:
            return max(self._server_next, self._retry_at)

    @property
    def version_label(self) -> str | None:
        """The version label of the newest configuration received (``None`` if none)."""
        content = self._content
        return content.label if content is not None else None

    def changed(self) -> bool:
        """Poll once if the server allows it now; true if there is content ``read`` has not given.

        Never raises: a failed poll makes this return true and the next :meth:`read` raise
        the :class:`vein.SourceError` (once).  Before :attr:`next_poll_at` the server is not
        called.
        """
        with self._lock:
            if self._error is not None:
                return True
            if self.clock.monotonic() >= self.next_poll_at:
                try:
                    self._poll()
                except SourceError as exc:
                    self._error = exc
                    return True
            return self._content is not None and self._content != self._returned

    def read(self, schema: Schema | None) -> Document:
        """The newest configuration as a :class:`Document`.

        Polls first when there is nothing yet, or when everything received was already
        read and the poll interval has passed (content that :meth:`changed` found is
        returned without another call).  Raises :class:`vein.SourceError` for a failed
        poll and for content that cannot be decoded.
        """
        with self._lock:
            error = self._error
            if error is not None:
                self._error = None
                raise error
            now = self.clock.monotonic()
            if self._content is None:
                if now < self._server_next:
                    wait = self._server_next - now
                    raise _failed_poll(
                        SourceError(
                            f"no configuration received yet; the server allows the next poll "
                            f"in {wait:.0f} s",
                            source=self.display,
                        )
                    )
                self._poll()  # a first load does not wait for our own back-off
            elif self._content == self._returned and now >= self.next_poll_at:
                self._poll()  # nothing pending from changed(): look for something newer
            content = self._content
            if content is None:  # pragma: no cover - _poll either stores content or raises
                raise SourceError("no configuration received", source=self.display)
            self._returned = content
            cached = self._doc
            if cached is not None and cached[0] == content:
                return cached[1]
            doc = self._decode(content)
            self._doc = (content, doc)
            return doc

    # --- polling ------------------------------------------------------------------------

    def _poll(self) -> None:
        now = self.clock.monotonic()
        try:
            if self.agent_url is not None:
                self._poll_agent(now)
            else:
                self._poll_data(now)
        except Exception as exc:
            self._failures += 1
            delay = min(BACKOFF_FIRST * 2 ** (self._failures - 1), BACKOFF_MAX)
            self._retry_at = now + delay
            # Whatever went wrong here, no version was received: a failed poll, never a
            # rejected version (decoding happens in read(), after this).
            if isinstance(exc, SourceError):
                _failed_poll(exc)
                raise
            # Never let anything but a VeinError out of a source.
            text = _scrub(str(exc), self._token)
            raise _failed_poll(
                SourceError(
                    f"unexpected failure ({type(exc).__name__}): {text}", source=self.display
                )
            ) from None
        self._failures = 0
        self._retry_at = float("-inf")
        self._error = None

    def _store(self, body: bytes, content_type: str | None, label: str | None) -> None:
        content = _Content.of(body, content_type, label)
        if content != self._content:
            self._content = content

    # AppConfigData ------------------------------------------------------------------------

    def _get_client(self) -> AppConfigDataClient:
        client = self._client
        if client is not None:
            return client
        try:
            import boto3
        except ImportError:
            raise SourceError(
                "reading AWS AppConfig needs boto3: pip install 'vein[aws]'", source=self.display
            ) from None
        from botocore.config import Config

        # botocore waits 60 s for an answer by default: a poll stuck that long would hold up
        # a watcher's stop().  Retries and everything else stay boto3's standard settings.
        kwargs: dict[str, Any] = {
            "config": Config(connect_timeout=self.timeout, read_timeout=self.timeout)
        }
        if self._region is not None:
            kwargs["region_name"] = self._region
        if self._endpoint_url is not None:
            kwargs["endpoint_url"] = self._endpoint_url
        try:
            session = self._boto_session or boto3.session.Session()
            client = session.client("appconfigdata", **kwargs)
        except Exception as exc:
            raise SourceError(
                f"cannot create the AppConfigData client: {_scrub(str(exc))}", source=self.display
            ) from None
        self._client = client
        return client

    def _start_session(self, client: AppConfigDataClient, now: float) -> None:
        self._token = None
        kwargs: dict[str, Any] = {
            "ApplicationIdentifier": self.application,
            "EnvironmentIdentifier": self.environment,
            "ConfigurationProfileIdentifier": self.profile,
        }
        if self.min_poll_interval is not None:
            kwargs["RequiredMinimumPollIntervalInSeconds"] = int(self.min_poll_interval)
        try:
            resp = self._call(
                client.start_configuration_session, "StartConfigurationSession", kwargs
            )
        except _Throttled as exc:
            raise SourceError(str(exc), source=self.display) from None
        token = resp.get("InitialConfigurationToken")
        if not isinstance(token, str) or not token:
            raise SourceError(
                "StartConfigurationSession answered without a configuration token",
                source=self.display,
            )
        self._token = token
        self._session_started = now
        self._server_next = float("-inf")
        self._fresh_session = True

    def _poll_data(self, now: float) -> None:
        client = self._get_client()
        if self._token is None or now - self._session_started >= SESSION_MAX_AGE:
            self._start_session(client, now)
        try:
            self._get_latest(client, now)
        except _Restart:
            # Expired or invalid token: a new session, and one more try in this poll.
            self._start_session(client, now)
            try:
                self._get_latest(client, now)
            except _Restart as exc:
                raise SourceError(
                    f"the AppConfigData session was refused twice: {exc.message}",
                    source=self.display,
                ) from None

    def _get_latest(self, client: AppConfigDataClient, now: float) -> None:
        token = self._token
        assert token is not None
        # From here on the token counts as used, whatever happens: never send it again
        # unless the server said it did not take it (throttled, 5xx).
        self._token = None
        self.polls += 1
        try:
            resp = self._call(
                client.get_latest_configuration,
                "GetLatestConfiguration",
                {"ConfigurationToken": token},
                token=token,
            )
        except _Throttled as exc:
            self._token = token  # rejected before use: the token is still good
            raise SourceError(str(exc), source=self.display) from None
        except _TooEarly:
            # The server's clock runs ahead of ours: the token was not taken; wait out an
            # interval and report "unchanged".
            self._token = token
            self._server_next = now + self._interval(None)
            return
        fresh = self._fresh_session
        self._fresh_session = False
        body_stream = resp.get("Configuration")
        try:
            body = body_stream.read() if body_stream is not None else b""
        except Exception as exc:
            raise SourceError(
                f"the configuration could not be received: {_scrub(str(exc), token)}",
                source=self.display,
            ) from None
        next_token = resp.get("NextPollConfigurationToken")
        if not isinstance(next_token, str) or not next_token:
            raise SourceError(
                "GetLatestConfiguration answered without a next token; starting a new session",
                source=self.display,
            )
        self._token = next_token
        # The server counts its interval from its answer, not from our request: counting
        # from before the call would poll early by the round trip (and be refused).
        answered = self.clock.monotonic()
        self._server_next = answered + self._interval(resp.get("NextPollIntervalInSeconds"))
        if body or fresh:
            # The first answer of a session is the whole configuration, even when empty.
            self._store(body, resp.get("ContentType"), resp.get("VersionLabel"))

    def _interval(self, advised: Any) -> float:
        # Whatever the server says is honoured, 0 included (real AppConfig never says less
        # than 15 s; a local test server may): vein adds no floor of its own.
        if isinstance(advised, int | float) and advised >= 0:
            return float(advised)
        if self.min_poll_interval is not None:
            return float(self.min_poll_interval)
        return DEFAULT_POLL_INTERVAL

    def _call(
        self,
        method: Callable[..., Any],
        operation: str,
        kwargs: dict[str, Any],
        *,
        token: str | None = None,
    ) -> Mapping[str, Any]:
        from botocore.exceptions import ClientError

        try:
            resp: Mapping[str, Any] = method(**kwargs)
            return resp
        except ClientError as exc:
            response: Mapping[str, Any] = exc.response
            error = response.get("Error") or {}
            code = str(error.get("Code") or "")
            message = _scrub(str(error.get("Message") or ""), token, self._token)
            status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            what = f"{operation} failed: {code or status}" + (f": {message}" if message else "")
            if code == "BadRequestException" or (status == 400 and not code):
                if operation == "GetLatestConfiguration":
                    if "PollIntervalNotSatisfied" in _problems(response) or "too early" in message:
                        raise _TooEarly(what) from None
                    raise _Restart(what) from None
                raise SourceError(what, source=self.display) from None
            if code in _TRANSIENT_CODES or status == 429 or status >= 500:
                raise _Throttled(what) from None
            if code == "ResourceNotFoundException" or status == 404:
                kind = response.get("ResourceType")
                hint = f" ({kind} not found)" if kind else ""
                raise SourceError(
                    f"{operation} failed: not found{hint}: {message or 'no such resource'}; "
                    "check the application, environment and profile names and that a "
                    "deployment exists",
                    source=self.display,
                ) from None
            raise SourceError(what, source=self.display) from None
        except Exception as exc:
            text = _scrub(str(exc), token, self._token) or type(exc).__name__
            raise SourceError(f"{operation} failed: {text}", source=self.display) from None

    # agent --------------------------------------------------------------------------------

    def _poll_agent(self, now: float) -> None:
        import http.client
        import urllib.error
        import urllib.parse
        import urllib.request

        assert self.agent_url is not None
        q = urllib.parse.quote
        url = (
            f"{self.agent_url}/applications/{q(self.application, safe='')}"
            f"/environments/{q(self.environment, safe='')}"
            f"/configurations/{q(self.profile, safe='')}"
        )
        request = urllib.request.Request(url, headers={"Accept": "*/*"})
        self.polls += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
                headers = response.headers
        except urllib.error.HTTPError as exc:
            status = exc.code
            try:
                detail = exc.read(500).decode("utf-8", "replace").strip()
            except Exception:
                detail = ""
            finally:
                exc.close()
            detail = _scrub(detail)
            if status == 404:
                msg = (
                    "the AppConfig agent does not know this configuration (404); check the "
                    "names and the agent's PREFETCH_LIST/MANIFEST"
                )
            else:
                msg = f"the AppConfig agent answered HTTP {status}"
            raise SourceError(
                msg + (f": {detail}" if detail else ""), source=self.display
            ) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                msg = f"no answer from the AppConfig agent within {self.timeout:g} s"
            else:
                msg = f"cannot reach the AppConfig agent at {self.agent_url}: {reason}"
            raise SourceError(msg, source=self.display) from None
        except TimeoutError:
            raise SourceError(
                f"no answer from the AppConfig agent within {self.timeout:g} s", source=self.display
            ) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise SourceError(
                f"the AppConfig agent request failed: {_scrub(str(exc)) or type(exc).__name__}",
                source=self.display,
            ) from None
        label = headers.get("Version-Label") or headers.get("Configuration-Version")
        self._store(body, headers.get("Content-Type"), label)
        if self.min_poll_interval is not None:
            self._server_next = now + self.min_poll_interval

    # decoding -----------------------------------------------------------------------------

    def _decode(self, content: _Content) -> Document:
        display = self.display
        if content.label is not None:
            display += f" (version {content.label})"
        media, charset = _media_type(content.content_type)
        fmt: str | None = self.format
        if fmt is None:
            if media in _JSON_TYPES or media.endswith("+json"):
                fmt = "json"
            elif media in _YAML_TYPES or media.endswith("+yaml"):
                fmt = "yaml"
            elif media not in _TEXT_TYPES and not media.startswith("text/"):
                raise SourceError(
                    f"cannot read content type {media!r}; deploy it as application/json, "
                    "application/x-yaml or text/plain, or pass format='json' or 'yaml'",
                    source=display,
                )
        text = _text(content.body, charset, display)
        if fmt is None:
            fmt = "json" if text.lstrip()[:1] in ("{", "[") else "yaml"
        name, layer, label = self.name, self.key, content.label
        if fmt == "json":
            from .json import parse_json

            data = parse_json(text, display, what="JSON document")
        else:
            from .yaml import parse_yaml

            data, _marks = parse_yaml(text, display, what="YAML document")

        def locate(path: tuple[str, ...]) -> Provenance:
            return Provenance(
                "appconfig", name, layer=layer, key=".".join(path) or None, version=label
            )

        return Document(data, locate, layer, self.strict)


def _failed_poll(exc: SourceError) -> SourceError:
    """Mark *exc* as a poll that received no version (network, throttling, server error).

    The watcher reports such an error as a failed poll, to be retried, rather than as a
    rejected version.
    """
    exc.transient = True
    return exc


class _Throttled(Exception):
    """Throttled or a server error: the token was not used; retry it after a back-off.

    Never leaves the source: it becomes a plain :class:`vein.SourceError` (a private class
    name must not show in what users read).
    """


class _Restart(Exception):
    """The token was refused (expired, invalid): start a new session."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _TooEarly(Exception):
    """``PollIntervalNotSatisfied``: the server's clock says the interval has not passed."""


def _problems(response: Mapping[str, Any]) -> set[str]:
    details = response.get("Details")
    found: set[str] = set()
    if isinstance(details, Mapping):
        params = details.get("InvalidParameters")
        if isinstance(params, Mapping):
            for value in params.values():
                if isinstance(value, Mapping) and isinstance(value.get("Problem"), str):
                    found.add(value["Problem"])
    return found


def _media_type(content_type: str | None) -> tuple[str, str | None]:
    """``"application/json; charset=utf-8"`` -> ``("application/json", "utf-8")``."""
    if not content_type:
        return "", None
    media, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def _text(body: bytes, charset: str | None, display: str) -> str:
    encoding = "utf-8"
    if charset is not None:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            raise SourceError(
                f"unknown charset {charset!r} in the content type", source=display
            ) from None
    if encoding == "utf-8" and body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        return body.decode(encoding)
    except LookupError:  # base64, zlib, rot13...: codecs, but not text encodings
        raise SourceError(
            f"charset {charset!r} in the content type is not a text encoding", source=display
        ) from None
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        col = exc.start - (body.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SourceError(
            f"not valid {encoding} (byte 0x{body[exc.start]:02x}); "
            "deploy the configuration as UTF-8",
            source=display,
            line=line,
            column=col,
        ) from None


def from_appconfig(
    application: str,
    environment: str,
    profile: str = "default",
    *,
    client: AppConfigDataClient | None = None,
    session: Session | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    agent_url: str | None = None,
    format: Literal["json", "yaml"] | None = None,
    clock: Clock | None = None,
    min_poll_interval: float | None = None,
    strict: bool = True,
    timeout: float = 5.0,
) -> AppConfigSource:
    """An AWS AppConfig configuration profile as a layer (``appconfig app/env/profile``).

    *application*, *environment*, *profile*: names or IDs.  boto3 (``pip install
    'vein[aws]'``) is imported on first use; its standard configuration applies (region,
    credentials, retries, ``AWS_ENDPOINT_URL_APPCONFIGDATA``).  Give a ready *client*
    (``boto3.client("appconfigdata", ...)``) or a boto3 *session* to configure it yourself;
    *region* and *endpoint_url* are passed to the client vein makes.

    *agent_url* (e.g. ``"http://localhost:2772"``) reads the AppConfig Agent instead
    (no boto3).  *timeout*: seconds to wait for the agent, or to connect to and hear from
    AppConfig with the client vein makes (a *client* you give keeps its own settings).  *format* (``"json"``/``"yaml"``) decides how
    the body is read, whatever its content type.  *min_poll_interval* (15..86400 s) is sent
    as ``RequiredMinimumPollIntervalInSeconds`` (in agent mode: the least time between two
    requests to the agent).  *clock*: see the module docs.  *strict*:
    unknown keys are errors.  See :mod:`vein.sources.appconfig` for sessions, polling,
    decoding and feature flags.
    """
    return AppConfigSource(
        application,
        environment,
        profile,
        client=client,
        session=session,
        region=region,
        endpoint_url=endpoint_url,
        agent_url=agent_url,
        format=format,
        clock=clock,
        min_poll_interval=min_poll_interval,
        strict=strict,
        timeout=timeout,
    )
