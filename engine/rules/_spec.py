"""Reading a rule file: safe YAML with line numbers, the JSON Schema, and the parsed spec.

The parsed :class:`RuleSetSpec` is what both engines compile. It is immutable and carries the
content hash (``ruleset_hash``) of its canonical form.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import string
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from engine._errors import RuleFileError, RuleSyntaxError, RuleTypeError
from engine._suggest import did_you_mean
from engine.rules._expr import FUNCTIONS, KEYWORDS, Condition, compile_condition

__all__ = [
    "InputSpec",
    "OutputSpec",
    "RuleSpec",
    "RuleSetSpec",
    "Acknowledgement",
    "DEFAULT_RULE_ID",
    "HIT_POLICIES",
    "fill_because",
    "load_spec",
    "parse_spec",
    "rule_file_schema",
]

DEFAULT_RULE_ID = "default"
HIT_POLICIES = ("first", "priority", "unique", "collect")
INPUT_TYPES = ("number", "integer", "string", "enum", "boolean", "date")
#: Prefix reserved for the engines' own fields.
RESERVED_PREFIX = "kam__"
#: Limits a rule file cannot exceed (see ``_RuleLoader`` and ``read_rule_bytes``).
MAX_FILE_BYTES = 2_000_000
MAX_ALIASES = 100
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_INTEGER_DIGITS = 19


@dataclass(frozen=True)
class InputSpec:
    """A typed input: the column of the evaluated frame with the same name."""

    name: str
    type: str
    values: tuple[str, ...] | None = None
    line: int | None = None


@dataclass(frozen=True)
class OutputSpec:
    """A typed output column."""

    name: str
    type: str
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RuleSpec:
    """One rule, with its normalised condition."""

    id: str
    when: str  # as written
    canonical: str  # canonical source of the checked condition
    condition: Condition
    then: dict[str, Any]
    because: str
    priority: int | None
    line: int | None
    index: int
    because_template: str = ""  # as written, before its {parameter} placeholders are filled


@dataclass(frozen=True)
class Acknowledgement:
    """An intended ``kam rules check`` warning, declared in the rule file with its reason.

    A finding is acknowledged when its code is ``code`` and it concerns ``rule``,
    ``parameter`` and ``number`` (each only when given).
    """

    code: str
    reason: str
    rule: str | None = None
    parameter: str | None = None
    number: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class RuleSetSpec:
    """A parsed, type-checked rule set."""

    name: str
    version: str
    hit_policy: str
    inputs: dict[str, InputSpec]
    outputs: dict[str, OutputSpec]
    parameters: dict[str, Any]
    rules: tuple[RuleSpec, ...]
    default_then: dict[str, Any] | None
    default_because: str | None
    description: str = ""
    file: str | None = None
    lines: dict[tuple, int] = field(default_factory=dict, compare=False, repr=False)
    hash: str = ""
    default_because_template: str | None = None
    acknowledge: tuple[Acknowledgement, ...] = ()


def rule_file_schema() -> dict:
    """The JSON Schema of a rule file (shipped as ``engine/rules/rule-file.schema.json``)."""
    text = resources.files("engine.rules").joinpath("rule-file.schema.json").read_text("utf-8")
    return json.loads(text)


# --- YAML with lines -----------------------------------------------------------------------
def _line_map(node, path: tuple, out: dict, file: str | None) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise RuleFileError(
                    f"duplicate key {key!r} (first on line {seen[key]}); each key may appear once",
                    file=file, line=key_node.start_mark.line + 1,
                )
            seen[key] = key_node.start_mark.line + 1
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_map(value_node, path + (key,), out, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, path + (i,), out, file)


class _YamlLimit(Exception):
    """A rule file exceeds a size limit of :class:`_RuleLoader` (reported as RuleFileError)."""

    def __init__(self, message: str, mark=None):
        super().__init__(message)
        self.mark = mark


class _RuleLoader(yaml.SafeLoader):
    """Safe YAML with limits a hostile rule file cannot get past.

    * at most :data:`MAX_ALIASES` alias uses (``*name``), and at most :data:`MAX_NODES` nodes
      once the aliases are expanded: a few kilobytes of nested aliases (a "billion laughs"
      file) would otherwise expand to gigabytes when the data is walked;
    * nesting at most :data:`MAX_DEPTH` deep (the composer recurses; deeper input would end
      in a RecursionError);
    * integers of at most :data:`MAX_INTEGER_DIGITS` digits (Python refuses to convert more
      than 4,300 with a ValueError, and the engines hold 64-bit numbers anyway).
    """

    def __init__(self, text: str):
        super().__init__(text)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _YamlLimit(
                    f"more than {MAX_ALIASES} YAML aliases (*name); a rule file needs few; repeat the values instead",
                    self.peek_event().start_mark,
                )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _YamlLimit(f"YAML nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node):
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_INTEGER_DIGITS:
            raise _YamlLimit(
                f"integer of {digits} digits; numbers in a rule file have at most {MAX_INTEGER_DIGITS} digits "
                "(64-bit); write a float such as 1e30 if you mean a huge bound",
                node.start_mark,
            )
        return yaml.constructor.SafeConstructor.construct_yaml_int(self, node)


_RuleLoader.add_constructor("tag:yaml.org,2002:int", _RuleLoader.construct_yaml_int)

_CLoader = getattr(yaml, "CSafeLoader", None)


if _CLoader is not None:
    class _FastRuleLoader(_CLoader):  # type: ignore[misc, valid-type]
        """:class:`_RuleLoader`'s limits on libyaml's C parser and composer, ten times faster
        (a 2,000-rule file: 2 s in pure Python). The C composer recurses, so nesting and
        aliases are first checked on the event stream (libyaml's parser keeps its own stack)
        and the tree is composed only then."""

        construct_yaml_int = _RuleLoader.construct_yaml_int

    _FastRuleLoader.add_constructor("tag:yaml.org,2002:int", _FastRuleLoader.construct_yaml_int)


def _check_events(text: str) -> None:
    """Nesting and alias limits on the event stream (the same rules as ``_RuleLoader``)."""
    depth = 0
    aliases = 0
    assert _CLoader is not None  # only called when libyaml is available
    loader = _CLoader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise _YamlLimit(
                        f"more than {MAX_ALIASES} YAML aliases (*name); a rule file needs few; repeat the values instead",
                        event.start_mark,
                    )
            if isinstance(event, yaml.NodeEvent) and depth + 1 > MAX_DEPTH:
                raise _YamlLimit(f"YAML nested more than {MAX_DEPTH} levels deep", event.start_mark)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        # libyaml's scanner runs ahead and stops at 1,000 levels before an event shows it
        if isinstance(exc, yaml.MarkedYAMLError) and "maximum nesting depth" in str(exc.problem):
            raise _YamlLimit(f"YAML nested more than {MAX_DEPTH} levels deep", exc.problem_mark) from None
        raise
    finally:
        loader.dispose()


def _expanded_size(node, budget: list[int], seen_depth: int = 0) -> None:
    """Count nodes with aliases expanded; raise once the budget is spent (no recursion limit hit:
    depth is already bounded by the loader)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _YamlLimit(f"the YAML expands to more than {MAX_NODES:,} values through its aliases", node.start_mark)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _expanded_size(key_node, budget)
            _expanded_size(value_node, budget)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _expanded_size(item, budget)


def _yaml_error(exc: yaml.YAMLError, file: str | None) -> RuleFileError:
    """A YAML error with the file, line and column of the problem (PyYAML says ``<unicode string>``)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if isinstance(exc, yaml.constructor.ConstructorError):
        return RuleFileError(
            f"not a safe YAML rule file: {context + ' ' if context else ''}{problem}. Rule files are plain YAML "
            "(no tags such as !!python/object)", file=file, line=line, column=column,
        )
    detail = f"{problem} ({context})" if context else problem
    return RuleFileError(f"YAML syntax error: {detail}", file=file, line=line, column=column)


def _read_yaml(text: str, file: str | None) -> tuple[Any, dict]:
    loader: _RuleLoader | _FastRuleLoader | None = None
    try:
        if _CLoader is not None:
            _check_events(text)
            loader = _FastRuleLoader(text)
        else:
            loader = _RuleLoader(text)  # one pass: the node tree (for lines) and the data from it
        node = loader.get_single_node()
        if node is not None:
            _expanded_size(node, [MAX_NODES])
        data = loader.construct_document(node) if node is not None else None
    except _YamlLimit as exc:
        mark = exc.mark
        raise RuleFileError(
            str(exc), file=file, line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file) from exc
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict = {}
    if node is not None:
        _line_map(node, (), lines, file)
    return data, lines


def _line_for(lines: dict, path) -> int | None:
    path = tuple(path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


# --- parsing ----------------------------------------------------------------------------
def load_spec(path: str | Path) -> RuleSetSpec:
    """Read, validate and parse one rule file.

    Raises
    ------
    RuleFileError
        Unreadable file, unsafe YAML, schema violation (with file and line).
    RuleSyntaxError, RuleTypeError
        A condition does not parse or type-check (with file, line and rule id).
    """
    path = Path(path)
    raw = read_rule_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RuleFileError(f"rule file is not UTF-8: {exc}", file=str(path)) from exc
    return parse_spec(text, file=str(path))


def read_rule_bytes(path: Path) -> bytes:
    """The bytes of a rule file: a regular file (after symlinks) of at most ``MAX_FILE_BYTES``.

    A FIFO would block the read forever and ``/dev/zero`` never ends, so anything but a
    regular file is refused before a byte is read (the file is opened non-blocking and checked
    on the open descriptor, so it cannot be swapped in between), and the read stops one byte
    past the limit whatever the file claims its size is.

    Raises
    ------
    RuleFileError
        Missing or unreadable, not a regular file, or too large.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise RuleFileError(f"cannot read rule file: {exc.strerror or exc}", file=str(path)) from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else (
                "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
            raise RuleFileError(
                f"expected a regular rule file; got {kind}"
                + (f" (the path is a symlink to {os.path.realpath(path)})" if os.path.islink(path) else "")
                + "; point kam at the .yaml file itself", file=str(path),
            )
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_FILE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise RuleFileError(f"cannot read rule file: {exc.strerror or exc}", file=str(path)) from exc
    finally:
        os.close(fd)
    if size > MAX_FILE_BYTES:
        raise RuleFileError(
            f"rule file is larger than {MAX_FILE_BYTES:,} bytes; a rule file is a few kilobytes, split it", file=str(path)
        )
    return b"".join(chunks)


def parse_spec(text: str, file: str | None = None) -> RuleSetSpec:
    """Parse rule-file text (see :func:`load_spec`). ``file`` is used in messages only."""
    import jsonschema

    data, lines = _read_yaml(text, file)
    if not isinstance(data, dict):
        raise RuleFileError(
            f"a rule file is a YAML mapping with name, version, inputs, outputs, hit_policy and "
            f"rules; got {type(data).__name__}", file=file, line=1,
        )
    validator = jsonschema.Draft202012Validator(rule_file_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise RuleFileError(
            f"rule file breaks the schema at {where}: {err.message}", file=file,
            line=_line_for(lines, err.absolute_path),
        )
    return _build(data, lines, file)


def _err(cls, message, lines, path, file):
    return cls(message, file=file, line=_line_for(lines, path))


def _build(data: dict, lines: dict, file: str | None) -> RuleSetSpec:
    inputs: dict[str, InputSpec] = {}
    for name, decl in data["inputs"].items():
        typ, values = (decl, None) if isinstance(decl, str) else (decl["type"], decl.get("values"))
        path = ("inputs", name)
        if name in KEYWORDS or name in FUNCTIONS or name.startswith(RESERVED_PREFIX):
            raise _err(RuleFileError, f"input name {name!r} is reserved; rename the input", lines, path, file)
        if typ == "enum" and not values:
            raise _err(RuleFileError, f"enum input {name!r} needs 'values: [...]'", lines, path, file)
        if typ != "enum" and values:
            raise _err(RuleFileError, f"input {name!r} has 'values' but type {typ!r}; use type: enum", lines, path, file)
        inputs[name] = InputSpec(name, typ, tuple(values) if values else None, _line_for(lines, path))
    outputs: dict[str, OutputSpec] = {}
    for name, decl in data["outputs"].items():
        typ, values = (decl, None) if isinstance(decl, str) else (decl["type"], decl.get("values"))
        path = ("outputs", name)
        if typ == "enum" and not values:
            raise _err(RuleFileError, f"enum output {name!r} needs 'values: [...]'", lines, path, file)
        if name in ("rule_id", "because", "status", "reason", "ruleset_hash"):
            raise _err(RuleFileError, f"output name {name!r} is reserved for the decision columns", lines, path, file)
        outputs[name] = OutputSpec(name, typ, tuple(values) if values else None)
    parameters = dict(data.get("parameters") or {})
    for name, value in parameters.items():
        path = ("parameters", name)
        if name in inputs:
            raise _err(RuleFileError, f"parameter {name!r} has the same name as an input", lines, path, file)
        if name in KEYWORDS or name in FUNCTIONS:
            raise _err(RuleFileError, f"parameter name {name!r} is reserved", lines, path, file)
        if isinstance(value, float) and not math.isfinite(value):
            raise _err(RuleFileError, f"parameter {name!r} must be finite", lines, path, file)

    policy = data["hit_policy"]
    rules: list[RuleSpec] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data["rules"]):
        rid = raw["id"]
        path = ("rules", i)
        if rid in seen:
            raise _err(RuleFileError, f"duplicate rule id {rid!r} (also rule #{seen[rid] + 1})", lines, path + ("id",), file)
        seen[rid] = i
        if policy == "priority" and "priority" not in raw:
            raise _err(RuleFileError, f"rule {rid!r}: hit policy 'priority' needs 'priority: <integer>' on every rule", lines, path, file)
        if policy != "priority" and "priority" in raw:
            raise _err(RuleFileError, f"rule {rid!r}: 'priority' is only used with hit_policy: priority (this file uses {policy!r})", lines, path + ("priority",), file)
        when = raw["when"]
        if isinstance(when, bool):
            if not when:
                raise _err(RuleSyntaxError, f"rule {rid!r}: 'when: false' never matches; delete the rule", lines, path + ("when",), file)
            when = "true"
        try:
            condition, canonical = compile_condition(when, inputs, parameters)
        except (RuleSyntaxError, RuleTypeError) as exc:
            raise type(exc)(f"rule {rid!r}: {exc.message}", file=file, line=_line_for(lines, path + ("when",))) from exc
        then = _check_then(raw["then"], outputs, lines, path + ("then",), file, f"rule {rid!r}")
        because = fill_because(raw["because"], parameters, f"rule {rid!r}", lines, path + ("because",), file)
        rules.append(RuleSpec(rid, when, canonical, condition, then, because, raw.get("priority"), _line_for(lines, path), i,
                              raw["because"]))

    default_then = default_because = default_template = None
    if data.get("default") is not None:
        default_then = _check_then(data["default"]["then"], outputs, lines, ("default", "then"), file, "default")
        default_template = data["default"].get("because") or "no rule matched; the rule set's default applies"
        default_because = fill_because(default_template, parameters, "default", lines, ("default", "because"), file)
    acknowledge = tuple(
        Acknowledgement(
            code=entry["code"], reason=entry["reason"], rule=entry.get("rule"), parameter=entry.get("parameter"),
            number=None if entry.get("number") is None else str(entry["number"]),
            line=_line_for(lines, ("acknowledge", k)),
        )
        for k, entry in enumerate(data.get("acknowledge") or ())
    )

    spec = RuleSetSpec(
        name=data["name"], version=str(data["version"]), hit_policy=policy, inputs=inputs,
        outputs=outputs, parameters=parameters, rules=tuple(rules), default_then=default_then,
        default_because=default_because, description=data.get("description", ""), file=file,
        lines=lines, default_because_template=default_template, acknowledge=acknowledge,
    )
    return _with_hash(spec)


def _parameter_text(value: Any, format_spec: str) -> str:
    if isinstance(value, bool) and not format_spec:
        return "true" if value else "false"  # as written in the rule file
    return format(value, format_spec)


def fill_because(text: str, parameters: dict, who: str = "rule", lines: dict | None = None,
                 path: tuple = (), file: str | None = None) -> str:
    """Fill ``{parameter}`` placeholders of a ``because`` sentence with the parameters' values.

    Done once, when the file loads, so the sentence always states the thresholds the rule
    uses. A placeholder may carry a Python format spec (``{large_deal_amount:,}`` ->
    ``500,000``); ``{{`` and ``}}`` are literal braces. Only bare parameter names are allowed:
    no attribute access, indexing or conversions.

    Raises
    ------
    RuleTypeError
        A placeholder names no parameter (with a did-you-mean), or its format spec does not
        fit the parameter's value.
    RuleSyntaxError
        Unbalanced braces, or a placeholder that is not a plain parameter name.

    Examples
    --------
    >>> fill_because("Deals of {large_deal_amount:,} CNY or more {{field sales}}", {"large_deal_amount": 500000})
    'Deals of 500,000 CNY or more {field sales}'
    """
    lines = lines or {}
    path = tuple(path)
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise _err(RuleSyntaxError, f"{who}: 'because' has unbalanced braces ({exc}); write {{{{ and }}}} "
                   "for a literal brace, {parameter_name} to quote a parameter", lines, path, file) from exc
    out = []
    for literal, name, format_spec, conversion in pieces:
        out.append(literal)
        if name is None:
            continue
        if conversion is not None or not name.isidentifier() or "{" in (format_spec or ""):
            raise _err(RuleSyntaxError, f"{who}: 'because' placeholder {{{name}{'!' + conversion if conversion else ''}"
                       f"{':' + format_spec if format_spec else ''}}} is not a parameter name; write "
                       "{parameter_name} or {parameter_name:format}, and {{ }} for literal braces", lines, path, file)
        if name not in parameters:
            hint = did_you_mean(name, parameters)
            declared = ", ".join(parameters) or "none"
            raise _err(RuleTypeError, f"{who}: 'because' quotes unknown parameter {name!r}{hint} (declared "
                       f"parameters: {declared}); write {{{{ and }}}} for literal braces", lines, path, file)
        try:
            out.append(_parameter_text(parameters[name], format_spec or ""))
        except (ValueError, TypeError) as exc:
            raise _err(RuleTypeError, f"{who}: 'because' placeholder {{{name}:{format_spec}}} cannot format "
                       f"{parameters[name]!r}: {exc}", lines, path, file) from exc
    return "".join(out)


def _check_then(then: dict, outputs: dict, lines, path, file, who: str) -> dict:
    checked = {}
    for key, value in then.items():
        if key not in outputs:
            hint = did_you_mean(key, outputs)
            raise _err(RuleTypeError, f"{who}: unknown output {key!r}{hint} (declared outputs: {', '.join(outputs)})", lines, path + (key,), file)
        out = outputs[key]
        ok = value is None or {
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "string": isinstance(value, str),
            "enum": isinstance(value, str) and value in (out.values or ()),
            "boolean": isinstance(value, bool),
        }[out.type]
        if not ok:
            allowed = f" (allowed: {', '.join(out.values)})" if out.values else ""
            raise _err(RuleTypeError, f"{who}: output {key!r} is {out.type}{allowed}, got {value!r}", lines, path + (key,), file)
        if out.type == "number" and value is not None:
            value = float(value)
            if not math.isfinite(value):
                raise _err(RuleTypeError, f"{who}: output {key!r} must be finite", lines, path + (key,), file)
        checked[key] = value
    return {name: checked.get(name) for name in outputs}


def _with_hash(spec: RuleSetSpec) -> RuleSetSpec:
    canonical = {
        "name": spec.name,
        "version": spec.version,
        "hit_policy": spec.hit_policy,
        "inputs": {k: [v.type, list(v.values or ())] for k, v in spec.inputs.items()},
        "outputs": {k: [v.type, list(v.values or ())] for k, v in spec.outputs.items()},
        "parameters": spec.parameters,
        "default": None if spec.default_then is None else [spec.default_then, spec.default_because],
        "rules": [[r.id, r.canonical, r.then, r.because, r.priority] for r in spec.rules],
    }
    blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(blob.encode("utf-8")).hexdigest()
    object.__setattr__(spec, "hash", digest)
    return spec

