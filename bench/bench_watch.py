"""Live-reload figures (SPEC §12 "Watch latency"; issue 4): ``python bench/bench_watch.py``.

``just bench`` runs these as its ``watch`` and ``appconfig`` groups (``bench/run.py``);
this module also runs on its own.

* **File write -> subscriber callback, polling.**  A real watcher thread polls a YAML file
  every *interval* (``inotify=False``); the file is replaced atomically at a random phase
  of the poll cycle, and the time from the write to the subscriber's callback is measured.
  The latency is uniform over ``[0, interval]`` plus vein's own cost, so the figure the
  SPEC holds vein to is ``max(latency) - interval`` (<= 50 ms).
* **File write -> subscriber callback, file events.**  The same with the optional
  ``watchdog`` package (inotify on Linux) and an interval of a minute, so only an event can
  explain the pickup.  Skipped (a row saying so) when watchdog is not installed.
* **One AppConfig poll that answers "unchanged".**  The real boto3 client against the
  local AppConfigData server of the test suite (``tests/appconfig_server.py``, HTTP on
  127.0.0.1, a fake clock so no poll is early): ``source.changed()`` and a whole
  ``watcher.poll()`` against a bare ``client.get_latest_configuration(...)`` call with the
  same token handling, round-robin, median per round, best round kept.  The ratio says
  what vein adds.

**Fairness checks** (a failed one is the row's ``check``; ``run.py`` then exits 1):
every written version reaches the subscriber exactly once, in order, with the written
value, and the watcher runs in the mode asked for (polling only / file events); every
timed AppConfig poll sends exactly one request to the server and gets "unchanged", and
each of the three pollers sees a new deployment on its next poll (so none of them can be
skipping the server); the server refuses no request (no early poll, no reused token).

``run(quick)`` returns one dict per figure (``name``, ``label``, ``check``, ``value``,
``unit`` and details); the command prints them as a table (``--json FILE`` writes them).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _p in (str(ROOT), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import vein  # noqa: E402

#: SPEC §12: "a changed file reaches subscribers within one poll interval + 50 ms".
SLACK_MS = 50.0


@vein.flow
class Settings:
    version: int = 0
    name: str = "app"
    timeout: float = 30.0


class Skipped(Exception):
    """A figure cannot be measured here (an optional package is missing)."""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def file_latency(interval: float, samples: int, *, inotify: bool) -> tuple[list[float], list[str]]:
    """Seconds from each write to the subscriber's callback, and the failed checks."""
    from vein.watch import Watcher

    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vein-bench-watch-") as tmp:
        path = Path(tmp) / "config.yml"
        path.write_text("version: 0\nname: app\n", encoding="utf-8")
        settings = Settings()
        heard: dict[int, float] = {}
        order: list[int] = []
        cond = threading.Condition()

        def callback(change: vein.Change) -> None:
            with cond:
                heard.setdefault(change.new, time.perf_counter())
                order.append(change.new)
                cond.notify_all()

        latencies: list[float] = []
        rng = random.Random(1234)
        with Watcher(settings, [vein.from_yaml(path)], interval=interval, inotify=inotify) as w:
            if inotify and not w.inotify:
                raise Skipped("file events are not available (watchdog not installed?)")
            if not inotify and w.inotify:
                problems.append("inotify=False, yet the watcher uses file events")
            settings.on_change("version", callback)
            for version in range(1, samples + 1):
                # a random phase of the poll cycle (events: a short pause between writes)
                time.sleep(rng.uniform(0, interval) if not inotify else 0.005)
                written = time.perf_counter()
                _replace(path, f"version: {version}\nname: app\n")
                with cond:
                    if not cond.wait_for(lambda v=version: v in heard, timeout=interval + 5):
                        raise AssertionError(f"version {version} never reached the subscriber")
                    latencies.append(heard[version] - written)
            time.sleep(min(interval, 0.2) + 0.05)  # a late duplicate callback would land here
        with cond:
            if order != list(range(1, samples + 1)):
                extra = [v for v in order if order.count(v) > 1][:5]
                problems.append(
                    f"{len(order)} callbacks for {samples} writes (expected one each, in order;"
                    f" repeated: {extra})"
                )
        if settings.version != samples:
            problems.append(f"the object ended at version {settings.version}, not {samples}")
    return latencies, problems


def latency_row(interval: float, samples: int, *, inotify: bool) -> dict[str, Any]:
    how = "file events (watchdog; 60 s poll)" if inotify else f"polling every {interval * 1000:g} ms"
    name = "watch." + ("inotify" if inotify else f"poll_{interval * 1000:g}ms")
    row: dict[str, Any] = {"name": name, "label": f"file write -> callback, {how}", "unit": "ms", "value": None}
    try:
        lat, problems = file_latency(interval, samples, inotify=inotify)
    except Skipped as exc:
        return {**row, "check": "skipped", "note": str(exc)}
    except ImportError as exc:
        return {**row, "check": "skipped", "note": f"{exc.name or exc} not installed"}
    except AssertionError as exc:
        return {**row, "check": f"CHECK FAILED: {exc}"}
    ms = [x * 1000 for x in lat]
    row.update(
        check="ok" if not problems else "CHECK FAILED: " + "; ".join(problems),
        samples=len(ms),
        median=statistics.median(ms),
        p90=_pct(ms, 0.90),
        max=max(ms),
        value=statistics.median(ms),
    )
    # polling: the SPEC's "within one poll interval + 50 ms"; file events: no interval to
    # wait for, so the stricter reading "within 50 ms of the write"
    allowed = 0.0 if inotify else interval * 1000
    over = [x - allowed for x in ms]
    row.update(
        interval_ms=interval * 1000,
        counted_interval_ms=allowed,
        over_interval_max=max(over),
        over_interval_p90=_pct(over, 0.90),
        over_interval_median=statistics.median(over),
        target=("max latency <= 50 ms (no interval counted)" if inotify
                else "max latency - interval <= 50 ms"),  # fmt: skip
        target_ok=max(over) <= SLACK_MS,
    )
    return row


# --- AppConfig -------------------------------------------------------------------------


@contextmanager
def _aws_env(tmp: str) -> Iterator[None]:
    names = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.path.join(tmp, "none"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "none"),
    }
    cleared = (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_APPCONFIGDATA",
        "AWS_SESSION_TOKEN",
    )
    saved = {k: os.environ.get(k) for k in (*names, *cleared)}
    os.environ.update(names)
    for k in cleared:
        os.environ.pop(k, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def appconfig_unchanged(polls: int, rounds: int) -> tuple[dict[str, list[float]], list[str]]:
    """Seconds per "unchanged" poll (vein's source, a watcher cycle, bare boto3; the best
    round's median), and the failed checks."""
    import boto3
    from appconfig_server import AppConfigServer, FakeClock
    from botocore.config import Config

    from vein.watch import Watcher

    interval = 60
    clock = FakeClock()
    config = Config(retries={"total_max_attempts": 1})
    problems: list[str] = []
    out: dict[str, list[float]] = {
        "vein_changed": [],
        "watcher_poll": [],
        "bare_boto3": [],
        "not_due": [],
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        _aws_env(tmp),
        AppConfigServer(clock, poll_interval=interval) as server,
    ):
        server.deploy("bench", "prod", "default", {"version": 1, "name": "bench"}, version="1")

        def client() -> Any:
            return boto3.client("appconfigdata", endpoint_url=server.endpoint_url, config=config)

        source = vein.from_appconfig("bench", "prod", client=client(), clock=clock)
        settings = vein.load(Settings, source)
        watched_obj = Settings()
        watched = vein.from_appconfig("bench", "prod", client=client(), clock=clock)
        watcher = Watcher(watched_obj, [watched], interval=1, clock=clock, start=False)

        bare = client()
        token = bare.start_configuration_session(
            ApplicationIdentifier="bench",
            EnvironmentIdentifier="prod",
            ConfigurationProfileIdentifier="default",
        )["InitialConfigurationToken"]
        first = bare.get_latest_configuration(ConfigurationToken=token)
        first["Configuration"].read()
        state = {"token": first["NextPollConfigurationToken"], "body": b""}

        def bare_get() -> bytes:
            resp = bare.get_latest_configuration(ConfigurationToken=state["token"])
            body: bytes = resp["Configuration"].read()
            state["token"] = resp["NextPollConfigurationToken"]
            return body

        def bare_poll() -> None:
            assert bare_get() == b""

        def vein_poll() -> None:
            assert source.changed() is False

        def watcher_poll() -> None:
            assert watcher.poll() == []

        cases: list[tuple[str, Callable[[], None]]] = [
            ("vein_changed", vein_poll),
            ("watcher_poll", watcher_poll),
            ("bare_boto3", bare_poll),
        ]
        for _ in range(3):  # warm up: connections, botocore's caches
            clock.advance(interval)
            for _name, fn in cases:
                fn()

        # checks before timing: one request per poll, each answered "unchanged" ...
        clock.advance(interval)
        for name, fn in cases:
            before = len(server.of("get"))
            try:
                fn()
            except AssertionError:
                problems.append(f"{name}: an unchanged poll did not answer 'unchanged'")
            sent = len(server.of("get")) - before
            if sent != 1:
                problems.append(f"{name}: {sent} requests for one poll (expected exactly 1)")
        # ... and a new deployment is seen by each poller on its next poll
        server.deploy("bench", "prod", "default", {"version": 2, "name": "bench"}, version="2")
        clock.advance(interval)
        if source.changed() is not True:
            problems.append("source.changed() missed a new deployment")
        settings.update(source)
        if settings.version != 2:
            problems.append(f"the new deployment loaded version {settings.version}, not 2")
        changes = watcher.poll()
        if [(c.path, c.new) for c in changes] != [("version", 2)] or watched_obj.version != 2:
            problems.append(f"watcher.poll() applied {changes!r} for the new deployment")
        body = bare_get()
        if json.loads(body or b"{}").get("version") != 2:
            problems.append(f"bare boto3 got {body!r} for the new deployment")

        for r in range(rounds):
            order = cases if r % 2 == 0 else cases[::-1]
            times: dict[str, list[float]] = {name: [] for name, _ in cases}
            for _ in range(polls):
                clock.advance(interval)  # every poll is allowed: the server is never asked early
                for name, fn in order:
                    t0 = time.perf_counter()
                    fn()
                    times[name].append(time.perf_counter() - t0)
            for name, values in times.items():
                out[name].append(statistics.median(values))
            # a watcher cycle before the server allows the next call: no request at all
            n = polls * 10
            before = len(server.of("get"))
            t0 = time.perf_counter()
            for _ in range(n):
                watcher.poll()
            out["not_due"].append((time.perf_counter() - t0) / n)
            if len(server.of("get")) != before:
                problems.append("watcher.poll() before the server's interval sent a request")
        if server.rejections():
            problems.append(f"the server refused {len(server.rejections())} requests (early or reused token)")
        n = len(server.of("get"))
        if n < 3 * (polls * rounds + 5):
            problems.append(f"only {n} GetLatestConfiguration requests reached the server")
    return out, problems


def appconfig_rows(polls: int, rounds: int) -> list[dict[str, Any]]:
    names = {
        "vein_changed": ("watch.appconfig.vein", "vein from_appconfig: source.changed()"),
        "watcher_poll": ("watch.appconfig.watcher", "vein watcher.poll() (source + apply step)"),
        "not_due": ("watch.appconfig.not_due", "watcher.poll() before the server's interval (no request)"),
        "bare_boto3": ("watch.appconfig.bare_boto3", "bare boto3 get_latest_configuration + read"),
    }
    try:
        import boto3  # noqa: F401
    except ImportError:
        return [{"name": key, "label": label, "check": "skipped", "note": "boto3 not installed",
                 "value": None, "unit": "us"} for key, label in names.values()]  # fmt: skip
    try:
        got, problems = appconfig_unchanged(polls, rounds)
    except AssertionError as exc:
        return [{"name": key, "label": label, "check": f"CHECK FAILED: {exc}", "value": None, "unit": "us"}
                for key, label in names.values()]  # fmt: skip
    check = "ok" if not problems else "CHECK FAILED: " + "; ".join(problems)
    best = {k: min(v) * 1e6 for k, v in got.items()}  # the best round's median, in us
    bare = best["bare_boto3"]
    return [
        {
            "name": key,
            "label": label,
            "check": check,
            "unit": "us",
            "value": best[which],
            "rounds": [x * 1e6 for x in got[which]],
            "ratio_to_bare": best[which] / bare,
        }
        for which, (key, label) in names.items()
    ]


def run_watch(quick: bool) -> list[dict[str, Any]]:
    """The file-latency figures (``quick``: few samples, about a second)."""
    polling = [(0.05, 20)] if quick else [(0.05, 80), (0.25, 12)]
    rows = [latency_row(interval, samples, inotify=False) for interval, samples in polling]
    rows.append(latency_row(60.0, 10 if quick else 60, inotify=True))
    return rows


def run_appconfig(quick: bool) -> list[dict[str, Any]]:
    """The AppConfig "unchanged" poll figures (``quick``: about a second)."""
    return appconfig_rows(polls=20 if quick else 100, rounds=2 if quick else 9)


def run(quick: bool) -> list[dict[str, Any]]:
    """Every figure of this module (``quick``: few samples, rough numbers, a few seconds)."""
    return run_watch(quick) + run_appconfig(quick)


def _fmt(row: dict[str, Any]) -> str:
    label = row.get("label", row["name"])
    if row.get("value") is None:
        return f"{label:<58} {row.get('check')}: {row.get('note', '')}"
    if row["unit"] == "ms":
        text = f"{label:<58} median {row['median']:7.2f} ms  p90 {row['p90']:7.2f}  max {row['max']:7.2f}"
        ok = "ok" if row["target_ok"] else "MISSED"
        text += f"  | max - {row['counted_interval_ms']:g} ms {row['over_interval_max']:+6.2f} ms (<= 50: {ok})"
    else:
        text = f"{label:<58} {row['value']:9.1f} us/poll  x{row['ratio_to_bare']:.3f} of bare boto3"
    return text + ("" if row["check"] == "ok" else f"  {row['check']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few samples: proves it runs")
    parser.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    args = parser.parse_args(argv)
    rows = run(args.quick)
    for row in rows:
        print(_fmt(row))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 1 if any(row["check"] not in ("ok", "skipped") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
