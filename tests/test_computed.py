"""Computed values (SPEC §8; issue 5): ``@vein.computed`` is cached, recomputed lazily
after a field it read changes (dependencies found automatically), and evented."""

from __future__ import annotations

import threading

import pytest

import vein

JOIN = 10.0


class Calls:
    """Counts how often each computed function ran."""

    def __init__(self) -> None:
        self.n: dict[str, int] = {}

    def hit(self, name: str) -> None:
        self.n[name] = self.n.get(name, 0) + 1

    def __getitem__(self, name: str) -> int:
        return self.n.get(name, 0)


calls = Calls()


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432

    @vein.computed
    def address(self) -> str:
        calls.hit("address")
        return f"{self.host}:{self.port}"


@vein.flow
class Server:
    scheme: str = "http"
    unrelated: int = 0
    tags: list[str] = vein.field(factory=list)
    database: Database = vein.field(factory=Database)

    @vein.computed
    def url(self) -> str:
        calls.hit("url")
        return f"{self.scheme}://{self.database.host}:{self.database.port}"

    @vein.computed
    def loud_url(self) -> str:
        calls.hit("loud_url")
        return self.url.upper()

    @vein.computed
    def tag_count(self) -> int:
        calls.hit("tag_count")
        return len(self.tags)

    @vein.computed
    def secure(self) -> bool:
        calls.hit("secure")
        return self.scheme == "https"


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.n.clear()


def _log(got: list[vein.Change]) -> list[tuple[str, object, object]]:
    return [(c.path, c.old, c.new) for c in got]


class TestCaching:
    """Computed on first read, then served from the cache."""

    def test_computed_once(self):
        """Many reads, one call."""
        s = Server()
        assert calls["url"] == 0  # nothing computed at construction
        for _ in range(5):
            assert s.url == "http://localhost:5432"
        assert calls["url"] == 1

    def test_cache_is_per_instance(self):
        """Two instances each compute their own value."""
        a, b = Server(), Server(scheme="https")
        assert (a.url, b.url) == ("http://localhost:5432", "https://localhost:5432")
        assert calls["url"] == 2

    def test_class_access_gives_the_descriptor(self):
        """``Server.url`` is the computed object (introspection, docs)."""
        assert isinstance(Server.url, vein.computed)
        assert Server.url.__doc__ is None or isinstance(Server.url.__doc__, str)


class TestRecompute:
    """Lazily recomputed after a dependency changes, and only then."""

    def test_after_own_field_change(self):
        """A changed dependency drops the cache; the next read recomputes once."""
        s = Server()
        _ = s.url
        s.scheme = "https"
        assert calls["url"] == 1  # lazy: not recomputed until read (nobody listens)
        assert s.url == "https://localhost:5432"
        assert s.url == "https://localhost:5432"
        assert calls["url"] == 2

    def test_after_nested_field_change(self):
        """A dependency below a nested object (``self.database.port``) is tracked."""
        s = Server()
        _ = s.url
        s.database.port = 6000
        assert s.url == "http://localhost:6000"
        assert calls["url"] == 2

    def test_after_update_and_batch(self):
        """Changes by ``update`` and by a batch invalidate too."""
        s = Server()
        _ = s.url
        s.update({"database": {"host": "db"}})
        assert s.url == "http://db:5432"
        with s.batch():
            s.scheme = "https"
            s.database.port = 1
        assert s.url == "https://db:1"
        assert calls["url"] == 3

    def test_after_section_assignment(self):
        """Assigning a mapping to the nested section invalidates what read its fields."""
        s = Server()
        _ = s.url
        s.database = {"host": "other"}
        assert s.url == "http://other:5432"

    def test_not_after_unrelated_change(self):
        """A field it never read does not invalidate it."""
        s = Server()
        _ = s.url
        s.unrelated = 1
        s.tags.append("x")
        s.update({"unrelated": 2})
        assert s.url == "http://localhost:5432"
        assert calls["url"] == 1

    def test_equal_write_keeps_cache(self):
        """Writing the value a dependency already has is no change."""
        s = Server()
        _ = s.url
        s.scheme = "http"
        _ = s.url
        assert calls["url"] == 1

    def test_collection_mutation_invalidates(self):
        """An in-place mutation of a list it read is a change of that field."""
        s = Server()
        assert s.tag_count == 0
        s.tags.append("a")
        s.tags.extend(["b", "c"])
        assert s.tag_count == 3
        assert calls["tag_count"] == 2

    def test_computed_on_a_child(self):
        """A computed value of a nested object works from the child and through the parent."""
        s = Server()
        assert s.database.address == "localhost:5432"
        s.database.host = "h"
        assert s.database.address == "h:5432"
        assert calls["address"] == 2

    def test_dependencies_found_per_branch(self):
        """A branch not taken before is tracked once it is taken."""

        @vein.flow
        class Switch:
            use_b: bool = False
            a: int = 1
            b: int = 2

            @vein.computed
            def value(self) -> int:
                return self.b if self.use_b else self.a

        s = Switch()
        assert s.value == 1
        s.use_b = True
        assert s.value == 2
        s.b = 20  # became a dependency on the second computation
        assert s.value == 20

    def test_read_inside_a_batch_sees_the_batch(self):
        """Inside a batch a computed value reflects the block's writes."""
        s = Server()
        assert s.url == "http://localhost:5432"
        with s.batch():
            s.scheme = "https"
            assert s.url == "https://localhost:5432"
        assert s.url == "https://localhost:5432"

    def test_rolled_back_batch_leaves_no_stale_value(self):
        """A value computed inside a rolled-back block is not served afterwards."""
        s = Server()
        with pytest.raises(RuntimeError), s.batch():
            s.scheme = "https"
            assert s.secure is True
            raise RuntimeError
        assert s.scheme == "http"
        assert s.secure is False

    def test_rejected_write_leaves_no_stale_value(self):
        """A policy that reads a computed value does not leave the rejected value cached."""

        @vein.flow
        class Cart:
            price: int = 1
            qty: int = 1

            @vein.computed
            def total(self) -> int:
                return self.price * self.qty

            @vein.policy
            def affordable(self) -> None:
                if self.total > 100:
                    raise ValueError("too expensive")

        c = Cart()
        assert c.total == 1
        with pytest.raises(vein.ValidationError, match="affordable"):
            c.qty = 1000
        assert c.total == 1
        c.qty = 50
        assert c.total == 50


class TestComputedOfComputed:
    """A computed value may read another one; both follow the fields underneath."""

    def test_chain_recomputes(self):
        """``loud_url`` follows ``url``, which follows the fields."""
        s = Server()
        assert s.loud_url == "HTTP://LOCALHOST:5432"
        s.scheme = "https"
        assert s.loud_url == "HTTPS://LOCALHOST:5432"
        s.database.host = "db"
        assert s.loud_url == "HTTPS://DB:5432"
        assert s.url == "https://db:5432"

    def test_chain_cached(self):
        """Reading the chain twice without changes computes nothing again."""
        s = Server()
        _ = s.loud_url
        n = calls["loud_url"]
        _ = s.loud_url
        assert calls["loud_url"] == n
        s.unrelated = 3
        _ = s.loud_url
        assert calls["loud_url"] == n

    def test_chain_evented(self):
        """A subscriber of the outer computed value hears a change of the fields underneath."""
        s = Server()
        got: list[vein.Change] = []
        s.on_change("loud_url", got.append)
        s.database.port = 1
        assert _log(got) == [("loud_url", "HTTP://LOCALHOST:5432", "HTTP://LOCALHOST:1")]


class TestEvents:
    """A subscriber of a computed path hears a Change when its value actually changes."""

    def test_subscriber_of_never_read_value(self):
        """Subscribing is enough: the value need not have been read before."""
        s = Server()
        got: list[vein.Change] = []
        s.on_change("url", got.append)
        s.scheme = "https"
        assert _log(got) == [("url", "http://localhost:5432", "https://localhost:5432")]
        assert got[0].source == vein.Provenance("runtime")

    def test_only_when_the_value_changes(self):
        """Dependency changes that keep the value fire nothing."""
        s = Server()
        got: list[vein.Change] = []
        s.on_change("secure", got.append)
        s.scheme = "ftp"  # still not https
        s.scheme = "https"
        s.scheme = "https"
        s.scheme = "http"
        assert _log(got) == [("secure", False, True), ("secure", True, False)]

    def test_not_for_unrelated_changes(self):
        """Nothing for a change of a field the value does not read."""
        s = Server()
        got: list[vein.Change] = []
        s.on_change("url", got.append)
        s.unrelated = 1
        s.tags.append("x")
        assert got == []

    def test_nested_dependency_and_child_computed(self):
        """Subscribers on the root hear a child's computed value with the full path."""
        s = Server()
        got: list[vein.Change] = []
        s.on_change("database.address", got.append)
        s.database.port = 2
        assert _log(got) == [("database.address", "localhost:5432", "localhost:2")]

    def test_star_subscriber_hears_computed_changes(self):
        """``on_change("*")`` hears the field change and then the computed values' changes."""
        s = Server()
        got: list[vein.Change] = []
        s.on_change(got.append)
        s.scheme = "https"
        paths = [c.path for c in got]
        assert paths[0] == "scheme"
        assert {"url", "loud_url", "secure"} <= set(paths)
        assert "tag_count" not in paths
        assert "database.address" not in paths

    def test_batch_fires_once_with_final_value(self):
        """Several dependency changes in a batch: one computed event, first old to last new."""
        s = Server()
        got: list[vein.Change] = []
        s.on_change("url", got.append)
        with s.batch():
            s.scheme = "https"
            s.database.host = "db"
            s.database.port = 1
        assert _log(got) == [("url", "http://localhost:5432", "https://db:1")]

    def test_batch_that_changes_back_fires_nothing(self):
        """A batch whose end state equals its start fires nothing for the computed value."""
        s = Server()
        got: list[vein.Change] = []
        s.on_change("url", got.append)
        with s.batch():
            s.scheme = "https"
            s.scheme = "http"
        assert got == []

    def test_unsubscribed_hears_nothing(self):
        """After cancel, no event (and the value stays correct)."""
        s = Server()
        got: list[vein.Change] = []
        sub = s.on_change("url", got.append)
        sub.cancel()
        s.scheme = "https"
        assert got == []
        assert s.url == "https://localhost:5432"

    def test_event_from_other_thread(self):
        """A write in another thread fires the computed event in that thread."""
        s = Server()
        got: list[tuple[str, object]] = []
        s.on_change("secure", lambda c: got.append((threading.current_thread().name, c.new)))
        t = threading.Thread(target=setattr, args=(s, "scheme", "https"), name="writer")
        t.start()
        t.join(JOIN)
        assert not t.is_alive()
        assert got == [("writer", True)]


class TestAssignment:
    """A computed value is read-only."""

    def test_assignment_raises(self):
        """Assigning raises AttributeError naming the computed value; nothing changes."""
        s = Server()
        with pytest.raises(AttributeError, match="computed"):
            s.url = "x"  # type: ignore[misc]
        assert s.url == "http://localhost:5432"

    def test_assignment_on_dynamic_state_raises(self):
        """Also on dynamic state, where unknown names are otherwise accepted."""

        class Session(vein.Flow):
            def __init__(self) -> None:
                super().__init__()
                self.first = "Ada"
                self.last = "Lovelace"

            @vein.computed
            def full(self) -> str:
                return f"{self.first} {self.last}"

        s = Session()
        assert s.full == "Ada Lovelace"
        with pytest.raises(AttributeError, match="computed"):
            s.full = "x"
        s.first = "Augusta"
        assert s.full == "Augusta Lovelace"
        assert "full" not in s.to_dict()

    def test_computed_may_not_assign(self):
        """A computed function that assigns a field fails (dependency tracking stand-in)."""

        @vein.flow
        class Bad:
            v: int = 0

            @vein.computed
            def sneaky(self) -> int:
                self.v = 5
                return 1

        b = Bad()
        with pytest.raises(AttributeError):
            _ = b.sneaky
        assert b.v == 0


@vein.flow
class Endpoint:
    """Reads its fields only through a helper method, a property and a nested helper."""

    scheme: str = "http"
    host: str = "localhost"
    port: int = 80
    database: Database = vein.field(factory=Database)

    def _authority(self) -> str:
        return f"{self.host}:{self._port_text()}"

    def _port_text(self) -> str:  # two levels down
        return str(self.port)

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self._authority()}"

    @vein.computed
    def url(self) -> str:
        return self.origin + "/"

    @vein.computed
    def db_label(self) -> str:
        return self.database.label()


def _label(self: Database) -> str:
    return f"db at {self.host}"


Database.label = _label  # type: ignore[attr-defined]  # a helper of the nested class


class TestReadsThroughHelpers:
    """Fields read inside helper methods and properties are dependencies too (any depth)."""

    def test_method_and_property(self):
        """``self.origin`` (a property) calls ``self._authority()`` which calls another method."""
        e = Endpoint()
        assert e.url == "http://localhost:80/"
        e.port = 81  # read two method calls down, inside a property
        assert e.url == "http://localhost:81/"
        e.scheme = "https"  # read by the property itself
        assert e.url == "https://localhost:81/"
        e.host = "h"
        assert e.url == "https://h:81/"

    def test_method_of_a_nested_object(self):
        """``self.database.label()`` runs against the nested object's stand-in."""
        e = Endpoint()
        assert e.db_label == "db at localhost"
        e.database.host = "db1"
        assert e.db_label == "db at db1"

    def test_helper_dependencies_are_evented(self):
        """A subscriber of the computed value hears a change of a field a helper reads."""
        e = Endpoint()
        got: list[vein.Change] = []
        e.on_change("url", got.append)
        e.port = 8080
        assert _log(got) == [("url", "http://localhost:80/", "http://localhost:8080/")]

    def test_isinstance_and_super_in_a_helper(self):
        """Helpers written for the real class (``isinstance``, zero-argument ``super()``) work."""

        @vein.flow
        class Base:
            n: int = 1

            def describe(self) -> str:
                return f"n={self.n}"

        @vein.flow
        class Child(Base):
            m: int = 2

            def describe(self) -> str:
                assert isinstance(self, Child)
                return super().describe() + f", m={self.m}"

            @vein.computed
            def text(self) -> str:
                return self.describe()

        c = Child()
        assert c.text == "n=1, m=2"
        c.n = 5
        assert c.text == "n=5, m=2"


class TestFreshForSubscribers:
    """A subscriber of a dependency that reads the computed value gets the new one."""

    def test_subscriber_of_the_field_reads_the_new_value(self):
        """Callbacks on ``database.host`` (child and root) read ``url`` already recomputed."""
        s = Server()
        assert s.url == "http://localhost:5432"  # cached
        seen: list[str] = []
        s.database.on_change("host", lambda c: seen.append(s.url))
        s.on_change("database.host", lambda c: seen.append(s.url))
        s.on_change(lambda c: seen.append(s.loud_url) if c.path == "database.host" else None)
        s.database.host = "db"
        assert seen == ["http://db:5432", "http://db:5432", "HTTP://DB:5432"]

    def test_also_when_someone_listens_to_the_computed_value(self):
        """With a listener on ``url`` (dependency watchers installed) the order does not matter."""
        s = Server()
        heard: list[vein.Change] = []
        s.on_change("url", heard.append)
        seen: list[str] = []
        s.on_change("scheme", lambda c: seen.append(s.url))
        s.scheme = "https"
        assert seen == ["https://localhost:5432"]
        assert _log(heard) == [("url", "http://localhost:5432", "https://localhost:5432")]

    def test_after_a_batch_and_an_update(self):
        """Same for the events a batch and an ``update`` fire after their commit."""
        s = Server()
        _ = s.url
        seen: list[str] = []
        s.on_change("scheme", lambda c: seen.append(s.url))
        with s.batch():
            s.scheme = "https"
        s.update({"scheme": "ftp"})
        assert seen == ["https://localhost:5432", "ftp://localhost:5432"]

    def test_collection_dependency(self):
        """An in-place mutation: a subscriber of the list reads the new count."""
        s = Server()
        assert s.tag_count == 0
        seen: list[int] = []
        s.on_change("tags", lambda c: seen.append(s.tag_count))
        s.tags.append("a")
        s.tags.extend(["b", "c"])
        assert seen == [1, 3]


@vein.flow
class Quota:
    """A helper that reads through ``type(self)``, which the recording stand-in cannot be."""

    LIMIT = 10
    used: int = 0
    other: int = 0

    def _cap(self) -> int:
        return type(self).LIMIT

    @vein.computed
    def left(self) -> int:
        return self._cap() - self.used

    @vein.computed
    def limit(self) -> int:
        return self.LIMIT  # a class constant read through self: no dependency


class TestWhenTheStandInCannotStandIn:
    """A function that fails on the stand-in is computed on the object, never stale."""

    def test_type_of_self(self):
        """``type(self).LIMIT`` works; the value follows every change (kept until one)."""
        q = Quota()
        assert q.left == 10
        q.used = 3
        assert q.left == 7
        got: list[vein.Change] = []
        q.on_change("left", got.append)
        q.used = 4
        q.other = 1  # may recompute, but no change is announced for an equal value
        assert _log(got) == [("left", 7, 6)]

    def test_class_constant_and_snapshot(self):
        """A class constant read through ``self``, on the object and on a snapshot."""
        q = Quota(used=2)
        assert q.limit == 10
        snap = q.snapshot()
        assert snap.LIMIT == 10 and snap.limit == 10

    def test_real_errors_still_raise(self):
        """An error the function raises on the object itself propagates."""

        @vein.flow
        class Broken:
            d: int = 0

            @vein.computed
            def ratio(self) -> float:
                return 1 / self.d

        b = Broken()
        with pytest.raises(ZeroDivisionError):
            _ = b.ratio
        b.d = 4
        assert b.ratio == 0.25


# --- a computed value below dynamic state, listened to from above -------------------------


@vein.flow
class Basket:
    prices: list[int] = vein.field(factory=list)

    @vein.computed
    def total(self) -> int:
        return sum(self.prices)


class Shopper(vein.Flow):
    """Dynamic state holding a flow object with a computed value in an attribute."""

    def __init__(self) -> None:
        self.basket = Basket()


class DeclaredShopper(vein.Flow):
    """Dynamic state whose flow object is in a declared field."""

    basket: Basket = vein.field(factory=Basket)

    def __init__(self) -> None:
        self.user = "ann"


@vein.flow
class Mall:
    shopper: Shopper = vein.field(factory=Shopper)


def _changes(got: list[vein.Change]) -> list[tuple[str, object, object]]:
    return [(c.path, c.old, c.new) for c in got]


class TestComputedBelowDynamicState:
    """``session.on_change("cart.total")`` hears the child's computed value, for dynamic
    classes too (before: only once someone subscribed on the child itself)."""

    @pytest.mark.parametrize("cls", [Shopper, DeclaredShopper])
    def test_ancestor_hears_the_child_computed_value(self, cls):
        s = cls()
        got: list[vein.Change] = []
        s.on_change("basket.total", got.append)
        s.basket.prices.append(3)
        s.basket.prices.append(4)
        assert _changes(got) == [("basket.total", 0, 3), ("basket.total", 3, 7)]

    @pytest.mark.parametrize("cls", [Shopper, DeclaredShopper])
    def test_star_and_subtree_subscriptions(self, cls):
        for path in ("*", "basket"):
            s = cls()
            got: list[vein.Change] = []
            s.on_change(path, got.append)
            s.basket.prices.append(5)
            assert ("basket.total", 0, 5) in _changes(got)

    def test_two_levels_up(self):
        m = Mall()
        got: list[vein.Change] = []
        m.on_change("shopper.basket.total", got.append)
        m.shopper.basket.prices.append(2)
        assert _changes(got) == [("shopper.basket.total", 0, 2)]
        with pytest.raises(ValueError, match="no field"):
            m.on_change("shoper.basket.total", got.append)  # still checked above dynamic state

    def test_replaced_dynamic_child(self):
        """A new object in the attribute: its value is announced, and then its changes."""
        s = Shopper()
        got: list[vein.Change] = []
        s.on_change("basket.total", got.append)
        s.basket = Basket(prices=[5])
        s.basket.prices.append(1)
        s.basket = Basket(prices=[6])  # equal total: nothing to announce
        assert _changes(got) == [("basket.total", 0, 5), ("basket.total", 5, 6)]

    def test_attribute_set_after_subscribing(self):
        class Later(vein.Flow):
            def __init__(self) -> None:
                self.user = "ann"

        s = Later()
        got: list[vein.Change] = []
        s.on_change("basket.total", got.append)
        s.basket = Basket(prices=[2])
        s.basket.prices.append(2)
        assert _changes(got) == [("basket.total", vein.MISSING, 2), ("basket.total", 2, 4)]

    def test_nothing_heard_when_unchanged_or_rolled_back(self):
        s = Shopper()
        got: list[vein.Change] = []
        s.on_change("basket.total", got.append)
        with pytest.raises(RuntimeError), s.batch():
            s.basket.prices.append(9)
            raise RuntimeError
        s.basket.prices.extend([])
        assert got == []


def test_two_writer_threads_never_announce_one_change_twice():
    """Both inputs of one computed value written from two threads at once: every change of
    the value is announced once, and each announcement starts where the previous ended."""
    import collections
    import sys

    @vein.flow
    class Srv:
        a: int = 0
        b: int = 0

        @vein.computed
        def total(self) -> int:
            return self.a + self.b * 1_000_000

    s = Srv()
    heard: list[tuple[int, int]] = []
    s.on_change("total", lambda c: heard.append((c.old, c.new)))
    n = 3000
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        writers = [
            threading.Thread(target=lambda: [setattr(s, "a", i) for i in range(1, n + 1)]),
            threading.Thread(target=lambda: [setattr(s, "b", i) for i in range(1, n + 1)]),
        ]
        for t in writers:
            t.start()
        for t in writers:
            t.join(120)
    finally:
        sys.setswitchinterval(old_interval)
    assert not any(t.is_alive() for t in writers)
    twice = [pair for pair, k in collections.Counter(heard).items() if k > 1]
    assert twice == []
    assert heard and heard[-1][1] == s.total == n + n * 1_000_000
