"""YAML files as a source (SPEC §5 "Files", §6 typing rules, §13): typing, safety, locations."""

import math
import textwrap
from pathlib import Path
from typing import Any

import pytest

import vein


def write(tmp_path: Path, text: str, name: str = "config.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based (line, column) of the first occurrence of *needle* in *text*."""
    for number, line in enumerate(text.splitlines(), start=1):
        col = line.find(needle)
        if col >= 0:
            return number, col + 1
    raise AssertionError(f"{needle!r} not in text")


def recorder(obj: Any) -> list[vein.Change]:
    seen: list[vein.Change] = []
    obj.on_change("*", seen.append)
    return seen


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432
    user: str = "app"


@vein.flow
class Settings:
    name: str = "default"
    count: int = 0
    ratio: float = 0.0
    debug: bool = False
    maybe: str | None = "set"
    maybe_int: int | None = 7
    anything: Any = "untouched"
    tags: list[str] = vein.field(factory=list)
    ports: list[int] = vein.field(factory=list)
    labels: dict[str, str] = vein.field(factory=dict)
    data: dict[str, Any] = vein.field(factory=dict)
    database: Database = vein.field(factory=Database)


def load(path: Path, **options: Any) -> Settings:
    return vein.load(Settings, vein.from_yaml(path, **options))


def load_error(path: Path, error: type[vein.VeinError] = vein.VeinError, **options: Any) -> Any:
    """Apply *path* to an existing object: must fail with *error* and change nothing."""
    s = Settings()
    s.name = "before"
    before = vein.to_dict(s)
    seen = recorder(s)
    with pytest.raises(error) as info:
        s.update(vein.from_yaml(path, **options))
    assert vein.to_dict(s) == before
    assert seen == []
    return info.value


class TestStrFieldsKeepText:
    """A ``str`` field gets the scalar's original text."""

    @pytest.mark.parametrize(
        "text",
        [
            "NO",
            "no",
            "on",
            "Off",
            "yes",
            "y",
            "1.10",
            "012",
            "0644",
            "22:30",
            "007",
            "1e3",
            "0x1F",
            ".inf",
            "2024-01-02",
            "true",
            "TRUE",
            "-0",
            "+1",
        ],
    )
    def test_plain_scalar(self, tmp_path: Path, text: str) -> None:
        s = load(write(tmp_path, f"name: {text}\n"))
        assert s.name == text
        assert type(s.name) is str

    def test_in_lists_and_dicts(self, tmp_path: Path) -> None:
        s = load(write(tmp_path, "tags: [007, on, 1.10, NO]\nlabels: {v: 2.10, t: 22:30}\n"))
        assert s.tags == ["007", "on", "1.10", "NO"]
        assert s.labels == {"v": "2.10", "t": "22:30"}

    def test_quoted_null_stays_text(self, tmp_path: Path) -> None:
        s = load(write(tmp_path, "name: 'null'\nmaybe: \"~\"\n"))
        assert s.name == "null"
        assert s.maybe == "~"

    def test_quoted_empty_is_empty_text(self, tmp_path: Path) -> None:
        assert load(write(tmp_path, "name: ''\n")).name == ""

    def test_block_scalar(self, tmp_path: Path) -> None:
        s = load(write(tmp_path, "name: |\n  line one\n  007\n"))
        assert s.name == "line one\n007\n"


class TestNulls:
    """Null into a non-optional field is an error, never ``'None'``; into Optional it is None."""

    @pytest.mark.parametrize("value", ["null", "~", "", "Null", "NULL"])
    @pytest.mark.parametrize("field", ["name", "count", "ratio", "debug"])
    def test_into_non_optional(self, tmp_path: Path, field: str, value: str) -> None:
        text = f"{field}: {value}\n"
        err = load_error(write(tmp_path, text), vein.ValidationError)
        assert [e.path for e in err.errors] == [field]
        assert "None" not in str(err)
        assert str(err.errors[0].source).endswith("/config.yml:1:1")

    @pytest.mark.parametrize("value", ["null", "~", ""])
    def test_into_optional(self, tmp_path: Path, value: str) -> None:
        s = load(write(tmp_path, f"maybe: {value}\nmaybe_int: {value}\n"))
        assert s.maybe is None
        assert s.maybe_int is None

    def test_null_section_defines_nothing(self, tmp_path: Path) -> None:
        """A section whose keys are all commented out is an empty section."""
        s = load(write(tmp_path, "database:\n  # host: x\n"))
        assert vein.to_dict(s.database) == vein.to_dict(Database())


class TestTypedScalars:
    """Typed fields convert the original text by the declared type."""

    def test_int_is_decimal_not_octal(self, tmp_path: Path) -> None:
        assert load(write(tmp_path, "count: 012\n")).count == 12

    def test_int_hex(self, tmp_path: Path) -> None:
        assert load(write(tmp_path, "count: 0x1F\n")).count == 31

    def test_float_and_bool(self, tmp_path: Path) -> None:
        s = load(write(tmp_path, "ratio: 1.10\ndebug: yes\nports: [80, '443']\n"))
        assert s.ratio == 1.1
        assert s.debug is True
        assert s.ports == [80, 443]

    @pytest.mark.parametrize(
        ("text", "path"),
        [
            ("count: 1.5\n", "count"),
            ("debug: maybe\n", "debug"),
            ("ratio: 1e999\n", "ratio"),
            ("ports: [1, x]\n", "ports[1]"),
            ("count: [1]\n", "count"),
            ("name: {a: 1}\n", "name"),
        ],
    )
    def test_rejected_with_location(self, tmp_path: Path, text: str, path: str) -> None:
        err = load_error(write(tmp_path, text), vein.ValidationError)
        assert [e.path for e in err.errors] == [path]
        assert str(err.errors[0].source).endswith("/config.yml:1:1")


class TestAnyField:
    """An ``Any`` field (and schema-less data under it) gets YAML 1.2 core types."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("on", "on"),
            ("off", "off"),
            ("yes", "yes"),
            ("NO", "NO"),
            ("0644", 644),
            ("true", True),
            ("True", True),
            ("FALSE", False),
            ("1.10", 1.1),
            ("012", 12),
            ("0x1F", 31),
            ("0o17", 15),
            ("1e3", 1000.0),
            ("22:30", "22:30"),
            ("2024-01-02", "2024-01-02"),
            ("~", None),
            ("null", None),
            ("'0644'", "0644"),
            ("-5", -5),
            (".inf", math.inf),
            ("-.inf", -math.inf),
        ],
    )
    def test_core_types(self, tmp_path: Path, text: str, expected: Any) -> None:
        value = load(write(tmp_path, f"anything: {text}\n")).anything
        assert value == expected
        assert type(value) is type(expected)

    def test_nan(self, tmp_path: Path) -> None:
        assert math.isnan(load(write(tmp_path, "anything: .nan\n")).anything)

    def test_nested_data_is_typed_too(self, tmp_path: Path) -> None:
        """Scalars inside lists and mappings under ``Any`` get their core type as well."""
        s = load(
            write(tmp_path, "data: {mode: 0644, list: [1, on, 1.10, true, ~], deep: {x: 2}}\n")
        )
        assert s.data == {"mode": 644, "list": [1, "on", 1.1, True, None], "deep": {"x": 2}}
        assert type(s.data["list"][0]) is int
        assert type(s.data["list"][1]) is str

    def test_non_text_keys_become_text(self, tmp_path: Path) -> None:
        """``386:`` and ``true:`` keys are kept as their text."""
        s = load(write(tmp_path, "data:\n  386: i386\n  true: yes\n  1.10: x\n  null: n\n"))
        assert s.data == {"386": "i386", "true": "yes", "1.10": "x", "null": "n"}

    def test_keys_equal_as_text_are_an_error(self, tmp_path: Path) -> None:
        err = load_error(write(tmp_path, "data: {1: a, '1': b}\n"), vein.SourceError)
        assert "duplicate key '1'" in str(err)

    def test_explicit_tags(self, tmp_path: Path) -> None:
        s = load(write(tmp_path, "anything: !!str 0644\ndata: {i: !!int '12', f: !!float 1}\n"))
        assert s.anything == "0644"
        assert s.data == {"i": 12, "f": 1.0}
        assert type(s.data["f"]) is float


class TestLocations:
    """``explain()`` gives ``file:line:col`` (1-based) for every key, nested ones included."""

    TEXT = """\
        # leading comment
        name: svc

        database:
          host: db.internal
          port: 6543
        tags:
          - a
        """

    def test_nested_key(self, tmp_path: Path) -> None:
        path = write(tmp_path, self.TEXT)
        text = path.read_text()
        s = load(path)
        line, col = position(text, "port:")
        assert str(s.explain("database.port")) == f"{path}:{line}:{col}"
        prov = s.explain("database.host")
        assert (prov.kind, prov.line, prov.column) == ("file", *position(text, "host:"))
        assert str(s.explain("name")) == "{}:{}:{}".format(path, *position(text, "name:"))
        assert str(s.explain("tags")) == "{}:{}:{}".format(path, *position(text, "tags:"))
        assert str(s.explain("database.user")) == "default"

    def test_error_location(self, tmp_path: Path) -> None:
        text = "name: ok\ndatabase:\n  host: h\n  port: eighty\n"
        err = load_error(write(tmp_path, text), vein.ValidationError)
        assert [str(e.source).rsplit("/", 1)[-1] for e in err.errors] == ["config.yml:4:3"]
        assert "database.port" in str(err)
        assert "config.yml:4:3" in str(err)

    @pytest.mark.parametrize(
        ("text", "line", "col"),
        [
            ("a: [1, 2\nb: 3\n", 2, 2),
            ("name: x\ndatabase:\n\tport: 1\n", 3, 1),
            ("name: ok\nbad: @x\n", 2, 6),
        ],
    )
    def test_syntax_error_location(self, tmp_path: Path, text: str, line: int, col: int) -> None:
        err = load_error(write(tmp_path, text), vein.SourceError)
        assert (err.line, err.column) == (line, col)
        assert f"config.yml:{line}:{col}" in str(err)
        assert "invalid YAML" in str(err)


class TestAnchorsAndMerge:
    """Anchors, aliases and merge keys (``<<``), single and list."""

    def test_alias(self, tmp_path: Path) -> None:
        s = load(write(tmp_path, "name: &n shared\nlabels: {a: *n}\n"))
        assert s.labels == {"a": "shared"}

    def test_merge_single(self, tmp_path: Path) -> None:
        text = """\
            data:
              base: &base {host: h, port: 1}
              svc:
                <<: *base
                port: 2
            database:
              <<: {host: merged, port: 9}
              port: 10
            """
        s = load(write(tmp_path, text))
        assert s.data["svc"] == {"host": "h", "port": 2}
        assert (s.database.host, s.database.port) == ("merged", 10)

    def test_merge_list_first_wins(self, tmp_path: Path) -> None:
        text = """\
            data:
              a: &a {x: 1, y: a}
              b: &b {y: b, z: 3}
              both:
                <<: [*a, *b]
                z: own
            """
        s = load(write(tmp_path, text))
        assert s.data["both"] == {"x": 1, "y": "a", "z": "own"}

    def test_merge_of_non_mapping_refused(self, tmp_path: Path) -> None:
        err = load_error(
            write(tmp_path, "data:\n  x: &s [1]\n  y:\n    <<: *s\n"), vein.SourceError
        )
        assert "merge" in str(err)

    def test_alias_bomb_refused(self, tmp_path: Path) -> None:
        """Billion laughs: refused as a SourceError, not expanded."""
        lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        prev = "a"
        for name in "bcdefghi":
            lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
            prev = name
        text = "data:\n" + "\n".join("  " + line for line in lines) + "\n"
        err = load_error(write(tmp_path, text), vein.SourceError)
        assert "alias" in str(err)
        assert err.line is not None

    def test_recursive_alias(self, tmp_path: Path) -> None:
        err = load_error(write(tmp_path, "data: &x {self: *x}\n"), vein.SourceError)
        assert "recursive" in str(err)
        err = load_error(write(tmp_path, "data: &y [*y]\n"), vein.SourceError)
        assert "recursive" in str(err)

    def test_undefined_alias(self, tmp_path: Path) -> None:
        err = load_error(write(tmp_path, "name: *nope\n"), vein.SourceError)
        assert "undefined alias" in str(err)
        assert "nope" in str(err)
        assert (err.line, err.column) == (1, 7)


class TestUnsafeAndUnknownTags:
    """Tags that build objects, and custom tags, are refused with the tag and its line."""

    @pytest.mark.parametrize(
        ("value", "tag"),
        [
            ("!!python/object:os.system {}", "!!python/object:os.system"),
            ("!!python/object/apply:os.system ['true']", "!!python/object/apply:os.system"),
            ("!!python/name:builtins.print ''", "!!python/name:builtins.print"),
            ("!include_dir_named integrations", "!include_dir_named"),
            ("!secret db_password", "!secret"),
            ("!!timestamp 2024-01-01", "!!timestamp"),
            ("!!binary aGVsbG8=", "!!binary"),
        ],
    )
    def test_refused(self, tmp_path: Path, value: str, tag: str) -> None:
        text = f"name: ok\nanything: {value}\n"
        err = load_error(write(tmp_path, text), vein.SourceError)
        assert tag in str(err)
        assert err.line == 2
        assert "config.yml:2:" in str(err)

    def test_python_tag_says_unsafe(self, tmp_path: Path) -> None:
        err = load_error(
            write(tmp_path, "anything: !!python/object:os.system {}\n"), vein.SourceError
        )
        assert "Python object" in str(err)

    def test_nothing_executed(self, tmp_path: Path) -> None:
        marker = tmp_path / "pwned"
        text = f"anything: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ['{marker}']]\n"
        load_error(write(tmp_path, text), vein.SourceError)
        assert not marker.exists()


class TestDocuments:
    """Multi-document files are an error unless ``document=N``; empty documents are empty."""

    TEXT = "name: first\n---\nname: second\ncount: 2\n"

    def test_multi_document_refused(self, tmp_path: Path) -> None:
        err = load_error(write(tmp_path, self.TEXT), vein.SourceError)
        assert "2 YAML documents" in str(err)
        assert "document=" in str(err)

    def test_choose_document(self, tmp_path: Path) -> None:
        path = write(tmp_path, self.TEXT)
        assert load(path, document=0).name == "first"
        second = load(path, document=1)
        assert (second.name, second.count) == ("second", 2)

    def test_document_out_of_range(self, tmp_path: Path) -> None:
        err = load_error(write(tmp_path, self.TEXT), vein.SourceError, document=2)
        assert "document 2" in str(err)

    def test_documents_are_distinct_layers(self, tmp_path: Path) -> None:
        path = write(tmp_path, self.TEXT)
        s = Settings()
        s.update(vein.from_yaml(path, document=0), vein.from_yaml(path, document=1))
        assert s.name == "second"

    def test_leading_document_marker_is_one_document(self, tmp_path: Path) -> None:
        assert load(write(tmp_path, "---\nname: x\n...\n")).name == "x"

    @pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "---\n", "~\n", "null\n"])
    def test_empty_document_is_empty(self, tmp_path: Path, text: str) -> None:
        s = Settings()
        seen = recorder(s)
        assert s.update(vein.from_yaml(write(tmp_path, text))) == []
        assert seen == []
        assert vein.to_dict(s) == vein.to_dict(Settings())


class TestEncoding:
    """UTF-8 whatever the locale; BOM stripped; bad bytes located."""

    def test_bom_stripped(self, tmp_path: Path) -> None:
        path = tmp_path / "bom.yml"
        path.write_bytes(b"\xef\xbb\xbfname: bom\n")
        s = load(path)
        assert s.name == "bom"
        assert str(s.explain("name")) == f"{path}:1:1"

    def test_utf8_text(self, tmp_path: Path) -> None:
        path = tmp_path / "u.yml"
        path.write_bytes("name: héllo – 日本\n".encode())
        assert load(path).name == "héllo – 日本"

    def test_non_utf8_located(self, tmp_path: Path) -> None:
        path = tmp_path / "latin1.yml"
        raw = "name: ok\nlabels: {k: caf\u00e9}\n".encode("latin-1")
        path.write_bytes(raw)
        err = load_error(path, vein.SourceError)
        bad = raw.index(b"\xe9")
        line = raw.count(b"\n", 0, bad) + 1
        col = bad - raw.rfind(b"\n", 0, bad)
        assert (err.line, err.column) == (line, col)
        assert f"latin1.yml:{line}:{col}" in str(err)
        assert "UTF-8" in str(err)

    @pytest.mark.parametrize(
        "raw",
        [
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
            b"name: a\x00b\n",
            bytes(range(256)),
            b"\xff\xfe\x00n\x00a\x00m\x00e",
        ],
    )
    def test_binary_garbage(self, tmp_path: Path, raw: bytes) -> None:
        path = tmp_path / "garbage.yml"
        path.write_bytes(raw)
        err = load_error(path, vein.SourceError)
        assert "garbage.yml" in str(err)


class TestTopLevel:
    @pytest.mark.parametrize(
        ("text", "kind"),
        [
            ("- a\n- b\n", "a list"),
            ("just text\n", "a string"),
            ("42\n", "a string"),
            ("'quoted'\n", "a string"),
        ],
    )
    def test_non_mapping_refused(self, tmp_path: Path, text: str, kind: str) -> None:
        err = load_error(write(tmp_path, text), vein.SourceError)
        assert "must be a mapping" in str(err)
        assert kind in str(err)
        assert "Plain" not in str(err)


class TestUnknownKeys:
    """Unknown keys: ValidationError with did-you-mean and location; ``strict=False`` ignores."""

    def test_top_level(self, tmp_path: Path) -> None:
        err = load_error(write(tmp_path, "name: x\nnmae: y\n"), vein.ValidationError)
        assert [e.path for e in err.errors] == ["nmae"]
        assert "did you mean 'name'" in str(err)
        assert str(err.errors[0].source).endswith("/config.yml:2:1")

    def test_nested(self, tmp_path: Path) -> None:
        text = "database:\n  host: h\n  prot: 1\n"
        err = load_error(write(tmp_path, text), vein.ValidationError)
        assert [e.path for e in err.errors] == ["database.prot"]
        assert "did you mean 'port'" in str(err)
        assert str(err.errors[0].source).endswith("/config.yml:3:3")

    def test_every_unknown_key_listed(self, tmp_path: Path) -> None:
        err = load_error(
            write(tmp_path, "nmae: 1\ncuont: 2\ndatabase: {hots: x}\n"), vein.ValidationError
        )
        assert sorted(e.path for e in err.errors) == ["cuont", "database.hots", "nmae"]

    def test_not_strict_ignores(self, tmp_path: Path) -> None:
        s = load(write(tmp_path, "name: x\nnmae: y\ndatabase: {prot: 1, port: 2}\n"), strict=False)
        assert (s.name, s.database.port) == ("x", 2)


class TestFiles:
    def test_missing_file_names_the_path(self, tmp_path: Path) -> None:
        path = tmp_path / "missing" / "nope.yml"
        err = load_error(path, vein.SourceError)
        assert "nope.yml" in str(err)
        assert "not found" in str(err)

    def test_optional_missing_file(self, tmp_path: Path) -> None:
        s = Settings()
        assert s.update(vein.from_yaml(tmp_path / "nope.yml", optional=True)) == []
        assert vein.to_dict(s) == vein.to_dict(Settings())

    def test_optional_file_that_exists_is_read(self, tmp_path: Path) -> None:
        assert load(write(tmp_path, "name: here\n"), optional=True).name == "here"

    def test_directory(self, tmp_path: Path) -> None:
        err = load_error(tmp_path, vein.SourceError)
        assert "directory" in str(err)

    def test_duplicate_keys(self, tmp_path: Path) -> None:
        err = load_error(write(tmp_path, "name: a\ncount: 1\nname: b\n"), vein.SourceError)
        assert "duplicate key 'name'" in str(err)
        assert (err.line, err.column) == (3, 1)

    def test_duplicate_nested_keys(self, tmp_path: Path) -> None:
        err = load_error(write(tmp_path, "database:\n  port: 1\n  port: 2\n"), vein.SourceError)
        assert (err.line, err.column) == (3, 3)


class TestDeepNesting:
    """150 levels of nested mappings load; 1000 levels are a SourceError, not RecursionError."""

    @staticmethod
    def block(depth: int) -> str:
        lines = ["data:"]
        lines += ["  " * (i + 1) + f"k{i}:" for i in range(depth - 1)]
        lines.append("  " * depth + "leaf: 1")
        return "\n".join(lines) + "\n"

    @staticmethod
    def flow(depth: int) -> str:
        return "data: " + "{a: " * (depth - 1) + "{leaf: 1" + "}" * depth + "\n"

    @staticmethod
    def depth_of(data: Any) -> int:
        depth = 0
        while isinstance(data, dict):
            depth += 1
            data = next(iter(data.values()))
        return depth

    @pytest.mark.parametrize("style", ["block", "flow"])
    def test_150_levels(self, tmp_path: Path, style: str) -> None:
        text = getattr(self, style)(150)
        s = load(write(tmp_path, text))
        assert self.depth_of(s.data) == 150

    @pytest.mark.parametrize("style", ["block", "flow"])
    def test_1000_levels_refused(self, tmp_path: Path, style: str) -> None:
        text = getattr(self, style)(1000)
        err = load_error(write(tmp_path, text), vein.SourceError)
        assert "nested" in str(err) or "deep" in str(err)

    def test_deep_lists(self, tmp_path: Path) -> None:
        text = "data: {x: " + "[" * 1000 + "]" * 1000 + "}\n"
        load_error(write(tmp_path, text), vein.SourceError)


def test_merge_key_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """Nested merge keys double the data per anchor: refused, in about the time of a parse
    (locations were once rescanned on every merge, which took minutes)."""
    lines = ["a0: &a0 {k: 1}"]
    lines += [f"a{i}: &a{i} {{<<: *a{i - 1}, k{i}: *a{i - 1}}}" for i in range(1, 24)]
    path = tmp_path / "bomb.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(vein.SourceError, match="alias bomb"):
        vein.Config().update(vein.from_yaml(path))


def test_merge_keys_keep_explicit_locations(tmp_path: Path) -> None:
    path = tmp_path / "m.yml"
    path.write_text("base: &b {host: a, port: 1}\nsvc:\n  <<: *b\n  port: 2\n", encoding="utf-8")
    config = vein.Config()
    config.update(vein.from_yaml(path))
    assert config.to_dict()["svc"] == {"host": "a", "port": 2}
    assert str(config.explain("svc.port")).endswith("m.yml:4:3")
    assert str(config.explain("svc.host")).endswith("m.yml:1:11")
