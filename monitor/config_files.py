"""Config files as YAML with positions: every problem is reported with file, line and field.

``${VAR}`` and ``${VAR:-default}`` in string values are replaced from the environment, so
secrets stay out of the files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from monitor.errors import ConfigIssue

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_Model = TypeVar("_Model", bound=BaseModel)


def load_yaml_model(path: Path, model: type[_Model], issues: list[ConfigIssue]) -> _Model | None:
    """Parse and validate one YAML file; every problem is added to ``issues`` with its line."""
    if not path.is_file():
        issues.append(ConfigIssue(str(path), None, "", "file is missing"))
        return None
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no arbitrary objects
    except (OSError, UnicodeDecodeError) as exc:
        issues.append(ConfigIssue(str(path), None, "", f"cannot read: {exc}"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        issues.append(ConfigIssue(str(path), line, "", f"invalid YAML: {problem}"))
        return None
    data = {} if data is None else data
    lines = line_index(path)
    data = _substitute_env(data, (), lambda loc, msg: issues.append(_issue(path, lines, loc, msg)))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            issues.append(_issue(path, lines, tuple(error["loc"]), error["msg"]))
        return None


def load_valid_entries(path: Path, key: str, model: type[_Model]) -> list[tuple[int, _Model]]:
    """The entries of a file's list ``key`` that are valid one by one, with their index:
    when the file as a whole is refused (its problems are reported by ``load_yaml_model``),
    the checks across files still see its good entries, so every problem is listed at once."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    entries = data.get(key) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return []
    found = []
    for i, entry in enumerate(entries):
        entry = _substitute_env(entry, (), lambda _loc, _msg: None)
        try:
            found.append((i, model.model_validate(entry)))
        except ValidationError:
            continue
    return found


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key twice in one mapping is an error, not the
    second value silently replacing the first (two channels, two settings of one name)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first on line {seen[key]})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _issue(
    path: Path, lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...], message: str
) -> ConfigIssue:
    line = None
    for n in range(len(loc), -1, -1):
        if (found := lines.get(loc[:n])) is not None:
            line = found
            break
    return ConfigIssue(str(path), line, _dotted(loc), message)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _substitute_env(
    value: Any, loc: tuple[Any, ...], report: Callable[[tuple[Any, ...], str], None]
) -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in string values (secrets stay out of files)."""
    if isinstance(value, dict):
        return {k: _substitute_env(v, (*loc, k), report) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(v, (*loc, i), report) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found is not None and (found or default is None):
            return found
        if default is not None:
            return default
        report(
            loc,
            f"environment variable {name} is not set (write ${{{name}:-default}} for a default)",
        )
        return ""

    return _ENV_REF.sub(replace, value)


def line_index(path: Path) -> dict[tuple[Any, ...], int]:
    """Map each key path in a YAML file to its 1-based line number."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return dict(_walk(root, ())) if root is not None else {}


def _walk(node: yaml.Node, loc: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], int]]:
    yield loc, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield (*loc, key.value), key.start_mark.line + 1
            yield from _walk_children(value, (*loc, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _walk(item, (*loc, i))


def _walk_children(node: yaml.Node, loc: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], int]]:
    for path, line in _walk(node, loc):
        if path != loc:
            yield path, line
