"""Rule checks before anything runs (``kam rules check``), like DMN table verification.

Spec problems (schema, syntax, unknown fields, type mismatches) come from loading. Table
problems (unreachable rules, overlaps under ``unique``, ties under ``priority``, gaps) are
found by evaluating the rule set on a grid of boundary records built from the literals in its
conditions - both sides of every threshold, null, each enum value - and every reported
counter-example is re-evaluated with the vectorized engine before it is reported.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from engine._asof import AsOf
from engine._errors import RuleSyntaxError, RuleTypeError, SpecError
from engine.rules._authoring import apply_acknowledgements, authoring_findings
from engine.rules._expr import (
    And,
    BinOp,
    Bool,
    Cmp,
    Const,
    Field,
    IsNull,
    Known,
    Match,
    Num,
    Or,
    Str,
    fields_of,
    on_kind,
)
from engine.rules._spec import RuleSetSpec, load_spec
from engine.rules._typed import as_of_date, prepare_frame
from engine.rules._vectorized import match_matrix

__all__ = ["Finding", "check_rules", "CHECK_CODES"]

#: code -> (severity, meaning)
CHECK_CODES = {
    "schema": ("error", "the file is not valid YAML or breaks the rule-file schema"),
    "syntax": ("error", "a condition does not parse or uses a refused construct"),
    "unknown-field": ("error", "a condition or 'then' names an undeclared input/output"),
    "type-mismatch": ("error", "a condition mixes types (e.g. a boolean compared with a number)"),
    "durable-compile": ("error", "durable_rules refuses the compiled rule set"),
    "overlap": ("error", "hit policy unique: two rules match the same record"),
    "priority-tie": ("error", "hit policy priority: two rules with the same priority match one record"),
    "gap": ("error", "no rule matches a record with every input present, and there is no default"),
    "gap-null": ("warning", "no rule matches a record with some null input, and there is no default"),
    "unreachable-rule": ("warning", "hit policy first: an earlier rule takes every record this rule matches"),
    "never-matches": ("warning", "the rule matches no record of the boundary grid"),
    "unused-parameter": ("warning", "a parameter that no condition and no because text uses"),
    "hard-coded-number": ("warning", "a because text writes out a parameter's value instead of quoting {parameter}"),
    "stale-number": ("warning", "a because text states a number that equals no parameter and no literal of its condition"),
    "unused-acknowledgement": ("warning", "an acknowledge: entry that matches no finding any more"),
    "plan-parameter": ("error", "the plan rule set's parameters are missing or out of range (engine.plan refuses them)"),
}
MAX_GRID = 60_000


@dataclass(frozen=True)
class Finding:
    """One problem found in a rule file.

    Attributes
    ----------
    severity : {"error", "warning"}
    code : str
        See :data:`CHECK_CODES`.
    file : str or None
    line : int or None
    rule_id : str or None
    message : str
    counterexample : dict or None
        A record (input -> value) that shows the problem, verified by the vectorized engine.
    column : int or None
        1-based column (YAML syntax errors).
    subject : str or None
        What the finding is about besides the rule: a parameter name or a number as written.
    acknowledged : str or None
        The reason given in the file's ``acknowledge:`` list, when the finding is acknowledged.
    """

    severity: str
    code: str
    file: str | None
    line: int | None
    rule_id: str | None
    message: str
    counterexample: dict | None = None
    column: int | None = None
    subject: str | None = None
    acknowledged: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["counterexample"] is not None:
            d["counterexample"] = {k: _jsonable(v) for k, v in d["counterexample"].items()}
        return d

    def __str__(self) -> str:
        where = f"{self.file or '<text>'}:{self.line or 0}" + (f":{self.column}" if self.column else "")
        extra = f" (e.g. {self.to_dict()['counterexample']})" if self.counterexample else ""
        return f"{where}: {self.severity} {self.code} {self.message}{extra}"


def _jsonable(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (_dt.date, pd.Timestamp)):
        return v.isoformat()[:10]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _files(paths: Iterable[str | Path]) -> list[Path]:
    from engine._paths import as_path

    if not isinstance(paths, Iterable):
        from engine._errors import ArgumentError

        raise ArgumentError(f"check_rules: expected paths as a rule file, a folder or a list of them; got "
                            f"{type(paths).__name__}. Fix: pass e.g. 'rules/' or ['rules/tiers.yaml']")
    out: list[Path] = []
    for given in paths:
        p = as_path(given, "a rule file or folder", "rules/tiers.yaml")
        if p.is_dir():
            found = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            out.extend(found or [p])  # an empty directory is reported, not silently clean
        else:
            out.append(p)
    return out


def _spec_finding(exc: SpecError, file: str) -> Finding:
    if isinstance(exc, RuleTypeError):
        code = ("unknown-field" if any(s in exc.message for s in ("unknown field", "unknown output", "unknown parameter"))
                else "type-mismatch")
    elif isinstance(exc, RuleSyntaxError):
        code = "syntax"
    else:
        code = "schema"
    rule_id = None
    if exc.message.startswith("rule '"):
        rule_id = exc.message.split("'")[1]
    return Finding("error", code, exc.file or file, exc.line, rule_id, exc.message, column=getattr(exc, "column", None))


def check_rules(paths: str | Path | Iterable[str | Path], as_of: AsOf = None, *,
                acknowledged: bool = False,
                checks: Sequence[Callable[[RuleSetSpec, str], list[Finding]]] = ()) -> list[Finding]:
    """Check rule files; return every finding (empty list = clean).

    Parameters
    ----------
    paths : path or iterable of paths
        Rule files and/or directories of ``*.yaml`` files.
    as_of : date, optional
        The as-of date used to turn day counts into example dates (default: today).
    acknowledged : bool, default False
        Also return the warnings the files acknowledge (``acknowledge:``), last, with their
        ``acknowledged`` reason set; by default they are left out, so ``--strict`` passes.
    checks : sequence of callables, optional
        Further checks of each parsed rule set by the stage that reads it, ``check(spec, file)
        -> list[Finding]`` with codes from :data:`CHECK_CODES`: ``kam rules check`` passes
        :func:`engine.plan.plan_parameter_findings` (the plan reads rules; rules never import
        the plan).

    Returns
    -------
    list of Finding
        Errors first, then warnings, in file and line order (then acknowledged ones).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    day = as_of_date(as_of)
    findings: list[Finding] = []
    accepted: list[Finding] = []
    for file in _files(paths):
        if file.is_dir():
            findings.append(Finding("error", "schema", str(file), None, None,
                                    "no *.yaml rule files in this directory"))
            continue
        try:
            spec = load_spec(file)
        except SpecError as exc:
            findings.append(_spec_finding(exc, str(file)))
            continue
        found, intended = apply_acknowledgements(
            spec, check_spec(spec, day) + authoring_findings(spec) + [f for check in checks for f in check(spec, str(file))],
            CHECK_CODES)
        findings.extend(found)
        accepted.extend(intended)
    order = lambda f: (f.severity != "error", f.file or "", f.line or 0, f.code)  # noqa: E731
    findings.sort(key=order)
    return findings + (sorted(accepted, key=order) if acknowledged else [])


#: overlapping / tied pairs of rules reported per rule set (2,000 overlapping rules are two
#: million pairs: the first ones show the problem)
MAX_PAIR_FINDINGS = 50


def check_spec(spec: RuleSetSpec, as_of: _dt.date) -> list[Finding]:
    """Table checks for one parsed rule set (see :func:`check_rules`)."""
    findings: list[Finding] = []
    try:
        from engine.rules._durable import DurableEngine

        DurableEngine(spec).close()
    except SpecError as exc:
        findings.append(Finding("error", "durable-compile", spec.file, None, None, exc.message))
    grid = boundary_grid(spec, as_of)
    prepared = prepare_frame(spec, grid, as_of)
    matrix = match_matrix(spec, prepared)
    rules = spec.rules
    any_match = matrix.any(axis=0)

    def example(j: int) -> dict:
        return {k: _jsonable(grid[k].iloc[j]) for k in spec.inputs}

    for i, rule in enumerate(rules):
        if not matrix[i].any():
            findings.append(Finding("warning", "never-matches", spec.file, rule.line, rule.id,
                                    f"rule {rule.id!r} matches no record of the boundary grid ({len(grid)} records)"))
    # candidates first, then one evaluation of all their records re-checks them together
    # (finding, grid row of its counterexample, test the re-evaluated record must pass)
    candidates: list[tuple[Finding, int, Callable[[Any], bool]]] = []
    if spec.hit_policy == "first":
        earlier = np.zeros(len(grid), bool)
        for i, rule in enumerate(rules):
            if matrix[i].any() and not (matrix[i] & ~earlier).any():
                j = int(np.flatnonzero(matrix[i])[0])
                winner = int(np.flatnonzero(matrix[:, j])[0])
                candidates.append((Finding(
                    "warning", "unreachable-rule", spec.file, rule.line, rule.id,
                    f"rule {rule.id!r} is shadowed: on every boundary record it matches, an earlier rule "
                    f"decides (here {rules[winner].id!r})", example(j)),
                    j, _decided_by(rules[winner].id)))
            earlier |= matrix[i]
    if spec.hit_policy in ("unique", "priority"):
        code = "overlap" if spec.hit_policy == "unique" else "priority-tie"
        pairs, more = _co_matches(spec, matrix)
        if more:
            findings.append(Finding(
                "error", code, spec.file, spec.lines.get(("rules",)), None,
                f"more than {MAX_PAIR_FINDINGS} pairs of rules match one record together; the first "
                f"{MAX_PAIR_FINDINGS} are listed"))
        for (i, k), j in pairs.items():
            candidates.append((Finding(
                "error", code, spec.file, rules[k].line, rules[k].id,
                f"rules {rules[i].id!r} and {rules[k].id!r} both match this record"
                + (f" at priority {rules[i].priority}" if code == "priority-tie" else ""), example(j)),
                j, lambda r: r["status"] == "error"))
    if spec.default_then is None:
        gaps = ~any_match
        complete = ~np.column_stack([prepared.columns[k].null for k in spec.inputs]).any(axis=1)
        for code, mask in (("gap", gaps & complete), ("gap-null", gaps & ~complete)):
            if mask.any():
                j = int(np.flatnonzero(mask)[0])
                candidates.append((Finding(
                    CHECK_CODES[code][0], code, spec.file, spec.lines.get(("rules",)), None,
                    f"no rule matches {int(mask.sum())} of {len(grid)} boundary records"
                    + (" with some null input" if code == "gap-null" else "")
                    + " and there is no default; add a rule or a 'default:'", example(j)),
                    j, lambda r: r["status"] == "unmatched"))
    if candidates:
        verified = _evaluate_records(spec, [example(j) for _, j, _ in candidates], as_of)
        findings.extend(finding for n, (finding, _, holds) in enumerate(candidates)
                        if holds(verified.iloc[n]))
    return findings


def _co_matches(spec: RuleSetSpec, matrix: np.ndarray) -> tuple[dict[tuple[int, int], int], bool]:
    """Pairs of rules (i < k) that decide one grid record together - both match, and under
    ``priority`` they share the highest matching priority - with the first such record.

    Works on the distinct match patterns of the records with two or more matches, not on
    every pair of rules (2,000 rules are two million pairs). At most
    :data:`MAX_PAIR_FINDINGS` pairs; the flag says whether more were left out."""
    many = np.flatnonzero(matrix.sum(axis=0) >= 2)
    if not len(many):
        return {}, False
    packed = np.packbits(matrix[:, many], axis=0).T
    _, first = np.unique(packed, axis=0, return_index=True)
    priority = np.array([r.priority if r.priority is not None else 0 for r in spec.rules])
    found: dict[tuple[int, int], int] = {}
    for j in sorted(int(many[f]) for f in first):
        matching = np.flatnonzero(matrix[:, j])
        if spec.hit_policy == "priority":
            top = priority[matching].max()
            matching = matching[priority[matching] == top]
        for pair in itertools.combinations(matching.tolist(), 2):
            if pair not in found:
                if len(found) == MAX_PAIR_FINDINGS:
                    return dict(sorted(found.items())), True
                found[pair] = j
    return dict(sorted(found.items())), False


def _decided_by(rule_id: str) -> Callable[[Any], bool]:
    """The re-check of a shadowed rule: the re-evaluated record is decided by ``rule_id``."""
    return lambda record: bool(record["rule_id"] == rule_id)


def _evaluate_records(spec, records: list[dict], as_of) -> pd.DataFrame:
    from engine.rules._ruleset import RuleSet

    frame = pd.DataFrame({k: pd.Series([record[k] for record in records], dtype=object) for k in spec.inputs})
    for k, inp in spec.inputs.items():
        if inp.type == "date":
            frame[k] = pd.to_datetime(frame[k])
    return RuleSet(spec).evaluate(frame, as_of=as_of)


def _literals(spec: RuleSetSpec) -> dict[str, set]:
    """Literal values each input is compared with, anywhere in the conditions."""
    found: dict[str, set] = {k: set() for k in spec.inputs}
    for rule in spec.rules:
        _collect_literals(rule.condition, found)
    return found


# --- one case per condition kind of the normal form (see engine/rules/_expr/_nodes.py) -----
@on_kind
def _collect_literals(node: object, found: dict[str, set]) -> None:
    raise TypeError(f"not a condition: {node!r}")


@_collect_literals.register(And)
@_collect_literals.register(Or)
def _(node: And | Or, found: dict[str, set]) -> None:
    for item in node.items:
        _collect_literals(item, found)


@_collect_literals.register(Cmp)
def _(node: Cmp, found: dict[str, set]) -> None:
    literals = list(_numbers(node.right)) + list(_numbers(node.left))
    strings = [node.right.value] if isinstance(node.right, Str) else []
    for f in fields_of(node):
        found[f.name].update(strings if f.type in ("string", "enum") else literals)


@_collect_literals.register(Match)
def _(node: Match, found: dict[str, set]) -> None:
    literal = node.pattern.replace(".*", "").replace("[", "").replace("]", "")
    found[node.field.name].update({literal, literal + "x"})


@_collect_literals.register(IsNull)
@_collect_literals.register(Known)
@_collect_literals.register(Const)
def _(node: IsNull | Known | Const, found: dict[str, set]) -> None:
    return None  # no literal: the null and present candidates are always in the grid


@on_kind
def _numbers(node: object) -> Iterator[float]:
    raise TypeError(f"not a value: {node!r}")


@_numbers.register(Num)
def _(node: Num) -> Iterator[float]:
    yield node.value


@_numbers.register(BinOp)
def _(node: BinOp) -> Iterator[float]:
    yield from _numbers(node.left)
    yield from _numbers(node.right)


@_numbers.register(Str)
@_numbers.register(Bool)
@_numbers.register(Field)
def _(node: Str | Bool | Field) -> Iterator[float]:
    return iter(())


def _candidates(spec, name, inp, literals, as_of) -> list:
    if inp.type == "enum":
        return [*inp.values, None]
    if inp.type == "boolean":
        return [True, False, None]
    if inp.type == "string":
        return sorted(literals) + ["zz-other", None]
    values: set[float] = {0.0, 1.0}
    for c in literals:
        if inp.type == "integer" or inp.type == "date":
            values.update({math.floor(c) - 1, math.floor(c), math.ceil(c), math.ceil(c) + 1})
        else:
            values.update({c, math.nextafter(c, -math.inf), math.nextafter(c, math.inf), c - 1, c + 1})
    points = sorted(values)
    if inp.type == "date":
        return [as_of - _dt.timedelta(days=int(v)) for v in points] + [None]
    return [*points, None]


def boundary_grid(spec: RuleSetSpec, as_of: _dt.date, limit: int = MAX_GRID, seed: int = 0) -> pd.DataFrame:
    """Records on both sides of every threshold (plus null and each enum value).

    The full cartesian product when it has at most ``limit`` records; otherwise a fixed-seed
    sample of it together with every one-input variation of a base record.
    """
    literals = _literals(spec)
    cands = {k: _candidates(spec, k, inp, literals[k], as_of) for k, inp in spec.inputs.items()}
    names = list(cands)
    sizes = [len(cands[k]) for k in names]
    total = math.prod(sizes)
    if total <= limit:
        idx = np.array(list(itertools.product(*[range(s) for s in sizes])), dtype=np.int64).reshape(-1, len(names))
    else:
        rng = np.random.default_rng(seed)
        idx = np.column_stack([rng.integers(0, s, size=limit) for s in sizes])
    columns = {}
    for pos, k in enumerate(names):
        options = np.empty(len(cands[k]), dtype=object)
        options[:] = cands[k]
        col = pd.Series(options[idx[:, pos]], dtype=object)
        inp = spec.inputs[k]
        if inp.type == "date":
            col = pd.to_datetime(col)
        elif inp.type in ("number", "integer"):
            col = col.astype("float64")
        columns[k] = col
    return pd.DataFrame(columns)
