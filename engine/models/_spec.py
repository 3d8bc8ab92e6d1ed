"""Model specs (``models/*.yaml``): what to predict, from which as-of dates, with which candidates.

A spec is validated once, when it is loaded: unknown keys are refused with the nearest known
name, values are type- and range-checked, candidate parameters are checked against the
scikit-learn estimator they configure. Errors are :class:`engine.ModelSpecError` naming the file,
the line when known, and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeAlias

import pandas as pd
import yaml

from engine._errors import ColumnMismatchError, ModelSpecError
from engine._paths import as_path
from engine._suggest import did_you_mean, with_suggestion
from engine.models._types import DateLike, ModelKind, PublishMetric

if TYPE_CHECKING:
    from engine.models._base import AutoClassifier

__all__ = ["ModelSpec", "load_model_spec", "TARGET_DEFINITIONS", "PUBLISH_METRICS"]

#: Target definitions kam knows, per model kind.
TARGET_DEFINITIONS: dict[str, str] = {
    "no_order_within_horizon": "churn: 1 when the account places no order in (as_of, as_of + horizon_days]",
    "open_opportunity_won": "win: 1 when an opportunity open at as_of is later won (closed within horizon_days)",
}
_KIND_TARGET: dict[ModelKind, str] = {"churn": "no_order_within_horizon", "win": "open_opportunity_won"}

#: Metrics the publish gate can compare, and whether higher is better.
PUBLISH_METRICS: dict[PublishMetric, bool] = {
    "roc_auc": True, "pr_auc": True, "lift_top_decile": True, "capture_top_decile": True,
    "brier": False, "ece": False,
}

#: How often the training as-of dates fall (``training.as_of.frequency``), and pandas' period end.
Frequency: TypeAlias = Literal["monthly", "quarterly", "weekly"]
_FREQUENCIES: dict[Frequency, str] = {"monthly": "ME", "quarterly": "QE", "weekly": "W-SUN"}

_SCHEMA: dict[str, Any] = {
    "name": str,
    "kind": str,
    "description": str,
    "target": {"definition": str, "horizon_days": int},
    "training": {
        "as_of": {"frequency": str, "periods": int},
        "validation_periods": int,
        "max_rows": int,
        "calibration_folds": int,
    },
    "features": {"include": (str, list), "exclude": list},
    "model": {
        "candidates": dict,
        "blend": bool,
        "cv": (int, str),
        "calibration": str,
        "min_rows": int,
        "min_class_count": int,
        "random_state": int,
    },
    "publish": {"metric": str, "tolerance": float},
}
_REQUIRED = {"name", "kind", "target", "training"}

#: Most calibration folds a spec may ask for: each is one more fit of the chosen candidate (on
#: the demo, 20 folds calibrated win about as 10 did).
MAX_CALIBRATION_FOLDS = 50


@dataclass(frozen=True)
class ModelSpec:
    """A validated model spec. Build one with :func:`load_model_spec`.

    Attributes
    ----------
    name : str
        Artifact name.
    kind : {"churn", "win"}
    target_definition : str
        A key of :data:`TARGET_DEFINITIONS`.
    horizon_days : int
        How far past the as-of date the label looks.
    as_of_frequency, as_of_periods : {"monthly", "quarterly", "weekly"}, int
        Training as-of dates: ``periods`` dates at this frequency, the last one
        ``horizon_days`` before the end of the data so every label is fully observed.
    validation_periods : int
        The last as-of dates held out for validation (time-based split).
    max_rows : int or None
        Train on a random sample of this many training rows (account x as-of date) at most.
        Monthly snapshots repeat each account; a sample loses little and saves time.
    calibration_folds : int
        ``kam train`` fits the calibrator on the scores of this many grouped folds over the
        whole history (``ForwardGroupSplit(calibration_parts=...)``): each fold model trains on
        ``(k - 1) / k`` of the accounts (deals). More folds give scores closer to the published
        model's, at one fit of the chosen candidate per fold.
    include, exclude : "all" or list, list
        Feature columns to use.
    model : dict
        Keyword arguments of the estimator (candidates, blend, cv, calibration, minimums, seed).
    publish_metric, publish_tolerance : str, float
        The publish gate's comparison: a key of :data:`PUBLISH_METRICS`, and how much worse
        a candidate may be.
    source : str or None
        The file the spec came from.
    """

    name: str
    kind: ModelKind
    target_definition: str
    horizon_days: int
    as_of_frequency: Frequency = "monthly"
    as_of_periods: int = 18
    validation_periods: int = 3
    max_rows: int | None = None
    calibration_folds: int = 3
    description: str = ""
    include: Literal["all"] | tuple[str, ...] = "all"
    exclude: tuple[str, ...] = ()
    model: Mapping[str, Any] = field(default_factory=dict)
    publish_metric: PublishMetric = "roc_auc"
    publish_tolerance: float = 0.005
    source: str | None = None

    def build_estimator(self) -> AutoClassifier:
        """Return an unfitted :class:`ChurnModel` or :class:`WinModel` configured by the spec."""
        from engine.models._base import ChurnModel, WinModel

        cls = ChurnModel if self.kind == "churn" else WinModel
        return cls(**dict(self.model))

    def as_of_dates(self, data_end: DateLike) -> list[pd.Timestamp]:
        """The training as-of dates, oldest first, for data that ends at ``data_end``.

        The last date is the latest period end at or before ``data_end - horizon_days``.

        Parameters
        ----------
        data_end : str, datetime.date or numpy.datetime64
            The last day of the data.

        Returns
        -------
        list of pandas.Timestamp
            ``as_of_periods`` dates at ``as_of_frequency`` (fewer if the calendar has fewer).

        Examples
        --------
        >>> spec = ModelSpec("churn", "churn", "no_order_within_horizon", 180, as_of_periods=3)
        >>> [d.date().isoformat() for d in spec.as_of_dates("2025-12-31")]
        ['2025-04-30', '2025-05-31', '2025-06-30']
        """
        last = pd.Timestamp(data_end).normalize() - pd.Timedelta(days=self.horizon_days)
        freq = _FREQUENCIES[self.as_of_frequency]
        dates = pd.date_range(end=last, periods=self.as_of_periods + 1, freq=freq)
        dates = [d for d in dates if d <= last][-self.as_of_periods:]
        return list(dates)

    def validation_start(self, data_end: DateLike) -> pd.Timestamp:
        """The first as-of date of the validation window (the last ``validation_periods``).

        Parameters
        ----------
        data_end : str, datetime.date or numpy.datetime64
            The last day of the data (as for :meth:`as_of_dates`).
        """
        return self.as_of_dates(data_end)[-self.validation_periods]

    def select_features(self, columns: Iterable[Hashable]) -> list[str]:
        """The feature columns to train on, from the columns available.

        Parameters
        ----------
        columns : iterable of column names
            The columns of the training frame (e.g. ``X.columns``); compared as text.

        Returns
        -------
        list of str
            ``include`` (or every column) without ``exclude``, in the order given.

        Raises
        ------
        ColumnMismatchError
            When an included or excluded column is not available (with a did-you-mean).
        """
        available = [str(c) for c in columns]
        named = list(self.exclude) + ([] if self.include == "all" else list(self.include))
        missing = [c for c in named if c not in available]
        if missing:
            hints = [with_suggestion(name, available) for name in missing]
            raise ColumnMismatchError(
                f"Model spec {self.name!r}{' (' + self.source + ')' if self.source else ''} names "
                f"feature columns that the data does not have: {', '.join(hints)}. Expected "
                f"columns among {available}. Fix the features section of the spec."
            )
        chosen = available if self.include == "all" else list(self.include)
        return [c for c in chosen if c not in set(self.exclude)]


def _line_index(text: str) -> dict[tuple[str, ...], int]:
    """Map key paths to 1-based line numbers, for error messages."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)

    try:
        walk(yaml.compose(text, Loader=yaml.SafeLoader), ())
    except yaml.YAMLError:
        pass  # the parse error itself is reported by safe_load below
    return lines


def _type_name(expected) -> str:
    names = {str: "text", int: "integer", float: "number", bool: "true/false", list: "list",
             dict: "mapping"}
    if isinstance(expected, tuple):
        return " or ".join(names[t] for t in expected)
    return names.get(expected, "mapping") if not isinstance(expected, dict) else "mapping"


#: Raises a ModelSpecError at the spec line of ``where`` (never returns).
_Fail = Callable[[tuple[str, ...], str], NoReturn]


def _check_section(data: Any, schema: dict, path: tuple[str, ...], fail: _Fail) -> None:
    if not isinstance(data, dict):
        fail(path, f"expected a mapping with keys {sorted(schema)}; got {data!r}")
    for key, value in data.items():
        where = (*path, str(key))
        if key not in schema:
            hint = did_you_mean(key, schema)
            fail(where, f"unknown key {'.'.join(where)!r}{hint} Expected keys here: "
                        f"{sorted(schema)}")
        expected = schema[key]
        if isinstance(expected, dict):
            _check_section(value, expected, where, fail)
            continue
        types = expected if isinstance(expected, tuple) else (expected,)
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            fail(where, f"{'.'.join(where)!r} must be {_type_name(expected)}; got {value!r}. Fix: write a "
                        "value of that type there (docs/models.md, \"Model specs\", shows each key)")


def load_model_spec(path: str | Path) -> ModelSpec:
    """Load and validate a model spec file.

    Raises
    ------
    ModelSpecError
        Unreadable or unsafe YAML, an unknown key (with the nearest known one), a missing
        required key, a value of the wrong type or range, or an invalid candidate parameter.

    Examples
    --------
    >>> from engine._paths import default_models_dir
    >>> load_model_spec(default_models_dir() / "churn.yaml").horizon_days
    180
    """
    path = as_path(path, "a model spec", "models/churn.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ModelSpecError(f"cannot read the model spec ({error.strerror}); expected a readable "
                             "YAML file. Check the path.", file=str(path)) from error
    lines = _line_index(text)

    def fail(where: tuple[str, ...], message: str) -> NoReturn:
        raise ModelSpecError(message + ".", file=str(path), line=lines.get(where))

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ModelSpecError(f"not valid YAML: {error}. Fix the syntax.", file=str(path),
                             line=mark.line + 1 if mark else None) from error
    if not isinstance(data, dict):
        raise ModelSpecError(f"expected a mapping at the top of the spec; got {type(data).__name__}.",
                             file=str(path))
    _check_section(data, _SCHEMA, (), fail)
    for key in sorted(_REQUIRED - set(data)):
        fail((), f"missing required key {key!r}; expected {sorted(_REQUIRED)}")

    kind = data["kind"]
    if kind not in _KIND_TARGET:
        fail(("kind",), f"'kind' must be one of {sorted(_KIND_TARGET)}; got {kind!r}")
    target = data["target"]
    for key in ("definition", "horizon_days"):
        if key not in target:
            fail(("target",), f"missing required key 'target.{key}'")
    definition = target["definition"]
    if definition != _KIND_TARGET[kind]:
        fail(("target", "definition"),
             f"'target.definition' for a {kind} model must be {_KIND_TARGET[kind]!r}; got "
             f"{definition!r}. Known definitions: {TARGET_DEFINITIONS}")
    if target["horizon_days"] < 1:
        fail(("target", "horizon_days"), f"'target.horizon_days' must be >= 1; got {target['horizon_days']}")

    training = data["training"]
    as_of = training.get("as_of", {})
    frequency = as_of.get("frequency", "monthly")
    if frequency not in _FREQUENCIES:
        fail(("training", "as_of", "frequency"),
             f"'training.as_of.frequency' must be one of {sorted(_FREQUENCIES)}; got {frequency!r}"
             + did_you_mean(frequency, _FREQUENCIES))
    periods = as_of.get("periods", 18)
    validation = training.get("validation_periods", 3)
    if not 1 <= validation < periods:
        fail(("training", "validation_periods"),
             f"'training.validation_periods' must be >= 1 and less than as_of.periods ({periods}); "
             f"got {validation}")
    max_rows = training.get("max_rows")
    if max_rows is not None and max_rows < 100:
        fail(("training", "max_rows"), f"'training.max_rows' must be at least 100; got {max_rows}")
    calibration_folds = training.get("calibration_folds", 3)
    if not 2 <= calibration_folds <= MAX_CALIBRATION_FOLDS:
        fail(("training", "calibration_folds"),
             f"'training.calibration_folds' must be from 2 (each fold scores the accounts the others "
             f"trained on) to {MAX_CALIBRATION_FOLDS} (one fit of the chosen candidate per fold); got "
             f"{calibration_folds}. Fix: use 3 (the default) to 10")

    features = data.get("features", {})
    include = features.get("include", "all")
    if isinstance(include, str) and include != "all":
        fail(("features", "include"), f"'features.include' must be 'all' or a list of columns; got {include!r}")
    for key in ("include", "exclude"):
        value = features.get(key, [])
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            fail(("features", key), f"'features.{key}' must list column names (text); got {value!r}")

    model = dict(data.get("model", {}))
    _check_model(model, fail)

    publish = data.get("publish", {})
    metric = publish.get("metric", "roc_auc")
    if metric not in PUBLISH_METRICS:
        fail(("publish", "metric"), f"'publish.metric' must be one of {sorted(PUBLISH_METRICS)}; "
                                    f"got {metric!r}" + did_you_mean(metric, PUBLISH_METRICS))
    tolerance = float(publish.get("tolerance", 0.005))
    if not 0 <= tolerance < 1:
        fail(("publish", "tolerance"), f"'publish.tolerance' must be in [0, 1); got {tolerance}")

    return ModelSpec(
        name=data["name"], kind=kind, target_definition=definition,
        horizon_days=int(target["horizon_days"]), as_of_frequency=frequency, as_of_periods=periods,
        validation_periods=validation, max_rows=max_rows, calibration_folds=calibration_folds,
        description=data.get("description", ""),
        include=include if include == "all" else tuple(include),
        exclude=tuple(features.get("exclude", [])), model=model,
        publish_metric=metric, publish_tolerance=tolerance, source=str(path),
    )


def _check_model(model: dict, fail: _Fail) -> None:
    from engine.models._candidates import CANDIDATE_FAMILIES, PIPELINE_OPTIONS, expand_candidates

    if model.get("calibration", "auto") not in ("auto", "isotonic", "sigmoid", "none"):
        fail(("model", "calibration"), "'model.calibration' must be one of auto, isotonic, "
                                       f"sigmoid, none; got {model['calibration']!r}")
    cv = model.get("cv", "auto")
    if cv != "auto" and not (isinstance(cv, int) and cv >= 2):
        fail(("model", "cv"), f"'model.cv' must be 'auto' or an integer >= 2; got {cv!r}")
    for key in ("min_rows", "min_class_count"):
        if key in model and model[key] < 1:
            fail(("model", key), f"'model.{key}' must be >= 1; got {model[key]}")
    candidates = model.get("candidates")
    if candidates is None:
        return
    for family, grid in candidates.items():
        if family not in CANDIDATE_FAMILIES:
            fail(("model", "candidates", str(family)),
                 f"unknown candidate family {family!r}" + did_you_mean(family, CANDIDATE_FAMILIES)
                 + f" Expected one of {sorted(CANDIDATE_FAMILIES)}")
        settings = grid if isinstance(grid, list) else [grid] if isinstance(grid, dict) else None
        if settings is None:
            fail(("model", "candidates", family), f"the grid of {family!r} must be a list of "
                 f"parameter mappings or a mapping of lists; got {grid!r}")
        valid = [*CANDIDATE_FAMILIES[family]().get_params(), *PIPELINE_OPTIONS[family]]
        for params in settings:
            if not isinstance(params, dict):
                fail(("model", "candidates", family), f"expected parameter mappings in {family!r}; got {params!r}")
            for key in params:
                if key not in valid:
                    fail(("model", "candidates", family),
                         f"unknown parameter {key!r} for candidate {family!r}"
                         + did_you_mean(key, valid)
                         + f" Expected parameters of {CANDIDATE_FAMILIES[family].__name__}")
    try:
        for _, family, params in expand_candidates(candidates):
            params = {k: v for k, v in params.items() if k not in PIPELINE_OPTIONS[family]}
            estimator = CANDIDATE_FAMILIES[family](**params)
            estimator._validate_params()  # scikit-learn's own parameter constraints
    except (TypeError, ValueError) as error:
        fail(("model", "candidates"), f"invalid candidate parameter: {error}")
