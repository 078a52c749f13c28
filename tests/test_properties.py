"""Properties (hypothesis): env text conversion, list parsing, YAML round trips, layering.

The layering model at the bottom is SPEC §5 "Layering" written as a few lines of plain
Python; a state machine drives vein and the model with the same random steps.
"""

import copy
import json
import math
import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import vein
from vein.structuring import Plain, structure_value

SETTINGS = settings(deadline=None, max_examples=150)

# Text a process environment can hold (no NUL, no lone surrogates), never empty.
env_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1
)


@vein.flow
class Scalars:
    s: str = ""
    i: int = 0
    f: float = 0.0
    b: bool = False
    strs: list[str] = vein.field(factory=list)
    ints: list[int] = vein.field(factory=list)


def from_env(**variables: str) -> Scalars:
    environ = {f"P_{k.upper()}": v for k, v in variables.items()}
    return vein.load(Scalars, vein.from_env("P_", environ=environ))


class TestEnvText:
    """The text of a value converts back to the value; ``str`` keeps any text."""

    @SETTINGS
    @given(env_text)
    def test_str_keeps_any_text(self, text: str) -> None:
        assert from_env(s=text).s == text

    @SETTINGS
    @given(st.integers())
    def test_int(self, value: int) -> None:
        assert from_env(i=str(value)).i == value

    @SETTINGS
    @given(st.integers(), st.sampled_from(["", " ", "\t", "  "]))
    def test_int_with_surrounding_blanks(self, value: int, pad: str) -> None:
        assert from_env(i=f"{pad}{value}{pad}").i == value

    @SETTINGS
    @given(st.floats(allow_nan=False, allow_infinity=False))
    def test_float(self, value: float) -> None:
        result = from_env(f=repr(value)).f
        assert result == value
        assert math.copysign(1.0, result) == math.copysign(1.0, value)

    @SETTINGS
    @given(st.integers(min_value=-(10**300), max_value=10**300))
    def test_int_text_into_float(self, value: int) -> None:
        assert from_env(f=str(value)).f == float(value)

    @SETTINGS
    @given(
        st.booleans(),
        st.data(),
    )
    def test_bool(self, value: bool, data: st.DataObject) -> None:
        words = (
            ["true", "yes", "on", "1", "t", "y"] if value else ["false", "no", "off", "0", "f", "n"]
        )
        word = data.draw(st.sampled_from(words))
        cased = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in word)
        assert from_env(b=cased).b is value

    @SETTINGS
    @given(env_text)
    def test_bool_rejects_everything_else(self, text: str) -> None:
        assume(
            text.strip().lower()
            not in {"true", "yes", "on", "1", "t", "y", "false", "no", "off", "0", "f", "n"}
        )
        with pytest.raises(vein.ValidationError, match="P_B"):
            from_env(b=text)


# Items a comma list can carry: no commas, no surrounding blanks, not starting a JSON array.
item = st.text(
    st.characters(
        blacklist_categories=("Cs", "Zs", "Cc", "Zl", "Zp"), blacklist_characters=",[\x00\x85"
    ),
    min_size=1,
)


class TestListText:
    """JSON arrays round trip; comma lists split into exactly their items."""

    @SETTINGS
    @given(st.lists(st.integers()))
    def test_json_array_of_ints(self, values: list[int]) -> None:
        assert from_env(ints=json.dumps(values)).ints == values

    @SETTINGS
    @given(
        st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
    )
    def test_json_array_of_strings(self, values: list[str]) -> None:
        """Any strings, commas and brackets included, survive as a JSON array."""
        assert from_env(strs=json.dumps(values)).strs == values

    @SETTINGS
    @given(st.lists(item, min_size=1))
    def test_comma_list(self, items: list[str]) -> None:
        result = from_env(strs=",".join(items)).strs
        assert result == items
        assert len(result) == len(items)

    @SETTINGS
    @given(st.lists(item, min_size=1), st.sampled_from([" ", "  ", "\t"]))
    def test_comma_list_with_blanks(self, items: list[str], pad: str) -> None:
        assert from_env(strs=(pad + "," + pad).join(items)).strs == items

    @SETTINGS
    @given(st.lists(st.integers(), min_size=1))
    def test_comma_list_of_ints(self, values: list[int]) -> None:
        assert from_env(ints=",".join(map(str, values))).ints == values


# --- YAML round trip -----------------------------------------------------------------------

_CORE_NOT_STR = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE"
    r"|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class CoreSafeDumper(yaml.SafeDumper):
    """``yaml.safe_dump`` that also quotes text the YAML 1.2 core schema would type
    (PyYAML quotes by YAML 1.1 rules: it leaves ``1e3``, ``0o17`` or ``09`` plain)."""

    def represent_str(self, data: str) -> Any:
        if _CORE_NOT_STR.match(data):
            return self.represent_scalar("tag:yaml.org,2002:str", data, style="'")
        return super().represent_str(data)


CoreSafeDumper.add_representer(str, CoreSafeDumper.represent_str)

# NEL (U+0085) is left out: PyYAML's emitter writes it raw in a folded single-quoted scalar
# that every YAML reader (PyYAML's own too) reads back as a space.
yaml_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x85"))
yaml_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | yaml_text
    | st.sampled_from(
        ["on", "off", "yes", "no", "NO", "1.10", "0644", "012", "22:30", "007", "1e3", "~", ""]
    )
)
yaml_data = st.recursive(
    yaml_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(yaml_text, children, max_size=4)
    ),
    max_leaves=25,
)
yaml_doc = st.dictionaries(yaml_text, yaml_data, max_size=6)


def resolve(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    if isinstance(value, Plain):
        return structure_value(value, Any)
    return value


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a == 0.0:
        return b == 0.0 and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


class TestYamlRoundTrip:
    """Data dumped with ``yaml.safe_dump`` (block and flow style) reads back identical."""

    @SETTINGS
    @given(yaml_doc, st.booleans())
    def test_schemaless(
        self, tmp_path_factory: pytest.TempPathFactory, doc: dict[str, Any], flow: bool
    ) -> None:
        path = tmp_path_factory.mktemp("rt") / "data.yml"
        path.write_text(
            yaml.dump(doc, Dumper=CoreSafeDumper, default_flow_style=flow, allow_unicode=True),
            encoding="utf-8",
        )
        data = resolve(vein.from_yaml(path).read(None).data)
        assert same(data, doc)

    @SETTINGS
    @given(yaml_doc)
    def test_any_field(self, tmp_path_factory: pytest.TempPathFactory, doc: dict[str, Any]) -> None:
        """The same data under an ``Any``-typed field of a schema."""

        path = tmp_path_factory.mktemp("rt") / "data.yml"
        path.write_text(yaml.dump({"payload": doc}, Dumper=CoreSafeDumper), encoding="utf-8")
        loaded = vein.load(Holder, vein.from_yaml(path))
        assert same(loaded.payload, doc)

    @SETTINGS
    @given(yaml_text)
    def test_str_field_keeps_text(
        self, tmp_path_factory: pytest.TempPathFactory, text: str
    ) -> None:
        """Any text, dumped by PyYAML (plain where it dares), reads back into a str field."""
        path = tmp_path_factory.mktemp("rt") / "data.yml"
        path.write_text(yaml.safe_dump({"text": text}, allow_unicode=True), encoding="utf-8")
        assert vein.load(Holder, vein.from_yaml(path)).text == text


@vein.flow
class Holder:
    payload: Any = None
    text: str = ""


# --- merging: later wins, deep -------------------------------------------------------------


@vein.flow
class Deep:
    z: int = 0
    w: str = "w"


@vein.flow
class Inner:
    x: int = 0
    y: str = "y"
    deep: Deep = vein.field(factory=Deep)


@vein.flow
class Tree:
    a: int = 0
    b: str = "b"
    inner: Inner = vein.field(factory=Inner)
    other: Inner = vein.field(factory=Inner)


PATHS = [
    "a",
    "b",
    "inner.x",
    "inner.y",
    "inner.deep.z",
    "inner.deep.w",
    "other.x",
    "other.y",
    "other.deep.z",
    "other.deep.w",
]


def value_for(path: str) -> st.SearchStrategy[Any]:
    leaf = path.rsplit(".", 1)[-1]
    return st.integers(0, 3) if leaf in ("a", "x", "z") else st.sampled_from(["p", "q", "r"])


flat_layer = st.fixed_dictionaries({}, optional={p: value_for(p) for p in PATHS})


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def deep_merge(lower: dict[str, Any], higher: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(lower)
    for k, v in higher.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out.update(flatten(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


DEFAULTS = vein.to_dict(Tree())


class TestDeepMergeProperty:
    """Applying distinct layers equals the reference: defaults, then each layer deep-merged."""

    @SETTINGS
    @given(st.lists(flat_layer, max_size=6), st.booleans())
    def test_later_wins_deep_merge(self, layers: list[dict[str, Any]], together: bool) -> None:
        nested = [nest(layer) for layer in layers]
        expected = DEFAULTS
        for layer in nested:
            expected = deep_merge(expected, layer)
        t = Tree()
        sources = [vein.from_dict(layer, name=f"layer{i}") for i, layer in enumerate(nested)]
        if together:
            t.update(*sources)
        else:
            for source in sources:
                t.update(source)
        assert vein.to_dict(t) == expected
        assert vein.to_dict(vein.load(Tree, *sources)) == expected
        for path in PATHS:
            defining = [i for i, layer in enumerate(layers) if path in layer]
            prov = t.explain(path)
            if defining:
                assert (prov.kind, prov.name) == ("dict", f"layer{defining[-1]}")
            else:
                assert prov.kind == "default"

    @SETTINGS
    @given(st.lists(flat_layer, min_size=1, max_size=5))
    def test_plain_mappings_merge_like_runtime_writes(self, layers: list[dict[str, Any]]) -> None:
        expected = DEFAULTS
        t = Tree()
        for layer in layers:
            expected = deep_merge(expected, nest(layer))
            t.update(nest(layer))
        assert vein.to_dict(t) == expected
        for path in PATHS:
            kind = t.explain(path).kind
            assert kind == ("runtime" if any(path in layer for layer in layers) else "default")


class LayeringMachine(RuleBasedStateMachine):
    """Random reloads, new layers and runtime writes, against the rule of SPEC §5:

    * layers keep the order of their first application;
    * a source's new value for a key replaces the current value unless a later layer
      defines the key; an unchanged key is not written;
    * a key a source no longer defines falls back to the next layer that defines it, or
      the default, only if the current value came from that source;
    * a runtime write always replaces the value.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tree = Tree()
        self.order: list[str] = []
        self.layers: dict[str, dict[str, Any]] = {}
        self.values: dict[str, Any] = flatten(DEFAULTS)
        self.prov: dict[str, str] = dict.fromkeys(PATHS, "default")
        self.defaults = flatten(DEFAULTS)

    @initialize()
    def start(self) -> None:
        assert vein.to_dict(self.tree) == DEFAULTS

    def model_apply(self, name: str, flat: dict[str, Any]) -> None:
        old = self.layers.get(name)
        if name not in self.order:
            self.order.append(name)
        later = self.order[self.order.index(name) + 1 :]
        self.layers[name] = flat
        for path, value in flat.items():
            if old is not None and path in old and old[path] == value:
                continue
            if any(path in self.layers[k] for k in later):
                continue
            self.values[path] = value
            self.prov[path] = name
        for path in (old or {}).keys() - flat.keys():
            if self.prov[path] != name:
                continue
            below = [k for k in reversed(self.order) if k != name and path in self.layers[k]]
            if below:
                self.values[path] = self.layers[below[0]][path]
                self.prov[path] = below[0]
            else:
                self.values[path] = self.defaults[path]
                self.prov[path] = "default"

    @rule(name=st.sampled_from(["l0", "l1", "l2", "l3"]), flat=flat_layer)
    def apply_layer(self, name: str, flat: dict[str, Any]) -> None:
        """A new layer or a reload of an existing one (with keys changed, kept or dropped)."""
        self.tree.update(vein.from_dict(nest(flat), name=name))
        self.model_apply(name, flat)

    @precondition(lambda self: bool(self.layers))
    @rule(data=st.data())
    def reload_unchanged(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.layers)))
        assert self.tree.update(vein.from_dict(nest(self.layers[name]), name=name)) == []

    @rule(path=st.sampled_from(PATHS), data=st.data())
    def runtime_write(self, path: str, data: st.DataObject) -> None:
        value = data.draw(value_for(path))
        assume(value != self.values[path])  # an equal write is no write
        *parents, leaf = path.split(".")
        obj: Any = self.tree
        for part in parents:
            obj = getattr(obj, part)
        setattr(obj, leaf, value)
        self.values[path] = value
        self.prov[path] = "runtime"

    @rule(path=st.sampled_from(PATHS), data=st.data())
    def plain_mapping(self, path: str, data: st.DataObject) -> None:
        value = data.draw(value_for(path))
        assume(value != self.values[path])
        self.tree.update(nest({path: value}))
        self.values[path] = value
        self.prov[path] = "runtime"

    @invariant()
    def same_values(self) -> None:
        assert flatten(vein.to_dict(self.tree)) == self.values

    @invariant()
    def same_provenance(self) -> None:
        for path in PATHS:
            prov = self.tree.explain(path)
            shown = prov.name if prov.kind == "dict" else prov.kind
            assert shown == self.prov[path], path


LayeringMachine.TestCase.settings = settings(
    deadline=None, max_examples=200, stateful_step_count=30
)
TestLayeringRule = LayeringMachine.TestCase


class TestYamlFileLayerProperty:
    """Rewriting a YAML file with random content and reloading it equals a fresh load of
    the same file under the defaults, when no other layer or runtime write is involved."""

    @SETTINGS
    @given(st.lists(flat_layer, min_size=1, max_size=4))
    def test_reload_equals_fresh_load(
        self, tmp_path_factory: pytest.TempPathFactory, versions: list[dict[str, Any]]
    ) -> None:
        path: Path = tmp_path_factory.mktemp("reload") / "c.yml"
        source = vein.from_yaml(path)
        t = Tree()
        for i, flat in enumerate(versions):
            text = yaml.safe_dump(nest(flat)) if flat else ""
            path.write_text(f"# version {i}\n{text}", encoding="utf-8")
            t.update(source)
            fresh = vein.load(Tree, vein.from_yaml(path))
            assert vein.to_dict(t) == vein.to_dict(fresh) == deep_merge(DEFAULTS, nest(flat))


def test_printable_alphabet_constant() -> None:
    """Guard for the strategies above: the comma-list alphabet really excludes separators."""
    sample = "".join(c for c in string.printable if c not in ",[" and not c.isspace())
    assert from_env(strs=sample).strs == [sample]


# --- evented containers against plain ones -------------------------------------------------


@vein.flow
class Bag:
    seq: list[int] = vein.field(factory=list)
    counts: dict[str, int] = vein.field(factory=dict)
    names: set[str] = vein.field(factory=set)


short_text = st.sampled_from(["a", "b", "c", "d"])
small_int = st.integers(min_value=-3, max_value=3)
# (field, method, args): the same call is made on the evented container and a plain one
container_calls = st.one_of(
    st.tuples(st.just("seq"), st.just("append"), st.tuples(small_int)),
    st.tuples(st.just("seq"), st.just("extend"), st.tuples(st.lists(small_int, max_size=2))),
    st.tuples(st.just("seq"), st.just("insert"), st.tuples(small_int, small_int)),
    st.tuples(st.just("seq"), st.just("__setitem__"), st.tuples(small_int, small_int)),
    st.tuples(st.just("seq"), st.just("__delitem__"), st.tuples(small_int)),
    st.tuples(st.just("seq"), st.just("pop"), st.just(())),
    st.tuples(st.just("seq"), st.just("remove"), st.tuples(small_int)),
    st.tuples(st.just("seq"), st.just("sort"), st.just(())),
    st.tuples(st.just("seq"), st.just("reverse"), st.just(())),
    st.tuples(st.just("seq"), st.just("clear"), st.just(())),
    st.tuples(st.just("counts"), st.just("__setitem__"), st.tuples(short_text, small_int)),
    st.tuples(st.just("counts"), st.just("__delitem__"), st.tuples(short_text)),
    st.tuples(st.just("counts"), st.just("pop"), st.tuples(short_text)),
    st.tuples(st.just("counts"), st.just("update"), st.tuples(st.dictionaries(short_text, small_int, max_size=2))),
    st.tuples(st.just("counts"), st.just("setdefault"), st.tuples(short_text, small_int)),
    st.tuples(st.just("counts"), st.just("clear"), st.just(())),
    st.tuples(st.just("names"), st.just("add"), st.tuples(short_text)),
    st.tuples(st.just("names"), st.just("discard"), st.tuples(short_text)),
    st.tuples(st.just("names"), st.just("remove"), st.tuples(short_text)),
    st.tuples(st.just("names"), st.just("update"), st.tuples(st.sets(short_text, max_size=2))),
    st.tuples(st.just("names"), st.just("difference_update"), st.tuples(st.sets(short_text, max_size=2))),
    st.tuples(st.just("names"), st.just("intersection_update"), st.tuples(st.sets(short_text, max_size=3))),
    st.tuples(st.just("names"), st.just("symmetric_difference_update"), st.tuples(st.sets(short_text, max_size=2))),
    st.tuples(st.just("names"), st.just("clear"), st.just(())),
)


def _call(target: Any, method: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        return "ok", getattr(target, method)(*args)
    except (IndexError, KeyError, ValueError) as exc:
        return "raised", type(exc)


class TestContainersLikePlainOnes:
    """Random in-place calls behave as on plain containers, with and without listeners."""

    @SETTINGS
    @given(st.lists(container_calls, max_size=25), st.booleans(), st.booleans())
    def test_same_results_and_replayable_events(
        self, calls: list[tuple[str, str, tuple[Any, ...]]], listened: bool, in_batch: bool
    ) -> None:
        bag = Bag()
        plain: dict[str, Any] = {"seq": [], "counts": {}, "names": set()}
        got: list[vein.Change] = []
        if listened:
            bag.on_change(got.append)
        changed: set[str] = set()
        replica = copy.deepcopy(plain)

        def run() -> None:
            for field, method, args in calls:
                before = copy.copy(plain[field])
                want = _call(plain[field], method, copy.deepcopy(args))
                assert _call(getattr(bag, field), method, copy.deepcopy(args)) == want
                assert getattr(bag, field) == plain[field]
                if plain[field] != before or type(plain[field]) is not type(before):
                    changed.add(field)

        if in_batch:
            with bag.batch():
                run()
        else:
            run()
        for field, value in plain.items():
            assert getattr(bag, field) == value
            assert bag.snapshot()[field] == (tuple(value) if field == "seq" else value)
        for change in got:  # each event's old is what the replica holds; new is a plain copy
            assert change.old == replica[change.path] and change.new != change.old
            assert type(change.new) is type(plain[change.path])
            replica[change.path] = change.new
        if listened:
            assert replica == plain
        provs = {field: str(bag.explain(field)) for field in plain}
        # a field counts as written at runtime once a call really changed it (at some point)
        assert {f for f, p in provs.items() if p == "runtime"} == changed
