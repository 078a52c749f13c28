"""Environment variables as a source (SPEC §5 "Environment"): names, conversion, policies."""

import datetime as dt
import enum
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import pytest

import vein

PFX = "VTEST_"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Real process environment, cleaned of every variable this module uses."""
    for name in list(os.environ):
        if name.upper().startswith(PFX) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    return monkeypatch


def recorder(obj: Any) -> list[vein.Change]:
    seen: list[vein.Change] = []
    obj.on_change("*", seen.append)
    return seen


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Color(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432
    password: str = vein.field(default="", secret=True)


@vein.flow
class Settings:
    timeout: float = 30.0
    debug: bool = False
    name: str = "default"
    hosts: list[str] = vein.field(factory=list)
    database: Database = vein.field(factory=Database)
    features: dict[str, bool] = vein.field(factory=dict)
    url: str = vein.field(default="", env="DATABASE_URL")


@vein.flow
class Typed:
    s: str = "d"
    i: int = 0
    f: float = 0.0
    b: bool = False
    oi: int | None = 0
    mode: Mode = Mode.FAST
    level: Level = Level.LOW
    color: Color = Color.RED
    lit: Literal["a", "b"] = "a"
    lint: Literal[1, 2] = 1
    path: Path = Path("/nowhere")
    when: dt.datetime | None = None
    day: dt.date | None = None
    ints: list[int] = vein.field(factory=list)
    strs: list[str] = vein.field(factory=list)
    tags: set[str] = vein.field(factory=set)
    nums: tuple[int, ...] = ()
    pair: tuple[int, str] = (0, "")
    limits: dict[str, int] = vein.field(factory=dict)
    db: Database = vein.field(factory=Database)
    int_or_str: int | str = 0
    str_or_int: str | int = ""
    bool_or_int: bool | int = False
    int_or_bool: int | bool = 0
    pin: int = vein.field(default=0, secret=True)


def typed_from(text: str, field: str, **options: Any) -> Any:
    """Set one Typed field from one variable (given through ``environ=``) and read it back."""
    t = Typed()
    t.update(vein.from_env(PFX, environ={PFX + field.upper(): text}, **options))
    return getattr(t, field)


def typed_error(text: str, field: str, **options: Any) -> vein.ValidationError:
    t = Typed()
    before = vein.to_dict(t)
    seen = recorder(t)
    with pytest.raises(vein.ValidationError) as info:
        t.update(vein.from_env(PFX, environ={PFX + field.upper(): text}, **options))
    assert vein.to_dict(t) == before
    assert seen == []
    return info.value


class TestNames:
    """PREFIX + dotted path upper-cased with ``__``; case-insensitive; exact ``env=`` names."""

    def test_top_level_and_nested(self, env: pytest.MonkeyPatch) -> None:
        """``VTEST_TIMEOUT`` and ``VTEST_DATABASE__HOST`` set ``timeout`` and ``database.host``."""
        env.setenv("VTEST_TIMEOUT", "12.5")
        env.setenv("VTEST_DATABASE__HOST", "db.internal")
        env.setenv("VTEST_DATABASE__PORT", "6543")
        s = Settings()
        s.update(vein.from_env(PFX))
        assert (s.timeout, s.database.host, s.database.port) == (12.5, "db.internal", 6543)
        assert str(s.explain("database.host")) == "env VTEST_DATABASE__HOST"
        assert str(s.explain("timeout")) == "env VTEST_TIMEOUT"
        assert s.explain("database.port").kind == "env"
        assert str(s.explain("name")) == "default"

    def test_case_insensitive(self, env: pytest.MonkeyPatch) -> None:
        """Variable names match whatever their case; provenance names the variable as set."""
        env.setenv("vtest_database__host", "lower")
        env.setenv("Vtest_Timeout", "3")
        s = Settings()
        s.update(vein.from_env("vtest_"))
        assert s.database.host == "lower"
        assert s.timeout == 3.0
        assert str(s.explain("database.host")) == "env vtest_database__host"

    def test_single_underscore_does_not_nest(self, env: pytest.MonkeyPatch) -> None:
        """Levels are separated by ``__``: ``DATABASE_HOST`` is not ``database.host``."""
        env.setenv("VTEST_DATABASE_HOST", "x")
        s = Settings()
        with pytest.warns(vein.VeinWarning, match="VTEST_DATABASE__HOST"):
            s.update(vein.from_env(PFX))
        assert s.database.host == "localhost"

    def test_unprefixed_variables_are_ignored(self, env: pytest.MonkeyPatch) -> None:
        """Only variables under the prefix are read."""
        env.setenv("TIMEOUT", "99")
        env.setenv("VTEST_NAME", "mine")
        s = Settings()
        s.update(vein.from_env(PFX))
        assert s.timeout == 30.0
        assert s.name == "mine"

    def test_exact_env_name(self, env: pytest.MonkeyPatch) -> None:
        """``vein.field(env="DATABASE_URL")`` reads that exact name, without the prefix."""
        env.setenv("DATABASE_URL", "postgres://db/app")
        s = Settings()
        s.update(vein.from_env(PFX))
        assert s.url == "postgres://db/app"
        assert str(s.explain("url")) == "env DATABASE_URL"

    def test_exact_env_name_adds_to_the_prefixed_name(self, env: pytest.MonkeyPatch) -> None:
        """The exact name is added: the prefixed ``VTEST_URL`` still sets the field too."""
        env.setenv("VTEST_URL", "sqlite://")
        s = Settings()
        s.update(vein.from_env(PFX))
        assert s.url == "sqlite://"

    def test_one_field_set_twice_is_an_error(self) -> None:
        """Two spellings of the same variable are ambiguous: an error naming both."""
        s = Settings()
        with pytest.raises(vein.ValidationError) as info:
            s.update(vein.from_env(PFX, environ={"VTEST_NAME": "a", "vtest_name": "b"}))
        assert "VTEST_NAME" in str(info.value)
        assert "vtest_name" in str(info.value)
        assert s.name == "default"

    def test_source_reads_at_update_time(self, env: pytest.MonkeyPatch) -> None:
        """A source made before the variable was set still sees it when applied."""
        source = vein.from_env(PFX)
        env.setenv("VTEST_NAME", "late")
        s = Settings()
        s.update(source)
        assert s.name == "late"

    def test_reload_picks_up_new_value_and_removal(self, env: pytest.MonkeyPatch) -> None:
        """Re-applying the env source follows the environment; a removed variable falls back."""
        source = vein.from_env(PFX)
        env.setenv("VTEST_NAME", "one")
        s = Settings()
        s.update(source)
        env.setenv("VTEST_NAME", "two")
        assert [c.new for c in s.update(source)] == ["two"]
        env.delenv("VTEST_NAME")
        changes = s.update(source)
        assert s.name == "default"
        assert [(c.path, c.old, c.new) for c in changes] == [("name", "two", "default")]
        assert str(s.explain("name")) == "default"


class TestCollisions:
    """Two fields mapping to one variable are an error naming both."""

    def test_nested_and_flat_names_collide(self) -> None:
        """``a_.b`` and ``a___b`` both become ``X_A___B``."""

        @vein.flow
        class Inner:
            b: int = 1

        @vein.flow
        class Clash:
            a_: Inner = vein.field(factory=Inner)
            a___b: int = 2

        with pytest.raises(vein.VeinError) as info:
            vein.load(Clash, vein.from_env("X_", environ={}))
        text = str(info.value)
        assert "'a_.b'" in text
        assert "'a___b'" in text
        assert "X_A___B" in text

    def test_collision_found_on_update_too(self) -> None:
        """The same error when an env source is first applied to an existing instance."""

        @vein.flow
        class Inner:
            b: int = 1

        @vein.flow
        class Clash:
            a_: Inner = vein.field(factory=Inner)
            a___b: int = 2

        obj = Clash()
        with pytest.raises(vein.VeinError, match="a___b"):
            obj.update(vein.from_env("Y_", environ={"Y_A___B": "5"}))
        assert (obj.a_.b, obj.a___b) == (1, 2)

    def test_two_exact_names_collide(self) -> None:
        """Two ``env="SAME"`` fields: the error names both fields."""

        @vein.flow
        class Twice:
            a: int = vein.field(default=1, env="SAME_VAR")
            b: int = vein.field(default=1, env="SAME_VAR")

        with pytest.raises(vein.VeinError) as info:
            vein.load(Twice, vein.from_env("Z_", environ={"SAME_VAR": "3"}))
        assert "'a'" in str(info.value)
        assert "'b'" in str(info.value)
        assert "SAME_VAR" in str(info.value)

    @pytest.mark.parametrize("exact_first", [True, False])
    def test_exact_name_equal_to_a_prefixed_name(self, exact_first: bool) -> None:
        """``env="W_B"`` on field ``a`` collides with field ``b`` under prefix ``W_``."""
        if exact_first:

            @vein.flow
            class Both:
                a: int = vein.field(default=1, env="W_B")
                b: int = 2

        else:

            @vein.flow
            class Both:  # type: ignore[no-redef]
                b: int = 2
                a: int = vein.field(default=1, env="w_b")

        with pytest.raises(vein.VeinError) as info:
            vein.load(Both, vein.from_env("W_", environ={"W_B": "3"}))
        assert "'a'" in str(info.value)
        assert "'b'" in str(info.value)

    def test_exact_name_equal_to_its_own_prefixed_name_is_fine(self) -> None:
        """A field may spell out its own prefixed name with ``env=``."""

        @vein.flow
        class Own:
            a: int = vein.field(default=1, env="V_A")

        obj = vein.load(Own, vein.from_env("V_", environ={"V_A": "7"}))
        assert obj.a == 7


class TestUnknownVariables:
    """A prefixed variable that matches no field warns with a did-you-mean and changes nothing."""

    def test_warns_with_suggestion_and_changes_nothing(
        self, env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        env.setenv("VTEST_TIMEOUTT", "5")
        env.setenv("VTEST_DATABSE__PORT", "1")
        s = Settings()
        before = vein.to_dict(s)
        seen = recorder(s)
        with caplog.at_level(logging.WARNING, logger="vein"):
            with pytest.warns(vein.VeinWarning) as record:
                changes = s.update(vein.from_env(PFX))
        messages = [str(w.message) for w in record if issubclass(w.category, vein.VeinWarning)]
        assert any("VTEST_TIMEOUTT" in m and "did you mean 'VTEST_TIMEOUT'" in m for m in messages)
        assert any(
            "VTEST_DATABSE__PORT" in m and "did you mean 'VTEST_DATABASE__PORT'" in m
            for m in messages
        )
        assert changes == []
        assert seen == []
        assert vein.to_dict(s) == before
        assert "VTEST_TIMEOUTT" in caplog.text

    def test_is_a_user_warning(self) -> None:
        assert issubclass(vein.VeinWarning, UserWarning)

    def test_known_variables_still_apply(self) -> None:
        """The unknown variable is skipped; the known ones in the same source apply."""
        s = Settings()
        with pytest.warns(vein.VeinWarning, match="VTEST_NAEM"):
            s.update(vein.from_env(PFX, environ={"VTEST_NAEM": "x", "VTEST_DEBUG": "yes"}))
        assert s.debug is True
        assert s.name == "default"

    def test_warn_unknown_false(self) -> None:
        """``warn_unknown=False`` silences the warning."""
        s = Settings()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s.update(vein.from_env(PFX, environ={"VTEST_NOPE": "x"}, warn_unknown=False))
        assert vein.to_dict(s) == vein.to_dict(Settings())

    def test_empty_prefix_does_not_warn_about_the_whole_environment(self) -> None:
        """Without a prefix every variable is "under" it; unrelated ones are not reported."""
        s = Settings()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s.update(vein.from_env("", environ={"PATH": "/bin", "HOME": "/root", "NAME": "n"}))
        assert s.name == "n"


class TestStrKeepsText:
    """A ``str`` field keeps the text exactly as written."""

    @pytest.mark.parametrize(
        "text",
        [
            "007",
            "1.10",
            "6e1234",
            "NO",
            "on",
            "22:30",
            "null",
            "~",
            "true",
            "  padded  ",
            "0x1F",
            "[1, 2]",
            '{"a": 1}',
            "a,b",
            "ünïcødé ✓",
        ],
    )
    def test_exact(self, text: str) -> None:
        value = typed_from(text, "s")
        assert value == text
        assert type(value) is str


class TestBool:
    """``bool``: true/false yes/no on/off 1/0 t/f y/n in any case, nothing else."""

    TRUE = ["true", "yes", "on", "1", "t", "y"]
    FALSE = ["false", "no", "off", "0", "f", "n"]

    @pytest.mark.parametrize(
        ("text", "expected"),
        [(v, True) for w in TRUE for v in {w, w.upper(), w.title(), w[:1] + w[1:].upper()}]
        + [(v, False) for w in FALSE for v in {w, w.upper(), w.title(), w[:1] + w[1:].upper()}],
    )
    def test_accepted(self, text: str, expected: bool) -> None:
        t = Typed()
        t.b = not expected
        t.update(vein.from_env(PFX, environ={"VTEST_B": text}))
        assert t.b is expected

    @pytest.mark.parametrize(
        "text", ["maybe", "2", "-1", "truee", "yess", "oui", "none", "null", "enabled", "1.0", "tr"]
    )
    def test_rejected_naming_the_variable(self, text: str) -> None:
        err = typed_error(text, "b")
        assert "VTEST_B" in str(err)
        assert [e.path for e in err.errors] == ["b"]
        assert err.errors[0].source is not None
        assert err.errors[0].source.name == "VTEST_B"
        assert "boolean" in err.errors[0].message


class TestNumbers:
    """``int`` and ``float`` parse the text; overflow to infinity is an error."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("42", 42),
            ("-7", -7),
            (" 42 ", 42),
            ("0x1F", 31),
            ("0", 0),
            ("123456789012345678901234567890", 123456789012345678901234567890),
        ],
    )
    def test_int(self, text: str, expected: int) -> None:
        value = typed_from(text, "i")
        assert value == expected
        assert type(value) is int

    @pytest.mark.parametrize("text", ["4.0", "1e3", "forty", "true", "4 2", "0x"])
    def test_int_rejected(self, text: str) -> None:
        err = typed_error(text, "i")
        assert "VTEST_I" in str(err)
        assert "integer" in str(err)

    @pytest.mark.parametrize(
        ("text", "expected"), [("1.5", 1.5), ("1e3", 1000.0), ("-0.25", -0.25), ("7", 7.0)]
    )
    def test_float(self, text: str, expected: float) -> None:
        value = typed_from(text, "f")
        assert value == expected
        assert type(value) is float

    @pytest.mark.parametrize("text", ["1e999", "-1e999", "9" * 400 + ".0"])
    def test_float_overflow_rejected(self, text: str) -> None:
        err = typed_error(text, "f")
        assert "VTEST_F" in str(err)
        assert "infinity" in str(err)

    @pytest.mark.parametrize("text", ["fast", "1,5", "1.5.1", ""])
    def test_float_garbage_rejected(self, text: str) -> None:
        err = typed_error(text, "f", empty="keep")
        assert "VTEST_F" in str(err)


class TestEnumLiteralPath:
    @pytest.mark.parametrize(
        ("text", "expected"), [("slow", Mode.SLOW), ("SLOW", Mode.SLOW), ("fast", Mode.FAST)]
    )
    def test_enum(self, text: str, expected: Mode) -> None:
        t = Typed()
        t.mode = Mode.SLOW if expected is Mode.FAST else Mode.FAST
        t.update(vein.from_env(PFX, environ={"VTEST_MODE": text}))
        assert t.mode is expected

    def test_enum_rejected_lists_choices(self) -> None:
        err = typed_error("medium", "mode")
        assert "'fast'" in str(err)
        assert "'slow'" in str(err)
        assert "VTEST_MODE" in str(err)

    def test_int_enum(self) -> None:
        """An IntEnum field gets the member, not a bare int."""
        assert typed_from("2", "level") is Level.HIGH
        assert "VTEST_LEVEL" in str(typed_error("3", "level"))

    def test_str_enum(self) -> None:
        """A StrEnum field gets the member and rejects other text (it is no plain str)."""
        assert typed_from("blue", "color") is Color.BLUE
        err = typed_error("purple", "color")
        assert "'red'" in str(err)
        assert "VTEST_COLOR" in str(err)

    def test_literal(self) -> None:
        assert typed_from("b", "lit") == "b"
        value = typed_from("2", "lint")
        assert value == 2
        assert type(value) is int

    @pytest.mark.parametrize(("field", "text"), [("lit", "c"), ("lint", "3"), ("lit", "B")])
    def test_literal_rejected(self, field: str, text: str) -> None:
        assert f"VTEST_{field.upper()}" in str(typed_error(text, field))

    def test_path(self) -> None:
        value = typed_from("/srv/data/file.txt", "path")
        assert isinstance(value, Path)
        assert value == Path("/srv/data/file.txt")


class TestDates:
    """``datetime``/``date`` from ISO 8601 text."""

    def test_datetime(self) -> None:
        value = typed_from("2024-01-02T03:04:05+00:00", "when")
        assert value == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    def test_naive_datetime(self) -> None:
        assert typed_from("2024-01-02 03:04", "when") == dt.datetime(2024, 1, 2, 3, 4)

    def test_date(self) -> None:
        value = typed_from("2024-02-29", "day")
        assert value == dt.date(2024, 2, 29)
        assert type(value) is dt.date

    @pytest.mark.parametrize(
        ("field", "text"),
        [
            ("day", "02/01/2024"),
            ("day", "2023-02-29"),
            ("when", "yesterday"),
            ("when", "2024-13-01T00:00"),
        ],
    )
    def test_rejected(self, field: str, text: str) -> None:
        err = typed_error(text, field)
        assert "ISO 8601" in str(err)
        assert f"VTEST_{field.upper()}" in str(err)


class TestCollections:
    """``list``/``set``/``tuple`` from a JSON array or a comma list; ``dict`` from a JSON object."""

    @pytest.mark.parametrize(
        ("field", "text", "expected"),
        [
            ("strs", "a,b", ["a", "b"]),
            ("strs", "a", ["a"]),
            ("strs", "a, b ,c", ["a", "b", "c"]),
            ("strs", '["a,b", "c"]', ["a,b", "c"]),
            ("strs", "[]", []),
            ("ints", "[1, 2, 3]", [1, 2, 3]),
            ("ints", "1,2,3", [1, 2, 3]),
            ("ints", "7", [7]),
            ("tags", "x,y,x", {"x", "y"}),
            ("nums", "1,2", (1, 2)),
            ("nums", "[4]", (4,)),
            ("pair", "1,x", (1, "x")),
            ("pair", '[2, "y"]', (2, "y")),
        ],
    )
    def test_parsed(self, field: str, text: str, expected: Any) -> None:
        value = typed_from(text, field)
        assert value == expected
        assert isinstance(value, type(expected))  # list, set or tuple (maybe an evented one)

    def test_comma_text_is_never_one_item(self) -> None:
        """``"a,b"`` is two items, never ``["a,b"]``."""
        value = typed_from("alpha,beta", "strs")
        assert value != ["alpha,beta"]
        assert len(value) == 2

    @pytest.mark.parametrize(
        ("field", "text"),
        [
            ("ints", "1,x"),
            ("ints", "[1, 2"),
            ("ints", "[1, true]"),
            ("pair", "1"),
            ("pair", "x,y"),
            ("ints", '{"a": 1}'),
        ],
    )
    def test_rejected(self, field: str, text: str) -> None:
        assert f"VTEST_{field.upper()}" in str(typed_error(text, field))

    def test_bad_item_is_located(self) -> None:
        err = typed_error("1,2,x", "ints")
        assert err.errors[0].path == "ints[2]"

    def test_dict_from_json_object(self) -> None:
        assert typed_from('{"a": 1, "b": "2"}', "limits") == {"a": 1, "b": 2}

    @pytest.mark.parametrize("text", ["[1]", "a=1", '{"a": "x"}', "{"])
    def test_dict_rejected(self, text: str) -> None:
        assert "VTEST_LIMITS" in str(typed_error(text, "limits"))

    def test_nested_class_from_json_object(self) -> None:
        t = Typed()
        t.update(vein.from_env(PFX, environ={"VTEST_DB": '{"host": "h", "port": 7}'}))
        assert (t.db.host, t.db.port) == ("h", 7)

    @pytest.mark.parametrize("json_first", [True, False])
    def test_nested_json_and_leaf_variable_combine(self, json_first: bool) -> None:
        """``VTEST_DB`` (JSON) and ``VTEST_DB__PORT`` both apply, whatever their order."""
        items = [("VTEST_DB", '{"host": "h"}'), ("VTEST_DB__PORT", "9")]
        environ = dict(items if json_first else reversed(items))
        t = Typed()
        t.update(vein.from_env(PFX, environ=environ))
        assert (t.db.host, t.db.port) == ("h", 9)

    def test_nested_class_rejects_non_object(self) -> None:
        err = typed_error("not json", "db")
        assert "VTEST_DB" in str(err)

    def test_dict_field_by_key_variables(self, env: pytest.MonkeyPatch) -> None:
        """``VTEST_FEATURES__X=true`` sets key ``x`` of a ``dict[str, bool]`` field."""
        env.setenv("VTEST_FEATURES__NEW_UI", "true")
        env.setenv("VTEST_FEATURES__BETA", "off")
        s = Settings()
        s.update(vein.from_env(PFX))
        assert s.features == {"new_ui": True, "beta": False}
        assert str(s.explain("features")).startswith("env VTEST_FEATURES__")

    def test_dict_field_key_value_converted(self) -> None:
        s = Settings()
        with pytest.raises(vein.ValidationError, match="VTEST_FEATURES__X"):
            s.update(vein.from_env(PFX, environ={"VTEST_FEATURES__X": "perhaps"}))
        assert s.features == {}


class TestOptionalAndUnions:
    """``X | None`` and unions: the first member, in declaration order, that accepts the text."""

    def test_optional_takes_the_value(self) -> None:
        assert typed_from("5", "oi") == 5

    def test_optional_empty_kept_is_none(self) -> None:
        assert typed_from("", "oi", empty="keep") is None

    @pytest.mark.parametrize(
        ("field", "text", "expected"),
        [
            ("int_or_str", "5", 5),
            ("int_or_str", "x", "x"),
            ("str_or_int", "5", "5"),
            ("bool_or_int", "1", True),
            ("bool_or_int", "7", 7),
            ("int_or_bool", "1", 1),
            ("int_or_bool", "yes", True),
        ],
    )
    def test_first_member_that_accepts(self, field: str, text: str, expected: Any) -> None:
        value = typed_from(text, field)
        assert value == expected
        # list/dict/set fields hold evented subclasses of the plain containers (issue 5)
        assert type(value) is type(expected) or type(value).__mro__[1] is type(expected)

    def test_order_does_not_depend_on_which_union_was_built_first(self) -> None:
        """``str | int`` and ``int | str`` are equal types, yet each keeps its own order."""

        @vein.flow
        class Later:
            a: str | int = ""
            b: int | str = 0
            c: int | bool = 0
            d: bool | int = False

        obj = vein.load(
            Later, vein.from_env("L_", environ={"L_A": "5", "L_B": "5", "L_C": "1", "L_D": "1"})
        )
        assert (obj.a, obj.b, obj.c, obj.d) == ("5", 5, 1, True)
        assert (type(obj.c), type(obj.d)) == (int, bool)

    def test_union_order_inside_containers(self) -> None:
        """cattrs caches hooks by type equality (list[str | int] == list[int | str]): vein
        builds the hooks of containers holding unions itself."""

        @vein.flow
        class First:
            a: list[int | str] = vein.field(factory=list)

        @vein.flow
        class Second:
            a: list[str | int] = vein.field(factory=list)

        assert vein.load(First, vein.from_env("F_", environ={"F_A": "5"})).a == [5]
        assert vein.load(Second, vein.from_env("S_", environ={"S_A": "5"})).a == ["5"]

    def test_union_order_inside_classes_inside_containers(self) -> None:
        @vein.flow
        class ItemA:
            v: list[int | str] = vein.field(factory=list)

        @vein.flow
        class ItemB:
            v: list[str | int] = vein.field(factory=list)

        @vein.flow
        class Both:
            a: list[ItemA] = vein.field(factory=list)
            b: dict[str, ItemB] = vein.field(factory=dict)

        env = {"X_A": '[{"v": ["5"]}]', "X_B": '{"k": {"v": ["5"]}}'}
        both = vein.load(Both, vein.from_env("X_", environ=env))
        assert both.a[0].v == [5]
        assert both.b["k"].v == ["5"]

    def test_prefix_without_its_separator_is_pointed_out(self) -> None:
        @vein.flow
        class T:
            timeout: int = 1

        with pytest.warns(vein.VeinWarning, match="did you mean the prefix 'APP_'"):
            vein.load(T, vein.from_env("APP", environ={"APP_TIMEOUT": "3"}))


class TestEmptyPolicy:
    """``from_env(..., empty="unset" | "keep" | "error")``; ``"unset"`` is the default."""

    def test_default_unset_ignores_empty(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("VTEST_NAME", "")
        env.setenv("VTEST_TIMEOUT", "")
        s = Settings()
        seen = recorder(s)
        assert s.update(vein.from_env(PFX)) == []
        assert (s.name, s.timeout) == ("default", 30.0)
        assert seen == []

    def test_unset_on_reload_falls_back(self, env: pytest.MonkeyPatch) -> None:
        """Emptying a variable under ``"unset"`` is like removing it."""
        source = vein.from_env(PFX)
        env.setenv("VTEST_NAME", "set")
        s = Settings()
        s.update(source)
        env.setenv("VTEST_NAME", "")
        s.update(source)
        assert s.name == "default"

    def test_keep(self) -> None:
        """``"keep"``: ``""`` for text fields, null for the others (None into Optional)."""
        assert typed_from("", "s", empty="keep") == ""
        assert typed_from("", "oi", empty="keep") is None

    def test_keep_into_non_optional_is_an_error(self) -> None:
        err = typed_error("", "i", empty="keep")
        assert "VTEST_I" in str(err)
        assert "None" not in str(err).replace("null", "")

    @pytest.mark.parametrize("field", ["s", "i", "oi", "strs", "db__host"])
    def test_error(self, field: str) -> None:
        err = typed_error("", field, empty="error")
        assert f"VTEST_{field.upper()}" in str(err)
        assert "empty" in str(err)

    def test_invalid_policy(self) -> None:
        with pytest.raises(ValueError, match="empty"):
            vein.from_env(PFX, empty="drop")  # type: ignore[arg-type]


class TestImportTime:
    """Defaults are never resolved against the environment at import time."""

    def test_class_defined_while_variable_set(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("VTEST_TIMEOUT", "99")
        env.setenv("VTEST_EXACT_NAME", "from-env")

        @vein.flow
        class Late:
            timeout: float = 30.0
            name: str = vein.field(default="declared", env="VTEST_EXACT_NAME")

        assert Late().timeout == 30.0
        assert Late().name == "declared"
        assert vein.load(Late).timeout == 30.0
        assert vein.load(Late).name == "declared"
        loaded = vein.load(Late, vein.from_env(PFX))
        assert (loaded.timeout, loaded.name) == (99.0, "from-env")
        assert Late().timeout == 30.0

    def test_attrs_default_untouched(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("VTEST_TIMEOUT", "99")
        import attrs

        assert attrs.fields(Settings).timeout.default == 30.0


class TestEnvironParameter:
    """``environ=`` replaces ``os.environ`` entirely."""

    def test_mapping_wins_over_process_env(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("VTEST_NAME", "process")
        env.setenv("VTEST_DEBUG", "true")
        s = Settings()
        s.update(vein.from_env(PFX, environ={"VTEST_NAME": "mapping"}))
        assert s.name == "mapping"
        assert s.debug is False

    def test_exact_names_read_from_the_mapping(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("DATABASE_URL", "process")
        s = Settings()
        s.update(vein.from_env(PFX, environ={"DATABASE_URL": "mapping"}))
        assert s.url == "mapping"
        s2 = Settings()
        s2.update(vein.from_env(PFX, environ={}))
        assert s2.url == ""


class TestErrors:
    """Every bad variable is reported at once, each with its name; nothing changes."""

    def test_every_problem_listed(self) -> None:
        s = Settings()
        s.name = "kept"
        before = vein.to_dict(s)
        seen = recorder(s)
        environ = {
            "VTEST_TIMEOUT": "1e999",
            "VTEST_DATABASE__PORT": "eighty",
            "VTEST_DEBUG": "maybe",
            "VTEST_NAME": "fine",
        }
        with pytest.raises(vein.ValidationError) as info:
            s.update(vein.from_env(PFX, environ=environ))
        by_path = {e.path: str(e.source) for e in info.value.errors}
        assert by_path == {
            "timeout": "env VTEST_TIMEOUT",
            "database.port": "env VTEST_DATABASE__PORT",
            "debug": "env VTEST_DEBUG",
        }
        assert vein.to_dict(s) == before
        assert seen == []

    def test_secret_value_not_in_conversion_error(self) -> None:
        err = typed_error("s3cr3t-pin-value", "pin")
        assert "s3cr3t-pin-value" not in str(err)
        assert "s3cr3t-pin-value" not in repr(err.errors)
        assert "VTEST_PIN" in str(err)


class TestDictKeyVariables:
    """``APP_FEATURES__NEW_UI`` sets one key of a dict field, on what is below it."""

    @vein.flow
    class Flags:
        features: dict[str, bool] = vein.field(factory=lambda: {"a": True})

    def test_sets_a_key_on_the_default(self) -> None:
        env = vein.from_env("APP_", environ={"APP_FEATURES__C": "1"})
        assert vein.load(self.Flags, env).features == {"a": True, "c": True}

    def test_sets_a_key_on_a_lower_layer(self, tmp_path: Path) -> None:
        path = tmp_path / "c.yml"
        path.write_text("features: {b: false}\n", encoding="utf-8")
        env = {"APP_FEATURES__C": "1"}
        loaded = vein.load(self.Flags, vein.from_yaml(path), vein.from_env("APP_", environ=env))
        assert loaded.features == {"b": False, "c": True}
        s = self.Flags()
        s.update(vein.from_yaml(path))
        s.update(vein.from_env("APP_", environ=env))
        assert s.features == {"b": False, "c": True}
        assert str(s.explain("features")) == "env APP_FEATURES__C"
        s.update(vein.from_env("APP_", environ={"APP_FEATURES__C": "0"}))
        assert s.features == {"b": False, "c": False}
        s.update(vein.from_env("APP_", environ={}))  # the variable is gone: its key too
        assert s.features == {"b": False}

    def test_a_whole_dict_variable_still_replaces(self, tmp_path: Path) -> None:
        path = tmp_path / "c.yml"
        path.write_text("features: {b: false}\n", encoding="utf-8")
        env = vein.from_env("APP_", environ={"APP_FEATURES": '{"z": true}'})
        assert vein.load(self.Flags, vein.from_yaml(path), env).features == {"z": True}

    @pytest.mark.parametrize(
        "environ",
        [
            {"APP_FEATURES": '{"z": true}', "APP_FEATURES__C": "1"},
            {"APP_FEATURES__C": "1", "APP_FEATURES": '{"z": true}'},
        ],
    )
    def test_whole_and_key_variables_together_are_an_error(self, environ) -> None:
        with pytest.raises(vein.ValidationError) as info:
            vein.load(self.Flags, vein.from_env("APP_", environ=environ))
        (entry,) = info.value.errors
        assert entry.path == "features"
        assert "APP_FEATURES" in entry.message and "APP_FEATURES__C" in entry.message


@pytest.mark.parametrize(
    "environ",
    [
        {"APP_INNER": '{"opts": {"q": 1}}', "APP_INNER__OPTS__Z": "2"},
        {"APP_INNER__OPTS__Z": "2", "APP_INNER": '{"opts": {"q": 1}}'},
    ],
)
def test_a_section_given_whole_and_a_key_of_a_dict_below_it_is_an_error(environ) -> None:
    """Whatever the order of the variables: never a result that depends on it."""

    @vein.flow
    class Inner:
        opts: dict[str, int] = vein.field(factory=lambda: {"d": 1})

    @vein.flow
    class S:
        inner: Inner = vein.field(factory=Inner)

    with pytest.raises(vein.ValidationError) as info:
        vein.load(S, vein.from_env("APP_", environ=environ))
    message = info.value.errors[0].message
    assert "APP_INNER " in message + " " and "APP_INNER__OPTS__Z" in message
