"""Code that still treats state as a dict (SPEC §7), and dynamic Flow state (SPEC §2).

* flow objects as read-only mappings: ``dict(settings)``, ``list(settings)``,
  ``settings["database"]["host"]``, ``in``, ``len``, ``keys/items/values/get``;
* ``vein.structure`` with ``normalize_keys`` (classes inside lists, dicts and optionals;
  two spellings of one field are an error) and ``strict=False``;
* dynamic attributes may not hide the class's methods; they are part of ``repr`` and
  equality; per-attribute validation hooks.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

import vein
from vein.api import validates


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432
    password: str = vein.field(default="", secret=True)


@vein.flow
class Settings:
    timeout: float = 30.0
    log_level: str = vein.field(default="info", key="log-level")
    database: Database = vein.field(factory=Database)
    hosts: list[str] = vein.field(factory=list)


class Session(vein.Flow):
    theme: str = "light"

    def __init__(self) -> None:
        super().__init__()
        self.user_id = None


# --- flow objects as read-only mappings -----------------------------------------------------


class TestMappingProtocol:
    def test_dict_list_subscript_and_in(self) -> None:
        settings = Settings()
        assert list(settings) == ["timeout", "log-level", "database", "hosts"]
        as_dict = dict(settings)
        assert as_dict["timeout"] == 30.0 and as_dict["log-level"] == "info"
        assert as_dict["database"] is settings.database  # sections stay flow objects...
        assert dict(as_dict["database"]) == {"host": "localhost", "port": 5432, "password": ""}
        assert settings["database"]["host"] == "localhost"  # ...which are mappings too
        assert "database" in settings and "log-level" in settings and "log_level" in settings
        assert "nope" not in settings and 0 not in settings
        assert {**settings.database} == {"host": "localhost", "port": 5432, "password": ""}

    def test_len_keys_items_values_get(self) -> None:
        settings = Settings()
        assert len(settings) == 4 and len(settings.database) == 3
        assert settings.keys() == ["timeout", "log-level", "database", "hosts"]
        assert settings.items()[0] == ("timeout", 30.0)
        assert settings.values()[1] == "info"
        assert settings.get("timeout") == 30.0
        assert settings.get("log-level") == "info"
        assert settings.get("database.port") == 5432  # a dotted path, like Config.get
        assert settings.get("database.nope", "x") == "x" and settings.get("nope") is None
        assert settings.get("timeout.deeper", 1) == 1  # a leaf has no keys

    def test_dynamic_and_absent_keys(self) -> None:
        session = Session()
        session.locale = "de"
        assert dict(session) == {"theme": "light", "user_id": None, "locale": "de"}
        assert len(session) == 3 and "locale" in session
        session._private = 1  # private: not a key
        assert "_private" not in session.keys()

        @vein.flow
        class Maybe:
            value: int | vein.MissingType = vein.MISSING

        assert list(Maybe()) == [] and len(Maybe()) == 0 and "value" not in Maybe()
        assert bool(Maybe())  # an object stays true, even with no keys set
        assert not vein.Config() and vein.Config({"a": 1})  # the config is a mapping: empty is false

    def test_reads_stay_plain_attribute_reads(self) -> None:
        # Nothing of the mapping protocol sits on the read path (SPEC §2): no
        # __getattribute__ or __getattr__; fields are the attrs class's slots.
        for cls in (Settings, Session):
            assert all("__getattribute__" not in vars(k) for k in cls.__mro__ if k is not object)
            assert not hasattr(cls, "__getattr__")
        slot = next(vars(k)["timeout"] for k in Settings.__mro__ if "timeout" in vars(k))
        assert type(slot).__name__ == "member_descriptor"


# --- dynamic attributes may not hide the class's methods (SPEC §2) -----------------------------


class TestDynamicNames:
    @pytest.mark.parametrize("name", ["update", "on_change", "keys", "get", "to_dict", "snapshot"])
    def test_a_flow_method_name_is_refused_at_assignment(self, name: str) -> None:
        class Clash(vein.Flow):
            def __init__(self) -> None:
                setattr(self, name, 2)

        with pytest.raises(AttributeError, match=rf"cannot set '{name}' on .*Clash: '{name}' is a method of vein\.Flow"):
            Clash()

    def test_own_methods_too_and_nothing_is_stored(self) -> None:
        session = Session()
        changes: list[vein.Change] = []
        session.on_change(changes.append)

        class WithMethod(vein.Flow):
            def __init__(self) -> None:
                self.n = 1

            def refresh(self) -> None:
                self.n += 1

        obj = WithMethod()
        with pytest.raises(AttributeError, match=r"'refresh' is a method of .*WithMethod.*'refresh_'"):
            obj.refresh = 3
        obj.refresh()
        assert obj.n == 2 and "refresh" not in obj.to_dict()
        with pytest.raises(AttributeError, match="is a method"):
            session.update = 2
        assert session.update({"user_id": "u"})[0].new == "u" and len(changes) == 1

    def test_sources_and_mappings_may_not_set_them_either(self) -> None:
        session = Session()
        with pytest.raises(vein.ValidationError, match=r"update: is a method of Session.*\n.*keys: is a method"):
            session.update({"update": 2, "keys": 3, "locale": "de"})
        assert "locale" not in session and callable(session.update)

    def test_a_property_setter_runs_and_class_constants_may_be_shadowed(self) -> None:
        class WithProperty(vein.Flow):
            LIMIT = 3

            def __init__(self) -> None:
                self._doubled = 0
                self.doubled = 2
                self.LIMIT = 5  # an instance value over a class constant: plain state

            @property
            def doubled(self) -> int:
                return self._doubled

            @doubled.setter
            def doubled(self, value: int) -> None:
                self._doubled = value * 2

        obj = WithProperty()
        assert obj.doubled == 4 and obj.LIMIT == 5
        assert obj.to_dict() == {"LIMIT": 5}


# --- vein.structure: normalize_keys and strict (SPEC §7) ----------------------------------------


@vein.flow
class Item:
    item_name: str = ""
    max_retries: int = 0


@vein.flow
class Other:
    other_thing: int = 0


@vein.flow
class Legacy:
    entries: list[Item] = vein.field(factory=list, key="items")
    by_name: dict[str, Item] = vein.field(factory=dict)
    maybe: Item | None = None
    either: Item | Other | None = None
    pair: tuple[Item, Other] | None = None
    nested: list[dict[str, Item]] = vein.field(factory=list)
    max_pool_size: int = 1
    database: Database = vein.field(factory=Database)


class TestNormalizeKeys:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            ({"maxPoolSize": 2}, {"max_pool_size": 2}),
            ({"max-pool-size": 2}, {"max_pool_size": 2}),
            ({"MAX_POOL_SIZE": 2}, {"max_pool_size": 2}),
            ({"Database": {"Host": "h", "PORT": 1}}, {"database": {"host": "h", "port": 1, "password": ""}}),
            ({"items": [{"itemName": "a"}, {"ITEM_NAME": "b", "max-retries": 3}]},
             {"items": [{"item_name": "a", "max_retries": 0}, {"item_name": "b", "max_retries": 3}]}),
            ({"byName": {"x": {"itemName": "a"}}}, {"by_name": {"x": {"item_name": "a", "max_retries": 0}}}),
            ({"maybe": {"itemName": "a"}}, {"maybe": {"item_name": "a", "max_retries": 0}}),
            ({"either": {"otherThing": 3}}, {"either": {"other_thing": 3}}),
            ({"either": {"itemName": "i"}}, {"either": {"item_name": "i", "max_retries": 0}}),
            ({"pair": [{"itemName": "p"}, {"other-thing": 2}]},
             {"pair": [{"item_name": "p", "max_retries": 0}, {"other_thing": 2}]}),
            ({"nested": [{"k": {"maxRetries": 4}}]}, {"nested": [{"k": {"item_name": "", "max_retries": 4}}]}),
        ],
    )
    def test_keys_are_normalized_wherever_a_class_is(self, data: dict[str, Any], expected: dict[str, Any]) -> None:
        obj = vein.structure(data, Legacy, normalize_keys=True)
        dumped = vein.to_dict(obj)
        assert {k: dumped[k] for k in expected} == expected
        assert Legacy.from_dict(data, normalize_keys=True) == obj

    def test_without_normalize_keys_other_spellings_are_unknown(self) -> None:
        with pytest.raises(vein.ValidationError, match=r"entries\[0\]\.itemName: unknown key \(did you mean 'item_name'\?\)"):
            vein.structure({"items": [{"itemName": "a"}]}, Legacy)

    def test_two_spellings_of_one_field_are_an_error_naming_both(self) -> None:
        with pytest.raises(vein.ValidationError) as info:
            vein.structure(
                {
                    "max-pool-size": 9,
                    "MAX_POOL_SIZE": 3,
                    "items": [{"itemName": "a", "item_name": "b"}],
                    "database": {"host": "h", "Host": "g"},
                },
                Legacy,
                normalize_keys=True,
            )
        assert [(e.path, e.message) for e in info.value.errors] == [
            ("max_pool_size", "given twice, as 'max-pool-size' and as 'MAX_POOL_SIZE' (both name the field 'max_pool_size'); keep one of them"),
            ("entries[0].item_name", "given twice, as 'itemName' and as 'item_name' (both name the field 'item_name'); keep one of them"),
            ("database.host", "given twice, as 'host' and as 'Host' (both name the field 'host'); keep one of them"),
        ]

    def test_keys_matching_nothing_stay_unknown(self) -> None:
        with pytest.raises(vein.ValidationError, match=r"maxPoolSise: unknown key \(did you mean 'max_pool_size'\?\)"):
            vein.structure({"maxPoolSise": 1}, Legacy, normalize_keys=True)
        obj = vein.structure({"maxPoolSise": 1, "maxPoolSize": 2}, Legacy, normalize_keys=True, strict=False)
        assert obj.max_pool_size == 2

    def test_secret_values_stay_out_of_the_message(self) -> None:
        with pytest.raises(vein.ValidationError) as info:
            vein.structure({"database": {"password": "hunter2", "PASSWORD": "hunter3"}}, Legacy, normalize_keys=True)
        assert "hunter" not in str(info.value)


class TestStrict:
    def test_unknown_keys_are_errors_with_did_you_mean_everywhere(self) -> None:
        with pytest.raises(vein.ValidationError) as info:
            vein.structure(
                {"timeot": 1, "database": {"hots": "h"}, "hosts": ["a"]}, Settings
            )
        assert sorted(str(e).split(" (from")[0] for e in info.value.errors) == [
            "database.hots: unknown key (did you mean 'host'?)",
            "timeot: unknown key (did you mean 'timeout'?)",
        ]

    def test_strict_false_ignores_them_at_any_depth(self) -> None:
        data = {
            "timeot": 1,
            "timeout": 2,
            "database": {"hots": "h", "port": 1},
            "legacy_only": {"a": 1},
        }
        obj = vein.structure(data, Settings, strict=False)
        assert vein.to_dict(obj) == {
            "timeout": 2,
            "log-level": "info",
            "database": {"host": "localhost", "port": 1, "password": ""},
            "hosts": [],
        }
        legacy = vein.structure({"items": [{"item_name": "a", "junk": 1}], "junk": 2}, Legacy, strict=False)
        assert legacy.entries == [Item(item_name="a")]
        assert Settings.from_dict(data, strict=False) == obj

    def test_round_trip(self) -> None:
        obj = vein.structure({"timeout": 5, "log-level": "debug", "database": {"password": "pw"}}, Settings)
        assert vein.structure(vein.to_dict(obj), Settings) == obj
        assert vein.to_dict(obj, redact=True)["database"]["password"] == "***"


# --- dynamic state: repr, equality, per-attribute validation hooks (SPEC §2) ---------------------


class TestDynamicReprAndEquality:
    def test_dynamic_attributes_are_state(self) -> None:
        class U(vein.Flow):
            def __init__(self, user_id: str) -> None:
                self.user_id = user_id

        class P(vein.Flow):
            theme: str = "light"
            password: str = vein.field(default="", secret=True)

            def __init__(self, user: str) -> None:
                self.user = user
                self._cache: dict[str, Any] = {}

        assert repr(U("x")) == "TestDynamicReprAndEquality.test_dynamic_attributes_are_state.<locals>.U(user_id='x')"
        assert U("x") == U("x") and U("x") != U("y")
        assert P("ann") != P("bob") and P("ann") == P("ann")
        ann = P("ann")
        ann.password = "pw"
        ann._cache["k"] = 1  # private: neither shown nor compared
        assert repr(ann).endswith("P(theme='light', password=***, user='ann')")
        assert ann != P("ann")  # the declared password differs
        with pytest.raises(TypeError):
            hash(ann)  # mutable state: unhashable, like a dict


class Account(vein.Flow):
    def __init__(self) -> None:
        super().__init__()
        self.user_id: str | None = None
        self.email = ""
        self.roles: list[str] = []

    @validates("user_id")
    def _check_user_id(self, attribute: Any, value: Any) -> None:
        if value is not None and not str(value).isdigit():
            raise ValueError(f"{attribute.name} must be digits, got {value!r}")

    @validates("email")
    def _check_email(self, attribute: Any, value: Any) -> None:
        if value and "@" not in value:
            raise ValueError("not an e-mail address")

    _roles_are_a_list = validates("roles")(attrs.validators.instance_of(list))


class TestValidationHooks:
    def test_an_assignment_is_checked_and_a_rejected_one_changes_nothing(self) -> None:
        account = Account()
        changes: list[vein.Change] = []
        account.on_change(changes.append)
        account.user_id = "42"
        with pytest.raises(vein.ValidationError) as info:
            account.user_id = "abc"
        assert [str(e) for e in info.value.errors] == [
            "user_id: rejected by its validator: user_id must be digits, got 'abc'"
        ]
        assert account.user_id == "42" and [c.new for c in changes] == ["42"]

    def test_attrs_validators_are_hooks_too(self) -> None:
        account = Account()
        with pytest.raises(vein.ValidationError, match=r"roles: rejected by its validator: 'roles' must be <class 'list'> \(got 'admin'"):
            account.roles = "admin"  # type: ignore[assignment]
        assert account.roles == []

    def test_updates_sources_and_batches_are_checked_atomically(self, tmp_path: Any) -> None:
        account = Account()
        with pytest.raises(vein.ValidationError, match="email: rejected by its validator: not an e-mail address"):
            account.update({"user_id": "7", "email": "nope"})
        assert (account.user_id, account.email) == (None, "")  # nothing half-applied
        path = tmp_path / "account.yml"
        path.write_text("user_id: x7\n", encoding="utf-8")
        with pytest.raises(vein.ValidationError, match="user_id: rejected by its validator"):
            account.update(vein.from_yaml(path))
        with pytest.raises(vein.ValidationError), account.batch():
            account.user_id = "8"
            account.email = "bad"
        assert (account.user_id, account.email) == (None, "")
        account.update({"user_id": "9", "email": "a@b"})
        assert (account.user_id, account.email) == ("9", "a@b")

    def test_a_hook_on_a_declared_field_gets_its_attrs_attribute(self) -> None:
        seen: list[Any] = []

        class Mixed(vein.Flow):
            level: int = 1

            def __init__(self) -> None:
                self.note = ""

            @validates("level", "note")
            def _record(self, attribute: Any, value: Any) -> None:
                seen.append((attribute.name, value, isinstance(attribute, attrs.Attribute)))

        Mixed().level = 2
        assert ("level", 2, True) in seen and ("note", "", False) in seen

    def test_a_name_that_is_no_field_of_a_fixed_schema_is_a_schema_error(self) -> None:
        @vein.flow
        class Fixed:
            name: str = ""

            @validates("nme")
            def _check(self, attribute: Any, value: Any) -> None: ...

        with pytest.raises(vein.SchemaError, match=r"validates\('nme'\) names no field \(did you mean 'name'\?\)"):
            Fixed()

    def test_on_a_config_subclass_names_are_dotted_paths(self) -> None:
        class AppConfig(vein.Config):
            @validates("database.port")
            def _port(self, attribute: Any, value: Any) -> None:
                if not isinstance(value, int) or not 0 < value < 65536:
                    raise ValueError("must be a port number")

            @validates("api_key")
            def _key(self, attribute: Any, value: Any) -> None:
                if len(value) < 8:
                    raise ValueError(f"too short: {value}")

        cfg = AppConfig()
        cfg.database.port = 5432
        with pytest.raises(vein.ValidationError, match="database.port: rejected by its validator: must be a port number"):
            cfg.database.port = 70000
        with pytest.raises(vein.ValidationError) as info:
            cfg.api_key = "short"
        assert "short" not in str(info.value)  # a secret-looking key: the message is hidden
        assert cfg.to_dict() == {"database": {"port": 5432}}

    def test_bad_arguments(self) -> None:
        with pytest.raises(TypeError, match="takes the names of the attributes"):
            validates()
        with pytest.raises(TypeError, match="takes the names of the attributes"):
            validates(lambda *a: None)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="decorates a method"):
            validates("x")(42)  # type: ignore[arg-type]
