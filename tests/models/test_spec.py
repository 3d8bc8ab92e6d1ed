"""Model specs: the shipped ones load; mistakes are caught at load with file, key and hint."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

import engine
from engine._paths import default_models_dir
from engine.models import ChurnModel, WinModel, load_model_spec


@pytest.mark.parametrize(("name", "cls"), [("churn", ChurnModel), ("win", WinModel)])
def test_shipped_specs_load_and_build(name, cls):
    spec = load_model_spec(default_models_dir() / f"{name}.yaml")
    assert spec.name == name and spec.horizon_days == 180
    estimator = spec.build_estimator()
    assert type(estimator) is cls and estimator.min_class_count == 40
    dates = spec.as_of_dates("2026-01-15")
    assert len(dates) == 18 and dates[-1] <= pd.Timestamp("2026-01-15") - pd.Timedelta(days=180)
    assert spec.validation_start("2026-01-15") == dates[-3]


GOOD = """
name: churn
kind: churn
target: {definition: no_order_within_horizon, horizon_days: 180}
training:
  as_of: {frequency: monthly, periods: 12}
  validation_periods: 2
features: {include: all, exclude: [account_id]}
model:
  candidates:
    logistic: [{C: 1.0}]
publish: {metric: roc_auc, tolerance: 0.01}
"""


def _write(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_good_spec(tmp_path):
    spec = load_model_spec(_write(tmp_path, GOOD))
    assert spec.publish_tolerance == 0.01 and spec.exclude == ("account_id",)
    assert spec.select_features(["account_id", "recency_days", "complaints_90d"]) == [
        "recency_days", "complaints_90d"]
    with pytest.raises(engine.ColumnMismatchError, match="'account_id' \\(did you mean 'acount_id'\\?\\)"):
        spec.select_features(["acount_id", "recency_days"])


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("horizon_days: 180", "horizon_dayz: 180", r"unknown key 'target.horizon_dayz'; did you mean 'horizon_days'"),
        ("validation_periods: 2", "validation_period: 2", r"did you mean 'validation_periods'"),
        ("frequency: monthly", "frequency: montly", r"did you mean 'monthly'"),
        ("kind: churn", "kind: attrition", r"'kind' must be one of"),
        ("definition: no_order_within_horizon", "definition: open_opportunity_won", r"must be 'no_order_within_horizon'"),
        ("logistic: [{C: 1.0}]", "logistic: [{c: 1.0}]", r"unknown parameter 'c'.*did you mean 'C'"),
        ("logistic: [{C: 1.0}]", "logistic: [{C: -1.0}]", r"invalid candidate parameter.*'C' parameter"),
        ("logistic: [{C: 1.0}]", "logistc: [{C: 1.0}]", r"did you mean 'logistic'"),
        ("logistic: [{C: 1.0}]", "logistic: [{C: 1.0}]\n    hist_gradient_boosting: [{categorical_encoding: ordnal}]",
         r"option 'categorical_encoding': expected one of \['native', 'ordinal'\]; got 'ordnal'; did you mean 'ordinal'"),
        ("metric: roc_auc", "metric: auc", r"'publish.metric' must be one of"),
        ("periods: 12", "periods: twelve", r"'training.as_of.periods' must be integer"),
        ("validation_periods: 2", "validation_periods: 12", r"less than as_of.periods"),
        ("validation_periods: 2", "validation_periods: 2\n  level: nowcast", r"unknown key 'training.level'"),
        ("validation_periods: 2", "validation_periods: 2\n  calibration_folds: 1",
         r"'training.calibration_folds' must be from 2 .* to 50 .*got 1\. Fix"),
        ("validation_periods: 2", "validation_periods: 2\n  calibration_folds: 100000",
         r"'training.calibration_folds' must be from 2 .*got 100000\. Fix"),
        ("validation_periods: 2", "validation_periods: 2\n  calibration_folds: true",
         r"'training.calibration_folds' must be integer; got .*Fix: write a value of that type"),
        ("validation_periods: 2", "validation_periods: 2\n  calibration_folds: ten",
         r"'training.calibration_folds' must be integer; got .*Fix: write a value of that type"),
    ],
)
def test_bad_specs_refused_at_load(tmp_path, old, new, match):
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(engine.ModelSpecError, match=match) as info:
        load_model_spec(path)
    assert str(path) in str(info.value)


def test_line_number_reported(tmp_path):
    path = _write(tmp_path, GOOD.replace("horizon_days: 180}", "horizon_days: 180}\nextra: 1"))
    with pytest.raises(engine.ModelSpecError) as info:
        load_model_spec(path)
    target_line = GOOD.count("\n", 0, GOOD.index("horizon_days")) + 1
    assert info.value.line == target_line + 1 and "unknown key 'extra'" in str(info.value)


def test_unsafe_yaml_and_missing_file(tmp_path):
    with pytest.raises(engine.ModelSpecError, match="not valid YAML"):
        load_model_spec(_write(tmp_path, "name: !!python/object/apply:os.system ['true']\n"))
    with pytest.raises(engine.ModelSpecError, match="cannot read"):
        load_model_spec(tmp_path / "nope.yaml")
    with pytest.raises(engine.ModelSpecError, match="missing required key 'kind'"):
        load_model_spec(_write(tmp_path, "name: x\n"))
