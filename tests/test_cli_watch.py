"""``vein watch``, run as a real subprocess (``python -m vein watch ...``) on real files.

Each test starts the command with a small ``--interval``, changes the files, reads what it
prints (with a timeout: a missing line fails the test instead of hanging it), and ends it
with a signal, as a person at a terminal would with Ctrl-C.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 15.0  # the most a test waits for one line (never reached when all is well)

APP = """\
import attrs
import vein


@vein.flow
class Db:
    host: str = "localhost"
    port: int = vein.field(default=5432, validator=attrs.validators.le(65535))
    password: str = vein.field(default="", secret=True)


@vein.flow
class Settings:
    timeout: float = 30.0
    name: str = "app"
    db: Db = vein.field(factory=Db)
"""


class Watch:
    """A running ``vein watch``: its output lines, read by two threads, with timeouts."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
        environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO), environ.get("PYTHONPATH")])
        )
        environ["PYTHONUNBUFFERED"] = "0"  # vein flushes each line itself
        environ.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vein", "watch", *args],
            cwd=cwd,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: dict[str, queue.Queue[str | None]] = {
            "out": queue.Queue(),
            "err": queue.Queue(),
        }
        self.seen: dict[str, list[str]] = {"out": [], "err": []}
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, "out"), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, "err"), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, name: str) -> None:
        for line in stream:
            self.lines[name].put(line.rstrip("\n"))
        self.lines[name].put(None)

    def expect(self, pattern: str, stream: str = "out") -> str:
        """The next line of *stream* that matches *pattern* (a regex, searched)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines[stream].get(timeout=max(left, 0.001))
            except queue.Empty:
                line = None if left <= 0 else ""
                if line is None:
                    pytest.fail(f"no line matching {pattern!r} on std{stream}; got {self.seen}")
                continue
            if line is None:
                pytest.fail(
                    f"std{stream} closed before a line matching {pattern!r}; got {self.seen}"
                )
            self.seen[stream].append(line)
            if re.search(pattern, line):
                return line

    def finish(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        """Send *sig*; return the exit code and everything printed (all of it)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(TIMEOUT)
        for reader in self._readers:
            reader.join(TIMEOUT)
        self._close()
        out, err = (self._drain(name) for name in ("out", "err"))
        return code, out, err

    def _drain(self, name: str) -> str:
        while True:
            try:
                line = self.lines[name].get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.seen[name].append(line)
        return "\n".join(self.seen[name])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        for reader in self._readers:
            reader.join(TIMEOUT)
        self._close()

    def _close(self) -> None:
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    (tmp_path / "config.yml").write_text(
        "timeout: 5\ndb:\n  host: db1\n  password: s3cret-first\n", encoding="utf-8"
    )
    return tmp_path


@pytest.fixture
def started() -> Iterator[list[Watch]]:
    """Every process a test starts is ended, whatever happens."""
    procs: list[Watch] = []
    yield procs
    for w in procs:
        w.kill()


def replace(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def test_watch_prints_changes_and_rejections_and_ends_on_ctrl_c(
    project: Path, started: list[Watch]
) -> None:
    config = project / "config.yml"
    w = Watch(
        "app:Settings", "--yaml", "config.yml", "--env", "APP_", "--interval", "0.05",
        cwd=project, env={"APP_NAME": "from-env"},
    )  # fmt: skip
    started.append(w)
    summary = w.expect(r"^watching ")
    assert summary.startswith("watching app:Settings: 5 values: ")
    assert "3 from config.yml" in summary and "1 from env APP_*" in summary
    assert "Ctrl-C" in summary

    # a change: one line per changed value, secrets masked
    replace(config, "timeout: 6\nname: from-file\ndb:\n  host: db2\n  password: s3cret-second\n")
    assert {w.expect(r"^\w") for _ in range(3)} == {
        "timeout: 5.0 -> 6.0 (config.yml:1:1)",
        "db.host: db1 -> db2 (config.yml:4:3)",
        "db.password: *** -> *** (config.yml:5:3)",
    }

    # a broken version: rejected with its reason and where; the state is kept
    replace(config, "timeout: [7\ndb:\n  host: db3\n")
    line = w.expect(r"^rejected: ", "err")
    assert "invalid YAML" in line and "(in config.yml:" in line
    # an invalid value: rejected, naming the field and where the value came from
    replace(config, "timeout: 6\ndb:\n  host: db2\n  port: 70000\n")
    line = w.expect(r"^rejected: ", "err")
    assert line.startswith("rejected: db.port: ") and line.endswith("(from config.yml:4:3)")

    # the next good version: applied (relative to the last good one)
    replace(config, "timeout: 7\ndb:\n  host: db2\n  password: s3cret-second\n")
    assert w.expect(r"^timeout:") == "timeout: 6.0 -> 7.0 (config.yml:1:1)"

    code, out, err = w.finish(signal.SIGINT)
    assert code == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    for secret in ("s3cret-first", "s3cret-second"):
        assert secret not in out and secret not in err
    # the name comes from the env (above the file): the file's new name never showed
    assert "from-file" not in out
    # each change printed once; nothing logged twice on stderr
    assert out.count("timeout: 5.0 -> 6.0") == 1
    assert all(line.startswith("rejected: ") for line in err.splitlines() if line), err


def test_watch_schemaless_config_and_sigterm(tmp_path: Path, started: list[Watch]) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("service:\n  port: 8080\nretries: 3\n", encoding="utf-8")
    w = Watch("--yaml", "settings.yaml", "--interval", "0.05", cwd=tmp_path)
    started.append(w)
    assert w.expect(r"^watching ").startswith("watching the configuration: 2 values")
    replace(config, "service:\n  port: 9090\n  api_token: tok-123456\n")
    assert {w.expect(r"^\w") for _ in range(3)} == {
        "service.port: 8080 -> 9090 (settings.yaml:2:3)",
        "service.api_token: (unset) -> *** (settings.yaml:3:3)",  # a secret-looking key
        "retries: 3 -> (unset) (default)",
    }
    code, out, err = w.finish(signal.SIGTERM)
    assert code == 0, err
    assert "tok-123456" not in out + err and "Traceback" not in err


def test_watch_show_secrets(project: Path, started: list[Watch]) -> None:
    w = Watch(
        "app:Settings", "--yaml", "config.yml", "--interval", "0.05", "--show-secrets", cwd=project
    )
    started.append(w)
    w.expect(r"^watching ")
    replace(project / "config.yml", "timeout: 5\ndb:\n  host: db1\n  password: now-visible\n")
    assert (
        w.expect(r"^db\.password:") == "db.password: s3cret-first -> now-visible (config.yml:4:3)"
    )
    code, _, err = w.finish()
    assert code == 0, err


def test_watch_invalid_at_start_exits_1(project: Path, started: list[Watch]) -> None:
    (project / "config.yml").write_text("db:\n  port: 99999\n", encoding="utf-8")
    w = Watch("app:Settings", "--yaml", "config.yml", cwd=project)
    started.append(w)
    assert w.proc.wait(TIMEOUT) == 1
    _, out, err = w.finish()
    assert err.startswith("cannot watch app:Settings: 1 problem")
    assert "db.port" in err and "config.yml:2:3" in err and out == ""


@pytest.mark.parametrize("interval", ["0", "-1", "nan", "soon"])
def test_watch_bad_interval_is_a_usage_error(
    project: Path, started: list[Watch], interval: str
) -> None:
    w = Watch("app:Settings", "--yaml", "config.yml", "--interval", interval, cwd=project)
    started.append(w)
    assert w.proc.wait(TIMEOUT) == 2
    _, _, err = w.finish()
    assert "interval" in err and "Traceback" not in err


def test_watch_appconfig(project: Path, started: list[Watch], tmp_path: Path) -> None:
    """``--appconfig APP/ENV`` through real boto3 to the local AppConfigData server.

    The server advises a poll interval of 0 s (real AppConfig never says less than 15 s),
    so nothing here waits for a server interval in real time; the client still takes
    whatever the server says, and the server refuses an early poll or a reused token.
    That the client waits out a longer interval is shown on fake time in test_watch.py
    and test_appconfig.py.
    """
    pytest.importorskip("boto3")
    sys.path.insert(0, str(Path(__file__).parent))
    from appconfig_server import AppConfigServer

    class Clock:  # the subprocess lives in real time: so does the server here
        def monotonic(self) -> float:
            return time.monotonic()

    with AppConfigServer(Clock(), poll_interval=0) as server:
        server.deploy("shop", "prod", "default", {"timeout": 5, "db": {"password": "ac-secret-1"}})
        env = {
            "AWS_ENDPOINT_URL_APPCONFIGDATA": server.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            # botocore would retry a throttled call itself: let the one below reach vein.
            "AWS_MAX_ATTEMPTS": "1",
        }
        w = Watch(
            "app:Settings", "--appconfig", "shop/prod", "--interval", "0.05", cwd=project, env=env
        )
        started.append(w)
        assert "2 from appconfig:shop/prod/default" in w.expect(r"^watching ")
        server.deploy(
            "shop",
            "prod",
            "default",
            {"timeout": 6, "db": {"password": "ac-secret-2"}},
            version="2",
        )
        assert (
            w.expect(r"^timeout:") == "timeout: 5.0 -> 6.0 (appconfig shop/prod/default version 2)"
        )
        server.fail_next("throttle", op="get")  # no version at all: not a rejection
        assert w.expect(r"^poll failed: ", "err").startswith("poll failed: ")
        code, out, err = w.finish()
    assert code == 0, err
    assert "ac-secret" not in out + err and "Traceback" not in err
    assert server.rejections() == []  # no early poll, no reused or expired token
    assert len(server.of("start")) == 1  # one session, followed token by token
    gets = server.of("get")
    throttled = [r for r in gets if r.fault == "throttle"]
    ok = [r for r in gets if r.fault is None]
    assert len(throttled) == 1 and len(ok) >= 2 and all(r.status == 200 for r in ok)
    for before, after in zip(ok, ok[1:], strict=False):
        assert after.token == before.response_headers["Next-Poll-Configuration-Token"]
    # the throttled poll presented the newest token (its retry, on fake time: test_watch.py)
    assert throttled[0].token == ok[-1].response_headers["Next-Poll-Configuration-Token"]
