"""``from_yaml``: a YAML file, read safely, with the line and column of every key.

PyYAML (the libyaml C parser when present) composes the node graph; vein turns nodes into
raw data itself so that

* plain scalars keep their original text (:class:`~vein.structuring.Plain`): a ``str``
  field gets ``NO``, ``on``, ``1.10``, ``012`` or ``22:30`` exactly as written, and untyped
  places get the YAML 1.2 core type (only ``true``/``false`` are booleans);
* tags that build objects (``!!python/...``) and unknown tags are refused;
* anchors, aliases and merge keys (``<<``) work, while an alias bomb is refused after a
  bounded amount of work, and a recursive alias is an error;
* non-text keys (``386:``, ``true:``) become their text; duplicates are an error.
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Mapping
from typing import Any, Final

from ..errors import SourceError
from ..structuring import ConversionError, Plain, resolve_plain
from .base import Document, FileSource, check_mapping_root

__all__ = ["YamlSource", "from_yaml", "parse_yaml"]

PLAIN_TAG: Final = "!vein/plain"
_Y = "tag:yaml.org,2002:"
_TEXT_TAGS: Final = (PLAIN_TAG, _Y + "str")  # scalars whose text is the key as it is
MAX_DEPTH: Final = 200

_loader_cls: Any = None


def _loader() -> Any:
    """The loader class, built on first use (keeps ``import vein`` free of PyYAML)."""
    global _loader_cls
    if _loader_cls is not None:
        return _loader_cls
    import yaml

    try:
        # the libyaml parser (~8x faster); types-PyYAML does not re-export it from yaml.cyaml
        from yaml.cyaml import CParser as Parser  # type: ignore[attr-defined]

        bases: tuple[type, ...] = (Parser, yaml.resolver.BaseResolver)
    except ImportError:  # pragma: no cover - PyYAML without libyaml
        bases = (
            yaml.reader.Reader,
            yaml.scanner.Scanner,
            yaml.parser.Parser,
            yaml.composer.Composer,
            yaml.resolver.BaseResolver,
        )
    scalar_node = yaml.ScalarNode
    base = yaml.resolver.BaseResolver
    # What BaseResolver.resolve() answers when it has no implicit and no path resolvers,
    # which this loader never has.
    kind_tags = {
        yaml.ScalarNode: base.DEFAULT_SCALAR_TAG,
        yaml.SequenceNode: base.DEFAULT_SEQUENCE_TAG,
        yaml.MappingNode: base.DEFAULT_MAPPING_TAG,
    }

    def resolve(self: Any, kind: Any, value: Any, implicit: Any) -> str:
        if kind is scalar_node and implicit[0]:
            return PLAIN_TAG  # typed later, by the target field
        return kind_tags[kind]

    ns: dict[str, Any] = {
        "resolve": resolve,
        "yaml_path_resolvers": {},  # its own (empty) table: none added to BaseResolver's
        # The composer calls these two for every node, to follow path resolvers: with none,
        # they have nothing to do, and builtins do that nothing without a Python call.
        "descend_resolver": staticmethod(operator.is_),  # (parent, index)
        "ascend_resolver": staticmethod(int),  # ()
    }
    if len(bases) > 2:  # pragma: no cover - pure-Python loader

        def init(self: Any, stream: Any) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            yaml.resolver.BaseResolver.__init__(self)

        ns["__init__"] = init
    _loader_cls = type("VeinYamlLoader", bases, ns)
    return _loader_cls


class _Walker:
    """Turns a composed node graph into raw data plus key marks.

    *aliased*: the document may hold aliases (its text has a ``*``).  Only then can a node
    be reached twice (an alias bomb) or contain itself, so only then is every visit
    counted; a scalar value of a mapping is otherwise read in place, without a walk.
    """

    def __init__(self, display: str, yaml: Any, aliased: bool = True) -> None:
        self.display = display
        self.marks: dict[tuple[str, ...], tuple[int, int]] = {}
        self.visits = 0
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.yaml = yaml
        self.aliased = aliased

    def fail(self, node: Any, message: str) -> SourceError:
        mark = node.start_mark
        return SourceError(message, source=self.display, line=mark.line + 1, column=mark.column + 1)

    def walk(self, node: Any, path: tuple[str, ...], depth: int) -> Any:
        self.visits += 1
        nid = id(node)
        self.seen.add(nid)
        if self.visits > 100_000 and self.visits > 4 * len(self.seen):
            raise self.fail(
                node, "refused: anchors and aliases expand to too much data (an alias bomb?)"
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels")
        yaml = self.yaml
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, tag)
        if nid in self.active:
            raise self.fail(
                node, "a recursive alias (a node that contains itself) cannot be loaded"
            )
        self.active.add(nid)
        try:
            if isinstance(node, yaml.SequenceNode):
                if tag not in (_Y + "seq",):
                    raise self.unknown_tag(node)
                return [
                    self.walk(item, (*path, str(i)), depth + 1) for i, item in enumerate(node.value)
                ]
            if tag not in (_Y + "map",):
                raise self.unknown_tag(node)
            return self.mapping(node, path, depth)
        finally:
            self.active.discard(nid)

    def unknown_tag(self, node: Any) -> SourceError:
        tag = node.tag
        if tag.startswith(_Y + "python/") or tag.startswith("!!python"):
            return self.fail(
                node,
                f"tag {tag.replace(_Y, '!!')} builds a Python object; vein reads only safe YAML",
            )
        return self.fail(
            node,
            f"unsupported tag {tag.replace(_Y, '!!')} (vein reads plain YAML: maps, lists, scalars)",
        )

    def scalar(self, node: Any, tag: str) -> Any:
        value = node.value
        if tag == PLAIN_TAG:
            return Plain(value)
        if tag == _Y + "str":
            return value
        if tag in (_Y + "int", _Y + "float", _Y + "bool", _Y + "null"):
            # The value is not quoted in these messages: the schema, which says what is
            # secret, is not known while parsing; the location is enough to find it.
            name = tag[len(_Y) :]
            try:
                typed = resolve_plain(value)
                want = {"int": int, "float": float, "bool": bool, "null": type(None)}[name]
                if want is float and type(typed) is int:
                    typed = float(typed)
            except (ValueError, OverflowError, ConversionError):  # more digits than Python converts
                raise self.fail(node, f"the value tagged !!{name} is too large") from None
            if type(typed) is not want:
                raise self.fail(node, f"the value tagged !!{name} is not a valid {name}")
            return typed
        raise self.unknown_tag(node)

    def key_text(self, node: Any) -> str:
        yaml = self.yaml
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, "mapping keys must be scalars (text, numbers), not lists or maps")
        if node.tag not in _TEXT_TAGS:
            self.scalar(node, node.tag)  # refuses unknown tags
        return str(node.value)

    def mapping(self, node: Any, path: tuple[str, ...], depth: int) -> dict[str, Any]:
        yaml = self.yaml
        explicit: list[tuple[Any, Any]] = []
        merged: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == _Y + "merge" or (
                isinstance(key_node, yaml.ScalarNode)
                and key_node.tag == PLAIN_TAG
                and key_node.value == "<<"
            ):
                merged.append(value_node)
            else:
                explicit.append((key_node, value_node))
        combined: dict[str, Any] = {}
        if merged:
            # Merge keys: explicit keys win; among merged maps the first one wins.  The
            # merged maps are walked first, so the locations the explicit keys record
            # next win too -- without a scan of the marks per merge, which made a bomb of
            # nested merges quadratic.
            sources: list[Any] = []
            for m in merged:
                if isinstance(m, yaml.SequenceNode):
                    sources.extend(m.value)
                else:
                    sources.append(m)
            for src in reversed(sources):  # earlier maps overwrite later ones
                if not isinstance(src, yaml.MappingNode):
                    raise self.fail(src, "a merge key (<<) takes a mapping or a list of mappings")
                combined.update(self.walk(src, path, depth + 1))
        out: dict[str, Any] = {}
        marks = self.marks
        scalar_node = yaml.ScalarNode
        # A plain scalar value below the depth bound needs none of walk()'s checks.
        inline = not self.aliased and depth < MAX_DEPTH
        for key_node, value_node in explicit:
            if type(key_node) is scalar_node and key_node.tag in _TEXT_TAGS:
                key = key_node.value
            else:
                key = self.key_text(key_node)
            if key in out:
                raise self.fail(key_node, f"duplicate key {key!r} in this mapping")
            here = (*path, key)
            mark = key_node.start_mark
            marks[here] = (mark.line + 1, mark.column + 1)
            if inline and type(value_node) is scalar_node and value_node.tag == PLAIN_TAG:
                out[key] = Plain(value_node.value)
            else:
                out[key] = self.walk(value_node, here, depth + 1)
        for k, v in combined.items():
            if k not in out:
                out[k] = v
        return out


#: Above this bound on the nesting depth, the text is checked event by event before it is
#: composed: libyaml's composer recurses on the C stack, so a deep enough document (tens of
#: thousands of ``[`` or ``- ``) would crash the process instead of raising.
_SCAN_ABOVE: Final = 1000


def _check_depth(text: str, display: str) -> None:
    """Refuse *text* nested deeper than ``MAX_DEPTH`` before anything composes it."""
    # Block collections nest at most twice per column, flow collections once per bracket:
    # ordinary files stay under the bound and pay for no second pass.
    bound = 2 * (max(map(len, text.split("\n"))) + 1) + text.count("[") + text.count("{")
    if bound <= _SCAN_ABOVE:
        return
    import yaml

    parser = _loader()(text)  # the event parser keeps its own stack: no recursion
    depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise SourceError(
                        f"nested deeper than {MAX_DEPTH} levels",
                        source=display,
                        line=mark.line + 1 if mark else None,
                        column=mark.column + 1 if mark else None,
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        parser.dispose()


def parse_yaml(
    text: str, display: str, *, document: int | None = None, what: str = "YAML file"
) -> tuple[Mapping[str, Any], dict[tuple[str, ...], tuple[int, int]]]:
    """Parse YAML *text* into raw data plus the (line, column) of every key path.

    *display* names the text in errors; *what* (``"YAML file"``, ``"YAML document"``, ...)
    says what it is.  Raises :class:`vein.SourceError`.
    """
    import yaml

    loader = _loader()(text)
    try:
        try:
            _check_depth(text, display)
            nodes = []
            while loader.check_node():
                nodes.append(loader.get_node())
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "syntax error"
            message = f"invalid YAML: {problem}"
            if "maximum nesting depth" in problem:
                # Newer libyaml stops deep documents itself (at a bound above ours):
                # say it the way every other depth refusal is said.
                message = f"nested deeper than {MAX_DEPTH} levels"
            if problem == "found undefined alias" and mark is not None:
                # libyaml does not say which alias: read its name at the mark.
                line_text = (
                    text.splitlines()[mark.line] if mark.line < len(text.splitlines()) else ""
                )
                found = re.match(r"\*([^\s,\[\]{}]+)", line_text[mark.column :])
                if found:
                    message += f" *{found.group(1)} (no anchor &{found.group(1)} before it)"
            raise SourceError(
                message,
                source=display,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            ) from None
        except yaml.reader.ReaderError as exc:  # a control character: say where it is
            pos = exc.position
            line = text.count("\n", 0, pos) + 1
            column = pos - (text.rfind("\n", 0, pos) + 1) + 1
            raise SourceError(
                f"invalid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}",
                source=display,
                line=line,
                column=column,
            ) from None
        except yaml.YAMLError as exc:
            raise SourceError(f"invalid YAML: {exc}", source=display) from None
        except RecursionError:
            raise SourceError("YAML nested too deeply", source=display) from None
    finally:
        loader.dispose()
    if document is None:
        if len(nodes) > 1:
            hint = "choose one with from_yaml(path, document=N) (0-based)"
            if what != "YAML file":
                hint = "only one is supported"
            raise SourceError(
                f"the {what[5:]} holds {len(nodes)} YAML documents; {hint}", source=display
            )
        node = nodes[0] if nodes else None
    else:
        if not 0 <= document < max(len(nodes), 1):
            raise SourceError(
                f"document {document} requested, but the {what[5:]} holds {len(nodes)}",
                source=display,
            )
        node = nodes[document] if nodes else None
    walker = _Walker(display, yaml, aliased="*" in text)
    if node is None:
        data: Any = {}
    else:
        try:
            data = walker.walk(node, (), 0)
        except RecursionError:
            raise SourceError("YAML nested too deeply", source=display) from None
        if type(data) is Plain and data in ("", "~", "null", "Null", "NULL"):
            data = None
        data = check_mapping_root(data, display, what)
    return data, walker.marks


class YamlSource(FileSource):
    format_name = "YAML"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        optional: bool = False,
        strict: bool = True,
        document: int | None = None,
    ) -> None:
        super().__init__(path, optional=optional, strict=strict)
        self.document = document
        if document is not None:
            self.key += f"#{document}"

    def parse(self, text: str) -> Document:
        data, marks = parse_yaml(text, self.display, document=self.document)
        return Document(data, self._locator(marks), self.key, self.strict)


def from_yaml(
    path: str | os.PathLike[str],
    *,
    optional: bool = False,
    strict: bool = True,
    document: int | None = None,
) -> YamlSource:
    """A YAML file as a layer.

    *optional*: a missing file defines nothing instead of raising :class:`vein.SourceError`.
    *strict*: unknown keys are errors (with a did-you-mean); false ignores them.
    *document*: which document of a multi-document file to read (0-based).
    """
    return YamlSource(path, optional=optional, strict=strict, document=document)
