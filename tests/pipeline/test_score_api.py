"""issue 15: the public scoring API a notebook reaches (models in memory, the model folder, dataclasses)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import engine
from engine._paths import default_artifacts_dir, default_models_dir
from engine.features import ACCOUNT_INPUT_COLUMNS, build_account_features
from engine.models import load_model
from engine.pipeline._score import FEATURE_COLUMNS, ScoredTables
from engine.validate import validate_tables

#: The as-of date the pipeline fixtures (tests/pipeline/conftest.py) trained the small models at.
AS_OF = "2026-10-01"


def test_score_frame_takes_models_fitted_in_memory(demo_tables, artifacts):
    fitted = {kind: load_model(Path(artifacts) / f"{kind}.joblib", kind=kind) for kind in ("churn", "win")}
    from_folder = engine.score_frame(demo_tables, as_of=AS_OF, artifacts_dir=artifacts)
    in_memory = engine.score_frame(demo_tables, as_of=AS_OF, models=fitted, artifacts_dir="/nonexistent")
    assert np.allclose(in_memory.account_scores["churn_probability"], from_folder.account_scores["churn_probability"])
    assert np.allclose(in_memory.opportunity_routes["win_probability"],
                       from_folder.opportunity_routes["win_probability"])


def test_models_must_be_both_and_fitted(demo_tables, artifacts):
    churn = load_model(Path(artifacts) / "churn.joblib", kind="churn")
    with pytest.raises(engine.ConfigError, match=r"expected models=\{'churn'.*got \['churn'\]"):
        engine.score_frame(demo_tables, as_of=AS_OF, models={"churn": churn})
    with pytest.raises(engine.NotFittedError, match=r"models\['win'\] to be a fitted win model"):
        engine.score_frame(demo_tables, as_of=AS_OF, models={"churn": churn, "win": engine.WinModel()})


def test_the_default_model_folder_does_not_depend_on_the_working_directory(tmp_path):
    code = "from engine._paths import default_artifacts_dir; print(default_artifacts_dir())"
    env = {k: v for k, v in os.environ.items() if k != "KAM_MODELS_DIR"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert Path(out) == default_models_dir() / "artifacts" and Path(out).is_absolute()
    assert default_artifacts_dir({"KAM_MODELS_DIR": str(tmp_path)}) == tmp_path


def test_a_missing_model_says_where_it_looked_and_how_to_fix(demo_tables, tmp_path):
    with pytest.raises(engine.ModelError, match=r"expected a trained churn model at .*KAM_MODELS_DIR.*models="):
        engine.score_frame(demo_tables, as_of=AS_OF, artifacts_dir=tmp_path)


def test_feature_columns_are_the_features_own_lists(demo_tables):
    """A column the account features read is never dropped by the pipeline's column pruning."""
    assert all(FEATURE_COLUMNS[name] == ACCOUNT_INPUT_COLUMNS[name] for name in FEATURE_COLUMNS)
    valid = validate_tables(demo_tables, as_of=AS_OF).valid
    pruned = {name: frame[list(FEATURE_COLUMNS[name])] if name in FEATURE_COLUMNS else frame
              for name, frame in valid.items()}
    pd.testing.assert_frame_equal(build_account_features(pruned, AS_OF), build_account_features(valid, AS_OF))


def test_stage_results_are_frozen_dataclasses(demo_tables, artifacts):
    result = engine.score_frame(demo_tables, as_of=AS_OF, artifacts_dir=artifacts)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.run_id = "x"  # type: ignore[misc]
    assert dataclasses.is_dataclass(ScoredTables) and ScoredTables.__dataclass_params__.frozen


def test_score_and_backends_do_not_import_each_other():
    import ast

    import engine.pipeline as pipeline

    folder = Path(pipeline.__file__).parent
    imports = {}
    for name in ("_score", "_backends", "_rowwise"):
        tree = ast.parse((folder / f"{name}.py").read_text())
        imports[name] = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert "engine.pipeline._score" not in imports["_backends"] | imports["_rowwise"]
    assert "engine.pipeline._rowwise" in imports["_backends"] & imports["_score"]
