"""The real-config corpus: every YAML/JSON/TOML file loads through vein's sources, or fails
with a clear SourceError for a documented reason (listed below, never skipped silently).

Loading is schema-less: a source's raw Document, with YAML plain scalars resolved by the
YAML 1.2 core schema (``structure_value(x, Any)``), compared with an independent reader:
``json`` and ``tomllib`` from the standard library, and for YAML a PyYAML ``SafeLoader``
set up here with the YAML 1.2 core schema's resolvers (see ``CoreLoader``).
"""

import json
import math
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import vein
from vein.structuring import Plain, structure_value

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real-configs"
KINDS = ("yaml", "json", "toml")

if not all((CORPUS / kind).is_dir() for kind in KINDS):
    pytest.skip(
        f"real-config corpus not found next to the repository ({CORPUS})", allow_module_level=True
    )

FILES = sorted(p for kind in KINDS for p in (CORPUS / kind).iterdir() if p.is_file())

#: Files that cannot load, and the substring of the SourceError that says why (MANIFEST.md).
EXPECTED_FAILURES: dict[str, str] = {
    "fastapi__fastapi__mkdocs.yml": "!!python/name:pymdownx.superfences.fence_code_format",
    "frenck__home-assistant-config__homeassistant-configuration.yaml": "!include_dir_named",
    "kubernetes__examples__k8s-multidoc-prometheus-adapter.yaml": "9 YAML documents",
    "vitejs__vite__tsconfig.app.json": "no comments",
    "dotnet__eShop__appsettings.json": "no comments",
    "vitejs__vite__renovate.json5": "no trailing commas",
}

READERS = {
    ".yml": vein.from_yaml,
    ".yaml": vein.from_yaml,
    ".json": vein.from_json,
    ".json5": vein.from_json,
    ".toml": vein.from_toml,
}


def resolve(value: Any) -> Any:
    """Raw source data into plain data: YAML plain scalars get their YAML 1.2 core type."""
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    if isinstance(value, Plain):
        return structure_value(value, Any)
    return value


def read(path: Path, **options: Any) -> Any:
    return resolve(READERS[path.suffix](path, **options).read(None).data)


# --- an independent YAML 1.2 core-schema reader ------------------------------------------

_CORE = [
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", list("~nN") + [""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
]


class CoreLoader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema instead of YAML 1.1 (no ``on``/``no``
    booleans, no sexagesimals, no timestamps, ``012`` is twelve) and keys kept as written."""

    yaml_implicit_resolvers: dict[Any, Any] = {}

    def construct_yaml_int(self, node: Any) -> int:
        text = self.construct_scalar(node)
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)

    def construct_yaml_float(self, node: Any) -> float:
        text = self.construct_scalar(node).lower()
        if text.endswith(".inf"):
            return -math.inf if text.startswith("-") else math.inf
        if text == ".nan":
            return math.nan
        return float(text)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)  # merge keys
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            out[key] = self.construct_object(value_node, deep=deep)
        return out


for _tag, _regexp, _first in _CORE:
    CoreLoader.add_implicit_resolver(_tag, re.compile(_regexp), _first)
CoreLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
CoreLoader.add_constructor("tag:yaml.org,2002:int", CoreLoader.construct_yaml_int)
CoreLoader.add_constructor("tag:yaml.org,2002:float", CoreLoader.construct_yaml_float)
CoreLoader.add_constructor("tag:yaml.org,2002:map", CoreLoader.construct_yaml_map)


def reference(path: Path) -> list[Any]:
    """What an independent reader makes of *path* (a list: one item per YAML document)."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix in (".yml", ".yaml"):
        return [doc if doc is not None else {} for doc in yaml.load_all(text, Loader=CoreLoader)]  # noqa: S506
    if path.suffix in (".json", ".json5"):
        return [json.loads(text)]
    return [tomllib.loads(text)]


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN and types must agree (True is not 1)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def walk(data: Any) -> Iterator[tuple[Any, Any]]:
    """Every (key, value) pair of every mapping in *data*."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield k, v
            yield from walk(v)
    elif isinstance(data, list):
        for item in data:
            yield from walk(item)


def corpus_file(name: str) -> Path:
    found = [p for p in FILES if p.name == name]
    assert found, f"{name} is missing from the corpus"
    return found[0]


# --- the walk over the whole corpus ------------------------------------------------------


class TestCorpus:
    """Each file loads and equals the independent reading, or fails for its listed reason."""

    def test_corpus_is_not_empty(self) -> None:
        for kind in KINDS:
            assert any(p.parent.name == kind for p in FILES), kind

    def test_expected_failures_exist(self) -> None:
        """The list of documented failures names real files only (no stale entries)."""
        names = {p.name for p in FILES}
        assert set(EXPECTED_FAILURES) <= names

    def test_every_file_has_a_reader(self) -> None:
        assert [p.name for p in FILES if p.suffix not in READERS] == []

    @pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
    def test_file(self, path: Path) -> None:
        if path.name in EXPECTED_FAILURES:
            with pytest.raises(vein.SourceError) as info:
                read(path)
            err = info.value
            assert EXPECTED_FAILURES[path.name] in str(err)
            assert path.name in str(err)
            return
        data = read(path)
        (expected,) = reference(path)
        assert isinstance(data, dict)
        assert same(data, expected)

    @pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES), ids=sorted(EXPECTED_FAILURES))
    def test_standard_reader_also_refuses(self, name: str) -> None:
        """The documented failures are real: the standard safe reader refuses them too."""
        path = corpus_file(name)
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".json", ".json5"):
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
        else:
            with pytest.raises(yaml.YAMLError):
                yaml.safe_load(text)

    @pytest.mark.parametrize(
        "name",
        [n for n in sorted(EXPECTED_FAILURES) if n.endswith((".json", ".json5"))],
    )
    def test_json_errors_are_located(self, name: str) -> None:
        path = corpus_file(name)
        with pytest.raises(vein.SourceError) as info:
            read(path)
        with pytest.raises(json.JSONDecodeError) as ref:
            json.loads(path.read_text(encoding="utf-8"))
        assert (info.value.line, info.value.column) == (ref.value.lineno, ref.value.colno)

    @pytest.mark.parametrize(
        "name",
        [
            "fastapi__fastapi__mkdocs.yml",
            "frenck__home-assistant-config__homeassistant-configuration.yaml",
        ],
    )
    def test_tag_errors_name_the_line(self, name: str) -> None:
        path = corpus_file(name)
        with pytest.raises(vein.SourceError) as info:
            read(path)
        tag = EXPECTED_FAILURES[name]
        lines = path.read_text(encoding="utf-8").splitlines()
        tag_line = next(i for i, line in enumerate(lines, start=1) if tag in line)
        assert info.value.line == tag_line


class TestMultiDocument:
    """The multi-document file loads document by document with ``document=N``."""

    NAME = "kubernetes__examples__k8s-multidoc-prometheus-adapter.yaml"

    def test_each_document(self) -> None:
        path = corpus_file(self.NAME)
        expected = reference(path)
        assert len(expected) > 1
        for n, doc in enumerate(expected):
            assert same(read(path, document=n), doc), n

    def test_past_the_last_document(self) -> None:
        path = corpus_file(self.NAME)
        with pytest.raises(vein.SourceError, match="document"):
            read(path, document=len(reference(path)))


class TestDocumentedTraps:
    """The YAML 1.1 traps the manifest lists come out as YAML 1.2 says."""

    def test_workflow_on_key_stays_text(self) -> None:
        data = read(corpus_file("python-attrs__attrs__github-workflow-ci.yml"))
        assert "on" in data
        assert True not in data
        assert isinstance(data["on"], dict)

    def test_octal_looking_mode_is_decimal(self) -> None:
        data = read(corpus_file("poseidon__typhoon__butane-worker.yaml"))
        modes = [v for k, v in walk(data) if k == "mode"]
        assert 644 in modes
        assert 420 not in modes
        assert all(type(m) is int for m in modes)

    def test_version_float(self) -> None:
        data = read(corpus_file("geerlingguy__ansible-role-security__ansible-meta-main.yml"))
        versions = [v for k, v in walk(data) if k == "min_ansible_version"]
        assert versions == [2.1]

    def test_integer_key_becomes_text(self) -> None:
        data = read(corpus_file("goreleaser__goreleaser__goreleaser.yaml"))
        keys = [k for k, _v in walk(data)]
        assert "386" in keys
        assert all(isinstance(k, str) for k in keys)

    def test_yes_no_stay_text(self) -> None:
        data = read(corpus_file("grafana__loki__codecov.yml"))
        assert data["codecov"]["require_ci_to_pass"] == "yes"
        assert data["comment"]["require_changes"] == "no"
        assert data["parsers"]["gcov"]["branch_detection"]["method"] == "no"
        assert data["coverage"]["status"]["project"]["default"]["informational"] is True

    def test_date_stays_text(self) -> None:
        data = read(corpus_file("grafana__loki__loki-local-config.yaml"))
        froms = [v for k, v in walk(data) if k == "from"]
        assert froms == ["2020-10-24"]

    def test_quoted_booleans_and_times_stay_text(self) -> None:
        data = read(corpus_file("geerlingguy__ansible-role-security__ansible-defaults-main.yml"))
        values = [v for _k, v in walk(data)]
        assert "no" in values
        assert "03:00" in values

    def test_comment_only_values_are_null(self) -> None:
        data = read(corpus_file("prometheus__prometheus__prometheus.yml"))
        assert data["rule_files"] is None

    def test_airflow_merge_keys(self) -> None:
        data = read(corpus_file("apache__airflow__docker-compose.yaml"))
        common = data["x-airflow-common"]
        worker = data["services"]["airflow-worker"]
        assert worker["image"] == common["image"]
        assert worker["volumes"] == common["volumes"]
        assert worker["command"] == "celery worker"
        env = worker["environment"]
        assert set(common["environment"]) <= set(env)
        assert env["DUMB_INIT_SETSID"] == "0"
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "true"
        assert {"redis", "postgres", "airflow-apiserver", "airflow-init"} <= set(
            worker["depends_on"]
        )
        assert "<<" not in [k for k, _v in walk(data)]

    def test_frappe_list_merge(self) -> None:
        data = read(corpus_file("frappe__frappe_docker__compose.yaml"))
        assert "<<" not in [k for k, _v in walk(data)]
        backend = data["x-backend-defaults"]
        assert set(data["x-customizable-image"]) <= set(backend)
        assert set(data["x-depends-on-configurator"]) <= set(backend)


class TestTypedLoading:
    """Corpus files through a small schema: the documented traps into typed fields."""

    def test_version_kept_as_text(self) -> None:
        @vein.flow
        class GalaxyInfo:
            min_ansible_version: str = ""

        @vein.flow
        class Meta:
            galaxy_info: GalaxyInfo = vein.field(factory=GalaxyInfo)

        path = corpus_file("geerlingguy__ansible-role-security__ansible-meta-main.yml")
        meta = vein.load(Meta, vein.from_yaml(path, strict=False))
        assert meta.galaxy_info.min_ansible_version == "2.10"
        prov = meta.explain("galaxy_info.min_ansible_version")
        lines = path.read_text(encoding="utf-8").splitlines()
        line = next(i for i, text in enumerate(lines, start=1) if "min_ansible_version" in text)
        assert (prov.line, prov.column) == (line, lines[line - 1].index("min_ansible_version") + 1)

    def test_codecov_yes_into_bool_and_str(self) -> None:
        """``require_ci_to_pass: yes`` is True for a bool field and ``"yes"`` for a str field."""

        @vein.flow
        class Flags:
            require_ci_to_pass: bool = False

        @vein.flow
        class Codecov:
            codecov: Flags = vein.field(factory=Flags)

        @vein.flow
        class FlagsText:
            require_ci_to_pass: str = ""

        @vein.flow
        class CodecovText:
            codecov: FlagsText = vein.field(factory=FlagsText)

        path = corpus_file("grafana__loki__codecov.yml")
        typed = vein.load(Codecov, vein.from_yaml(path, strict=False))
        assert typed.codecov.require_ci_to_pass is True
        text = vein.load(CodecovText, vein.from_yaml(path, strict=False))
        assert text.codecov.require_ci_to_pass == "yes"

    def test_unknown_keys_of_a_real_file_are_reported(self) -> None:
        """Strict loading of a real file into a too-small schema lists its keys with lines."""

        @vein.flow
        class Tiny:
            codecov: dict[str, Any] = vein.field(factory=dict)

        path = corpus_file("grafana__loki__codecov.yml")
        with pytest.raises(vein.ValidationError) as info:
            vein.load(Tiny, vein.from_yaml(path))
        lines = path.read_text(encoding="utf-8").splitlines()
        expected = {
            line.split(":")[0]: i
            for i, line in enumerate(lines, start=1)
            if re.match(r"^\w+:", line)
        }
        del expected["codecov"]
        found = {e.path: e.source.line for e in info.value.errors if e.source is not None}
        assert found == expected
