"""The type stub of the extension (swifttrain/_swifttrain.pyi) against the extension itself.

The stub is written by hand; these tests keep it from drifting: every public name of the
module and of its classes is in the stub and the other way round, and every function whose
signature the extension documents (``__text_signature__``) takes the same parameters, of the
same kinds, in the stub. When the extension grows, the failure prints the lines to add.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import swifttrain
from swifttrain import _swifttrain as C

PACKAGE = Path(swifttrain.__file__).resolve().parent
STUB = PACKAGE / "_swifttrain.pyi"
HOW = ("Update bindings/python/swifttrain/_swifttrain.pyi (the extension's type stub, written "
       "by hand), reinstall, and check it with `python -m mypy.stubtest swifttrain._swifttrain` "
       "(only PEP 800's @disjoint_base notes may remain).")


def _stub_tree():
    return ast.parse(STUB.read_text(encoding="utf-8"), filename=str(STUB))


def _names_in(body) -> dict[str, ast.AST]:
    """The names a stub body defines (functions, classes, annotated or assigned names)."""
    names = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
    return names


def _public(names) -> set[str]:
    return {name for name in names if not name.startswith("__")}


def _extension_classes() -> dict[str, type]:
    """The extension's own classes (its exceptions have no members of their own)."""
    return {name: value for name, value in vars(C).items()
            if isinstance(value, type) and not issubclass(value, BaseException)
            and not name.startswith("_")}


def _draft(name: str, value) -> str:
    """A stub line to start from for `value`, from what the extension documents."""
    if isinstance(value, type):
        return f"class {name}: ...  # and its members"
    signature = getattr(value, "__text_signature__", None)
    if signature:
        signature = signature.replace("$module, ", "").replace("($module)", "()")
        signature = signature.replace("$self, ", "self, ").replace("($self)", "(self)")
        return f"def {name}{signature} -> ...: ...  # add the types"
    if callable(value):
        return f"def {name}(...) -> ...: ...  # no __text_signature__: see its docstring"
    return f"{name}: {type(value).__name__}"


def _mismatch(where: str, runtime: dict, stub: dict) -> str:
    missing = sorted(_public(runtime) - _public(stub))
    stale = sorted(_public(stub) - _public(runtime))
    lines = []
    if missing:
        lines.append(f"{where} has names the stub does not list; add them, e.g.:")
        lines += [f"    {_draft(name, runtime[name])}" for name in missing]
    if stale:
        lines.append(f"the stub lists names {where} does not have; remove them: {stale}")
    return "\n".join(lines)


def test_the_stub_and_py_typed_ship_with_the_package():
    assert STUB.is_file(), f"{STUB} is not installed; {HOW}"
    assert (PACKAGE / "py.typed").is_file(), "swifttrain/py.typed is not installed (PEP 561)"


def test_the_stub_names_every_public_name_of_the_module():
    runtime = {name: getattr(C, name) for name in dir(C) if not name.startswith("_")}
    stub = {name: node for name, node in _names_in(_stub_tree().body).items()
            if not name.startswith("_")}
    problem = _mismatch("swifttrain._swifttrain", runtime, stub)
    assert not problem, f"{problem}\n{HOW}"


def test_the_stub_names_every_member_of_every_class():
    stub_classes = {node.name: node for node in _stub_tree().body if isinstance(node, ast.ClassDef)}
    problems = []
    for name, cls in sorted(_extension_classes().items()):
        runtime = {member: getattr(cls, member) for member in vars(cls)}
        stub = _names_in(stub_classes[name].body) if name in stub_classes else {}
        problems.append(_mismatch(f"class {name}", runtime, stub))
    problem = "\n".join(p for p in problems if p)
    assert not problem, f"{problem}\n{HOW}"


def _stub_parameters(node: ast.FunctionDef) -> list[tuple[str, str]]:
    """(name, kind) of a stub function's parameters, self / cls left out."""
    args = node.args
    kinds = ([(a.arg, "POSITIONAL_ONLY") for a in args.posonlyargs]
             + [(a.arg, "POSITIONAL_OR_KEYWORD") for a in args.args]
             + ([(args.vararg.arg, "VAR_POSITIONAL")] if args.vararg else [])
             + [(a.arg, "KEYWORD_ONLY") for a in args.kwonlyargs]
             + ([(args.kwarg.arg, "VAR_KEYWORD")] if args.kwarg else []))
    return [(n, k) for n, k in kinds if n not in ("self", "cls")]


def _runtime_parameters(value) -> list[tuple[str, str]] | None:
    if not getattr(value, "__text_signature__", None):
        return None
    try:
        signature = inspect.signature(value)
    except (TypeError, ValueError):
        return None
    return [(p.name, p.kind.name) for p in signature.parameters.values()
            if p.name not in ("self", "cls")]


def test_the_stub_signatures_are_the_extensions():
    tree = _stub_tree()
    checks = [(name, getattr(C, name), node) for name, node in _names_in(tree.body).items()
              if isinstance(node, ast.FunctionDef) and hasattr(C, name)]
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        runtime_cls = getattr(C, cls.name, None)
        for name, node in _names_in(cls.body).items():
            if isinstance(node, ast.FunctionDef) and runtime_cls is not None:
                # a type's signature is its constructor's, which the stub writes as __new__
                value = runtime_cls if name == "__new__" else getattr(runtime_cls, name, None)
                checks.append((f"{cls.name}.{name}", value, node))
    problems = []
    for name, value, node in checks:
        runtime = _runtime_parameters(value)
        if runtime is not None and runtime != _stub_parameters(node):
            problems.append(f"{name}: the extension takes {runtime}, the stub "
                            f"{_stub_parameters(node)}")
    assert len(checks) > 150, "the stub's functions were not found"
    assert not problems, "\n".join(problems + [HOW])
