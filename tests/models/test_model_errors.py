"""Every error the models area raises for a bad input is a KamError saying expected / got / fix.

The models area used to raise bare ``ValueError``/``TypeError``: the CLI could not map them to
an exit code and the messages did not say how to fix the call. Each case below is one of
those raises, reached the way a user reaches it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import engine
from engine.features import churn_eligible
from engine.models import (
    ChurnModel,
    DriftCheck,
    ForwardGroupSplit,
    evaluate,
    expected_calibration_error,
    explain,
    priority_rank,
    read_card,
    time_split,
    validation_curves,
    value_at_risk,
)
from engine.models._artifacts import _window
from engine.models._calibration import choose_calibration
from engine.models._candidates import build_candidate, expand_candidates
from engine.models._inputs import as_frame, encode_target
from engine.models._selection import check_cv, resolve_folds
from engine.models._threads import scoring_threads

_FIX = re.compile(r"\b(fix|pass|use|write|reshape|map)\b", re.IGNORECASE)
_DATES = pd.to_datetime(["2024-01-31"] * 4 + ["2024-02-29"] * 4 + ["2024-03-31"] * 4)


def _fitted():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = (X["a"] + rng.normal(size=300) > 0).astype(int)
    return ChurnModel(candidates={"logistic": [{"C": 1.0}]}, blend=False, cv=3).fit(X, y), X


CASES = {
    "sparse X": (lambda: as_frame(__import__("scipy.sparse").sparse.csr_matrix(np.eye(3))),
                 engine.ArgumentError, TypeError),
    "1-D X": (lambda: as_frame(np.zeros(5)), engine.DataError, ValueError),
    "2-D y": (lambda: encode_target(np.zeros((4, 2)), 4), engine.DataError, ValueError),
    "y of another length": (lambda: encode_target(np.zeros(3), 4), engine.DataError, ValueError),
    "infinite y": (lambda: encode_target(np.array([0.0, np.inf]), 2), engine.DataError, ValueError),
    "continuous y": (lambda: encode_target(np.array([0.1, 0.7, 0.3]), 3), engine.DataError, ValueError),
    "three classes": (lambda: encode_target(np.array([0, 1, 2]), 3), engine.DataError, ValueError),
    "n_jobs set after fit": (lambda: scoring_threads(0, 10), engine.ConfigError, ValueError),
    "binning": (lambda: expected_calibration_error([0, 1], [0.2, 0.8], binning="quantiles"),
                engine.ArgumentError, ValueError),
    "curve points": (lambda: validation_curves(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8]), points=1),
                     engine.ArgumentError, ValueError),
    "card window": (lambda: _window(42), engine.ArgumentError, TypeError),
    "calibration method": (lambda: choose_calibration("platt", np.zeros(3), np.zeros(3, int), []),
                           engine.ConfigError, ValueError),
    "empty candidates": (lambda: expand_candidates({}), engine.ConfigError, ValueError),
    "candidate family": (lambda: expand_candidates({"logistc": {}}), engine.ConfigError, ValueError),
    "candidate grid": (lambda: expand_candidates({"logistic": 3}), engine.ConfigError, ValueError),
    "candidate option": (lambda: expand_candidates({"logistic": [{"numeric_encoding": "splines"}]}),
                         engine.ConfigError, ValueError),
    "candidate parameter": (lambda: expand_candidates({"logistic": [{"CC": 1.0}]}), engine.ConfigError, ValueError),
    "family at build": (lambda: build_candidate("forest", {}, numeric=[], skewed=[], binary=[], categorical_low=[],
                                                categorical_high=[], n_fit_rows=10, random_state=0),
                        engine.ConfigError, ValueError),
    "cv": (lambda: check_cv(1.5), engine.ConfigError, ValueError),
    "groups of another length": (lambda: resolve_folds(3, pd.DataFrame({"a": range(4)}), np.array([0, 1, 0, 1]),
                                                       np.array([1, 2]), max_rows=None, random_state=0),
                                 engine.DataError, ValueError),
    "cv without folds": (lambda: resolve_folds([], pd.DataFrame({"a": range(4)}), np.array([0, 1, 0, 1]), None,
                                               max_rows=None, random_state=0),
                         engine.InsufficientDataError, ValueError),
    "split label dates": (lambda: ForwardGroupSplit(_DATES, 2, label_dates=_DATES[:3]).blocks(),
                          engine.ArgumentError, ValueError),
    "split n_splits": (lambda: ForwardGroupSplit(_DATES, 0).blocks(), engine.ArgumentError, ValueError),
    "split rows": (lambda: list(ForwardGroupSplit(_DATES, 2).split(np.zeros((5, 1)))), engine.DataError, ValueError),
    "split groups": (lambda: list(ForwardGroupSplit(_DATES, 2).split(np.zeros((12, 1)), groups=np.arange(5))),
                     engine.DataError, ValueError),
    "explain direction": (lambda: _fitted()[0].explain(_fitted()[1].head(2), direction="up"),
                          engine.ArgumentError, ValueError),
    "explain top": (lambda: _fitted()[0].explain(_fitted()[1].head(2), top=0), engine.ArgumentError, ValueError),
    "scoring columns": (lambda: _fitted()[0].predict_proba(np.zeros((2, 3))), engine.ColumnMismatchError, ValueError),
    "probabilities as text": (lambda: evaluate([0, 1], ["low", "high"]), engine.ArgumentError, ValueError),
    "split start": (lambda: time_split(pd.DataFrame({"as_of": _DATES}), "as_of", "end of Q1"),
                    engine.ArgumentError, ValueError),
    "split horizon": (lambda: time_split(pd.DataFrame({"as_of": _DATES}), "as_of", "2024-03-01", horizon_days="60"),
                      engine.ArgumentError, TypeError),
    "margins of another length": (lambda: value_at_risk([0.1, 0.2], [1.0, 2.0, 3.0]), engine.DataError, ValueError),
    "priority column name": (lambda: priority_rank(pd.DataFrame({"a": [1.0]}), value=3), engine.ArgumentError, TypeError),
    "drift distribution": (lambda: DriftCheck(_fitted()[0], {"rows": 3}), engine.ArgumentError, ValueError),
    "explain a foreign model": (lambda: explain(LogisticRegression(), pd.DataFrame({"a": [1.0]})),
                                engine.ArgumentError, TypeError),
    "card path": (lambda: read_card(3), engine.ArgumentError, TypeError),
    "training rows without orders": (lambda: churn_eligible(pd.DataFrame({"account_id": ["A1"]})),
                                     engine.ColumnMismatchError, KeyError),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_input_is_a_kam_error_with_expected_got_fix(case):
    call, family, builtin = CASES[case]
    with pytest.raises(family) as info:
        call()
    error = info.value
    assert isinstance(error, engine.KamError) and isinstance(error, builtin), type(error).__mro__
    message = str(error)
    assert "expected" in message.lower() and "got" in message.lower(), message
    assert _FIX.search(message.split("got", 1)[1]), f"no fix after 'got': {message}"


def test_the_oracle_refuses_a_date_outside_the_simulated_window():
    from engine.demo._oracle import churn_oracle

    with pytest.raises(engine.ArgumentError, match="expected an as-of date .* got 2040-01-31. Fix"):
        churn_oracle(50, 0, "2026-09-30", ["2040-01-31"], replicates=1)


def test_no_bare_builtin_raise_is_left_in_the_models_area():
    from pathlib import Path

    root = Path(engine.__file__).parent
    files = [*sorted((root / "models").glob("*.py")), root / "demo" / "_oracle.py", root / "pipeline" / "_train.py",
             root / "features" / "_training.py"]
    bare = re.compile(r"raise (ValueError|TypeError|KeyError|RuntimeError|IndexError|LookupError|Exception)\(")
    found = [f"{path.name}:{n}" for path in files
             for n, line in enumerate(path.read_text().splitlines(), 1) if bare.search(line)]
    assert not found, found
