"""The ``vein`` command, run as a real subprocess (``python -m vein``) on real files and env."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import vein

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

# The schema most tests load: every kind of field the CLI has to print or describe.
MYAPP = '''\
"""Settings of the test service."""
import datetime
import enum
import pathlib
from typing import Literal

from attrs import validators as v

import vein


class Level(enum.Enum):
    DEBUG = "debug"
    INFO = "info"


@vein.flow
class Db:
    """Database connection."""

    host: str = vein.field(default="localhost", doc="Server host.")
    port: int = vein.field(default=5432, validator=[v.ge(1), v.le(65535)])
    password: str = vein.field(default="default-pw-123", secret=True)
    pin: int = vein.field(default=0, secret=True)


@vein.flow
class Settings:
    """The service."""

    name: str = vein.field(doc="Service name.")
    level: Level = Level.INFO
    mode: Literal["a", "b"] = "a"
    debug: bool = False
    ratio: float = 0.5
    tags: list[str] = vein.field(factory=list)
    limits: dict[str, int] = vein.field(factory=dict)
    home: pathlib.Path = pathlib.Path("/srv")
    started: datetime.datetime | None = None
    code: str = vein.field(default="x", key="short-code")
    db: Db = vein.field(factory=Db)


class NotFlow:
    pass
'''

CONFIG = """\
# test config
name: shop
tags: [a, b]
db:
  host: db.example.com
  port: 6543
"""


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m vein ARGS`` in *cwd*, with a clean VT_*/APP_* environment plus *env*."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("VT_", "APP_"))}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "vein", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def where(path: Path, key_line: str) -> str:
    """``file:line:col`` of the first line of *path* that holds *key_line* (1-based)."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        col = line.find(key_line)
        if col >= 0:
            return f"{path.name}:{i}:{col + 1}"
    raise AssertionError(f"{key_line!r} not in {path}")


def table(stdout: str) -> dict[str, tuple[str, str]]:
    """Rows of the table: ``{path: (value, source)}``; the columns are 2+ spaces apart."""
    lines = stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["PATH", "VALUE", "SOURCE"]
    rows = {}
    for line in lines[1:]:
        path, value, source = re.split(r"\s{2,}", line)
        rows[path] = (value, source)
    return rows


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "myapp.py").write_text(MYAPP)
    (tmp_path / "cfg.yml").write_text(CONFIG)
    return tmp_path


# --- show ------------------------------------------------------------------------------


def test_show_table_values_and_provenance(project: Path) -> None:
    r = run("show", "myapp:Settings", "--yaml", "cfg.yml", "--env", "VT_", cwd=project,
            env={"VT_LEVEL": "debug", "VT_DB__PORT": "7000"})
    assert r.returncode == 0, r.stderr
    rows = table(r.stdout)
    cfg = project / "cfg.yml"
    assert rows["db.host"] == ("db.example.com", where(cfg, "host:"))
    assert rows["name"] == ("shop", where(cfg, "name:"))
    assert rows["tags"] == ('["a", "b"]', where(cfg, "tags:"))
    # env comes after the file on the command line, so it wins over the file's 6543
    assert rows["db.port"] == ("7000", "env VT_DB__PORT")
    assert rows["level"] == ("debug", "env VT_LEVEL")
    assert rows["ratio"] == ("0.5", "default")
    assert rows["debug"] == ("false", "default")
    assert rows["started"] == ("null", "default")
    assert rows["home"] == ("/srv", "default")
    assert rows["db.password"] == ("***", "default")
    assert set(rows) == {
        "name", "level", "mode", "debug", "ratio", "tags", "limits", "home", "started", "code",
        "db.host", "db.port", "db.password", "db.pin",
    }
    assert r.stderr == ""


def test_show_keeps_the_order_of_sources_across_kinds(project: Path) -> None:
    env = {"VT_DB__PORT": "7000"}
    file_last = run("show", "myapp:Settings", "--env", "VT_", "--yaml", "cfg.yml", cwd=project, env=env)
    env_last = run("show", "myapp:Settings", "--yaml", "cfg.yml", "--env", "VT_", cwd=project, env=env)
    assert table(file_last.stdout)["db.port"] == ("6543", where(project / "cfg.yml", "port:"))
    assert table(env_last.stdout)["db.port"] == ("7000", "env VT_DB__PORT")


def test_show_table_quotes_text_that_looks_like_another_type(project: Path) -> None:
    (project / "cfg.yml").write_text("name: '007'\nshort-code: 'true'\n")
    r = run("show", "myapp:Settings", "--yaml", "cfg.yml", cwd=project)
    rows = table(r.stdout)
    assert rows["name"][0] == '"007"'
    assert rows["code"][0] == '"true"'


def test_show_json_values_and_sources(project: Path) -> None:
    r = run("show", "myapp:Settings", "--yaml", "cfg.yml", "--env", "VT_", "--format", "json",
            cwd=project, env={"VT_LEVEL": "debug"})
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"values", "sources"}
    values, sources = doc["values"], doc["sources"]
    assert values["db"] == {"host": "db.example.com", "port": 6543, "password": "***", "pin": "***"}
    assert values["tags"] == ["a", "b"]
    assert values["level"] == "debug"
    assert values["started"] is None
    assert values["short-code"] == "x"  # the file key, not the attribute name
    assert sources["db.host"] == where(project / "cfg.yml", "host:")
    assert sources["level"] == "env VT_LEVEL"
    assert sources["short-code"] == "default"
    assert set(sources) == {
        "name", "level", "mode", "debug", "ratio", "tags", "limits", "home", "started",
        "short-code", "db.host", "db.port", "db.password", "db.pin",
    }


def test_show_yaml_loads_back_and_comments_each_source(project: Path) -> None:
    args = ("show", "myapp:Settings", "--yaml", "cfg.yml", "--env", "VT_")
    env = {"VT_LEVEL": "debug"}
    as_yaml = run(*args, "-f", "yaml", cwd=project, env=env)
    as_json = run(*args, "-f", "json", cwd=project, env=env)
    assert as_yaml.returncode == 0, as_yaml.stderr
    assert yaml.safe_load(as_yaml.stdout) == json.loads(as_json.stdout)["values"]
    lines = as_yaml.stdout.splitlines()
    host = next(line for line in lines if line.strip().startswith("host:"))
    assert host.startswith("  host: db.example.com")
    assert host.endswith("# " + where(project / "cfg.yml", "host:"))
    assert next(line for line in lines if line.startswith("level:")).endswith("# env VT_LEVEL")
    assert next(line for line in lines if line.startswith("ratio:")).endswith("# default")
    assert "db:" in lines  # nested section header without a comment


def test_show_the_example_like_the_demo() -> None:
    # The justfile's `demo` recipe and the README's first command.
    r = run("show", "app:Settings", "--yaml", "config.yml", "--env", "APP_", cwd=EXAMPLES,
            env={"APP_DATABASE__PASSWORD": "s3cret", "APP_LOG_LEVEL": "debug"})
    assert r.returncode == 0, r.stderr
    assert "s3cret" not in r.stdout + r.stderr
    rows = table(r.stdout)
    assert rows["database.password"] == ("***", "env APP_DATABASE__PASSWORD")
    assert rows["log_level"] == ("debug", "env APP_LOG_LEVEL")
    assert rows["server.port"] == ("8080", where(EXAMPLES / "config.yml", "port: 8080"))
    assert rows["database.port"] == ("5432", "default")
    check = run("check", "app:Settings", "--yaml", "config.yml", "--env", "APP_", cwd=EXAMPLES)
    assert check.returncode == 0, check.stdout + check.stderr


# --- secrets ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "yaml", "json"])
def test_secrets_masked_unless_asked(project: Path, fmt: str) -> None:
    token = "pw-" + secrets.token_hex(8)
    env = {"VT_DB__PASSWORD": token}
    args = ("show", "myapp:Settings", "--yaml", "cfg.yml", "--env", "VT_", "-f", fmt)
    hidden = run(*args, cwd=project, env=env)
    assert hidden.returncode == 0, hidden.stderr
    assert token not in hidden.stdout + hidden.stderr
    assert "default-pw-123" not in hidden.stdout + hidden.stderr  # a secret default too
    assert "***" in hidden.stdout
    shown = run(*args, "--show-secrets", cwd=project, env=env)
    assert token in shown.stdout


def test_secret_never_in_check_output_even_when_rejected(project: Path) -> None:
    token = "pin" + secrets.token_hex(6)  # not an integer: the pin is rejected
    pw = "pw-" + secrets.token_hex(8)
    r = run("check", "myapp:Settings", "--yaml", "cfg.yml", "--env", "VT_", cwd=project,
            env={"VT_DB__PIN": token, "VT_DB__PASSWORD": pw, "VT_DB__PORT": "0"})
    assert r.returncode == 1
    out = r.stdout + r.stderr
    assert "db.pin" in out and "env VT_DB__PIN" in out
    assert "db.port" in out
    assert token not in out and pw not in out


# --- check -----------------------------------------------------------------------------


def test_check_ok(project: Path) -> None:
    r = run("check", "myapp:Settings", "--yaml", "cfg.yml", "--env", "VT_", cwd=project,
            env={"VT_LEVEL": "debug"})
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("OK myapp:Settings")
    # 14 leaves: 5 from the file (name, tags, db.host, db.port) ... counted by source
    assert "14 values" in lines[0]
    assert "4 from cfg.yml" in lines[0] and "1 from env VT_*" in lines[0]


def test_check_lists_every_problem_with_its_location(project: Path) -> None:
    cfg = project / "cfg.yml"
    cfg.write_text(textwrap.dedent("""\
        tags: [a]
        ratio: fast
        mode: c
        db:
          port: 70000
          hots: db.example.com
        """))
    r = run("check", "myapp:Settings", "--yaml", "cfg.yml", "--env", "VT_", cwd=project,
            env={"VT_DEBUG": "perhaps"})
    assert r.returncode == 1
    out = r.stdout
    assert out.startswith("FAILED myapp:Settings: 6 problems")
    problems = {
        "ratio": where(cfg, "ratio:"),
        "mode": where(cfg, "mode:"),
        "db.port": where(cfg, "port:"),
        "db.hots": where(cfg, "hots:"),
        "debug": "env VT_DEBUG",
    }
    for path, location in problems.items():
        block = re.search(rf"^  {re.escape(path)}: (.*)\n      from (.*)$", out, re.M)
        assert block is not None, (path, out)
        assert block.group(2) == location
    assert "did you mean 'host'" in out
    assert "must be <= 65535" in out
    # the missing required field names what would set it
    assert re.search(r"^  name: required.*VT_NAME", out, re.M)


def test_check_unknown_env_variable_is_a_warning_with_did_you_mean(project: Path) -> None:
    env = {"VT_DB__HSOT": "db.example.com"}
    args = ("check", "myapp:Settings", "--yaml", "cfg.yml", "--env", "VT_")
    r = run(*args, cwd=project, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning: environment variable VT_DB__HSOT matches no field" in r.stdout
    assert "did you mean 'VT_DB__HOST'" in r.stdout
    assert r.stdout.count("VT_DB__HSOT") == 1  # reported once, not per read
    assert "VeinWarning" not in r.stderr and "warnings.warn" not in r.stderr  # no raw warning
    assert r.stdout.splitlines()[-1].startswith("OK myapp:Settings")
    strict = run(*args, "--strict", cwd=project, env=env)
    assert strict.returncode == 1
    shown = run("show", "myapp:Settings", "--yaml", "cfg.yml", "--env", "VT_", cwd=project, env=env)
    assert shown.returncode == 0
    assert "did you mean 'VT_DB__HOST'" in shown.stderr


def test_check_malformed_yaml_names_file_line_and_column(project: Path) -> None:
    bad = project / "bad.yml"
    bad.write_text("name: shop\ndb:\n  host: [a, b\n  port: 1\n")
    with pytest.raises(yaml.MarkedYAMLError) as info:
        yaml.safe_load(bad.read_text())
    mark = info.value.problem_mark
    assert mark is not None
    r = run("check", "myapp:Settings", "--yaml", "bad.yml", cwd=project)
    assert r.returncode == 1
    assert f"bad.yml:{mark.line + 1}:{mark.column + 1}" in r.stdout
    assert "Traceback" not in r.stderr


def test_check_reports_every_unreadable_source(project: Path) -> None:
    (project / "bad.yml").write_text("db: [\n")
    (project / "bad.json").write_text('{"name": ')
    r = run("check", "myapp:Settings", "--yaml", "bad.yml", "--json", "bad.json",
            "--toml", "missing.toml", cwd=project)
    assert r.returncode == 1
    assert "3 problems" in r.stdout
    assert re.search(r"in bad\.yml:\d+:\d+", r.stdout)
    assert re.search(r"in bad\.json:\d+:\d+", r.stdout)
    assert re.search(r"not found\n\s+in missing\.toml", r.stdout)
    assert "Traceback" not in r.stderr


def test_show_missing_file(project: Path) -> None:
    r = run("show", "myapp:Settings", "--yaml", "nope.yml", cwd=project)
    assert r.returncode == 1
    assert "nope.yml" in r.stderr and "not found" in r.stderr
    assert r.stdout == ""
    assert "Traceback" not in r.stderr


# --- TARGET and usage errors -------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("myapp", "must be module:Class"),
        ("nosuchmodule:Settings", "no module named 'nosuchmodule'"),
        ("myapp:Setings", "did you mean 'Settings'"),
        ("myapp:NotFlow", "not a vein flow class"),
        ("myapp:Level", "not a vein flow class"),
        ("missing.py:Settings", "file not found"),
        ("broken.py:Settings", "syntax error at"),
        ("raises.py:Settings", "RuntimeError: no database driver"),
    ],
)
def test_bad_target_is_a_usage_error(project: Path, target: str, message: str) -> None:
    (project / "broken.py").write_text("import vein\n\nclass Settings(\n")
    (project / "raises.py").write_text("import vein\n\nraise RuntimeError('no database driver')\n")
    r = run("check", target, cwd=project)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout == ""


def test_import_error_points_at_the_users_line(project: Path) -> None:
    # attrs refuses this class; the message names the user's file and line.
    (project / "order.py").write_text(textwrap.dedent("""\
        import vein

        @vein.flow
        class Settings:
            a: int = 1
            b: int
        """))
    r = run("check", "order.py:Settings", cwd=project)
    assert r.returncode == 2
    assert "the required field 'b' (no default) comes after fields with defaults" in r.stderr
    assert "order.py:3" in r.stderr
    assert "Traceback" not in r.stderr


def test_file_target_from_another_directory_with_sibling_import(tmp_path: Path) -> None:
    pkg = tmp_path / "src" / "svc"
    pkg.mkdir(parents=True)
    (pkg / "defaults.py").write_text("PORT = 8123\n")
    (pkg / "settings.py").write_text(textwrap.dedent("""\
        import vein
        from defaults import PORT

        @vein.flow
        class Settings:
            port: int = PORT
        """))
    (tmp_path / "c.yml").write_text("# nothing\n")
    r = run("show", "src/svc/settings.py:Settings", "--yaml", "c.yml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert table(r.stdout)["port"] == ("8123", "default")


@pytest.mark.parametrize(
    "args",
    [
        ["show", "myapp:Settings", "--bogus"],
        ["check", "myapp:Settings", "--yaml"],
        ["show", "myapp:Settings", "--format", "xml"],
        ["check", "myapp:Settings", "--appconfig", "only-one-part"],
        ["frobnicate"],
        [],
    ],
)
def test_usage_errors_exit_2(project: Path, args: list[str]) -> None:
    r = run(*args, cwd=project)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip()


def test_ctrl_c_exits_130_without_traceback(project: Path) -> None:
    # The target sends itself SIGINT while being imported: a real KeyboardInterrupt.
    (project / "interrupt.py").write_text(
        "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\nimport time\n"
        "for _ in range(1000):\n    time.sleep(0.01)\n"
    )
    r = run("check", "interrupt.py:Settings", cwd=project)
    assert r.returncode == 130
    assert "Traceback" not in r.stderr
    assert "KeyboardInterrupt" not in r.stderr


def test_help_and_version(tmp_path: Path) -> None:
    r = run("--help", cwd=tmp_path)
    assert r.returncode == 0
    for command in ("show", "check", "schema"):
        assert command in r.stdout
    show_help = run("show", "--help", cwd=tmp_path)
    assert show_help.returncode == 0
    for option in ("--yaml", "--env", "--json", "--toml", "--appconfig", "--format", "--show-secrets"):
        assert option in show_help.stdout
    assert '"values"' in show_help.stdout and '"sources"' in show_help.stdout  # the JSON layout
    version = run("--version", cwd=tmp_path)
    assert version.returncode == 0
    assert version.stdout.strip() == f"vein {vein.__version__}"


# --- schema-less (no TARGET) -----------------------------------------------------------


def test_show_without_target_uses_the_schemaless_config(project: Path) -> None:
    token = "pw-" + secrets.token_hex(8)
    r = run("show", "--yaml", "cfg.yml", "--env", "VT_", cwd=project,
            env={"VT_DB__PASSWORD": token, "VT_EXTRA": "1"})
    assert r.returncode == 0, r.stderr
    rows = table(r.stdout)
    assert rows["db.host"] == ("db.example.com", where(project / "cfg.yml", "host:"))
    assert rows["db.port"] == ("6543", where(project / "cfg.yml", "port:"))
    assert rows["extra"][1] == "env VT_EXTRA"
    assert rows["db.password"] == ("***", "env VT_DB__PASSWORD")  # secret by its name
    assert token not in r.stdout + r.stderr


# --- schema ----------------------------------------------------------------------------


def test_schema_is_json_schema_of_the_class(project: Path) -> None:
    r = run("schema", "myapp:Settings", cwd=project)
    assert r.returncode == 0, r.stderr
    schema = json.loads(r.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["title"] == "Settings"
    assert schema["description"] == "The service."
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert list(props) == [
        "name", "level", "mode", "debug", "ratio", "tags", "limits", "home", "started",
        "short-code", "db",
    ]
    assert props["name"] == {"description": "Service name.", "type": "string"}
    assert props["level"] == {"type": "string", "enum": ["debug", "info"], "default": "info"}
    assert props["mode"] == {"type": "string", "enum": ["a", "b"], "default": "a"}
    assert props["debug"] == {"type": "boolean", "default": False}
    assert props["ratio"] == {"type": "number", "default": 0.5}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "default": []}
    assert props["limits"] == {
        "type": "object", "additionalProperties": {"type": "integer"}, "default": {}
    }
    assert props["home"] == {"type": "string", "default": "/srv"}
    assert props["started"]["default"] is None
    assert {"type": "string", "format": "date-time"} in props["started"]["anyOf"]
    assert {"type": "null"} in props["started"]["anyOf"]
    db = props["db"]
    assert db["type"] == "object"
    assert db["description"] == "Database connection."
    assert db["additionalProperties"] is False
    assert "required" not in db and "required" not in ("db" in schema["required"] and db or {})
    assert db["properties"]["host"] == {
        "description": "Server host.", "type": "string", "default": "localhost"
    }
    assert db["properties"]["port"] == {
        "type": "integer", "minimum": 1, "maximum": 65535, "default": 5432
    }
    # a secret's default never appears; it is marked writeOnly
    assert db["properties"]["password"] == {"type": "string", "writeOnly": True}
    assert "default-pw-123" not in r.stdout


def test_schema_of_the_example_marks_sections_and_secrets() -> None:
    r = run("schema", "app:Settings", cwd=EXAMPLES)
    assert r.returncode == 0, r.stderr
    schema = json.loads(r.stdout)
    database = schema["properties"]["database"]["properties"]
    assert database["password"]["writeOnly"] is True
    assert "default" not in database["password"]
    assert schema["properties"]["log_level"]["enum"] == ["debug", "info", "warning", "error"]
    # every key of the bundled config file is a property the schema knows
    config = yaml.safe_load((EXAMPLES / "config.yml").read_text())
    for section, values in config.items():
        assert section in schema["properties"]
        if isinstance(values, dict) and "properties" in schema["properties"][section]:
            assert set(values) <= set(schema["properties"][section]["properties"])


def test_schema_requires_a_target(tmp_path: Path) -> None:
    r = run("schema", cwd=tmp_path)
    assert r.returncode == 2
    assert "TARGET" in r.stderr
