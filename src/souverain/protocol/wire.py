"""Checks every request model shares: raw JSON no backend can be handed safely, and readable union errors.

Python's JSON parser accepts what JSON does not (``NaN``, ``Infinity``, lone surrogates such as
``"\\ud800"``, integers of any size) and nesting as deep as the body limit allows. Such values would pass
field validation (free-form fields and vendor extras are not typed) and then fail later, in an encoder or a
backend, as a 500; they are refused here, at the edge, with a 400 that names the offending parameter.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

MAX_DEPTH = 64
"""Deepest nesting of objects and arrays accepted (tool schemas need a few levels, not hundreds)."""

_INT64 = (-(2**63), 2**63 - 1)


def _refuse(path: list[str | int], reason: str) -> PydanticCustomError:
    param = ".".join(str(p) for p in path) or None
    return PydanticCustomError("invalid_json_value", "{reason}", {"param": param, "reason": reason})


def _is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_scalar(value: object, path: list[str | int]) -> None:
    if isinstance(value, str) and not _is_unicode(value):
        raise _refuse(path, "the text is not valid Unicode (it contains a lone surrogate)")
    if isinstance(value, float) and not math.isfinite(value):
        raise _refuse(path, "the number is not finite (NaN and Infinity are not JSON)")
    if isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
        raise _refuse(path, "the integer is outside the 64-bit range")


def check_json(value: object) -> None:
    """Refuse text that is not Unicode, non-finite numbers, ints beyond 64 bits and deep nesting."""
    stack: list[tuple[object, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict | list) and len(path) >= MAX_DEPTH:
            raise _refuse(path[:1], f"the value is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, dict):
            for key, child in item.items():
                # a key is checked before it becomes part of a path, which may end up in an error message
                if not _is_unicode(str(key)):
                    raise _refuse(path, "an object key is not valid Unicode (it contains a lone surrogate)")
                stack.append((child, [*path, str(key)]))
        elif isinstance(item, list):
            stack.extend((child, [*path, index]) for index, child in enumerate(item))
        else:
            _check_scalar(item, path)


def _branch_detail(error: ValidationError, value: object) -> str:
    """The first error inside the union member matching the value's JSON type (a list or an object)."""
    prefix = "list" if isinstance(value, list) else "dict" if isinstance(value, dict) else None
    for item in error.errors():
        location = item["loc"]
        if prefix and location and str(location[0]).startswith(prefix) and len(location) > 1:
            return f"; at {'.'.join(str(p) for p in location[1:])}: {item['msg']}"
    return ""


def one_of(expected: str) -> WrapValidator:
    """A validator for a union field that reports one error naming what is expected.

    Pydantic reports a failed union once per member, with the member's type in the location
    (``input.str``, ``input.list[str].0``); clients need ``input`` and a sentence.
    """

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            detail = _branch_detail(exc, value)
            raise PydanticCustomError(
                "invalid_type", "Input should be {expected}{detail}", {"expected": expected, "detail": detail}
            ) from None

    return WrapValidator(validate)


def is_blank(text: str) -> bool:
    """Whether ``text`` has nothing visible: only white space, control and format characters (NUL, zero-width
    spaces and joiners, direction marks), which ``str.strip`` keeps."""
    return not any(not char.isspace() and unicodedata.category(char) not in ("Cc", "Cf") for char in text)


class WireModel(BaseModel):
    """A request body: unknown fields refused (a body that must keep vendor extras allows them in its own
    config), no type coercion ("yes" is not true, "3" is not 3), and the raw JSON checks of ``check_json``
    before any field is validated."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _wire_safe(cls, data: Any) -> Any:
        if isinstance(data, dict):
            check_json(data)
        return data
