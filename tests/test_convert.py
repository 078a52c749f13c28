"""``vein convert`` and ``vein.infer_schema`` (SPEC §7, issue 3 item 4).

Two parts:

* the rules, on small documents: names (keywords, dotted/dashed/digit/empty keys, Flow method
  clashes, de-duplication, class names), types (unions, ``None``, empty containers, lists of
  mappings with keys some items lack), the ``vein.MISSING`` "absent" default, and the
  command's errors;
* the round trip on the real-config corpus (``../shared/data/real-configs``): every JSON,
  YAML and TOML file there is converted by a real ``vein convert`` subprocess, the generated
  modules are type-checked together in ONE ``mypy --strict`` run and linted with the
  project's ruff config, then a fresh Python process imports them, loads each file with the
  generated root class and dumps it with ``vein.to_dict``: the result must equal the
  document as vein's schema-less reading gives it, type for type.  Files that cannot be
  read are listed in :data:`CANNOT` with the reason, and must fail with a clear
  ``vein.SourceError`` -- none is skipped silently.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import vein
from vein.infer import infer_schema, read_document

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "real-configs"
FORMAT_DIRS = ("yaml", "json", "toml")

# --- helpers -----------------------------------------------------------------------------


def run_vein(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ if env is None else env)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "vein", *args],
        cwd=cwd or REPO, env=environ, capture_output=True, text=True, timeout=120, check=False,
    )


def difference(got: Any, want: Any, path: str = "") -> str | None:
    """The first place where *got* and *want* differ, type for type (``1 != True != 1.0``)."""
    if type(got) is not type(want):
        return f"{path or 'top'}: {type(got).__name__} {got!r:.60} != {type(want).__name__} {want!r:.60}"
    if isinstance(want, dict):
        if got.keys() != want.keys():
            extra, lost = sorted(got.keys() - want.keys()), sorted(want.keys() - got.keys())
            return f"{path or 'top'}: keys differ: extra {extra[:5]}, missing {lost[:5]}"
        for k in want:
            found = difference(got[k], want[k], f"{path}.{k}" if path else k)
            if found:
                return found
        return None
    if isinstance(want, list):
        if len(got) != len(want):
            return f"{path}: {len(got)} items != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            found = difference(g, w, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if got == want else f"{path}: {got!r:.60} != {want!r:.60}"


_counter = itertools.count()


def import_source(source: str, tmp_path: Path) -> ModuleType:
    """Write *source* to a file and import it as a fresh module."""
    name = f"_vein_generated_{next(_counter)}"
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


SOURCES = {"yaml": vein.from_yaml, "json": vein.from_json, "toml": vein.from_toml}


def round_trip(tmp_path: Path, text: str, fmt: str = "yaml", name: str = "Settings") -> tuple[str, Any, dict[str, Any]]:
    """Write a document, convert it, load it with the generated class; assert the dump."""
    path = tmp_path / f"doc{next(_counter)}.{fmt}"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    data = read_document(path)
    source = infer_schema(data, name)
    module = import_source(source, tmp_path)
    obj = vein.load(getattr(module, name), SOURCES[fmt](path))
    dumped = vein.to_dict(obj)
    assert difference(dumped, data) is None, (difference(dumped, data), source)
    return source, obj, data


def fields_of(source: str, cls: str) -> list[str]:
    """The field lines of class *cls* in generated *source* (stripped)."""
    m = re.search(rf"^class {cls}:\n(.*?)(?=\n\n\n|\Z)", source, re.S | re.M)
    assert m, f"no class {cls} in:\n{source}"
    lines = [ln.strip() for ln in m.group(1).splitlines()]
    return [ln for ln in lines if ln and not ln.startswith('"""')]


# --- names -------------------------------------------------------------------------------


class TestNames:
    def test_keywords_and_symbols_get_snake_case_names_and_keep_their_key(self) -> None:
        source = infer_schema(
            {"class": "a", "from": 1, "global": True, "a.b": 1, "log-level": "x", "386": "i386",
             "": "empty", "Microsoft.AspNetCore": "Warning", "_private": 1, "héllo": 1}
        )
        assert fields_of(source, "Settings") == [
            'class_: str = vein.field(key="class")',
            'from_: int = vein.field(key="from")',
            'global_: bool = vein.field(key="global")',
            'a_b: int = vein.field(key="a.b")',
            'log_level: str = vein.field(key="log-level")',
            'field_386: str = vein.field(key="386")',
            'field: str = vein.field(key="")',
            'microsoft_asp_net_core: str = vein.field(key="Microsoft.AspNetCore")',
            'private: int = vein.field(key="_private")',
            'hello: int = vein.field(key="h\\xe9llo")',
        ]

    @pytest.mark.parametrize(
        "key",
        ["update", "get", "keys", "items", "values", "on_change", "to_dict", "explain", "batch",
         "snapshot", "watch", "changes", "from_dict", "on_error"],
    )
    def test_flow_method_names_get_a_trailing_underscore(self, key: str) -> None:
        source = infer_schema({key: 1})
        assert fields_of(source, "Settings") == [f'{key}_: int = vein.field(key="{key}")']

    def test_names_that_would_shadow_the_annotations_are_renamed(self) -> None:
        # ``str: str`` in a class body breaks mypy; ``vein`` would hide vein.field below it.
        source = infer_schema({"str": "a", "int": 1, "list": [], "vein": 1, "Any": 1, "self": 1})
        assert [ln.split(":")[0] for ln in fields_of(source, "Settings")] == [
            "str_", "int_", "list_", "vein_", "any", "self_",
        ]

    def test_valid_names_are_kept_as_written(self) -> None:
        source = infer_schema({"camelCase": 1, "UPPER_CASE": 2, "snake_case": 3})
        assert fields_of(source, "Settings") == ["camelCase: int", "UPPER_CASE: int", "snake_case: int"]

    def test_collisions_are_numbered_and_a_real_key_keeps_its_own_name(self) -> None:
        source = infer_schema({"a-b": 1, "a.b": 2, "a_b": 3, "class": 4, "class_": 5})
        assert fields_of(source, "Settings") == [
            'a_b_2: int = vein.field(key="a-b")',
            'a_b_3: int = vein.field(key="a.b")',
            "a_b: int",
            'class_2: int = vein.field(key="class")',
            "class_: int",
        ]

    def test_class_names_come_from_the_key_path(self) -> None:
        source = infer_schema(
            {
                "database": {"host": "h"},
                "servers": [{"name": "a"}],
                "nav": [{"title": "t"}],
                "policies": [{"x": 1}],
                "services": {
                    "redis": {"healthcheck": {"test": "a"}},
                    "db": {"healthcheck": {"test": "b", "retries": 5}},
                },
            }
        )
        classes = re.findall(r"^class (\w+):", source, re.M)
        assert set(classes) == {
            "Database", "Server", "NavItem", "Policy", "Services", "Redis", "Db",
            "Healthcheck", "DbHealthcheck", "Settings",
        }
        assert classes[-1] == "Settings"  # children first: every annotation is defined above
        assert '"""`services.db.healthcheck` in the document."""' in source

    def test_same_key_and_same_fields_share_one_class(self) -> None:
        source = infer_schema(
            {"a": {"healthcheck": {"test": "x"}}, "b": {"healthcheck": {"test": "y"}}}
        )
        assert source.count("class Healthcheck:") == 1
        assert fields_of(source, "A") == ["healthcheck: Healthcheck"]
        assert fields_of(source, "B") == ["healthcheck: Healthcheck"]

    def test_class_names_never_equal_a_field_name(self) -> None:
        # ``Logging: Logging`` would make the annotation refer to the field itself.
        source = infer_schema({"Logging": {"LogLevel": {"Default": "Information"}}, "Settings": 1})
        assert fields_of(source, "Settings") == [
            "Logging: SettingsLogging",
            'settings: int = vein.field(key="Settings")',
        ]
        assert fields_of(source, "SettingsLogging") == ["LogLevel: SettingsLoggingLogLevel"]

    def test_the_root_class_is_named_by_name(self) -> None:
        source = infer_schema({"a": 1}, name="AppConfig")
        assert "class AppConfig:" in source and "vein.load(AppConfig" in source
        with pytest.raises(ValueError, match="Python keyword"):
            infer_schema({"a": 1}, name="class")
        with pytest.raises(ValueError, match="not a Python name"):
            infer_schema({"a": 1}, name="my-settings")

    def test_output_is_deterministic_across_processes(self, tmp_path: Path) -> None:
        doc = tmp_path / "doc.yaml"
        doc.write_text(TRAPS_YAML, encoding="utf-8")
        outs = set()
        for seed in ("0", "1", "12345"):
            proc = run_vein("convert", str(doc), env=dict(os.environ, PYTHONHASHSEED=seed))
            assert proc.returncode == 0, proc.stderr
            outs.add(proc.stdout)
        assert len(outs) == 1
        assert infer_schema(read_document(doc), source="doc.yaml") in outs


# --- types -------------------------------------------------------------------------------


class TestTypes:
    def test_scalars_lists_and_empty_containers(self) -> None:
        source = infer_schema(
            {"s": "x", "i": 1, "f": 1.5, "b": True, "l": [1, 2], "e": [], "d": {}, "n": None,
             "ln": [None], "lm": [1, "a", None], "ll": [[1], ["a"]], "nums": [1, 2.5]}
        )
        assert fields_of(source, "Settings") == [
            "s: str", "i: int", "f: float", "b: bool",
            'l_: list[int] = vein.field(key="l")',
            "e: list[Any]", "d: dict[str, Any]", "n: Any | None", "ln: list[Any | None]",
            "lm: list[int | str | None]", "ll: list[list[int | str]]", "nums: list[int | float]",
        ]
        assert "from typing import Any" in source

    def test_union_members_in_an_order_that_reads_every_value_back(self) -> None:
        # vein's union rule takes the first member that accepts a value: str goes last,
        # after the numbers and booleans, so that 1 stays 1 and "a" stays "a".
        source = infer_schema({"xs": ["a", 5, True, 2.5, [1], {"k": 1}, None]})
        assert fields_of(source, "Settings") == ["xs: list[bool | int | float | str | list[int] | XsItem | None]"]

    @pytest.mark.parametrize(
        ("values", "why"),
        [
            ([True, "yes"], "a bool member reads the text 'yes' as True"),
            ([True, 1], "YAML's 1 is a boolean to a bool member"),
            ([5, "0x10"], "an int member reads the text '0x10' as 16"),
            ([1.5, "inf"], "a float member reads the text 'inf' as infinity"),
            ([1, " 7 "], "an int member strips and reads ' 7 '"),
        ],
    )
    def test_a_union_no_order_can_read_back_is_any(self, values: list[Any], why: str) -> None:
        source = infer_schema({"xs": values})
        assert fields_of(source, "Settings") == ["xs: list[Any]"], why

    def test_a_union_that_reads_back_stays_honest(self) -> None:
        assert fields_of(infer_schema({"xs": [True, 5, "text"]}), "Settings") == ["xs: list[bool | int | str]"]

    def test_other_values_are_any(self) -> None:
        import datetime as dt

        source = infer_schema({"when": dt.date(2020, 10, 24)})
        assert fields_of(source, "Settings") == ["when: Any"]


# --- lists of mappings and absent keys -----------------------------------------------------


class TestAbsentKeys:
    DOC = """\
        servers:
          - name: a
            port: 1
            tags: [x]
          - name: b
            tags: []
            backup: null
          - name: c
            port: 3
            backup: true
        """

    def test_keys_some_items_lack_default_to_missing(self) -> None:
        source = infer_schema(read_yaml_text(self.DOC))
        assert fields_of(source, "Server") == [
            "name: str",
            "port: int | vein.MissingType = vein.MISSING",
            "tags: list[str] | vein.MissingType = vein.MISSING",
            "backup: bool | vein.MissingType | None = vein.MISSING",
        ]

    def test_absent_keys_stay_absent_in_the_dump_never_null(self, tmp_path: Path) -> None:
        _source, obj, data = round_trip(tmp_path, self.DOC)
        assert vein.to_dict(obj)["servers"][1] == {"name": "b", "tags": [], "backup": None}
        assert "port" not in vein.to_dict(obj)["servers"][1]
        assert obj.servers[1].port is vein.MISSING
        assert obj.servers[0].backup is vein.MISSING
        assert data["servers"][2] == {"name": "c", "port": 3, "backup": True}
        # dict-style reads see an absent key as absent, as the legacy dict did
        assert "port" not in obj.servers[1] and "port" in obj.servers[0]
        assert obj["servers"][0]["port"] == 1
        with pytest.raises(KeyError):
            obj["servers"][1]["port"]

    def test_a_default_before_a_required_field_is_keyword_only(self, tmp_path: Path) -> None:
        doc = """\
            items:
              - {a: 1, b: 2, c: 3}
              - {b: 2, c: 3}
              - {a: 1, b: 2}
            """
        source, obj, _data = round_trip(tmp_path, doc)
        assert fields_of(source, "Item") == [
            "a: int | vein.MissingType = vein.field(default=vein.MISSING, kw_only=True)",
            "b: int",
            "c: int | vein.MissingType = vein.MISSING",
        ]
        # document order is kept (dumps keep it too)
        assert list(vein.to_dict(obj)["items"][0]) == ["a", "b", "c"]

    def test_mappings_of_the_same_key_in_every_item_merge(self, tmp_path: Path) -> None:
        doc = """\
            jobs:
              - name: a
                env: {A: "1"}
              - name: b
                env: {B: "2"}
              - name: c
            """
        source, _obj, _data = round_trip(tmp_path, doc)
        assert fields_of(source, "Env") == [
            "A: str | vein.MissingType = vein.MISSING",
            "B: str | vein.MissingType = vein.MISSING",
        ]
        assert fields_of(source, "Job") == ["name: str", "env: Env | vein.MissingType = vein.MISSING"]

    def test_missing_and_keys_inside_lists_of_lists(self, tmp_path: Path) -> None:
        round_trip(tmp_path, """\
            matrix:
              - [{os: linux, py: "3.11"}, {os: mac}]
              - []
              - [{py: "3.12", class: x}]
            """)

    def test_a_key_renamed_field_inside_a_list_item_loads_and_dumps_by_its_key(self, tmp_path: Path) -> None:
        source, obj, _data = round_trip(tmp_path, """\
            routes:
              - {from: 2020-10-24, continue: true, x-y: 1}
              - {from: "2021"}
            """)
        route = obj.routes[0]
        assert (route.continue_, route.from_, route.x_y) == (True, "2020-10-24", 1)
        assert 'continue_: bool | vein.MissingType = vein.field(key="continue", default=vein.MISSING)' in source

    def test_missing_is_left_out_of_dumps_of_hand_written_classes(self) -> None:
        item = Item("a")
        assert vein.to_dict(item) == {"name": "a"}
        item.port = 80
        assert vein.to_dict(item) == {"name": "a", "port": 80}
        item.port = vein.MISSING  # absent again
        assert vein.to_dict(item) == {"name": "a"}

    def test_a_bad_value_for_a_maybe_absent_field_names_only_real_types(self, tmp_path: Path) -> None:
        doc = tmp_path / "bad.yaml"
        doc.write_text("servers:\n  - port: eighty\n", encoding="utf-8")
        with pytest.raises(vein.ValidationError) as info:
            vein.load(Root, vein.from_yaml(doc))
        message = str(info.value)
        assert "servers[0].port" in message and "expected an integer" in message
        assert "Missing" not in message


@vein.flow
class Item:
    name: str = "x"
    port: int | vein.MissingType = vein.MISSING


@vein.flow
class Root:
    servers: list[Item]


def read_yaml_text(text: str) -> dict[str, Any]:
    from vein.sources.yaml import parse_yaml
    from vein.structuring import structure_value

    data, _marks = parse_yaml(textwrap.dedent(text), "<text>")
    return dict(structure_value(data, Any))


# --- round trips of small documents -------------------------------------------------------


class TestRoundTrip:
    def test_yaml_core_schema_values_come_back_as_read(self, tmp_path: Path) -> None:
        _source, obj, data = round_trip(tmp_path, """\
            on: [push]
            mode: 0644
            version: 1.10
            time: "22:30"
            quoted_no: "no"
            flags: {yes: no, "true": True}
            empty:
            nothing: null
            """)
        assert data["on"] == ["push"] and data["mode"] == 644 and data["version"] == 1.1
        assert data["flags"] == {"yes": "no", "true": True} and data["empty"] is None

    def test_json_and_toml(self, tmp_path: Path) -> None:
        round_trip(tmp_path, '{"a": 1.10, "b": [1, 2.5, "x"], "c": {"d-e": null}, "class": []}', "json")
        round_trip(tmp_path, """\
            title = "x"
            ratio = 1.5
            [[bin]]
            name = "rg"
            [[bin]]
            name = "x"
            path = "y"
            [tool."a.b"]
            for = 1
            """, "toml")

    def test_from_dict_and_structure_round_trip_too(self, tmp_path: Path) -> None:
        _source, obj, data = round_trip(tmp_path, """\
            database: {host: db, port: 5432, password: s3cret}
            class: x
            servers: [{name: a}, {name: b, port: 2}]
            """)
        cls = type(obj)
        assert vein.to_dict(cls.from_dict(data)) == data
        assert vein.to_dict(vein.structure(data, cls)) == data

    def test_secret_looking_text_is_a_secret_field(self, tmp_path: Path) -> None:
        source, obj, _data = round_trip(tmp_path, "db: {user: u, password: s3cret, api_key: k}\n")
        assert fields_of(source, "Db") == [
            "user: str",
            "password: str = vein.field(secret=True)",
            "api_key: str = vein.field(secret=True)",
        ]
        assert "s3cret" not in repr(obj)
        assert vein.to_dict(obj, redact=True)["db"]["password"] == "***"
        assert vein.to_dict(obj)["db"]["password"] == "s3cret"

    def test_long_keys_and_types_are_wrapped_within_the_line_length(self, tmp_path: Path) -> None:
        long_key = "x" * 30 + "." + "y" * 120
        _source, _obj, _data = round_trip(tmp_path, f'"{long_key}": 1\n')
        source = infer_schema({long_key: 1, "k" * 70: {"z" * 70: [{"a": 1}, {"b": "x"}]}})
        assert max(len(ln) for ln in source.splitlines()) <= 100, source

    def test_an_empty_document(self, tmp_path: Path) -> None:
        source, obj, data = round_trip(tmp_path, "# nothing here\n")
        assert data == {} and "    pass" in source and vein.to_dict(obj) == {}


# --- input errors ------------------------------------------------------------------------


class TestErrors:
    def test_infer_schema_takes_a_document(self) -> None:
        # Bad data is a vein.SourceError naming the place, like a bad file.
        with pytest.raises(vein.SourceError, match=r"^doc\.yml: the top level must be a mapping .* not a list$"):
            infer_schema([1, 2], source="doc.yml")  # type: ignore[arg-type]
        with pytest.raises(vein.SourceError, match="top level must be a mapping .* not null"):
            infer_schema(None)  # type: ignore[arg-type]
        with pytest.raises(vein.SourceError, match=r"keys must be text, not int 1 \(at a\)"):
            infer_schema({"a": {1: "x"}})
        with pytest.raises(vein.SourceError, match=r"keys must be text, not bool True \(at a\[\]\.b\)"):
            infer_schema({"a": [{"b": {True: 1}}]})
        deep: dict[str, Any] = {}
        cur = deep
        for _ in range(300):
            cur["a"] = {}
            cur = cur["a"]
        with pytest.raises(vein.SourceError, match="nested deeper than 200 levels"):
            infer_schema(deep)
        deep_list: list[Any] = []
        for _ in range(1000):
            deep_list = [deep_list]
        with pytest.raises(vein.SourceError, match="nested deeper than 200 levels"):
            infer_schema({"a": deep_list})

    def test_a_document_that_contains_itself(self) -> None:
        loop: dict[str, Any] = {"a": {}}
        loop["a"]["b"] = loop
        with pytest.raises(vein.SourceError, match=r"the document contains itself \(at a\.b\)"):
            infer_schema(loop)
        items: list[Any] = []
        items.append(items)
        with pytest.raises(vein.SourceError, match=r"contains itself \(at xs\[\]\)"):
            infer_schema({"xs": items})
        shared = {"x": 1}  # the same object twice is no loop
        assert "class Shared" not in infer_schema({"a": shared, "b": shared, "c": [shared, shared]})

    @pytest.mark.parametrize(
        ("name", "why"),
        [
            ("Any", "the generated module imports typing.Any"),
            ("vein", "the generated module imports vein"),
            ("str", "the generated annotations use the built-in str"),
            ("list", "the generated annotations use the built-in list"),
            ("l", "ambiguous class name (E742)"),
            ("class", "is a Python keyword"),
            ("not a name", "is not a Python name"),
            ("Ünï", "is not ASCII"),
        ],
    )
    def test_a_class_name_that_cannot_be_says_why(self, name: str, why: str) -> None:
        from vein.infer import class_name_problem, valid_class_name

        assert why in (class_name_problem(name) or "")
        assert not valid_class_name(name)
        with pytest.raises(ValueError, match=re.escape(why)):
            infer_schema({"a": 1}, name)
        assert class_name_problem("Settings") is None

    def test_convert_says_why_a_name_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "a.json").write_text('{"a": 1}', encoding="utf-8")
        proc = run_vein("convert", str(tmp_path / "a.json"), "--name", "Any")
        assert proc.returncode == 2 and "the generated module imports typing.Any" in proc.stderr

    @pytest.mark.parametrize(
        ("name", "text", "code", "message"),
        [
            ("list.yaml", "- a\n- b\n", 1, "top level of a YAML file must be a mapping"),
            ("keys.yaml", "? [a, b]\n: 1\n", 1, "mapping keys must be scalars"),
            ("loop.yaml", "a: &x [1, *x]\n", 1, "recursive alias"),
            ("deep.json", '{"a":' * 1000 + "1" + "}" * 1000, 1, "nested too deeply"),
            ("deep.yaml", "a: " + "[" * 1000 + "]" * 1000, 1, "nested"),
            ("bad.toml", "a = [1,\n", 1, "invalid TOML"),
            ("tag.yaml", "a: !!python/object:os.system x\n", 1, "builds a Python object"),
            ("garbage.json", "\x00\x01\x02", 1, "NUL bytes"),
            ("config.ini", "[a]\nb = 1\n", 2, "cannot tell the format"),
        ],
    )
    def test_bad_files_fail_cleanly(self, tmp_path: Path, name: str, text: str, code: int, message: str) -> None:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        proc = run_vein("convert", str(path))
        assert proc.returncode == code, proc.stderr
        assert message in proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""

    def test_missing_file_and_bad_options(self, tmp_path: Path) -> None:
        proc = run_vein("convert", str(tmp_path / "nope.yaml"))
        assert proc.returncode == 1 and "YAML file not found" in proc.stderr
        (tmp_path / "a.json").write_text('{"a": 1}', encoding="utf-8")
        proc = run_vein("convert", str(tmp_path / "a.json"), "--name", "not a name")
        assert proc.returncode == 2 and re.search(r"(must be|is not) a Python name", proc.stderr)
        proc = run_vein("convert", str(tmp_path / "a.json"), "--document", "1")
        assert proc.returncode == 2 and "only YAML files hold several documents" in proc.stderr

    def test_a_huge_file(self, tmp_path: Path) -> None:
        path = tmp_path / "huge.json"
        items = [{"id": i, "name": f"n{i}", **({"extra": True} if i % 7 else {})} for i in range(100_000)]
        path.write_text(json.dumps({"items": items}), encoding="utf-8")
        proc = run_vein("convert", str(path), "--name", "Big")
        assert proc.returncode == 0, proc.stderr
        assert "class Item:" in proc.stdout and "extra: bool | vein.MissingType = vein.MISSING" in proc.stdout


# --- the real-config corpus ------------------------------------------------------------------

#: Files that cannot round-trip, why, and what the SourceError says.  The multi-document
#: file is converted one document at a time (``--document N``) in the round trip below.
CANNOT: dict[str, tuple[str, str]] = {
    "fastapi__fastapi__mkdocs.yml": (
        "unsafe tag: !!python/name: builds a Python object",
        "builds a Python object; vein reads only safe YAML",
    ),
    "frenck__home-assistant-config__homeassistant-configuration.yaml": (
        "custom tag: Home Assistant's !include_dir_named",
        "unsupported tag !include_dir_named",
    ),
    "vitejs__vite__tsconfig.app.json": ("JSONC: /* */ comments", "JSON allows no comments"),
    "dotnet__eShop__appsettings.json": ("JSONC: a // comment", "JSON allows no comments"),
    "vitejs__vite__renovate.json5": ("JSON5: comments and trailing commas", "no trailing commas and no comments"),
    "kubernetes__examples__k8s-multidoc-prometheus-adapter.yaml": (
        "multi-document YAML: converted per document with --document N",
        "the file holds 9 YAML documents; choose one with --document N",
    ),
}
MULTI_DOCUMENT = {"kubernetes__examples__k8s-multidoc-prometheus-adapter.yaml": 9}

# Every trap in one document: converted, type-checked, linted and round-tripped with the
# corpus (and used by the determinism test above).
TRAPS_YAML = """\
class: a
from: 2020-10-24
global: {scrape_interval: 15s}
continue: true
update: 1
get: [1, "a"]
keys: {}
to_dict: []
on_change: null
vein: v
str: s
Any: 1
self: x
Settings: {Settings: 1}
Logging: {LogLevel: {Default: Information, Microsoft.AspNetCore: Warning}}
a.b: 1
a-b: 2
a_b: 3
"386": i386
"": empty
"h\\u00e9llo": unicode
"quote\\"s and \\\\ back": 1
_private: 1
password: s3cret
yes: no
mode: 0644
version: 1.10
time: "22:30"
mixed: [1, 2.5, "x", true, null, [1], {k: v}]
ambiguous: [true, "yes", 1]
servers:
  - {name: a, port: 1}
  - {name: b, backup: {when: nightly}}
  - {port: 3, class: x, tags: [a, b]}
  - {}
matrix:
  - [{os: linux}, {os: mac, arch: arm}]
  - []
nav:
  - Home: index.md
  - Guide: [intro.md, {Advanced: adv.md}]
  - plain.md
"x-very-long-key-that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on": 1
"""
TRAPS_JSON = json.dumps(
    {
        "class": [{"x-y": 1.5}, {"x-y": 2, "z": None}],
        "ratio": 1.10,
        "n": [1, 2.5],
        "update": {"get": {"keys": [[{"items": 1}]]}},
        "k" * 70: {"z" * 70: [{"a": 1}, {"b": "x"}]},
    }
)


def _slug(text: str) -> str:
    return re.sub(r"\W", "_", text)


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for d in FORMAT_DIRS for p in (CORPUS / d).iterdir() if p.is_file())


def round_trip_cases() -> list[tuple[str, Path, str, int | None]]:
    """``(id, path, format, document)`` for every corpus file (and document) that converts."""
    cases = []
    for path in corpus_files():
        fmt = path.parent.name
        if path.name in MULTI_DOCUMENT:
            cases += [(f"{path.name}#{i}", path, fmt, i) for i in range(MULTI_DOCUMENT[path.name])]
        elif path.name not in CANNOT:
            cases.append((path.name, path, fmt, None))
    return cases


needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the real-config corpus is not there ({CORPUS.name} beside the repository)"
)

_LOADER = r'''
import importlib, json, sys
import vein
from vein.infer import read_document

sys.path.insert(0, sys.argv[1])
SOURCES = {"yaml": vein.from_yaml, "json": vein.from_json, "toml": vein.from_toml}

def difference(got, want, path=""):
    if type(got) is not type(want):
        return f"{path or 'top'}: {type(got).__name__} {got!r:.60} != {type(want).__name__} {want!r:.60}"
    if isinstance(want, dict):
        if got.keys() != want.keys():
            return f"{path or 'top'}: keys differ: extra {sorted(got.keys() - want.keys())[:5]}, missing {sorted(want.keys() - got.keys())[:5]}"
        for k in want:
            found = difference(got[k], want[k], f"{path}.{k}" if path else k)
            if found:
                return found
        return None
    if isinstance(want, list):
        if len(got) != len(want):
            return f"{path}: {len(got)} items != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            found = difference(g, w, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if got == want else f"{path}: {got!r:.60} != {want!r:.60}"

results = {}
for case in json.loads(sys.stdin.read()):
    try:
        module = importlib.import_module(case["module"])
        root = module.Settings
        kw = {} if case["document"] is None else {"document": case["document"]}
        want = read_document(case["path"], format=case["format"], document=case["document"])
        loaded = vein.load(root, SOURCES[case["format"]](case["path"], **kw))
        problem = difference(vein.to_dict(loaded), want)
        if problem is None:
            problem = difference(vein.to_dict(root.from_dict(want)), want)
            problem = problem and "from_dict: " + problem
        results[case["id"]] = problem
    except Exception as exc:  # reported per case by the test
        results[case["id"]] = f"{type(exc).__name__}: {exc}"[:3000]
print(json.dumps(results))
'''


class Corpus:
    """Everything the corpus tests check, produced once (subprocesses run in parallel)."""

    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "generated"
        self.dir.mkdir()
        docs = tmp / "docs"
        docs.mkdir()
        (docs / "traps.yaml").write_text(TRAPS_YAML, encoding="utf-8")
        (docs / "traps.json").write_text(TRAPS_JSON, encoding="utf-8")
        self.cases = round_trip_cases() + [
            ("traps.yaml", docs / "traps.yaml", "yaml", None),
            ("traps.json", docs / "traps.json", "json", None),
        ]
        self.convert: dict[str, subprocess.CompletedProcess[str]] = {}
        self.modules: dict[str, str] = {}

        def convert(case: tuple[str, Path, str, int | None]) -> tuple[str, subprocess.CompletedProcess[str]]:
            cid, path, fmt, doc = case
            args = ["convert", str(path), "--format", fmt]
            if doc is not None:
                args += ["--document", str(doc)]
            return cid, run_vein(*args)

        with ThreadPoolExecutor(max_workers=4) as pool:
            for cid, proc in pool.map(convert, self.cases):
                self.convert[cid] = proc
        manifest = []
        for cid, path, fmt, doc in self.cases:
            proc = self.convert[cid]
            if proc.returncode != 0:
                continue
            module = f"conv_{_slug(cid)}"
            (self.dir / f"{module}.py").write_text(proc.stdout, encoding="utf-8")
            self.modules[cid] = module
            manifest.append({"id": cid, "module": module, "path": str(path), "format": fmt, "document": doc})
        files = sorted(str(p) for p in self.dir.glob("*.py"))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        self.mypy = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp / "mypy-cache"),
             "--config-file", str(REPO / "pyproject.toml"), *files],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=600, check=False,
        )
        self.ruff = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(REPO / "pyproject.toml"), *files],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=300, check=False,
        )
        loader = subprocess.run(
            [sys.executable, "-c", _LOADER, str(self.dir)],
            input=json.dumps(manifest), cwd=tmp, env=env, capture_output=True, text=True,
            timeout=600, check=False,
        )
        assert loader.returncode == 0, loader.stderr
        self.round_trip: dict[str, str | None] = json.loads(loader.stdout)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("corpus"))


_CASE_IDS = [c[0] for c in round_trip_cases()] + ["traps.yaml", "traps.json"]


class TestCorpus:
    @needs_corpus
    def test_the_walk_covers_every_file(self) -> None:
        files = corpus_files()
        names = {p.name for p in files}
        assert len(files) >= 20, "the corpus looks truncated"
        assert set(CANNOT) <= names, f"listed but not in the corpus: {set(CANNOT) - names}"
        converted = {c[1].name for c in round_trip_cases()}
        assert converted | set(CANNOT) == names  # every file is converted or listed with a reason

    @pytest.mark.parametrize("cid", _CASE_IDS)
    def test_convert_prints_classes(self, corpus: Corpus, cid: str) -> None:
        proc = corpus.convert[cid]
        assert proc.returncode == 0, proc.stderr
        # Only warnings where yaml.safe_load (YAML 1.1) read a value otherwise.
        assert all(
            line.startswith("warning: ") and "yaml.safe_load read" in line
            for line in proc.stderr.splitlines()
        ), proc.stderr
        assert "@vein.flow\nclass Settings:" in proc.stdout

    def test_generated_code_passes_mypy_strict(self, corpus: Corpus) -> None:
        assert corpus.modules, "nothing was generated"
        assert corpus.mypy.returncode == 0, corpus.mypy.stdout + corpus.mypy.stderr
        assert f"no issues found in {len(corpus.modules)} source files" in corpus.mypy.stdout

    def test_generated_code_passes_ruff(self, corpus: Corpus) -> None:
        assert corpus.ruff.returncode == 0, corpus.ruff.stdout + corpus.ruff.stderr

    @pytest.mark.parametrize("cid", _CASE_IDS)
    def test_load_and_dump_give_the_document_back(self, corpus: Corpus, cid: str) -> None:
        assert cid in corpus.round_trip, f"{cid} was not converted: {corpus.convert[cid].stderr}"
        assert corpus.round_trip[cid] is None, corpus.round_trip[cid]

    @needs_corpus
    @pytest.mark.parametrize("name", sorted(CANNOT))
    def test_files_that_cannot_round_trip_fail_with_a_clear_source_error(self, name: str) -> None:
        reason, message = CANNOT[name]
        path = next(p for p in corpus_files() if p.name == name)
        fmt = path.parent.name
        proc = run_vein("convert", str(path), "--format", fmt)
        assert proc.returncode == 1, (reason, proc.stdout[:500], proc.stderr)
        assert proc.stderr.startswith(f"vein: error: {path}"), proc.stderr  # names the file
        assert message in proc.stderr, (reason, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stdout == ""
        with pytest.raises(vein.SourceError) as info:
            read_document(path, format=fmt)
        assert info.value.source == str(path)

    @pytest.mark.parametrize(
        "path", [p for p in corpus_files() if p.name not in CANNOT], ids=lambda p: p.name
    )
    def test_the_schema_less_config_reads_what_convert_reads(self, path: Path) -> None:
        # read_document is "the document as vein's schema-less loader reads it": the same
        # sources, the same YAML 1.2 core typing, keys with dots kept whole, as vein.Config().
        config = vein.Config()
        config.update(SOURCES[path.parent.name](path))
        assert difference(config.to_dict(), read_document(path)) is None


def test_convert_warns_where_yaml_1_1_read_the_file_differently(tmp_path: Path) -> None:
    """A dict-based config read with yaml.safe_load saw False for 'off' and 420 for 0644:
    vein convert says so for each such value (the classes follow YAML 1.2)."""
    path = tmp_path / "legacy.yml"
    path.write_text(
        "features:\n  gift_cards: off\nmode: 0644\nat: 22:30\nversion: 1.10\nname: plain\n",
        encoding="utf-8",
    )
    proc = run_vein("convert", str(path))
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert [w.split(":")[1].strip() for w in warnings] == ["features.gift_cards", "mode", "at"]
    assert "yaml.safe_load read False" in warnings[0] and "read 420" in warnings[1]
    assert "gift_cards: str" in proc.stdout  # the classes follow vein's reading
    json_path = tmp_path / "legacy.json"
    json_path.write_text('{"gift_cards": "off"}', encoding="utf-8")
    assert run_vein("convert", str(json_path)).stderr == ""  # JSON text is text
