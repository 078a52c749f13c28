"""``vein.from_dotenv``: a ``.env`` file read like the environment, as a file layer of its
own (real files, python-dotenv's parser), and the corpus' real ``.env`` files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import vein

pytest.importorskip("dotenv")


@vein.flow
class Db:
    host: str = "localhost"
    port: int = 5432
    password: str = vein.field(default="", secret=True)


@vein.flow
class Settings:
    name: str = "app"
    debug: bool = False
    version: str = "0"
    db: Db = vein.field(factory=Db)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def test_variables_are_converted_like_the_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# settings\n"
        'APP_NAME="my app"\n'
        "export APP_DEBUG=yes\n"
        "APP_VERSION=1.10\n"
        "APP_DB__PORT=6543\n"
        "APP_DB__PASSWORD='pw-in-dotenv'\n",
    )
    s = vein.load(Settings, vein.from_dotenv(path, "APP_"))
    assert (s.name, s.debug, s.version, s.db.port) == ("my app", True, "1.10", 6543)
    assert s.db.password == "pw-in-dotenv"
    assert "pw-in-dotenv" not in repr(s)
    where = {p: str(s.explain(p)) for p in ("name", "debug", "db.port", "db.host")}
    assert where == {
        "name": f"{path}:2:1",
        "debug": f"{path}:3:1",
        "db.port": f"{path}:5:1",
        "db.host": "default",
    }
    assert "APP_NAME" not in os.environ  # nothing is written to the process environment


def test_interpolation_and_layering_with_the_real_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "BASE=db1\nAPP_DB__HOST=${BASE}.internal\nAPP_NAME=from-file\n")
    monkeypatch.setenv("APP_NAME", "from-env")
    s = vein.load(Settings, vein.from_dotenv(path, "APP_"), vein.from_env("APP_"))
    assert s.db.host == "db1.internal"
    assert s.name == "from-env"  # applied later: the real environment wins
    assert str(s.explain("name")) == "env APP_NAME"
    raw = vein.load(Settings, vein.from_dotenv(path, "APP_", interpolate=False))
    assert raw.db.host == "${BASE}.internal"


def test_a_reload_follows_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "APP_DB__PORT=1000\n")
    s = Settings()
    source = vein.from_dotenv(path, "APP_")
    s.update(source)
    s.name = "runtime"
    path.write_text("APP_DB__PORT=2000\nAPP_DEBUG=true\n", encoding="utf-8")
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 10**9))
    assert source.changed()
    changes = s.update(source)
    assert sorted(c.path for c in changes) == ["db.port", "debug"]
    assert (s.db.port, s.debug, s.name) == (2000, True, "runtime")


def test_bad_values_unknown_names_and_missing_files(tmp_path: Path) -> None:
    path = write(tmp_path, "APP_DB__PORT=many\nAPP_DB__PASSWROD=x\n")
    s = Settings()
    with pytest.warns(vein.VeinWarning, match="APP_DB__PASSWROD.*did you mean 'APP_DB__PASSWORD'"):
        with pytest.raises(vein.ValidationError) as info:
            s.update(vein.from_dotenv(path, "APP_"))
    (entry,) = info.value.errors
    assert entry.path == "db.port" and str(entry.source) == f"{path}:1:1"
    assert s.db.port == 5432
    with pytest.raises(vein.SourceError, match=r"\.env file not found"):
        s.update(vein.from_dotenv(tmp_path / "missing.env", "APP_"))
    s.update(vein.from_dotenv(tmp_path / "missing.env", "APP_", optional=True))
    binary = tmp_path / "bin.env"
    binary.write_bytes(b"APP_NAME=\x00\x01")
    with pytest.raises(vein.SourceError, match="NUL bytes"):
        s.update(vein.from_dotenv(binary, "APP_"))


CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real-configs" / "env"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the real-config corpus is not there")
@pytest.mark.parametrize(
    "name", sorted(p.name for p in CORPUS.glob("*")) if CORPUS.is_dir() else []
)
def test_corpus_env_files_load_schema_less(name: str) -> None:
    """Every real .env file of the corpus loads into the schema-less config: each variable
    that has a value becomes a key (``DB_HOST`` -> ``db_host``, ``A__B`` -> ``a.b``)."""
    from dotenv import dotenv_values

    path = CORPUS / name
    config = vein.Config()
    config.update(vein.from_dotenv(path))
    expected = {k.lower(): v for k, v in dotenv_values(path).items() if v not in (None, "")}
    flat = {}

    def walk(node: dict, prefix: str) -> None:
        for k, v in node.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}__")
            else:
                flat[prefix + k] = v

    walk(config.to_dict(), "")
    assert flat == expected


def test_unknown_names_say_where_they_are(tmp_path: Path) -> None:
    path = write(tmp_path, "APP_NAME=x\nAPP_DATABSE__HOST=db\n")
    with pytest.warns(vein.VeinWarning, match=rf"variable APP_DATABSE__HOST \({path}:2\)"):
        vein.load(Settings, vein.from_dotenv(path, "APP_"))


def test_a_file_read_without_the_prefix_its_names_use_says_so(tmp_path: Path) -> None:
    """No prefix: names that are a field's after some ``X_`` are pointed out (the file was
    written for this application); other unknown names stay quiet, as in the environment."""
    import warnings

    path = write(tmp_path, "APP_DEBUG=true\nAPP_DB__HOST=db\nLOCAL_PORT=1\nNAME=x\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = vein.load(Settings, vein.from_dotenv(path))
    assert (s.debug, s.db.host, s.name) == (False, "localhost", "x")
    texts = [str(w.message) for w in caught if issubclass(w.category, vein.VeinWarning)]
    assert len(texts) == 2
    assert "APP_DEBUG" in texts[0] and "with the prefix 'APP_' it would set 'debug'" in texts[0]
    assert "APP_DB__HOST" in texts[1] and "'db.host'" in texts[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same variables in the environment: silence
        vein.load(Settings, vein.from_env(environ={"APP_DEBUG": "true", "NAME": "y"}))


def test_the_command_line_reads_dotenv_with_the_env_prefix(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "app.py").write_text(
        "import vein\n\n@vein.flow\nclass S:\n    name: str = 'x'\n    port: int = 1\n",
        encoding="utf-8",
    )
    write(tmp_path, "APP_NAME=from-dotenv\nAPP_PORT=2\nAPP_PROT=3\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    env["APP_PORT"] = "9"
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = str(root)
    done = subprocess.run(
        [sys.executable, "-m", "vein", "show", "app.py:S", "--dotenv", ".env", "--env", "APP_",
         "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    import json

    shown = json.loads(done.stdout)
    assert shown["values"] == {"name": "from-dotenv", "port": 9}
    assert shown["sources"]["name"] == ".env:1:1" and shown["sources"]["port"] == "env APP_PORT"
    assert "APP_PROT (.env:3)" in done.stderr


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("APP_NAME=ok\nAPP_DB__PORT: 5\n", 2),
        ("APP_DB__PORT 5\n", 1),
        ("# c\n-APP_DB__PORT=4\n", 2),
    ],
)
def test_a_line_python_dotenv_cannot_read_is_an_error(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    s = Settings()
    with pytest.raises(vein.SourceError) as info:
        s.update(vein.from_dotenv(path, "APP_"))
    assert (info.value.line, info.value.column) == (line, 1)
    assert s.db.port == 5432


def test_lines_of_a_quoted_value_over_several_lines(tmp_path: Path) -> None:
    path = write(tmp_path, 'APP_DB__PORT=3\nAPP_NAME="x\nAPP_DB__PORT=9"\n')
    s = vein.load(Settings, vein.from_dotenv(path, "APP_"))
    assert s.db.port == 3 and s.name == "x\nAPP_DB__PORT=9"
    assert str(s.explain("db.port")) == f"{path}:1:1"


def test_errors_of_reading_the_variables_point_into_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "APP_NAME=a\nAPP_DB__HOST=\n")
    with pytest.raises(vein.ValidationError) as info:
        vein.load(Settings, vein.from_dotenv(path, "APP_", empty="error"))
    assert str(info.value.errors[0].source) == f"{path}:2:1"
