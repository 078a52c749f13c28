"""Bad input for every source kind (SPEC §13): malformed content, wrong types, unknown keys,
missing files, binary garbage, huge and deeply nested documents.

Each case must raise a ``vein.VeinError`` that names the problem and where it is, and leave
an existing object exactly as it was: same values (``vein.to_dict``), same provenance, no
event, and its layers still working afterwards.
"""

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vein


@vein.flow
class Database:
    host: str = "localhost"
    port: int = vein.field(default=5432, validator=attrs.validators.in_(range(1, 65536)))


@vein.flow
class Settings:
    name: str = "default"
    timeout: float = 30.0
    debug: bool = False
    hosts: list[str] = vein.field(factory=list)
    data: dict[str, Any] = vein.field(factory=dict)
    database: Database = vein.field(factory=Database)


PATHS = ["name", "timeout", "debug", "hosts", "data", "database.host", "database.port"]
SUFFIX = {"yaml": "yml", "json": "json", "toml": "toml"}
READER: dict[str, Callable[..., Any]] = {
    "yaml": vein.from_yaml,
    "json": vein.from_json,
    "toml": vein.from_toml,
}


class Existing:
    """An object with history (a file layer, an env layer, a runtime write) and a listener."""

    def __init__(self, tmp_path: Path) -> None:
        self.base = tmp_path / "base.yml"
        self.base.write_text("name: from-file\ndatabase:\n  host: file-host\n", encoding="utf-8")
        self.env = vein.from_env("BAD_", environ={"BAD_DATABASE__PORT": "6000"})
        self.obj = Settings()
        self.obj.update(vein.from_yaml(self.base), self.env)
        self.obj.timeout = 12.5
        self.events: list[vein.Change] = []
        self.obj.on_change("*", self.events.append)
        self.before = vein.to_dict(self.obj)
        self.provenance = {p: str(self.obj.explain(p)) for p in PATHS}

    def rejects(self, *sources: Any, error: type[vein.VeinError] = vein.VeinError) -> Any:
        """Apply *sources*: must raise *error* and change nothing at all."""
        with pytest.raises(error) as info:
            self.obj.update(*sources)
        assert isinstance(info.value, vein.VeinError)
        self.unchanged()
        return info.value

    def unchanged(self) -> None:
        assert vein.to_dict(self.obj) == self.before
        assert {p: str(self.obj.explain(p)) for p in PATHS} == self.provenance
        assert self.events == []

    def still_works(self) -> None:
        """The layers survived: a reload of the good file still follows the layering rule."""
        self.base.write_text("name: again\ndatabase:\n  host: file-host\n", encoding="utf-8")
        os.utime(self.base, ns=(0, self.base.stat().st_mtime_ns + 10**9))
        self.obj.update(vein.from_yaml(self.base))
        assert self.obj.name == "again"
        assert self.obj.database.port == 6000  # env is later than the file
        assert self.obj.timeout == 12.5  # the runtime write was not touched


@pytest.fixture
def existing(tmp_path: Path) -> Existing:
    return Existing(tmp_path)


def write(tmp_path: Path, kind: str, content: str | bytes, stem: str = "bad") -> Path:
    path = tmp_path / f"{stem}.{SUFFIX[kind]}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return path


MALFORMED = {
    "yaml": [
        ("name: [unclosed\ntimeout: 1\n", (2, 8)),
        ("name: ok\n\tdebug: true\n", (2, 1)),
        ("name: 'open\n", None),
        ("a: b: c\n", (1, 5)),
        ("- a\nb: c\n", (2, 1)),
        ("name: *undefined\n", (1, 7)),
    ],
    "json": [
        ('{"name": "x",}', None),
        ('{"name": "x"', None),
        ("{name: 1}", None),
        ('{"name": "x"} trailing', None),
        ("{\"name\": 'x'}", None),
    ],
    "toml": [
        ("name = \n", None),
        ("name = 'x'\nname = 'y'\n", None),
        ("[database\nport = 1\n", None),
        ("name = 'x' 'y'\n", None),
        ('name = """never closed\n', None),
    ],
}


class TestMalformed:
    """Syntax errors: a SourceError naming the file, with a 1-based line and column."""

    @pytest.mark.parametrize(
        ("kind", "text", "where"),
        [(kind, text, where) for kind, cases in MALFORMED.items() for text, where in cases],
    )
    def test_file(
        self, existing: Existing, tmp_path: Path, kind: str, text: str, where: Any
    ) -> None:
        path = write(tmp_path, kind, text)
        err = existing.rejects(READER[kind](path), error=vein.SourceError)
        assert str(path) in str(err)
        assert f"invalid {kind.upper()}" in str(err)
        assert err.line is not None and err.line >= 1
        assert err.column is not None and err.column >= 1
        assert f"{path}:{err.line}:{err.column}" in str(err)
        if where is not None:
            assert (err.line, err.column) == where
        existing.still_works()

    def test_json_location_matches_the_json_module(
        self, existing: Existing, tmp_path: Path
    ) -> None:
        for i, (text, _where) in enumerate(MALFORMED["json"]):
            path = write(tmp_path, "json", text, stem=f"bad{i}")
            with pytest.raises(json.JSONDecodeError) as ref:
                json.loads(text)
            err = existing.rejects(vein.from_json(path), error=vein.SourceError)
            assert (err.line, err.column) == (ref.value.lineno, ref.value.colno)

    @pytest.mark.parametrize(
        ("variable", "text"),
        [
            ("BAD_DATABASE", "{not json"),
            ("BAD_DATABASE", "[1, 2]"),
            ("BAD_HOSTS", "[unclosed"),
            ("BAD_DATA", '{"a": }'),
        ],
    )
    def test_env_json(self, existing: Existing, variable: str, text: str) -> None:
        err = existing.rejects(
            vein.from_env("BAD_", environ={variable: text}), error=vein.ValidationError
        )
        assert variable in str(err)
        existing.still_works()

    def test_the_good_source_in_the_same_update_is_not_applied(
        self, existing: Existing, tmp_path: Path
    ) -> None:
        good = vein.from_env("BAD_", environ={"BAD_NAME": "would-change"})
        bad = vein.from_yaml(write(tmp_path, "yaml", "name: [\n"))
        existing.rejects(good, bad, error=vein.SourceError)
        existing.still_works()


WRONG_TYPES = {
    "yaml": "name: ok\ntimeout: soon\ndebug: maybe\ndatabase:\n  port: 99999\n",
    "json": '{"name": "ok", "timeout": "soon", "debug": "maybe", "database": {"port": 99999}}',
    "toml": "name = 'ok'\ntimeout = 'soon'\ndebug = 'maybe'\n[database]\nport = 99999\n",
}


class TestWrongTypes:
    """Values of the wrong type: one ValidationError listing every one, each located."""

    @pytest.mark.parametrize("kind", sorted(WRONG_TYPES))
    def test_file(self, existing: Existing, tmp_path: Path, kind: str) -> None:
        path = write(tmp_path, kind, WRONG_TYPES[kind])
        err = existing.rejects(READER[kind](path), error=vein.ValidationError)
        assert sorted(e.path for e in err.errors) == ["database.port", "debug", "timeout"]
        for entry in err.errors:
            assert entry.source is not None
            assert str(path) in str(entry.source)
        if kind == "yaml":
            assert {e.path: (e.source.line, e.source.column) for e in err.errors} == {
                "timeout": (2, 1),
                "debug": (3, 1),
                "database.port": (5, 3),
            }
        existing.still_works()

    def test_env(self, existing: Existing) -> None:
        environ = {"BAD_TIMEOUT": "soon", "BAD_DEBUG": "maybe", "BAD_DATABASE__PORT": "99999"}
        err = existing.rejects(vein.from_env("BAD_", environ=environ), error=vein.ValidationError)
        assert {e.path: str(e.source) for e in err.errors} == {
            "timeout": "env BAD_TIMEOUT",
            "debug": "env BAD_DEBUG",
            "database.port": "env BAD_DATABASE__PORT",
        }
        existing.still_works()

    def test_dict(self, existing: Existing) -> None:
        source = vein.from_dict({"timeout": "soon", "database": {"port": "x"}}, name="overrides")
        err = existing.rejects(source, error=vein.ValidationError)
        assert sorted(e.path for e in err.errors) == ["database.port", "timeout"]
        assert all("dict overrides" in str(e.source) for e in err.errors)

    def test_plain_mapping(self, existing: Existing) -> None:
        err = existing.rejects(
            {"timeout": "5", "database": {"port": 0}}, error=vein.ValidationError
        )
        assert sorted(e.path for e in err.errors) == ["database.port", "timeout"]
        existing.still_works()

    @pytest.mark.parametrize(
        ("kind", "text"),
        [
            ("yaml", "database: 5\n"),
            ("yaml", "database: [a]\n"),
            ("json", '{"database": "x"}'),
            ("toml", "database = 1\n"),
            ("yaml", "hosts: {a: 1}\n"),
            ("yaml", "name: [a, b]\n"),
        ],
    )
    def test_shape_mismatch(self, existing: Existing, tmp_path: Path, kind: str, text: str) -> None:
        existing.rejects(READER[kind](write(tmp_path, kind, text)), error=vein.ValidationError)


class TestUnknownKeys:
    """Unknown keys: a ValidationError with did-you-mean; env only warns."""

    @pytest.mark.parametrize(
        ("kind", "text"),
        [
            ("yaml", "nmae: x\ndatabase:\n  prot: 1\n"),
            ("json", '{"nmae": "x", "database": {"prot": 1}}'),
            ("toml", "nmae = 'x'\n[database]\nprot = 1\n"),
        ],
    )
    def test_file(self, existing: Existing, tmp_path: Path, kind: str, text: str) -> None:
        err = existing.rejects(
            READER[kind](write(tmp_path, kind, text)), error=vein.ValidationError
        )
        assert sorted(e.path for e in err.errors) == ["database.prot", "nmae"]
        assert "did you mean 'name'" in str(err)
        assert "did you mean 'port'" in str(err)

    def test_dict_and_mapping(self, existing: Existing) -> None:
        existing.rejects(vein.from_dict({"nmae": "x"}, name="d"), error=vein.ValidationError)
        existing.rejects({"database": {"hots": "x"}}, error=vein.ValidationError)

    def test_env_warns_and_changes_nothing(self, existing: Existing) -> None:
        with pytest.warns(vein.VeinWarning, match="BAD_NMAE"):
            environ = {"BAD_DATABASE__PORT": "6000", "BAD_NMAE": "x"}  # the same env layer
            assert existing.obj.update(vein.from_env("BAD_", environ=environ)) == []
        assert vein.to_dict(existing.obj) == existing.before
        assert existing.events == []


class TestMissingFiles:
    @pytest.mark.parametrize("kind", sorted(READER))
    def test_missing(self, existing: Existing, tmp_path: Path, kind: str) -> None:
        path = tmp_path / "nowhere" / f"config.{SUFFIX[kind]}"
        err = existing.rejects(READER[kind](path), error=vein.SourceError)
        assert str(path) in str(err)
        assert "not found" in str(err)
        existing.still_works()

    @pytest.mark.parametrize("kind", sorted(READER))
    def test_directory(self, existing: Existing, tmp_path: Path, kind: str) -> None:
        folder = tmp_path / f"folder.{SUFFIX[kind]}"
        folder.mkdir()
        err = existing.rejects(READER[kind](folder), error=vein.SourceError)
        assert str(folder) in str(err)

    @pytest.mark.parametrize("kind", sorted(READER))
    def test_unreadable(self, existing: Existing, tmp_path: Path, kind: str) -> None:
        """A path that cannot be read (a symlink loop: unreadable even for root)."""
        path = tmp_path / f"loop.{SUFFIX[kind]}"
        path.symlink_to(path)
        err = existing.rejects(READER[kind](path), error=vein.SourceError)
        assert str(path) in str(err)
        existing.still_works()

    @pytest.mark.parametrize("kind", sorted(READER))
    def test_file_disappears_on_reload(self, existing: Existing, tmp_path: Path, kind: str) -> None:
        content = {"yaml": "name: x\n", "json": '{"name": "x"}', "toml": "name = 'x'\n"}[kind]
        path = write(tmp_path, kind, content)
        source = READER[kind](path)
        existing.obj.update(source)
        existing.events.clear()
        existing.before = vein.to_dict(existing.obj)
        existing.provenance = {p: str(existing.obj.explain(p)) for p in PATHS}
        path.unlink()
        existing.rejects(source, error=vein.SourceError)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
GARBAGE = {
    "png": PNG,
    "nul": b"\x00" * 64,
    "nul-inside": b"name: ok\x00\ntimeout: 1\n",
    "latin-1": "name: caf\u00e9\n".encode("latin-1"),
    "utf-16": "name: x\n".encode("utf-16"),
    "gzip": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x07\x00",
    "control": b"name: a\x07\x1b[31mb\n",
}


class TestBinaryGarbage:
    """Binary content is a SourceError naming the file, never another exception."""

    @pytest.mark.parametrize("kind", sorted(READER))
    @pytest.mark.parametrize("garbage", sorted(GARBAGE))
    def test_fixed_samples(
        self, existing: Existing, tmp_path: Path, kind: str, garbage: str
    ) -> None:
        path = write(tmp_path, kind, GARBAGE[garbage])
        err = existing.rejects(READER[kind](path), error=vein.SourceError)
        assert str(path) in str(err)
        existing.still_works()

    @settings(
        deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(raw=st.binary(min_size=1, max_size=2048), kind=st.sampled_from(sorted(READER)))
    def test_random_bytes(self, tmp_path: Path, raw: bytes, kind: str) -> None:
        """Random bytes: a VeinError with the state unchanged, or (rarely) a valid no-op."""
        existing = Existing(tmp_path)
        path = write(tmp_path, kind, raw, stem="random")
        try:
            changes = existing.obj.update(READER[kind](path))
        except vein.VeinError as err:
            assert str(path) in str(err) or isinstance(err, vein.ValidationError)
            existing.unchanged()
        else:
            assert changes == [] or all(c.path in PATHS for c in changes)

    @settings(
        deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=300))
    def test_random_env_text(self, tmp_path: Path, text: str) -> None:
        """Any text in any variable: converted, or a ValidationError naming the variable."""
        existing = Existing(tmp_path)
        environ = {"BAD_TIMEOUT": text, "BAD_DATABASE": text, "BAD_HOSTS": text, "BAD_DEBUG": text}
        try:
            existing.obj.update(vein.from_env("BAD_", environ=environ))
        except vein.ValidationError as err:
            assert all(str(e.source).startswith("env BAD_") for e in err.errors)
            existing.unchanged()


class TestHuge:
    """About 5 MB of valid data loads (or is refused clearly); no crash."""

    ITEMS = 400_000

    def test_yaml_list(self, existing: Existing, tmp_path: Path) -> None:
        path = tmp_path / "huge.yml"
        with path.open("w", encoding="utf-8") as f:
            f.write("data:\n  items:\n")
            for i in range(self.ITEMS):
                f.write(f"    - item-{i:07d}\n")
        assert path.stat().st_size > 5_000_000
        existing.obj.update(vein.from_yaml(path))
        items = existing.obj.data["items"]
        assert len(items) == self.ITEMS
        assert items[-1] == f"item-{self.ITEMS - 1:07d}"

    def test_json_list(self, existing: Existing, tmp_path: Path) -> None:
        path = tmp_path / "huge.json"
        path.write_text(json.dumps({"hosts": [f"host-{i:07d}" for i in range(self.ITEMS)]}))
        assert path.stat().st_size > 5_000_000
        existing.obj.update(vein.from_json(path))
        assert len(existing.obj.hosts) == self.ITEMS

    def test_toml_array(self, existing: Existing, tmp_path: Path) -> None:
        path = tmp_path / "huge.toml"
        body = ",\n".join(f'"host-{i:07d}"' for i in range(self.ITEMS))
        path.write_text(f"hosts = [\n{body}\n]\n")
        assert path.stat().st_size > 5_000_000
        existing.obj.update(vein.from_toml(path))
        assert len(existing.obj.hosts) == self.ITEMS

    def test_huge_invalid_reported_once(self, existing: Existing, tmp_path: Path) -> None:
        """A huge file with one bad item: one clear error, the item located."""
        path = tmp_path / "huge.yml"
        lines = ["hosts:"] + [f"  - host-{i}" for i in range(100_000)] + ["  - [nested]"]
        path.write_text("\n".join(lines) + "\n")
        err = existing.rejects(vein.from_yaml(path), error=vein.ValidationError)
        assert [e.path for e in err.errors] == ["hosts[100000]"]

    def test_huge_env_value(self, existing: Existing) -> None:
        value = ",".join(f"h{i}" for i in range(500_000))
        existing.obj.update(vein.from_env("BAD_", environ={"BAD_HOSTS": value}))
        assert len(existing.obj.hosts) == 500_000

    def test_many_keys(self, existing: Existing, tmp_path: Path) -> None:
        path = tmp_path / "wide.json"
        path.write_text(json.dumps({"data": {f"k{i}": i for i in range(200_000)}}))
        existing.obj.update(vein.from_json(path))
        assert len(existing.obj.data) == 200_000


class TestDeepNesting:
    """Deep documents: at least 100 levels load; deeper ones are refused with a VeinError,
    never a RecursionError."""

    @staticmethod
    def nested_json(depth: int) -> str:
        return '{"a": ' * depth + "1" + "}" * depth

    @pytest.mark.parametrize("depth", [100, 150])
    def test_supported_depth(self, existing: Existing, tmp_path: Path, depth: int) -> None:
        for kind, text in {
            "yaml": "data: " + "{a: " * depth + "1" + "}" * depth + "\n",
            "json": '{"data": ' + self.nested_json(depth) + "}",
            "toml": "data = " + "{a = " * depth + "1" + "}" * depth + "\n",
        }.items():
            path = write(tmp_path, kind, text, stem=f"deep{depth}")
            existing.obj.update(READER[kind](path))
            node: Any = existing.obj.data
            for _ in range(depth):
                node = node["a"]
            assert node == 1, kind

    @pytest.mark.parametrize("depth", [1_000, 100_000])
    @pytest.mark.parametrize("kind", sorted(READER))
    def test_too_deep_files(
        self, existing: Existing, tmp_path: Path, kind: str, depth: int
    ) -> None:
        text = {
            "yaml": "data: " + "[" * depth + "]" * depth + "\n",
            "json": '{"data": ' + "[" * depth + "]" * depth + "}",
            "toml": "data = " + "[" * depth + "]" * depth + "\n",
        }[kind]
        path = write(tmp_path, kind, text, stem="deep")
        err = existing.rejects(READER[kind](path), error=vein.VeinError)
        assert "deep" in str(err)
        existing.still_works()

    @pytest.mark.parametrize("depth", [1_000, 100_000])
    @pytest.mark.parametrize("variable", ["BAD_DATA", "BAD_DATABASE", "BAD_HOSTS"])
    def test_too_deep_env_json(self, existing: Existing, variable: str, depth: int) -> None:
        text = "[" * depth + "]" * depth if variable == "BAD_HOSTS" else self.nested_json(depth)
        err = existing.rejects(
            vein.from_env("BAD_", environ={variable: text}), error=vein.VeinError
        )
        assert variable in str(err)

    def test_deep_yaml_never_crashes_the_process(self, tmp_path: Path) -> None:
        """libyaml composes recursively on the C stack: tens of thousands of levels must be
        refused before that, even in a thread with a small stack (run in a subprocess, so
        that a crash fails this test instead of killing the test run)."""
        script = textwrap.dedent(
            """
            import sys, threading
            import vein
            from pathlib import Path

            shapes = {
                "flow": "data: " + "[" * 60000 + "]" * 60000 + "\\n",
                "compact": "data:\\n  " + "- " * 60000 + "x\\n",
                "indented": "data:\\n" + "".join(" " * (i + 2) + "-\\n" for i in range(3000)),
                "mixed": "data: " + "[{a: " * 30000 + "1" + "}]" * 30000 + "\\n",
            }
            results = []

            def run():
                for name, text in shapes.items():
                    path = Path(sys.argv[1]) / (name + ".yml")
                    path.write_text(text)
                    try:
                        vein.from_yaml(path).read(None)
                        results.append(name + ": loaded")
                    except vein.SourceError as exc:
                        results.append(name + ": " + exc.message)

            threading.stack_size(512 * 1024)
            t = threading.Thread(target=run)
            t.start()
            t.join()
            print("\\n".join(results))
            """
        )
        root = Path(__file__).resolve().parents[1]
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            capture_output=True,
            text=True,
            cwd=root,
            timeout=300,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert done.returncode == 0, done.stderr[-2000:]
        lines = done.stdout.splitlines()
        assert len(lines) == 4, done.stdout
        assert all("nested" in line for line in lines), lines

    def test_deep_python_mapping(self, existing: Existing) -> None:
        """A deep plain dict through from_dict: loaded or refused, never a RecursionError."""
        data: dict[str, Any] = {}
        node = data
        for _ in range(5_000):
            node["a"] = {}
            node = node["a"]
        try:
            existing.obj.update(vein.from_dict({"data": data}, name="deep"))
        except vein.VeinError:
            existing.unchanged()

    def test_deep_sections(self, existing: Existing, tmp_path: Path) -> None:
        """Deep nesting under a *section* (a flow class) is an unknown-key error, located."""
        path = write(tmp_path, "yaml", "database:\n  " + "{a: " * 150 + "1" + "}" * 150 + ": x\n")
        existing.rejects(vein.from_yaml(path), error=vein.VeinError)


class TestUnsafeYaml:
    """Object-building tags and alias bombs are refused before anything is built."""

    @pytest.mark.parametrize(
        "text",
        [
            "name: !!python/object/apply:os.system ['echo pwned']\n",
            "!!python/object/new:os.system [echo]\n",
            "data: !!python/name:os.system\n",
            "data: !include secrets.yml\n",
        ],
    )
    def test_tags(self, existing: Existing, tmp_path: Path, text: str) -> None:
        err = existing.rejects(
            vein.from_yaml(write(tmp_path, "yaml", text)), error=vein.SourceError
        )
        assert err.line == 1

    def test_alias_bomb(self, existing: Existing, tmp_path: Path) -> None:
        lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
        for prev, name in zip("abcdefghi", "bcdefghij", strict=True):
            lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
        text = "data:\n" + "\n".join("  " + line for line in lines) + "\n"
        err = existing.rejects(
            vein.from_yaml(write(tmp_path, "yaml", text)), error=vein.SourceError
        )
        assert "alias" in str(err)
        existing.still_works()


class TestHostileFiles:
    """Files that are no files, numbers no parser converts, and nulls that are no lists."""

    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
    def test_fifo_is_refused_without_blocking(self, existing: Existing, tmp_path: Path) -> None:
        fifo = tmp_path / "pipe.yml"
        os.mkfifo(fifo)
        exc = existing.rejects(vein.from_yaml(fifo), error=vein.SourceError)
        assert "not a regular file" in str(exc)

    def test_device_is_refused(self, existing: Existing) -> None:
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero")
        exc = existing.rejects(vein.from_yaml("/dev/zero"), error=vein.SourceError)
        assert "not a regular file" in str(exc)

    @pytest.mark.parametrize("kind", ["json", "toml", "yaml"])
    def test_integer_over_the_digit_limit(
        self, existing: Existing, tmp_path: Path, kind: str
    ) -> None:
        digits = "9" * 5000
        text = {"json": '{"timeout": %s}', "toml": "timeout = %s\n", "yaml": "timeout: %s\n"}
        path = write(tmp_path, kind, text[kind] % digits)
        existing.rejects(READER[kind](path))
        # the schema-less config too (no field type to blame)
        config = vein.Config()
        with pytest.raises(vein.VeinError):
            config.update(READER[kind](path))
        assert config.to_dict() == {}

    def test_yaml_tagged_integer_over_the_digit_limit(
        self, existing: Existing, tmp_path: Path
    ) -> None:
        path = write(tmp_path, "yaml", "data:\n  n: !!int %s\n" % ("9" * 5000))
        exc = existing.rejects(vein.from_yaml(path), error=vein.SourceError)
        assert (exc.line, exc.column) == (2, 6)

    def test_huge_integer_into_float(self, existing: Existing, tmp_path: Path) -> None:
        path = write(tmp_path, "json", '{"timeout": 1%s}' % ("0" * 400))
        exc = existing.rejects(vein.from_json(path))
        assert "timeout" in str(exc) and "too large" in str(exc)
        existing.rejects({"timeout": 10**400}, error=vein.ValidationError)
        with pytest.raises(vein.ValidationError):
            existing.obj.timeout = 10**400

    def test_env_json_array_with_huge_integer(self, existing: Existing) -> None:
        env = vein.from_env("BAD_", environ={"BAD_HOSTS": "[" + "9" * 5000 + "]"})
        exc = existing.rejects(env, error=vein.ValidationError)
        assert "BAD_HOSTS" in str(exc)

    @pytest.mark.parametrize("text", ["hosts: ~\n", "hosts: null\n", "hosts:\n", "hosts: NULL\n"])
    def test_yaml_null_into_a_list(self, existing: Existing, tmp_path: Path, text: str) -> None:
        exc = existing.rejects(vein.from_yaml(write(tmp_path, "yaml", text)))
        assert "null is not allowed" in str(exc)

    def test_yaml_null_into_a_mapping_field(self, existing: Existing, tmp_path: Path) -> None:
        existing.rejects(vein.from_yaml(write(tmp_path, "yaml", "data: ~\n")))

    def test_empty_path_text(self) -> None:
        @vein.flow
        class P:
            root: Path = Path("/srv")

        with pytest.raises(vein.ValidationError, match="a path"):
            vein.load(P, vein.from_env("P_", environ={"P_ROOT": " "}, empty="keep"))
        with pytest.raises(vein.ValidationError, match="a path"):
            vein.load(P, vein.from_dict({"root": ""}))

    def test_yaml_control_character_has_a_location(
        self, existing: Existing, tmp_path: Path
    ) -> None:
        path = write(tmp_path, "yaml", 'name: ok\ndata: {a: "x\x07y"}\n')
        exc = existing.rejects(vein.from_yaml(path), error=vein.SourceError)
        assert (exc.line, exc.column) == (2, 13)
        assert "<unicode string>" not in str(exc)


def test_first_writes_from_two_threads_share_one_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first write to the root and to a child, at once, must not make two trees (two
    locks: writes no longer serialized, a batch on the root blind to the child)."""
    import threading
    import time

    from vein.flow import state

    real_tree = state.Tree

    class SlowTree(real_tree):  # widens the window in which a second Tree could be made
        def __init__(self, root: Any) -> None:
            time.sleep(0.05)
            super().__init__(root)

    monkeypatch.setattr(state, "Tree", SlowTree)
    s = Settings()
    start = threading.Barrier(2)

    def on_root() -> None:
        start.wait()
        s.name = "root"

    def on_child() -> None:
        start.wait()
        s.database.host = "child"

    threads = [threading.Thread(target=on_root), threading.Thread(target=on_child)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert s._vein.tree is s.database._vein.tree
    with pytest.raises(RuntimeError), s.batch():
        s.database.host = "rolled-back"
        raise RuntimeError
    assert s.database.host == "child"


@pytest.mark.parametrize("via", ["json", "env", "mapping"])
def test_deep_data_into_an_any_field_is_refused_like_the_schema_less_config(
    tmp_path: Path, via: str
) -> None:
    """600 levels under a dict[str, Any] field: refused when loaded (else every snapshot,
    deepcopy and pickle after it would raise RecursionError)."""
    import json

    deep: Any = 1
    for _ in range(600):
        deep = {"a": deep}
    s = Settings()
    with pytest.raises(vein.ValidationError, match="nested deeper than"):
        if via == "json":
            path = tmp_path / "deep.json"
            path.write_text(json.dumps({"data": deep}), encoding="utf-8")
            s.update(vein.from_json(path))
        elif via == "env":
            s.update(vein.from_env("D_", environ={"D_DATA": json.dumps(deep)}))
        else:
            s.update({"data": deep})
    assert s.data == {}
    s.snapshot()
