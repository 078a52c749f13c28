"""JSON and TOML files as sources: parsing errors, typing, dates, safety of the previous state."""

import datetime as dt
import json
import math
import re
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest

import vein


def recorder(obj: Any) -> list[vein.Change]:
    seen: list[vein.Change] = []
    obj.on_change("*", seen.append)
    return seen


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432


@vein.flow
class Settings:
    version: str = ""
    ratio: float = 0.0
    count: int = 0
    enabled: bool = False
    note: str | None = "n"
    day: dt.date | None = None
    at: dt.datetime | None = None
    tags: list[str] = vein.field(factory=list)
    data: dict[str, Any] = vein.field(factory=dict)
    anything: Any = None
    database: Database = vein.field(factory=Database)


FORMATS = {"json": vein.from_json, "toml": vein.from_toml}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(path: Path, **options: Any) -> Settings:
    source = FORMATS[path.suffix.lstrip(".")](path, **options)
    return vein.load(Settings, source)


def load_error(path: Path, error: type[vein.VeinError] = vein.VeinError, **options: Any) -> Any:
    """Apply *path* to an existing object: must fail with *error*, state and events untouched."""
    s = Settings()
    s.version = "before"
    s.database.port = 1
    before = vein.to_dict(s)
    seen = recorder(s)
    source = FORMATS[path.suffix.lstrip(".")](path, **options)
    with pytest.raises(error) as info:
        s.update(source)
    assert vein.to_dict(s) == before
    assert seen == []
    return info.value


def locate(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of offset *pos*."""
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


class TestJsonParsing:
    """JSON syntax errors name file, line and column; JSONC/JSON5 features are explained."""

    @pytest.mark.parametrize(
        "text",
        [
            '{"a": 1,\n "b": }\n',
            '{\n  "version": "1",\n  "count": 2\n',
            '{"version": "x" "count": 1}',
            "",
            "   \n",
            '{"tags": [1, 2}',
        ],
    )
    def test_error_location_matches_json_module(self, tmp_path: Path, text: str) -> None:
        path = write(tmp_path, "c.json", text)
        with pytest.raises(json.JSONDecodeError) as reference:
            json.loads(text)
        err = load_error(path, vein.SourceError)
        assert (err.line, err.column) == (reference.value.lineno, reference.value.colno)
        assert f"c.json:{err.line}:{err.column}" in str(err)
        assert "invalid JSON" in str(err)

    @pytest.mark.parametrize(
        ("text", "marker"),
        [
            ('{\n  "version": "1",\n  // a comment\n  "count": 1\n}\n', "//"),
            ('{\n  /* block */\n  "version": "1"\n}\n', "/*"),
            ('{"version": /* inline */ "1"}', "/*"),
        ],
    )
    def test_comments(self, tmp_path: Path, text: str, marker: str) -> None:
        err = load_error(write(tmp_path, "c.json", text), vein.SourceError)
        assert "comments" in str(err)
        assert (err.line, err.column) == locate(text, text.index(marker))

    @pytest.mark.parametrize("text", ['{"tags": ["a", "b",]}', '{"version": "1",\n}\n'])
    def test_trailing_commas(self, tmp_path: Path, text: str) -> None:
        err = load_error(write(tmp_path, "c.json", text), vein.SourceError)
        assert "trailing commas" in str(err)
        assert "comments" not in str(err)

    def test_url_is_not_a_comment(self, tmp_path: Path) -> None:
        """A ``//`` inside a string does not make an unrelated error look like a comment."""
        text = '{"version": "http://example.com/x", \'count\': 1}'
        err = load_error(write(tmp_path, "c.json", text), vein.SourceError)
        assert "comments" not in str(err)
        assert "trailing" not in str(err)

    def test_duplicate_keys(self, tmp_path: Path) -> None:
        err = load_error(
            write(tmp_path, "c.json", '{"version": "a", "version": "b"}'), vein.SourceError
        )
        assert "duplicate key 'version'" in str(err)

    def test_duplicate_nested_keys(self, tmp_path: Path) -> None:
        text = '{"database": {"port": 1, "port": 2}}'
        err = load_error(write(tmp_path, "c.json", text), vein.SourceError)
        assert "duplicate key 'port'" in str(err)

    @pytest.mark.parametrize(
        ("text", "kind"),
        [("[1, 2]", "a list"), ('"text"', "a string"), ("3", "a number"), ("true", "a boolean")],
    )
    def test_top_level_not_a_mapping(self, tmp_path: Path, text: str, kind: str) -> None:
        err = load_error(write(tmp_path, "c.json", text), vein.SourceError)
        assert "must be a mapping" in str(err)
        assert kind in str(err)


class TestJsonTyping:
    """JSON values into typed fields; float text is kept for ``str`` fields."""

    @pytest.mark.parametrize("number", ["1.10", "2.50", "1e3", "-0.0", "1E+2", "0.1000"])
    def test_float_text_kept_for_str(self, tmp_path: Path, number: str) -> None:
        s = load(write(tmp_path, "c.json", f'{{"version": {number}}}'))
        assert s.version == number

    def test_float_field(self, tmp_path: Path) -> None:
        s = load(write(tmp_path, "c.json", '{"ratio": 1.10, "count": 3}'))
        assert s.ratio == 1.1
        assert type(s.ratio) is float
        assert s.count == 3

    def test_int_into_float(self, tmp_path: Path) -> None:
        s = load(write(tmp_path, "c.json", '{"ratio": 2}'))
        assert s.ratio == 2.0
        assert type(s.ratio) is float

    def test_any_gets_numbers(self, tmp_path: Path) -> None:
        """Under ``Any`` the data equals what ``json.loads`` gives, floats included."""
        text = '{"anything": {"a": 1.10, "b": [1, 2.5, "x", null, true], "c": {"d": -1e-3}}}'
        s = load(write(tmp_path, "c.json", text))
        assert s.anything == json.loads(text)["anything"]
        assert type(s.anything["b"][1]) is float

    @pytest.mark.parametrize(
        ("text", "path"),
        [
            ('{"version": null}', "version"),
            ('{"version": true}', "version"),
            ('{"count": 1.5}', "count"),
            ('{"count": "x"}', "count"),
            ('{"enabled": 1}', "enabled"),
            ('{"ratio": 1e999}', "ratio"),
            ('{"tags": "a"}', None),
            ('{"database": {"port": "p"}}', "database.port"),
            ('{"database": 5}', "database"),
        ],
    )
    def test_wrong_types(self, tmp_path: Path, text: str, path: str | None) -> None:
        if path is None:
            # A string where a list is declared is a comma list (one item): not an error.
            assert load(write(tmp_path, "c.json", text)).tags == ["a"]
            return
        err = load_error(write(tmp_path, "c.json", text), vein.ValidationError)
        assert [e.path for e in err.errors] == [path]
        assert "None" not in str(err)
        assert "c.json" in str(err.errors[0].source)

    def test_null_into_optional(self, tmp_path: Path) -> None:
        assert load(write(tmp_path, "c.json", '{"note": null}')).note is None

    def test_unknown_keys(self, tmp_path: Path) -> None:
        text = '{"verison": "1", "database": {"hots": "x"}}'
        err = load_error(write(tmp_path, "c.json", text), vein.ValidationError)
        assert sorted(e.path for e in err.errors) == ["database.hots", "verison"]
        assert "did you mean 'version'" in str(err)
        assert "did you mean 'host'" in str(err)
        s = load(write(tmp_path, "c.json", text), strict=False)
        assert s.version == ""

    def test_provenance_names_file_and_key(self, tmp_path: Path) -> None:
        path = write(tmp_path, "c.json", '{"database": {"port": 7}}')
        s = load(path)
        prov = s.explain("database.port")
        assert prov.kind == "file"
        assert prov.name == str(path)
        assert "database.port" in str(prov)

    def test_bom(self, tmp_path: Path) -> None:
        path = tmp_path / "c.json"
        path.write_bytes(b'\xef\xbb\xbf{"version": "bom"}')
        assert load(path).version == "bom"

    def test_null_document_is_empty(self, tmp_path: Path) -> None:
        s = Settings()
        assert s.update(vein.from_json(write(tmp_path, "c.json", "null"))) == []

    def test_deep_nesting(self, tmp_path: Path) -> None:
        ok = '{"data": ' + '{"a": ' * 120 + "1" + "}" * 121
        assert load(write(tmp_path, "ok.json", ok)).data
        deep = '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"
        load_error(write(tmp_path, "deep.json", deep), vein.SourceError)


class TestTomlParsing:
    """TOML syntax errors name file, line and column."""

    @pytest.mark.parametrize(
        "text",
        [
            "a = 1\nb = \n",
            "version = '1'\nversion = '2'\n",
            "[database]\nport = 1\n[database]\nhost = 'h'\n",
            "count = 1 2\n",
            "x = {a = 1,}\n",
        ],
    )
    def test_error_location(self, tmp_path: Path, text: str) -> None:
        """The location is tomllib's (already 1-based), carried as line and column."""
        with pytest.raises(tomllib.TOMLDecodeError) as reference:
            tomllib.loads(text)
        found = re.search(r"at line (\d+), column (\d+)", str(reference.value))
        assert found is not None
        where = (int(found.group(1)), int(found.group(2)))
        err = load_error(write(tmp_path, "c.toml", text), vein.SourceError)
        assert (err.line, err.column) == where
        assert "c.toml:{}:{}".format(*where) in str(err)
        assert "invalid TOML" in str(err)

    def test_error_at_end_of_document_is_located(self, tmp_path: Path) -> None:
        text = "version = '1'\ntags = [\n"
        err = load_error(write(tmp_path, "c.toml", text), vein.SourceError)
        assert (err.line, err.column) == (3, 1)
        assert "end of document" not in str(err)

    def test_duplicate_keys(self, tmp_path: Path) -> None:
        err = load_error(write(tmp_path, "c.toml", "count = 1\ncount = 2\n"), vein.SourceError)
        assert err.line == 2


class TestTomlTyping:
    """TOML values into typed fields: dates, float text, native types under ``Any``."""

    def test_dates(self, tmp_path: Path) -> None:
        s = load(write(tmp_path, "c.toml", "day = 2024-02-29\nat = 2024-01-02T03:04:05Z\n"))
        assert s.day == dt.date(2024, 2, 29)
        assert s.at == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    def test_date_as_text(self, tmp_path: Path) -> None:
        assert load(write(tmp_path, "c.toml", "day = '2024-02-29'\n")).day == dt.date(2024, 2, 29)

    def test_datetime_is_not_a_date(self, tmp_path: Path) -> None:
        err = load_error(
            write(tmp_path, "c.toml", "day = 2024-01-02T00:00:00\n"), vein.ValidationError
        )
        assert [e.path for e in err.errors] == ["day"]

    @pytest.mark.parametrize("number", ["1.10", "2.50", "1e3", "6.626e-34", "+1.0"])
    def test_float_text_kept_for_str(self, tmp_path: Path, number: str) -> None:
        assert load(write(tmp_path, "c.toml", f"version = {number}\n")).version == number

    def test_any_equals_tomllib(self, tmp_path: Path) -> None:
        """Under ``Any`` the data equals what ``tomllib`` gives (floats, dates, inf, nan)."""
        text = textwrap.dedent(
            """\
            [anything]
            f = 1.10
            big = 1_000.5
            inf = inf
            ninf = -inf
            e = 5e+22
            d = 1979-05-27
            dt = 1979-05-27T07:32:00-08:00
            t = 07:32:00
            nested = {a = [1, 2.5, "x"]}
            """
        )
        s = load(write(tmp_path, "c.toml", text))
        assert s.anything == tomllib.loads(text)["anything"]
        assert type(s.anything["big"]) is float
        assert s.anything["inf"] == math.inf

    def test_nan_under_any(self, tmp_path: Path) -> None:
        s = load(write(tmp_path, "c.toml", "[anything]\nn = nan\n"))
        assert isinstance(s.anything["n"], float)
        assert math.isnan(s.anything["n"])

    def test_tables_into_nested_classes(self, tmp_path: Path) -> None:
        text = "version = '2'\n[database]\nport = 6543\n"
        path = write(tmp_path, "c.toml", text)
        s = load(path)
        assert (s.database.host, s.database.port) == ("localhost", 6543)
        assert "database.port" in str(s.explain("database.port"))

    @pytest.mark.parametrize(
        ("text", "path"),
        [
            ("count = 'x'\n", "count"),
            ("enabled = 1\n", "enabled"),
            ("version = true\n", "version"),
            ("database = 3\n", "database"),
            ("[database]\nport = 1.5\n", "database.port"),
        ],
    )
    def test_wrong_types(self, tmp_path: Path, text: str, path: str) -> None:
        err = load_error(write(tmp_path, "c.toml", text), vein.ValidationError)
        assert [e.path for e in err.errors] == [path]

    def test_unknown_keys(self, tmp_path: Path) -> None:
        err = load_error(write(tmp_path, "c.toml", "[databse]\nport = 1\n"), vein.ValidationError)
        assert "did you mean 'database'" in str(err)
        assert (
            load(write(tmp_path, "c.toml", "[databse]\nport = 1\n"), strict=False).database.port
            == 5432
        )


class TestMissingAndGarbage:
    """Missing files, ``optional=True``, bad bytes: for both formats."""

    @pytest.mark.parametrize("suffix", ["json", "toml"])
    def test_missing(self, tmp_path: Path, suffix: str) -> None:
        err = load_error(tmp_path / f"absent.{suffix}", vein.SourceError)
        assert f"absent.{suffix}" in str(err)
        assert "not found" in str(err)

    @pytest.mark.parametrize("suffix", ["json", "toml"])
    def test_optional(self, tmp_path: Path, suffix: str) -> None:
        s = Settings()
        assert s.update(FORMATS[suffix](tmp_path / f"absent.{suffix}", optional=True)) == []

    @pytest.mark.parametrize("suffix", ["json", "toml"])
    def test_non_utf8(self, tmp_path: Path, suffix: str) -> None:
        raw = {
            "json": '{\n "version": "caf\u00e9"\n}',
            "toml": 'count = 1\nversion = "caf\u00e9"\n',
        }[suffix]
        data = raw.encode("latin-1")
        path = tmp_path / f"latin1.{suffix}"
        path.write_bytes(data)
        err = load_error(path, vein.SourceError)
        assert (err.line, err.column) == locate(raw, raw.index("\u00e9"))
        assert "UTF-8" in str(err)

    @pytest.mark.parametrize("suffix", ["json", "toml"])
    @pytest.mark.parametrize(
        "raw",
        [
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            b"\x00" * 16,
            b"\xde\xad\xbe\xef" * 64,
            b"PK\x03\x04\x14\x00",
        ],
    )
    def test_binary(self, tmp_path: Path, suffix: str, raw: bytes) -> None:
        path = tmp_path / f"bin.{suffix}"
        path.write_bytes(raw)
        err = load_error(path, vein.SourceError)
        assert f"bin.{suffix}" in str(err)
