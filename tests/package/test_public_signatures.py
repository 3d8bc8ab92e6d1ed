"""issue 15: the public signatures are annotated, and ``backend=`` / ``engine=`` mean one thing each.

The walk reads ``__all__`` of ``engine`` and of every public subpackage (found by listing the
package, as the public-errors walk does): each function, and each public class's ``__init__``
and public methods and properties defined in kam.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect

import pandas as pd
import pytest
from package_factories import public_modules

import engine

#: Public signatures not fully annotated yet, each in a module of another work lane (models and
#: training: issue 9; the database facade and the service: issue 13; the call plan: issue 14).
#: The test only refuses a gap that is not listed here: annotating one of these needs no edit.
NOT_YET_ANNOTATED: set[str] = set()  # every public signature is annotated; keep it so


def _ours(value: object) -> bool:
    return (getattr(value, "__module__", None) or "").startswith("engine")


def _signatures() -> dict[str, tuple[object, bool]]:
    """Qualified name -> (function, is ``__init__``), each function once (the shortest path first)."""
    found: dict[str, tuple[object, bool]] = {}
    seen: set[int] = set()
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if id(value) in seen or not _ours(value):
                continue
            seen.add(id(value))
            if inspect.isfunction(value):
                found[f"{module_name}.{name}"] = (value, False)
            elif inspect.isclass(value) and not issubclass(value, BaseException):
                for attribute, member in vars(value).items():
                    if attribute.startswith("_") and attribute != "__init__":
                        continue
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if isinstance(member, property):
                        member = member.fget
                    if inspect.isfunction(member) and _ours(member) and id(member) not in seen:
                        seen.add(id(member))
                        found[f"{module_name}.{name}.{attribute}"] = (member, attribute == "__init__")
    return found


SIGNATURES = _signatures()


def _missing(function, is_init: bool) -> list[str]:
    annotations = function.__annotations__
    parameters = list(inspect.signature(function).parameters.values())
    gaps = [p.name for i, p in enumerate(parameters)
            if not (i == 0 and p.name in ("self", "cls")) and p.name not in annotations]
    if "return" not in annotations and not is_init:
        gaps.append("return")
    return gaps


def test_the_walk_sees_the_public_api():
    assert len(SIGNATURES) > 250
    assert {"engine.score", "engine.RuleSet.evaluate", "engine.alerts.advance", "engine.validate.parse_iso_days",
            "engine.Database.iter_table"} <= set(SIGNATURES)


def test_every_public_signature_is_annotated():
    gaps = {name: _missing(function, is_init) for name, (function, is_init) in SIGNATURES.items()}
    new = {name: missing for name, missing in gaps.items() if missing and name not in NOT_YET_ANNOTATED}
    assert not new, f"public signatures without annotations (parameter names, 'return'): {new}"
    stale = sorted(name for name in NOT_YET_ANNOTATED if not gaps.get(name))
    assert not stale, f"annotated now (or gone): take them off NOT_YET_ANNOTATED: {stale}"


def test_backend_is_where_a_run_executes_and_engine_the_rule_engine():
    """A public ``backend=`` is ``local``/``dask``; where it meant a rule engine it is ``engine=``.

    The old ``backend=`` of a rule-engine parameter stays only as the deprecated, keyword-only
    alias beside ``engine=`` (it warns; ``engine.rules.rule_engine`` reads both).
    """
    checked = 0
    for name, (function, _) in SIGNATURES.items():
        parameters = inspect.signature(function).parameters
        backend = parameters.get("backend")
        if backend is None:
            continue
        checked += 1
        if backend.default == "local":  # score, score_frame, run_partitions: where the stages run
            continue
        assert "engine" in parameters, f"{name}: backend= names a rule engine; call it engine="
        assert backend.default is None and backend.kind is inspect.Parameter.KEYWORD_ONLY, (
            f"{name}: backend= is only the deprecated keyword-only alias of engine=")
    assert checked >= 8


def _transition(**engine_keyword):
    from engine.alerts import AlertState, Event, transition

    event = Event("observe", dt.date(2026, 1, 5), True, "high", for_runs=1, cooldown_days=30)
    return transition(AlertState(), event, **engine_keyword)


def _diff(**engine_keyword):
    return engine.diff_rulesets(_RULES, _RULES, pd.DataFrame({"revenue": [1.0, 200.0]}), by=(), **engine_keyword)


@pytest.mark.parametrize("call", [_transition, _diff], ids=["alerts.transition", "diff_rulesets"])
def test_the_old_backend_keyword_still_works_with_a_warning(call):
    expected = call(engine="vectorized")
    with pytest.warns(engine.KamDeprecationWarning, match=r"\(backend='vectorized'\) is now .*\(engine='vectorized'\)"):
        old = call(backend="vectorized")
    assert repr(old) == repr(expected)


def test_engine_rules_backends_is_engines_under_its_old_name():
    import engine.rules

    assert "BACKENDS" not in engine.rules.__all__
    with pytest.warns(engine.KamDeprecationWarning, match="engine.rules.ENGINES"):
        assert engine.rules.BACKENDS == engine.rules.ENGINES == ("vectorized", "durable")


_RULES = engine.RuleSet.from_text("""
name: size
version: 1
inputs: {revenue: number}
outputs: {size: string}
hit_policy: first
default: {then: {size: small}}
rules: [{id: big, when: "revenue >= 100", then: {size: big}, because: big}]
""")
