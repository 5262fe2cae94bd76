"""Reading a config file's YAML safely: bounded size, nesting and values, valid Unicode."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from app.core.policy.problems import ConfigError, ConfigIssue

MAX_CONFIG_BYTES = 256 * 1024
MAX_CONFIG_NODES = 20_000
MAX_NESTING = 64  # levels of lists and mappings in one config file

TOO_DEEP = f"nested too deeply (more than {MAX_NESTING} levels)"


class _TooDeep(Exception):
    pass


class _TooMany(Exception):
    pass


class _Aliased(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing lists and mappings nested more than MAX_NESTING levels below
    the top one, and more than MAX_CONFIG_NODES values, while it composes them."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._nodes += 1
        if self._nodes > MAX_CONFIG_NODES:
            raise _TooMany
        return super().compose_node(parent, index)

    def _deeper(self) -> None:
        self._depth += 1
        if self._depth > MAX_NESTING + 1:
            raise _TooDeep

    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        self._deeper()
        try:
            return super().compose_sequence_node(anchor)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        self._deeper()
        try:
            return super().compose_mapping_node(anchor)
        finally:
            self._depth -= 1


# Brackets, and what hides them: quoted text (opened where a value may start) and comments.
_FLOW_TOKENS = re.compile(
    r"""(?<![^\s\[{,:])'(?:[^']|'')*'?"""
    r"""|(?<![^\s\[{,:])"(?:[^"\\]|\\[\s\S])*"?"""
    r"""|(?<!\S)\#[^\n]*"""
    r"""|[\[\]{}]"""
)


def _flow_too_deep(text: str) -> bool:
    """Whether `[` and `{` nest deeper than MAX_NESTING: a cheap look before parsing, since the
    parser's cost grows with every flow collection it has not closed yet (130,000 took 1.5 s).
    Nesting this misses (block nesting, odd quoting) the loader refuses as it composes."""
    depth = 0
    for match in _FLOW_TOKENS.finditer(text):
        token = match[0]
        if token == "[" or token == "{":
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif token == "]" or token == "}":
            depth = max(depth - 1, 0)
    return False


def parse_yaml(text: str, *, source: str) -> dict[str, Any]:
    """Parse a config document safely: bounded size, nesting and expanded node count, valid
    Unicode, a mapping at the top."""

    def refuse(message: str, where: str = "file") -> ConfigError:
        return ConfigError([ConfigIssue(source, where, message)])

    if len(text.encode("utf-8", "replace")) > MAX_CONFIG_BYTES:
        raise refuse(f"larger than {MAX_CONFIG_BYTES} bytes")
    if _flow_too_deep(text):
        raise refuse(TOO_DEEP)
    try:
        data = _load(text)
    except _Aliased:
        raise refuse("too many values once aliases are expanded") from None
    except (_TooDeep, RecursionError):
        raise refuse(TOO_DEEP) from None
    except _TooMany:
        raise refuse(f"more than {MAX_CONFIG_NODES} values") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise refuse(str(exc.problem or exc), where) from None
    except yaml.YAMLError as exc:
        raise refuse(str(exc)) from None
    except (ValueError, OverflowError) as exc:  # e.g. a date such as 2026-02-30
        raise refuse(f"a value cannot be read: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise refuse("the top level must be a mapping")
    try:  # a "\uD800" escape makes a lone surrogate, which no later step could encode
        json.dumps(data, ensure_ascii=False, default=str, skipkeys=True).encode("utf-8")
    except UnicodeError:
        raise refuse("text that is not valid Unicode") from None
    return data


def _load(text: str) -> Any:
    loader = _Loader(text)  # a character YAML does not allow is refused here already
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_CONFIG_NODES:
            raise _Aliased
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = MAX_CONFIG_NODES + 1  # a cycle counts as too large
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[key] = size
    return size
