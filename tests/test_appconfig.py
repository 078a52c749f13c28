"""``vein.from_appconfig``: the real boto3 client against a local AppConfigData server.

No test sleeps for real beyond the one slow-response test (a few hundred ms); time is a
:class:`FakeClock` shared by the server and the source.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import vein
from vein.sources import appconfig as appconfig_module
from vein.sources.appconfig import AppConfigSource

sys.path.insert(0, str(Path(__file__).parent))
from appconfig_server import AppConfigServer, FakeClock  # noqa: E402

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402

APP, ENV, PROFILE = "myapp", "prod", "default"
INTERVAL = 60


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432


@vein.flow
class Settings:
    timeout: float = 30.0
    debug: bool = False
    name: str = "app"
    database: Database = vein.field(factory=Database)


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials and a region; nothing from the machine's AWS configuration."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_APPCONFIGDATA",
        "AWS_RETRY_MODE",
        "AWS_MAX_ATTEMPTS",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-key")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[AppConfigServer]:
    srv = AppConfigServer(clock, poll_interval=INTERVAL)
    srv.allow_rejections = False  # type: ignore[attr-defined]
    with srv:
        yield srv
    # Whatever the test did: vein never reused a token and never polled early.
    if not srv.allow_rejections:  # type: ignore[attr-defined]
        assert srv.rejections("reused") == []
        assert srv.rejections("early") == []
    accepted = srv.accepted_tokens()
    assert len(accepted) == len(set(accepted)), "a token was accepted twice"


def make_client(server: AppConfigServer, **config: Any) -> Any:
    return boto3.client(
        "appconfigdata",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


@pytest.fixture
def client(server: AppConfigServer) -> Any:
    return make_client(server)


@pytest.fixture
def source(client: Any, clock: FakeClock) -> AppConfigSource:
    return vein.from_appconfig(APP, ENV, client=client, clock=clock)


def deploy(server: AppConfigServer, body: Any, version: str | None = None, **kw: Any) -> int:
    return server.deploy(APP, ENV, PROFILE, body, version=version, **kw)


def error_of(fn: Any, *args: Any) -> vein.SourceError:
    with pytest.raises(vein.SourceError) as info:
        fn(*args)
    return info.value


# --- first load, unchanged, new deployments --------------------------------------------


def test_first_load_into_a_typed_schema(server: AppConfigServer, source: AppConfigSource) -> None:
    deploy(server, {"timeout": 5, "database": {"host": "db.internal", "port": 6432}}, version="7")
    settings = vein.load(Settings, source)
    assert settings.timeout == 5.0
    assert settings.database.host == "db.internal"
    assert settings.database.port == 6432
    assert settings.name == "app"  # default kept
    prov = settings.explain("database.host")
    assert str(prov) == "appconfig myapp/prod/default version 7"
    assert prov.kind == "appconfig"
    assert prov.layer == source.key == "appconfig:myapp/prod/default"
    assert prov.key == "database.host"
    assert prov.version == "7"
    assert str(settings.explain("name")) == "default"
    # the wire: one session, one poll, signed for the appconfig service
    (start,) = server.of("start")
    assert json.loads(start.body) == {
        "ApplicationIdentifier": APP,
        "EnvironmentIdentifier": ENV,
        "ConfigurationProfileIdentifier": PROFILE,
    }
    assert "/us-east-1/appconfig/aws4_request" in start.headers["Authorization"]
    (get,) = server.of("get")
    assert get.status == 200
    assert source.version_label == "7"


def test_update_applies_the_layer_and_reports_changes(
    server: AppConfigServer, source: AppConfigSource
) -> None:
    deploy(server, {"timeout": 5, "debug": True}, version="1")
    settings = Settings()
    changes = settings.update(source)
    assert {c.path: (c.old, c.new) for c in changes} == {
        "timeout": (30.0, 5.0),
        "debug": (False, True),
    }
    assert str(changes[0].source) == "appconfig myapp/prod/default version 1"
    assert settings.timeout == 5.0


def test_unchanged_body_is_no_change(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 5}, version="1")
    settings = vein.load(Settings, source)
    clock.advance(INTERVAL)
    assert source.changed() is False
    last = server.of("get")[-1]
    assert last.status == 200 and last.response_body == b""
    assert "Content-Type" not in last.response_headers
    assert settings.update(source) == []
    assert settings.timeout == 5.0
    assert len(server.of("get")) == 2  # update() did not poll again: the interval had not passed


def test_new_deployment_is_applied_with_events(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 5, "database": {"host": "a"}}, version="1")
    settings = vein.load(Settings, source)
    seen: list[vein.Change] = []
    settings.on_change(seen.append)
    deploy(server, {"timeout": 5, "database": {"host": "b"}, "debug": True}, version="2")
    # before the server's interval: no call, no change
    assert source.changed() is False
    assert len(server.of("get")) == 1
    assert source.next_poll_at == clock.monotonic() + INTERVAL
    clock.advance(INTERVAL)
    assert source.changed() is True
    assert source.changed() is True  # still not read; no second call (interval)
    assert len(server.of("get")) == 2
    changes = settings.update(source)
    assert sorted(c.path for c in changes) == ["database.host", "debug"]
    assert sorted(c.path for c in seen) == ["database.host", "debug"]
    assert settings.database.host == "b"
    assert str(settings.explain("database.host")) == "appconfig myapp/prod/default version 2"
    assert source.changed() is False
    # the token chain: each poll used the token the previous answer gave
    gets = server.of("get")
    assert gets[1].token == gets[0].response_headers["Next-Poll-Configuration-Token"]


def test_never_polls_early(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 1}, version="1")
    settings = vein.load(Settings, source)
    polls = 1
    for step in (1, 10, 30, 18.5, 0.5, 59, 1, 120, 0, 0, 61):
        clock.advance(step)
        due = clock.monotonic() >= source.next_poll_at
        source.changed()
        settings.update(source)
        if due:
            polls += 1
        assert len(server.of("get")) == polls
    assert server.rejections("early") == []
    gets = server.of("get")
    for before, after in zip(gets, gets[1:], strict=False):
        assert after.at - before.at >= INTERVAL


def test_the_servers_advice_is_honoured_even_when_short(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock
) -> None:
    """Whatever interval the server says is what vein waits -- 0 too (a test server may
    say it; real AppConfig never says less than 15 s): no floor, no default in its place."""
    server.poll_interval = 0
    deploy(server, {"timeout": 5})
    settings = vein.load(Settings, source)
    assert source.next_poll_at == clock.monotonic()  # may ask again at once
    deploy(server, {"timeout": 6})
    assert source.changed() is True  # no time passed: still not early
    settings.update(source)
    assert settings.timeout == 6.0
    assert server.rejections() == []


def test_min_poll_interval_is_sent_and_honoured(
    server: AppConfigServer, client: Any, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 1})
    src = vein.from_appconfig(APP, ENV, client=client, clock=clock, min_poll_interval=300)
    vein.load(Settings, src)
    assert json.loads(server.of("start")[0].body)["RequiredMinimumPollIntervalInSeconds"] == 300
    assert src.next_poll_at == clock.monotonic() + 300
    clock.advance(299)
    assert src.changed() is False
    assert len(server.of("get")) == 1
    with pytest.raises(ValueError, match="between 15 and 86400"):
        vein.from_appconfig(APP, ENV, min_poll_interval=5)


# --- content types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "fmt"),
    [
        ("application/json", '{"timeout": 5, "name": "1.10"}', None),
        ("application/json; charset=utf-8", '{"timeout": 5, "name": "1.10"}', None),
        ("application/x-yaml", "timeout: 5\nname: 1.10\n", None),
        ("application/yaml", "timeout: 5\nname: 1.10\n", None),
        ("text/yaml; charset=UTF-8", "timeout: 5\nname: 1.10\n", None),
        ("text/plain", "timeout: 5\nname: 1.10\n", "yaml"),
        ("text/plain", '{"timeout": 5, "name": "1.10"}', "json"),
        ("text/plain", '{"timeout": 5, "name": "1.10"}', None),  # sniffed: JSON
        ("application/octet-stream", "timeout: 5\nname: 1.10\n", None),  # sniffed: YAML
        ("Application/JSON ; Charset=utf-8", '\ufeff{"timeout": 5, "name": "1.10"}', None),
    ],
)
def test_content_types(
    server: AppConfigServer, client: Any, clock: FakeClock, content_type: str, body: str, fmt: Any
) -> None:
    deploy(server, body, content_type=content_type, version="3")
    src = vein.from_appconfig(APP, ENV, client=client, clock=clock, format=fmt)
    settings = vein.load(Settings, src)
    assert settings.timeout == 5.0
    assert settings.name == "1.10"  # YAML/JSON text kept for a str field


def test_format_override_reads_what_sniffing_gets_wrong(
    server: AppConfigServer, client: Any, clock: FakeClock
) -> None:
    # YAML flow style starts with "{": sniffed as JSON, which it is not
    deploy(server, "{timeout: 5}", content_type="application/octet-stream", version="1")
    err = error_of(vein.load, Settings, vein.from_appconfig(APP, ENV, client=client, clock=clock))
    assert "invalid JSON" in str(err) and "(version 1)" in str(err)
    src = vein.from_appconfig(APP, ENV, client=client, clock=clock, format="yaml")
    assert vein.load(Settings, src).timeout == 5.0


def test_format_override_reads_an_unknown_content_type(
    server: AppConfigServer, client: Any, clock: FakeClock
) -> None:
    deploy(server, '{"timeout": 5, "name": "1.10"}', content_type="application/vnd.acme+settings")
    err = error_of(vein.load, Settings, vein.from_appconfig(APP, ENV, client=client, clock=clock))
    assert "cannot read content type 'application/vnd.acme+settings'" in str(err)
    assert "format='json'" in str(err)  # the message says what to do
    src = vein.from_appconfig(APP, ENV, client=client, clock=clock, format="json")
    settings = vein.load(Settings, src)
    assert (settings.timeout, settings.name) == (5.0, "1.10")


def test_charset_other_than_utf8(server: AppConfigServer, source: AppConfigSource) -> None:
    deploy(
        server,
        '{"name": "café"}'.encode("latin-1"),
        content_type="application/json; charset=latin-1",
    )
    assert vein.load(Settings, source).name == "café"


def test_invalid_utf8_names_the_position(server: AppConfigServer, source: AppConfigSource) -> None:
    deploy(server, b'{"name":\n "\xff"}', version="4")
    err = error_of(vein.load, Settings, source)
    assert "not valid utf-8" in str(err)
    assert err.line == 2 and err.column == 3
    assert "appconfig myapp/prod/default (version 4)" in str(err)


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("application/json", "[1, 2]", "must be a mapping"),
        ("application/json", '"just text"', "must be a mapping"),
        ("application/x-yaml", "- a\n- b\n", "must be a mapping"),
        ("text/plain", "hello world", "must be a mapping"),
        ("application/json", '{"timeout": 5,}', "invalid JSON"),
        ("application/x-yaml", "a: [1,\n", "invalid YAML"),
        ("application/x-yaml", "a: 1\n---\nb: 2\n", "2 YAML documents"),
        ("application/xml", "<timeout>5</timeout>", "cannot read content type 'application/xml'"),
        ("application/json; charset=klingon", "{}", "unknown charset"),
        ("text/plain; charset=base64", "e30=", "not a text encoding"),
        ("application/json; charset=zlib", "{}", "not a text encoding"),
    ],
)
def test_unreadable_content_is_a_source_error(
    server: AppConfigServer, source: AppConfigSource, content_type: str, body: str, message: str
) -> None:
    deploy(server, body, content_type=content_type)
    err = error_of(vein.load, Settings, source)
    assert message in str(err)
    assert str(err).startswith("appconfig myapp/prod/default")
    # a version was received and cannot be read: not a failed poll (a watcher says rejected)
    assert getattr(err, "transient", False) is False


def test_values_are_validated_like_any_source(
    server: AppConfigServer, source: AppConfigSource
) -> None:
    deploy(server, {"database": {"port": "many"}, "timout": 5}, version="9")
    with pytest.raises(vein.ValidationError) as info:
        vein.load(Settings, source)
    text = str(info.value)
    assert "database.port" in text and "timout" in text
    assert "appconfig myapp/prod/default version 9" in text


def test_a_bad_version_keeps_the_state_and_the_next_good_one_applies(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 5}, version="1")
    settings = vein.load(Settings, source)
    deploy(server, '{"timeout": ', version="2")
    clock.advance(INTERVAL)
    assert source.changed() is True
    with pytest.raises(vein.SourceError, match="invalid JSON"):
        settings.update(source)
    assert settings.timeout == 5.0
    assert source.changed() is False  # the broken version was reported once
    deploy(server, {"timeout": 7}, version="3")
    clock.advance(INTERVAL)
    assert source.changed() is True
    settings.update(source)
    assert settings.timeout == 7.0
    assert str(settings.explain("timeout")) == "appconfig myapp/prod/default version 3"


# --- faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["throttle", "internal", "drop", "malformed", "notfound"])
def test_fault_on_poll_keeps_state_and_recovers(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock, fault: str
) -> None:
    deploy(server, {"timeout": 5}, version="1")
    settings = vein.load(Settings, source)
    seen: list[vein.Change] = []
    settings.on_change(seen.append)
    deploy(server, {"timeout": 6}, version="2")
    clock.advance(INTERVAL)
    server.fail_next(fault, op="get")
    assert source.changed() is True  # something to report
    err = error_of(settings.update, source)
    assert settings.timeout == 5.0 and seen == []
    assert "appconfig myapp/prod/default" in str(err)
    # no version was received: a failed poll, and no private class in what users read
    assert type(err) is vein.SourceError and err.transient is True  # type: ignore[attr-defined]
    assert "will retry" not in str(err)  # the watcher says when; the source does not guess
    for token in server.issued_tokens():
        assert token not in str(err)
    # backing off: no call before the back-off has passed
    calls = len(server.requests)
    assert source.changed() is False
    assert len(server.requests) == calls
    deploy(server, {"timeout": 7}, version="3")
    clock.advance(INTERVAL)
    assert source.changed() is True
    settings.update(source)
    assert settings.timeout == 7.0
    assert [c.new for c in seen] == [7.0]


@pytest.mark.parametrize("fault", ["throttle", "internal", "drop", "malformed", "notfound"])
def test_fault_on_session_start(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock, fault: str
) -> None:
    deploy(server, {"timeout": 5}, version="1")
    server.fail_next(fault, op="start")
    err = error_of(vein.load, Settings, source)
    assert "StartConfigurationSession" in str(err)
    assert type(err) is vein.SourceError and err.transient is True  # type: ignore[attr-defined]
    settings = vein.load(Settings, source)  # a first load does not wait for the back-off
    assert settings.timeout == 5.0


def test_throttled_token_is_sent_again_only_because_it_was_refused(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 5})
    vein.load(Settings, source)
    clock.advance(INTERVAL)
    server.fail_next("throttle", op="get")
    assert source.changed() is True
    error_of(source.read, None)
    clock.advance(INTERVAL)
    source.changed()
    gets = server.of("get")
    assert gets[-2].status == 429 and gets[-1].status == 200
    assert gets[-1].token == gets[-2].token  # never accepted, so still valid
    assert len(server.of("start")) == 1


def test_backoff_grows_and_resets(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 5})
    vein.load(Settings, source)
    clock.advance(INTERVAL)
    server.fail_next("internal", times=3, op="get")
    delays = []
    for _ in range(3):
        start = clock.monotonic()
        assert source.changed() is True
        error_of(source.read, None)
        delays.append(source.next_poll_at - start)
        clock.advance(source.next_poll_at - start)
    assert delays == sorted(delays) and delays[0] < delays[-1]
    assert source.changed() is False  # recovered: nothing new
    assert source.next_poll_at == clock.monotonic() + INTERVAL


def test_slow_response_times_out_and_the_session_restarts(
    server: AppConfigServer, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 5})
    client = make_client(server, read_timeout=0.1, connect_timeout=1)
    src = vein.from_appconfig(APP, ENV, client=client, clock=clock)
    settings = vein.load(Settings, src)
    server.slow_seconds = 0.3
    server.fail_next("slow", op="get")
    clock.advance(INTERVAL)
    assert src.changed() is True
    err = error_of(src.read, None)
    assert "timeout" in str(err).lower() or "timed out" in str(err).lower()
    # The server may have used the token: vein never sends it again; it starts a new session.
    deploy(server, {"timeout": 8})
    clock.advance(INTERVAL)
    assert src.changed() is True
    settings.update(src)
    assert settings.timeout == 8.0
    assert len(server.of("start")) == 2


def test_server_gone_is_a_source_error_without_secrets(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 5})
    settings = vein.load(Settings, source)
    server.stop()
    clock.advance(INTERVAL)
    assert source.changed() is True
    err = error_of(settings.update, source)
    text = str(err)
    assert "GetLatestConfiguration failed" in text
    assert "configuration_token=<redacted>" in text  # botocore names the URL; vein hides the token
    for token in server.issued_tokens():
        assert token not in text
    assert "testing-secret-key" not in text
    assert settings.timeout == 5.0


def test_unknown_application_is_reported_clearly(
    server: AppConfigServer, client: Any, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 5})
    src = vein.from_appconfig(APP, "staging", client=client, clock=clock)
    err = error_of(vein.load, Settings, src)
    assert "not found" in str(err) and "Environment" in str(err)
    assert "appconfig myapp/staging/default" in str(err)


# --- sessions and tokens -----------------------------------------------------------------


def test_session_restarted_before_the_24h_expiry(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 5}, version="1")
    settings = vein.load(Settings, source)
    clock.advance(25 * 3600)  # the pending token is now past its 24 h on the server
    assert source.changed() is False  # a new session resends the same content: no change
    assert len(server.of("start")) == 2
    assert server.rejections("expired") == []  # the old token was never tried
    deploy(server, {"timeout": 6}, version="2")
    clock.advance(INTERVAL)
    assert source.changed() is True
    settings.update(source)
    assert settings.timeout == 6.0


def test_session_restarted_on_an_expired_token(
    server: AppConfigServer,
    source: AppConfigSource,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(appconfig_module, "SESSION_MAX_AGE", 1e12)  # no proactive restart
    server.allow_rejections = True  # type: ignore[attr-defined]
    deploy(server, {"timeout": 5}, version="1")
    settings = vein.load(Settings, source)
    deploy(server, {"timeout": 6}, version="2")
    clock.advance(24 * 3600 + 1)
    assert source.changed() is True  # expired -> new session -> the new version
    assert [r.rejection for r in server.of("get")] == [None, "expired", None]
    assert len(server.of("start")) == 2
    settings.update(source)
    assert settings.timeout == 6.0


def test_session_restarted_on_bad_request(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 5})
    settings = vein.load(Settings, source)
    clock.advance(INTERVAL)
    server.fail_next("expired", op="get")
    assert source.changed() is False  # recovered within the poll; nothing new
    assert len(server.of("start")) == 2
    # twice in a row: an error for this poll, then recovery on the next
    server.fail_next("expired", times=2, op="get")
    deploy(server, {"timeout": 9})
    clock.advance(INTERVAL)
    assert source.changed() is True
    error_of(settings.update, source)
    assert settings.timeout == 5.0
    clock.advance(INTERVAL)
    assert source.changed() is True
    settings.update(source)
    assert settings.timeout == 9.0


def test_too_early_answer_waits_without_error(
    server: AppConfigServer, client: Any, clock: FakeClock
) -> None:
    """The server's clock runs ahead of vein's: vein waits an interval and keeps its token."""
    server_clock = FakeClock(clock.monotonic())
    server.clock = server_clock
    server.allow_rejections = True  # type: ignore[attr-defined]
    deploy(server, {"timeout": 5})
    src = vein.from_appconfig(APP, ENV, client=client, clock=clock)
    settings = vein.load(Settings, src)
    deploy(server, {"timeout": 6})
    clock.advance(INTERVAL)  # vein thinks the interval passed; the server does not
    assert src.changed() is False
    assert server.of("get")[-1].rejection == "early"
    assert src.next_poll_at == clock.monotonic() + INTERVAL
    server_clock.advance(2 * INTERVAL)
    clock.advance(INTERVAL)
    assert src.changed() is True
    settings.update(src)
    assert settings.timeout == 6.0
    gets = server.of("get")
    assert gets[-1].token == gets[-2].token  # refused, so not used: sent again once


def test_fake_server_enforces_the_protocol(
    server: AppConfigServer, client: Any, clock: FakeClock
) -> None:
    """The local server behaves like AppConfigData for a client that breaks the rules."""
    server.allow_rejections = True  # type: ignore[attr-defined]
    deploy(server, {"timeout": 5})
    token = client.start_configuration_session(
        ApplicationIdentifier=APP, EnvironmentIdentifier=ENV, ConfigurationProfileIdentifier=PROFILE
    )["InitialConfigurationToken"]
    first = client.get_latest_configuration(ConfigurationToken=token)
    assert first["Configuration"].read() == b'{"timeout": 5}'
    with pytest.raises(client.exceptions.BadRequestException) as info:
        client.get_latest_configuration(ConfigurationToken=first["NextPollConfigurationToken"])
    assert info.value.response["Error"]["Message"] == "Request too early"
    assert info.value.response["Details"]["InvalidParameters"]["ConfigurationToken"]["Problem"] == (
        "PollIntervalNotSatisfied"
    )
    with pytest.raises(client.exceptions.BadRequestException, match="already used"):
        client.get_latest_configuration(ConfigurationToken=token)
    clock.advance(INTERVAL)
    second = client.get_latest_configuration(ConfigurationToken=first["NextPollConfigurationToken"])
    assert second["Configuration"].read() == b""
    assert "ContentType" not in second and "VersionLabel" not in second
    clock.advance(24 * 3600 + 1)
    with pytest.raises(client.exceptions.BadRequestException, match="expired"):
        client.get_latest_configuration(ConfigurationToken=second["NextPollConfigurationToken"])
    with pytest.raises(client.exceptions.ResourceNotFoundException) as nf:
        client.start_configuration_session(
            ApplicationIdentifier="nope",
            EnvironmentIdentifier=ENV,
            ConfigurationProfileIdentifier=PROFILE,
        )
    assert nf.value.response["ResourceType"] == "Application"


def test_no_token_is_ever_reused_over_a_long_run(
    server: AppConfigServer, source: AppConfigSource, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 1})
    settings = vein.load(Settings, source)
    for i in range(40):
        if i % 7 == 0:
            deploy(server, {"timeout": i})
        if i % 11 == 5:
            server.fail_next(["throttle", "internal", "drop", "expired"][i % 4], op="get")
        clock.advance(INTERVAL / 2)
        try:
            if source.changed():
                settings.update(source)
        except vein.SourceError:
            pass
    assert settings.timeout == 35.0
    accepted = server.accepted_tokens()
    assert len(accepted) == len(set(accepted))
    gets = server.of("get")
    assert all(r.rejection in (None, "expired") for r in gets)


# --- feature flags ---------------------------------------------------------------------


@vein.flow
class Flag:
    enabled: bool = False


@vein.flow
class CheckoutFlag:
    enabled: bool = False
    max_items: int = 10
    banner: str = ""


@vein.flow
class Flags:
    new_ui: Flag = vein.field(factory=Flag)
    checkout: CheckoutFlag = vein.field(factory=CheckoutFlag)


def test_feature_flags_profile(server: AppConfigServer, client: Any, clock: FakeClock) -> None:
    # retrieval-time format, as GetLatestConfiguration returns a FeatureFlags profile
    server.deploy(
        APP,
        ENV,
        "flags",
        {
            "new_ui": {"enabled": True},
            "checkout": {"enabled": True, "max_items": 25, "banner": "Summer sale"},
        },
        version="5",
    )
    src = vein.from_appconfig(APP, ENV, "flags", client=client, clock=clock)
    flags = vein.load(Flags, src)
    assert flags.new_ui.enabled is True
    assert flags.checkout.enabled is True
    assert flags.checkout.max_items == 25
    assert flags.checkout.banner == "Summer sale"
    assert str(flags.explain("checkout.max_items")) == "appconfig myapp/prod/flags version 5"
    seen: list[vein.Change] = []
    flags.on_change("checkout", seen.append)
    # a disabled flag carries only "enabled": its attributes fall back to their defaults
    server.deploy(
        APP,
        ENV,
        "flags",
        {"new_ui": {"enabled": True}, "checkout": {"enabled": False}},
        version="6",
    )
    clock.advance(INTERVAL)
    assert src.changed()
    flags.update(src)
    assert flags.checkout.enabled is False
    assert flags.checkout.max_items == 10
    assert {c.path for c in seen} == {"checkout.enabled", "checkout.max_items", "checkout.banner"}


# --- how the client is made ---------------------------------------------------------------


def test_endpoint_from_the_standard_aws_variable(
    server: AppConfigServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_APPCONFIGDATA", server.endpoint_url)
    deploy(server, {"timeout": 3})
    settings = vein.load(Settings, vein.from_appconfig(APP, ENV, clock=clock))
    assert settings.timeout == 3.0
    assert "/us-east-1/appconfig/" in server.of("start")[0].headers["Authorization"]


def test_session_region_and_endpoint_arguments(server: AppConfigServer, clock: FakeClock) -> None:
    deploy(server, {"timeout": 4})
    session = boto3.session.Session(aws_access_key_id="k2", aws_secret_access_key="s2")
    src = vein.from_appconfig(
        APP, ENV, session=session, region="eu-west-1", endpoint_url=server.endpoint_url, clock=clock
    )
    assert vein.load(Settings, src).timeout == 4.0
    assert "Credential=k2/" in server.of("start")[0].headers["Authorization"]
    assert "/eu-west-1/appconfig/" in server.of("start")[0].headers["Authorization"]


def test_the_client_vein_makes_gives_up_after_timeout(
    server: AppConfigServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connect and read timeouts of *timeout* s (not botocore's 60 s), the rest boto3's own."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # boto3's own setting, still honoured
    deploy(server, {"timeout": 5})
    src = vein.from_appconfig(APP, ENV, endpoint_url=server.endpoint_url, clock=clock, timeout=0.1)
    settings = vein.load(Settings, src)
    config = src._get_client().meta.config
    assert (config.connect_timeout, config.read_timeout) == (0.1, 0.1)
    # Retries are boto3's own: whatever a plain client made in this environment gets (the
    # default mode differs between botocore releases: "legacy" before, "standard" since).
    plain = boto3.session.Session().client(
        "appconfigdata", region_name="us-east-1", endpoint_url=server.endpoint_url
    )
    assert config.retries == plain.meta.config.retries
    assert config.retries["total_max_attempts"] == 1
    server.slow_seconds = 5.0  # held until released: only the client's timeout ends the wait
    server.fail_next("slow", op="get")
    clock.advance(INTERVAL)
    assert src.changed() is True
    err = error_of(settings.update, src)
    assert "timeout" in str(err).lower() and err.transient is True  # type: ignore[attr-defined]
    server.release_slow()
    # a client given by the user keeps its own settings
    mine = make_client(server)
    vein.from_appconfig(APP, ENV, client=mine, clock=clock)
    assert mine.meta.config.read_timeout == 60
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="timeout"):
            vein.from_appconfig(APP, ENV, timeout=bad)


def test_no_region_is_a_source_error(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    err = error_of(vein.load, Settings, vein.from_appconfig(APP, ENV, clock=clock))
    assert "region" in str(err).lower()


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="format"):
        vein.from_appconfig(APP, ENV, format="toml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="application"):
        vein.from_appconfig("", ENV)
    src = vein.from_appconfig(APP, ENV, "flags")
    assert src.key == "appconfig:myapp/prod/flags"
    assert repr(src) == "from_appconfig('myapp', 'prod', 'flags')"
    assert isinstance(src, vein.sources.Source)


def test_import_vein_does_not_import_boto3() -> None:
    code = (
        "import sys, vein\n"
        "src = vein.from_appconfig('a', 'e')\n"
        "bad = [m for m in ('boto3', 'botocore') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


# --- agent mode ------------------------------------------------------------------------------


def test_agent_mode(server: AppConfigServer, clock: FakeClock) -> None:
    deploy(server, {"timeout": 5, "database": {"host": "a"}}, version="v1")
    src = vein.from_appconfig(APP, ENV, agent_url=server.agent_url + "/", clock=clock)
    settings = vein.load(Settings, src)
    assert settings.timeout == 5.0
    assert str(settings.explain("database.host")) == "appconfig myapp/prod/default version v1"
    (req,) = server.of("agent")
    assert req.path == "/applications/myapp/environments/prod/configurations/default"
    assert "Authorization" not in req.headers  # no boto3, no signing
    assert src.changed() is False  # same content
    deploy(server, "timeout: 6\ndatabase:\n  host: b\n", content_type="application/x-yaml")
    assert src.changed() is True
    settings.update(src)
    assert settings.database.host == "b"
    # no Version-Label: the agent's Configuration-Version is the version shown
    assert str(settings.explain("database.host")) == "appconfig myapp/prod/default version 2"


def test_agent_mode_names_are_url_encoded(server: AppConfigServer, clock: FakeClock) -> None:
    server.deploy("my app", "prod/eu", "a b", {"timeout": 2})
    src = vein.from_appconfig("my app", "prod/eu", "a b", agent_url=server.agent_url, clock=clock)
    assert vein.load(Settings, src).timeout == 2.0
    assert (
        server.of("agent")[0].path
        == "/applications/my%20app/environments/prod%2Feu/configurations/a%20b"
    )


def test_agent_mode_errors(server: AppConfigServer, clock: FakeClock) -> None:
    src = vein.from_appconfig(APP, ENV, agent_url=server.agent_url, clock=clock)
    err = error_of(vein.load, Settings, src)  # nothing deployed
    assert "404" in str(err)
    deploy(server, {"timeout": 5})
    settings = vein.load(Settings, src)
    server.fail_next("internal", op="agent")
    deploy(server, {"timeout": 6})
    assert src.changed() is True
    err = error_of(settings.update, src)
    assert "HTTP 500" in str(err)
    assert settings.timeout == 5.0
    server.fail_next("malformed", op="agent")
    clock.advance(10)
    assert src.changed() is True
    error_of(settings.update, src)
    assert settings.timeout == 5.0
    clock.advance(10)
    assert src.changed() is True
    settings.update(src)
    assert settings.timeout == 6.0


def test_agent_mode_connection_refused(clock: FakeClock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    src = vein.from_appconfig(APP, ENV, agent_url=f"http://127.0.0.1:{port}", clock=clock)
    err = error_of(vein.load, Settings, src)
    assert "cannot reach the AppConfig agent" in str(err)


def test_agent_mode_timeout(server: AppConfigServer, clock: FakeClock) -> None:
    deploy(server, {"timeout": 5})
    server.slow_seconds = 0.3
    server.fail_next("slow", op="agent")
    src = vein.from_appconfig(APP, ENV, agent_url=server.agent_url, clock=clock, timeout=0.1)
    err = error_of(vein.load, Settings, src)
    assert "no answer from the AppConfig agent within 0.1 s" in str(err)


def test_unexpected_client_failure_is_a_source_error(
    server: AppConfigServer, source: AppConfigSource, client: Any, clock: FakeClock
) -> None:
    deploy(server, {"timeout": 5})
    settings = vein.load(Settings, source)

    def explode(**kwargs: Any) -> None:
        raise RuntimeError("boom")

    client.meta.events.register("before-send.appconfigdata.GetLatestConfiguration", explode)
    clock.advance(INTERVAL)
    assert source.changed() is True
    err = error_of(settings.update, source)
    assert "boom" in str(err)
    client.meta.events.unregister("before-send.appconfigdata.GetLatestConfiguration", explode)
    clock.advance(INTERVAL)
    source.changed()
    assert settings.update(source) == []


def test_agent_mode_min_poll_interval(server: AppConfigServer, clock: FakeClock) -> None:
    deploy(server, {"timeout": 5})
    src = vein.from_appconfig(
        APP, ENV, agent_url=server.agent_url, clock=clock, min_poll_interval=5
    )
    vein.load(Settings, src)
    deploy(server, {"timeout": 6})
    assert src.changed() is False  # too soon: the agent is not asked
    assert len(server.of("agent")) == 1
    clock.advance(5)
    assert src.changed() is True
