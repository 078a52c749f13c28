"""Per-object and per-tree bookkeeping kept beside the user's fields.

Every flow object has one :class:`Node` in its ``_vein`` slot: its place in the tree
(parent node and field name), its subscribers and the provenance of its values.  The
:class:`Tree` (lock, layers, error handlers, open batch) is shared by every node of one
tree and is created lazily at the root, so constructing an object stays cheap.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from .events import Subscription, SubTable
    from .layers import Layer
    from .provenance import Provenance

__all__ = [
    "ElementTree",
    "Node",
    "Tree",
    "element_key",
    "element_slot",
    "heard",
    "held",
    "is_flow_object",
    "new_node",
    "touch_boxes",
]


#: Held while a tree is created (rare: once per tree), never on the write path.
_CREATING: Final = threading.Lock()


class Tree:
    """State shared by every object of one tree."""

    __slots__ = ("batch", "error_handlers", "layers", "lock", "policies_on", "root", "version")

    def __init__(self, root: Node) -> None:
        self.lock = threading.RLock()
        self.root = root
        self.layers: dict[str, Layer] = {}
        self.error_handlers: tuple[Subscription, ...] = ()
        self.batch: Any = None  # an open vein.flow.batch.Batch, or None
        self.version = 0  # bumped by every commit; snapshots use it to stay consistent
        # Called after a runtime write when a class of this tree declares policies.
        self.policies_on: Any = None


class ElementTree:
    """The tree of a flow object held in an evented list or dict field: its owner's tree.

    Everything is the owner's (lock, open batch, policies, error handlers, root) except
    the layers of an ``update`` made on the element itself, whose paths start at it.  A
    commit inside the element bumps the version through here, which also bumps the
    revision of the container holding it: that revision is what computed values and
    snapshots of the owner compare, so they see a change made inside an element.
    """

    __slots__ = ("layers", "node", "up")

    def __init__(self, node: Node, up: Tree | ElementTree) -> None:
        self.node = node
        self.up = up  # the owner's tree (itself an ElementTree for an element's element)
        self.layers: dict[str, Layer] = {}

    @property
    def lock(self) -> Any:
        return self.up.lock

    @property
    def root(self) -> Node:
        return self.up.root

    @property
    def batch(self) -> Any:
        return self.up.batch

    @batch.setter
    def batch(self, value: Any) -> None:
        self.up.batch = value

    @property
    def error_handlers(self) -> tuple[Subscription, ...]:
        return self.up.error_handlers

    @error_handlers.setter
    def error_handlers(self, value: tuple[Subscription, ...]) -> None:
        self.up.error_handlers = value

    @property
    def policies_on(self) -> Any:
        return self.up.policies_on

    @policies_on.setter
    def policies_on(self, value: Any) -> None:
        self.up.policies_on = value

    @property
    def version(self) -> int:
        return self.up.version

    @version.setter
    def version(self, value: int) -> None:
        box = self.node.box
        if box is not None:
            box._rev += 1
        self.up.version = value


class Node:
    """The vein side of one flow object.  Attributes default on the class (cheap to make)."""

    obj: Any = None  # the flow object itself (the node is owned by it)
    parent: Node | None = None
    name: str = ""  # field name in the parent
    #: The evented list or dict (of field *name* of the parent) that holds this object as
    #: an element, or ``None`` for a nested field, a dynamic attribute or a root.
    box: Any = None
    subs: SubTable | None = None  # replaced, never changed in place (see SubTable)
    prov: dict[str, Provenance] | None = None
    tree: Tree | ElementTree | None = None

    def find_tree(self) -> Tree:
        """The tree this node belongs to (created at the root on first use)."""
        node = self
        while node.parent is not None:
            if node.tree is not None:
                break
            if node.box is not None:
                if held(node):
                    # An element of a container: its own view of the owner's tree.  The
                    # owner's is found first (_CREATING is not reentrant).
                    up = node.parent.find_tree()
                    with _CREATING:
                        if node.tree is None:
                            node.tree = ElementTree(node, up)
                    break
                # A link left by a container that was never stored (an assignment of an
                # equal value): the object is on its own.
                node.parent, node.name, node.box = None, "", None
                break
            node = node.parent
        tree = node.tree
        if tree is None:
            # Two threads making the first writes to one new tree (one on the root, one on
            # a child) must not each make a Tree: the tree would have two locks.
            with _CREATING:
                tree = node.tree
                if tree is None:
                    tree = Tree(node)
                    from .txn import PolicyRunner, tree_has_policies

                    if node.obj is not None and tree_has_policies(node.obj):
                        tree.policies_on = PolicyRunner()
                    node.tree = tree
        self.tree = tree
        return tree  # type: ignore[return-value]  # an ElementTree stands in for its Tree

    def root(self) -> Node:
        node = self
        while node.parent is not None:
            node = node.parent
        return node

    def path_prefix(self) -> str:
        """Dotted path of this node from the root, with a trailing dot (``""`` at the root)."""
        names = []
        node = self
        while node.parent is not None:
            names.append(node.name if node.box is None else node.name + (element_key(node) or ""))
            node = node.parent
        return "".join(n + "." for n in reversed(names))

    def layer_root(self) -> tuple[Node, str]:
        """The node whose tree's layers an ``update`` here uses, and the dotted path to here.

        The root -- or the nearest container element: list positions move, so the layers
        of an element's own updates are kept by the element, with paths from it.
        """
        names = []
        node = self
        while node.parent is not None and node.box is None:
            names.append(node.name)
            node = node.parent
        return node, "".join(n + "." for n in reversed(names))


def touch_boxes(node: Node) -> None:
    """A value below *node* was put back without a commit (a rollback): every list or dict
    holding *node* or an ancestor as an element counts a change, so what computed values
    and snapshots above made of it is stale."""
    n: Node | None = node
    while n is not None:
        if n.box is not None:
            n.box._rev += 1
        n = n.parent


def is_flow_object(value: Any) -> bool:
    """Is *value* a flow object (an instance of a flow class, not the class itself)?"""
    return hasattr(value, "_vein") and not isinstance(value, type)


def heard(node: Node) -> bool:
    """Could a change of *node*'s fields reach a subscriber (here or on an ancestor)?"""
    n: Node | None = node
    while n is not None:
        if n.subs is not None:
            return True
        n = n.parent
    return False


def held(node: Node) -> bool:
    """Is *node*'s object still an element of its container, and that container stored?"""
    box = node.box
    owner = box._owner
    if owner is None or owner[0]._vein is not node.parent:
        return False
    if getattr(owner[0], owner[1].name, None) is not box:
        return False
    return element_slot(node) is not None


def element_slot(node: Node) -> tuple[Any] | None:
    """``(index,)`` or ``(key,)`` of *node*'s object in its container, found by identity."""
    box = node.box
    obj = node.obj
    if isinstance(box, dict):
        for k, v in dict.items(box):
            if v is obj:
                return (k,)
        return None
    for i, v in enumerate(list.__iter__(box)):
        if v is obj:
            return (i,)
    return None


def element_key(node: Node) -> str | None:
    """``[0]`` or ``['book']``: *node*'s place in its container, as paths show it."""
    slot = element_slot(node)
    return None if slot is None else f"[{slot[0]!r}]"


_new = object.__new__


def new_node(obj: Any) -> Node:
    node: Node = _new(Node)
    node.obj = obj
    return node
