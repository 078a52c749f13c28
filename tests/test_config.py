"""The schema-less ``vein.config`` / ``vein.Config()`` (SPEC §6, issue 3).

* auto-vivification safety: reads of missing names raise (with a did-you-mean) and create
  nothing; writes through missing parents create the chain, wherever the code is written;
* the mapping side: ``in``, ``get``, ``[]``, literal dotted keys, ``len``, iteration,
  ``keys/items/values``, ``to_dict``, deletion, keys that clash with method names;
* events, ``update`` from every source kind, ``explain``, atomic updates, secrets;
* the schema-less typing rules (YAML 1.2 core schema, env text typed by the value it
  replaces), YAML keys that are not text, empty documents, merge keys;
* ``use()``/``typed()``, ``reset()``, and snapshot/batch/watch on a config.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import json
import os
import pickle
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import vein
from vein.flow.config import Config, env_value
from vein.structuring import ConversionError


@pytest.fixture(autouse=True)
def clean_config() -> Iterator[None]:
    vein.config.reset()
    yield
    vein.config.reset()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No stray variables under the prefixes these tests use."""
    for name in list(os.environ):
        if name.upper().startswith(("CFGT_", "APP_")):
            monkeypatch.delenv(name)
    return monkeypatch


def heard(cfg: Config, path: str = "*") -> list[vein.Change]:
    changes: list[vein.Change] = []
    cfg.on_change(path, changes.append)
    return changes


def triples(changes: list[vein.Change]) -> list[tuple[str, Any, Any]]:
    return [(c.path, c.old, c.new) for c in changes]


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- reads never create --------------------------------------------------------------------


class TestReadsNeverCreate:
    def test_misspelt_read_raises_with_did_you_mean(self) -> None:
        config = vein.config
        config.database.host = "localhost"
        config.timeout = 30
        events = heard(config)
        with pytest.raises(AttributeError) as info:
            config.databse  # noqa: B018 - the read is the test
        assert "databse" in str(info.value)
        assert "did you mean 'database'?" in str(info.value)
        assert info.value.name == "databse" and info.value.obj is config
        assert config.to_dict() == {"database": {"host": "localhost"}, "timeout": 30}
        assert "databse" not in config and len(config) == 2
        assert events == []

    def test_misspelt_nested_read_names_the_full_path(self) -> None:
        config = vein.config
        config.database.host = "localhost"
        with pytest.raises(AttributeError) as info:
            config.database.hots  # noqa: B018
        assert "'database.hots'" in str(info.value)
        assert "did you mean 'host'?" in str(info.value)
        assert config.database.to_dict() == {"host": "localhost"}

    def test_a_chain_of_missing_reads_raises_at_the_first(self) -> None:
        config = vein.config
        with pytest.raises(AttributeError, match="'cache'"):
            _ = config.cache.ttl.seconds
        assert config.to_dict() == {} and "cache" not in config

    def test_hasattr_and_getattr_with_default(self) -> None:
        config = vein.config
        config.timeout = 30
        config.database.host = "h"
        assert hasattr(config, "timeout") and not hasattr(config, "timout")
        assert getattr(config, "timout", 5) == 5
        assert getattr(config, "timeout", 5) == 30
        assert getattr(config.database, "port", 5432) == 5432
        assert getattr(config, "missing", None) is None
        assert "timout" not in config and "missing" not in config
        assert "port" not in config.database
        assert config.to_dict() == {"timeout": 30, "database": {"host": "h"}}

    @pytest.mark.parametrize(
        "statement",
        [
            "x = config.missing",
            "x = config.missing.deeper",
            "print(config.missing)",
            "config.missing.ttl += 1",
            "config.missing.items[0] = 1",
            "config.missing['key'] = 1",
            "del config.missing.x",
            "config.missing.method()",
            "other.target = config.missing",
            "other.target.inner = config.missing.deeper",
            "f(config.missing)",
            "x = [config.missing for _ in range(1)]",
            "x = (config.missing, 1)",
            "(x := config.missing).y = 1",
        ],
    )
    def test_reads_in_any_other_position_raise_and_create_nothing(self, statement: str) -> None:
        config = vein.config
        config.present = 1
        events = heard(config)
        other = types.SimpleNamespace(target=types.SimpleNamespace())
        ns = {"config": config, "other": other, "f": lambda v: v}
        with pytest.raises(AttributeError, match="missing"):
            exec(compile(statement, "<test>", "exec"), ns)
        assert config.to_dict() == {"present": 1}
        assert "missing" not in config
        assert events == []

    def test_dumps_have_no_phantom_keys_after_failed_reads(self) -> None:
        config = vein.config
        config.database.host = "h"
        for name in ("databse", "timeout", "api_key", "cache"):
            assert not hasattr(config, name)
        assert getattr(config.database, "port", None) is None
        want = {"database": {"host": "h"}}
        assert config.to_dict() == want
        assert vein.to_dict(config) == want
        assert config.snapshot().to_dict() == want
        assert json.loads(json.dumps(config.to_dict())) == want
        assert repr(config) == "Config({'database': {'host': 'h'}})"
        assert list(config) == ["database"] and list(config.database) == ["host"]
        assert config.keys() == ["database"]

    def test_dir_lists_keys_for_completion(self) -> None:
        config = vein.config
        config.database.host = "h"
        config["not an identifier"] = 1
        names = dir(config)
        assert "database" in names and "update" in names
        assert "not an identifier" not in names


# --- writes through missing parents ----------------------------------------------------------


class _Service:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    def configure(self) -> None:
        self.cfg.service.retries.count = 3

    @classmethod
    def configure_global(cls) -> None:
        vein.config.service.mode = "cls"

    @staticmethod
    def configure_static(cfg: Config) -> None:
        cfg.service.static = True


class TestWritesCreate:
    def test_chain_on_a_fresh_config(self) -> None:
        config = vein.config
        changes = heard(config)
        config.a.b.c = 1
        assert config.a.b.c == 1
        assert isinstance(config.a, Config) and isinstance(config.a.b, Config)
        assert config.to_dict() == {"a": {"b": {"c": 1}}}
        assert triples(changes) == [("a.b.c", vein.MISSING, 1)]
        config.a.b.d = 2  # existing parents
        config.a.e.f = 3  # partly existing
        assert config.to_dict() == {"a": {"b": {"c": 1, "d": 2}, "e": {"f": 3}}}

    def test_inside_functions_methods_closures_and_class_bodies(self) -> None:
        config = vein.config

        def in_function() -> None:
            config.fn.value = 1

        def outer() -> None:
            cfg = config

            def inner() -> None:
                cfg.closure.value = 2

            inner()

        class Body:
            config.class_body.value = 3

        in_function()
        outer()
        _Service(config).configure()
        _Service.configure_global()
        _Service.configure_static(config)
        assert config.to_dict() == {
            "class_body": {"value": 3},
            "fn": {"value": 1},
            "closure": {"value": 2},
            "service": {"retries": {"count": 3}, "mode": "cls", "static": True},
        }
        assert Body is not None

    def test_other_assignment_forms(self) -> None:
        config = vein.config
        config.x1.v, config.x2.v = 1, 2  # unpacking targets
        config.c1.v = config.c2.v = 3  # chained assignment
        for config.loop.i in range(3):  # a for-loop target
            pass
        with open(__file__, encoding="utf-8") as config.files.handle:
            pass
        holder = types.SimpleNamespace(cfg=config)
        holder.cfg.through.attribute = 4  # a config reached through another object
        assert config.x1.v == 1 and config.x2.v == 2
        assert config.c1.v == 3 and config.c2.v == 3
        assert config.loop.i == 2
        assert config.through.attribute == 4
        assert "files" in config

    def test_many_times_in_a_hot_loop(self) -> None:
        # The interpreter specialises hot bytecode; detection must not depend on it.
        for i in range(3000):
            cfg = vein.Config()
            cfg.a.b.c = i
            assert cfg.to_dict() == {"a": {"b": {"c": i}}}
            with pytest.raises(AttributeError):
                cfg.b  # noqa: B018

    def test_in_an_imported_module(self, tmp_path: Path) -> None:
        # Real compiled module code (a .py file imported), at module level and in a function.
        module_file = write(
            tmp_path / "vein_cfg_user_module.py",
            """
            from vein import config

            config.module.level.value = "module"


            def setup(port):
                config.module.db.port = port
                return config.module.db.port


            def typo():
                return config.modul.level
            """,
        )
        spec = importlib.util.spec_from_file_location("vein_cfg_user_module", module_file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.setup(5432) == 5432
        assert vein.config.to_dict() == {"module": {"level": {"value": "module"}, "db": {"port": 5432}}}
        with pytest.raises(AttributeError, match="did you mean 'module'"):
            module.typo()
        assert "modul" not in vein.config

    def test_in_a_fresh_interpreter(self, tmp_path: Path) -> None:
        script = write(
            tmp_path / "main.py",
            """
            import json
            from vein import config

            config.a.b.c = 1
            try:
                config.a.bb
            except AttributeError as exc:
                print(exc)
            print(hasattr(config, "x"), getattr(config, "x", "dflt"), "x" in config)
            print(json.dumps(config.to_dict()))
            """,
        )
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == [
            "config has no key 'a.bb' (did you mean 'b'?)",
            "False dflt False",
            '{"a": {"b": {"c": 1}}}',
        ]

    @pytest.mark.parametrize("where", ["module", "function"])
    def test_in_code_with_more_than_255_names(self, where: str) -> None:
        # Name indexes over 255 need EXTENDED_ARG prefixes between the LOAD_ATTRs.
        filler = "\n".join(f"name_{i} = {i}" for i in range(300))
        if where == "module":
            source = f"{filler}\ncfg.a.b.c = 1\ncfg.x.y = cfg.a.b.c\n"
        else:
            reads = "\n".join(f"    _ = name_{i}" for i in range(300))
            source = f"{filler}\ndef f():\n{reads}\n    cfg.a.b.c = 1\n    cfg.x.y = cfg.a.b.c\nf()\n"
        code = compile(source, f"<{where} with 300 names>", "exec")
        inner = [c for c in code.co_consts if isinstance(c, types.CodeType)]
        assert len((inner[0] if inner else code).co_names) > 255
        cfg = vein.Config()
        exec(code, {"cfg": cfg})
        assert cfg.to_dict() == {"a": {"b": {"c": 1}}, "x": {"y": 1}}
        with pytest.raises(AttributeError, match="no key 'nope'"):
            exec(compile(f"{filler}\ncfg.nope.b\n", "<read>", "exec"), {"cfg": cfg})
        with pytest.raises(AttributeError, match="no key 'nope'"):
            exec(compile(f"{filler}\ncfg.nope.b.c += 1\n", "<augmented>", "exec"), {"cfg": cfg})
        assert "nope" not in cfg

    def test_write_through_a_leaf_is_an_error_not_a_silent_replace(self) -> None:
        config = vein.config
        config.port = 8080
        with pytest.raises(AttributeError):
            config.port.number = 1
        assert config.to_dict() == {"port": 8080}

    def test_attribute_names_that_are_methods_or_private(self) -> None:
        config = vein.config
        with pytest.raises(AttributeError, match=r"config\['keys'\]"):
            config.keys = ["k"]
        with pytest.raises(AttributeError, match="may not start with '_'"):
            config._hidden = 1
        assert config.to_dict() == {}
        assert callable(config.keys)

    def test_the_same_name_rules_on_every_level(self) -> None:
        config = vein.config
        config.db.host = "h"
        refused = {
            "config.new2.update = 1": r"'update' is a method .* config\.update\(\{'new2': \{'update': \.\.\.\}\}\)",
            "config.new._priv = 1": r"may not start with '_' \('_priv'\)",
            "config._priv.x = 1": r"may not start with '_' \('_priv'\); set the key with config\['_priv'\]",
            "config.a.keys.b = 1": r"'keys' is a method",
            "config.db.get = 1": r"'get' is a method .* config\['db'\]\['get'\] = \.\.\.",
            "config.db.sub.items = 1": r"config\['db'\]\.update\(\{'sub': \{'items': \.\.\.\}\}\)",
        }
        for statement, message in refused.items():
            with pytest.raises(AttributeError, match=message):
                exec(statement, {"config": config})
        assert config.to_dict() == {"db": {"host": "h"}}  # nothing created on the way
        # The ways the messages give work, and read back.
        config.update({"new2": {"update": 1}})
        config["db"]["get"] = 2
        assert config["new2"]["update"] == 1 and config.db["get"] == 2


# --- the mapping side -----------------------------------------------------------------------


class TestMapping:
    @pytest.fixture
    def cfg(self) -> Config:
        return vein.Config({"api": {"url": "https://x", "retries": 3}, "debug": False, "tags": ["a"]})

    def test_in_len_iteration_keys_items_values(self, cfg: Config) -> None:
        assert "api" in cfg and "url" in cfg.api and "url" not in cfg and "nope" not in cfg
        assert 1 not in cfg  # any object may be asked about
        assert len(cfg) == 3 and len(cfg.api) == 2
        assert list(cfg) == ["api", "debug", "tags"]
        assert cfg.keys() == ["api", "debug", "tags"]
        assert cfg.values()[1:] == [False, ["a"]]
        assert isinstance(cfg.values()[0], Config)
        assert [k for k, _ in cfg.items()] == ["api", "debug", "tags"]
        assert dict(cfg.api.items()) == {"url": "https://x", "retries": 3}
        assert dict(cfg)["debug"] is False  # usable where a mapping is read
        assert {**cfg.api} == {"url": "https://x", "retries": 3}
        assert bool(cfg) and not bool(vein.Config())

    def test_iteration_is_safe_while_writing(self, cfg: Config) -> None:
        for key in cfg:
            cfg[key + "_copy"] = 1
        assert len(cfg) == 6

    def test_get_splits_dotted_paths(self, cfg: Config) -> None:
        assert cfg.get("api.url") == "https://x"
        assert cfg.get("api.port") is None
        assert cfg.get("api.port", 443) == 443
        assert cfg.get("nope.deeper", "d") == "d"
        assert cfg.get("tags.0", "d") == "d"  # no indexing into leaves
        assert cfg.get("debug") is False
        assert isinstance(cfg.get("api"), Config)
        assert "port" not in cfg.api and "nope" not in cfg  # get never creates

    def test_subscript(self, cfg: Config) -> None:
        assert cfg["api"]["url"] == "https://x"
        assert cfg["api"] is cfg.api
        with pytest.raises(KeyError) as info:
            cfg["nope"]  # noqa: B018
        assert info.value.args == ("nope",)
        with pytest.raises(KeyError):
            cfg["api"]["nope"]  # noqa: B018
        assert "nope" not in cfg

    def test_literal_dotted_keys(self) -> None:
        cfg = vein.Config()
        changes = heard(cfg)
        cfg["example.com"] = {"port": 443}
        cfg["a.b"] = 1
        cfg.a.b = 2
        assert cfg["a.b"] == 1 and cfg["a"]["b"] == 2 and cfg.get("a.b") == 2
        assert cfg["example.com"]["port"] == 443
        assert cfg.to_dict() == {"example.com": {"port": 443}, "a.b": 1, "a": {"b": 2}}
        assert [c.new for c in changes] == [443, 1, 2]
        del cfg["a.b"]
        assert cfg.to_dict() == {"example.com": {"port": 443}, "a": {"b": 2}}

    def test_literal_dotted_keys_from_files(self, tmp_path: Path) -> None:
        write(tmp_path / "s.json", '{"editor.fontSize": 14, "files.exclude": {"**/.git": true}}')
        cfg = vein.Config()
        cfg.update(vein.from_json(tmp_path / "s.json"))
        assert cfg.to_dict() == {"editor.fontSize": 14, "files.exclude": {"**/.git": True}}
        assert cfg["files.exclude"]["**/.git"] is True

    def test_to_dict_is_a_deep_plain_copy(self, cfg: Config) -> None:
        d = cfg.to_dict()
        assert d == {"api": {"url": "https://x", "retries": 3}, "debug": False, "tags": ["a"]}
        assert type(d["api"]) is dict
        d["api"]["url"] = "changed"
        d["tags"].append("b")
        assert cfg.api.url == "https://x" and cfg.tags == ["a"]
        assert cfg == d | {"api": {"url": "https://x", "retries": 3}, "tags": ["a"]}
        assert cfg != {"api": {}}

    def test_assigning_a_mapping_replaces_update_merges(self, cfg: Config) -> None:
        changes = heard(cfg)
        cfg.update({"api": {"timeout": 5}})
        assert cfg.api.to_dict() == {"url": "https://x", "retries": 3, "timeout": 5}
        cfg.api = {"url": "https://y"}
        assert cfg.api.to_dict() == {"url": "https://y"}
        assert sorted(triples(changes[1:])) == [
            ("api.retries", 3, vein.MISSING),
            ("api.timeout", 5, vein.MISSING),
            ("api.url", "https://x", "https://y"),
        ]

    def test_deleting_keys_fires_events(self, cfg: Config) -> None:
        changes = heard(cfg)
        del cfg.debug
        del cfg["tags"]
        assert triples(changes) == [("debug", False, vein.MISSING), ("tags", ["a"], vein.MISSING)]
        changes.clear()
        del cfg.api  # a namespace: each leaf reports its removal
        assert sorted(triples(changes)) == [
            ("api.retries", 3, vein.MISSING),
            ("api.url", "https://x", vein.MISSING),
        ]
        assert cfg.to_dict() == {} and len(cfg) == 0
        changes.clear()
        with pytest.raises(AttributeError):
            del cfg.api
        with pytest.raises(KeyError):
            del cfg["api"]
        assert changes == []

    def test_deleted_key_has_no_provenance_and_can_come_back(self, cfg: Config) -> None:
        del cfg.debug
        with pytest.raises(ValueError, match="debug"):
            cfg.explain("debug")
        cfg.debug = True
        assert str(cfg.explain("debug")) == "runtime"

    def test_keys_that_clash_with_methods(self, tmp_path: Path) -> None:
        cfg = vein.Config()
        write(tmp_path / "c.yml", "update: nightly\nkeys: [a, b]\nget: 1\nitems: {x: 1}\nto_dict: no\n")
        cfg.update(vein.from_yaml(tmp_path / "c.yml"))
        assert cfg["update"] == "nightly" and cfg["keys"] == ["a", "b"]
        assert cfg["get"] == 1 and cfg["items"]["x"] == 1 and cfg["to_dict"] == "no"
        assert cfg.get("update") == "nightly" and cfg.get("items.x") == 1
        assert "update" in cfg and "keys" in cfg.keys()
        # the methods still work
        cfg.update({"more": 1})
        assert cfg.to_dict() == {
            "update": "nightly",
            "keys": ["a", "b"],
            "get": 1,
            "items": {"x": 1},
            "to_dict": "no",
            "more": 1,
        }
        cfg["update"] = "weekly"
        assert cfg["update"] == "weekly" and callable(cfg.update)
        del cfg["update"]
        assert "update" not in cfg


# --- events ---------------------------------------------------------------------------------


class TestEvents:
    def test_leaf_subtree_and_all(self) -> None:
        cfg = vein.Config()
        leaf, subtree, everything, bare = [], [], [], []
        cfg.on_change("database.host", leaf.append)  # before the key exists: fine
        cfg.on_change("database", subtree.append)
        cfg.on_change("*", everything.append)
        cfg.on_change(bare.append)
        cfg.database.host = "h"
        cfg.database.port = 5432
        cfg.timeout = 30
        assert triples(leaf) == [("database.host", vein.MISSING, "h")]
        assert [c.path for c in subtree] == ["database.host", "database.port"]
        assert [c.path for c in everything] == ["database.host", "database.port", "timeout"]
        assert bare == everything

    def test_decorator_form_child_subscription_and_cancel(self) -> None:
        cfg = vein.Config()
        cfg.database.host = "h"
        seen: list[str] = []

        @cfg.on_change("database.host")
        def on_host(change: vein.Change) -> None:
            seen.append(f"root {change.path}={change.new}")

        sub = cfg.database.on_change("host", lambda c: seen.append(f"child {c.path}={c.new}"))
        cfg.database.host = "h2"
        sub.cancel()
        cfg.database.host = "h3"
        # the object written to hears first, then each ancestor (docs/events.md)
        assert seen == ["child host=h2", "root database.host=h2", "root database.host=h3"]

    def test_equal_values_fire_nothing(self) -> None:
        cfg = vein.Config({"port": 1, "hosts": ["a"], "db": {"x": 1}})
        changes = heard(cfg)
        cfg.port = 1
        cfg.hosts = ["a"]
        cfg.update({"db": {"x": 1}, "port": 1})
        assert changes == []

    def test_callback_may_write(self) -> None:
        cfg = vein.Config()

        def mirror(change: vein.Change) -> None:
            cfg.mirror.value = change.new

        cfg.on_change("source", mirror)
        cfg.source.value = 1
        assert cfg.mirror.value == 1

    def test_failing_callback_does_not_undo_or_stop_others(self) -> None:
        cfg = vein.Config()
        errors: list[BaseException] = []
        cfg.on_error(errors.append)
        later: list[vein.Change] = []

        def boom(change: vein.Change) -> None:
            raise RuntimeError("callback failed")

        cfg.on_change("x", boom)
        cfg.on_change("x", later.append)
        cfg.x = 1
        assert cfg.x == 1 and len(later) == 1
        assert [type(e) for e in errors] == [RuntimeError]


# --- update from every source kind, explain, atomicity --------------------------------------


class TestSources:
    def test_every_source_kind(self, tmp_path: Path, env: pytest.MonkeyPatch) -> None:
        write(tmp_path / "c.yml", "service:\n  name: svc\n  port: 8080\n")
        write(tmp_path / "c.json", '{"service": {"port": 8081, "replicas": 2}, "json_only": [1, 2]}')
        write(tmp_path / "c.toml", '[service]\nregion = "eu"\n[toml]\nwhen = 2024-05-01\n')
        env.setenv("CFGT_SERVICE__PORT", "9090")
        env.setenv("CFGT_LOG_LEVEL", "debug")
        cfg = vein.Config()
        changes = heard(cfg)
        returned: list[vein.Change] = []
        returned += cfg.update(vein.from_yaml(tmp_path / "c.yml"))
        returned += cfg.update(vein.from_json(tmp_path / "c.json"))
        returned += cfg.update(vein.from_toml(tmp_path / "c.toml"))
        returned += cfg.update(vein.from_env("CFGT_"))
        returned += cfg.update(vein.from_dict({"service": {"owner": "team"}}, name="defaults"))
        returned += cfg.update({"runtime": {"flag": True}})
        returned += cfg.update(types.MappingProxyType({"proxy": 1}))
        assert returned == changes  # update returns the changes it announced
        assert cfg.to_dict() == {
            "service": {
                "name": "svc",
                "port": 9090,  # env text typed by the value it replaced (JSON's int)
                "replicas": 2,
                "region": "eu",
                "owner": "team",
            },
            "json_only": [1, 2],
            "toml": {"when": "2024-05-01"},
            "log_level": "debug",
            "runtime": {"flag": True},
            "proxy": 1,
        }
        assert cfg.toml.when == dt.date(2024, 5, 1)  # TOML's own date type; to_dict gives text
        assert str(cfg.explain("service.name")) == f"{tmp_path / 'c.yml'}:2:3"
        assert str(cfg.explain("service.replicas")).startswith(str(tmp_path / "c.json"))
        assert str(cfg.explain("service.region")).startswith(str(tmp_path / "c.toml"))
        assert str(cfg.explain("service.port")) == "env CFGT_SERVICE__PORT"
        assert str(cfg.explain("service.owner")) == "dict defaults (key service.owner)"
        assert str(cfg.explain("runtime.flag")) == "runtime"
        assert str(cfg.explain("proxy")) == "runtime"
        with pytest.raises(ValueError, match="did you mean 'service.port'"):
            cfg.explain("service.prot")

    def test_one_update_with_several_sources(self, tmp_path: Path, env: pytest.MonkeyPatch) -> None:
        write(tmp_path / "c.yml", "timeout: 30\nname: app\n")
        env.setenv("CFGT_TIMEOUT", "45")
        cfg = vein.Config()
        cfg.update(vein.from_env("CFGT_"), vein.from_yaml(tmp_path / "c.yml"))
        assert cfg.timeout == 30  # later wins
        cfg2 = vein.Config()
        cfg2.update(vein.from_yaml(tmp_path / "c.yml"), vein.from_env("CFGT_"))
        assert cfg2.timeout == 45  # typed by the value the earlier source brought
        assert str(cfg2.explain("timeout")) == "env CFGT_TIMEOUT"

    def test_env_names_nest_and_are_lower_cased(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("CFGT_DATABASE__HOST", "db")
        env.setenv("CFGT_Mixed_Case__Key", "v")
        cfg = vein.Config()
        cfg.update(vein.from_env("CFGT_"))
        assert cfg.to_dict() == {"database": {"host": "db"}, "mixed_case": {"key": "v"}}

    def test_bad_env_value_changes_nothing(self, tmp_path: Path, env: pytest.MonkeyPatch) -> None:
        cfg = vein.Config({"port": 8080, "debug": False, "name": "app", "db": {"pool": 5}})
        before = cfg.to_dict()
        changes = heard(cfg)
        env.setenv("CFGT_PORT", "ninety")
        env.setenv("CFGT_DEBUG", "maybe")
        env.setenv("CFGT_NAME", "fine")  # valid on its own
        env.setenv("CFGT_DB__POOL", "6")  # valid on its own
        env.setenv("CFGT_NEW", "new")
        write(tmp_path / "ok.yml", "from_file: 1\n")
        with pytest.raises(vein.ValidationError) as info:
            cfg.update(vein.from_yaml(tmp_path / "ok.yml"), vein.from_env("CFGT_"))
        err = info.value
        assert isinstance(err, vein.VeinError) and isinstance(err, ValueError)
        assert sorted((e.path, str(e.source)) for e in err.errors) == [
            ("debug", "env CFGT_DEBUG"),
            ("port", "env CFGT_PORT"),
        ]
        assert "expected an integer, got 'ninety'" in str(err)
        assert "nothing was changed" in str(err)
        assert cfg.to_dict() == before
        assert changes == []
        assert "from_file" not in cfg and "new" not in cfg
        # The config still works, and a fixed environment applies.
        env.setenv("CFGT_PORT", "9090")
        env.setenv("CFGT_DEBUG", "on")
        cfg.update(vein.from_env("CFGT_"))
        assert (cfg.port, cfg.debug, cfg.name, cfg.db.pool, cfg.new) == (9090, True, "fine", 6, "new")

    def test_bad_file_changes_nothing(self, tmp_path: Path) -> None:
        cfg = vein.Config({"a": 1})
        changes = heard(cfg)
        write(tmp_path / "bad.yml", "a: 2\nb: [unclosed\n")
        with pytest.raises(vein.SourceError) as info:
            cfg.update({"a": 3}, vein.from_yaml(tmp_path / "bad.yml"))
        assert "bad.yml" in str(info.value) and info.value.line is not None
        assert cfg.to_dict() == {"a": 1} and changes == []

    def test_reloading_a_file_layer(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yml", "a: 1\nb: 2\n")
        cfg = vein.Config()
        cfg.update(vein.from_yaml(path))
        cfg.b = 20  # runtime write after the file
        write(path, "a: 10\nb: 2\n")
        changes = cfg.update(vein.from_yaml(path))
        assert triples(changes) == [("a", 1, 10)]
        assert cfg.to_dict() == {"a": 10, "b": 20}  # the reload did not touch b
        write(path, "b: 2\n")  # a no longer defined by the file: removed
        cfg.update(vein.from_yaml(path))
        assert cfg.to_dict() == {"b": 20}


class TestValueAndNamespace:
    """A key that turns between a value and a namespace, by reload, env or assignment."""

    def test_reload_turns_a_value_into_a_namespace_and_back(self) -> None:
        cfg = vein.Config()
        cfg.update(vein.from_dict({"new": "012", "keep": 1}, name="L"))
        changes = cfg.update(vein.from_dict({"new": {"deep": 1}, "keep": 1}, name="L"))
        assert cfg.to_dict() == {"new": {"deep": 1}, "keep": 1}
        assert triples(changes) == [("new", "012", vein.MISSING), ("new.deep", vein.MISSING, 1)]
        assert str(cfg.explain("new.deep")) == "dict L (key new.deep)"

        changes = cfg.update(vein.from_dict({"new": 5, "keep": 1}, name="L"))
        assert cfg.to_dict() == {"new": 5, "keep": 1}
        assert triples(changes) == [("new.deep", 1, vein.MISSING), ("new", vein.MISSING, 5)]
        assert str(cfg.explain("new")) == "dict L (key new)"

        cfg.update(vein.from_dict({"new": {"deep": {"deeper": 2}}, "keep": 1}, name="L"))
        assert cfg.to_dict() == {"new": {"deep": {"deeper": 2}}, "keep": 1}

    def test_env_reload_turns_a_value_into_a_namespace_and_back(self, env: pytest.MonkeyPatch) -> None:
        cfg = vein.Config()
        env.setenv("CFGT_NEW", "012")
        cfg.update(vein.from_env("CFGT_"))
        env.delenv("CFGT_NEW")
        env.setenv("CFGT_NEW__DEEP", "1")
        cfg.update(vein.from_env("CFGT_"))
        assert cfg.to_dict() == {"new": {"deep": "1"}}
        assert str(cfg.explain("new.deep")) == "env CFGT_NEW__DEEP"
        env.delenv("CFGT_NEW__DEEP")
        env.setenv("CFGT_NEW", "5")
        changes = cfg.update(vein.from_env("CFGT_"))
        assert cfg.to_dict() == {"new": "5"}
        assert triples(changes) == [("new.deep", "1", vein.MISSING), ("new", vein.MISSING, "5")]

    def test_env_value_and_namespace_at_once_is_an_error_naming_both(
        self, env: pytest.MonkeyPatch
    ) -> None:
        env.setenv("CFGT_NEW", "012")
        env.setenv("CFGT_NEW__DEEP", "1")
        cfg = vein.Config()
        with pytest.raises(vein.VeinError, match=r"CFGT_NEW\b.*CFGT_NEW__DEEP"):
            cfg.update(vein.from_env("CFGT_"))
        assert cfg.to_dict() == {}

    def test_updates_and_assignments_replace_each_way_with_events(self) -> None:
        cfg = vein.Config()
        cfg.port = 1
        changes = heard(cfg)
        cfg.update({"port": {"number": 2}})
        assert cfg.to_dict() == {"port": {"number": 2}}
        cfg.port = 3
        assert cfg.to_dict() == {"port": 3}
        assert triples(changes) == [
            ("port", 1, vein.MISSING),
            ("port.number", vein.MISSING, 2),
            ("port.number", 2, vein.MISSING),
            ("port", vein.MISSING, 3),
        ]
        assert "runtime" == str(cfg.explain("port"))

    @pytest.mark.parametrize("how", ["batch", "policy"])
    def test_a_rolled_back_replacement_restores_both_sides(self, how: str) -> None:
        class Guarded(Config):
            @vein.policy
            def no_threes(self) -> None:
                if self.get("a") == 3 or self.get("port.n") == 3:
                    raise ValueError("no 3")

        cfg: Config = Guarded() if how == "policy" else vein.Config()
        cfg.a.b.x = 1
        cfg.port = 1
        namespace = cfg.a
        inner = heard(namespace)
        for change in ({"a": 3}, {"port": {"n": 3}}):
            with pytest.raises((RuntimeError, vein.ValidationError)):
                if how == "batch":
                    with cfg.batch():
                        cfg.update(change)
                        raise RuntimeError("roll back")
                else:
                    cfg.update(change)
            assert cfg.to_dict() == {"a": {"b": {"x": 1}}, "port": 1}
        assert cfg.a is namespace  # the same namespace, its subscriptions kept
        assert str(cfg.explain("port")) == "runtime"
        cfg.a.b.x = 2
        assert triples(inner) == [("b.x", 1, 2)]


# --- secrets --------------------------------------------------------------------------------


class TestSecrets:
    def test_secret_looking_keys_are_masked(self) -> None:
        cfg = vein.Config()
        changes = heard(cfg)
        cfg.api_key = "s3cr3t-key"
        cfg.database.password = "hunter2"
        cfg.github_token = "ghp_abc"
        cfg.host = "visible"
        assert cfg.to_dict()["api_key"] == "s3cr3t-key"  # the value is there
        red = cfg.to_dict(redact=True)
        assert red == {"api_key": "***", "database": {"password": "***"}, "github_token": "***", "host": "visible"}
        assert vein.to_dict(cfg, redact=True) == red
        text = repr(cfg) + "".join(repr(c) + str(c) for c in changes)
        for secret in ("s3cr3t-key", "hunter2", "ghp_abc"):
            assert secret not in text
        assert "visible" in text

    def test_marked_secret(self) -> None:
        cfg = vein.Config()
        cfg.secret("dsn")
        changes = heard(cfg)
        cfg.dsn = "postgresql://app:pw@db/app"
        assert cfg.to_dict(redact=True) == {"dsn": "***"}
        assert "pw@db" not in repr(cfg) and "pw@db" not in repr(changes[0])

    def test_secrets_are_masked_in_validation_errors(self, env: pytest.MonkeyPatch) -> None:
        cfg = vein.Config({"api_key": 12345, "db": {"password": 1}, "pin": 1234, "port": 1})
        cfg.secret("pin")
        env.setenv("CFGT_API_KEY", "leaked-api-key")
        env.setenv("CFGT_DB__PASSWORD", "leaked-password")
        env.setenv("CFGT_PIN", "leaked-pin")
        env.setenv("CFGT_PORT", "visible-port")
        with pytest.raises(vein.ValidationError) as info:
            cfg.update(vein.from_env("CFGT_"))
        text = str(info.value) + repr(info.value.errors)
        assert len(info.value.errors) == 4
        for leaked in ("leaked-api-key", "leaked-password", "leaked-pin"):
            assert leaked not in text
        assert "visible-port" in text  # not a secret: shown to help fixing it
        assert "CFGT_API_KEY" in text  # still says where the bad value came from

    def test_secret_looking_keys_inside_values_are_masked_at_any_depth(self) -> None:
        cfg = vein.Config()
        cfg.users = [
            {"name": "a", "password": "hunter2", "keys": [{"api_key": "k-1", "token": ""}]},
            {"name": "b", "credentials": {"user": "b", "passwd": "pw-b"}, "tokens": ["t-1"]},
        ]
        cfg.db.replicas = ({"host": "r1", "secret": "s-1"},)
        redacted = cfg.to_dict(redact=True)
        assert redacted == {
            "users": [
                {"name": "a", "password": "***", "keys": [{"api_key": "***", "token": ""}]},
                {"name": "b", "credentials": {"user": "b", "passwd": "***"}, "tokens": "***"},
            ],
            "db": {"replicas": [{"host": "r1", "secret": "***"}]},
        }
        shown = repr(cfg) + str(redacted)
        for leaked in ("hunter2", "k-1", "pw-b", "t-1", "s-1"):
            assert leaked not in shown
        assert cfg.to_dict()["users"][0]["password"] == "hunter2"  # only masked when asked
        assert cfg.users[1]["credentials"]["passwd"] == "pw-b"

    def test_snapshot_repr_masks_secret_keys_inside_values(self) -> None:
        cfg = vein.Config()
        cfg.users = [{"name": "a", "password": "hunter2"}]
        assert "hunter2" not in repr(cfg.snapshot())


# --- schema-less typing rules (SPEC §6) -----------------------------------------------------


class TestYamlTyping:
    @pytest.fixture
    def load(self, tmp_path: Path) -> Any:
        def load(text: str) -> dict[str, Any]:
            cfg = vein.Config()
            cfg.update(vein.from_yaml(write(tmp_path / "c.yml", text)))
            return {k: cfg[k] for k in cfg}

        return load

    def test_yaml_1_2_core_schema(self, load: Any) -> None:
        got = load(
            """
            on: push
            yes_: yes
            no_: no
            off_: off
            y: y
            t1: true
            t2: True
            t3: TRUE
            t4: tRUE
            f1: false
            mode: 0644
            octal: 0o17
            hexa: 0x1F
            at: 22:30
            sexagesimal: 1:20:30
            day: 2024-05-01
            stamp: 2024-05-01T10:00:00Z
            version: 1.10
            exp: 6e3
            inf: .inf
            text: '007'
            nil: null
            tilde: ~
            blank:
            """
        )
        assert got == {
            "on": "push",
            "yes_": "yes",
            "no_": "no",
            "off_": "off",
            "y": "y",
            "t1": True,
            "t2": True,
            "t3": True,
            "t4": "tRUE",
            "f1": False,
            "mode": 644,
            "octal": 15,
            "hexa": 31,
            "at": "22:30",
            "sexagesimal": "1:20:30",
            "day": "2024-05-01",
            "stamp": "2024-05-01T10:00:00Z",
            "version": 1.1,
            "exp": 6000.0,
            "inf": float("inf"),
            "text": "007",
            "nil": None,
            "tilde": None,
            "blank": None,
        }
        assert type(got["mode"]) is int and type(got["t1"]) is bool

    def test_workflow_on_key_stays_text(self, load: Any) -> None:
        got = load("on:\n  push:\n    branches: [main]\n")
        assert got["on"].to_dict() == {"push": {"branches": ["main"]}}

    def test_non_text_keys_are_kept_as_text(self, load: Any) -> None:
        got = load("386: x86\ntrue: yes\n1.5: z\nnull: n\n2024-01-01: d\n")
        assert got == {"386": "x86", "true": "yes", "1.5": "z", "null": "n", "2024-01-01": "d"}

    @pytest.mark.parametrize("text", ["1: a\n'1': b\n", "true: a\n'true': b\n", "1.5: a\n'1.5': b\n"])
    def test_keys_that_become_equal_are_an_error(self, load: Any, text: str) -> None:
        with pytest.raises(vein.SourceError, match="duplicate key") as info:
            load(text)
        assert info.value.line == 2

    def test_keys_keep_their_own_spelling(self, load: Any) -> None:
        # 0x1 and 1 are the same number, but keys are kept as their text: no clash.
        assert load("1: a\n0x1: b\n") == {"1": "a", "0x1": "b"}

    @pytest.mark.parametrize("text", ["", "\n", "# just a comment\n", "null\n", "~\n", "---\n...\n"])
    def test_empty_or_null_document_is_an_empty_mapping(self, tmp_path: Path, text: str) -> None:
        cfg = vein.Config({"kept": 1})
        changes = heard(cfg)
        assert cfg.update(vein.from_yaml(write(tmp_path / "e.yml", text))) == []
        assert cfg.to_dict() == {"kept": 1} and changes == []

    def test_merge_keys_and_anchors(self, load: Any) -> None:
        got = load(
            """
            base: &base
              host: db
              port: 5432
            prod:
              <<: *base
              port: 6432
            both:
              <<: [*base, {user: app}]
            hosts: &h [a, b]
            again: *h
            """
        )
        assert got["prod"].to_dict() == {"host": "db", "port": 6432}
        assert got["both"].to_dict() == {"host": "db", "port": 5432, "user": "app"}
        assert got["again"] == ["a", "b"]


class TestEnvTyping:
    @pytest.mark.parametrize(
        ("current", "text", "expected"),
        [
            (8080, "9090", 9090),
            (0.5, "2", 2.0),
            (0.5, "1e-3", 0.001),
            (False, "yes", True),
            (True, "OFF", False),
            (True, "0", False),
            (["a"], "p,q", ["p", "q"]),
            (["a"], '["x", "y"]', ["x", "y"]),
            (["a"], "single", ["single"]),
            ("text", "007", "007"),
            ("text", "1.10", "1.10"),
            (None, "5", "5"),
            (dt.date(2024, 1, 1), "2025-02-03", dt.date(2025, 2, 3)),
        ],
    )
    def test_text_takes_the_type_of_the_value_it_replaces(
        self, env: pytest.MonkeyPatch, current: Any, text: str, expected: Any
    ) -> None:
        cfg = vein.Config()
        cfg.value = current
        env.setenv("CFGT_VALUE", text)
        cfg.update(vein.from_env("CFGT_"))
        assert cfg.value == expected and type(cfg.value) is type(expected)

    def test_new_keys_stay_text(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("CFGT_PORT", "8080")
        env.setenv("CFGT_DEBUG", "true")
        env.setenv("CFGT_EMPTY", "")
        cfg = vein.Config()
        cfg.update(vein.from_env("CFGT_"))
        assert cfg.port == "8080" and cfg.debug == "true"

    @pytest.mark.parametrize(
        ("current", "text", "message"),
        [
            (1, "ninety", "expected an integer, got 'ninety'"),
            (1.5, "fast", "expected a number, got 'fast'"),
            (True, "maybe", "expected a boolean"),
            (1, "1e400", "expected an integer"),
            (1.0, "1e400", "1e400"),
        ],
    )
    def test_unparsable_text_names_the_variable(
        self, env: pytest.MonkeyPatch, current: Any, text: str, message: str
    ) -> None:
        cfg = vein.Config({"section": {"value": current}})
        env.setenv("CFGT_SECTION__VALUE", text)
        with pytest.raises(vein.ValidationError) as info:
            cfg.update(vein.from_env("CFGT_"))
        (entry,) = info.value.errors
        assert entry.path == "section.value"
        assert str(entry.source) == "env CFGT_SECTION__VALUE"
        assert message in entry.message
        assert cfg.section.value == current

    @pytest.mark.parametrize(
        ("current", "text", "expected"),
        [
            ([1, 2], "3,4", [3, 4]),
            ([1, 2], "[3, 4]", [3, 4]),
            ([1, 2], "5", [5]),
            ([1, 2.5], "1.5,2", [1.5, 2.0]),
            ([True], "yes,off", [True, False]),
            (("a",), "x,y", ("x", "y")),
            ({1, 2}, "3,4", {3, 4}),
            ([], "3,4", ["3", "4"]),  # nothing says which type: text
            ([1, "a"], "3,4", ["3", "4"]),  # items of several types: text
        ],
    )
    def test_list_items_take_the_type_of_the_items_they_replace(
        self, current: Any, text: str, expected: Any
    ) -> None:
        value = env_value(text, current)
        assert value == expected and type(value) is type(expected)
        assert [type(v) for v in value] == [type(v) for v in expected]

    def test_a_bad_item_says_which_type_was_expected(self) -> None:
        with pytest.raises(ConversionError) as info:
            env_value("3,x", [1, 2])
        assert info.value.render() == "expected an integer, got 'x' (the type of the current value, list[int])"

    def test_text_cannot_replace_a_section_filled_by_other_sources(self) -> None:
        cfg = vein.Config({"db": {"host": "h", "port": 1}})
        with pytest.raises(ConversionError) as info:
            env_value("x", cfg.db, "env CFGT_")
        assert info.value.render() == (
            "expected no text: this key is a section, got 'x' "
            "(set its keys with one variable each: this variable's name + __HOST, __PORT)"
        )
        assert env_value("x", vein.Config()) == "x"  # an empty namespace holds nothing to lose

    def test_env_into_lists_and_sections(self, env: pytest.MonkeyPatch) -> None:
        cfg = vein.Config({"ports": [1, 2], "db": {"host": "h"}})
        env.setenv("CFGT_PORTS", "3,4")
        cfg.update(vein.from_env("CFGT_"))
        assert cfg.ports == [3, 4]
        env.setenv("CFGT_DB", "x")
        with pytest.raises(vein.ValidationError, match=r"db: expected no text: this key is a section.*\(from env CFGT_DB\)"):
            cfg.update(vein.from_env("CFGT_"))
        assert cfg.to_dict() == {"ports": [3, 4], "db": {"host": "h"}}


# --- the typed global config ----------------------------------------------------------------


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432


@vein.flow
class Settings:
    debug: bool = False
    timeout: float = 30.0
    database: Database = vein.field(factory=Database)


@vein.flow
class OtherSettings:
    name: str = "x"


class TestTypedGlobal:
    def test_use_and_typed(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("APP_TIMEOUT", "12.5")
        settings = vein.config.use(vein.load(Settings, vein.from_env("APP_")))
        assert isinstance(settings, Settings)
        assert vein.config.typed(Settings) is settings
        assert vein.config.typed(Settings).timeout == 12.5
        vein.config.typed(Settings).database.port = 6432
        assert settings.database.port == 6432
        with pytest.raises(vein.ValidationError):
            vein.config.typed(Settings).debug = "yes"  # type: ignore[assignment]
        assert settings.debug is False

    def test_typed_of_the_wrong_class_raises(self) -> None:
        with pytest.raises(LookupError, match="Settings"):
            vein.config.typed(Settings)  # nothing installed yet
        vein.config.use(Settings())
        with pytest.raises(LookupError, match="OtherSettings"):
            vein.config.typed(OtherSettings)
        vein.config.use(OtherSettings())  # replacing it is allowed
        assert vein.config.typed(OtherSettings).name == "x"
        with pytest.raises(LookupError):
            vein.config.typed(Settings)

    def test_use_a_class_builds_it_from_defaults_and_sources(self, env: pytest.MonkeyPatch) -> None:
        settings = vein.config.use(Settings)
        assert isinstance(settings, Settings) and settings.timeout == 30.0
        assert vein.config.typed(Settings) is settings
        env.setenv("APP_TIMEOUT", "7")
        settings = vein.config.use(Settings, vein.from_env("APP_"))
        assert vein.config.typed(Settings).timeout == 7.0
        assert str(settings.explain("timeout")) == "env APP_TIMEOUT"

    @pytest.mark.parametrize(
        ("arg", "message"),
        [
            (42, r"takes a flow class .* or an instance of one, not int 42$"),
            ("Settings", r"not str 'Settings'$"),
            ({"timeout": 1}, r"not dict .*; to add these keys to the schema-less config, call config\.update"),
            (dict, r"not the class dict; decorate dict with @vein.flow"),
            (types.SimpleNamespace(timeout=1), r"not an instance of SimpleNamespace"),
            (vein.Config(), r"is a schema-less config"),
            (Config, r"the class Config is a schema-less config"),
        ],
    )
    def test_use_refuses_what_is_not_a_flow_class_or_instance(self, arg: Any, message: str) -> None:
        with pytest.raises(TypeError, match=message):
            vein.config.use(arg)
        with pytest.raises(LookupError, match=r"nothing is installed"):
            vein.config.typed(Settings)

    def test_use_takes_sources_only_with_a_class_and_typed_takes_a_class(self) -> None:
        with pytest.raises(TypeError, match=r"sources only with a class: use\(Settings, \*sources\)"):
            vein.config.use(Settings(), {"timeout": 1})  # type: ignore[call-overload]
        with pytest.raises(TypeError, match=r"typed\(\) takes the class .* not an instance of Settings"):
            vein.config.typed(Settings())  # type: ignore[arg-type]
        vein.config.use(Settings())
        with pytest.raises(LookupError, match=r"no OtherSettings .* \(Settings is installed\)"):
            vein.config.typed(OtherSettings)

    def test_the_typed_object_and_the_schema_less_keys_are_separate(self) -> None:
        settings = vein.config.use(Settings())
        vein.config.feature.flag = True
        assert vein.config.to_dict() == {"feature": {"flag": True}}
        assert vein.to_dict(settings) == {"debug": False, "timeout": 30.0, "database": {"host": "localhost", "port": 5432}}

    def test_reset_removes_the_typed_config(self) -> None:
        vein.config.use(Settings())
        vein.config.reset()
        with pytest.raises(LookupError):
            vein.config.typed(Settings)

    def test_mypy_checks_access_through_typed(self, tmp_path: Path) -> None:
        if importlib.util.find_spec("mypy") is None:
            pytest.skip("mypy is not installed")
        user = write(
            tmp_path / "typed_user.py",
            """
            import vein


            @vein.flow
            class Settings:
                timeout: float = 30.0


            settings = vein.config.use(Settings())
            reveal_type(settings)
            reveal_type(vein.config.typed(Settings).timeout)
            vein.config.typed(Settings).timout
            built = vein.config.use(Settings, vein.from_env("APP_"))
            reveal_type(built)
            built.timeout = "fast"
            """,
        )
        repo = Path(__file__).resolve().parents[1]
        proc = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "mc"), str(user)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=tmp_path,
            env={**os.environ, "MYPYPATH": str(repo)},
        )
        out = proc.stdout
        assert 'Revealed type is "typed_user.Settings"' in out, out
        assert 'Revealed type is "float"' in out, out
        assert '"Settings" has no attribute "timout"' in out, out
        assert out.count('Revealed type is "typed_user.Settings"') == 2, out
        assert 'Incompatible types in assignment (expression has type "str", variable has type "float")' in out, out
        assert proc.returncode == 1  # exactly because of the typo and the bad assignment


# --- reset ----------------------------------------------------------------------------------


class TestReset:
    def test_reset_forgets_keys_layers_subscriptions_and_secrets(self, tmp_path: Path) -> None:
        config = vein.config
        path = write(tmp_path / "c.yml", "a: 1\n")
        changes = heard(config)
        config.update(vein.from_yaml(path))
        config.secret("dsn")
        config.b.c = 2
        assert len(changes) == 2
        config.reset()
        assert config.to_dict() == {} and len(config) == 0
        config.x = 1
        assert len(changes) == 2  # the old subscription is gone
        config.update(vein.from_yaml(path))  # the layer is new again: applied in full
        assert config.a == 1
        config.dsn = "not secret any more"
        assert config.to_dict(redact=True)["dsn"] == "not secret any more"

    def test_fresh_configs_are_independent(self) -> None:
        a, b = vein.Config(), vein.Config({"x": 1})
        a.x = 2
        assert b.x == 1 and a.x == 2 and vein.config.to_dict() == {}


# --- snapshot, batch, watch, copying --------------------------------------------------------


class TestFlowFeatures:
    def test_snapshot(self) -> None:
        cfg = vein.Config({"db": {"host": "h", "password": "pw"}, "hosts": ["a"]})
        snap = cfg.snapshot()
        cfg.db.host = "h2"
        assert snap.db.host == "h" and snap.to_dict() == {"db": {"host": "h", "password": "pw"}, "hosts": ["a"]}
        assert "pw" not in repr(snap)
        with pytest.raises((AttributeError, TypeError)):
            snap.db.host = "x"

    def test_batch_coalesces_and_rolls_back(self) -> None:
        cfg = vein.Config({"a": 1})
        changes = heard(cfg)
        with cfg.batch():
            cfg.a = 2
            cfg.a = 3
            cfg.ns.b = 1
            assert changes == []
        assert triples(changes) == [("a", 1, 3), ("ns.b", vein.MISSING, 1)]
        changes.clear()
        with pytest.raises(RuntimeError), cfg.batch():
            cfg.a = 100
            cfg.rolled.back = True
            raise RuntimeError("abort")
        assert cfg.to_dict() == {"a": 3, "ns": {"b": 1}}
        assert changes == []

    def test_watch(self, tmp_path: Path) -> None:
        path = write(tmp_path / "w.yml", "a: 1\n")
        cfg = vein.Config()
        changes = heard(cfg)
        watcher = cfg.watch(vein.from_yaml(path), start=False)
        try:
            assert cfg.to_dict() == {"a": 1}
            write(path, "a: 2\nb: {c: 3}\n")
            os.utime(path, ns=(10**18, 10**18))  # a new stat, whatever the clock's granularity
            watcher.poll()
            assert cfg.to_dict() == {"a": 2, "b": {"c": 3}}
            write(path, "a: [broken\n")
            os.utime(path, ns=(2 * 10**18, 2 * 10**18))
            watcher.poll()  # a bad version keeps the last good state
            assert cfg.to_dict() == {"a": 2, "b": {"c": 3}}
        finally:
            watcher.stop()
        assert triples(changes) == [("a", vein.MISSING, 1), ("a", 1, 2), ("b.c", vein.MISSING, 3)]

    @pytest.mark.parametrize(
        "clone",
        [copy.copy, copy.deepcopy, lambda c: pickle.loads(pickle.dumps(c))],
        ids=["copy", "deepcopy", "pickle"],
    )
    def test_copies_keep_keys_and_secret_marks(self, clone: Any) -> None:
        cfg = vein.Config({"db": {"host": "h", "dsn": "postgresql://u:pw@h/db"}, "a.b": 1, "when": dt.date(2024, 1, 1)})
        cfg.db.secret("dsn")
        changes = heard(cfg)
        other = clone(cfg)
        assert type(other) is Config
        assert other.to_dict() == cfg.to_dict()
        assert other.when == dt.date(2024, 1, 1) and other["a.b"] == 1
        assert other.to_dict(redact=True)["db"]["dsn"] == "***"
        other_changes = heard(other)
        other.db.host = "h2"
        assert cfg.db.host == "h" and changes == []  # independent
        assert triples(other_changes) == [("db.host", "h", "h2")]


class Limits(Config):
    """A module-level Config subclass (picklable) with an invariant."""

    @vein.policy
    def pool_fits(self) -> None:
        if self.get("pool.min", 0) > self.get("pool.max", 100):
            raise ValueError("pool.min must not exceed pool.max")

    def describe(self) -> str:
        return f"pool {self.get('pool.min')}..{self.get('pool.max')}"


class TestConfigSubclasses:
    def test_a_subclass_with_a_policy_constructs_and_checks_every_change(self) -> None:
        cfg = Limits({"pool": {"min": 1, "max": 10}})
        assert cfg.describe() == "pool 1..10" and repr(cfg) == "Limits({'pool': {'min': 1, 'max': 10}})"
        changes = heard(cfg)
        with pytest.raises(vein.ValidationError, match="policy 'pool_fits' rejected the change: pool.min must not exceed pool.max"):
            cfg.pool.min = 50
        with pytest.raises(vein.ValidationError):
            cfg.update({"pool": {"max": 0}})
        with pytest.raises(vein.ValidationError, match="pool_fits"):
            Limits({"pool": {"min": 5, "max": 1}})
        cfg.pool.max = 20
        assert cfg.to_dict() == {"pool": {"min": 1, "max": 20}}
        assert triples(changes) == [("pool.max", 10, 20)]

    @pytest.mark.parametrize(
        "clone",
        [copy.copy, copy.deepcopy, lambda c: pickle.loads(pickle.dumps(c))],
        ids=["copy", "deepcopy", "pickle"],
    )
    def test_copies_keep_the_subclass(self, clone: Any) -> None:
        other = clone(Limits({"pool": {"min": 1}}))
        assert type(other) is Limits and other.to_dict() == {"pool": {"min": 1}}
        with pytest.raises(vein.ValidationError):
            other.pool.max = 0

    def test_declared_fields_or_options_are_a_schema_error(self) -> None:
        with pytest.raises(vein.SchemaError, match=r"Config subclass is schema-less and cannot declare fields \(timeout\)"):

            class Typed(Config):
                timeout: float = 30.0

        with pytest.raises(vein.SchemaError, match="takes no class options"):

            class Options(Config, dynamic=True):
                pass


def test_no_shared_state_leaks_between_tests() -> None:
    # The autouse fixture resets the global config; it must be empty here.
    assert vein.config.to_dict() == {} and len(vein.config) == 0
