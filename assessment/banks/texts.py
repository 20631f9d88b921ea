"""Placeholders in a bank's recommendation titles and texts: `{fact}` or `{fact:format}`.

Bank texts are data written by people, not Python format strings: `str.format` would let
`{x.__class__.__mro__}` show the program's internals, a width of a billion characters make a
page of 150 MB, and `{x.nope}` raise on every page that shows the recommendation. So only the
documented names are filled, with no attribute or index access and no conversion, and the format
is a plain number format: an optional sign, an optional thousands comma, an optional precision of
one digit and an optional type `f`, `g` or `%` (`.0f`, `.2f`, `.0%`), never a width or a fill.

The bank validator reports every other placeholder by field path; filling leaves one as written,
so a bank stored before these rules still cannot break a page.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from .model import DIMENSION_FACTS, GLOBAL_FACTS

NAMES: frozenset[str] = DIMENSION_FACTS | GLOBAL_FACTS | {"dimension", "dimension_title"}
PLAIN_FORMAT = re.compile(r"[+ -]?,?(?:\.\d)?[fg%]?")
_parser = string.Formatter()


def _placeholder(name: str, spec: str, conversion: str | None) -> str:
    conversion = f"!{conversion}" if conversion else ""
    return f"{{{name}{conversion}{':' if spec else ''}{spec}}}"


def _problem(name: str, spec: str, conversion: str | None) -> str | None:
    shown = _placeholder(name, spec, conversion)[:60]
    if name not in NAMES:
        return (f"unknown placeholder '{shown}'; use one of the facts, dimension or "
                "dimension_title, or write {{ and }} for a brace")
    if conversion is not None:
        return f"placeholder '{shown}': no !{conversion}; write {{{name}}} or {{{name}:.0f}}"
    if not PLAIN_FORMAT.fullmatch(spec):
        return (f"placeholder '{shown}': the format must be a plain number format such as .0f, "
                ".2f or .0% (no width, fill or nested braces)")
    return None


def problems(text: str) -> list[str]:
    """What is wrong with the placeholders of a title or text, one message each."""
    try:
        parsed = list(_parser.parse(text))
    except ValueError:
        return ["a { or } without its partner; write {{ and }} for a literal brace"]
    return [p for _, name, spec, conversion in parsed
            if name is not None and (p := _problem(name, spec or "", conversion))]


def fill(text: str, values: Mapping[str, Any]) -> str:
    """The text with its placeholders filled: a missing or unknown value reads "n/a", a value
    the format does not fit is shown plainly, and a placeholder the rules refuse stays as
    written. Never raises, and the result is at most a few hundred characters longer per
    placeholder than the text."""
    try:
        parsed = list(_parser.parse(text))
    except ValueError:
        return text
    out: list[str] = []
    for literal, name, spec, conversion in parsed:
        out.append(literal)
        if name is None:
            continue
        spec = spec or ""
        if _problem(name, spec, conversion):
            out.append(_placeholder(name, spec, conversion))
            continue
        value = values.get(name)
        if value is None:
            out.append("n/a")
            continue
        try:
            out.append(format(value, spec))
        except (TypeError, ValueError):
            out.append(str(value))
    return "".join(out)
