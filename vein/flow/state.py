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
    from .events import Subscription
    from .layers import Layer
    from .provenance import Provenance

__all__ = ["Node", "Tree", "new_node"]


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


class Node:
    """The vein side of one flow object.  Attributes default on the class (cheap to make)."""

    obj: Any = None  # the flow object itself (the node is owned by it)
    parent: Node | None = None
    name: str = ""  # field name in the parent
    subs: dict[str, tuple[Subscription, ...]] | None = None
    prov: dict[str, Provenance] | None = None
    tree: Tree | None = None

    def find_tree(self) -> Tree:
        """The tree this node belongs to (created at the root on first use)."""
        node = self
        while node.parent is not None:
            if node.tree is not None:
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
        return tree

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
            names.append(node.name)
            node = node.parent
        return "".join(n + "." for n in reversed(names))


_new = object.__new__


def new_node(obj: Any) -> Node:
    node: Node = _new(Node)
    node.obj = obj
    return node
