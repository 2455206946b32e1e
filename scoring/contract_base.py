"""The machinery of the results contract: the Record base class that reads and writes a frozen
dataclass from and to the JSON dictionary, with the contract's error.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, Union

from .errors import ScoringInputError

R = TypeVar("R", bound="Record")


class ContractError(ScoringInputError):
    """A results file does not have the contract's shape (the message names the path)."""


def _values(*codes: str) -> dict[str, tuple[str, ...]]:
    """Field metadata: the coded values a field may hold (checked by :meth:`Results.check`)."""
    return {"values": tuple(codes)}


def _key(name: str) -> dict[str, str]:
    """Field metadata: the JSON key when it is not a Python name (``with``)."""
    return {"key": name}


@dataclass(frozen=True)
class Record:
    """A JSON object of the contract.

    Subclasses declare the known keys as fields (all optional: ``None`` when absent).
    ``extra`` keeps unknown keys verbatim; ``keys`` the keys of the object read, in their
    order (``None`` for a record made in code: every field is written, in declaration
    order).
    """

    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True, repr=False)
    keys: tuple[str, ...] | None = field(default=None, kw_only=True, repr=False, compare=False)

    _BASE_FIELDS: ClassVar[frozenset[str]] = frozenset({"extra", "keys"})

    # -- reading -----------------------------------------------------------------------

    @classmethod
    def _fields(cls) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
        """JSON key → (field, resolved type), cached per class."""
        cached = cls.__dict__.get("_field_cache")
        if cached is None:
            hints = typing.get_type_hints(cls)
            cached = {
                f.metadata.get("key", f.name): (f, hints[f.name])
                for f in dataclasses.fields(cls)
                if f.name not in Record._BASE_FIELDS
            }
            type.__setattr__(cls, "_field_cache", cached)
        return cached

    @classmethod
    def from_dict(cls: type[R], data: Mapping[str, Any], *, path: str = "results") -> R:
        """Read ``data`` (a parsed JSON object); raise :class:`ContractError` naming the
        path of a value of the wrong shape."""
        if not isinstance(data, Mapping):
            raise ContractError(f"{path}: expected an object, got {_kind(data)}")
        known = cls._fields()
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            key = str(key)
            if key in known:
                spec, hint = known[key]
                values[spec.name] = _decode(hint, value, f"{path}.{key}")
            else:
                extra[key] = value
        return cls(**values, extra=extra, keys=tuple(str(key) for key in data))

    # -- writing -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: the keys read (in their order) or every field, plus extras."""
        known = type(self)._fields()
        order = self.keys if self.keys is not None else (*known, *self.extra)
        out: dict[str, Any] = {}
        for key in order:
            if key in known:
                out[key] = _encode(getattr(self, known[key][0].name))
            elif key in self.extra:
                out[key] = copy.deepcopy(self.extra[key])
        if self.keys is not None:
            for key, value in self.extra.items():  # extras added after reading
                out.setdefault(key, copy.deepcopy(value))
        return out

    def has(self, key: str) -> bool:
        """True when the object read had ``key`` (always true for a record made in code)."""
        return self.keys is None or key in self.keys

    # -- checking ----------------------------------------------------------------------

    def _check(self, path: str) -> Iterator[str]:
        for key, (spec, _hint) in type(self)._fields().items():
            value = getattr(self, spec.name)
            allowed = spec.metadata.get("values")
            if allowed and value is not None and value not in allowed:
                yield f"{path}.{key}: {value!r} is not one of {', '.join(allowed)}"
            for child_path, child in _children(value, f"{path}.{key}"):
                yield from child._check(child_path)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _strip_optional(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        arguments = [argument for argument in typing.get_args(hint) if argument is not type(None)]
        return arguments[0] if len(arguments) == 1 else Any
    return hint


def _decode(hint: Any, value: Any, path: str) -> Any:
    """``value`` read as ``hint``: records and containers of records become objects;
    anything else is kept as written, after a check of its kind."""
    if value is None:
        return None
    hint = _strip_optional(hint)
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_dict(value, path=path)
    if origin in (dict, Mapping):
        _, item = typing.get_args(hint)
        if not isinstance(value, Mapping):
            raise ContractError(f"{path}: expected an object, got {_kind(value)}")
        if _holds_records(item):
            return {str(key): _decode(item, entry, f"{path}.{key}") for key, entry in value.items()}
        return value
    if origin in (list, tuple):
        (item, *_rest) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ContractError(f"{path}: expected a list, got {_kind(value)}")
        if _holds_records(item):
            return tuple(_decode(item, entry, f"{path}[{position}]") for position, entry in enumerate(value))
        return value
    if hint in (float, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ContractError(f"{path}: expected a number or null, got {_kind(value)}")
    elif hint is str and not isinstance(value, str):
        raise ContractError(f"{path}: expected text or null, got {_kind(value)}")
    elif hint is bool and not isinstance(value, bool):
        raise ContractError(f"{path}: expected true or false, got {_kind(value)}")
    return value


def _holds_records(hint: Any) -> bool:
    hint = _strip_optional(hint)
    if isinstance(hint, type) and issubclass(hint, Record):
        return True
    origin = typing.get_origin(hint)
    if origin in (dict, Mapping):
        return _holds_records(typing.get_args(hint)[1])
    if origin in (list, tuple):
        return _holds_records(typing.get_args(hint)[0])
    return False


def _encode(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, tuple) and value and all(isinstance(item, Record) for item in value):
        return [item.to_dict() for item in value]
    if isinstance(value, Mapping) and any(isinstance(item, (Record, dict)) for item in value.values()):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    return copy.deepcopy(value)


def _children(value: Any, path: str) -> Iterator[tuple[str, Record]]:
    if isinstance(value, Record):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _children(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for position, item in enumerate(value):
            yield from _children(item, f"{path}[{position}]")
