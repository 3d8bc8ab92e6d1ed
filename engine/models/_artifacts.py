"""Trained model artifacts (joblib) with model cards (JSON and Markdown), and safe loading.

An artifact is three files in one directory, named after the spec::

    churn.joblib      the fitted estimator (pickle, via joblib)
    churn.card.json   the model card: features, windows, fingerprint, versions, metrics, sha256
    churn.card.md     the same card for people

.. warning::
   A joblib file is a pickle: loading it runs code chosen by whoever wrote it. Load only
   artifacts you trained yourself or received from a source you trust. :func:`load_model`
   checks the sha256 recorded in the card *before* unpickling, which catches corruption and
   accidental edits - it is not a signature: whoever can replace the artifact can replace the
   card too.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
import numpy.typing as npt
import pandas as pd
import sklearn

from engine._arguments import check_frame
from engine._errors import ArgumentError, ArtifactIntegrityError, ModelError
from engine._paths import as_path
from engine.models._types import ModelKind, Window

if TYPE_CHECKING:
    from engine.models._base import AutoClassifier
    from engine.models._spec import ModelSpec

__all__ = [
    "ModelCard",
    "save_model",
    "load_model",
    "read_card",
    "data_fingerprint",
    "library_versions",
    "DEFAULT_ARTIFACT_DIR",
]

#: Where ``kam train`` writes artifacts unless told otherwise (git-ignored).
DEFAULT_ARTIFACT_DIR = Path("models") / "artifacts"

CARD_VERSION = 1


def library_versions() -> dict[str, str]:
    """Versions of the libraries a pickled model depends on."""
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
    }


def data_fingerprint(X: pd.DataFrame, y: npt.ArrayLike | None = None) -> str:
    """A sha256 of the training data (values, index, column names and dtypes, and labels).

    Parameters
    ----------
    X : pandas.DataFrame
        The training rows.
    y : array-like of shape (n_samples,), optional
        Their labels.

    Returns
    -------
    str
        ``"sha256:"`` and 64 hex digits.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1, 2]})
    >>> data_fingerprint(frame) == data_fingerprint(frame.copy())
    True
    >>> data_fingerprint(frame) == data_fingerprint(frame.assign(a=[1, 3]))
    False
    """
    check_frame("data_fingerprint", "X", X, "pass the training rows as a pandas DataFrame")
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in X.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(X, index=True).to_numpy().tobytes())
    if y is not None:
        digest.update(pd.util.hash_pandas_object(pd.Series(np.asarray(y)), index=False)
                      .to_numpy().tobytes())
    return "sha256:" + digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _window(value: Window | None) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): str(pd.Timestamp(v).date()) if _is_date(v) else str(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return {"start": str(pd.Timestamp(value[0]).date()), "end": str(pd.Timestamp(value[1]).date())}
    raise ArgumentError(
        f"A window: expected a (start, end) pair or a mapping such as {{'start': ..., 'end': ...}}; "
        f"got {value!r}. Fix: pass e.g. ('2025-01-31', '2025-06-30')."
    )


def _is_date(value) -> bool:
    try:
        pd.Timestamp(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, (int, float))


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    return value


@dataclass
class ModelCard:
    """What was trained, on what, how well, with which libraries; and the artifact's sha256.

    Read one with :func:`read_card`; :func:`save_model` writes it.
    """

    name: str
    kind: str
    artifact: str
    sha256: str
    created_at: str
    library_versions: dict[str, str]
    features: list[dict[str, str]]
    dropped_columns: dict[str, str]
    training_window: dict[str, str] | None
    validation_window: dict[str, str] | None
    data_fingerprint: str
    metrics: dict[str, Any]
    selected_candidate: str
    cv_results: list[dict[str, Any]]
    calibration: str
    n_train_rows: int
    target: dict[str, Any]
    publish: dict[str, Any]
    #: How candidates were selected and calibrated (the split scheme) and the selection score
    #: next to the out-of-time score; ``{}`` on cards written before it existed.
    validation: dict[str, Any] = field(default_factory=dict)
    #: Out-of-time metrics of a model that knows the simulator's true probabilities, and each
    #: metric as a share of it (demo data only; ``{}`` otherwise).
    oracle: dict[str, Any] = field(default_factory=dict)
    #: Training distribution of every model input and of the score (bin edges and shares), for
    #: the drift check at scoring.
    training_distribution: dict[str, Any] = field(default_factory=dict)
    #: Out-of-time validation curves, each a few dozen points (``validation_curves``):
    #: ``roc`` (``fpr``, ``tpr``), ``gains`` (``share``, ``captured``) and ``calibration``
    #: (``predicted``, ``observed``, ``count`` per quantile bin); ``{}`` on older cards.
    curves: dict[str, Any] = field(default_factory=dict)
    card_version: int = CARD_VERSION
    path: Path | None = field(default=None, compare=False, repr=False)

    def card_file(self) -> Path:
        """The file this card was read from or saved to.

        Raises
        ------
        ArtifactIntegrityError
            The card was built in memory and never saved or read, so it locates no artifact.
        """
        if self.path is None:
            raise ArtifactIntegrityError(
                f"The model card {self.name!r} has no file: expected a card read with read_card or "
                "written by save_model; got one built in memory. Fix: pass the card's path (or "
                "the card read from it) instead."
            )
        return self.path

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("path")
        return _jsonable(data)

    def to_markdown(self) -> str:
        """The card as Markdown for people."""
        out = [f"# Model card: {self.name}", "",
               f"- kind: {self.kind}; target: {self.target.get('definition')} "
               f"(horizon {self.target.get('horizon_days')} days)",
               f"- artifact: `{self.artifact}` sha256 `{self.sha256}`",
               f"- created: {self.created_at}",
               f"- training window: {_fmt_window(self.training_window)}; "
               f"validation window: {_fmt_window(self.validation_window)}",
               f"- data fingerprint: `{self.data_fingerprint}`; training rows: {self.n_train_rows}",
               f"- chosen candidate: `{self.selected_candidate}`; calibration: {self.calibration}",
               f"- publish gate: {self.publish.get('metric')} with tolerance "
               f"{self.publish.get('tolerance')}",
               "", "## Metrics (validation window)", "", "| metric | value |", "|---|---|"]
        for key, value in self.metrics.items():
            out.append(f"| {key} | {value:.4f} |" if isinstance(value, float) else f"| {key} | {value} |")
        if self.validation:
            out += _validation_markdown(self.validation, self.metrics, self.oracle)
        calibration = self.curves.get("calibration") if self.curves else None
        if calibration:
            out += ["", "## Calibration (validation window, quantile bins)", "",
                    "| rows | mean predicted | observed rate |", "|---|---|---|"]
            out += [f"| {n} | {p:.4f} | {o:.4f} |" for n, p, o in
                    zip(calibration.get("count") or ["?"] * len(calibration["predicted"]),
                        calibration["predicted"], calibration["observed"])]
        out += ["", "## Candidates (selection folds on the training data)", "",
                "| candidate | ROC AUC mean | ROC AUC std | log loss |", "|---|---|---|---|"]
        for row in self.cv_results:
            out.append(f"| `{row['candidate']}` | {row['roc_auc_mean']:.4f} | "
                       f"{row['roc_auc_std']:.4f} | {row['log_loss_mean']:.4f} |")
        out += ["", "## Features", "", "| feature | kind | input dtype |", "|---|---|---|"]
        out += [f"| {f['name']} | {f['kind']} | {f['dtype']} |" for f in self.features]
        out += ["", "## Dropped columns", ""]
        out += [f"- {k}: {v}" for k, v in self.dropped_columns.items()] or ["- none"]
        out += ["", "## Library versions", ""]
        out += [f"- {k} {v}" for k, v in self.library_versions.items()]
        out += ["", "Loading runs code from the joblib file: load only artifacts you trust.", ""]
        return "\n".join(out)


def _validation_markdown(validation: dict[str, Any], metrics: dict[str, Any],
                         oracle: dict[str, Any]) -> list[str]:
    selection = validation.get("selection", {})
    out = ["", "## Validation scheme", "",
           f"- selection: {selection.get('scheme')}; {selection.get('n_splits')} folds"
           + (f", gap {selection['gap']}" if selection.get("gap") else "")
           + ("; grouped by " + str(validation.get("group_by")) if validation.get("group_by") else ""),
           f"- calibration: {validation.get('calibration', selection.get('calibration', 'the selection folds'))}",
           f"- out of time: {validation.get('out_of_time', 'n/a')}"]
    history = validation.get("short_history")
    if isinstance(history, dict):
        ages = ", ".join(f"{k} > {v:,.0f} days" for k, v in history.get("censored_above_days", {}).items())
        out.append(f"- short history: treated as missing: {ages or 'nothing'}; left out (window never whole "
                   f"at a training date): {', '.join(history.get('left_out', {})) or 'nothing'}")
    out += ["", "| ROC AUC | selection (mean of folds) | out of time | difference |", "|---|---|---|---|"]
    chosen, oot = validation.get("selection_roc_auc"), metrics.get("roc_auc")
    if isinstance(chosen, float) and isinstance(oot, float):
        out.append(f"| chosen candidate | {chosen:.4f} | {oot:.4f} | {oot - chosen:+.4f} |")
    if oracle:
        out += ["", "## Against the ceiling (the simulator's true probabilities)", "",
                "| metric | model | oracle | model / oracle |", "|---|---|---|---|"]
        for key in ("roc_auc", "brier"):
            if key in oracle.get("metrics", {}):
                out.append(f"| {key} | {metrics.get(key, float('nan')):.4f} | "
                           f"{oracle['metrics'][key]:.4f} | {oracle['share'][key]:.1%} |")
        if "ece" in oracle.get("metrics", {}):
            out.append(f"| ece (against the drawn outcomes) | {metrics.get('ece', float('nan')):.4f} | "
                       f"{oracle['metrics']['ece']:.4f} | |")
        if "model_ece_against_truth" in oracle:
            out.append(f"| ece against the true probabilities | {oracle['model_ece_against_truth']:.4f} | 0 | |")
            out += ["", "The oracle's own ECE is what the outcome draw alone gives on these rows; the model's "
                    "ECE against the true probabilities is its calibration without that draw."]
    return out


def _fmt_window(window) -> str:
    if not window:
        return "n/a"
    return ", ".join(f"{k} {v}" for k, v in window.items())


def read_card(path: str | Path) -> ModelCard:
    """Read a model card (``<name>.card.json``, or the ``.joblib`` beside it)."""
    path = as_path(path, "a model card", "models/artifacts/churn.card.json")
    if path.suffix == ".joblib":
        path = path.with_name(path.name[: -len(".joblib")] + ".card.json")
    if path.is_dir():
        cards = sorted(path.glob("*.card.json"))
        if len(cards) != 1:
            raise ModelError(
                f"Expected exactly one model card (*.card.json) in {path}; got "
                f"{[c.name for c in cards]}. Pass the card or the .joblib path."
            )
        path = cards[0]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ArtifactIntegrityError(
            f"No model card at {path}: expected a <name>.card.json next to the artifact. A model "
            "without its card cannot be checked; retrain it with `kam train`."
        ) from error
    except json.JSONDecodeError as error:
        raise ArtifactIntegrityError(f"The model card {path} is not valid JSON ({error}); retrain.") from error
    known = set(ModelCard.__dataclass_fields__) - {"path"}
    optional = {"card_version", "validation", "oracle", "training_distribution", "curves"}
    missing = sorted(known - set(data) - optional)
    if missing:
        raise ArtifactIntegrityError(f"The model card {path} lacks {missing}; retrain the model.")
    card = ModelCard(**{k: v for k, v in data.items() if k in known})
    card.path = path
    return card


def save_model(
    model: AutoClassifier,
    directory: str | Path = DEFAULT_ARTIFACT_DIR,
    spec: ModelSpec | None = None,
    metrics: Mapping[str, Any] | None = None,
    data_fingerprint: str = "",
    training_window: Window | None = None,
    *,
    validation_window: Window | None = None,
    name: str | None = None,
    validation: Mapping[str, Any] | None = None,
    oracle: Mapping[str, Any] | None = None,
    training_distribution: Mapping[str, Any] | None = None,
    curves: Mapping[str, Any] | None = None,
) -> ModelCard:
    """Write ``<name>.joblib``, ``<name>.card.json`` and ``<name>.card.md`` and return the card.

    Parameters
    ----------
    model : AutoClassifier
        A fitted :class:`ChurnModel` or :class:`WinModel`.
    directory : path, default="models/artifacts"
        Created if needed. Existing files of the same name are replaced.
    spec : ModelSpec, optional
        Names the artifact and records target and publish settings.
    metrics : mapping, optional
        Validation metrics, e.g. from :func:`engine.models.evaluate`.
    data_fingerprint : str
        Identifies the training data, e.g. :func:`engine.models.data_fingerprint`.
    training_window, validation_window : (start, end) of dates, or mapping, optional
        As-of dates of the training rows and of the validation rows. The publish gate compares
        models only on the same validation window.
    name : str, optional
        Artifact name when there is no spec (default: the model kind).
    validation : mapping, optional
        The split scheme and scores; default: the model's own (``cv_scheme_``, selection score).
    oracle : mapping, optional
        The oracle's out-of-time metrics and the model's share of them (demo data).
    training_distribution : mapping, optional
        Binned training distribution of the inputs and the score (for the drift check).
    curves : mapping, optional
        ROC, cumulative gains and calibration curves on the validation window, from
        :func:`engine.models.validation_curves`.

    Returns
    -------
    ModelCard
    """
    from engine.models._base import AutoClassifier, ChurnModel

    if not isinstance(model, AutoClassifier):
        raise ModelError(f"expected a kam model (ChurnModel/WinModel) to save; got {type(model).__name__}. "
                         "Fix: pass the fitted model itself.")
    model._check_fitted()
    kind = spec.kind if spec is not None else ("churn" if isinstance(model, ChurnModel) else "win")
    name = name or (spec.name if spec is not None else kind)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    artifact = directory / f"{name}.joblib"
    # Write to a temporary file and rename, so a crash never leaves a half-written artifact.
    handle, tmp = tempfile.mkstemp(dir=directory, suffix=".joblib.tmp")
    os.close(handle)
    try:
        joblib.dump(model, tmp)
        os.replace(tmp, artifact)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    schema = model._schema
    card = ModelCard(
        name=name,
        kind=kind,
        artifact=artifact.name,
        sha256=_sha256(artifact),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        library_versions=library_versions(),
        features=[{"name": str(c), "kind": schema.kinds[c], "dtype": schema.dtypes[c]}
                  for c in schema.kept],
        dropped_columns={str(k): v for k, v in schema.dropped.items()},
        training_window=_window(training_window),
        validation_window=_window(validation_window),
        data_fingerprint=data_fingerprint,
        metrics=_jsonable(dict(metrics or {})),
        selected_candidate=model.selected_candidate_,
        cv_results=_jsonable(model.cv_results_.drop(columns=["params"]).to_dict("records")),
        calibration=model.calibration_method_,
        n_train_rows=int(model.n_train_rows_),
        target=({"definition": spec.target_definition, "horizon_days": spec.horizon_days}
                if spec is not None else {}),
        publish=({"metric": spec.publish_metric, "tolerance": spec.publish_tolerance}
                 if spec is not None else {}),
        validation=_jsonable(dict(validation) if validation is not None else {
            "selection": dict(getattr(model, "cv_scheme_", {})),
            "selection_roc_auc": getattr(model, "selection_score_", None)}),
        oracle=_jsonable(dict(oracle or {})),
        training_distribution=_jsonable(dict(training_distribution or {})),
        curves=_jsonable(dict(curves or {})),
    )
    card_path = directory / f"{name}.card.json"
    card_path.write_text(json.dumps(card.to_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8")
    (directory / f"{name}.card.md").write_text(card.to_markdown(), encoding="utf-8")
    card.path = card_path
    return card


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def artifact_path(card: ModelCard) -> Path:
    """The artifact a card names, which must be a regular file inside the card's folder.

    The card's ``artifact`` field is a file name written by :func:`save_model`. A card edited to
    point elsewhere (``../../x.joblib``, an absolute path, a symlink out of the folder) would
    have kam unpickle, that is run, a file nobody checked into the models folder; it is refused
    before anything is read.

    Raises
    ------
    ArtifactIntegrityError
        The name escapes the folder, or the file is missing or is not a regular file.
    """
    folder = card.card_file().parent
    name = str(card.artifact)
    relative = Path(name)
    if not name or relative.is_absolute() or ".." in relative.parts or "\\" in name or "\x00" in name:
        raise ArtifactIntegrityError(
            f"The model card {card.path} names the artifact {name!r}; expected a file name inside "
            f"{folder} (no absolute path, no '..'). The card was edited; it was not loaded. "
            "Retrain the model (kam train) or restore the original card."
        )
    artifact = folder / relative
    try:
        resolved = artifact.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ArtifactIntegrityError(
            f"The artifact {artifact} named by the card {card.path} is missing. Retrain the model."
        ) from None
    if not resolved.is_relative_to(folder.resolve()):
        raise ArtifactIntegrityError(
            f"The artifact {artifact} named by the card {card.path} leads out of {folder} (to {resolved}); "
            "it was not loaded. Keep artifacts as plain files in the models folder."
        )
    if not resolved.is_file():
        raise ArtifactIntegrityError(
            f"The artifact {artifact} named by the card {card.path} is not a regular file; it was not "
            "loaded. Retrain the model (kam train) or restore the .joblib file."
        )
    return artifact


def verify_artifact(card: ModelCard) -> Path:
    """Check the artifact's place, sha256 and library versions against its card; return its path."""
    artifact = artifact_path(card)
    actual = _sha256(artifact)
    if actual != card.sha256:
        raise ArtifactIntegrityError(
            f"The artifact {artifact} does not match its model card: expected sha256 "
            f"{card.sha256}, got {actual}. The file was changed or corrupted after training; "
            "it was not loaded. Retrain the model (kam train) or restore the original file."
        )
    recorded, running = card.library_versions, library_versions()
    checks = [("scikit-learn", _major_minor), ("numpy", lambda v: v.split(".")[0]),
              ("pandas", lambda v: v.split(".")[0])]
    for library, level in checks:
        want = recorded.get(library)
        if want is None or level(want) != level(running[library]):
            raise ArtifactIntegrityError(
                f"The artifact {artifact} was trained with {library} {want}; this environment "
                f"has {library} {running[library]}. Expected the same "
                f"{'major.minor' if library == 'scikit-learn' else 'major'} version, because "
                "pickled models are not portable across them. Retrain the model in this "
                f"environment, or install {library}=={want}."
            )
    return artifact


def load_model(path: str | Path, kind: ModelKind | None = None) -> AutoClassifier:
    """Load a trained model after checking it against its model card.

    The sha256 of the ``.joblib`` file and the scikit-learn (major.minor), numpy and pandas
    (major) versions must match the card; the check happens *before* the file is unpickled.

    .. warning::
       joblib files are pickles and execute code when loaded. Load only models you trained
       yourself or received from a source you trust. The card check catches corruption and
       edits, not a deliberate attacker who can rewrite the card too.

    Parameters
    ----------
    path : path
        The ``.joblib`` file, its ``.card.json``, or a directory holding exactly one card.
    kind : {"churn", "win"}, optional
        The kind of model the caller needs. When omitted, a file named ``churn.joblib`` or
        ``win.joblib`` (the slots ``kam score`` reads) must hold a model of that kind.

    Raises
    ------
    ArtifactIntegrityError
        The card is missing, names a file outside its folder or not a regular file, the sha256
        differs, the library versions differ, or the file cannot be unpickled (truncated).
    ModelError
        The model is of another kind than the one asked for (a win model in the churn slot).

    Returns
    -------
    AutoClassifier
        The fitted :class:`ChurnModel` or :class:`WinModel`, its card as ``card_``.
    """
    path = as_path(path, "a model artifact", "models/artifacts/churn.joblib")
    card = read_card(path)
    slot = Path(path).name[: -len(".joblib")] if str(path).endswith(".joblib") else None
    wanted = kind if kind is not None else (slot if slot in ("churn", "win") else None)
    if wanted is not None and card.kind != wanted:
        raise ModelError(
            f"{card.path} is a {card.kind!r} model; expected a {wanted!r} model here. Put the {card.kind} "
            f"model in its own slot ({card.kind}.joblib) and train a {wanted} model: `kam train {wanted}`."
        )
    artifact = verify_artifact(card)
    try:
        model = joblib.load(artifact)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means a damaged file
        raise ArtifactIntegrityError(
            f"The artifact {artifact} cannot be loaded ({type(error).__name__}: {error}); it is truncated "
            "or damaged. Retrain the model (kam train) or restore the original file."
        ) from error
    from engine.models._base import AutoClassifier

    if not isinstance(model, AutoClassifier):
        raise ArtifactIntegrityError(
            f"{artifact} holds a {type(model).__name__}, expected a kam model. Retrain it."
        )
    model.card_ = card
    return model
