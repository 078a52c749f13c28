"""vein's side-by-side benchmark (``just bench``): SPEC §12, measured in one process run.

Every number vein is held to is a *ratio* against a peer measured in the same run, so the
machine's speed and most of its noise cancel out.  What is measured, and how:

* **Method.** ``timeit``: each statement is unrolled (10 writes or 20 reads per loop), the
  loop count comes from an autorange-style calibration (one slice ≈ ``--slice`` seconds),
  the cases of one group run **round-robin** (order reversed on alternate rounds) for
  ``--rounds`` rounds, the best slice is kept, and the empty-loop overhead measured in the
  same rounds is subtracted.  GC is off while timing (timeit's default) except for the
  construction rows, where it is on so that reference cycles are paid for.
* **Fairness checks, before timing.** Writes alternate between two values so every write
  emits; every listened case must fire its callback exactly once per write, every validated
  case must reject an out-of-range value (and keep the old one), every load must produce the
  expected values with the expected types.  A failed check marks the case (and the run
  exits 1); a missing peer package marks it skipped.
* **Loads** use a new source object per load (``vein.from_env("APP_")``,
  ``vein.from_yaml(path)``): the file parse cache is per source object, so every load
  re-reads and re-parses.
* **Imports** run in fresh interpreters (``python -S`` with the package paths added by
  hand, so nothing a ``.pth`` file pre-imports skews the numbers; bytecode cached in a
  temporary ``PYTHONPYCACHEPREFIX``), median of ``--import-runs``.

* **Fixed-size chunks.** Where a statement changes what it measures (appending to a
  list), each ``timeit`` call runs a fixed number of loops after a reset in its setup
  (untimed), and a slice is as many such calls as fill ``--slice``: the list stays at
  the size the row names.
* **Subtracted rows.** "snapshot after a write" and "computed read after a write" time the
  write together with the operation and subtract the same write timed alone in the same
  rounds (shown as its own row), so any extra cost the operation puts on writes is counted.
* **State beyond config** (issue 5: snapshot, computed, list, batch) runs half the rounds.
* **No-listener write vs before issue 5.** The ``silent`` group also times the same class
  under vein as it was at ``--baseline REF`` (default: the last commit before issue 5's
  first change), extracted with ``git archive`` into a temporary directory and imported
  as a second package (``vein_base``), round-robin with today's vein in this process.
  ``--baseline FILE.json`` compares with an earlier run's JSON instead (the ratio to attrs
  of that run); ``--baseline none`` skips it.  The JSON records this run's figures (and
  the commit) under ``no_listener_write`` for later runs to compare with.
* **Watch and AppConfig** (``bench/bench_watch.py``): real threads, files and HTTP, so
  not timeit: latency samples from a file write to the subscriber's callback, and
  round-robin medians of "unchanged" AppConfig polls; their fairness checks are listed
  in that module.

Options: ``--quick`` (a few short rounds: proves the code runs; the numbers are rough),
``--json FILE`` (every case, ratio and target), ``--only GROUP[,GROUP]``,
``--baseline REF|FILE.json|none``.
"""

import argparse
import copy
import enum
import functools
import gc
import importlib.util
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import timeit
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any, ClassVar, Optional

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _p in (str(BENCH), str(ROOT)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import attrs  # noqa: E402
from load_schema import (  # noqa: E402
    ENV_FULL,
    ENV_OVERRIDES,
    EXPECTED,
    EXPECTED_MERGED,
    PREFIX,
    YAML_TEXT,
    LogLevel,
    Settings,
    check_raw,
    check_settings,
)

import vein  # noqa: E402

RANGE = (0, 1000)
OUT_OF_RANGE = 5000
CHECK_WRITES = 1000


def cb(*args: Any) -> None:
    """The listener used while timing, the same for every system."""


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self.last: Any = None

    def __call__(self, *args: Any) -> None:
        self.n += 1
        self.last = args


class Skip(Exception):
    """A peer is not installed: the case is reported as skipped."""


def need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Skip(f"{module} not installed") from exc


# --- checks -------------------------------------------------------------------------------


def check_fires(make: Callable[[Callable[..., Any]], Any], write: Callable[[Any, int], None]) -> None:
    """A fresh object with a counting listener fires exactly once per (alternating) write."""
    counter = Counter()
    obj = make(counter)
    for k in range(CHECK_WRITES):
        write(obj, 1 + (k & 1))
    if counter.n != CHECK_WRITES:
        raise AssertionError(f"{counter.n} callbacks for {CHECK_WRITES} writes (expected exactly one each)")


def check_rejects(obj: Any, write: Callable[[Any, int], None], read: Callable[[Any], int]) -> None:
    """Writing an out-of-range value raises and leaves the old value."""
    write(obj, 7)
    try:
        write(obj, OUT_OF_RANGE)
    except Exception:
        pass
    else:
        raise AssertionError(f"accepted {OUT_OF_RANGE} (the validator should reject it)")
    if read(obj) != 7:
        raise AssertionError(f"a rejected write changed the value to {read(obj)!r}")


def _w_i(o: Any, v: int) -> None:
    o.i = v


def _r_i(o: Any) -> int:
    return o.i  # type: ignore[no-any-return]


# --- the harness --------------------------------------------------------------------------


@dataclass
class Timed:
    """One timed statement: *stmt* runs *ops* operations; names come from *ns* via *setup*."""

    stmt: str
    ns: dict[str, Any]
    ops: int = 1
    setup: str = "pass"
    gc: bool = False
    check: Callable[[], Any] | None = None
    note: str = ""
    number: int | None = None  # fixed loops per timeit call (setup resets the state before each)


@dataclass
class Case:
    key: str
    label: str
    build: Callable[[], Timed]
    before: Callable[[], None] | None = None  # e.g. set the environment; run before each slice
    minus: str | None = None  # key of a case (same group) whose per-op time is subtracted
    # filled in by the runner
    status: str = "pending"
    note: str = ""
    seconds: float | None = None  # per operation
    slices: list[float] = field(default_factory=list)


def unrolled(body: str, times: int) -> str:
    return "; ".join([body] * times)


def calibrate(timer: timeit.Timer, target: float) -> int:
    """timeit's autorange, with a target: the smallest 1/2/5×10^k loop count taking >= *target*."""
    number = 1
    while True:
        for factor in (1, 2, 5):
            n = number * factor
            if timer.timeit(n) >= target:
                return n
        number *= 10


class Runner:
    def __init__(self, rounds: int, slice_s: float) -> None:
        self.rounds = rounds
        self.slice_s = slice_s
        self.cases: dict[str, Case] = {}
        self.failed = False

    def group(self, cases: list[Case], rounds: int | None = None) -> None:
        """Check, calibrate and time *cases* round-robin (*rounds*: default ``--rounds``)."""
        rounds = rounds or self.rounds
        live: list[tuple[Case, Timed, timeit.Timer, int]] = []
        for case in cases:
            self.cases[case.key] = case
            try:
                if case.before is not None:
                    case.before()
                timed = case.build()
            except Skip as exc:
                case.status, case.note = "skipped", str(exc)
                continue
            case.note = timed.note
            try:
                if timed.check is not None:
                    timed.check()
                case.status = "ok"
            except Exception as exc:  # a wrong result: report it, still time the case
                case.status = f"CHECK FAILED: {type(exc).__name__}: {exc}"
                self.failed = True
            setup = ("import gc; gc.enable()\n" if timed.gc else "") + timed.setup
            timer = timeit.Timer(timed.stmt, setup=setup, globals=timed.ns)
            try:
                timer.timeit(1)  # warm up (and surface errors in the statement)
            except Exception as exc:
                case.status = f"ERROR: {type(exc).__name__}: {exc}"
                self.failed = True
                continue
            if timed.number is None:
                number = calibrate(timer, self.slice_s)
            else:  # fixed chunks: as many calls as fill a slice
                per_call = min(timer.timeit(timed.number) for _ in range(3))
                number = max(1, round(self.slice_s / max(per_call, 1e-9)))
            live.append((case, timed, timer, number))
        if not live:
            return
        empty = timeit.Timer("pass")
        empty_n = calibrate(empty, self.slice_s / 4)
        empty_best = float("inf")
        for r in range(rounds):
            order = live if r % 2 == 0 else list(reversed(live))
            empty_best = min(empty_best, empty.timeit(empty_n) / empty_n)
            for case, timed, timer, number in order:
                if case.before is not None:
                    case.before()
                if timed.number is None:
                    per_loop = timer.timeit(number) / number
                else:
                    per_loop = sum(timer.timeit(timed.number) for _ in range(number)) / (number * timed.number)
                case.slices.append(per_loop)
        for case, timed, _timer, _number in live:
            best = min(case.slices)
            case.seconds = max(best - empty_best, 0.0) / timed.ops
        for case, _timed, _timer, _number in live:
            if case.minus is not None and case.seconds is not None:
                other = self.t(case.minus)
                case.seconds = None if other is None else max(case.seconds - other, 0.0)
                if other is not None:
                    subtracted = f"{fmt_time(other)} subtracted"
                    case.note = f"{case.note}; {subtracted}" if case.note else subtracted

    def t(self, key: str) -> float | None:
        case = self.cases.get(key)
        if case is None or case.seconds is None:
            return None
        return case.seconds


# --- environment control ------------------------------------------------------------------

_ENV_STATE: Any = None
_ENV_SAVED = {k: v for k, v in os.environ.items() if k.startswith(("APP_", "NOISE_VAR_"))}
UNRELATED_DEFAULT = 100


def set_env(app: dict[str, str], noise: int) -> None:
    """Make the environment hold exactly *app* under ``APP_`` plus *noise* unrelated variables."""
    global _ENV_STATE
    state = (id(app), noise)
    if state == _ENV_STATE:
        return
    for k in [k for k in os.environ if k.startswith(("APP_", "NOISE_VAR_"))]:
        del os.environ[k]
    os.environ.update(app)
    for i in range(noise):
        os.environ[f"NOISE_VAR_{i:04d}"] = f"unrelated value number {i} /usr/local/share/x"
    _ENV_STATE = state


def restore_env() -> None:
    global _ENV_STATE
    for k in [k for k in os.environ if k.startswith(("APP_", "NOISE_VAR_"))]:
        del os.environ[k]
    os.environ.update(_ENV_SAVED)
    _ENV_STATE = None


def env_before(app: dict[str, str], noise: int = UNRELATED_DEFAULT) -> Callable[[], None]:
    return lambda: set_env(app, noise)


# --- 1-4: the evented object -----------------------------------------------------------------

_RANGE_V = [attrs.validators.ge(RANGE[0]), attrs.validators.le(RANGE[1])]


def define_vobj(v: Any) -> tuple[type, type]:
    """The evented object's classes under the vein package *v* (today's, or a baseline's)."""

    @v.flow
    class VChild:
        value: int = v.field(default=0, validator=_RANGE_V)

    @v.flow
    class VObj:
        i: int = v.field(default=0, validator=_RANGE_V)
        s: str = ""
        f: float = 0.0
        b: bool = False
        child: VChild = attrs.Factory(VChild)

    return VChild, VObj


VChild, VObj = define_vobj(vein)


@attrs.define
class AChild:
    value: int = attrs.field(default=0, validator=_RANGE_V)


@attrs.define
class AObj:
    i: int = attrs.field(default=0, validator=_RANGE_V)
    s: str = ""
    f: float = 0.0
    b: bool = False
    child: AChild = attrs.Factory(AChild)


class PlainObj:
    __slots__ = ("b", "child", "f", "i", "s")

    def __init__(self) -> None:
        self.i, self.s, self.f, self.b, self.child = 0, "", 0.0, False, None


READS = 20
WRITES = 10  # per loop, alternating 1 and 2
READ_STMT = unrolled("o.i", READS)
WRITE_STMT = unrolled("o.i = 1; o.i = 2", WRITES // 2)


def read_case(obj: Any) -> Timed:
    return Timed(READ_STMT, {"_o": obj}, READS, "o = _o")


def listened_write(make: Callable[[Callable[..., Any]], Any], *, validated: bool = True, note: str = "") -> Timed:
    def check() -> None:
        check_fires(make, _w_i)
        if validated:
            check_rejects(make(cb), _w_i, _r_i)

    return Timed(WRITE_STMT, {"_o": make(cb)}, WRITES, "o = _o", check=check, note=note)


# system factories: make(listener) -> object with `i` validated in [0, 1000] and `listener` on it


def make_vein(listener: Callable[..., Any]) -> Any:
    o = VObj()
    o.on_change("i", listener)
    return o


def make_psygnal_dc(listener: Callable[..., Any]) -> Any:
    psygnal = need("psygnal")
    from dataclasses import dataclass as _dc

    @psygnal.evented
    @_dc
    class PsygDC:
        i: int = 0
        s: str = ""
        f: float = 0.0
        b: bool = False

    o = PsygDC()
    o.events.i.connect(listener)  # primes the class (psygnal patches __setattr__ on first .events)
    return o


def make_psygnal_attrs(listener: Callable[..., Any]) -> Any:
    psygnal = need("psygnal")

    @attrs.define
    class PsygAttrs:
        i: int = attrs.field(default=0, validator=_RANGE_V)
        s: str = ""
        f: float = 0.0
        b: bool = False
        events: ClassVar[Any] = psygnal.SignalGroupDescriptor()

    o = PsygAttrs()
    o.events.i.connect(listener)
    return o


def make_traitlets(listener: Callable[..., Any]) -> Any:
    tl = need("traitlets")

    class TObj(tl.HasTraits):
        i = tl.Int(0, min=RANGE[0], max=RANGE[1])
        s = tl.Unicode("")
        f = tl.Float(0.0)
        b = tl.Bool(False)

    o = TObj()
    o.observe(listener, names="i")
    return o


def make_param(listener: Callable[..., Any]) -> Any:
    param = need("param")

    class PObj(param.Parameterized):
        i = param.Integer(0, bounds=RANGE)
        s = param.String("")
        f = param.Number(0.0)
        b = param.Boolean(False)

    o = PObj()
    o.param.watch(listener, ["i"])
    return o


def make_pydantic(_listener: Callable[..., Any]) -> Any:
    pydantic = need("pydantic")

    class MObj(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(validate_assignment=True)
        i: int = pydantic.Field(0, ge=RANGE[0], le=RANGE[1])
        s: str = ""
        f: float = 0.0
        b: bool = False

    return MObj()


def make_atom(listener: Callable[..., Any]) -> Any:
    need("atom")
    from atom.api import Atom, Bool, Float, Range, Str

    class AtObj(Atom):
        i = Range(RANGE[0], RANGE[1], 0)
        s = Str("")
        f = Float(0.0)
        b = Bool(False)

    o = AtObj()
    o.observe("i", listener)
    return o


def pydantic_case() -> Timed:
    def check() -> None:
        check_rejects(make_pydantic(cb), _w_i, _r_i)

    return Timed(WRITE_STMT, {"_o": make_pydantic(cb)}, WRITES, "o = _o", check=check)


WRITE_PEERS = {
    # key: (label, pure Python?)
    "write.psygnal_dc": ("psygnal @evented @dataclass (no validator)", True),
    "write.psygnal_attrs": ("psygnal on attrs (SignalGroupDescriptor)", True),
    "write.traitlets": ("traitlets Int(min,max) + observe", True),
    "write.param": ("param Integer(bounds) + watch", True),
    "write.pydantic": ("pydantic validate_assignment (no events; Rust core)", True),
    "write.atom": ("atom Range + observe (C++)", False),
}


def group_read() -> list[Case]:
    def vein_read() -> Timed:
        o = VObj()
        o.on_change("i", cb)  # a subscribed object reads the same
        return read_case(o)

    return [
        Case("read.vein", "vein flow object", vein_read),
        Case("read.attrs", "attrs.define (slots)", lambda: read_case(AObj())),
        Case("read.plain", "plain __slots__ class", lambda: read_case(PlainObj())),
    ]


def group_write() -> list[Case]:
    def attrs_validated() -> Timed:
        o = AObj()

        def check() -> None:
            check_rejects(AObj(), _w_i, _r_i)

        return Timed(WRITE_STMT, {"_o": o}, WRITES, "o = _o", check=check, note="no events")

    return [
        Case("write.vein", "vein (validator + on_change)", lambda: listened_write(make_vein)),
        Case("write.psygnal_dc", WRITE_PEERS["write.psygnal_dc"][0],
             lambda: listened_write(make_psygnal_dc, validated=False, note="has no validators")),
        Case("write.psygnal_attrs", WRITE_PEERS["write.psygnal_attrs"][0],
             lambda: listened_write(make_psygnal_attrs)),
        Case("write.traitlets", WRITE_PEERS["write.traitlets"][0], lambda: listened_write(make_traitlets)),
        Case("write.param", WRITE_PEERS["write.param"][0], lambda: listened_write(make_param)),
        Case("write.pydantic", WRITE_PEERS["write.pydantic"][0], pydantic_case),
        Case("write.atom", WRITE_PEERS["write.atom"][0], lambda: listened_write(make_atom)),
        Case("write.attrs", "attrs validated write (info: no events)", attrs_validated),
    ]


def group_write_nolistener() -> list[Case]:
    def vein_silent() -> Timed:
        def check() -> None:
            check_rejects(VObj(), _w_i, _r_i)

        return Timed(WRITE_STMT, {"_o": VObj()}, WRITES, "o = _o", check=check)

    def plain() -> Timed:
        return Timed(WRITE_STMT, {"_o": PlainObj()}, WRITES, "o = _o")

    def atom_silent() -> Timed:
        o = make_atom(cb)
        o.unobserve("i")
        return Timed(WRITE_STMT, {"_o": o}, WRITES, "o = _o")

    cases = [
        Case("silent.vein", "vein, validated, no listener", vein_silent),
        Case("silent.attrs", "attrs, validated", lambda: Timed(WRITE_STMT, {"_o": AObj()}, WRITES, "o = _o")),
        Case("silent.atom", "atom Range, no observer", atom_silent),
        Case("silent.plain", "plain __slots__ class", plain),
    ]
    if BASELINE.ref is not None:
        cases.insert(1, Case("silent.vein_base", f"vein before issue 5 ({BASELINE.ref[:10]}), same class",
                             baseline_silent))
    return cases


# --- the no-listener write before issue 5 -------------------------------------------------

#: The last commit before issue 5's first change (8a75c15, policies and batches): "the
#: no-listener write path must not get slower than before this issue".
BASELINE_REF = "0314833"


@dataclass
class Baseline:
    ref: str | None = None  # a git ref whose vein/ is timed in this run
    file: Path | None = None  # or an earlier run's JSON
    workdir: Path | None = None
    module: Any = None
    problem: str = ""


BASELINE = Baseline()


def git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, timeout=60)


def baseline_vein() -> Any:
    """vein's package as it was at ``BASELINE.ref``, imported as a second package, ``vein_base``."""
    if BASELINE.module is not None:
        return BASELINE.module
    if BASELINE.problem:
        raise Skip(BASELINE.problem)
    ref, workdir = BASELINE.ref, BASELINE.workdir
    assert ref is not None and workdir is not None
    try:
        proc = git("archive", "--format=tar", ref, "vein")
    except (OSError, subprocess.SubprocessError) as exc:
        proc = None
        BASELINE.problem = f"git archive {ref}: {exc}"
    if proc is not None and proc.returncode != 0:
        BASELINE.problem = f"git archive {ref} failed: {proc.stderr.decode(errors='replace').strip()[:160]}"
    if BASELINE.problem:
        raise Skip(BASELINE.problem)
    assert proc is not None
    target = workdir / "baseline"
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tf:
        tf.extractall(target, filter="data")
    init = target / "vein" / "__init__.py"
    spec = importlib.util.spec_from_file_location("vein_base", init, submodule_search_locations=[str(init.parent)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["vein_base"] = module
    spec.loader.exec_module(module)
    BASELINE.module = module
    return module


def baseline_silent() -> Timed:
    old = baseline_vein()
    _child, old_obj = define_vobj(old)

    def check() -> None:
        where = Path(old.__file__).resolve()
        if BASELINE.workdir is None or not where.is_relative_to(BASELINE.workdir.resolve()):
            raise AssertionError(f"the baseline is not the extracted copy: {where}")
        if old is vein or old.flow is vein.flow:
            raise AssertionError("the baseline is today's vein")
        check_rejects(old_obj(), _w_i, _r_i)

    return Timed(WRITE_STMT, {"_o": old_obj()}, WRITES, "o = _o", check=check,
                 note=f"git archive {BASELINE.ref}, imported as vein_base")


def baseline_from_file(path: Path) -> float | None:
    """The no-listener write's ratio to attrs (vein / attrs) in an earlier run's JSON."""
    data = json.loads(path.read_text(encoding="utf-8"))
    nlw = data.get("no_listener_write") or {}
    if nlw.get("ratio_to_attrs"):
        return float(nlw["ratio_to_attrs"])
    cases = data.get("cases", {})
    a = (cases.get("silent.vein") or {}).get("seconds_per_op")
    b = (cases.get("silent.attrs") or {}).get("seconds_per_op")
    return ratio(a, b)


NESTED_STMT = unrolled("o.child.value = 1; o.child.value = 2", WRITES // 2)
DIRECT_CHILD_STMT = unrolled("o.value = 1; o.value = 2", WRITES // 2)


def group_nested() -> list[Case]:
    def direct() -> Timed:
        def make(listener: Callable[..., Any]) -> Any:
            c = VChild()
            c.on_change("value", listener)
            return c

        def check() -> None:
            check_fires(make, lambda o, v: setattr(o, "value", v))

        return Timed(DIRECT_CHILD_STMT, {"_o": make(cb)}, WRITES, "o = _o", check=check,
                     note="listener on the written object")

    def nested(path: str) -> Callable[[], Timed]:
        def build() -> Timed:
            def make(listener: Callable[..., Any]) -> Any:
                o = VObj()
                o.on_change(path, listener)
                return o

            def check() -> None:
                counter = Counter()
                o = make(counter)
                for k in range(CHECK_WRITES):
                    o.child.value = 1 + (k & 1)
                if counter.n != CHECK_WRITES:
                    raise AssertionError(f"{counter.n} callbacks for {CHECK_WRITES} nested writes")
                change = counter.last[0]
                if change.path != "child.value":
                    raise AssertionError(f"root listener saw path {change.path!r}, not 'child.value'")

            return Timed(NESTED_STMT, {"_o": make(cb)}, WRITES, "o = _o", check=check)

        return build

    return [
        Case("nested.direct", "vein child.value, listener on the child", direct),
        Case("nested.root", "vein o.child.value, listener on root 'child'", nested("child")),
        Case("nested.star", "vein o.child.value, listener on root '*'", nested("*")),
    ]


def group_construct() -> list[Case]:
    def build(cls: type) -> Callable[[], Timed]:
        def make() -> Timed:
            def check() -> None:
                o = cls()
                if o.i != 0 or o.child.value != 0:
                    raise AssertionError("wrong defaults")

            return Timed(unrolled("C()", 5), {"_C": cls}, 5, "C = _C", gc=True, check=check)

        return make

    return [
        Case("construct.vein", "vein VObj() (5 fields + nested child)", build(VObj)),
        Case("construct.attrs", "attrs AObj() (same fields)", build(AObj)),
    ]


# --- 5-7: loading the ~30-field schema ----------------------------------------------------------


def pydantic_settings_classes(yaml_path: Path) -> dict[str, type]:
    need("pydantic_settings")
    from pydantic import BaseModel
    from pydantic_settings import BaseSettings, SettingsConfigDict, YamlConfigSettingsSource

    class PDatabase(BaseModel):
        host: str = "localhost"
        port: int = 5432
        user: str = "app"
        password: str = ""
        pool_size: int = 10
        timeout: float = 5.0

    class PCache(BaseModel):
        backend: str = "memory"
        ttl: int = 300
        max_items: int = 1000

    class PSettings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix=PREFIX, env_nested_delimiter="__")
        name: str = "app"
        environment: str = "dev"
        debug: bool = False
        workers: int = 1
        sample_rate: float = 1.0
        allowed_hosts: list[str] = []
        max_requests: Optional[int] = None  # noqa: UP045
        log_level: LogLevel = LogLevel.INFO
        data_dir: Path = Path("/srv/app")
        request_timeout: float = 30.0
        database: PDatabase = PDatabase()
        cache: PCache = PCache()
        features: dict[str, bool] = {}

    class PYaml(PSettings):
        model_config = SettingsConfigDict(env_prefix=PREFIX, env_nested_delimiter="__", yaml_file=yaml_path)

        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                       file_secret_settings):  # type: ignore[no-untyped-def]
            return (init_settings, YamlConfigSettingsSource(settings_cls))

    class PMerged(PSettings):
        model_config = SettingsConfigDict(env_prefix=PREFIX, env_nested_delimiter="__", yaml_file=yaml_path)

        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                       file_secret_settings):  # type: ignore[no-untyped-def]
            return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    return {"env": PSettings, "yaml": PYaml, "merged": PMerged}


class LoadCases:
    def __init__(self, workdir: Path) -> None:
        self.yaml_path = workdir / "settings.yml"
        self.yaml_path.write_text(YAML_TEXT, encoding="utf-8")
        self._ps: dict[str, type] | None = None

    def ps(self) -> dict[str, type]:
        if self._ps is None:
            self._ps = pydantic_settings_classes(self.yaml_path)
        return self._ps

    def call(self, fn: Callable[[], Any], check: Callable[[Any], None], note: str = "") -> Timed:
        return Timed("f()", {"_f": fn}, 1, "f = _f", check=lambda: check(fn()), note=note)

    # env
    def vein_env(self) -> Timed:
        load, from_env = vein.load, vein.from_env
        return self.call(lambda: load(Settings, from_env(PREFIX)), check_settings)

    def ps_env(self) -> Timed:
        cls = self.ps()["env"]
        return self.call(cls, check_settings)

    # yaml
    def vein_yaml(self) -> Timed:
        load, from_yaml, p = vein.load, vein.from_yaml, self.yaml_path
        return self.call(lambda: load(Settings, from_yaml(p)), check_settings, "new source object per load")

    def bare_yaml(self) -> Timed:
        import yaml

        loader = getattr(yaml, "CSafeLoader", None)
        if loader is None:
            raise Skip("PyYAML has no libyaml (CSafeLoader)")
        p = self.yaml_path

        def parse() -> Any:
            with open(p, "rb") as f:
                return yaml.load(f.read(), Loader=loader)  # noqa: S506 - CSafeLoader is safe

        return self.call(parse, check_raw, "yaml.load(bytes, CSafeLoader): no types, no checks")

    def ps_yaml(self) -> Timed:
        cls = self.ps()["yaml"]
        return self.call(cls, check_settings, "YamlConfigSettingsSource (yaml.safe_load)")

    # merged
    def vein_merged(self) -> Timed:
        load, from_yaml, from_env, p = vein.load, vein.from_yaml, vein.from_env, self.yaml_path
        return self.call(lambda: load(Settings, from_yaml(p), from_env(PREFIX)),
                         lambda s: check_settings(s, EXPECTED_MERGED))

    def ps_merged(self) -> Timed:
        cls = self.ps()["merged"]
        return self.call(cls, lambda s: check_settings(s, EXPECTED_MERGED))


def group_env(lc: LoadCases) -> list[Case]:
    full = env_before(ENV_FULL)
    return [
        Case("env.vein", f"vein.load(from_env) — 29 vars, {UNRELATED_DEFAULT} unrelated", lc.vein_env, full),
        Case("env.pydantic_settings", "pydantic-settings BaseSettings()", lc.ps_env, full),
    ]


def group_env_flat(lc: LoadCases) -> list[Case]:
    return [
        Case("envflat.vein.0", "vein, 0 unrelated vars", lc.vein_env, env_before(ENV_FULL, 0)),
        Case("envflat.vein.100", "vein, 100 unrelated vars", lc.vein_env, env_before(ENV_FULL, 100)),
        Case("envflat.vein.1000", "vein, 1000 unrelated vars", lc.vein_env, env_before(ENV_FULL, 1000)),
        Case("envflat.ps.0", "pydantic-settings, 0 unrelated", lc.ps_env, env_before(ENV_FULL, 0)),
        Case("envflat.ps.1000", "pydantic-settings, 1000 unrelated", lc.ps_env, env_before(ENV_FULL, 1000)),
    ]


def group_yaml(lc: LoadCases) -> list[Case]:
    none = env_before({})
    return [
        Case("yaml.vein", "vein.load(from_yaml)", lc.vein_yaml, none),
        Case("yaml.bare", "bare PyYAML C parse of the file", lc.bare_yaml, none),
        Case("yaml.pydantic_settings", "pydantic-settings YAML (info)", lc.ps_yaml, none),
    ]


def group_merge(lc: LoadCases) -> list[Case]:
    over = env_before(ENV_OVERRIDES)
    return [
        Case("merge.vein", "vein.load(from_yaml, from_env) — 6 overrides", lc.vein_merged, over),
        Case("merge.pydantic_settings", "pydantic-settings YAML + env", lc.ps_merged, over),
    ]


# --- 9-12: state beyond config (issue 5) ------------------------------------------------------


@attrs.define
class ADatabase:
    host: str = "localhost"
    port: int = 5432
    user: str = "app"
    password: str = ""
    pool_size: int = 10
    timeout: float = 5.0


@attrs.define
class ACache:
    backend: str = "memory"
    ttl: int = 300
    max_items: int = 1000


@attrs.define
class ASettings:
    """The ~30-field schema as a plain attrs class (slots, no events, no checks)."""

    name: str = "app"
    environment: str = "dev"
    debug: bool = False
    workers: int = 1
    sample_rate: float = 1.0
    allowed_hosts: list[str] = attrs.Factory(list)
    max_requests: Optional[int] = None  # noqa: UP045
    log_level: LogLevel = LogLevel.INFO
    data_dir: Path = Path("/srv/app")
    request_timeout: float = 30.0
    database: ADatabase = attrs.Factory(ADatabase)
    cache: ACache = attrs.Factory(ACache)
    features: dict[str, bool] = attrs.Factory(dict)


def to_attrs(obj: Any, cls: type) -> Any:
    """A plain attrs copy of the flow object *obj* (same values)."""
    kw: dict[str, Any] = {}
    for f in attrs.fields(cls):
        value = getattr(obj, f.name)
        if isinstance(f.type, type) and attrs.has(f.type):
            value = to_attrs(value, f.type)
        elif isinstance(value, list):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        kw[f.name] = value
    return cls(**kw)


def plain_data(x: Any) -> Any:
    """Any of the copies below as comparable plain data (enums by value, paths as text)."""
    if isinstance(x, enum.Enum):
        return x.value
    if isinstance(x, PurePath):
        return str(x)
    if attrs.has(type(x)):
        return plain_data(attrs.asdict(x, recurse=False))
    if hasattr(x, "to_dict") and not isinstance(x, Mapping):
        return plain_data(x.to_dict())
    if isinstance(x, Mapping):
        return {k: plain_data(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [plain_data(v) for v in x]
    return x


def expected_tree(expected: dict[str, Any] = EXPECTED) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in expected.items():
        *parents, leaf = key.split(".")
        node = tree
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return plain_data(tree)  # type: ignore[no-any-return]


STATE_ROUNDS_SHARE = 2  # issue-5 groups run rounds // this
SNAPSHOTS = 10
SNAP_AFTER_WRITE = "s.database.pool_size = 1; s.snapshot(); s.database.pool_size = 2; s.snapshot()"
SNAP_WRITE_ONLY = "s.database.pool_size = 1; s.database.pool_size = 2"


def group_snapshot(lc: LoadCases) -> list[Case]:
    want = expected_tree()

    def loaded() -> Any:
        s = vein.load(Settings, vein.from_yaml(lc.yaml_path))
        check_settings(s)
        return s

    def same_data(copy_: Any, what: str, pool_size: int = EXPECTED["database.pool_size"]) -> None:
        have = plain_data(copy_)
        expect = {**want, "database": {**want["database"], "pool_size": pool_size}}
        if have != expect:
            diff = sorted(k for k in expect if have.get(k) != expect[k])
            raise AssertionError(f"{what} differs from the loaded values at {diff}")

    def cached() -> Timed:
        s = loaded()
        s.snapshot()

        def check() -> None:
            o = loaded()
            a, b = o.snapshot(), o.snapshot()
            if a is not b:
                raise AssertionError("a second snapshot() with nothing changed is a new object (not cached)")
            same_data(a, "the snapshot")
            try:
                a.workers = 3
            except AttributeError:
                pass
            else:
                raise AssertionError("a snapshot accepted an assignment")
            if a.workers != EXPECTED["workers"] or o.workers != EXPECTED["workers"]:
                raise AssertionError("an assignment to a snapshot changed something")

        return Timed(unrolled("s.snapshot()", SNAPSHOTS), {"_s": s}, SNAPSHOTS, "s = _s", check=check,
                     note="nothing changed since the last one")

    def after_write() -> Timed:
        def check() -> None:
            o = loaded()
            prev = o.snapshot()
            for k in range(200):
                v = 1 + (k & 1)
                o.database.pool_size = v
                snap = o.snapshot()
                if snap is prev or snap.database.pool_size != v:
                    raise AssertionError(f"the snapshot after writing pool_size={v} holds {snap.database.pool_size}")
                if prev.database.pool_size == v:
                    raise AssertionError("the write changed an earlier snapshot")
                prev = snap
            same_data(prev, "the snapshot after writes", pool_size=2)

        return Timed(SNAP_AFTER_WRITE, {"_s": loaded()}, 2, "s = _s", check=check,
                     note="root and database re-copied")

    def write_only() -> Timed:
        def check() -> None:
            o = loaded()
            o.database.pool_size = 1
            if o.database.pool_size != 1:
                raise AssertionError("the write did not happen")

        return Timed(SNAP_WRITE_ONLY, {"_s": loaded()}, 2, "s = _s", check=check)

    def vein_to_dict() -> Timed:
        s = loaded()
        return Timed("s.to_dict()", {"_s": s}, 1, "s = _s", check=lambda: same_data(s.to_dict(), "to_dict()"),
                     note="plain dicts and lists")

    def peer(stmt: str, check_copy: Callable[[Any, Any], None], note: str = "") -> Callable[[], Timed]:
        def build() -> Timed:
            a = to_attrs(loaded(), ASettings)
            ns = {"_a": a, "attrs": attrs, "copy": copy}
            check_settings(a)
            return Timed(stmt, ns, 1, "a = _a", check=lambda: check_copy(a, eval(stmt, ns, {"a": a})),  # noqa: S307
                         note=note)

        return build

    def deep_ok(a: Any, c: Any) -> None:
        same_data(c, "the deep copy")
        if c.database is a.database or c.allowed_hosts is a.allowed_hosts or c.features is a.features:
            raise AssertionError("the deep copy shares a mutable part")

    def evolve_ok(a: Any, c: Any) -> None:
        if c is a or c != a:
            raise AssertionError("attrs.evolve did not give an equal new object")

    return [
        Case("snapshot.cached", "vein s.snapshot(), cached", cached),
        Case("snapshot.after_write", "vein s.snapshot() right after a write (not cached)", after_write,
             minus="snapshot.write"),
        Case("snapshot.write", "  the write alone: s.database.pool_size = v (subtracted)", write_only),
        Case("snapshot.to_dict", "vein s.to_dict() (info)", vein_to_dict),
        Case("snapshot.asdict", "attrs.asdict(a), equivalent attrs object", peer("attrs.asdict(a)",
             lambda a, c: same_data(c, "attrs.asdict"))),
        Case("snapshot.deepcopy", "copy.deepcopy(a)", peer("copy.deepcopy(a)", deep_ok)),
        Case("snapshot.evolve", "attrs.evolve(a) (info: shallow)", peer("attrs.evolve(a)", evolve_ok,
             "shares nested objects, lists, dicts: not a consistent copy")),
    ]


_COMPUTED_RUNS = [0]


@vein.flow
class VDb:
    host: str = "db.internal"
    port: int = 5432


@vein.flow
class VService:
    scheme: str = "https"
    other: int = 0
    database: VDb = attrs.Factory(VDb)

    @vein.computed
    def url(self) -> str:
        _COMPUTED_RUNS[0] += 1
        return f"{self.scheme}://{self.database.host}:{self.database.port}"


class PService:
    def __init__(self) -> None:
        self.scheme, self.host, self.port = "https", "db.internal", 5432

    @functools.cached_property
    def url(self) -> str:
        _COMPUTED_RUNS[0] += 1
        return f"{self.scheme}://{self.host}:{self.port}"


@attrs.define
class AService:
    scheme: str = "https"
    host: str = "db.internal"
    port: int = 5432

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


URL = "https://db.internal:5432"
COMPUTED_AFTER_WRITE = "o.other = 1; o.url; o.other = 2; o.url"
COMPUTED_WRITE_ONLY = "o.other = 1; o.other = 2"


def runs_of(fn: Callable[[], Any]) -> tuple[Any, int]:
    before = _COMPUTED_RUNS[0]
    got = fn()
    return got, _COMPUTED_RUNS[0] - before


def group_computed() -> list[Case]:
    def cached() -> Timed:
        def check() -> None:
            o = VService()
            got, n = runs_of(lambda: [o.url for _ in range(1000)])
            if set(got) != {URL} or n != 1:
                raise AssertionError(f"1000 reads: {set(got)} from {n} runs (expected {URL!r} from 1)")
            o.database.port = 6000
            got, n = runs_of(lambda: [o.url for _ in range(100)])
            if set(got) != {"https://db.internal:6000"} or n != 1:
                raise AssertionError(f"after a write to a dependency: {set(got)} from {n} runs")

        o = VService()
        _ = o.url
        return Timed(READ_STMT.replace("o.i", "o.url"), {"_o": o}, READS, "o = _o", check=check,
                     note="reads scheme, database.host, database.port")

    def after_write() -> Timed:
        def check() -> None:
            o = VService()
            _ = o.url
            got, n = runs_of(lambda: [(setattr(o, "other", k), o.url)[1] for k in range(100)])
            if set(got) != {URL} or n != 0:
                raise AssertionError(f"after unrelated writes: {set(got)} from {n} runs (expected no rerun)")

        o = VService()
        _ = o.url
        return Timed(COMPUTED_AFTER_WRITE, {"_o": o}, 2, "o = _o", check=check,
                     note="tree version moved: dependencies compared, not rerun")

    def write_only() -> Timed:
        return Timed(COMPUTED_WRITE_ONLY, {"_o": VService()}, 2, "o = _o")

    def field_read() -> Timed:
        return Timed(READ_STMT.replace("o.i", "o.scheme"), {"_o": VService()}, READS, "o = _o")

    def cached_property() -> Timed:
        def check() -> None:
            p = PService()
            got, n = runs_of(lambda: [p.url for _ in range(1000)])
            if set(got) != {URL} or n != 1:
                raise AssertionError(f"{set(got)} from {n} runs")

        p = PService()
        _ = p.url
        return Timed(READ_STMT.replace("o.i", "o.url"), {"_o": p}, READS, "o = _o", check=check,
                     note="never invalidated")

    def prop() -> Timed:
        a = AService()

        def check() -> None:
            if a.url != URL:
                raise AssertionError(a.url)

        return Timed(READ_STMT.replace("o.i", "o.url"), {"_o": a}, READS, "o = _o", check=check,
                     note="recomputed on every read")

    return [
        Case("computed.vein", "vein @vein.computed read, cached", cached),
        Case("computed.field", "vein plain field read (same object)", field_read),
        Case("computed.after_write", "vein computed read after an unrelated write", after_write,
             minus="computed.write"),
        Case("computed.write", "  the write alone: o.other = v (subtracted)", write_only),
        Case("computed.cached_property", "functools.cached_property, plain class (info)", cached_property),
        Case("computed.property", "@property on attrs, f-string (info)", prop),
    ]


@vein.flow
class VList:
    tags: list[int] = vein.field(factory=list)


@attrs.define
class AList:
    tags: list[int] = attrs.Factory(list)


APPENDS = 10  # per loop
LIST_CHUNK = 10  # loops per timeit call; the list is cut back to its size before each call
APPEND_STMT = unrolled("o.tags.append(1)", APPENDS)
LARGE_LIST = 10_000


def list_cases(size: int) -> list[Case]:
    prefix = "listsmall" if size == 0 else "listlarge"
    grown = APPENDS * LIST_CHUNK

    def build(make: Callable[[], Any], listened: bool, evented: bool) -> Callable[[], Timed]:
        def fresh(listener: Callable[..., Any] | None) -> Any:
            o = make()
            o.tags.extend(range(size))
            if listener is not None:
                o.on_change("tags", listener)
            return o

        def check() -> None:
            counter = Counter()
            o = fresh(counter if listened else None)
            for k in range(grown):
                n = len(o.tags)
                o.tags.append(k)
                if len(o.tags) != n + 1 or o.tags[-1] != k:
                    raise AssertionError(f"append({k}) did not append (length {n} -> {len(o.tags)})")
            if listened:
                if counter.n != grown:
                    raise AssertionError(f"{counter.n} callbacks for {grown} appends (expected exactly one each)")
                change = counter.last[0]
                if change.path != "tags" or len(change.new) != size + grown or len(change.old) != size + grown - 1:
                    raise AssertionError(f"the last append's change: {change.path} "
                                         f"{len(change.old)} -> {len(change.new)} items")
            if evented:
                try:
                    o.tags.append("x")
                except vein.ValidationError:
                    pass
                else:
                    raise AssertionError("an evented list[int] accepted 'x'")
                if len(o.tags) != size + grown:
                    raise AssertionError("a rejected append changed the list")
            del o.tags[size:]
            if len(o.tags) != size:
                raise AssertionError("the reset did not cut the list back")

        def timed() -> Timed:
            return Timed(APPEND_STMT, {"_o": fresh(cb if listened else None)}, APPENDS,
                         f"o = _o; del o.tags[{size}:]", check=check, number=LIST_CHUNK)

        return timed

    span = f"{size:,}-{size + grown:,} items"
    return [
        Case(f"{prefix}.vein", f"vein list field .append, no listener ({span})",
             build(VList, listened=False, evented=True)),
        Case(f"{prefix}.vein_listened", "vein list field .append, 1 listener on it",
             build(VList, listened=True, evented=True)),
        Case(f"{prefix}.plain", "plain list .append (a list in an attrs object)",
             build(AList, listened=False, evented=False)),
    ]


TEN = [f"f{k}" for k in range(10)]


def _ten_namespace() -> dict[str, Any]:
    return {"__annotations__": dict.fromkeys(TEN, int), **dict.fromkeys(TEN, 0)}


VTen = vein.flow(type("VTen", (), _ten_namespace()))
ATen = attrs.define(type("ATen", (), _ten_namespace()))


def _assign_all(value: int) -> str:
    return "; ".join(f"o.{n} = {value}" for n in TEN)


BATCH_STMT = f"with o.batch():\n    {_assign_all(1)}\nwith o.batch():\n    {_assign_all(2)}"
TEN_STMT = f"{_assign_all(1)}; {_assign_all(2)}"


def group_batch() -> list[Case]:
    def make(listener: Callable[..., Any] | None) -> Any:
        o = VTen()
        if listener is not None:
            o.on_change("*", listener)
        return o

    def check_batch(listened: bool) -> None:
        counter = Counter()
        o = make(counter if listened else None)
        for v in (1, 2, 1, 2):
            with o.batch():
                for n in TEN:
                    setattr(o, n, v)
                if counter.n:
                    raise AssertionError(f"{counter.n} events inside the batch (expected none before its end)")
            if [getattr(o, n) for n in TEN] != [v] * 10:
                raise AssertionError(f"the batch committed {[getattr(o, n) for n in TEN]}")
            if listened:
                if counter.n != 10:
                    raise AssertionError(f"{counter.n} events after a batch of 10 changed fields (expected 10)")
                counter.n = 0
        if not listened:
            return
        seen: list[Any] = []
        o.on_change("*", seen.append)
        with o.batch():
            for n in TEN:
                setattr(o, n, 1)
        if sorted((c.path, c.old, c.new) for c in seen) != sorted((n, 2, 1) for n in TEN):
            raise AssertionError(f"a batch's events: {seen}")

    def check_plain() -> None:
        counter = Counter()
        o = make(counter)
        for v in (1, 2, 1, 2):
            for n in TEN:
                setattr(o, n, v)
        if counter.n != 40 or [getattr(o, n) for n in TEN] != [2] * 10:
            raise AssertionError(f"{counter.n} events for 40 writes")

    def batch(listened: bool) -> Callable[[], Timed]:
        return lambda: Timed(BATCH_STMT, {"_o": make(cb if listened else None)}, 2, "o = _o",
                             check=lambda: check_batch(listened))

    def plain(listened: bool) -> Callable[[], Timed]:
        return lambda: Timed(TEN_STMT, {"_o": make(cb if listened else None)}, 2, "o = _o",
                             check=check_plain)

    def attrs_ten() -> Timed:
        def check() -> None:
            a = ATen()
            exec(TEN_STMT, {"o": a})  # noqa: S102
            if [getattr(a, n) for n in TEN] != [2] * 10:
                raise AssertionError("attrs writes did not land")

        return Timed(TEN_STMT, {"_o": ATen()}, 2, "o = _o", check=check, note="no events, no checks")

    return [
        Case("batch.vein", "vein with o.batch(): 10 writes, no listener", batch(False)),
        Case("batch.plain", "vein 10 writes, no batch, no listener", plain(False)),
        Case("batch.vein_listened", "vein batch, '*' listener (10 events at the end)", batch(True)),
        Case("batch.plain_listened", "vein 10 writes, no batch, '*' listener (10 events)", plain(True)),
        Case("batch.attrs", "attrs 10 writes (info)", attrs_ten),
    ]


# --- 8: import and cold start, in fresh interpreters --------------------------------------------

IMPORT_SNIPPETS = {
    "import.attrs_cattrs": ("import attrs + cattrs", "import attrs, cattrs"),
    "import.vein": ("import vein", "import vein"),
    "import.vein_cold": (
        "import vein + define schema + first env load",
        "import vein\nimport load_schema\n_s = vein.load(load_schema.Settings, vein.from_env('APP_'))",
    ),
}

_PROBE = """\
import sys, time
sys.path[:0] = {paths!r}
_t0 = time.perf_counter()
{code}
_t1 = time.perf_counter()
_extra = ''
if 'load_schema' in sys.modules:
    try:
        sys.modules['load_schema'].check_settings(_s)
    except AssertionError as exc:
        _extra = 'CHECK FAILED: ' + str(exc)
print(repr((_t1 - _t0, 'yaml' in sys.modules, 'boto3' in sys.modules, _extra)))
"""


def run_imports(runs: int) -> dict[str, Any]:
    paths = [str(BENCH), str(ROOT)]
    for key in ("purelib", "platlib"):
        p = sysconfig.get_paths()[key]
        if p not in paths:
            paths.append(p)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "NOISE_VAR_", "PYTHON"))}
    env.update(ENV_FULL)
    env.update({f"NOISE_VAR_{i:04d}": f"unrelated value number {i}" for i in range(UNRELATED_DEFAULT)})
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vein-bench-pyc-") as pyc:
        env["PYTHONPYCACHEPREFIX"] = pyc  # bytecode cached (warm-up run), outside the repo
        times: dict[str, list[float]] = {k: [] for k in IMPORT_SNIPPETS}
        flags: dict[str, tuple[bool, bool, str]] = {}
        for r in range(runs + 1):  # run 0 is the warm-up that writes the bytecode cache
            for key, (_label, code) in IMPORT_SNIPPETS.items():
                src = _PROBE.format(paths=paths, code=code)
                proc = subprocess.run([sys.executable, "-S", "-c", src], env=env, cwd=str(ROOT),
                                      capture_output=True, text=True, timeout=120)
                if proc.returncode != 0:
                    raise RuntimeError(f"{key} failed:\n{proc.stderr}")
                seconds, has_yaml, has_boto3, extra = eval(proc.stdout.strip().splitlines()[-1])  # noqa: S307
                if r:
                    times[key].append(seconds)
                flags[key] = (has_yaml, has_boto3, extra)
        for key, (label, _code) in IMPORT_SNIPPETS.items():
            has_yaml, has_boto3, extra = flags[key]
            out[key] = {
                "label": label,
                "seconds": statistics.median(times[key]),
                "best": min(times[key]),
                "all": times[key],
                "yaml_imported": has_yaml,
                "boto3_imported": has_boto3,
                "check": extra or "ok",
            }
    return out


# --- targets and the report ---------------------------------------------------------------


@dataclass
class Target:
    name: str
    value: float | None  # the measured ratio
    op: str  # "<=" or ">="
    limit: float
    how: str  # how the ratio is formed
    unit: str = "x"  # "x": a ratio; "ms": milliseconds

    @property
    def status(self) -> str:
        if self.value is None:
            return "n/a"
        ok = self.value <= self.limit if self.op == "<=" else self.value >= self.limit
        return "PASS" if ok else "MISS"


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


FLAT_LIMIT = 1.25  # "flat": 1000 unrelated variables cost at most this much more than none


def targets(runner: Runner, imports: dict[str, Any] | None, watch: list[dict[str, Any]] | None = None,
            file_ratio: float | None = None) -> list[Target]:
    t = runner.t
    out = [Target("field read: vein / attrs", ratio(t("read.vein"), t("read.attrs")), "<=", 1.1,
                  "vein ns / attrs ns")]
    for key, (label, pure) in WRITE_PEERS.items():
        if pure:
            out.append(Target(f"validated write + listener: {label.split(' (')[0]} / vein",
                              ratio(t(key), t("write.vein")), ">=", 5.0, "peer ns / vein ns"))
    out.append(Target("validated write + listener: vein / atom", ratio(t("write.vein"), t("write.atom")),
                      "<=", 1.7, "vein ns / atom ns"))
    out.append(Target("nested write heard by root / direct", ratio(t("nested.root"), t("nested.direct")),
                      "<=", 1.2, "o.child.value (root listener) / child.value (own listener)"))
    out.append(Target("construction: vein / attrs", ratio(t("construct.vein"), t("construct.attrs")),
                      "<=", 2.5, "GC on"))
    out.append(Target("env load: pydantic-settings / vein", ratio(t("env.pydantic_settings"), t("env.vein")),
                      ">=", 15.0, "100 unrelated vars"))
    out.append(Target("env load flat: vein 1000 / 0 unrelated vars",
                      ratio(t("envflat.vein.1000"), t("envflat.vein.0")), "<=", FLAT_LIMIT,
                      "bench's definition of 'flat'"))
    out.append(Target("YAML load: vein / bare CSafeLoader parse", ratio(t("yaml.vein"), t("yaml.bare")),
                      "<=", 1.25, "new source object per load"))
    out.append(Target("env + YAML: pydantic-settings / vein", ratio(t("merge.pydantic_settings"), t("merge.vein")),
                      ">=", 8.0, "yaml base + 6 env overrides"))
    if imports:
        cold = imports["import.vein_cold"]["seconds"]
        base = imports["import.attrs_cattrs"]["seconds"]
        out.append(Target("import vein + define + first load / import attrs+cattrs", ratio(cold, base),
                          "<=", 1.4, "fresh interpreters, median"))
        yaml_in = imports["import.vein"]["yaml_imported"]
        boto_in = imports["import.vein"]["boto3_imported"]
        out.append(Target("import vein: yaml not imported", 0.0 if not yaml_in else 1.0, "<=", 0.0, "sys.modules"))
        out.append(Target("import vein: boto3 not imported", 0.0 if not boto_in else 1.0, "<=", 0.0, "sys.modules"))
    for row in watch or []:
        if "target" in row or row.get("check") == "skipped":
            how = row["label"].split(", ", 1)[-1]
            what = "max latency" if row["name"] == "watch.inotify" else "max latency - interval"
            out.append(Target(f"watch, {how}: {what}", row.get("over_interval_max"), "<=", SLACK_MS,
                              row.get("target", "skipped"), unit="ms"))
    if "silent.vein_base" in runner.cases:
        ref = BASELINE.ref or "?"
        out.append(Target(f"issue 5: no-listener write, vein now / before issue 5 ({ref[:10]})",
                          ratio(t("silent.vein"), t("silent.vein_base")), "<=", NOT_SLOWER,
                          "same class, round-robin in this run; 5% allowance for noise"))
    elif BASELINE.file is not None:
        out.append(Target(f"issue 5: no-listener write vs {BASELINE.file.name} (vein/attrs now / then)",
                          ratio(ratio(t("silent.vein"), t("silent.attrs")), file_ratio), "<=", NOT_SLOWER,
                          "ratios to attrs of two runs; 5% allowance for noise"))
    return out


SLACK_MS = 50.0  # SPEC §12: within one poll interval + 50 ms
NOT_SLOWER = 1.05  # issue 5: "must not get slower" (best-of-N timings still move a few %)


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ns = seconds * 1e9
    if ns < 1000:
        return f"{ns:.1f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns / 1e6:.2f} ms"


def spread(case: Case) -> str:
    """How far the median slice is above the best one: the noise this case saw."""
    if not case.slices:
        return "-"
    best = min(case.slices)
    return f"{(statistics.median(case.slices) / best - 1) * 100:.0f}%" if best > 0 else "-"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:.2f}x" if r >= 0.1 or r == 0 else f"{r:.2g}x"


SECTIONS = [
    ("1. field read", "read", "read.attrs", "vs attrs"),
    ("2. validated write + 1 listener (alternating values: every write emits)", "write", "write.vein", "vs vein"),
    ("3a. write without listener (issue 5: not slower than before it)", "silent", "silent.attrs", "vs attrs"),
    ("3b. nested write heard by the root", "nested", "nested.direct", "vs direct"),
    ("4. construction, GC on", "construct", "construct.attrs", "vs attrs"),
    ("5a. env load, 29 vars", "env", "env.vein", "vs vein"),
    ("5b. env load vs unrelated variables", "envflat", "envflat.vein.0", "vs vein@0"),
    (f"6. YAML load ({len(YAML_TEXT.encode())}-byte file)", "yaml", "yaml.bare", "vs bare parse"),
    ("7. YAML base + 6 env overrides", "merge", "merge.vein", "vs vein"),
]

STATE_SECTIONS = [
    ("9. snapshot of the ~30-field schema (29 leaves), per snapshot / copy", "snapshot", "snapshot.asdict",
     "vs asdict"),
    ("10. @vein.computed read vs a plain attribute read", "computed", "computed.field", "vs field"),
    (f"11a. list append, small list (reset to empty every {APPENDS * LIST_CHUNK} appends)", "listsmall",
     "listsmall.plain", "vs plain list"),
    (f"11b. list append, large list ({LARGE_LIST:,} items + up to {APPENDS * LIST_CHUNK})", "listlarge",
     "listlarge.plain", "vs plain list"),
    ("12. 10 writes to 10 fields: batch vs no batch (per 10 writes)", "batch", "batch.plain", "vs 10 writes"),
]


def report_sections(runner: Runner, sections: list[tuple[str, str, str, str]], lines: list[str]) -> None:
    w = 58
    for title, prefix, base_key, base_label in sections:
        rows = [c for k, c in runner.cases.items() if k.split(".")[0] == prefix]
        if not rows:
            continue
        lines.append("")
        lines.append(f"== {title}")
        lines.append(f"   {'case':<{w}} {'per op':>10}  {base_label:>13}  {'spread':>6}  check")
        base = runner.t(base_key)
        helpers = {c.minus for c in rows if c.minus}
        for c in rows:
            r = None if c.key in helpers else ratio(c.seconds, base)  # a subtracted write: no ratio
            note = f" ({c.note})" if c.note else ""
            lines.append(
                f"   {c.label:<{w}} {fmt_time(c.seconds):>10}  {fmt_ratio(r):>13}  {spread(c):>6}  {c.status}{note}"
            )


def report_watch(watch: list[dict[str, Any]] | None, appconfig: list[dict[str, Any]] | None,
                 lines: list[str]) -> None:
    w = 58
    if watch:
        lines.append("")
        lines.append("== 13. watch latency: file write -> subscriber callback (SPEC: within one poll interval + 50 ms)")
        lines.append(f"   {'case':<{w}} {'samples':>7} {'median':>9} {'p90':>9} {'max':>9}  {'max - interval':>14}"
                     "  check")
        for row in watch:
            if row.get("value") is None:
                lines.append(f"   {row['label']:<{w}} {'-':>7} {'-':>9} {'-':>9} {'-':>9}  {'-':>14}  {row['check']}"
                             + (f" ({row['note']})" if row.get("note") else ""))
                continue
            over = f"{row['over_interval_max']:+.2f} ms"
            if row["name"] == "watch.inotify":
                over += " (*)"
            lines.append(
                f"   {row['label']:<{w}} {row['samples']:>7} {row['median']:>6.2f} ms {row['p90']:>6.2f} ms "
                f"{row['max']:>6.2f} ms  {over:>14}  {row['check']}"
            )
        lines.append("   (*) file events: no interval to wait for, so the whole latency is counted")
    if appconfig:
        lines.append("")
        lines.append("== 14. one AppConfig poll answering 'unchanged' (real boto3 over HTTP to tests/appconfig_server.py;"
                     " best round's median)")
        lines.append(f"   {'case':<{w}} {'per poll':>10}  {'vs bare boto3':>13}  {'spread':>6}  check")
        for row in appconfig:
            if row.get("value") is None:
                lines.append(f"   {row['label']:<{w}} {'-':>10}  {'-':>13}  {'-':>6}  {row['check']}"
                             + (f" ({row['note']})" if row.get("note") else ""))
                continue
            rounds = row.get("rounds") or [row["value"]]
            spread_ = f"{(statistics.median(rounds) / min(rounds) - 1) * 100:.0f}%"
            lines.append(f"   {row['label']:<{w}} {fmt_time(row['value'] / 1e6):>10}  "
                         f"{fmt_ratio(row['ratio_to_bare']):>13}  {spread_:>6}  {row['check']}")


def report(runner: Runner, imports: dict[str, Any] | None, tgts: list[Target],
           watch: list[dict[str, Any]] | None = None, appconfig: list[dict[str, Any]] | None = None) -> str:
    lines: list[str] = []
    w = 58
    report_sections(runner, SECTIONS, lines)
    if imports:
        lines.append("")
        lines.append("== 8. import, fresh interpreters (python -S), median")
        base = imports["import.attrs_cattrs"]["seconds"]
        best_base = imports["import.attrs_cattrs"]["best"]
        lines.append(f"   {'case':<{w}} {'median':>10}  {'vs attrs+cattrs':>15}  {'best':>9} {'(ratio)':>7}"
                     "  yaml/boto3 imported, check")
        for item in imports.values():
            lines.append(
                f"   {item['label']:<{w}} {fmt_time(item['seconds']):>10}  "
                f"{fmt_ratio(ratio(item['seconds'], base)):>15}  {fmt_time(item['best']):>9} "
                f"{fmt_ratio(ratio(item['best'], best_base)):>7}  "
                f"{item['yaml_imported']}/{item['boto3_imported']}, {item['check']}"
            )
    report_sections(runner, STATE_SECTIONS, lines)
    report_watch(watch, appconfig, lines)
    lines.append("")
    lines.append("== SPEC §12 targets (and issue 5's)")
    tw = 74
    lines.append(f"   {'target':<{tw}} {'measured':>9}  {'goal':>8}  status")
    for tg in tgts:
        if tg.name.startswith("import vein:"):
            measured = "no" if tg.value == 0.0 else "YES"
            goal = "no"
        elif tg.unit == "ms":
            measured = "-" if tg.value is None else f"{tg.value:+.1f} ms"
            goal = f"{tg.op} {tg.limit:g} ms"
        else:
            measured, goal = fmt_ratio(tg.value), f"{tg.op} {tg.limit:g}x"
        lines.append(f"   {tg.name:<{tw}} {measured:>9}  {goal:>8}  {tg.status}")
    met = sum(tg.status == "PASS" for tg in tgts)
    lines.append(f"   {met}/{len(tgts)} targets met")
    return "\n".join(lines)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    for dist in ("attrs", "cattrs", "PyYAML", "psygnal", "traitlets", "param", "pydantic",
                 "pydantic-settings", "atom"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


GROUPS = ("read", "write", "silent", "nested", "construct", "env", "envflat", "yaml", "merge", "import",
          "snapshot", "computed", "list", "batch", "watch", "appconfig")


def run_info() -> dict[str, Any]:
    """The commit measured (and whether vein/ had uncommitted changes), for later comparisons."""
    try:
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--", "vein")
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "vein_uncommitted_changes": None}
    return {
        "commit": head.stdout.decode().strip() or None if head.returncode == 0 else None,
        "vein_uncommitted_changes": bool(dirty.stdout.strip()) if dirty.returncode == 0 else None,
    }


def watch_failed(rows: list[dict[str, Any]] | None) -> bool:
    return any(row.get("check") not in ("ok", "skipped") for row in rows or [])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few short rounds: proves it runs (rough numbers)")
    ap.add_argument("--json", metavar="FILE", help="write every case, ratio and target as JSON")
    ap.add_argument("--rounds", type=int, help="round-robin rounds per group (default 60; --quick: 2); "
                                               f"snapshot/computed/list/batch run 1/{STATE_ROUNDS_SHARE} of them")
    ap.add_argument("--slice", type=float, help="seconds per timed slice (default 0.025; --quick: 0.003)")
    ap.add_argument("--import-runs", type=int, help="fresh interpreters per import case (default 9; --quick: 1)")
    ap.add_argument("--only", help="comma-separated groups: " + ",".join(GROUPS))
    ap.add_argument("--baseline", default=BASELINE_REF, metavar="REF|FILE.json|none",
                    help="the no-listener write before issue 5: vein at git REF timed in this run (default "
                         f"{BASELINE_REF}), or an earlier run's JSON, or none")
    args = ap.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 60)
    state_rounds = max(2, rounds // STATE_ROUNDS_SHARE)
    slice_s = args.slice or (0.003 if args.quick else 0.025)
    import_runs = args.import_runs or (1 if args.quick else 9)
    only = set(args.only.split(",")) if args.only else None
    if only is not None and only - set(GROUPS):
        ap.error(f"unknown group(s) {', '.join(sorted(only - set(GROUPS)))}; groups: {', '.join(GROUPS)}")
    file_ratio: float | None = None
    if args.baseline.lower() != "none":
        if args.baseline.endswith(".json"):
            BASELINE.file = Path(args.baseline)
            try:
                file_ratio = baseline_from_file(BASELINE.file)
            except (OSError, ValueError) as exc:
                ap.error(f"--baseline {args.baseline}: {exc}")
        else:
            BASELINE.ref = args.baseline

    def wanted(name: str) -> bool:
        return only is None or name in only

    info = versions()
    print("vein benchmark (SPEC §12) —", ", ".join(f"{k} {v}" for k, v in info.items()))
    print(f"rounds={rounds} (issue-5 groups {state_rounds}) slice={slice_s}s import_runs={import_runs}; "
          f"environment: {len(os.environ)} variables before the bench adds its own")
    started = time.perf_counter()
    cpu_started = time.process_time()
    runner = Runner(rounds, slice_s)
    gc.collect()
    watch_rows: list[dict[str, Any]] | None = None
    appconfig_rows: list[dict[str, Any]] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="vein-bench-") as tmp:
            lc = LoadCases(Path(tmp))
            BASELINE.workdir = Path(tmp)
            groups: list[tuple[str, Callable[[], list[Case]], int]] = [
                ("read", group_read, rounds),
                ("write", group_write, rounds),
                ("silent", group_write_nolistener, rounds),
                ("nested", group_nested, rounds),
                ("construct", group_construct, rounds),
                ("env", lambda: group_env(lc), rounds),
                ("envflat", lambda: group_env_flat(lc), rounds),
                ("yaml", lambda: group_yaml(lc), rounds),
                ("merge", lambda: group_merge(lc), rounds),
                ("snapshot", lambda: group_snapshot(lc), state_rounds),
                ("computed", group_computed, state_rounds),
                ("list", lambda: list_cases(0) + list_cases(LARGE_LIST), state_rounds),
                ("batch", group_batch, state_rounds),
            ]
            for name, make, n in groups:
                if wanted(name):
                    t0 = time.perf_counter()
                    runner.group(make(), n)
                    print(f"  {name}: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    finally:
        restore_env()
    wall = time.perf_counter() - started
    cpu_share = (time.process_time() - cpu_started) / wall if wall > 0 else 1.0
    if wanted("watch") or wanted("appconfig"):
        import bench_watch

        if wanted("watch"):
            t0 = time.perf_counter()
            watch_rows = bench_watch.run_watch(args.quick)
            print(f"  watch: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
        if wanted("appconfig"):
            t0 = time.perf_counter()
            appconfig_rows = bench_watch.run_appconfig(args.quick)
            print(f"  appconfig: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
        if watch_failed(watch_rows) or watch_failed(appconfig_rows):
            runner.failed = True
    imports = None
    if wanted("import"):
        t0 = time.perf_counter()
        imports = run_imports(import_runs)
        print(f"  import: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
        if any(item["check"] != "ok" for item in imports.values()):
            runner.failed = True
    tgts = targets(runner, imports, watch_rows, file_ratio)
    print(report(runner, imports, tgts, watch_rows, appconfig_rows))
    print(f"\n(total {time.perf_counter() - started:.0f}s; ratios are what count — absolute times depend on the machine)")
    print(f"CPU share of the timeit part: {cpu_share:.0%}"
          + ("" if cpu_share >= 0.9 else
             " — the machine was busy (other processes took CPU): expect noise; 'spread' shows how much"))
    if args.json:
        t = runner.t
        data = {
            "meta": {**info, **run_info(), "rounds": rounds, "state_rounds": state_rounds, "slice": slice_s,
                     "import_runs": import_runs, "cpu_share": cpu_share, "quick": args.quick,
                     "schema_leaves": len(EXPECTED) - 1 + len(EXPECTED["features"])},
            "cases": {
                k: {"label": c.label, "seconds_per_op": c.seconds, "check": c.status, "note": c.note,
                    "slices": c.slices}
                for k, c in runner.cases.items()
            },
            # this run's no-listener write, for a later `--baseline this.json`
            "no_listener_write": {
                "vein_seconds": t("silent.vein"),
                "attrs_seconds": t("silent.attrs"),
                "ratio_to_attrs": ratio(t("silent.vein"), t("silent.attrs")),
                "baseline_ref": BASELINE.ref if "silent.vein_base" in runner.cases else None,
                "baseline_seconds": t("silent.vein_base"),
                "ratio_to_baseline": ratio(t("silent.vein"), t("silent.vein_base")),
                "baseline_file": str(BASELINE.file) if BASELINE.file else None,
                "baseline_file_ratio_to_attrs": file_ratio,
            },
            "watch": watch_rows,
            "appconfig": appconfig_rows,
            "imports": imports,
            "targets": [
                {"name": tg.name, "ratio": tg.value, "op": tg.op, "limit": tg.limit, "status": tg.status,
                 "how": tg.how, "unit": tg.unit}
                for tg in tgts
            ],
        }
        Path(args.json).write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    if runner.failed:
        print("\nSOME CORRECTNESS CHECKS FAILED (see 'check' above): those comparisons are not like for like.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
