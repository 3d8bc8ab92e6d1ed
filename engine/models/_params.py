"""Parameter constraints of the auto classifiers, checked before ``fit`` does any work.

The same idea as scikit-learn's ``_parameter_constraints`` (``sklearn/utils/_param_validation.py``):
each estimator declares, per parameter, what it accepts; ``fit`` checks every parameter first,
so ``ChurnModel(calibration="isotonc").fit(X, y)`` fails at once - before the columns are
typed or a single candidate is fitted - with the parameter, what it must be, what it got and,
for a misspelt option or name, the nearest valid one. scikit-learn's own classes are private
and change between releases, so the few constraint kinds kam needs are written out here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine._errors import ConfigError
from engine._suggest import did_you_mean

__all__ = ["Integer", "InvalidParameterError", "Options", "validate_params"]


class InvalidParameterError(ConfigError, TypeError):
    """An estimator parameter has a value it does not accept (raised by ``fit``, before any work).

    Both a :class:`engine.ConfigError` (CLI exit code of a spec error) and a ``TypeError`` /
    ``ValueError``, as scikit-learn's ``InvalidParameterError`` is.
    """


@dataclass(frozen=True)
class Options:
    """One of a few strings (a misspelling gets a did-you-mean)."""

    values: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Integer:
    """An integer (never a bool) of at least ``minimum``."""

    minimum: int

    def accepts(self, value: Any) -> bool:
        return bool(isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
                    and value >= self.minimum)

    def describe(self) -> str:
        return f"an integer >= {self.minimum}"


@dataclass(frozen=True)
class Kind:
    """A value of a type, or one that a predicate accepts."""

    what: str
    test: Callable[[Any], bool]

    def accepts(self, value: Any) -> bool:
        return bool(self.test(value))

    def describe(self) -> str:
        return self.what


FLAG = Kind("a bool", lambda v: isinstance(v, (bool, np.bool_)))
NONE = Kind("None", lambda v: v is None)
SPLITTER = Kind("a scikit-learn splitter (an object with split(X, y, groups), e.g. GroupKFold(3) or "
                "engine.models.ForwardGroupSplit) or a list of (train_indices, validation_indices) pairs",
                lambda v: not isinstance(v, (str, bytes, Mapping))
                and (hasattr(v, "split") or isinstance(v, Iterable)))
NUMBER_MAP = Kind("a mapping of column name -> number, e.g. {'days_since_last_visit': 396}",
                  lambda v: isinstance(v, Mapping) and all(
                      isinstance(k, str) and isinstance(x, (int, float, np.integer, np.floating))
                      and not isinstance(x, (bool, np.bool_)) and np.isfinite(x) for k, x in v.items()))
CANDIDATE_GRID = Kind("a mapping of family -> grid, e.g. {'logistic': [{'C': 1.0}]}",
                      lambda v: isinstance(v, Mapping) and len(v) > 0)


def validate_params(estimator: Any) -> None:
    """Check every parameter of ``estimator`` against its ``_parameter_constraints``.

    Raises
    ------
    InvalidParameterError
        Naming the parameter and the estimator, what it must be, what it got, and (for a
        misspelt option, candidate family or candidate parameter) the nearest valid name.
    """
    name = type(estimator).__name__
    params = estimator.get_params(deep=False)
    for parameter, constraints in estimator._parameter_constraints.items():
        value = params[parameter]
        if any(c.accepts(value) for c in constraints):
            continue
        options = [v for c in constraints if isinstance(c, Options) for v in c.values]
        hint = did_you_mean(value, options) if isinstance(value, str) and options else ""
        expected = " or ".join(c.describe() for c in constraints)
        raise InvalidParameterError(
            f"The {parameter!r} parameter of {name} must be {expected}; got {value!r}"
            + (hint or ".") + f" Fix: {name}({parameter}=...) with a value it accepts (see docs/models.md)."
        )
    if params.get("candidates") is not None:
        _validate_candidates(name, params["candidates"])


def _validate_candidates(name: str, candidates: Mapping[str, Any]) -> None:
    """Families, parameter names and values of a candidate grid (scikit-learn's constraints)."""
    from engine.models._candidates import (
        CANDIDATE_FAMILIES,
        PIPELINE_OPTIONS,
        expand_candidates,
    )

    for family, grid in candidates.items():
        if family not in CANDIDATE_FAMILIES:
            raise InvalidParameterError(
                f"The 'candidates' parameter of {name} has an unknown family {family!r}; expected "
                f"one of {sorted(CANDIDATE_FAMILIES)}" + (did_you_mean(family, CANDIDATE_FAMILIES) or ".")
            )
        settings = [grid] if isinstance(grid, Mapping) else grid
        if not isinstance(settings, Sequence) or isinstance(settings, str):
            raise InvalidParameterError(
                f"The grid of {family!r} in the 'candidates' parameter of {name} must be a list of "
                f"parameter dicts or a dict of lists; got {grid!r}."
            )
        valid = [*CANDIDATE_FAMILIES[family]().get_params(), *PIPELINE_OPTIONS[family]]
        for setting in settings:
            if not isinstance(setting, Mapping):
                raise InvalidParameterError(
                    f"The grid of {family!r} in the 'candidates' parameter of {name} must hold "
                    f"parameter dicts; got {setting!r}."
                )
            for key in setting:
                if key not in valid:
                    raise InvalidParameterError(
                        f"Unknown parameter {key!r} for candidate {family!r} in the 'candidates' "
                        f"parameter of {name}; expected parameters of "
                        f"{CANDIDATE_FAMILIES[family].__name__} or {list(PIPELINE_OPTIONS[family])}"
                        + (did_you_mean(key, valid) or ".")
                    )
    try:
        expanded = expand_candidates(candidates)
        for _, family, setting in expanded:
            estimator = CANDIDATE_FAMILIES[family](
                **{k: v for k, v in setting.items() if k not in PIPELINE_OPTIONS[family]})
            estimator._validate_params()  # scikit-learn's own constraints for the values
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(
            f"Invalid value in the 'candidates' parameter of {name}: {error}") from error
