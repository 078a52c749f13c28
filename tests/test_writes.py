"""Writes (SPEC §3): every assignment is type-checked, converted and validated; a rejected
write changes nothing and fires nothing; equal writes are silent."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Literal, Optional

import attrs
import pytest

import vein


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


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
    retries: int = 3
    hosts: list[str] = vein.field(factory=list)
    limits: dict[str, int] = vein.field(factory=dict)
    pair: tuple[int, str] = (0, "")
    tags: set[str] = vein.field(factory=set)
    nickname: Optional[str] = None  # noqa: UP045 - typing.Optional on purpose
    port_or_name: int | str = 0
    mode: Literal["fast", "safe"] = "safe"
    level: Literal[1, 2] = 1
    color: Color = Color.RED
    path: Path = Path(".")
    database: Database = vein.field(factory=Database)


def _spy(obj, path="*"):
    got = []
    obj.on_change(path, got.append)
    return got


def _rejected(obj, name, value):
    """Assign and expect a ValidationError; return it."""
    with pytest.raises(vein.ValidationError) as info:
        setattr(obj, name, value)
    return info.value


class TestValidatorsAndConverters:
    """Validators and converters run on every assignment."""

    def test_validator_rejects_and_keeps_old_value(self):
        """A rejected value leaves the old one and fires no event."""
        s = Settings()
        got = _spy(s)
        err = _rejected(s.database, "port", 70000)
        assert s.database.port == 5432
        assert got == []
        assert err.errors[0].path == "database.port"
        assert "65535" in err.errors[0].message

    def test_validator_accepts(self):
        """A valid value is stored and heard."""
        s = Settings()
        got = _spy(s)
        s.database.port = 65535
        assert s.database.port == 65535
        assert [(c.path, c.old, c.new) for c in got] == [("database.port", 5432, 65535)]

    def test_converter_runs_on_assignment(self):
        """A converter's result is what is stored and what the event carries."""

        @vein.flow
        class C:
            name: str = vein.field(default="x", converter=str.lower)

        c = C()
        got = _spy(c)
        c.name = "MiXeD"
        assert c.name == "mixed"
        assert [ch.new for ch in got] == ["mixed"]

    def test_converter_output_is_validated(self):
        """The validator sees the converted value."""
        seen = []

        def record(_inst, _attr, value):
            seen.append(value)

        @vein.flow
        class C:
            name: str = vein.field(default="x", converter=str.strip, validator=record)

        c = C()
        seen.clear()
        c.name = "  padded  "
        assert seen == ["padded"]
        assert c.name == "padded"

    def test_converter_error_is_validation_error(self):
        """A converter raising ValueError rejects the write like a validator."""

        def positive(v):
            if v <= 0:
                raise ValueError("must be positive")
            return v

        @vein.flow
        class C:
            n: int = vein.field(default=1, converter=positive)

        c = C()
        got = _spy(c)
        err = _rejected(c, "n", -3)
        assert "must be positive" in str(err)
        assert c.n == 1
        assert got == []

    def test_converter_equal_result_is_silent(self):
        """A write that converts to the current value fires nothing."""

        @vein.flow
        class C:
            name: str = vein.field(default="x", converter=str.lower)

        c = C()
        got = _spy(c)
        c.name = "X"
        assert got == []

    def test_converter_before_type_check(self):
        """A field's own converter may turn the assigned value into the declared type."""

        @vein.flow
        class C:
            port: int = vein.field(default=1, converter=int)

        assert C(port="5").port == 5
        c = C()
        c.port = "7"
        assert c.port == 7

    def test_custom_validator_type_error(self):
        """A validator raising TypeError (attrs.validators.instance_of) is a ValidationError."""

        @vein.flow
        class C:
            anything: object = vein.field(default=1, validator=attrs.validators.instance_of(int))

        c = C()
        _rejected(c, "anything", "one")
        assert c.anything == 1
        c.anything = 2
        assert c.anything == 2


class TestTypes:
    """Values of the wrong type are rejected; runtime writes never coerce text."""

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("timeout", "fast"),
            ("timeout", "5"),
            ("timeout", True),
            ("timeout", None),
            ("retries", "5"),
            ("retries", True),
            ("retries", False),
            ("retries", 5.0),
            ("debug", 1),
            ("debug", "true"),
            ("debug", None),
            ("api_key", 12345),
            ("hosts", "a,b"),
            ("hosts", ("a", "b")),
            ("hosts", ["a", 2]),
            ("hosts", [None]),
            ("limits", {"a": "1"}),
            ("limits", ["a"]),
            ("pair", (1, 2)),
            ("pair", (1,)),
            ("pair", [1, "x"]),
            ("tags", ["a"]),
            ("tags", {1}),
            ("nickname", 3),
            ("port_or_name", 1.5),
            ("port_or_name", None),
            ("mode", "turbo"),
            ("mode", "FAST"),
            ("level", 3),
            ("level", True),
            ("level", "1"),
            ("color", "red"),
            ("color", "RED"),
            ("path", 3),
        ],
    )
    def test_rejected(self, name, value):
        """Each wrong value raises ValidationError, keeps the old value and fires nothing."""
        s = Settings()
        before = getattr(s, name)
        got = _spy(s)
        err = _rejected(s, name, value)
        assert getattr(s, name) == before
        assert got == []
        assert err.errors[0].path.startswith(name)

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("timeout", 1.5),
            ("retries", 7),
            ("debug", True),
            ("api_key", "k"),
            ("hosts", ["a", "b"]),
            ("limits", {"a": 1}),
            ("pair", (1, "x")),
            ("tags", {"a"}),
            ("nickname", "nick"),
            ("port_or_name", 8080),
            ("port_or_name", "http"),
            ("mode", "fast"),
            ("level", 2),
            ("color", Color.BLUE),
            ("path", Path("/etc")),
        ],
    )
    def test_accepted(self, name, value):
        """Each right value is stored as given and heard once."""
        s = Settings()
        got = _spy(s)
        setattr(s, name, value)
        assert getattr(s, name) == value
        assert [(c.path, c.new) for c in got] == [(name, value)]

    def test_int_accepted_for_float_stored_as_float(self):
        """``int`` is accepted for ``float`` and stored as ``float``."""
        s = Settings()
        got = _spy(s)
        s.timeout = 5
        assert s.timeout == 5.0
        assert type(s.timeout) is float
        assert type(got[0].new) is float

    def test_optional_accepts_none(self):
        """``Optional[str]`` accepts None and text."""
        s = Settings(nickname="a")
        s.nickname = None
        assert s.nickname is None

    def test_element_error_path(self):
        """An element error names the index inside the list."""
        s = Settings()
        err = _rejected(s, "hosts", ["ok", "ok", 3])
        assert err.errors[0].path == "hosts[2]"
        assert "text" in err.errors[0].message

    def test_dict_value_error_path(self):
        """A mapping value error names the key."""
        s = Settings()
        err = _rejected(s, "limits", {"cpu": 1, "mem": "lots"})
        assert err.errors[0].path == "limits.mem"

    def test_bool_subclass_not_int(self):
        """``True`` is a bool, not an int, for an int field (and vice versa)."""
        s = Settings()
        _rejected(s, "retries", True)
        _rejected(s, "debug", 0)
        assert s.retries == 3
        assert s.debug is False


class TestNestedAssignment:
    """Assigning a mapping (or an object) to a nested flow field."""

    def test_mapping_keeps_child_identity_and_subscriptions(self):
        """The child object stays the same; its own subscribers hear with relative paths."""
        s = Settings()
        child = s.database
        got_child = _spy(child)
        got_root = _spy(s)
        s.database = {"host": "db.example", "port": 6000}
        assert s.database is child
        assert (child.host, child.port) == ("db.example", 6000)
        assert sorted((c.path, c.new) for c in got_child) == [
            ("host", "db.example"),
            ("port", 6000),
        ]
        assert sorted((c.path, c.new) for c in got_root) == [
            ("database.host", "db.example"),
            ("database.port", 6000),
        ]

    def test_missing_keys_go_back_to_defaults(self):
        """Fields absent from the mapping return to their defaults (with events)."""
        s = Settings()
        s.database.port = 9
        s.database.host = "h"
        got = _spy(s)
        s.database = {"host": "h"}
        assert s.database.port == 5432
        assert [(c.path, c.old, c.new) for c in got] == [("database.port", 9, 5432)]

    def test_assign_object_copies_values(self):
        """Assigning another instance copies its values into the existing child."""
        s = Settings()
        child = s.database
        other = Database(host="other", port=7)
        s.database = other
        assert s.database is child
        assert (child.host, child.port) == ("other", 7)
        other.port = 8  # the assigned object stays independent
        assert child.port == 7

    def test_bad_mapping_changes_nothing(self):
        """A mapping with a bad value is rejected whole: nothing changes, nothing fires."""
        s = Settings()
        got = _spy(s)
        err = _rejected(s, "database", {"host": "new", "port": 0})
        assert err.errors[0].path.startswith("database")
        assert (s.database.host, s.database.port) == ("localhost", 5432)
        assert got == []

    def test_unknown_key_rejected(self):
        """A mapping with an unknown key is rejected and names the key."""
        s = Settings()
        err = _rejected(s, "database", {"hots": "x"})
        assert "hots" in str(err)
        assert s.database.host == "localhost"

    @pytest.mark.parametrize("bad", [None, 5, "host=x", ["x"]])
    def test_not_a_mapping(self, bad):
        """A non-mapping for a nested field is rejected."""
        s = Settings()
        child = s.database
        _rejected(s, "database", bad)
        assert s.database is child

    def test_equal_mapping_is_silent(self):
        """A mapping equal to the current values fires nothing."""
        s = Settings()
        got = _spy(s)
        s.database = {"host": "localhost", "port": 5432}
        assert got == []

    def test_mapping_does_not_coerce_text(self):
        """Text in an assigned mapping is not converted to the field's type."""
        s = Settings()
        _rejected(s, "database", {"port": "6000"})


class TestEqualWrites:
    """An equal new value changes nothing and fires nothing."""

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("timeout", 30.0),
            ("timeout", 30),
            ("retries", 3),
            ("debug", False),
            ("hosts", []),
            ("mode", "safe"),
            ("color", Color.RED),
            ("nickname", None),
        ],
    )
    def test_silent(self, name, value):
        """No event for a value equal to the current one."""
        s = Settings()
        got = _spy(s)
        setattr(s, name, value)
        assert got == []

    def test_second_equal_write_silent(self):
        """Writing the same new value twice fires once."""
        s = Settings()
        got = _spy(s)
        s.database.host = "x"
        s.database.host = "x"
        s.hosts = ["a"]
        s.hosts = ["a"]
        assert [c.path for c in got] == ["database.host", "hosts"]


class TestUnknownAttributes:
    """Writing an undeclared name is an AttributeError with a suggestion."""

    def test_did_you_mean(self):
        """A typo names the closest field; nothing is created."""
        s = Settings()
        got = _spy(s)
        with pytest.raises(AttributeError, match=r"did you mean 'timeout'\?"):
            s.timout = 5
        assert not hasattr(s, "timout")
        assert "timout" not in vein.to_dict(s)
        assert got == []

    def test_nested_typo(self):
        """A typo on a nested object suggests that object's field."""
        s = Settings()
        with pytest.raises(AttributeError, match="'port'"):
            s.database.prot = 1
        assert not hasattr(s.database, "prot")

    def test_no_suggestion_for_unrelated_name(self):
        """An unrelated name gets no misleading suggestion."""
        s = Settings()
        with pytest.raises(AttributeError) as info:
            s.zzzzzz = 1
        assert "did you mean" not in str(info.value)
        assert "zzzzzz" in str(info.value)

    def test_not_a_validation_error(self):
        """It is a plain AttributeError (so ``hasattr``/``getattr`` behave)."""
        s = Settings()
        with pytest.raises(AttributeError) as info:
            s.timout = 5
        assert not isinstance(info.value, vein.ValidationError)
        assert getattr(s, "timout", "fallback") == "fallback"


class TestValidationErrorShape:
    """ValidationError is a ValueError and a VeinError carrying structured entries."""

    def test_hierarchy(self):
        """``except ValueError`` and ``except vein.VeinError`` both catch it."""
        s = Settings()
        err = _rejected(s, "timeout", "fast")
        assert isinstance(err, ValueError)
        assert isinstance(err, vein.VeinError)

    def test_entries(self):
        """``.errors`` has path, message and source (runtime)."""
        s = Settings()
        err = _rejected(s, "timeout", "fast")
        assert len(err.errors) == 1
        entry = err.errors[0]
        assert isinstance(entry, vein.ErrorEntry)
        assert entry.path == "timeout"
        assert "number" in entry.message
        assert "'fast'" in entry.message
        assert str(entry.source) == "runtime"
        assert "timeout" in str(err)

    def test_nested_path_through_child_reference(self):
        """A write through a reference to the child still reports the full path."""
        s = Settings()
        db = s.database
        err = _rejected(db, "port", 0)
        assert err.errors[0].path == "database.port"
        assert str(err.errors[0].source) == "runtime"

    def test_update_mapping_lists_every_problem(self):
        """``update`` with a plain mapping reports every bad key at once, changing nothing."""
        s = Settings()
        got = _spy(s)
        with pytest.raises(vein.ValidationError) as info:
            s.update({"timeout": "x", "retries": 2, "database": {"port": "0", "host": 1}})
        assert sorted(e.path for e in info.value.errors) == [
            "database.host",
            "database.port",
            "timeout",
        ]
        assert s.retries == 3
        assert got == []

    def test_update_lists_type_and_validator_problems_together(self):
        """A type error and a validator error in one update are both reported."""
        s = Settings()
        with pytest.raises(vein.ValidationError) as info:
            s.update({"timeout": "x", "database": {"port": 0}})
        assert sorted(e.path for e in info.value.errors) == ["database.port", "timeout"]


class Opaque:
    """A class vein knows nothing about."""


class TestUntypedAndCustomFields:
    """Fields of type ``object``/``Any`` or of an arbitrary class."""

    def test_declaring_is_possible(self):
        """Declaring such fields works (no cattrs error at class creation)."""

        @vein.flow
        class C:
            anything: object = None
            thing: Opaque | None = None

        c = C()
        c.anything = "text"
        c.anything = 3
        o = Opaque()
        c.thing = o
        assert c.thing is o
        _rejected(c, "thing", "not an Opaque")
        assert c.thing is o

    def test_any_accepts_everything(self):
        """``Any`` fields take any value."""

        @vein.flow
        class C:
            anything: Any = None

        c = C()
        for value in (1, "x", [1], {"a": 1}, None):
            c.anything = value
            assert c.anything == value


def test_to_dict_of_a_value_that_contains_itself_is_a_vein_error() -> None:

    @vein.flow
    class S:
        data: Any = None

    s = S()
    loop: list[Any] = []
    loop.append(loop)
    s.data = loop
    with pytest.raises(vein.VeinError, match="data: the value nests too deeply or contains itself"):
        vein.to_dict(s)


class TestInlinedValidators:
    """attrs' bounds, lengths and instance_of are compiled into the setter: they must accept
    and refuse exactly what the validator objects do, with the validators' own messages."""

    CASES = [
        ([attrs.validators.ge(0), attrs.validators.le(10)], int, [0, 10, 5], [-1, 11]),
        (
            attrs.validators.and_(attrs.validators.gt(0), attrs.validators.lt(3)),
            int,
            [1, 2],
            [0, 3],
        ),
        (attrs.validators.max_len(2), str, ["", "ab"], ["abc"]),
        (attrs.validators.min_len(1), str, ["a"], [""]),
        (attrs.validators.instance_of(int), Any, [1, True], ["1", 1.0]),
        ([attrs.validators.instance_of(str), attrs.validators.max_len(1)], Any, ["a"], [1, "ab"]),
    ]

    @pytest.mark.parametrize(("validator", "tp", "good", "bad"), CASES)
    def test_same_verdicts_and_messages(self, validator, tp, good, bad) -> None:
        @vein.flow
        class V:
            x: Any = vein.field(default=None, validator=validator)

        @attrs.define
        class A:
            x: Any = attrs.field(default=None, validator=validator)

        v, a = V(x=good[0]), A(x=good[0])
        for value in good:
            v.x = value
            assert v.x == value
        for value in bad:
            with pytest.raises(vein.ValidationError) as info:
                v.x = value
            assert v.x == good[-1]
            with pytest.raises((ValueError, TypeError)) as plain:
                a.x = value
            assert (
                info.value.errors[0].message == f"rejected by its validator: {plain.value.args[0]}"
            )


def test_a_failing_converter_is_named_as_the_converter() -> None:
    @vein.flow
    class S:
        level: str = vein.field(default="info", converter=str.lower)

    s = S()
    with pytest.raises(vein.ValidationError) as info:
        s.level = 5  # type: ignore[assignment]
    assert info.value.errors[0].message.startswith("rejected by its converter: ")
    assert s.level == "info"
    s.level = "DEBUG"
    assert s.level == "debug"
