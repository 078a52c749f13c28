"""What ``import vein`` imports (SPEC §12: no boto3, no yaml; import time held to attrs +
cattrs).  Modules only some processes need are imported on first use; each is named here
so that a new top-level import of one of them shows up as a failing test, not as a slower
start nobody notices."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Imported on first use only: the optional extras, the file formats, and the standard
#: library modules vein needs only to report a mistake or log one.
NOT_ON_IMPORT = (
    "yaml",
    "boto3",
    "botocore",
    "watchdog",
    "dotenv",
    "tomllib",
    "logging",
    "difflib",
    "json",
    "decimal",
    "datetime",
    "vein.cli",
    "vein.watch",
    "vein.infer",
    "vein.sources.appconfig",
)


def imported_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\n_mods = sorted(sys.modules)\nimport json\nprint(json.dumps(_mods))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=str(ROOT), capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_vein_leaves_the_heavy_and_the_rare_modules_out() -> None:
    modules = imported_after("import vein")
    assert "vein" in modules
    assert [m for m in NOT_ON_IMPORT if m in modules] == []


def test_a_schema_and_an_env_load_need_none_of_them_either() -> None:
    code = (
        "import vein\n"
        "@vein.flow\n"
        "class Db:\n"
        "    host: str = 'localhost'\n"
        "    port: int = 5432\n"
        "@vein.flow\n"
        "class Settings:\n"
        "    debug: bool = False\n"
        "    db: Db = vein.field(factory=Db)\n"
        "import os\n"
        "os.environ['APP_DB__PORT'] = '6543'\n"
        "s = vein.load(Settings, vein.from_env('APP_'))\n"
        "assert s.db.port == 6543\n"
        "s.on_change('db', lambda c: None)\n"
        "s.db.host = 'db.internal'\n"
    )
    modules = imported_after(code)
    assert [m for m in NOT_ON_IMPORT if m in modules] == []


def test_decimal_and_date_fields_work_without_vein_importing_their_modules() -> None:
    """vein finds datetime and decimal types through sys.modules: a schema that uses them
    imported them itself, and they convert, check and dump as before."""
    code = (
        "import vein, datetime, decimal\n"
        "@vein.flow\n"
        "class S:\n"
        "    price: decimal.Decimal = decimal.Decimal('0')\n"
        "    day: datetime.date = datetime.date(2020, 1, 1)\n"
        "    at: datetime.datetime = datetime.datetime(2020, 1, 1)\n"
        "src = {'price': '1.10', 'day': '2026-12-04', 'at': '2026-12-04T06:41:00'}\n"
        "s = vein.load(S, vein.from_dict(src))\n"
        "assert s.price == decimal.Decimal('1.10') and str(s.price) == '1.10'\n"
        "assert s.day == datetime.date(2026, 12, 4)\n"
        "assert s.at == datetime.datetime(2026, 12, 4, 6, 41)\n"
        "assert vein.to_dict(s) == {'price': '1.10', 'day': '2026-12-04', 'at': '2026-12-04T06:41:00'}\n"
        "for bad in ({'day': '2026-12-04T06:41:00'}, {'price': 'x'}):\n"
        "    try:\n"
        "        vein.load(S, vein.from_dict(bad))\n"
        "    except vein.ValidationError as exc:\n"
        "        assert 'ISO 8601 date' in str(exc) or 'decimal number' in str(exc), str(exc)\n"
        "    else:\n"
        "        raise AssertionError(bad)\n"
        "try:\n"
        "    s.day = datetime.datetime(2026, 1, 1)\n"
        "except vein.ValidationError as exc:\n"
        "    assert 'ISO 8601 date' in str(exc), str(exc)\n"
        "else:\n"
        "    raise AssertionError('a date-time accepted as a date')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_what_is_left_out_still_works_when_needed() -> None:
    """A did-you-mean (difflib), a callback error (logging) and a YAML file (yaml) each
    bring their module in when they happen."""
    code = (
        "import vein, logging\n"
        "@vein.flow\n"
        "class S:\n"
        "    port: int = 1\n"
        "try:\n"
        "    vein.load(S, {'prot': 2})\n"
        "except vein.ValidationError as exc:\n"
        "    assert \"did you mean 'port'\" in str(exc), str(exc)\n"
        "s = S()\n"
        "def boom(change):\n"
        "    raise RuntimeError('boom')\n"
        "s.on_change('port', boom)\n"
        "s.port = 3\n"
        "assert s.port == 3\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "RuntimeError" in out.stderr and "boom" in out.stderr  # logged on the vein logger


def test_the_namespace_holds_the_api_not_the_imports_behind_it() -> None:
    import vein

    assert not {"Any", "TYPE_CHECKING", "annotations"} & set(dir(vein))
    assert not any(hasattr(vein, name) for name in ("Any", "TYPE_CHECKING", "annotations"))
    assert set(vein.__all__) <= set(dir(vein))
