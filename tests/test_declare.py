"""Declaring state (SPEC §2): ``@vein.flow``, ``vein.Flow``, ``vein.field`` and what a flow
class still is -- a real attrs class that attrs, cattrs, pickle and copy work with."""

from __future__ import annotations

import copy
import importlib.util
import inspect
import ipaddress
import pickle
import sys
import textwrap

import attrs
import cattrs
import pytest

import vein
from vein.flow.fields import info_of
from vein.flow.schema import RESERVED

# --- module-level classes (pickle needs importable ones) -----------------------------------


@vein.flow
class Database:
    host: str = "localhost"
    port: int = vein.field(
        default=5432,
        validator=attrs.validators.and_(attrs.validators.ge(1), attrs.validators.le(65535)),
    )
    password: str = vein.field(default="", secret=True)


@vein.flow
class Settings:
    api_key: str = vein.field(default="", secret=True)
    timeout: float = 30.0
    debug: bool = False
    hosts: list[str] = vein.field(factory=list)
    database: Database = vein.field(factory=Database)


class BaseSettings(vein.Flow):
    name: str = "app"
    retries: int = 3


class ExtendedSettings(BaseSettings):
    region: str = "eu"


@vein.flow
class FlowParent:
    level: int = 1


@vein.flow
class FlowChild(FlowParent):
    tag: str = "child"


@attrs.define
class LegacyPoint:
    """An ordinary attrs class that existed before vein."""

    x: int = 0
    label: str = "p"


FlowPoint = vein.flow(LegacyPoint)


# Forward reference written as a string: the nested class is defined after the outer one.
@vein.flow
class FwdOuter:
    inner: FwdInner = vein.field(factory=lambda: FwdInner())
    label: str = "outer"


@vein.flow
class FwdInner:
    value: int = 1


def _changes(obj, path="*"):
    got = []
    obj.on_change(path, got.append)
    return got


# --- decorator and base-class forms -------------------------------------------------------


class TestDecoratorForms:
    """``@vein.flow`` bare, ``@vein.flow(...)`` and ``class X(vein.Flow)``."""

    def test_bare_keeps_identity_of_names(self):
        """Same name, qualname and module; an attrs class and a vein.Flow."""
        assert Settings.__name__ == "Settings"
        assert Settings.__qualname__ == "Settings"
        assert Settings.__module__ == __name__
        assert attrs.has(Settings)
        assert issubclass(Settings, vein.Flow)
        assert isinstance(Settings(), vein.Flow)

    def test_local_class_qualname(self):
        """A class declared in a function keeps its ``<locals>`` qualname."""

        @vein.flow
        class Local:
            n: int = 0

        assert (
            Local.__qualname__ == f"{type(self).__name__}.test_local_class_qualname.<locals>.Local"
        )
        assert Local.__name__ == "Local"
        assert Local.__module__ == __name__

    def test_with_options(self):
        """``@vein.flow(dynamic=False)`` and ``@vein.flow()`` both return a flow class."""

        @vein.flow(dynamic=False)
        class A:
            n: int = 0

        @vein.flow()
        class B:
            n: int = 0

        for cls in (A, B):
            obj = cls()
            assert isinstance(obj, vein.Flow)
            with pytest.raises(vein.ValidationError):
                obj.n = "1"
            with pytest.raises(AttributeError):
                obj.undeclared = 1

    def test_base_class_form(self):
        """``class S(vein.Flow)`` with annotations is a flow class with validated writes."""
        s = BaseSettings(name="x")
        assert BaseSettings.__name__ == "BaseSettings"
        assert BaseSettings.__module__ == __name__
        assert attrs.has(BaseSettings)
        assert [f.name for f in attrs.fields(BaseSettings)] == ["name", "retries"]
        assert s.name == "x"
        with pytest.raises(vein.ValidationError):
            s.retries = "many"
        assert s.retries == 3
        got = _changes(s)
        s.retries = 4
        assert [(c.path, c.old, c.new) for c in got] == [("retries", 3, 4)]

    def test_decorating_twice_is_harmless(self):
        """Decorating a flow class again returns it unchanged."""
        assert vein.flow(Settings) is Settings

    def test_docstring_kept(self):
        """The class docstring survives instrumentation."""

        @vein.flow
        class Documented:
            """Explains itself."""

            n: int = 0

        assert Documented.__doc__ == "Explains itself."

    def test_signature_shows_fields(self):
        """``inspect.signature`` of the class lists the declared fields."""
        params = list(inspect.signature(Settings).parameters)
        assert params == ["api_key", "timeout", "debug", "hosts", "database"]


class TestExistingAttrsClass:
    """``vein.flow(SomeAttrsClass)`` leaves the original untouched."""

    def test_flow_class_is_a_subclass_with_same_names(self):
        """The result subclasses the original and keeps its names."""
        assert FlowPoint is not LegacyPoint
        assert issubclass(FlowPoint, LegacyPoint)
        assert issubclass(FlowPoint, vein.Flow)
        assert FlowPoint.__name__ == "LegacyPoint"
        assert FlowPoint.__qualname__ == "LegacyPoint"
        assert FlowPoint.__module__ == __name__
        assert FlowPoint.__doc__ == LegacyPoint.__doc__

    def test_original_stays_plain(self):
        """The original class has no validation, no events, no Flow base."""
        assert not issubclass(LegacyPoint, vein.Flow)
        p = LegacyPoint()
        p.x = "not an int"  # plain attrs: no checks
        assert p.x == "not an int"
        assert not hasattr(LegacyPoint, "on_change")
        assert [f.name for f in attrs.fields(LegacyPoint)] == ["x", "label"]

    def test_flow_version_validates(self):
        """The flow version validates writes and emits events."""
        p = FlowPoint(x=1)
        got = _changes(p)
        with pytest.raises(vein.ValidationError):
            p.x = "nope"
        p.x = 2
        assert p.x == 2
        assert [(c.path, c.old, c.new) for c in got] == [("x", 1, 2)]
        assert isinstance(p, LegacyPoint)


class TestAttrsAndCattrs:
    """A flow class is still a real attrs class."""

    def test_attrs_fields(self):
        """``attrs.fields`` and ``attrs.fields_dict`` list the declared fields."""
        names = [f.name for f in attrs.fields(Settings)]
        assert names == ["api_key", "timeout", "debug", "hosts", "database"]
        assert attrs.fields_dict(Database)["port"].default == 5432

    def test_evolve(self):
        """``attrs.evolve`` makes an independent flow object of the same class."""
        s = Settings(timeout=1.0)
        s.database.port = 6000
        e = attrs.evolve(s, timeout=5)
        assert type(e) is Settings
        assert e.timeout == 5.0
        assert isinstance(e.timeout, float)
        assert e.database == s.database
        assert e.database is not s.database  # a child belongs to one tree
        got_e, got_s = _changes(e), _changes(s)
        e.database.port = 7000
        assert s.database.port == 6000
        assert [(c.path, c.new) for c in got_e] == [("database.port", 7000)]
        assert got_s == []
        with pytest.raises(vein.ValidationError):
            attrs.evolve(s, timeout="soon")

    def test_asdict(self):
        """``attrs.asdict`` gives plain nested data."""
        s = Settings(api_key="k", hosts=["a"])
        assert attrs.asdict(s) == {
            "api_key": "k",
            "timeout": 30.0,
            "debug": False,
            "hosts": ["a"],
            "database": {"host": "localhost", "port": 5432, "password": ""},
        }

    def test_plain_cattrs_round_trip(self):
        """A plain ``cattrs.Converter`` unstructures and structures a flow class."""
        conv = cattrs.Converter()
        s = Settings(timeout=2.5, hosts=["x", "y"])
        s.database.host = "db"
        data = conv.unstructure(s)
        assert data["database"] == {"host": "db", "port": 5432, "password": ""}
        back = conv.structure(data, Settings)
        assert type(back) is Settings
        assert back == s
        got = _changes(back)
        back.database.port = 1
        assert [(c.path, c.new) for c in got] == [("database.port", 1)]
        with pytest.raises(vein.ValidationError):
            back.database.port = 0

    def test_equality_and_hash_semantics_of_attrs(self):
        """``==`` compares field values like attrs does."""
        assert Settings() == Settings()
        assert Settings(timeout=1) != Settings(timeout=2)


# --- vein.field options --------------------------------------------------------------------


class TestFieldOptions:
    """``vein.field(secret=, readonly=, env=, merge=, doc=, key=)``."""

    def test_secret_masked_in_repr(self):
        """A secret field shows ``'***'`` in repr; the value is still readable."""
        s = Settings(api_key="hunter2-key")
        s.database.password = "pw-very-secret"
        text = repr(s)
        assert "hunter2-key" not in text
        assert "pw-very-secret" not in text
        assert "api_key='***'" in text
        assert "password='***'" in text
        assert s.api_key == "hunter2-key"
        assert info_of(attrs.fields(Settings).api_key).secret

    def test_readonly_runtime_assignment_raises(self):
        """Assigning a readonly field raises ReadOnlyError; value and events unchanged."""

        @vein.flow
        class R:
            token: str = vein.field(default="t0", readonly=True)

        r = R()
        got = _changes(r)
        with pytest.raises(vein.ReadOnlyError, match="token") as info:
            r.token = "t1"
        assert isinstance(info.value, AttributeError)
        assert isinstance(info.value, vein.VeinError)
        assert r.token == "t0"
        assert got == []

    def test_readonly_set_by_sources(self):
        """``update``/``load`` from a source, and the constructor, may set a readonly field."""

        @vein.flow
        class R:
            token: str = vein.field(default="t0", readonly=True)

        r = R()
        got = _changes(r)
        changes = r.update(vein.from_dict({"token": "from-dict"}, name="boot"))
        assert r.token == "from-dict"
        assert [(c.path, c.new) for c in changes] == [("token", "from-dict")]
        assert [(c.path, c.new) for c in got] == [("token", "from-dict")]
        assert str(r.explain("token")) == "dict boot (key token)"
        assert vein.load(R, vein.from_dict({"token": "loaded"})).token == "loaded"
        assert R(token="init").token == "init"

    def test_readonly_set_from_env(self, monkeypatch):
        """An env source may set a readonly field."""

        @vein.flow
        class R:
            token: str = vein.field(default="t0", readonly=True)

        monkeypatch.setenv("VTDECL_RO_TOKEN", "from-env")
        r = vein.load(R, vein.from_env("VTDECL_RO_"))
        assert r.token == "from-env"
        assert str(r.explain("token")) == "env VTDECL_RO_TOKEN"

    def test_env_exact_name(self, monkeypatch):
        """``env=`` names an exact variable that sets the field (prefix not applied)."""

        @vein.flow
        class E:
            url: str = vein.field(default="", env="VTDECL_EXACT_URL")
            other: int = 0

        monkeypatch.setenv("VTDECL_EXACT_URL", "pg://db")
        monkeypatch.setenv("VTDECL_P_OTHER", "7")
        e = vein.load(E, vein.from_env("VTDECL_P_"))
        assert e.url == "pg://db"
        assert e.other == 7
        assert str(e.explain("url")) == "env VTDECL_EXACT_URL"
        assert info_of(attrs.fields(E).url).env == "VTDECL_EXACT_URL"

    def test_merge_mode_validated(self):
        """An unknown merge mode is refused when the field is declared, naming the modes."""
        with pytest.raises(ValueError, match="extend_unique"):
            vein.field(factory=list, merge="append")
        for mode in ("replace", "extend", "extend_unique", "deep"):
            assert vein.field(factory=list, merge=mode) is not None

    def test_merge_extend_applies(self):
        """``merge="extend"`` combines a list across layers instead of replacing it."""

        @vein.flow
        class M:
            plugins: list[str] = vein.field(factory=list, merge="extend")
            tags: list[str] = vein.field(factory=list)

        m = vein.load(
            M,
            vein.from_dict({"plugins": ["a"], "tags": ["x"]}, name="low"),
            vein.from_dict({"plugins": ["b"], "tags": ["y"]}, name="high"),
        )
        assert m.plugins == ["a", "b"]
        assert m.tags == ["y"]

    def test_doc_and_user_metadata_kept(self):
        """``doc=`` is kept in the field's vein info; user metadata survives beside it."""

        @vein.flow
        class D:
            port: int = vein.field(default=1, doc="The port to bind.", metadata={"mine": 1})

        a = attrs.fields(D).port
        assert info_of(a).doc == "The port to bind."
        assert a.metadata["mine"] == 1

    def test_key(self):
        """``key=`` is the key used in sources and dumps for a field."""

        @vein.flow
        class K:
            allow_plugins: bool = vein.field(default=False, key="allow-plugins")

        k = vein.load(K, vein.from_dict({"allow-plugins": True}))
        assert k.allow_plugins is True
        assert vein.to_dict(k) == {"allow-plugins": True}
        assert k["allow-plugins"] is True
        with pytest.raises(vein.ValidationError):
            vein.load(K, vein.from_dict({"allow_plugin": True}))

    def test_plain_attrs_field_works(self):
        """``attrs.field`` is accepted as a field specifier too."""

        @vein.flow
        class P:
            n: int = attrs.field(default=2, validator=attrs.validators.ge(0))

        p = P()
        with pytest.raises(vein.ValidationError):
            p.n = -1
        assert p.n == 2


# --- name collisions -----------------------------------------------------------------------


class TestNameCollisions:
    """A field named like a Flow method is refused at class creation, naming the field."""

    @pytest.mark.parametrize("name", sorted(RESERVED))
    def test_decorator(self, name):
        """``@vein.flow`` refuses every reserved name."""
        ns = {"__annotations__": {name: int}, name: 1}
        cls = type("Clash", (), ns)
        with pytest.raises(vein.VeinError, match=repr(name)):
            vein.flow(cls)

    @pytest.mark.parametrize("name", ["update", "on_change", "on_error", "explain", "to_dict"])
    def test_base_class(self, name):
        """``class X(vein.Flow)`` refuses them too."""
        with pytest.raises(vein.VeinError, match=repr(name)):
            type("Clash", (vein.Flow,), {"__annotations__": {name: int}, name: 1})

    def test_refused_even_with_pending_forward_reference(self):
        """The clash is reported at class creation although another annotation is unresolved."""
        with pytest.raises(vein.VeinError, match="'update'"):

            @vein.flow
            class Clash:
                update: int = 1
                later: NotYetDefined | None = None  # noqa: F821

    def test_error_is_a_type_error(self):
        """The schema error is also a TypeError, as for a badly declared class."""
        with pytest.raises(TypeError):
            vein.flow(type("Clash", (), {"__annotations__": {"on_change": int}, "on_change": 1}))


# --- forward references ----------------------------------------------------------------------


MODULE_SOURCE = textwrap.dedent(
    """
    from __future__ import annotations

    from typing import Optional

    import vein


    @vein.flow
    class Outer:
        name: str = "o"
        hosts: list[str] = vein.field(factory=list)
        inner: Inner = vein.field(factory=lambda: Inner())
        maybe: Optional[Inner] = None


    @vein.flow
    class Inner:
        port: int = 1
        password: str = vein.field(default="", secret=True)
    """
)


@pytest.fixture
def future_module(tmp_path):
    """A real module using ``from __future__ import annotations`` with a forward reference."""
    name = "vein_test_forward_refs_mod"
    path = tmp_path / f"{name}.py"
    path.write_text(MODULE_SOURCE, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)


class TestForwardReferences:
    """Nested classes defined after the class that uses them."""

    def test_string_annotation(self):
        """A string forward reference resolves on first use."""
        o = FwdOuter()
        assert o.inner == FwdInner()
        got = _changes(o)
        o.inner.value = 2
        assert [(c.path, c.new) for c in got] == [("inner.value", 2)]
        with pytest.raises(vein.ValidationError):
            o.inner.value = "2"

    def test_future_annotations_module(self, future_module):
        """A module with ``from __future__ import annotations`` works end to end."""
        Outer, Inner = future_module.Outer, future_module.Inner
        o = Outer()
        assert isinstance(o.inner, Inner)
        got = _changes(o)
        o.inner.port = 5
        o.hosts = ["a"]
        with pytest.raises(vein.ValidationError):
            o.hosts = ["a", 1]
        with pytest.raises(vein.ValidationError):
            o.name = 3
        o.maybe = {"port": 9}
        assert isinstance(o.maybe, Inner)
        assert o.maybe.port == 9
        assert [(c.path, c.new) for c in got][:2] == [("inner.port", 5), ("hosts", ["a"])]
        assert "password='***'" in repr(o)

    def test_load_before_any_instance(self, future_module):
        """``vein.load`` on a class whose schema is still pending works."""
        o = vein.load(future_module.Outer, vein.from_dict({"inner": {"port": "8"}}))
        assert o.inner.port == 8

    def test_fields_before_any_instance(self, future_module):
        """``attrs.fields`` of a pending class works and resolves to the real types."""
        names = [f.name for f in attrs.fields(future_module.Outer)]
        assert names == ["name", "hosts", "inner", "maybe"]


# --- inheritance -----------------------------------------------------------------------------


class TestInheritance:
    """Subclasses of flow classes are flow classes with the parent's fields plus their own."""

    def test_base_class_subclass_adds_field(self):
        """A subclass of a ``vein.Flow`` class adds a field; both kinds are validated."""
        s = ExtendedSettings()
        assert [f.name for f in attrs.fields(ExtendedSettings)] == ["name", "retries", "region"]
        assert isinstance(s, BaseSettings)
        with pytest.raises(vein.ValidationError):
            s.region = 1
        with pytest.raises(vein.ValidationError):
            s.retries = "x"
        got = _changes(s)
        s.region = "us"
        s.retries = 9
        assert [(c.path, c.new) for c in got] == [("region", "us"), ("retries", 9)]

    def test_parent_unaffected(self):
        """Declaring a subclass does not change the parent class."""
        assert [f.name for f in attrs.fields(BaseSettings)] == ["name", "retries"]
        with pytest.raises(AttributeError):
            BaseSettings().region = "x"

    def test_decorated_subclass(self):
        """``@vein.flow`` on a subclass of a flow class works the same."""
        c = FlowChild(level=2)
        assert (c.level, c.tag) == (2, "child")
        assert FlowChild.__name__ == "FlowChild"
        assert isinstance(c, FlowParent)
        with pytest.raises(vein.ValidationError):
            c.tag = None
        with pytest.raises(vein.ValidationError):
            c.level = 1.5

    def test_override_default(self):
        """A subclass may override a parent field's default."""

        class Custom(BaseSettings):
            retries: int = 10

        assert Custom().retries == 10
        assert BaseSettings().retries == 3


# --- pickling and copying ---------------------------------------------------------------------


def _roundtrips():
    return [
        pytest.param(lambda o: pickle.loads(pickle.dumps(o)), id="pickle"),
        pytest.param(copy.copy, id="copy"),
        pytest.param(copy.deepcopy, id="deepcopy"),
    ]


class TestPickleAndCopy:
    """Copies and unpickled objects are complete, independent flow objects."""

    @pytest.mark.parametrize("clone", _roundtrips())
    def test_round_trip_equal(self, clone):
        """The clone equals the original and has the same class."""
        s = Settings(api_key="k", timeout=3, hosts=["a"])
        s.database.port = 1234
        c = clone(s)
        assert type(c) is Settings
        assert type(c.database) is Database
        assert c == s

    @pytest.mark.parametrize("clone", _roundtrips())
    def test_events_work_on_clone(self, clone):
        """Writes to the clone (also nested) are validated and reach its own subscribers only."""
        s = Settings()
        got_s = _changes(s)
        c = clone(s)
        got_c = _changes(c)
        c.timeout = 1
        c.database.host = "clone-db"
        assert [(x.path, x.new) for x in got_c] == [("timeout", 1.0), ("database.host", "clone-db")]
        assert got_s == []
        assert s.timeout == 30.0
        assert s.database.host == "localhost"
        with pytest.raises(vein.ValidationError):
            c.database.port = 0
        with pytest.raises(AttributeError):
            c.tiemout = 1

    def test_subscriptions_are_not_copied(self):
        """The original's subscribers do not follow it into the copy."""
        s = Settings()
        got = _changes(s)
        c = copy.deepcopy(s)
        c.debug = True
        assert got == []
        s.debug = True
        assert len(got) == 1

    def test_deepcopy_is_deep(self):
        """A deep copy does not share mutable leaves."""
        s = Settings(hosts=["a"])
        c = copy.deepcopy(s)
        c.hosts.append("b")
        assert s.hosts == ["a"]

    @pytest.mark.parametrize("clone", _roundtrips())
    def test_a_clone_explains_its_values_as_the_original(self, clone):
        """Provenance is part of the state: a copy's values came from where the original's
        did (a copy said "default" for values that came from a file)."""
        s = vein.load(Settings, vein.from_dict({"timeout": 12, "database": {"port": 6543}}, name="cfg"))
        s.debug = True
        c = clone(s)
        for path in ("timeout", "database.port", "debug", "api_key"):
            assert str(c.explain(path)) == str(s.explain(path)), path
        assert str(c.explain("debug")) == "runtime" and str(c.explain("api_key")) == "default"
        c.timeout = 1
        assert str(c.explain("timeout")) == "runtime" and "cfg" in str(s.explain("timeout"))

    def test_pickle_of_a_child_alone(self):
        """A nested object pickles on its own and becomes a root."""
        s = Settings()
        child = pickle.loads(pickle.dumps(s.database))
        got = _changes(child)
        child.port = 99
        assert [(c.path, c.new) for c in got] == [("port", 99)]
        assert s.database.port == 5432


# --- construction -------------------------------------------------------------------------------


class TestConstruction:
    """The generated ``__init__`` checks types like an assignment does."""

    def test_constructor_arguments_are_runtime_values(self):
        """explain() says "runtime" for what the constructor was given (by position, by
        keyword, by attrs.evolve), "default" for the rest."""

        @vein.flow
        class Opts:
            timeout: float = 30.0
            name: str = "a"
            _token: str = ""  # init takes it as token=
            mode: str = vein.field(default="x", kw_only=True)

        o = Opts(5.0, mode="y", token="t")
        assert [str(o.explain(p)) for p in ("timeout", "name", "_token", "mode")] == [
            "runtime", "default", "runtime", "runtime",
        ]  # fmt: skip
        assert str(Opts().explain("timeout")) == "default"
        evolved = attrs.evolve(vein.load(Opts, vein.from_dict({"name": "b"})), timeout=1.0)
        assert str(evolved.explain("timeout")) == "runtime"

    def test_a_required_field_after_defaults_is_explained(self):
        """attrs' rule (required fields first), said in vein's words with the two ways out."""
        with pytest.raises(vein.SchemaError) as info:

            class Broken(vein.Flow):
                mode: str = "dev"
                key: str = vein.field(secret=True)

        text = str(info.value)
        assert "'key'" in text and "required fields first" in text and "kw_only=True" in text

        @vein.flow
        class Fixed:
            mode: str = "dev"
            key: str = vein.field(kw_only=True)

        assert Fixed(key="k").key == "k"
        with pytest.raises(TypeError):
            Fixed()  # type: ignore[call-arg]

    def test_unknown_class_keywords_are_refused(self):
        with pytest.raises(TypeError, match="takes only the keyword 'dynamic'.*kw_only"):

            class Kw(vein.Flow, kw_only=True):  # type: ignore[call-arg]
                x: int = 1

        class Dyn(vein.Flow, dynamic=True):
            x: int = 1

        d = Dyn()
        d.extra = 2  # dynamic: undeclared attributes are state
        assert d.to_dict() == {"x": 1, "extra": 2}

    def test_on_setattr_is_honoured_or_refused(self):
        """vein owns __setattr__: attrs.setters.frozen means readonly; validate/convert are
        what every assignment does; any other hook is refused, never silently dropped."""

        @vein.flow
        class Hooks:
            frozen: int = vein.field(default=1, on_setattr=attrs.setters.frozen)
            checked: int = attrs.field(
                default=1, validator=attrs.validators.ge(0), on_setattr=attrs.setters.validate
            )

        h = Hooks()
        with pytest.raises(vein.ReadOnlyError):
            h.frozen = 2
        with pytest.raises(AttributeError):  # attrs users catch FrozenAttributeError's base
            h.frozen = 3
        assert vein.load(Hooks, vein.from_dict({"frozen": 5})).frozen == 5  # sources may set it
        h.checked = 4
        with pytest.raises(vein.ValidationError):
            h.checked = -1
        with pytest.raises(vein.SchemaError, match="on_setattr=.* is not supported"):

            @vein.flow
            class Custom:
                x: int = vein.field(default=1, on_setattr=lambda inst, a, v: v * 2)

    def test_wrong_type_rejected(self):
        """A wrong type at construction is a ValidationError naming the field."""
        with pytest.raises(vein.ValidationError, match="timeout") as info:
            Settings(timeout="fast")
        assert [e.path for e in info.value.errors] == ["timeout"]

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"debug": "yes"}, "debug"),
            ({"debug": 1}, "debug"),
            ({"timeout": True}, "timeout"),
            ({"hosts": "a,b"}, "hosts"),
            ({"hosts": ["a", 2]}, "hosts[1]"),
            ({"api_key": 123}, "api_key"),
        ],
    )
    def test_no_coercion(self, kwargs, path):
        """Construction does not coerce text or accept bools for numbers."""
        with pytest.raises(vein.ValidationError) as info:
            Settings(**kwargs)
        assert [e.path for e in info.value.errors] == [path]

    def test_int_widened_to_float(self):
        """An int given for a float field is stored as a float."""
        s = Settings(timeout=5)
        assert s.timeout == 5.0
        assert type(s.timeout) is float

    def test_nested_mapping_structured(self):
        """A mapping for a nested field becomes the nested flow object, wired to its parent."""
        s = Settings(database={"host": "db", "port": 1})
        assert type(s.database) is Database
        assert (s.database.host, s.database.port) == ("db", 1)
        got = _changes(s)
        s.database.port = 2
        assert [(c.path, c.new) for c in got] == [("database.port", 2)]

    @pytest.mark.parametrize("bad", [5, "db", ["host"], {"port": "x"}, {"prot": 1}])
    def test_nested_junk_rejected(self, bad):
        """Something that is neither the class nor a valid mapping is a ValidationError."""
        with pytest.raises(vein.ValidationError) as info:
            Settings(database=bad)
        assert info.value.errors[0].path.startswith("database")

    def test_validator_failure_is_validation_error(self):
        """A validator rejecting a constructor argument gives a ValidationError with the path."""
        with pytest.raises(vein.ValidationError) as info:
            Database(port=70000)
        assert [e.path for e in info.value.errors] == ["port"]
        assert "65535" in info.value.errors[0].message

    def test_every_problem_listed(self):
        """Several bad arguments are all reported."""
        with pytest.raises(vein.ValidationError) as info:
            Database(host=1, port=0)
        assert sorted(e.path for e in info.value.errors) == ["host", "port"]

    def test_missing_required_argument(self):
        """A missing required argument is still Python's TypeError."""

        @vein.flow
        class Req:
            name: str

        with pytest.raises(TypeError, match="name"):
            Req()
        assert Req("x").name == "x"

    def test_shared_child_is_copied(self):
        """One child given to two parents: the second parent gets its own copy."""
        d = Database(host="shared")
        s1 = Settings(database=d)
        s2 = Settings(database=d)
        assert s1.database is d
        assert s2.database is not d
        assert s2.database == d
        got1, got2 = _changes(s1), _changes(s2)
        s2.database.host = "only-s2"
        assert s1.database.host == "shared"
        assert got1 == []
        assert [(c.path, c.new) for c in got2] == [("database.host", "only-s2")]


@vein.flow
class _WithAddress:
    addr: ipaddress.IPv4Address = ipaddress.IPv4Address("10.0.0.1")


@vein.flow
class _HoldsAddresses:
    one: _WithAddress = vein.field(factory=_WithAddress)
    many: list[_WithAddress] = vein.field(factory=list)


def test_a_nested_class_with_a_field_sources_cannot_build() -> None:
    """A field type cattrs has no hook for (IPv4Address) works in a nested class too:
    instances are accepted, data is refused with a clear error."""
    b = _HoldsAddresses()
    b.many = [_WithAddress(addr=ipaddress.IPv4Address("10.0.0.2"))]
    assert b.many[0].addr == ipaddress.IPv4Address("10.0.0.2")
    with pytest.raises(vein.ValidationError, match="cannot build this type"):
        b.update({"many": [{"addr": "10.0.0.3"}]})


@vein.flow
class _Node:
    name: str = ""
    children: list[_Node] = vein.field(factory=list)
    hint: _Node | None = None


@vein.flow
class _Ping:
    pongs: list[_Pong] = vein.field(factory=list)


@vein.flow
class _Pong:
    pings: list[_Ping] = vein.field(factory=list)
    n: int | str = 0


def test_recursive_classes_load_and_report_errors_inside() -> None:
    data = {"name": "a", "children": [{"name": "b", "children": [{"name": "c", "hint": {"name": "h"}}]}]}
    tree = vein.load(_Node, vein.from_dict(data, name="d"))
    assert tree.children[0].children[0].hint is not None
    assert tree.children[0].children[0].hint.name == "h"
    assert vein.to_dict(tree)["children"][0]["children"][0]["name"] == "c"
    with pytest.raises(vein.ValidationError) as info:
        vein.load(_Node, vein.from_dict({"children": [{"children": [{"nam": 1}]}]}, name="d"))
    assert info.value.errors[0].path == "children[0].children[0].nam"
    ping = vein.load(_Ping, vein.from_dict({"pongs": [{"pings": [{"pongs": [{"n": "5"}]}]}]}, name="d"))
    assert ping.pongs[0].pings[0].pongs[0].n == 5
