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
