"""A field annotated with a union of flow classes (``tls: Tls | None``) holds its object as
a child: writes inside it are relayed to the owner's subscribers (``tls.enabled``), run
under the owner's lock, join its batches, are checked by its policies and show in its
snapshots -- as a section's do.  Unlike a section, the field is set as a whole (by an
assignment or a source), and the object it held before is released."""

from __future__ import annotations

import copy
import pickle
from typing import Optional

import pytest

import vein


@vein.flow
class Tls:
    enabled: bool = False
    cert: str = ""

    @vein.policy
    def cert_when_enabled(self) -> None:
        if self.enabled and not self.cert:
            raise ValueError("a certificate is needed when TLS is enabled")


@vein.flow
class Server:
    port: int = 8080
    tls: Optional[Tls] = None  # noqa: UP045  (the spelling users write)


@vein.flow
class WithDefault:
    tls: Tls | None = Tls(cert="default.pem")  # noqa: RUF009  (a shared default object)


def paths(changes: list[vein.Change]) -> list[str]:
    return [c.path for c in changes]


def test_writes_inside_the_held_object_reach_the_owner() -> None:
    s = Server()
    got: list[vein.Change] = []
    s.on_change(got.append)
    s.on_change("tls", got.append)
    s.tls = Tls(cert="a.pem")
    s.tls.enabled = True
    assert paths(got) == ["tls", "tls", "tls.enabled", "tls.enabled"]
    assert s.tls._vein.find_tree() is s._vein.find_tree()  # one lock for the whole tree


def test_the_object_replaced_is_released() -> None:
    s = Server(tls=Tls(cert="a.pem"))
    old = s.tls
    assert old is not None
    s.tls = Tls(cert="b.pem")
    got: list[vein.Change] = []
    s.on_change(got.append)
    old.cert = "changed"  # no longer part of s
    s.tls = None
    assert paths(got) == ["tls"]
    assert old._vein.parent is None and old._vein.find_tree() is not s._vein.find_tree()


def test_an_object_of_another_tree_or_a_shared_default_is_copied() -> None:
    a, b = Server(tls=Tls(cert="a.pem")), Server()
    b.tls = a.tls
    assert b.tls == a.tls and b.tls is not a.tls
    assert a.tls is not None and b.tls is not None
    b.tls.cert = "b.pem"
    assert a.tls.cert == "a.pem"
    one, two = WithDefault(), WithDefault()
    assert one.tls is not None and two.tls is not None
    one.tls.cert = "one.pem"
    assert two.tls.cert == "default.pem"
    assert WithDefault().tls == Tls(cert="default.pem")


def test_policies_of_the_held_object_and_of_the_owner() -> None:
    s = Server(tls=Tls())
    assert s.tls is not None
    with pytest.raises(vein.ValidationError, match="cert_when_enabled"):
        s.tls.enabled = True
    assert s.tls.enabled is False

    @vein.flow
    class Strict:
        tls: Tls | None = None

        @vein.policy
        def tls_on_a_port(self) -> None:
            if self.tls is not None and self.tls.cert == "forbidden.pem":
                raise ValueError("that certificate may not be used")

    st = Strict(tls=Tls())
    assert st.tls is not None
    with pytest.raises(vein.ValidationError, match="tls_on_a_port"):
        st.tls.cert = "forbidden.pem"  # a write inside runs the owner's policy
    assert st.tls.cert == ""


def test_batches_coalesce_and_roll_back_through_the_held_object() -> None:
    s = Server(tls=Tls())
    got: list[vein.Change] = []
    s.on_change(got.append)
    held = s.tls
    assert held is not None
    with pytest.raises(RuntimeError), s.batch():
        held.cert = "x.pem"
        s.tls = Tls(cert="other.pem")
        raise RuntimeError("abort")
    assert s.tls is held and held.cert == "" and held._vein.parent is s._vein
    assert got == []
    with s.batch():
        held.cert = "c.pem"
        held.enabled = True  # the policy runs at the end of the batch, not per write
    assert paths(got) == ["tls.cert", "tls.enabled"]


def test_snapshots_see_writes_inside() -> None:
    s = Server(tls=Tls(cert="a.pem"))
    before = s.snapshot()
    assert s.tls is not None
    s.tls.cert = "b.pem"
    after = s.snapshot()
    assert before.tls.cert == "a.pem" and after.tls.cert == "b.pem"
    assert s.snapshot() is after


def test_sources_set_it_as_a_whole_and_explain_says_from_where() -> None:
    s = vein.load(Server, vein.from_dict({"tls": {"cert": "a.pem"}}, name="file"))
    got: list[vein.Change] = []
    s.on_change(got.append)
    assert s.tls is not None and s.tls._vein.parent is s._vein
    assert str(s.explain("tls.cert")) == str(s.explain("tls")) == "dict file (key tls)"
    s.tls.enabled = True
    assert paths(got) == ["tls.enabled"] and str(s.explain("tls.enabled")) == "runtime"
    s.update(vein.from_dict({"tls": {"cert": "b.pem"}}, name="file"))
    assert s.tls is not None and s.tls.cert == "b.pem" and s.tls._vein.parent is s._vein
    with pytest.raises(vein.ValidationError):  # the new object must satisfy its policies
        s.update(vein.from_dict({"tls": {"enabled": True, "cert": ""}}, name="file"))
    assert s.tls.cert == "b.pem"


@pytest.mark.parametrize(
    "clone", [copy.copy, copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))]
)
def test_a_clone_holds_its_own_child(clone) -> None:  # type: ignore[no-untyped-def]
    s = Server(tls=Tls(cert="a.pem"))
    c = clone(s)
    got: list[vein.Change] = []
    c.on_change(got.append)
    assert c.tls is not None and c.tls._vein.parent is c._vein
    c.tls.cert = "c.pem"
    assert paths(got) == ["tls.cert"]
    assert s.tls is not None and s.tls._vein.parent is s._vein


def test_a_reload_that_did_not_change_it_keeps_runtime_writes_inside(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The layer keeps the object the source gave, not the live one: writes inside the
    held object do not make an unchanged source look changed (layering rule 3)."""
    path = tmp_path / "site.yml"
    path.write_text("port: 1\ntls:\n  cert: from-file\n", encoding="utf-8")
    s = vein.load(Server, vein.from_yaml(path))
    assert s.tls is not None
    s.tls.cert = "set-at-runtime"
    path.write_text("port: 2\ntls:\n  cert: from-file\n", encoding="utf-8")
    changes = s.update(vein.from_yaml(path))
    assert [c.path for c in changes] == ["port"]
    assert s.tls.cert == "set-at-runtime"


def test_the_held_object_and_its_copies_explain_their_values(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "site.yml"
    path.write_text("tls:\n  cert: a.pem\n", encoding="utf-8")
    s = vein.load(Server, vein.from_yaml(path))
    assert s.tls is not None
    where = str(s.explain("tls.cert"))
    assert where.endswith("site.yml:1:1")
    for held in (s.tls, copy.deepcopy(s.tls), pickle.loads(pickle.dumps(s.tls))):
        assert str(held.explain("cert")) == where


def test_a_computed_value_hears_the_held_object_replaced() -> None:
    @vein.flow
    class Site:
        tls: Tls | None = None

        @vein.computed
        def secure(self) -> bool:
            return self.tls is not None and self.tls.enabled

    s = Site(tls=Tls())
    heard: list[tuple[object, object]] = []
    s.on_change("secure", lambda c: heard.append((c.old, c.new)))
    s.tls = Tls(enabled=True, cert="a.pem")
    s.tls = None
    assert heard == [(False, True), (True, False)]


@vein.flow
class TreeNode:
    v: int = 0
    child: TreeNode | None = None


def test_a_class_that_holds_its_own_kind() -> None:
    """``child: Node | None`` inside Node (a schema still being built) is held too."""
    root = TreeNode(child=TreeNode())
    heard: list[str] = []
    root.on_change(lambda c: heard.append(c.path))
    assert root.child is not None
    root.child.v = 1
    root.child.child = TreeNode()
    root.child.child.v = 2
    assert heard == ["child.v", "child.child", "child.child.v"]
    before = root.snapshot()
    root.child.v = 3
    assert before.child.v == 1 and root.snapshot().child.v == 3
    loop = TreeNode()
    loop.child = loop  # itself: a copy, never a cycle
    assert loop.child is not loop and loop.child.child is None


def test_a_bad_value_inside_names_its_key_at_runtime_and_from_env(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(vein.ValidationError) as info:
        Server().tls = {"enabled": "maybe"}  # type: ignore[assignment]
    assert info.value.errors[0].path == "tls.enabled"
    monkeypatch.setenv("APP_TLS", '{"enabled": "maybe"}')
    with pytest.raises(vein.ValidationError) as info:
        vein.load(Server, vein.from_env("APP_"))
    assert info.value.errors[0].path == "tls.enabled"
    assert "expected a boolean" in str(info.value) and "APP_TLS" in str(info.value)
