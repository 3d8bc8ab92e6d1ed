"""The public :class:`RuleSet` (one parsed spec, two engines) and :func:`load_rules`."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from engine._asof import AsOf
from engine._errors import ConfigError, KamDeprecationWarning, RuleEvaluationError, RuleFileError
from engine._paths import as_path
from engine._suggest import did_you_mean
from engine.rules._result import ERROR, Decision, build_frame, decision_from_row, resolve_one
from engine.rules._spec import RuleSetSpec, load_spec, parse_spec
from engine.rules._typed import as_of_date, prepare_record

if TYPE_CHECKING:
    from engine.rules._durable import DurableEngine

__all__ = ["RuleSet", "load_rules", "load_rule_dir", "ENGINES", "rule_engine"]

#: The two rule engines (``engine=`` of :meth:`RuleSet.evaluate`); ``backend=`` is where a run's
#: row-wise stages execute (``local``/``dask``, :func:`engine.score`), a different question.
ENGINES: tuple[Literal["vectorized", "durable"], ...] = ("vectorized", "durable")


def rule_engine(engine: str | None, backend: str | None, default: Literal["vectorized", "durable"],
                where: str) -> Literal["vectorized", "durable"]:
    """The rule engine asked for, accepting the old ``backend=`` keyword with a deprecation warning."""
    if backend is not None:
        warnings.warn(KamDeprecationWarning(
            f"{where}(backend={backend!r}) is now {where}(engine={backend!r}): 'backend' names where a run "
            "executes (local/dask); the keyword goes away in the next release"), stacklevel=3)
        if engine is not None and engine != backend:
            raise ConfigError(f"{where}: expected one rule engine; got engine={engine!r} and backend={backend!r}. "
                              "Fix: pass only engine=")
        engine = backend
    if engine is None:
        return default
    for known in ENGINES:
        if engine == known:
            return known
    raise ConfigError(f"{where}: expected engine one of {list(ENGINES)}; got {engine!r}"
                      f"{did_you_mean(str(engine), ENGINES)}. Fix: pass engine='vectorized' (batch) or 'durable'.")


class RuleSet:
    """A parsed, type-checked rule set that can be evaluated by either engine.

    Build one with :func:`load_rules` (a file) or :meth:`from_text`. The spec is parsed once;
    the durable_rules engine is compiled on first use and kept.

    Attributes
    ----------
    spec : RuleSetSpec
        The parsed rule set (inputs, outputs, rules with normalised conditions).
    name, version, hit_policy, hash : str

    Examples
    --------
    >>> rules = RuleSet.from_text('''
    ... name: size
    ... version: 1
    ... inputs: {revenue: number}
    ... outputs: {size: {type: enum, values: [big, small]}}
    ... hit_policy: first
    ... parameters: {big_revenue: 1000}
    ... rules:
    ...   - {id: big, when: revenue >= big_revenue, then: {size: big}, because: large revenue}
    ...   - {id: small, when: revenue < big_revenue, then: {size: small}, because: small revenue}
    ... ''')
    >>> rules.decide({"revenue": 2500}).outputs
    {'size': 'big'}
    >>> rules.decide({"revenue": None}).status
    'unmatched'
    """

    def __init__(self, spec: RuleSetSpec):
        self.spec = spec
        self._durable: DurableEngine | None = None

    @classmethod
    def from_text(cls, text: str, file: str | None = None) -> "RuleSet":
        """Parse rule-file text."""
        return cls(parse_spec(text, file=file))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def hit_policy(self) -> str:
        return self.spec.hit_policy

    @property
    def hash(self) -> str:
        """sha256 of the canonical content (stable across whitespace and comments)."""
        return self.spec.hash

    @property
    def inputs(self) -> dict:
        return {k: v.type for k, v in self.spec.inputs.items()}

    @property
    def outputs(self) -> dict:
        return {k: v.type for k, v in self.spec.outputs.items()}

    def __repr__(self) -> str:
        return (f"RuleSet(name={self.name!r}, version={self.version!r}, hit_policy={self.hit_policy!r}, "
                f"rules={len(self.spec.rules)}, hash={self.hash[:12]!r})")

    def durable_engine(self) -> DurableEngine:
        """The compiled durable_rules engine (compiled once, on first use)."""
        if self._durable is None:
            from engine.rules._durable import DurableEngine

            self._durable = DurableEngine(self.spec)
        return self._durable

    # --- evaluation --------------------------------------------------------------------------
    def evaluate(self, df: pd.DataFrame, engine: Literal["vectorized", "durable"] | None = None,
                 as_of: AsOf = None, strict: bool = False, *, backend: str | None = None) -> pd.DataFrame:
        """Decide every row of ``df``.

        Parameters
        ----------
        df : pandas.DataFrame
            One column per declared input (same names); other columns are ignored.
        engine : {"vectorized", "durable"}, default "vectorized"
            The batch engine (numpy) or the durable_rules engine (one record at a time).
            Both give identical results. (``backend=`` is the old name: it still works, with a
            :class:`~engine.KamDeprecationWarning`.)
        as_of : date, datetime, str or None
            The date ``days_since`` counts to, read by :func:`engine._asof.as_of_date` (None:
            today, UTC - a feature frame holds no event dates; ``30/06/2024`` raises
            :class:`~engine.AsOfError`).
        strict : bool, default False
            Raise :class:`~engine.RuleEvaluationError` listing the failing rows when any row
            ends with status ``error`` or ``unmatched``.

        Returns
        -------
        pandas.DataFrame
            Aligned to ``df.index``: one column per output, then ``rule_id``, ``because``,
            ``status`` (decided / default / unmatched / error), ``reason`` ("code: text" for
            error and unmatched rows) and ``ruleset_hash``. Text columns are categorical.
            Under hit policy ``collect`` the outputs, ``rule_id`` and ``because`` hold lists
            (one entry per matching rule, in file order); ``result.explode([...])`` gives one
            row per match.

        Raises
        ------
        ColumnMismatchError
            An input column is missing (with a did-you-mean).
        RuleEvaluationError
            Only with ``strict=True``.
        """
        engine = rule_engine(engine, backend, "vectorized", "RuleSet.evaluate")
        day = as_of_date(as_of)
        if engine == "vectorized":
            from engine.rules._vectorized import evaluate_vectorized

            result = evaluate_vectorized(self.spec, df, day)
        else:
            result = self._evaluate_durable(df, day)
        if strict:
            _raise_if_failed(self, result)
        return result

    def _evaluate_durable(self, df: pd.DataFrame, day) -> pd.DataFrame:
        from engine.rules._typed import _missing_error

        missing = [k for k in self.spec.inputs if k not in df.columns]
        if missing:
            raise _missing_error(missing, list(df.columns), "frame")
        engine = self.durable_engine()
        n = len(df)
        status = np.empty(n, dtype=np.int8)
        winner = np.full(n, -1, dtype=np.int64)
        reason = np.full(n, None, dtype=object)
        collected: list = [()] * n
        records = df[list(self.spec.inputs)].to_dict("records")
        for i, record in enumerate(records):
            st, deciding, why = self._decide_indices(record, day, engine)
            status[i] = st
            reason[i] = why
            if deciding:
                winner[i] = deciding[0]
                collected[i] = tuple(deciding)
        return build_frame(self.spec, df.index, status, winner, reason,
                           collected if self.spec.hit_policy == "collect" else None)

    def _decide_indices(self, record: dict, day, engine):
        values, data_error = prepare_record(self.spec, record, day)
        if data_error is not None:
            return ERROR, [], data_error
        return resolve_one(self.spec, engine.matches(values))

    def decide(self, record: dict, as_of: AsOf = None, engine: Literal["vectorized", "durable"] | None = None, *,
               backend: str | None = None) -> Decision:
        """Decide one record (the live path).

        Parameters
        ----------
        record : dict
            Input name -> value. Every declared input must be present (None for null).
        as_of : date or None
            The date ``days_since`` counts to (None = today, UTC; see :meth:`evaluate`).
        engine : {"durable", "vectorized"}, default "durable"
            (``backend=`` is the old name, deprecated.)

        Returns
        -------
        Decision
        """
        engine = rule_engine(engine, backend, "durable", "RuleSet.decide")
        day = as_of_date(as_of)
        if engine == "durable":
            st, deciding, why = self._decide_indices(record, day, self.durable_engine())
            return decision_from_row(self.spec, st, deciding, why)
        frame = pd.DataFrame({k: pd.Series([record[k] if k in record else None], dtype=object)
                              for k in self.spec.inputs})
        missing = [k for k in self.spec.inputs if k not in record]
        if missing:
            prepare_record(self.spec, record, day)  # raises the did-you-mean error
        row = self.evaluate(frame, as_of=day).iloc[0]
        return _decision_from_frame_row(self, row)


def _decision_from_frame_row(ruleset: RuleSet, row) -> Decision:
    spec = ruleset.spec
    status = row["status"]
    reason = row["reason"] if isinstance(row["reason"], str) else None
    outputs = {}
    for k in spec.outputs:
        v = row[k]
        if not isinstance(v, list):
            v = None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)
        outputs[k] = v
    rule_id = row["rule_id"] if isinstance(row["rule_id"], (str, list)) else None
    because = row["because"] if isinstance(row["because"], (str, list)) else None
    if status != "decided":
        matched = ()
    else:
        matched = tuple(rule_id) if isinstance(rule_id, list) else (rule_id,)
    return Decision(status, outputs, rule_id, because, reason, spec.hash, matched)


def _raise_if_failed(ruleset: RuleSet, result: pd.DataFrame) -> None:
    bad = result["status"].isin(["error", "unmatched"]).to_numpy()
    if bad.any():
        failing = result.loc[bad, ["status", "reason"]]
        lines = [f"  row {idx!r}: {r.status}: {r.reason}" for idx, r in failing.head(20).iterrows()]
        more = f"\n  ... and {len(failing) - 20} more" if len(failing) > 20 else ""
        err = RuleEvaluationError(
            f"rule set {ruleset.name!r}: {len(failing)} of {len(result)} rows could not be decided:\n"
            + "\n".join(lines) + more + "\nFix the data (see each reason) or add a default to the rule set.")
        err.failure_cases = failing
        raise err


def load_rules(path: str | Path) -> RuleSet:
    """Load one rule file.

    Parameters
    ----------
    path : str or Path
        A rule file (``*.yaml``). For a folder of rule files use :func:`load_rule_dir`.

    Returns
    -------
    RuleSet
        Always one rule set (a folder is refused with an error naming :func:`load_rule_dir`).

    Raises
    ------
    RuleFileError, RuleSyntaxError, RuleTypeError
        With the file and line; a ``RuleFileError`` for a folder.
    """
    path = as_path(path, "a rule file", "rules/tiers.yaml")
    if path.is_dir():
        raise RuleFileError(
            f"expected one rule file; got the folder {path}. Fix: load_rule_dir({str(path)!r}) loads every "
            "rule file of a folder ({name: RuleSet}), or pass one file such as rules/tiers.yaml", file=str(path))
    return RuleSet(load_spec(path))


def load_rule_dir(path: str | Path) -> dict[str, RuleSet]:
    """Load every ``*.yaml`` / ``*.yml`` rule file of a folder.

    Parameters
    ----------
    path : str or Path
        A folder of rule files. For one file use :func:`load_rules`.

    Returns
    -------
    dict of str to RuleSet
        Rule-set name -> :class:`RuleSet`, in file-name order (two files declaring one name is
        an error).

    Raises
    ------
    RuleFileError, RuleSyntaxError, RuleTypeError
        With the file and line; a ``RuleFileError`` for a file, a missing folder or an empty one.
    """
    path = as_path(path, "a folder of rule files", "rules/")
    if not path.is_dir():
        fix = (f"load_rules({str(path)!r}) loads one rule file" if path.is_file()
               else "pass an existing folder of rule files such as rules/")
        raise RuleFileError(f"expected a folder of rule files; got {'the file' if path.is_file() else 'no folder at'} "
                            f"{path}. Fix: {fix}", file=str(path))
    found: dict[str, RuleSet] = {}
    where: dict[str, Path] = {}
    files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    if not files:
        raise RuleFileError(f"expected *.yaml rule files in the folder {path}; got none. Fix: point at the "
                            "folder holding tiers.yaml and routing.yaml", file=str(path))
    for file in files:
        ruleset = RuleSet(load_spec(file))
        if ruleset.name in found:
            raise RuleFileError(
                f"rule set name {ruleset.name!r} is also declared in {where[ruleset.name]}; names must be unique",
                file=str(file), line=1)
        found[ruleset.name] = ruleset
        where[ruleset.name] = file
    return found
