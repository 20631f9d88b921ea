"""Reading and validating question banks.

A bank is user-authored YAML, so every problem is collected (not just the first) and reported as
`file: field.path: message`, never as a traceback. YAML is read with the safe loader only.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any, cast

import yaml

from . import texts
from .model import (
    DIMENSION_FACTS,
    GLOBAL_FACTS,
    LENSES,
    OPS,
    PRIORITIES,
    SEVERITIES,
    Bank,
    Dimension,
    Gate,
    Lens,
    Question,
    Recommendation,
    Scale,
)

MAX_BANK_BYTES = 1_000_000
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
QUESTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class BankError(ValueError):
    """A bank that cannot be used; `problems` holds one `path: message` string per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))

    def lines(self) -> list[str]:
        return [f"{self.source}: {p}" for p in self.problems]


def content_hash(definition: dict[str, Any]) -> str:
    """Hash of the parsed definition, so reformatting a file does not count as a change."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_bank_file(path: str | Path) -> tuple[Bank, dict[str, Any]]:
    """Load and validate a bank file; returns the bank and its raw definition (stored as JSON)."""
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BankError(source, [f"(file): cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_BANK_BYTES:
        raise BankError(source, [f"(file): larger than {MAX_BANK_BYTES} bytes"])
    return parse_bank_text(raw, source)


def _integer(value: Any) -> int | None:
    """YAML reads `yes` as True, and True is an int to Python: a bank's integers must be ints."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _BankLoader(yaml.SafeLoader):
    """The safe loader without anchors and aliases: a bank has no use for them, and an alias
    repeated inside nested conditions multiplies the work of checking them (a few kilobytes can
    stand for a billion clauses)."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (& and *) are not allowed in a bank",
                event.start_mark)
        return super().compose_node(parent, index)


def parse_bank_text(raw: bytes | str, source: str = "<bank>") -> tuple[Bank, dict[str, Any]]:
    if len(raw) > MAX_BANK_BYTES:
        raise BankError(source, [f"(file): larger than {MAX_BANK_BYTES} bytes"])
    try:
        data = yaml.load(raw, Loader=_BankLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise BankError(source, [f"{where}: {problem}"]) from None
    except RecursionError:
        raise BankError(source, ["(file): nested too deeply"]) from None
    except (ValueError, TypeError, AttributeError, OverflowError, KeyError, IndexError) as exc:
        # A malformed explicitly tagged scalar (!!timestamp 2020-13-45, !!int 0x, !!bool x):
        # the constructors raise plain Python errors, not YAMLError.
        message = f"(file): a value cannot be read: {_one_line(str(exc))}"
        raise BankError(source, [message]) from None
    try:
        return parse_bank(data, source), data
    except RecursionError:
        raise BankError(source, ["(file): nested too deeply"]) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def parse_bank(data: Any, source: str = "<bank>", *, check_texts: bool = True) -> Bank:
    """Validate a parsed YAML document and build the bank, or raise BankError with every problem.

    `check_texts=False` skips the placeholder rules of recommendation texts: a bank stored when
    they were looser still loads (its bad placeholders are shown as written, see `texts.fill`),
    rather than making every page of its assessments fail."""
    v = _Validator(check_texts=check_texts)
    bank = v.bank(data)
    if v.problems or bank is None:
        raise BankError(source, v.problems)
    return bank


def validate_paths(paths: list[str]) -> list[str]:
    """Every problem in the given files, one `file: path: message` line each."""
    lines: list[str] = []
    for path in paths:
        try:
            read_bank_file(path)
        except BankError as exc:
            lines.extend(exc.lines())
    return lines


class _Validator:
    def __init__(self, *, check_texts: bool = True) -> None:
        self.problems: list[str] = []
        self.check_texts = check_texts

    def err(self, path: str, message: str) -> None:
        self.problems.append(f"{_one_line(path) or '(empty key)'}: {_one_line(message)}")

    def unknown_fields(self, obj: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in obj:
            if key not in allowed:
                self.err(f"{path}{key!s}" if isinstance(key, str) else f"{path}{key!r}",
                         "unknown field")

    def number(self, value: Any) -> float | None:
        """A finite number, or None (YAML reads .nan and .inf; JSON cannot store them)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None

    # -- scalar helpers -------------------------------------------------------------------------

    def text(self, obj: dict[str, Any], key: str, path: str, *, required: bool = True) -> str:
        value = obj.get(key)
        if value is None:
            if required:
                self.err(f"{path}{key}", "required")
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.err(f"{path}{key}", "must be a non-empty string")
            return ""
        return value.strip()

    def mapping(self, value: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.err(path, "must be a mapping")
            return None
        return value

    def seq(self, value: Any, path: str, *, required: bool = True) -> list[Any]:
        if value is None:
            if required:
                self.err(path, "required")
            return []
        if not isinstance(value, list):
            self.err(path, "must be a list")
            return []
        return value

    # -- sections -------------------------------------------------------------------------------

    def bank(self, data: Any) -> Bank | None:
        if not isinstance(data, dict):
            self.err("(file)", "a bank must be a YAML mapping")
            return None
        known = {"id", "version", "title", "description", "scale", "dimensions", "questions",
                 "recommendations", "readiness"}
        self.unknown_fields(data, known, "")
        bank_id = self.text(data, "id", "")
        if bank_id and not SLUG.match(bank_id):
            self.err("id", f"'{bank_id}' is not a slug (lower-case letters, digits, - and _)")
        version = _integer(data.get("version"))
        if version is None or version < 1:
            self.err("version", "must be a positive integer")
        title = self.text(data, "title", "")
        description = self.text(data, "description", "", required=False)
        scale = self.scale(data.get("scale"))
        dimensions = self.dimensions(data.get("dimensions"))
        dim_ids = {d.id for d in dimensions}
        questions = self.questions(data.get("questions"), dim_ids)
        for d in dimensions:
            if not any(q.dimension == d.id for q in questions):
                self.err("dimensions", f"dimension '{d.id}' has no questions")
        recommendations = tuple(
            self.recommendation(r, f"recommendations[{i}]", dim_ids)
            for i, r in enumerate(self.seq(data.get("recommendations"), "recommendations",
                                           required=False))
        )
        self.unique([r.id for r in recommendations if r], "recommendations", "recommendation id")
        gates = tuple(
            self.gate(g, f"readiness[{i}]", dim_ids)
            for i, g in enumerate(self.seq(data.get("readiness"), "readiness", required=False))
        )
        self.unique([g.id for g in gates if g], "readiness", "gate id")
        if self.problems or scale is None or version is None:
            return None
        return Bank(
            id=bank_id,
            version=version,
            title=title,
            description=description,
            scale=scale,
            dimensions=tuple(dimensions),
            questions=tuple(questions),
            recommendations=tuple(r for r in recommendations if r),
            readiness=tuple(g for g in gates if g),
        )

    def unique(self, ids: list[str], path: str, what: str) -> None:
        seen: set[str] = set()
        for i, value in enumerate(ids):
            if value in seen:
                self.err(f"{path}[{i}].id", f"duplicate {what} '{value}'")
            seen.add(value)

    def scale(self, value: Any) -> Scale | None:
        if value is None:
            self.err("scale", "required")
            return None
        obj = self.mapping(value, "scale")
        if obj is None:
            return None
        self.unknown_fields(obj, {"min", "max", "labels", "not_applicable"}, "scale.")
        lo, hi = _integer(obj.get("min")), _integer(obj.get("max"))
        for key, bound in (("min", lo), ("max", hi)):
            if bound is None:
                self.err(f"scale.{key}", "must be an integer")
        # The bounds, once both are integers a valid distance apart.
        span: tuple[int, int] | None = None
        if lo is not None and hi is not None:
            if 1 <= hi - lo <= 20:
                span = (lo, hi)
            else:
                self.err("scale", "max must be above min, with at most 21 points")
        labels_raw = obj.get("labels", {})
        labels: dict[int, str] = {}
        if not isinstance(labels_raw, dict):
            self.err("scale.labels", "must be a mapping of scale point to label")
        else:
            for key, label in labels_raw.items():
                try:
                    point = int(key)
                except (TypeError, ValueError, OverflowError):
                    self.err(f"scale.labels.{key}", "key must be a scale point")
                    continue
                if span and not span[0] <= point <= span[1]:
                    self.err(f"scale.labels.{key}", f"outside the scale {lo}..{hi}")
                if isinstance(label, bool):
                    self.err(f"scale.labels.{key}", "must be text (quote it: YAML reads "
                             "yes/no/on/off as true/false)")
                    continue
                if not isinstance(label, str) or not label.strip():
                    self.err(f"scale.labels.{key}", "must be a non-empty string")
                    continue
                labels[point] = label.strip()
        na = obj.get("not_applicable", True)
        if not isinstance(na, bool):
            self.err("scale.not_applicable", "must be true or false")
        if span is None:
            return None
        return Scale(min=span[0], max=span[1], labels=labels, not_applicable=bool(na))

    def dimensions(self, value: Any) -> list[Dimension]:
        out: list[Dimension] = []
        items = self.seq(value, "dimensions")
        if value is not None and isinstance(value, list) and not items:
            self.err("dimensions", "at least one dimension is required")
        for i, raw in enumerate(items):
            path = f"dimensions[{i}]"
            obj = self.mapping(raw, path)
            if obj is None:
                continue
            self.unknown_fields(obj, {"id", "title", "description", "weight"}, f"{path}.")
            dim_id = self.text(obj, "id", f"{path}.")
            if dim_id and not SLUG.match(dim_id):
                self.err(f"{path}.id", f"'{dim_id}' is not a slug")
            title = self.text(obj, "title", f"{path}.")
            weight = self.number(obj.get("weight", 1))
            if weight is None or weight <= 0:
                self.err(f"{path}.weight", "must be a positive number")
                weight = 1
            out.append(Dimension(dim_id, title, self.text(obj, "description", f"{path}.",
                                                          required=False), float(weight)))
        self.unique([d.id for d in out], "dimensions", "dimension id")
        return out

    def questions(self, value: Any, dim_ids: set[str]) -> list[Question]:
        out: list[Question] = []
        items = self.seq(value, "questions")
        if isinstance(value, list) and not items:
            self.err("questions", "at least one question is required")
        for i, raw in enumerate(items):
            path = f"questions[{i}]"
            obj = self.mapping(raw, path)
            if obj is None:
                continue
            self.unknown_fields(obj, {"id", "dimension", "lens", "text", "help", "reverse"},
                                f"{path}.")
            qid = obj.get("id")
            if not isinstance(qid, str) or not QUESTION_ID.match(qid):
                self.err(f"{path}.id", "required: letters, digits, '.', '-' or '_'")
                qid = ""
            dim = self.text(obj, "dimension", f"{path}.")
            if dim and dim not in dim_ids:
                self.err(f"{path}.dimension", f"unknown dimension '{dim}'")
            lens = obj.get("lens")
            if lens is not None and (not isinstance(lens, str) or lens not in LENSES):
                self.err(f"{path}.lens", f"must be one of {', '.join(LENSES)}")
                lens = None
            reverse = obj.get("reverse", False)
            if not isinstance(reverse, bool):
                self.err(f"{path}.reverse", "must be true or false")
                reverse = False
            out.append(
                Question(
                    id=qid,
                    dimension=dim,
                    text=self.text(obj, "text", f"{path}."),
                    lens=cast(Lens | None, lens),  # checked against LENSES above
                    help=self.text(obj, "help", f"{path}.", required=False),
                    reverse=reverse,
                )
            )
        self.unique([q.id for q in out], "questions", "question id")
        return out

    def condition(self, value: Any, path: str, dim_ids: set[str]) -> None:
        obj = self.mapping(value, path)
        if obj is None:
            return
        combinators = [k for k in ("all", "any") if k in obj]
        if combinators:
            if len(obj) != 1:
                self.err(path, "a condition is either all: [...], any: [...] or one clause")
                return
            key = combinators[0]
            clauses = self.seq(obj[key], f"{path}.{key}")
            if isinstance(obj[key], list) and not clauses:
                self.err(f"{path}.{key}", "must not be empty")
            for i, clause in enumerate(clauses):
                self.condition(clause, f"{path}.{key}[{i}]", dim_ids)
            return
        fact = obj.get("fact")
        fact = fact if isinstance(fact, str) else repr(fact)
        self.unknown_fields(obj, {"fact", "dimension", "op", "value"}, f"{path}.")
        if fact in DIMENSION_FACTS:
            dim = obj.get("dimension")
            if dim is not None and not isinstance(dim, str):
                self.err(f"{path}.dimension", "must be a dimension id or '*'")
            elif dim is None:
                self.err(f"{path}.dimension", f"fact '{fact}' needs a dimension (an id or '*')")
            elif dim != "*" and dim not in dim_ids:
                self.err(f"{path}.dimension", f"unknown dimension '{dim}'")
        elif fact in GLOBAL_FACTS:
            if obj.get("dimension") is not None:
                self.err(f"{path}.dimension", f"fact '{fact}' is global and takes no dimension")
        else:
            self.err(f"{path}.fact", f"unknown fact '{fact}'")
        op = obj.get("op")
        if not isinstance(op, str) or op not in OPS:
            self.err(f"{path}.op", f"must be one of {' '.join(OPS)}")
        if self.number(obj.get("value")) is None:
            self.err(f"{path}.value", "must be a finite number")

    def recommendation(self, raw: Any, path: str, dim_ids: set[str]) -> Recommendation | None:
        obj = self.mapping(raw, path)
        if obj is None:
            return None
        self.unknown_fields(obj, {"id", "when", "priority", "title", "text"}, f"{path}.")
        rid = self.text(obj, "id", f"{path}.")
        if "when" not in obj:
            self.err(f"{path}.when", "required")
        else:
            self.condition(obj["when"], f"{path}.when", dim_ids)
        priority = obj.get("priority", "medium")
        if not isinstance(priority, str) or priority not in PRIORITIES:
            self.err(f"{path}.priority", f"must be one of {', '.join(PRIORITIES)}")
        title = self.text(obj, "title", f"{path}.")
        text = self.text(obj, "text", f"{path}.")
        for key, value in (("title", title), ("text", text)):
            for problem in texts.problems(value) if self.check_texts else []:
                self.err(f"{path}.{key}", problem)
        return Recommendation(rid, obj.get("when") or {}, str(priority), title, text)

    def gate(self, raw: Any, path: str, dim_ids: set[str]) -> Gate | None:
        obj = self.mapping(raw, path)
        if obj is None:
            return None
        self.unknown_fields(obj, {"id", "severity", "require", "reason"}, f"{path}.")
        gid = self.text(obj, "id", f"{path}.")
        severity = obj.get("severity")
        if not isinstance(severity, str) or severity not in SEVERITIES:
            self.err(f"{path}.severity", f"must be one of {', '.join(SEVERITIES)}")
        if "require" not in obj:
            self.err(f"{path}.require", "required")
        else:
            self.condition(obj["require"], f"{path}.require", dim_ids)
        return Gate(gid, str(severity), obj.get("require") or {},
                    self.text(obj, "reason", f"{path}."))
