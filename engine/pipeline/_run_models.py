"""The churn and win models a scoring run uses: fitted in memory and passed, or loaded from a folder.

Models passed in must both be there and fitted; models loaded come from the published folder
(:func:`engine._paths.default_artifacts_dir` unless one is named), and a missing one is a
:class:`~engine.ModelError` naming the file it looked for and how to publish it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine._errors import ConfigError, ModelError
from engine._log import get_logger
from engine._paths import MODELS_DIR_ENV, default_artifacts_dir
from engine.models import load_model

__all__ = ["_load_models", "_model_sha", "_models"]

_log = get_logger("score")


def _models(models: Mapping[str, Any] | None, artifacts_dir: str | Path | None) -> dict[str, Any]:
    """The churn and win models of a run: ``models`` as given (fitted in memory), else loaded."""
    if models is None:
        return _load_models(artifacts_dir)
    if not isinstance(models, Mapping) or sorted(models) != ["churn", "win"]:
        got = sorted(map(str, models)) if isinstance(models, Mapping) else type(models).__name__
        raise ConfigError(f"expected models={{'churn': fitted ChurnModel, 'win': fitted WinModel}}; got {got}. "
                          "Fix: pass both fitted models, or leave models out to load them from artifacts_dir")
    from sklearn.utils.validation import check_is_fitted

    from engine.models import NotFittedError

    for kind, model in models.items():
        try:
            check_is_fitted(model)
        except (TypeError, ValueError, AttributeError) as error:  # sklearn: NotFittedError or "not an estimator"
            raise NotFittedError(f"expected models[{kind!r}] to be a fitted {kind} model; got an unfitted "
                                 f"{type(model).__name__}. Fix: call .fit(X, y) first, or pass a model loaded "
                                 "with engine.load_model") from error
    return dict(models)


def _load_models(artifacts_dir: str | Path | None) -> dict[str, Any]:
    artifacts_dir = Path(artifacts_dir) if artifacts_dir is not None else default_artifacts_dir()
    models = {}
    for kind in ("churn", "win"):
        path = artifacts_dir / f"{kind}.joblib"
        if not path.exists():
            raise ModelError(
                f"expected a trained {kind} model at {path}; got no file. Fix: train one "
                f"(`kam train {kind} --db URL --artifacts {artifacts_dir}`), point artifacts_dir= (or "
                f"${MODELS_DIR_ENV}) at the folder of published models, or pass models={{'churn': ..., 'win': ...}}."
            )
        models[kind] = load_model(path, kind=kind)
        _log.info("%s model: %s (sha256 %s)", kind, path, _model_sha(models[kind])[:12] or "unknown")
    return models


def _model_sha(model) -> str:
    card = getattr(model, "card_", None)
    sha = getattr(card, "sha256", None)
    return str(sha) if sha else ""
