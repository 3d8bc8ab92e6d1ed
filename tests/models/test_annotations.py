"""issue 15: the models' public signatures are fully annotated, resolve, and agree with the code.

``from __future__ import annotations`` keeps every annotation as text that nothing evaluates:
a stale or misspelt name would pass unnoticed by Python. These tests evaluate them
(``typing.get_type_hints``), and check that each ``Literal`` of options names exactly the
options the code accepts at run time.
"""

from __future__ import annotations

import inspect
import typing

import numpy as np
import pandas as pd
import pytest

import engine.models
import engine.pipeline._train as train
from engine.models import (
    PUBLISH_METRICS,
    AutoClassifier,
    ForwardGroupSplit,
    ModelSpec,
    _spec,
    _types,
)

#: Names the modules import only for type checking (at run time they import them lazily, inside functions).
_TYPE_CHECKING_NAMES = {"AutoClassifier": AutoClassifier, "ModelSpec": ModelSpec}


def _public_functions() -> dict[str, object]:
    found: dict[str, object] = {}
    for module, names in ((engine.models, engine.models.__all__), (train, train.__all__)):
        for name in names:
            value = getattr(module, name)
            if inspect.isfunction(value):
                found[f"{module.__name__}.{name}"] = value
            elif inspect.isclass(value) and not issubclass(value, BaseException):
                for klass in value.__mro__:  # ScoringMixin's predict_proba is AutoClassifier's too
                    if not klass.__module__.startswith("engine"):
                        continue
                    for attribute, member in vars(klass).items():
                        if attribute.startswith("_") and attribute != "__init__":
                            continue
                        if isinstance(member, (staticmethod, classmethod)):
                            member = member.__func__
                        if isinstance(member, property):
                            member = member.fget
                        if inspect.isfunction(member) and member.__module__.startswith("engine"):
                            found.setdefault(f"{module.__name__}.{name}.{attribute}", member)
    return found


PUBLIC = _public_functions()


def test_the_walk_sees_the_models_api():
    assert {"engine.models.AutoClassifier.fit", "engine.models.AutoClassifier.predict_proba",
            "engine.models.ForwardGroupSplit.split", "engine.models.save_model",
            "engine.pipeline._train.train_model"} <= set(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_parameter_and_the_return_is_annotated_and_resolves(name):
    function = PUBLIC[name]
    parameters = list(inspect.signature(function).parameters.values())
    hints = typing.get_type_hints(function, localns=_TYPE_CHECKING_NAMES)
    missing = [p.name for i, p in enumerate(parameters)
               if not (i == 0 and p.name in ("self", "cls")) and p.name not in hints]
    if function.__name__ != "__init__" and "return" not in hints:
        missing.append("return")
    assert not missing, f"{name}: not annotated: {missing}"


def test_the_literals_name_the_options_the_code_accepts():
    assert set(typing.get_args(_types.PublishMetric)) == set(PUBLISH_METRICS)
    assert set(typing.get_args(_types.ModelKind)) == set(_spec._KIND_TARGET) == set(train.KINDS)
    assert set(typing.get_args(_spec.Frequency)) == set(_spec._FREQUENCIES)
    calibration = next(c for c in AutoClassifier._parameter_constraints["calibration"])
    assert all(calibration.accepts(option) for option in typing.get_args(_types.Calibration))
    assert not calibration.accepts("isotonc")


def test_the_splits_are_row_positions_as_annotated():
    dates = pd.to_datetime(["2024-01-31"] * 4 + ["2024-02-29"] * 4 + ["2024-03-31"] * 4)
    split = ForwardGroupSplit(dates, n_splits=2)
    folds = list(split.split(np.zeros((12, 1)), groups=np.arange(12) % 3))
    folds += list(split.calibration_split(np.zeros((12, 1)), groups=np.arange(12) % 3))
    assert folds and all(part.dtype == np.intp for fold in folds for part in fold)
