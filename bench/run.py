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

Options: ``--quick`` (a few short rounds: proves the code runs; the numbers are rough),
``--json FILE`` (every case, ratio and target), ``--only GROUP[,GROUP]``.
"""

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
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


@dataclass
class Case:
    key: str
    label: str
    build: Callable[[], Timed]
    before: Callable[[], None] | None = None  # e.g. set the environment; run before each slice
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

    def group(self, cases: list[Case]) -> None:
        """Check, calibrate and time *cases* round-robin."""
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
            number = calibrate(timer, self.slice_s)
            live.append((case, timed, timer, number))
        if not live:
            return
        empty = timeit.Timer("pass")
        empty_n = calibrate(empty, self.slice_s / 4)
        empty_best = float("inf")
        for r in range(self.rounds):
            order = live if r % 2 == 0 else list(reversed(live))
            empty_best = min(empty_best, empty.timeit(empty_n) / empty_n)
            for case, timed, timer, number in order:
                if case.before is not None:
                    case.before()
                per_loop = timer.timeit(number) / number
                case.slices.append(per_loop)
        for case, timed, _timer, _number in live:
            best = min(case.slices)
            case.seconds = max(best - empty_best, 0.0) / timed.ops

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


@vein.flow
class VChild:
    value: int = vein.field(default=0, validator=_RANGE_V)


@vein.flow
class VObj:
    i: int = vein.field(default=0, validator=_RANGE_V)
    s: str = ""
    f: float = 0.0
    b: bool = False
    child: VChild = attrs.Factory(VChild)


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

    return [
        Case("silent.vein", "vein, validated, no listener", vein_silent),
        Case("silent.attrs", "attrs, validated", lambda: Timed(WRITE_STMT, {"_o": AObj()}, WRITES, "o = _o")),
        Case("silent.atom", "atom Range, no observer", atom_silent),
        Case("silent.plain", "plain __slots__ class", plain),
    ]


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


def targets(runner: Runner, imports: dict[str, Any] | None) -> list[Target]:
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
    return out


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
    return "-" if r is None else f"{r:.2f}x"


SECTIONS = [
    ("1. field read", "read", "read.attrs", "vs attrs"),
    ("2. validated write + 1 listener (alternating values: every write emits)", "write", "write.vein", "vs vein"),
    ("3a. write without listener (info)", "silent", "silent.attrs", "vs attrs"),
    ("3b. nested write heard by the root", "nested", "nested.direct", "vs direct"),
    ("4. construction, GC on", "construct", "construct.attrs", "vs attrs"),
    ("5a. env load, 29 vars", "env", "env.vein", "vs vein"),
    ("5b. env load vs unrelated variables", "envflat", "envflat.vein.0", "vs vein@0"),
    (f"6. YAML load ({len(YAML_TEXT.encode())}-byte file)", "yaml", "yaml.bare", "vs bare parse"),
    ("7. YAML base + 6 env overrides", "merge", "merge.vein", "vs vein"),
]


def report(runner: Runner, imports: dict[str, Any] | None, tgts: list[Target]) -> str:
    lines: list[str] = []
    w = 58
    for title, prefix, base_key, base_label in SECTIONS:
        rows = [c for k, c in runner.cases.items() if k.split(".")[0] == prefix]
        if not rows:
            continue
        lines.append("")
        lines.append(f"== {title}")
        lines.append(f"   {'case':<{w}} {'per op':>10}  {base_label:>13}  {'spread':>6}  check")
        base = runner.t(base_key)
        for c in rows:
            r = ratio(c.seconds, base)
            note = f" ({c.note})" if c.note else ""
            lines.append(
                f"   {c.label:<{w}} {fmt_time(c.seconds):>10}  {fmt_ratio(r):>13}  {spread(c):>6}  {c.status}{note}"
            )
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
    lines.append("")
    lines.append("== SPEC §12 targets")
    lines.append(f"   {'target':<66} {'measured':>9}  {'goal':>8}  status")
    for tg in tgts:
        if tg.name.startswith("import vein:"):
            measured = "no" if tg.value == 0.0 else "YES"
            goal = "no"
        else:
            measured, goal = fmt_ratio(tg.value), f"{tg.op} {tg.limit:g}x"
        lines.append(f"   {tg.name:<66} {measured:>9}  {goal:>8}  {tg.status}")
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few short rounds: proves it runs (rough numbers)")
    ap.add_argument("--json", metavar="FILE", help="write every case, ratio and target as JSON")
    ap.add_argument("--rounds", type=int, help="round-robin rounds per group (default 60; --quick: 2)")
    ap.add_argument("--slice", type=float, help="seconds per timed slice (default 0.025; --quick: 0.003)")
    ap.add_argument("--import-runs", type=int, help="fresh interpreters per import case (default 9; --quick: 1)")
    ap.add_argument("--only", help="comma-separated groups: read,write,silent,nested,construct,env,envflat,"
                                   "yaml,merge,import")
    args = ap.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 60)
    slice_s = args.slice or (0.003 if args.quick else 0.025)
    import_runs = args.import_runs or (1 if args.quick else 9)
    only = set(args.only.split(",")) if args.only else None

    def wanted(name: str) -> bool:
        return only is None or name in only

    info = versions()
    print("vein benchmark (SPEC §12) —", ", ".join(f"{k} {v}" for k, v in info.items()))
    print(f"rounds={rounds} slice={slice_s}s import_runs={import_runs}; "
          f"environment: {len(os.environ)} variables before the bench adds its own")
    started = time.perf_counter()
    cpu_started = time.process_time()
    runner = Runner(rounds, slice_s)
    gc.collect()
    try:
        with tempfile.TemporaryDirectory(prefix="vein-bench-") as tmp:
            lc = LoadCases(Path(tmp))
            groups: list[tuple[str, Callable[[], list[Case]]]] = [
                ("read", group_read),
                ("write", group_write),
                ("silent", group_write_nolistener),
                ("nested", group_nested),
                ("construct", group_construct),
                ("env", lambda: group_env(lc)),
                ("envflat", lambda: group_env_flat(lc)),
                ("yaml", lambda: group_yaml(lc)),
                ("merge", lambda: group_merge(lc)),
            ]
            for name, make in groups:
                if wanted(name):
                    t0 = time.perf_counter()
                    runner.group(make())
                    print(f"  {name}: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    finally:
        restore_env()
    wall = time.perf_counter() - started
    cpu_share = (time.process_time() - cpu_started) / wall if wall > 0 else 1.0
    imports = None
    if wanted("import"):
        t0 = time.perf_counter()
        imports = run_imports(import_runs)
        print(f"  import: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
        if any(item["check"] != "ok" for item in imports.values()):
            runner.failed = True
    tgts = targets(runner, imports)
    print(report(runner, imports, tgts))
    print(f"\n(total {time.perf_counter() - started:.0f}s; ratios are what count — absolute times depend on the machine)")
    print(f"CPU share of the in-process part: {cpu_share:.0%}"
          + ("" if cpu_share >= 0.9 else
             " — the machine was busy (other processes took CPU): expect noise; 'spread' shows how much"))
    if args.json:
        data = {
            "meta": {**info, "rounds": rounds, "slice": slice_s, "import_runs": import_runs, "cpu_share": cpu_share,
                     "schema_leaves": len(EXPECTED) - 1 + len(EXPECTED["features"])},
            "cases": {
                k: {"label": c.label, "seconds_per_op": c.seconds, "check": c.status, "note": c.note,
                    "slices": c.slices}
                for k, c in runner.cases.items()
            },
            "imports": imports,
            "targets": [
                {"name": tg.name, "ratio": tg.value, "op": tg.op, "limit": tg.limit, "status": tg.status,
                 "how": tg.how}
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
