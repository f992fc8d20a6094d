"""The checks behind tests/contract/test_architecture.py, written against any package so the
contract test can prove each one on a package it builds to break it."""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.support.import_graph import module_name

CLI_PREFIX = ("commands.", "test_cli_")
"""A command's tests run the CLI end to end: `commands/serve.py` -> `test_cli_serve.py`."""


def modules_of(root: Path, package: str) -> list[str]:
    return sorted(module_name(root, path, package) for path in root.rglob("*.py"))


def test_file_names(module: str, package: str) -> set[str]:
    """The test file names that count as `module`'s own: its dotted path with underscores."""
    parts = module.removeprefix(package).removeprefix(".")
    if not parts:
        return set()
    names = {"test_" + parts.replace(".", "_") + ".py"}
    prefix, test_prefix = CLI_PREFIX
    if parts.startswith(prefix):
        names.add(test_prefix + parts.removeprefix(prefix).replace(".", "_") + ".py")
    return names


def modules_without_a_test_file(
    root: Path, package: str, test_dirs: Iterable[Path], allowed: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """(modules with no test file named for them and no reason in `allowed`, entries of
    `allowed` that name no such module: stale ones). `allowed` keys may be fnmatch patterns."""
    present = {path.name for folder in test_dirs for path in folder.glob("test_*.py")}
    bare: list[str] = []
    excused: set[str] = set()
    for module in modules_of(root, package):
        if module == package or test_file_names(module, package) & present:
            continue
        matched = [pattern for pattern in allowed if fnmatch.fnmatchcase(module, pattern)]
        if matched:
            excused.update(matched)
        else:
            bare.append(module)
    return bare, sorted(set(allowed) - excused)


def export_problems(init: Path) -> list[str]:
    """Where a package's `__init__.py` disagrees with itself about its public names: the names
    it imports for type checkers, the names it loads lazily (`_LAZY`) and `__all__` must be the
    same set, `__all__` sorted, and no other public name defined at module level."""
    tree = ast.parse(init.read_text(encoding="utf-8"))
    typed: set[str] = set()
    lazy: set[str] = set()
    listed: list[str] = []
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for inner in node.body:
                if isinstance(inner, ast.ImportFrom):
                    typed.update(alias.asname or alias.name for alias in inner.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id == "_LAZY" and isinstance(node.value, ast.Dict):
                    lazy.update(key.value for key in node.value.keys if isinstance(key, ast.Constant))
                elif isinstance(target, ast.Name) and target.id == "__all__" and isinstance(node.value, ast.List):
                    listed = [item.value for item in node.value.elts if isinstance(item, ast.Constant)]
                elif isinstance(target, ast.Name):
                    defined.add(target.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            defined.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    problems = []
    if listed != sorted(listed, key=str.casefold) and listed != sorted(listed):
        problems.append("__all__ is not sorted")
    for what, names in (("imported for type checkers", typed), ("loaded lazily (_LAZY)", lazy)):
        for name in sorted(names - set(listed)):
            problems.append(f"{name} is {what} but not in __all__")
        for name in sorted(set(listed) - names):
            problems.append(f"{name} is in __all__ but not {what}")
    extra = sorted(
        name for name in defined if not name.startswith("_") and name not in listed and name != "TYPE_CHECKING"
    )
    problems += [f"{name} is public at module level but not in __all__" for name in extra]
    return problems
