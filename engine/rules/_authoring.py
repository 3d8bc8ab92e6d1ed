"""Authoring checks of ``kam rules check``: unused parameters and numbers in ``because`` texts.

A ``because`` sentence is shown with every decision, so it must state the thresholds the rule
really uses. A sentence that writes a threshold out ("at least 2 million CNY") instead of
quoting the parameter (``{field_min_revenue_12m:,}``) goes stale the day the parameter changes,
silently. Two findings catch that:

* ``hard-coded-number`` - a number in the sentence equals a parameter's value: quote the
  parameter instead, so the sentence follows it;
* ``stale-number`` - a number equals no parameter, no literal of the rule's own condition and
  no number in the name of an input the rule reads (the 12 of ``revenue_12m``): most likely a
  threshold that was changed since.

``unused-parameter`` reports a parameter that no condition and no sentence uses. An intended
finding is acknowledged in the rule file (``acknowledge:``, with a reason), see
:func:`apply_acknowledgements`.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable

from engine.rules._expr import _tokenize

__all__ = ["authoring_findings", "apply_acknowledgements", "numbers_in_text"]

_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9}
_NUMBER = re.compile(
    r"(?<![\w.])(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?P<fraction>\.\d+)?"
    r"(?:\s*(?P<unit>%|percent\b|per cent\b|thousand\b|million\b|billion\b|mn\b|bn\b|[kKmM]\b))?(?!\w)"
)


def numbers_in_text(text: str) -> list[tuple[str, tuple[float, ...]]]:
    """Numbers written in ``text``: ``(as written, values it may stand for)``.

    Thousands separators are read, a scale word multiplies (``2 million`` -> 2,000,000), and a
    percentage may stand for the fraction or for the number of percent.

    Examples
    --------
    >>> numbers_in_text("at least 2 million CNY, 30% of 1,250.5")
    [('2 million', (2.0, 2000000.0)), ('30%', (30.0, 0.3)), ('1,250.5', (1250.5,))]
    """
    found = []
    for match in _NUMBER.finditer(text):
        value = float(match.group("digits").replace(",", "") + (match.group("fraction") or ""))
        unit = (match.group("unit") or "").strip().lower()
        if unit in ("%", "percent", "per cent"):
            values: tuple[float, ...] = (value, value / 100)
        elif unit in _SCALE:
            values = (value, value * _SCALE[unit])
        else:
            values = (value,)
        found.append((match.group(0).strip(), values))
    return found


def _equal(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _literal_text(template: str) -> str:
    """The template without its ``{parameter}`` placeholders (those follow the parameters)."""
    try:
        return " ".join(literal for literal, *_ in string.Formatter().parse(template))
    except ValueError:
        return template


def _placeholders(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError:
        return set()


def _names_and_numbers(when: str) -> tuple[set[str], list[float]]:
    tokens = _tokenize(when)
    names = {t.text for t in tokens if t.kind == "name"}
    numbers = [float(t.text) for t in tokens if t.kind == "num"]
    return names, numbers


def authoring_findings(spec) -> list:
    """``unused-parameter``, ``hard-coded-number`` and ``stale-number`` findings of one rule set."""
    from engine.rules._check import Finding

    findings = []
    numeric = {
        name: float(value) for name, value in spec.parameters.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    used: set[str] = set()
    sentences = []  # (rule id or None, line, template, literals of the condition, names read)
    for rule in spec.rules:
        names, literals = _names_and_numbers(rule.when if isinstance(rule.when, str) else "true")
        template = rule.because_template or rule.because
        used |= names | _placeholders(template)
        sentences.append((rule.id, rule.line, template, literals, names))
    if spec.default_because_template:
        used |= _placeholders(spec.default_because_template)
        sentences.append((None, spec.lines.get(("default",)), spec.default_because_template, [], set()))
    for name, value in spec.parameters.items():
        if name not in used:
            findings.append(Finding(
                "warning", "unused-parameter", spec.file, spec.lines.get(("parameters", name)), None,
                f"parameter {name!r} ({value!r}) is used by no condition and no because text; delete it, "
                "or use it", subject=name,
            ))
    for rule_id, line, template, literals, names in sentences:
        who = f"rule {rule_id!r}" if rule_id else "the default"
        in_names = {float(d) for n in names for d in re.findall(r"\d+", n)}
        for written, values in numbers_in_text(_literal_text(template)):
            quoted = [p for p, v in numeric.items() if any(_equal(c, v) for c in values)]
            if quoted:
                findings.append(Finding(
                    "warning", "hard-coded-number", spec.file, line, rule_id,
                    f"{who}: because writes {written!r}, the value of parameter {quoted[0]!r}; quote it "
                    f"({{{quoted[0]}}}, or with a format such as {{{quoted[0]}:,}}) so that the sentence "
                    "follows the parameter", subject=written,
                ))
            elif not any(_equal(c, v) for c in values for v in [*literals, *in_names]):
                near = ", ".join(f"{p} = {spec.parameters[p]!r}" for p in numeric) or "none declared"
                findings.append(Finding(
                    "warning", "stale-number", spec.file, line, rule_id,
                    f"{who}: because writes {written!r}, which equals no parameter (parameters: {near}) and "
                    "no number of its condition; a threshold changed since? Quote the parameter it means, or "
                    "acknowledge the number in the file if it is not a threshold", subject=written,
                ))
    return findings


def apply_acknowledgements(spec, findings: Iterable, codes: Iterable[str]) -> tuple[list, list]:
    """Split ``findings`` of ``spec`` into (open, acknowledged); report bad acknowledgements.

    A warning is acknowledged by an entry of the file's ``acknowledge:`` list with its code and,
    when the entry gives them, its rule id and subject (the parameter or the number as written).
    Errors cannot be acknowledged. An entry with an unknown code is an error, and an entry
    that matches no finding is an ``unused-acknowledgement`` warning, so that the list cannot
    outlive the findings it explains.
    """
    import dataclasses

    from engine._suggest import did_you_mean
    from engine.rules._check import Finding

    codes = set(codes)
    open_findings, acknowledged, extra = [], [], []
    hits = [0] * len(spec.acknowledge)
    for finding in findings:
        entry_index = next(
            (k for k, entry in enumerate(spec.acknowledge) if finding.severity == "warning" and _covers(entry, finding)),
            None,
        )
        if entry_index is None:
            open_findings.append(finding)
        else:
            hits[entry_index] += 1
            acknowledged.append(dataclasses.replace(finding, acknowledged=spec.acknowledge[entry_index].reason))
    for entry, count in zip(spec.acknowledge, hits):
        if entry.code not in codes:
            hint = did_you_mean(entry.code, sorted(codes)) or f"; expected one of {sorted(codes)}"
            extra.append(Finding(
                "error", "schema", spec.file, entry.line, entry.rule,
                f"acknowledge: unknown finding code {entry.code!r}{hint}",
            ))
        elif count == 0:
            what = ", ".join(f"{k} {v!r}" for k, v in (("rule", entry.rule), ("parameter", entry.parameter),
                                                       ("number", entry.number)) if v is not None)
            extra.append(Finding(
                "warning", "unused-acknowledgement", spec.file, entry.line, entry.rule,
                f"acknowledge: no {entry.code} finding{' for ' + what if what else ''} to acknowledge any more; "
                "delete the entry",
            ))
    return open_findings + extra, acknowledged


def _covers(entry, finding) -> bool:
    if entry.code != finding.code:
        return False
    if entry.rule is not None and entry.rule != finding.rule_id:
        return False
    if entry.parameter is not None and entry.parameter != finding.subject:
        return False
    if entry.number is not None and entry.number != finding.subject:
        return False
    return True
