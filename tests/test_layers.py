"""Layering, merging, atomic updates, ``load`` and ``explain`` (SPEC §5 "Layering" and "Merge").

Every sentence of the layering rule has a test class here; the file parse cache is pinned by
counting calls to the source's ``parse`` method.
"""

import os
import textwrap
from pathlib import Path
from typing import Any

import attrs
import pytest

import vein
from vein.sources.json import JsonSource
from vein.sources.toml import TomlSource
from vein.sources.yaml import YamlSource


def recorder(obj: Any, path: str = "*") -> list[vein.Change]:
    seen: list[vein.Change] = []
    obj.on_change(path, seen.append)
    return seen


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def rewrite(path: Path, text: str) -> Path:
    """Change a file so that its stat changes too (mtime resolution is not relied upon)."""
    old = path.stat()
    write(path, text)
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns + 1_000_000_000))
    return path


def env(**variables: str) -> Any:
    return vein.from_env("APP_", environ={f"APP_{k.upper()}": v for k, v in variables.items()})


@vein.flow
class Database:
    host: str = "localhost"
    port: int = vein.field(
        default=5432,
        validator=attrs.validators.and_(attrs.validators.ge(1), attrs.validators.le(65535)),
    )


@vein.flow
class Settings:
    timeout: float = 30.0
    name: str = "default"
    debug: bool = False
    hosts: list[str] = vein.field(factory=list)
    plugins: list[str] = vein.field(factory=list, merge="extend")
    extras: list[str] = vein.field(factory=list, merge="extend_unique")
    limits: dict[str, Any] = vein.field(factory=dict)
    options: dict[str, Any] = vein.field(factory=dict, merge="deep")
    database: Database = vein.field(factory=Database)


class TestLaterSourceWins:
    """Sources given together apply in order; the later one wins."""

    def test_later_wins(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "timeout: 10\nname: file\n")
        s = Settings()
        s.update(vein.from_yaml(path), env(timeout="45"))
        assert s.timeout == 45.0
        assert s.name == "file"
        assert str(s.explain("timeout")) == "env APP_TIMEOUT"
        assert str(s.explain("name")) == f"{path}:2:1"

    def test_order_of_arguments_matters(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "timeout: 10\n")
        s = Settings()
        s.update(env(timeout="45"), vein.from_yaml(path))
        assert s.timeout == 10.0

    def test_update_returns_changes(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "name: file\ndatabase:\n  port: 6000\n")
        s = Settings()
        changes = s.update(vein.from_yaml(path))
        assert {(c.path, c.old, c.new) for c in changes} == {
            ("name", "default", "file"),
            ("database.port", 5432, 6000),
        }
        assert all(str(c.source).startswith(str(path)) for c in changes)

    def test_one_event_per_changed_leaf_after_commit(self, tmp_path: Path) -> None:
        """Events come after the whole update is committed, one per changed leaf."""
        path = write(tmp_path / "c.yml", "timeout: 5\nname: default\ndatabase: {port: 6000}\n")
        s = Settings()
        seen_state: list[tuple[float, int]] = []

        def on_timeout(change: vein.Change) -> None:
            seen_state.append((s.timeout, s.database.port))

        s.on_change("timeout", on_timeout)
        seen = recorder(s)
        s.update(vein.from_yaml(path))
        assert sorted(c.path for c in seen) == ["database.port", "timeout"]
        assert seen_state == [(5.0, 6000)]


class TestLatestIntentWins:
    """A runtime write or a source's new value replaces the current value, unless a
    later-ordered source defines the key."""

    def test_runtime_then_env(self) -> None:
        """``config.timeout = 30`` then ``update(from_env)`` with ``APP_TIMEOUT=45`` gives 45."""
        s = Settings()
        s.timeout = 30
        s.update(env(timeout="45"))
        assert s.timeout == 45.0
        assert str(s.explain("timeout")) == "env APP_TIMEOUT"

    def test_runtime_then_env_with_real_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LAYERS_TIMEOUT", "45")
        s = Settings()
        s.timeout = 30
        s.update(vein.from_env("LAYERS_"))
        assert s.timeout == 45.0

    def test_runtime_after_sources_wins(self, tmp_path: Path) -> None:
        s = Settings()
        s.update(vein.from_yaml(write(tmp_path / "c.yml", "timeout: 1\n")), env(timeout="2"))
        s.timeout = 3
        assert s.timeout == 3.0
        assert str(s.explain("timeout")) == "runtime"

    def test_reloaded_yaml_never_overrides_later_env(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "timeout: 1\nname: one\n")
        yaml_source = vein.from_yaml(path)
        s = Settings()
        s.update(yaml_source)
        s.update(env(timeout="45"))
        rewrite(path, "timeout: 99\nname: two\n")
        changes = s.update(yaml_source)
        assert s.timeout == 45.0
        assert s.name == "two"
        assert [c.path for c in changes] == ["name"]
        assert str(s.explain("timeout")) == "env APP_TIMEOUT"

    def test_lower_source_does_not_override_runtime_when_later_source_defines(
        self, tmp_path: Path
    ) -> None:
        """A key a later source defines stays out of reach of a lower source's new value."""
        path = write(tmp_path / "c.yml", "timeout: 1\n")
        yaml_source = vein.from_yaml(path)
        s = Settings()
        s.update(yaml_source, env(timeout="2"))
        s.timeout = 5
        rewrite(path, "timeout: 3\n")
        s.update(yaml_source)
        assert s.timeout == 5.0

    def test_new_value_from_source_replaces_runtime(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "timeout: 1\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source)
        s.timeout = 7
        rewrite(path, "timeout: 2\n")
        s.update(source)
        assert s.timeout == 2.0
        assert str(s.explain("timeout")) == f"{path}:1:1"

    def test_env_changed_replaces_runtime(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LAYERS_TIMEOUT", "10")
        source = vein.from_env("LAYERS_")
        s = Settings()
        s.update(source)
        s.timeout = 11
        s.update(source)
        assert s.timeout == 11.0  # unchanged variable: the runtime write stays
        monkeypatch.setenv("LAYERS_TIMEOUT", "12")
        s.update(source)
        assert s.timeout == 12.0


class TestLayerOrder:
    """Layers are ordered by first application; re-applying a source keeps its place."""

    def test_reapplied_source_keeps_its_place(self, tmp_path: Path) -> None:
        a = write(tmp_path / "a.yml", "name: a\n")
        b = write(tmp_path / "b.yml", "name: b\n")
        s = Settings()
        s.update(vein.from_yaml(a))
        s.update(vein.from_yaml(b))
        rewrite(a, "name: a2\n")
        s.update(vein.from_yaml(a))
        assert s.name == "b"

    def test_file_layer_named_by_resolved_path(self, tmp_path: Path) -> None:
        """Another spelling of the same file is the same layer (same place)."""
        (tmp_path / "sub").mkdir()
        a = write(tmp_path / "a.yml", "name: a\n")
        b = write(tmp_path / "b.yml", "name: b\n")
        s = Settings()
        s.update(vein.from_yaml(a), vein.from_yaml(b))
        rewrite(a, "name: a2\n")
        s.update(vein.from_yaml(tmp_path / "sub" / ".." / "a.yml"))
        assert s.name == "b"

    def test_env_layer_named_by_prefix(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "name: file\n")
        s = Settings()
        s.update(env(name="first"))
        s.update(vein.from_yaml(path))
        s.update(env(name="second"))  # a new object, same prefix: the same (lower) layer
        assert s.name == "file"

    def test_other_prefix_is_another_layer(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "name: file\n")
        s = Settings()
        s.update(vein.from_yaml(path))
        s.update(vein.from_env("OTHER_", environ={"OTHER_NAME": "other"}))
        assert s.name == "other"

    def test_dict_layer_named_by_name(self) -> None:
        s = Settings()
        s.update(vein.from_dict({"name": "x1"}, name="x"))
        s.update(vein.from_dict({"name": "y"}, name="y"))
        s.update(vein.from_dict({"name": "x2"}, name="x"))
        assert s.name == "y"
        s.update(vein.from_dict({"name": "z"}, name="z"))
        assert s.name == "z"

    def test_failed_update_registers_no_layer(self, tmp_path: Path) -> None:
        """After a rejected update, the env source is first applied by the next update."""
        path = write(tmp_path / "c.yml", "timeout: 2\n")
        s = Settings()
        with pytest.raises(vein.ValidationError):
            s.update(env(timeout="45", debug="perhaps"))
        s.update(vein.from_yaml(path))
        s.update(env(timeout="45"))
        assert s.timeout == 45.0  # env is above the file: it came later


class TestReload:
    """A reload writes only the keys whose value in that source changed; dropped keys fall
    back to the next source below, or the default, only if their value came from it."""

    def test_untouched_key_keeps_runtime_value(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "name: file\ntimeout: 1\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source)
        s.name = "runtime"
        rewrite(path, "name: file\ntimeout: 2\n")
        changes = s.update(source)
        assert (s.name, s.timeout) == ("runtime", 2.0)
        assert [c.path for c in changes] == ["timeout"]
        assert str(s.explain("name")) == "runtime"

    def test_unchanged_reload_is_silent(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "name: file\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source)
        seen = recorder(s)
        assert s.update(source) == []
        assert s.update(vein.from_yaml(path)) == []
        assert seen == []

    def test_dropped_key_falls_back_to_default(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "name: file\ndatabase:\n  port: 6000\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source)
        rewrite(path, "{}\n")
        changes = s.update(source)
        assert (s.name, s.database.port) == ("default", 5432)
        assert {(c.path, c.new) for c in changes} == {("name", "default"), ("database.port", 5432)}
        assert str(s.explain("name")) == "default"
        assert str(s.explain("database.port")) == "default"

    def test_dropped_key_falls_back_to_next_source_below(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "name: file\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(vein.from_dict({"name": "lowest"}, name="base"))
        s.update(vein.from_dict({"name": "middle"}, name="middle"))
        s.update(source)
        rewrite(path, "timeout: 1\n")
        s.update(source)
        assert s.name == "middle"
        assert str(s.explain("name")).startswith("dict middle")

    def test_dropped_key_keeps_runtime_value(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "name: file\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source)
        s.name = "runtime"
        rewrite(path, "timeout: 1\n")
        s.update(source)
        assert s.name == "runtime"

    def test_dropped_key_keeps_later_source_value(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "name: file\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source, env(name="env"))
        rewrite(path, "timeout: 1\n")
        s.update(source)
        assert s.name == "env"

    def test_env_variable_removed_falls_back_to_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = write(tmp_path / "c.yml", "timeout: 3\n")
        monkeypatch.setenv("LAYERS_TIMEOUT", "45")
        env_source = vein.from_env("LAYERS_")
        s = Settings()
        s.update(vein.from_yaml(path), env_source)
        assert s.timeout == 45.0
        monkeypatch.delenv("LAYERS_TIMEOUT")
        changes = s.update(env_source)
        assert s.timeout == 3.0
        assert [(c.path, c.old, c.new) for c in changes] == [("timeout", 45.0, 3.0)]
        assert str(s.explain("timeout")) == f"{path}:1:1"

    def test_dict_layer_reload(self) -> None:
        """``from_dict`` is reloadable: re-applying the mutated mapping is a reload."""
        data: dict[str, Any] = {"name": "one", "timeout": 1}
        source = vein.from_dict(data, name="live")
        s = Settings()
        s.update(source)
        s.timeout = 9
        data["name"] = "two"
        del data["timeout"]
        s.update(source)
        assert (s.name, s.timeout) == ("two", 9.0)


class TestDeepMerge:
    """Nested flow classes merge deeply, from every kind of source."""

    def test_higher_layer_sets_only_port(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "database:\n  host: db.internal\n  port: 1000\n")
        s = Settings()
        s.update(vein.from_yaml(path), env(database__port="2000"))
        assert (s.database.host, s.database.port) == ("db.internal", 2000)

    def test_plain_mapping_merges_deeply(self) -> None:
        s = Settings()
        s.database.host = "kept"
        s.update({"database": {"port": 7}})
        assert (s.database.host, s.database.port) == ("kept", 7)

    def test_from_dict_merges_deeply(self) -> None:
        s = Settings()
        s.update(vein.from_dict({"database": {"host": "h"}}, name="a"))
        s.update(vein.from_dict({"database": {"port": 8}}, name="b"))
        assert (s.database.host, s.database.port) == ("h", 8)

    def test_env_json_section_merges_deeply(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "database:\n  host: from-file\n")
        s = Settings()
        s.update(vein.from_yaml(path), env(database='{"port": 9}'))
        assert (s.database.host, s.database.port) == ("from-file", 9)

    def test_nested_object_identity_kept(self, tmp_path: Path) -> None:
        s = Settings()
        db = s.database
        s.update(vein.from_yaml(write(tmp_path / "c.yml", "database: {port: 3}\n")))
        assert s.database is db


class TestMergeModes:
    """``merge=`` per field; lists and dicts replace by default."""

    SOURCES = (
        {
            "hosts": ["a"],
            "plugins": ["p1", "p2"],
            "extras": ["x", "y"],
            "limits": {"a": 1, "n": {"k": 1}},
            "options": {"a": 1, "n": {"k": 1, "j": 1}},
        },
        {
            "hosts": ["b"],
            "plugins": ["p2", "p3"],
            "extras": ["y", "z"],
            "limits": {"b": 2},
            "options": {"b": 2, "n": {"k": 2}},
        },
    )
    EXPECTED = {
        "hosts": ["b"],
        "plugins": ["p1", "p2", "p2", "p3"],
        "extras": ["x", "y", "z"],
        "limits": {"b": 2},
        "options": {"a": 1, "b": 2, "n": {"k": 2, "j": 1}},
    }

    def check(self, s: Settings) -> None:
        for name, expected in self.EXPECTED.items():
            assert getattr(s, name) == expected, name

    def test_update(self) -> None:
        s = Settings()
        s.update(*(vein.from_dict(d, name=str(i)) for i, d in enumerate(self.SOURCES)))
        self.check(s)

    def test_update_one_by_one(self) -> None:
        s = Settings()
        for i, d in enumerate(self.SOURCES):
            s.update(vein.from_dict(d, name=str(i)))
        self.check(s)

    def test_load(self) -> None:
        s = vein.load(
            Settings, *(vein.from_dict(d, name=str(i)) for i, d in enumerate(self.SOURCES))
        )
        self.check(s)

    def test_files_and_env(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "plugins: [p1]\nextras: [x, y]\nhosts: [a]\n")
        s = Settings()
        s.update(vein.from_yaml(path), env(plugins="p2,p3", extras="y,z", hosts="b"))
        assert (s.plugins, s.extras, s.hosts) == (["p1", "p2", "p3"], ["x", "y", "z"], ["b"])

    def test_reload_of_lower_layer_recombines(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "plugins: [p1]\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source, env(plugins="p9"))
        assert s.plugins == ["p1", "p9"]
        rewrite(path, "plugins: [p1, p2]\n")
        s.update(source)
        assert s.plugins == ["p1", "p2", "p9"]

    def test_drop_recombines(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A layer that stops defining a merged field takes its items out of the result."""
        path = write(tmp_path / "c.yml", "plugins: [p1]\n")
        yaml_source = vein.from_yaml(path)
        monkeypatch.setenv("LAYERS_PLUGINS", "p9")
        env_source = vein.from_env("LAYERS_")
        s = Settings()
        s.update(yaml_source, env_source)
        assert s.plugins == ["p1", "p9"]
        assert str(s.explain("plugins")) == "env LAYERS_PLUGINS"
        rewrite(path, "{}\n")
        s.update(yaml_source)
        assert s.plugins == ["p9"]
        monkeypatch.delenv("LAYERS_PLUGINS")
        s.update(env_source)
        assert s.plugins == []
        assert str(s.explain("plugins")) == "default"

    def test_runtime_value_of_merged_field_survives_untouched_reload(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "plugins: [p1]\nname: a\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source)
        s.plugins = ["mine"]
        rewrite(path, "plugins: [p1]\nname: b\n")
        s.update(source)
        assert s.plugins == ["mine"]
        rewrite(path, "name: b\n")
        s.update(source)
        assert s.plugins == ["mine"]

    def test_invalid_mode(self) -> None:
        with pytest.raises(ValueError, match="merge"):
            vein.field(factory=list, merge="append")  # type: ignore[arg-type]


class TestAtomicUpdate:
    """One bad value among many: every problem listed with path and location; nothing
    changes; no event."""

    def test_every_problem_listed(self, tmp_path: Path) -> None:
        text = textwrap.dedent(
            """\
            name: fine
            timeout: soon
            database:
              host: new-host
              port: 70000
            hosts: [a, b]
            nmae: typo
            """
        )
        path = write(tmp_path / "config.yml", text)
        s = Settings()
        s.update(vein.from_dict({"name": "before"}, name="base"))
        before = vein.to_dict(s)
        seen = recorder(s)
        with pytest.raises(vein.ValidationError) as info:
            s.update(
                vein.from_yaml(path),
                env(database__port="eighty", debug="yes"),
                {"hosts": "not-a-list"},
            )
        lines = text.splitlines()

        def at(key: str) -> str:
            for number, line in enumerate(lines, start=1):
                if line.lstrip().startswith(key + ":"):
                    return f"{path}:{number}:{line.index(key) + 1}"
            raise AssertionError(key)

        found = {(e.path, str(e.source)) for e in info.value.errors}
        assert found == {
            ("timeout", at("timeout")),
            ("nmae", at("nmae")),
            ("database.port", "env APP_DATABASE__PORT"),  # not a number
            ("database.port", at("port")),  # a number, but out of range
            ("hosts", "runtime"),
        }
        assert vein.to_dict(s) == before
        assert seen == []
        assert "did you mean 'name'" in str(info.value)

    def test_validator_failures_listed_with_locations(self, tmp_path: Path) -> None:
        text = "database:\n  host: h\n  port: 70000\n"
        path = write(tmp_path / "config.yml", text)
        s = Settings()
        before = vein.to_dict(s)
        with pytest.raises(vein.ValidationError) as info:
            s.update(vein.from_yaml(path), env(timeout="x"))
        found = {(e.path, str(e.source)) for e in info.value.errors}
        assert ("database.port", f"{path}:3:3") in found
        assert ("timeout", "env APP_TIMEOUT") in found
        assert vein.to_dict(s) == before

    def test_validator_failure_alone_changes_nothing(self, tmp_path: Path) -> None:
        """A value that converts but fails its validator still rolls the whole update back."""
        path = write(tmp_path / "config.yml", "name: new\ndatabase:\n  port: 0\n")
        s = Settings()
        seen = recorder(s)
        with pytest.raises(vein.ValidationError) as info:
            s.update(vein.from_yaml(path))
        assert [e.path for e in info.value.errors] == ["database.port"]
        assert s.name == "default"
        assert seen == []

    def test_source_error_changes_nothing(self, tmp_path: Path) -> None:
        path = write(tmp_path / "config.yml", "name: [unclosed\n")
        s = Settings()
        seen = recorder(s)
        with pytest.raises(vein.SourceError):
            s.update(env(name="from-env"), vein.from_yaml(path))
        assert s.name == "default"
        assert seen == []

    def test_bad_reload_keeps_last_good_state(self, tmp_path: Path) -> None:
        path = write(tmp_path / "config.yml", "name: good\ntimeout: 1\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source)
        rewrite(path, "name: better\ntimeout: never\n")
        with pytest.raises(vein.ValidationError):
            s.update(source)
        assert (s.name, s.timeout) == ("good", 1.0)
        rewrite(path, "name: better\ntimeout: 2\n")
        s.update(source)
        assert (s.name, s.timeout) == ("better", 2.0)


class TestPlainMapping:
    """A plain mapping given to ``update`` is applied like runtime assignments."""

    def test_no_text_coercion(self) -> None:
        s = Settings()
        with pytest.raises(vein.ValidationError) as info:
            s.update({"timeout": "5", "debug": "yes"})
        assert sorted(e.path for e in info.value.errors) == ["debug", "timeout"]
        assert (s.timeout, s.debug) == (30.0, False)

    def test_int_accepted_for_float(self) -> None:
        s = Settings()
        s.update({"timeout": 5})
        assert s.timeout == 5.0
        assert type(s.timeout) is float

    def test_provenance_runtime(self) -> None:
        s = Settings()
        changes = s.update({"name": "m", "database": {"port": 7}})
        assert str(s.explain("name")) == "runtime"
        assert str(s.explain("database.port")) == "runtime"
        assert {str(c.source) for c in changes} == {"runtime"}

    def test_not_a_layer(self, tmp_path: Path) -> None:
        """A mapping defines nothing later: an empty mapping drops nothing, and a lower
        source's new value replaces it like any runtime write."""
        path = write(tmp_path / "c.yml", "name: file\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source)
        s.update({"name": "mapping"})
        assert s.update({}) == []
        assert s.name == "mapping"
        assert s.update(source) == []
        assert s.name == "mapping"
        rewrite(path, "name: file2\n")
        s.update(source)
        assert s.name == "file2"

    def test_unknown_key(self) -> None:
        s = Settings()
        with pytest.raises(vein.ValidationError, match="did you mean 'timeout'"):
            s.update({"timout": 1})

    def test_mapping_is_applied_after_sources_in_the_same_call(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "name: file\n")
        s = Settings()
        s.update(vein.from_yaml(path), {"name": "mapping"})
        assert s.name == "mapping"


class TestFromDict:
    """``vein.from_dict(m, name="x")`` is a named layer whose text is converted."""

    def test_explain(self) -> None:
        s = Settings()
        s.update(vein.from_dict({"name": "n", "database": {"port": 1}}, name="x"))
        assert str(s.explain("name")).startswith("dict x")
        prov = s.explain("database.port")
        assert (prov.kind, prov.name) == ("dict", "x")

    def test_text_converted_like_a_file(self) -> None:
        s = Settings()
        s.update(vein.from_dict({"timeout": "5", "debug": "yes", "hosts": "a,b"}, name="x"))
        assert (s.timeout, s.debug, s.hosts) == (5.0, True, ["a", "b"])

    def test_bad_value_names_the_dict(self) -> None:
        s = Settings()
        with pytest.raises(vein.ValidationError) as info:
            s.update(vein.from_dict({"timeout": "soon"}, name="overrides"))
        assert "dict overrides" in str(info.value.errors[0].source)

    def test_not_a_mapping(self) -> None:
        with pytest.raises(TypeError):
            vein.from_dict([("a", 1)], name="x")  # type: ignore[arg-type]


@vein.flow
class Credentials:
    user: str
    token: str = vein.field(secret=True)


@vein.flow
class Required:
    name: str
    port: int
    url: str = vein.field(env="REQ_DATABASE_URL")
    creds: Credentials
    timeout: float = 1.0


class TestLoad:
    """``vein.load(Settings, *sources)``: defaults plus sources in one atomic step."""

    def test_defaults_only(self) -> None:
        s = vein.load(Settings)
        assert vein.to_dict(s) == vein.to_dict(Settings())
        assert str(s.explain("timeout")) == "default"

    def test_sources_in_order(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "name: file\ntimeout: 1\ndatabase: {host: h}\n")
        s = vein.load(Settings, vein.from_yaml(path), env(timeout="2", database__port="3"))
        assert (s.name, s.timeout, s.database.host, s.database.port) == ("file", 2.0, "h", 3)
        assert str(s.explain("database.port")) == "env APP_DATABASE__PORT"
        assert str(s.explain("database.host")) == f"{path}:3:12"

    def test_loaded_sources_are_layers(self, tmp_path: Path) -> None:
        """Sources given to load are layers: a reload of the file follows the rule."""
        path = write(tmp_path / "c.yml", "name: file\ntimeout: 1\n")
        source = vein.from_yaml(path)
        s = vein.load(Settings, source, env(timeout="2"))
        rewrite(path, "name: file2\ntimeout: 9\n")
        s.update(source)
        assert (s.name, s.timeout) == ("file2", 2.0)
        rewrite(path, "timeout: 9\n")
        s.update(source)
        assert s.name == "default"

    def test_every_missing_required_field(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "port: 80\n")
        with pytest.raises(vein.ValidationError) as info:
            vein.load(
                Required,
                vein.from_yaml(path),
                vein.from_env("REQ_", environ={"REQ_CREDS__USER": "u"}),
            )
        errors = {e.path: e.message for e in info.value.errors}
        assert set(errors) == {"name", "url", "creds.token"}
        assert "REQ_NAME" in errors["name"]
        assert "'name'" in errors["name"]
        assert "REQ_CREDS__TOKEN" in errors["creds.token"]
        assert "'creds.token'" in errors["creds.token"]
        assert "REQ_URL" in errors["url"] or "REQ_DATABASE_URL" in errors["url"]

    def test_missing_required_without_env_source(self) -> None:
        with pytest.raises(vein.ValidationError) as info:
            vein.load(Required)
        paths = sorted(e.path for e in info.value.errors)
        assert paths == ["creds.token", "creds.user", "name", "port", "url"]
        assert all("file" in e.message for e in info.value.errors)

    def test_required_and_invalid_reported_together(self) -> None:
        with pytest.raises(vein.ValidationError) as info:
            vein.load(Required, vein.from_dict({"port": "eighty"}, name="d"))
        paths = {e.path for e in info.value.errors}
        assert {"port", "name", "url", "creds.user", "creds.token"} <= paths

    def test_all_required_given(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in (
            "REQ_NAME",
            "REQ_PORT",
            "REQ_DATABASE_URL",
            "REQ_CREDS__USER",
            "REQ_CREDS__TOKEN",
        ):
            monkeypatch.setenv(name, "1")
        r = vein.load(Required, vein.from_env("REQ_"))
        assert (r.name, r.port, r.url, r.creds.user, r.creds.token) == ("1", 1, "1", "1", "1")
        assert str(r.explain("url")) == "env REQ_DATABASE_URL"

    def test_validators_run(self) -> None:
        with pytest.raises(vein.ValidationError) as info:
            vein.load(Settings, env(database__port="0"))
        assert [(e.path, str(e.source)) for e in info.value.errors] == [
            ("database.port", "env APP_DATABASE__PORT")
        ]


class TestExplain:
    """``explain(path)`` names default, runtime, env variable, file:line:col, dict."""

    def test_all_kinds(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "database:\n  host: file-host\n")
        s = Settings()
        s.update(vein.from_yaml(path), env(timeout="1"), vein.from_dict({"hosts": ["x"]}, name="d"))
        s.name = "rt"
        assert str(s.explain("debug")) == "default"
        assert str(s.explain("name")) == "runtime"
        assert str(s.explain("timeout")) == "env APP_TIMEOUT"
        assert str(s.explain("database.host")) == f"{path}:2:3"
        assert str(s.explain("hosts")).startswith("dict d")
        assert vein.explain(s, "timeout") == s.explain("timeout")

    def test_provenance_fields(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "\n\ndatabase:\n    port: 4\n")
        s = vein.load(Settings, vein.from_yaml(path))
        prov = s.explain("database.port")
        assert (prov.kind, prov.name, prov.line, prov.column) == ("file", str(path), 4, 5)

    def test_from_a_child(self, tmp_path: Path) -> None:
        s = Settings()
        s.update(env(database__host="h"))
        assert str(s.database.explain("host")) == "env APP_DATABASE__HOST"

    def test_unknown_path(self) -> None:
        with pytest.raises(ValueError, match="did you mean"):
            Settings().explain("database.hots")


class TestParseCache:
    """An unchanged file is not parsed again; a changed one is."""

    @pytest.fixture
    def count_parses(self, monkeypatch: pytest.MonkeyPatch) -> dict[type, int]:
        counts: dict[type, int] = {}
        for cls in (YamlSource, JsonSource, TomlSource):
            original = cls.parse

            def counting(self: Any, text: str, _original: Any = original, _cls: type = cls) -> Any:
                counts[_cls] = counts.get(_cls, 0) + 1
                return _original(self, text)

            monkeypatch.setattr(cls, "parse", counting)
        return counts

    @pytest.mark.parametrize(
        ("cls", "name", "first", "second"),
        [
            (YamlSource, "c.yml", "name: a\n", "name: b\n"),
            (JsonSource, "c.json", '{"name": "a"}', '{"name": "b"}'),
            (TomlSource, "c.toml", "name = 'a'\n", "name = 'b'\n"),
        ],
    )
    def test_unchanged_not_reparsed(
        self,
        tmp_path: Path,
        count_parses: dict[type, int],
        cls: type,
        name: str,
        first: str,
        second: str,
    ) -> None:
        path = write(tmp_path / name, first)
        source = cls(path)
        s = Settings()
        s.update(source)
        s.update(source)
        s.update(source)
        assert count_parses[cls] == 1
        rewrite(path, second)
        s.update(source)
        assert count_parses[cls] == 2
        assert s.name == "b"

    def test_touched_but_same_content_not_reparsed(
        self, tmp_path: Path, count_parses: dict[type, int]
    ) -> None:
        path = write(tmp_path / "c.yml", "name: a\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source)
        rewrite(path, "name: a\n")
        s.update(source)
        assert count_parses[YamlSource] == 1

    def test_same_size_change_is_seen(self, tmp_path: Path, count_parses: dict[type, int]) -> None:
        """A change that keeps the size (and possibly the mtime) is found by the content hash."""
        path = write(tmp_path / "c.yml", "name: a\n")
        source = vein.from_yaml(path)
        s = Settings()
        s.update(source)
        st = path.stat()
        path.write_text("name: b\n")
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        s.update(source)
        assert s.name == "b"
        assert count_parses[YamlSource] == 2

    def test_deleted_then_recreated(self, tmp_path: Path, count_parses: dict[type, int]) -> None:
        path = write(tmp_path / "c.yml", "name: a\n")
        source = vein.from_yaml(path, optional=True)
        s = Settings()
        s.update(source)
        path.unlink()
        s.update(source)
        assert s.name == "default"
        write(path, "name: a\n")
        s.update(source)
        assert s.name == "a"


class TestHardening:
    """Found by the reviews: each a bug once."""

    def test_plain_mapping_runs_the_converter_like_an_assignment(self) -> None:
        @vein.flow
        class B:
            conv: int = vein.field(default=0, converter=int)

        b = B()
        b.conv = "5"  # type: ignore[assignment]
        assert b.conv == 5
        b.update({"conv": "6"})
        assert b.conv == 6 and type(b.conv) is int
        with pytest.raises(vein.ValidationError, match="rejected by its converter"):
            b.update({"conv": "six"})
        assert b.conv == 6

    def test_converter_and_validator_failures_are_told_apart(self) -> None:
        def per_hundred(v: int) -> int:
            return 100 // v

        @vein.flow
        class B:
            n: int = vein.field(default=2, converter=per_hundred, validator=attrs.validators.le(50))

        b = B()
        with pytest.raises(vein.ValidationError, match="rejected by its validator"):
            b.update(vein.from_dict({"n": "1"}, name="d"))  # 100 > 50
        with pytest.raises(vein.ValidationError, match="rejected by its converter"):
            b.update(vein.from_dict({"n": "0"}, name="d"))  # ZeroDivisionError

    def test_strict_false_reaches_classes_inside_containers(self, tmp_path) -> None:
        @vein.flow
        class Item:
            name: str = ""

        @vein.flow
        class S:
            entries: list[Item] = vein.field(factory=list)
            by_name: dict[str, Item] = vein.field(factory=dict)
            maybe: Item | None = None

        data = {
            "entries": [{"name": "a", "extra": 1}],
            "by_name": {"k": {"name": "b", "extra": 2}},
            "maybe": {"name": "c", "extra": 3},
        }
        s = vein.load(S, vein.from_dict(data, name="d", strict=False))
        assert [i.name for i in s.entries] == ["a"]
        assert s.by_name["k"].name == "b" and s.maybe is not None and s.maybe.name == "c"
        with pytest.raises(vein.ValidationError) as info:
            vein.load(S, vein.from_dict(data, name="d"))
        assert {e.path for e in info.value.errors} == {
            "entries[0].extra",
            "by_name.k.extra",
            "maybe.extra",  # an optional class says which key is extra
        }

    def test_unknown_key_inside_a_list_has_did_you_mean_and_its_line(self, tmp_path) -> None:
        @vein.flow
        class Sub:
            host: str = ""

        @vein.flow
        class S:
            things: list[Sub] = vein.field(factory=list)

        path = tmp_path / "i.yml"
        path.write_text("things:\n  - host: a\n  - hots: b\n", encoding="utf-8")
        with pytest.raises(vein.ValidationError) as info:
            vein.load(S, vein.from_yaml(path))
        (entry,) = info.value.errors
        assert entry.path == "things[1].hots"
        assert entry.message == "unknown key (did you mean 'host'?)"
        assert (entry.source.line, entry.source.column) == (3, 5)

    def test_secret_on_a_section_is_refused(self) -> None:
        @vein.flow
        class Creds:
            user: str = ""

        with pytest.raises(vein.SchemaError, match="secret=True on a section"):

            @vein.flow
            class S:
                creds: Creds = vein.field(factory=Creds, secret=True)

    def test_section_default_object_is_not_shared(self) -> None:
        @vein.flow
        class Db:
            host: str = "h"

        @vein.flow
        class S:
            database: Db = Db()

        S().database.host = "changed"
        assert S().database.host == "h"
        vein.load(S, vein.from_dict({"database": {"host": "loaded"}}, name="x"))
        assert S().database.host == "h"
        mine = Db()
        assert S(database=mine).database is mine  # one given to __init__ is taken as is


def test_every_unreadable_source_is_reported(tmp_path: Path) -> None:
    @vein.flow
    class S:
        a: int = 0

    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1,}', encoding="utf-8")
    s = S()
    with pytest.raises(vein.SourceError) as info:
        s.update(vein.from_json(bad), vein.from_toml(tmp_path / "missing.toml"))
    text = str(info.value)
    assert "2 sources cannot be read" in text
    assert "bad.json:1:9: invalid JSON" in text and "missing.toml: TOML file not found" in text
    assert len(info.value.errors) == 2
    with pytest.raises(vein.SourceError) as one:  # a single one is raised as it is
        s.update(vein.from_json(bad))
    assert one.value.errors == [] and one.value.line == 1


def test_on_change_refuses_a_non_callable() -> None:
    @vein.flow
    class S:
        t: int = 0

    with pytest.raises(TypeError, match="takes a callable"):
        S().on_change("t", 5)  # type: ignore[call-overload]


def test_dotted_key_in_a_mapping_says_to_nest_it() -> None:
    @vein.flow
    class Db:
        host: str = ""

    @vein.flow
    class S:
        database: Db = vein.field(factory=Db)

    with pytest.raises(vein.ValidationError) as info:
        S().update({"database.host": "x"})
    assert "nest it as {'database': {'host': ...}}" in str(info.value)


def test_load_refuses_an_instance() -> None:
    @vein.flow
    class S:
        a: int = 0

    with pytest.raises(TypeError, match=r"takes a flow class.*obj\.update"):
        vein.load(S(), vein.from_dict({"a": 1}, name="d"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes a flow class"):
        vein.load(vein.Config(), {"a": 1})  # type: ignore[arg-type]


def test_a_refused_required_value_is_not_also_reported_missing() -> None:
    @vein.flow
    class S:
        retries: int
        name: str

    with pytest.raises(vein.ValidationError) as info:
        vein.load(S, vein.from_env("S_", environ={"S_RETRIES": "five"}))
    messages = {e.path: e.message for e in info.value.errors}
    assert set(messages) == {"retries", "name"}
    assert messages["retries"].startswith("expected an integer")
    assert messages["name"].startswith("required")


def test_an_optional_class_says_what_is_wrong_inside_the_mapping() -> None:
    @vein.flow
    class Cred:
        user: str = ""
        pin: int = 0

    @vein.flow
    class S:
        maybe: Cred | None = None

    with pytest.raises(vein.ValidationError) as info:
        vein.load(S, vein.from_dict({"maybe": {"usr": "a"}}, name="d"))
    (entry,) = info.value.errors
    assert (entry.path, entry.message) == ("maybe.usr", "unknown key (did you mean 'user'?)")
    with pytest.raises(vein.ValidationError) as info:
        vein.load(S, vein.from_dict({"maybe": {"pin": "x"}}, name="d"))
    assert info.value.errors[0].path == "maybe.pin"
    assert vein.load(S, vein.from_dict({"maybe": None}, name="d")).maybe is None


def test_explain_says_what_to_ask_instead() -> None:
    """A computed value has no source; a key of a dict field is explained by its field."""

    @vein.flow
    class Db:
        host: str = "h"

        @vein.computed
        def dsn(self) -> str:
            return "pg://" + self.host

    @vein.flow
    class WithFlags:
        flags: dict[str, bool] = vein.field(factory=dict)
        db: Db = vein.field(factory=Db)

    s = vein.load(WithFlags, vein.from_dict({"flags": {"new_ui": "on"}}, name="x"))
    with pytest.raises(ValueError, match="'db.dsn' is a computed value.*fields it is derived"):
        s.explain("db.dsn")
    with pytest.raises(ValueError, match=r"'flags' is not a section; explain\('flags'\)"):
        s.explain("flags.new_ui")
    assert str(s.explain("flags")).startswith("dict x")


def test_load_of_a_dynamic_class_whose_init_takes_arguments() -> None:
    class UserSession(vein.Flow):
        def __init__(self, user_id: int) -> None:
            super().__init__()
            self.user_id = user_id

    with pytest.raises(TypeError, match=r"make it yourself.*obj\.update\(\.\.\.\)"):
        vein.load(UserSession, {"user_id": 3})
    session = UserSession(1)
    session.update({"user_id": 3})
    assert session.user_id == 3
