"""Flow objects held by list and dict fields belong to the owner's tree (docs/collections.md,
"Flow objects inside lists and dicts"): a write inside an element is locked, batched,
checked by the owner's policies, seen by computed values and snapshots, and heard by the
owner's subscribers with a path through the field (``lines[0].qty``)."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest

import vein


@vein.flow
class Line:
    sku: str
    qty: int = 1
    unit: int = 0


def _sum(lines: Any) -> int:
    return sum(line.qty * line.unit for line in lines)


@vein.flow
class Cart:
    lines: list[Line] = vein.field(factory=list)
    discount: int = 0

    @vein.computed
    def total(self) -> int:
        return _sum(self.lines) - self.discount

    @vein.policy
    def ok(self) -> None:
        if self.discount > _sum(self.lines):
            raise ValueError("too much")


@vein.flow
class Shelf:
    stock: dict[str, Line] = vein.field(factory=dict)
    discount: int = 0

    @vein.computed
    def total(self) -> int:
        return _sum(self.stock.values()) - self.discount

    @vein.policy
    def ok(self) -> None:
        if self.discount > _sum(self.stock.values()):
            raise ValueError("too much")


@vein.flow
class Checked:
    qty: int = 1

    @vein.policy
    def positive(self) -> None:
        if self.qty < 1:
            raise ValueError("qty must be positive")


@vein.flow
class Plain:  # no policies of its own: only its elements' class declares one
    rows: list[Checked] = vein.field(factory=list)


@vein.flow
class Store:
    cart: Cart = vein.field(factory=Cart)


def cart_2000() -> Cart:
    cart = Cart()
    cart.lines.append(Line("book", 2, 1000))
    cart.discount = 2000
    return cart


def shelf_2000() -> Shelf:
    shelf = Shelf()
    shelf.stock["book"] = Line("book", 2, 1000)
    shelf.discount = 2000
    return shelf


class TestListElements:
    def test_computed_sees_element_write(self) -> None:
        cart = cart_2000()
        assert cart.total == 0
        cart.lines[0].qty = 3
        assert cart.total == 1000

    def test_policy_rejects_and_rolls_back(self) -> None:
        cart = cart_2000()
        with pytest.raises(vein.ValidationError, match="too much"):
            cart.lines[0].qty = 1
        assert cart.lines[0].qty == 2
        assert cart.total == 0

    def test_event_path_through_the_field(self) -> None:
        cart = cart_2000()
        cart.discount = 0
        cart.lines.append(Line("pen", 1, 5))
        heard: list[vein.Change] = []
        everything: list[vein.Change] = []
        cart.on_change("lines", heard.append)
        cart.on_change(everything.append)
        cart.lines[1].qty = 4
        assert [(c.path, c.old, c.new) for c in heard] == [("lines[1].qty", 1, 4)]
        assert [c.path for c in everything] == ["lines[1].qty", "total"]  # "*" hears total too

    def test_ancestor_of_owner_hears_it(self) -> None:
        store = Store()
        store.cart.lines.append(Line("book", 1, 10))
        heard: list[str] = []
        store.on_change("cart.lines", lambda c: heard.append(c.path))
        store.cart.lines[0].unit = 20
        assert heard == ["cart.lines[0].unit"]
        assert store.cart.total == 20

    def test_computed_listener_hears_element_write(self) -> None:
        cart = cart_2000()
        heard: list[tuple[Any, Any]] = []
        cart.on_change("total", lambda c: heard.append((c.old, c.new)))
        cart.lines[0].qty = 3
        assert heard == [(0, 1000)]

    def test_snapshot_is_fresh(self) -> None:
        cart = cart_2000()
        s1 = cart.snapshot()
        cart.lines[0].qty = 3
        s2 = cart.snapshot()
        assert s2 is not s1
        assert s1.lines[0].qty == 2 and s2.lines[0].qty == 3
        assert cart.snapshot() is s2  # unchanged since: the same snapshot

    def test_batch_rollback(self) -> None:
        cart = cart_2000()
        heard: list[vein.Change] = []
        cart.on_change(heard.append)
        s1 = cart.snapshot()
        with pytest.raises(RuntimeError):
            with cart.batch():
                cart.lines[0].qty = 99
                assert cart.total == 97000
                raise RuntimeError
        assert cart.lines[0].qty == 2
        assert cart.total == 0
        assert cart.snapshot() == s1
        assert heard == []

    def test_batch_commits_once(self) -> None:
        cart = cart_2000()
        heard: list[tuple[str, Any, Any]] = []
        cart.on_change(lambda c: heard.append((c.path, c.old, c.new)))
        with cart.batch():
            cart.lines[0].qty = 5
            cart.lines[0].qty = 6
        assert heard == [("lines[0].qty", 2, 6), ("total", 0, 4000)]

    def test_batch_policies_at_the_end(self) -> None:
        cart = cart_2000()
        with pytest.raises(vein.ValidationError), cart.batch():
            cart.lines[0].qty = 1  # below the discount: rejected when the batch ends
        assert cart.lines[0].qty == 2

    def test_element_class_policies_run(self) -> None:
        plain = Plain()
        plain.rows.append(Checked())
        with pytest.raises(vein.ValidationError, match="positive"):
            plain.rows[0].qty = 0
        assert plain.rows[0].qty == 1

    def test_write_uses_the_owners_lock(self) -> None:
        cart = cart_2000()
        line = cart.lines[0]
        assert line._vein.find_tree().lock is cart._vein.find_tree().lock
        done = threading.Event()
        with cart.batch():
            t = threading.Thread(target=lambda: (setattr(line, "unit", 5000), done.set()))
            t.start()
            assert not done.wait(0.05)  # waits for the batch's lock
        t.join()
        assert line.unit == 5000

    def test_update_on_element(self) -> None:
        cart = cart_2000()
        heard: list[str] = []
        cart.on_change("lines", lambda c: heard.append(c.path))
        cart.lines[0].update({"qty": 4})
        assert cart.lines[0].qty == 4
        assert cart.total == 2000
        assert heard == ["lines[0].qty"]

    def test_error_path_names_the_element(self) -> None:
        cart = cart_2000()
        with pytest.raises(vein.ValidationError) as info:
            cart.lines[0].qty = "many"  # type: ignore[assignment]
        assert info.value.errors[0].path == "lines[0].qty"


class TestDictElements:
    def test_computed_policy_event_snapshot(self) -> None:
        shelf = shelf_2000()
        heard: list[str] = []
        shelf.on_change("stock", lambda c: heard.append(c.path))
        s1 = shelf.snapshot()
        shelf.stock["book"].qty = 3
        assert shelf.total == 1000
        assert heard == ["stock['book'].qty"]
        assert shelf.snapshot() is not s1
        assert shelf.snapshot().stock["book"].qty == 3
        with pytest.raises(vein.ValidationError):
            shelf.stock["book"].qty = 1
        assert shelf.stock["book"].qty == 3

    def test_batch_rollback(self) -> None:
        shelf = shelf_2000()
        with pytest.raises(RuntimeError), shelf.batch():
            shelf.stock["book"].qty = 50
            raise RuntimeError
        assert shelf.stock["book"].qty == 2
        assert shelf.total == 0

    def test_removed_value_released(self) -> None:
        shelf = shelf_2000()
        shelf.discount = 0
        line = shelf.stock.pop("book")
        heard: list[vein.Change] = []
        shelf.on_change(heard.append)
        line.qty = 9
        assert heard == [] and line._vein.parent is None


class TestMembership:
    def test_removed_elements_released(self) -> None:
        cart = Cart()
        lines = [Line(str(i), 1, 1) for i in range(5)]
        cart.lines.extend(lines)
        a = cart.lines.pop()
        cart.lines.remove(lines[0])
        del cart.lines[0]
        out = [a, lines[0], lines[1]]
        heard: list[vein.Change] = []
        cart.on_change(heard.append)
        for line in out:
            assert line._vein.parent is None and line._vein.box is None
            line.qty = 7
        assert heard == []
        assert cart.total == 2
        kept = list(cart.lines)
        cart.lines.clear()
        assert all(line._vein.parent is None for line in kept)

    def test_replaced_container_releases(self) -> None:
        cart = cart_2000()
        cart.discount = 0
        old = cart.lines[0]
        new = Line("pen", 1, 3)
        cart.lines = [new]
        assert old._vein.parent is None
        assert new._vein.box is cart.lines
        cart.lines[0].qty = 2
        assert cart.total == 6

    def test_filtering_keeps_the_objects(self) -> None:
        cart = Cart()
        a, b = Line("a", 1, 1), Line("b", 0, 1)
        cart.lines.extend([a, b])
        cart.lines = [line for line in cart.lines if line.qty]
        assert cart.lines[0] is a and a._vein.box is cart.lines
        assert b._vein.parent is None
        a.qty = 5
        assert cart.total == 5

    def test_assigning_an_equal_list_keeps_everything(self) -> None:
        cart = cart_2000()
        line = cart.lines[0]
        fresh = Line("book", 2, 1000)
        cart.lines = [fresh]  # equal: nothing is stored
        assert cart.lines[0] is line
        fresh.qty = 1  # the fresh object is on its own: no policy, no event
        assert fresh._vein.parent is None
        assert cart.total == 0

    def test_element_of_another_tree_is_copied(self) -> None:
        one, two = cart_2000(), Cart()
        two.lines.append(one.lines[0])
        assert two.lines[0] is not one.lines[0]
        assert two.lines[0] == one.lines[0]
        two.lines[0].qty = 5
        assert one.lines[0].qty == 2 and two.total == 5000

    def test_same_object_twice_is_copied(self) -> None:
        cart = Cart()
        line = Line("a", 1, 1)
        cart.lines.append(line)
        cart.lines.append(line)
        assert cart.lines[0] is line and cart.lines[1] is not line
        cart.lines[1].qty = 3
        assert cart.lines[0].qty == 1 and cart.total == 4
        cart.lines *= 2
        assert len({id(x) for x in cart.lines}) == 4

    def test_nested_section_object_is_copied(self) -> None:
        store = Store()
        store.cart.lines.append(Line("a", 1, 1))
        other = Cart()
        other.lines.extend(store.cart.lines)
        assert other.lines[0] is not store.cart.lines[0]

    def test_rollback_relinks_and_releases(self) -> None:
        cart = cart_2000()
        line = cart.lines[0]
        extra = Line("pen", 1, 1)
        with pytest.raises(RuntimeError), cart.batch():
            cart.lines.pop()
            cart.lines.append(extra)
            raise RuntimeError
        assert cart.lines == [line] and cart.lines[0] is line
        assert line._vein.box is cart.lines and extra._vein.parent is None
        with pytest.raises(vein.ValidationError):
            line.qty = 1  # linked again: the policy runs

    def test_policy_rejected_mutation_relinks(self) -> None:
        cart = cart_2000()
        line = cart.lines[0]
        with pytest.raises(vein.ValidationError):
            cart.lines.clear()
        assert cart.lines[0] is line and line._vein.box is cart.lines
        with pytest.raises(vein.ValidationError):
            line.qty = 1

    def test_construction_and_copies_link(self) -> None:
        cart = Cart(lines=[Line("a", 1, 10)], discount=5)
        heard: list[str] = []
        cart.on_change("lines", lambda c: heard.append(c.path))
        cart.lines[0].qty = 2
        assert heard == ["lines[0].qty"] and cart.total == 15
        for dup in (copy.copy(cart), copy.deepcopy(cart)):
            assert dup.lines[0] is not cart.lines[0]
            dup.lines[0].qty = 3
            assert dup.total == 25 and cart.total == 15

    def test_sort_keeps_the_objects(self) -> None:
        cart = Cart()
        b, a = Line("b", 1, 1), Line("a", 1, 1)
        cart.lines.extend([b, a])
        cart.lines.sort(key=lambda line: line.sku)
        assert cart.lines[0] is a and cart.lines[1] is b
        heard: list[str] = []
        cart.on_change("lines", lambda c: heard.append(c.path))
        b.qty = 2
        assert heard == ["lines[1].qty"]

    def test_set_elements_are_not_adopted(self) -> None:
        # Flow objects compare by value, so they are unhashable: a set cannot hold them.
        @vein.flow
        class Bag:
            lines: set[Line] = vein.field(factory=set)

        with pytest.raises(TypeError):
            Bag().lines.add(Line("a"))


class TestThreads:
    def test_concurrent_element_writes_not_lost(self) -> None:
        cart = Cart()
        cart.lines.extend(Line(str(i), 0, 1) for i in range(4))
        seen: list[int] = []
        cart.on_change("lines", lambda c: seen.append(1))

        def bump(i: int) -> None:
            line = cart.lines[i % 4]
            for _ in range(200):
                with cart.batch():
                    line.qty = line.qty + 1

        threads = [threading.Thread(target=bump, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [line.qty for line in cart.lines] == [400] * 4
        assert cart.total == 1600 and len(seen) == 1600

    def test_element_snapshot_does_not_wait_for_a_batch(self) -> None:
        cart = cart_2000()
        line = cart.lines[0]
        before = line.snapshot()
        cart.snapshot()
        got: list[Any] = []
        with cart.batch():
            line.qty = 7
            t = threading.Thread(target=lambda: got.append(line.snapshot()))
            t.start()
            t.join(2)
        assert got == [before]
