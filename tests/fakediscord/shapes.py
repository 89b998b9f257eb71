"""Checking a payload against discord.py's own TypedDicts (``discord/types/*.py``):
every required key present, every known key of the right type, recursively. An optional
key may be null: Discord sends ``"nick": null`` where discord.py's types say ``str``.

    problems(payload, types("message").Message)  # [] when the shape is complete

discord.py imports ``discord.types`` only for type checking, and several of its modules
import each other in circles; ``types()`` loads them anyway.
"""

from __future__ import annotations

import sys
import types as pytypes
from pathlib import Path
from typing import (
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

_PASSES = 6  # more than the deepest chain of types built from other modules' types


def types(name: str) -> pytypes.ModuleType:
    """``discord.types.<name>``, loaded despite the circular imports: every module is run
    a few times over; a name not defined yet reads as ``Any`` until a later pass."""
    if not getattr(sys.modules.get("discord.types"), "_fake_loaded", False):
        _load_all()
    return sys.modules[f"discord.types.{name}"]


def _load_all() -> None:
    import discord.types as package

    folder = Path(package.__file__).parent
    modules = {}
    for source in sorted(folder.glob("*.py")):
        if source.stem == "__init__":
            continue
        module = pytypes.ModuleType(f"discord.types.{source.stem}")
        module.__file__, module.__package__ = str(source), "discord.types"
        module.__getattr__ = lambda attr: Any  # type: ignore[method-assign]
        sys.modules[module.__name__] = module
        setattr(package, source.stem, module)
        modules[module] = compile(source.read_text(), str(source), "exec")
    for last in [False] * (_PASSES - 1) + [True]:
        for module, code in modules.items():
            try:
                exec(code, module.__dict__)
            except TypeError:
                if last:
                    raise
    # names a module imports only for type checking (inside "if TYPE_CHECKING:")
    everything: dict[str, Any] = {}
    for module in modules:
        for key, value in vars(module).items():
            if not key.startswith("__"):
                everything.setdefault(key, value)
    for module in modules:
        for key, value in everything.items():
            vars(module).setdefault(key, value)
    package._fake_loaded = True  # type: ignore[attr-defined]


def problems(value: Any, hint: Any, path: str = "$") -> list[str]:
    """What is wrong with ``value`` as a ``hint`` (a TypedDict, list, union...)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (NotRequired, Required):
        return problems(value, args[0], path)
    if is_typeddict(hint):
        return _typeddict(value, hint, path)
    if origin is Union or origin is pytypes.UnionType:
        if value is None and type(None) in args:
            return []
        tried = [problems(value, a, path) for a in args if a is not type(None)]
        if not tried:
            return [f"{path}: expected null, got {value!r}"]
        return [] if any(not t for t in tried) else min(tried, key=len)
    if origin is Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        return [p for i, item in enumerate(value) for p in problems(item, args[0], f"{path}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {value!r}"]
        return [p for k, v in value.items() for p in problems(v, args[1], f"{path}.{k}")]
    if hint is type(None):
        return [] if value is None else [f"{path}: expected null, got {value!r}"]
    if hint in (str, bool) or (hint is int and not isinstance(value, bool)):
        return [] if isinstance(value, hint) else [f"{path}: expected {hint.__name__}"]
    if hint is int or hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    return []  # Any, object, or something this checker does not look into


def _typeddict(value: Any, hint: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {value!r}"]
    hints = get_type_hints(hint, include_extras=True)
    found = []
    for key, key_hint in hints.items():
        # __required_keys__ is wrong for string annotations on Python 3.11: read the markers
        marker = get_origin(key_hint)
        required = marker is Required or (
            marker is not NotRequired and key in hint.__required_keys__
        )
        if key not in value:
            if required:
                found.append(f"{path}.{key}: missing")
            continue
        if value[key] is None and not required:
            continue  # Discord sends null for optional fields discord.py types as plain
        found += problems(value[key], key_hint, f"{path}.{key}")
    return found
