"""The exception tree of kam.

Every error kam raises on purpose derives from :class:`KamError`. There are two families a
caller usually cares about:

* :class:`SpecError` - something the *user wrote* is wrong (a rule file, a model spec, a
  configuration value). Raised when the spec is loaded, before any data is touched.
* :class:`DataError` - the *data* is wrong (a table breaks the contract, a value has the wrong
  type for a rule, too few rows to train). Bad rows are usually quarantined rather than raised;
  a DataError is raised when a whole input is unusable.

Operational failures (:class:`StorageError`), model artifact problems (:class:`ModelError`) and
missing optional dependencies (:class:`MissingDependencyError`) complete the tree. Every message
says what was expected, what arrived, and how to fix it.

The CLI maps each family to an exit status; see :data:`EXIT_CODES`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "KamError",
    "SpecError",
    "RuleSyntaxError",
    "RuleTypeError",
    "RuleFileError",
    "ModelSpecError",
    "ConfigError",
    "ArgumentError",
    "AsOfError",
    "UnknownNameError",
    "DataError",
    "ContractError",
    "RuleEvaluationError",
    "InsufficientDataError",
    "ColumnMismatchError",
    "StorageError",
    "ModelError",
    "NotFittedError",
    "ArtifactIntegrityError",
    "MissingDependencyError",
    "KamWarning",
    "KamDeprecationWarning",
    "RunHealthWarning",
    "StaleDataWarning",
    "EXIT_CODES",
    "exit_code_for",
]


class KamError(Exception):
    """Base class of every error kam raises on purpose."""


# --- the spec is wrong -------------------------------------------------------------------------
class SpecError(KamError, ValueError):
    """A rule file, model spec or configuration value is wrong. Raised at load time.

    Parameters
    ----------
    message : str
        What was expected, what arrived, and how to fix it.
    file : str, optional
        The file the spec came from.
    line : int, optional
        1-based line in ``file`` where the problem is, when known.
    column : int, optional
        1-based column on ``line``, when known (shown as ``file:line:column:``).
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: int | None = None):
        self.file = file
        self.line = line
        self.column = column
        where = ""
        if file is not None:
            where = f"{file}: "
            if line is not None:
                where = f"{file}:{line}:{column}: " if column is not None else f"{file}:{line}: "
        super().__init__(f"{where}{message}")
        self.message = message


class RuleFileError(SpecError):
    """A rule file cannot be read, is not safe YAML, or breaks the rule-file schema."""


class RuleSyntaxError(SpecError):
    """A rule condition or expression does not parse, or uses a refused construct."""


class RuleTypeError(SpecError):
    """A rule expression is well formed but mixes types or names an unknown field."""


class ModelSpecError(SpecError):
    """A model spec (``models/*.yaml``) is invalid."""


class ConfigError(SpecError):
    """A configuration value (database URL, table name, option) is invalid."""


class ArgumentError(ConfigError, TypeError):
    """A library function was called with an argument of the wrong type or value.

    Also a ``TypeError`` and (through :class:`SpecError`) a ``ValueError``, as scikit-learn's
    errors are, so callers that caught the built-ins go on working.
    """


class AsOfError(ArgumentError):
    """An ``as_of`` argument is not a calendar date (see :func:`engine._asof.as_of_date`).

    Every entry point raises this one error for a bad as-of date.
    """


class UnknownNameError(ConfigError, KeyError):
    """A table, column or setting name that does not exist was asked for (with a did-you-mean)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


# --- the data is wrong -------------------------------------------------------------------------
class DataError(KamError, ValueError):
    """The data is wrong in a way that stops the operation."""


class ContractError(DataError):
    """A table breaks the data contract in a way that cannot be quarantined row by row.

    Attributes
    ----------
    failure_cases : pandas.DataFrame or None
        One row per failure (table, key, column, reason, value, hint), when available.
    """

    def __init__(self, message: str, failure_cases=None):
        super().__init__(message)
        self.failure_cases = failure_cases


class RuleEvaluationError(DataError):
    """A record cannot be decided: a value has the wrong type, or a hit policy is violated.

    Attributes
    ----------
    failure_cases : pandas.DataFrame or None
        The undecided rows (status, reason) when a whole frame was evaluated.
    """

    failure_cases: pd.DataFrame | None = None


class InsufficientDataError(DataError):
    """Too few rows, positives or negatives to train or evaluate a model."""


class ColumnMismatchError(DataError, KeyError):
    """Scoring data does not have the columns the model was trained on."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


# --- operational -------------------------------------------------------------------------------
class StorageError(KamError):
    """The database could not be read or written. The previous results are left intact."""


class ModelError(KamError):
    """A model artifact is missing, unfitted or untrustworthy."""


class NotFittedError(ModelError, ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class ArtifactIntegrityError(ModelError):
    """A model artifact does not match its model card (sha256 or library versions)."""


class MissingDependencyError(KamError, ImportError):
    """An optional dependency is not installed. The message gives the ``pip install`` line."""


# --- warnings ----------------------------------------------------------------------------------
class KamWarning(UserWarning):
    """Something a caller should know although the operation went through.

    The library raises these with :func:`warnings.warn`; the ``kam`` command prints them as
    ``warning: ...`` on standard error and logs them. Filter them like any Python warning
    (``warnings.simplefilter("error", KamWarning)`` turns them into errors).
    """


class KamDeprecationWarning(KamWarning, DeprecationWarning):
    """A keyword or name still works but is going away in the next release; the message says what replaces it."""


class RunHealthWarning(KamWarning):
    """A run produced an empty result, or quarantined most of its input."""


class StaleDataWarning(KamWarning):
    """The as-of date is far from the newest data (the data stopped arriving, or the date is wrong)."""


#: Exit status of the ``kam`` command for each error family (most specific first).
EXIT_CODES: dict[type[BaseException], int] = {
    SpecError: 3,
    DataError: 4,
    StorageError: 5,
    ModelError: 6,
    MissingDependencyError: 7,
    KamError: 1,
}


def exit_code_for(error: BaseException) -> int:
    """Return the CLI exit status for ``error``.

    Examples
    --------
    >>> exit_code_for(RuleSyntaxError("bad"))
    3
    >>> exit_code_for(InsufficientDataError("too few rows"))
    4
    """
    for cls, code in EXIT_CODES.items():
        if isinstance(error, cls):
            return code
    return 1
