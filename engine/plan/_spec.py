"""The plan's rule set and parameters (``rules/plan.yaml``) and the ISO week it plans for.

The rule file is ordinary kam rule language (checked by ``kam rules check``): its rules decide
whose list an account belongs on and whether its tier's cadence is due; its parameters carry the
weekly capacities, the cadences and the weights of the expected value of a contact. This module
reads and checks those parameters once, when the file is loaded, so a typo or a negative
capacity fails before any data is read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from engine._arguments import check_type
from engine._errors import ConfigError, RuleFileError
from engine._paths import as_path
from engine.rules import Finding, RuleSet, RuleSetSpec, load_rules

__all__ = ["PLAN_INPUTS", "PLAN_OUTPUTS", "RANKINGS", "VISIT_EFFECT_PARAMETERS", "PlanParameters", "load_plan_rules", "parse_week", "plan_parameter_findings", "week_after", "week_label"]

#: Inputs and outputs the plan's rule file must declare (the planner builds and reads them).
PLAN_INPUTS = ("tier", "owner_role", "has_active_partner", "last_contact")
PLAN_LISTS = ("field_rep", "inside_rep", "partner", "nobody")
PLAN_OUTPUTS = {
    "plan_for": PLAN_LISTS,
    "action": None,
    "cadence_due": None,
}

#: What a contact is worth when the planner ranks contacts (the rule file's ``ranking``).
RANKINGS = ("value_saved", "value_at_risk", "visit_effect")
#: Parameters of ``ranking: visit_effect`` (the stated effect of a contact), required with it.
VISIT_EFFECT_PARAMETERS = (
    "visit_effect_log_odds", "visit_gap_days_outside", "visit_gap_days_inside", "visit_effect_max_gaps",
    "uplift_horizon_weeks", "churn_score_days", "visit_effect_in_churn_score",
)
#: How cadence obligations take capacity (the rule file's ``obligations``): ``first`` - before any
#: other contact; ``by_value`` - by their expected value like any other contact (those left out are
#: reported ``capacity_short`` with the reason).
OBLIGATIONS = ("first", "by_value")

_WEEK = re.compile(r"^(?P<year>\d{4})-W(?P<week>\d{2})$")


#: The share of the stated visit effect kam's churn score carries (``rules/plan.yaml``), and the
#: share shipped there: what ``benchmarks/bench_plan.py --model-effect`` measured of kam's churn
#: model (docs/plan.md); also the default of :class:`PlanParameters`.
SHARE = "visit_effect_in_churn_score"
SHIPPED_SHARE = 0.13
_SHARE_MEANING = ("0 when the churn score carries none of the stated effect of a contact gap, 1 when it carries "
                  "all of it; measure yours with benchmarks/bench_plan.py --model-effect")
#: A valid value of each parameter, for the Fix of an error (the shipped rules/plan.yaml's).
_EXAMPLES = {
    "field_visits_per_week": "12", "inside_calls_per_week": "25", "partner_calls_per_week": "4",
    "a_cadence_days": "30", "b_cadence_days": "90", "c_cadence_days": "180", "weight_value_at_risk": "1.0",
    "max_cadences_counted": "3", "weight_open_alert": "0.1", "weight_open_opportunity": "0.1",
    "visit_effect_log_odds": "1.4", "visit_gap_days_outside": "76", "visit_gap_days_inside": "435",
    "visit_effect_max_gaps": "3", "uplift_horizon_weeks": "13", "churn_score_days": "180", SHARE: f"{SHIPPED_SHARE:g}",
}


def _parameter_error(name: str, problem: str, file: str | None, line: int | None) -> RuleFileError:
    """A ``RuleFileError`` about plan parameter ``name`` (its ``parameter`` attribute names it)."""
    error = RuleFileError(f"parameter {name!r} {problem}", file=file, line=line)
    error.parameter = name  # type: ignore[attr-defined]
    return error


@dataclass(frozen=True)
class PlanParameters:
    """Capacities, cadences and weights of the weekly plan (the rule file's ``parameters``).

    Attributes
    ----------
    field_visits_per_week, inside_calls_per_week, partner_calls_per_week : int
        Weekly capacity of one field rep, one inside rep and one partner, in contacts.
    a_cadence_days, b_cadence_days, c_cadence_days : int
        Days without a contact after which the tier's cadence is due.
    weight_value_at_risk, weight_open_alert, weight_open_opportunity : float
        Weights of the three parts of the expected value of a contact.
    max_cadences_counted : float
        Cap on the cadences elapsed since the last contact that scale the value at risk.
    ranking : str
        What a contact is worth (:data:`RANKINGS`): ``value_saved`` - the margin kam's churn model
        expects a contact this week to save; ``value_at_risk`` - the value at risk scaled
        by the cadences elapsed since the last contact; ``visit_effect`` - the margin a contact this
        week is expected to save from kam's churn score and the stated effect of a contact
        (:func:`engine.plan.contact_saving`).
    obligations : str
        :data:`OBLIGATIONS`: cadence obligations ``first`` or ``by_value``.
    visit_effect_log_odds, visit_gap_days_outside, visit_gap_days_inside, visit_effect_max_gaps : float
        The stated effect of a contact (``ranking: visit_effect``): the monthly churn log-odds
        rise by ``visit_effect_log_odds`` per expected contact gap beyond the first (the gap of a
        field-owned and of an inside-owned account, in days), up to ``visit_effect_max_gaps`` gaps.
    uplift_horizon_weeks, churn_score_days : int
        Weeks over which a contact's saving is counted, and the horizon of kam's churn score.
    visit_effect_in_churn_score : float
        Share (0 to 1) of the stated effect of today's contact gap that kam's churn score already
        carries: 1 - the score is the risk with today's gap, whose stated effect is taken out to
        find the account's base risk; 0 - the score is read as the base risk (the churn model
        learned little of the gap, as kam's own did: docs/plan.md). Default: :data:`SHIPPED_SHARE`,
        the share shipped in ``rules/plan.yaml``.
    """

    field_visits_per_week: int
    inside_calls_per_week: int
    partner_calls_per_week: int
    a_cadence_days: int
    b_cadence_days: int
    c_cadence_days: int
    weight_value_at_risk: float
    max_cadences_counted: float
    weight_open_alert: float
    weight_open_opportunity: float
    ranking: str = "value_at_risk"
    obligations: str = "first"
    visit_effect_log_odds: float = 0.0
    visit_gap_days_outside: float = 1.0
    visit_gap_days_inside: float = 1.0
    visit_effect_max_gaps: float = 0.0
    uplift_horizon_weeks: int = 1
    churn_score_days: int = 180
    visit_effect_in_churn_score: float = SHIPPED_SHARE

    def gap_days(self, owner_role: str | None) -> float:
        """Expected contact gap of an account whose owner rep has ``owner_role`` (unknown: inside's)."""
        return self.visit_gap_days_outside if owner_role == "outside" else self.visit_gap_days_inside

    def capacity(self, plan_for: str) -> int:
        """Weekly capacity of one person of list ``plan_for`` (field_rep, inside_rep, partner)."""
        return {
            "field_rep": self.field_visits_per_week,
            "inside_rep": self.inside_calls_per_week,
            "partner": self.partner_calls_per_week,
        }.get(plan_for, 0)

    def cadence_days(self, tier: str | None) -> int:
        """Cadence of ``tier`` in days (an undecided tier gets the C cadence)."""
        return {"A": self.a_cadence_days, "B": self.b_cadence_days}.get(str(tier), self.c_cadence_days)

    @classmethod
    def from_ruleset(cls, ruleset: RuleSet, file: str | None = None) -> PlanParameters:
        """Read and check the parameters of a plan rule set.

        Raises
        ------
        RuleFileError
            A parameter is missing or out of range (the message names the file, the parameter,
            what was expected and what arrived).
        """
        params = ruleset.spec.parameters
        file = file if file is not None else ruleset.spec.file
        integers = ("field_visits_per_week", "inside_calls_per_week", "partner_calls_per_week",
                    "a_cadence_days", "b_cadence_days", "c_cadence_days", "uplift_horizon_weeks", "churn_score_days")
        positive = ("visit_gap_days_outside", "visit_gap_days_inside")
        ranking = params.get("ranking", "value_at_risk")
        if ranking not in RANKINGS:
            raise RuleFileError(
                f"parameter 'ranking' must be one of {list(RANKINGS)}; got {ranking!r}. Fix: `ranking: visit_effect` "
                "(the margin a contact saves under the stated effect of a contact), `ranking: value_saved` (kam's "
                "churn model's uplift) or `ranking: value_at_risk`.",
                file=file,
            )
        obligations = params.get("obligations", "first")
        if obligations not in OBLIGATIONS:
            raise RuleFileError(
                f"parameter 'obligations' must be one of {list(OBLIGATIONS)}; got {obligations!r}. Fix: "
                "`obligations: first` (cadence obligations before any other contact) or `obligations: by_value`.",
                file=file,
            )
        values: dict[str, object] = {"ranking": ranking, "obligations": obligations}
        for name in cls.__dataclass_fields__:
            if name in ("ranking", "obligations"):
                continue
            if name in VISIT_EFFECT_PARAMETERS and name not in params and ranking != "visit_effect":
                continue
            if name not in params:
                error = RuleFileError(
                    f"plan rule set {ruleset.name!r} lacks the parameter {name!r}; expected a number under "
                    f"'parameters:' (see rules/plan.yaml shipped with kam){' - ranking: visit_effect needs it' if name in VISIT_EFFECT_PARAMETERS else ''}; "
                    f"add `{name}: {_EXAMPLES.get(name, '...')}`.",
                    file=file, line=ruleset.spec.lines.get(("parameters",)),
                )
                error.parameter = name  # type: ignore[attr-defined]
                raise error
            value = params[name]
            line = ruleset.spec.lines.get(("parameters", name))
            example = _EXAMPLES.get(name, "12")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _parameter_error(
                    name, f"must be {'a share from 0 to 1' if name == SHARE else 'a number'}; got {value!r}. Fix: write "
                    f"a number, e.g. `{name}: {example}`" + (f" ({_SHARE_MEANING})" if name == SHARE else "") + ".",
                    file, line)
            if name == SHARE and not 0 <= value <= 1:
                raise _parameter_error(name, f"must be a share from 0 to 1; got {value!r}. Fix: {_SHARE_MEANING}; "
                                       f"e.g. `{name}: {example}` (docs/plan.md).", file, line)
            if name in integers and (value != int(value) or value < (0 if name.endswith("week") else 1)):
                low = 0 if name.endswith("week") else 1
                raise _parameter_error(name, f"must be a whole number >= {low}; got {value!r}. Fix: e.g. "
                                       f"`{name}: {example}`.", file, line)
            if name in positive and value <= 0:
                raise _parameter_error(name, f"must be a number of days > 0; got {value!r}. Fix: e.g. `{name}: "
                                       f"{example}`.", file, line)
            if value < 0:
                raise _parameter_error(name, f"must be >= 0; got {value!r}. Fix: e.g. `{name}: {example}`.", file, line)
            values[name] = int(value) if name in integers else float(value)
        return cls(**values)  # type: ignore[arg-type]


def load_plan_rules(path: str | Path | RuleSet | None = None) -> tuple[RuleSet, PlanParameters]:
    """Load the plan rule set (default: the shipped ``rules/plan.yaml``) and its parameters.

    Parameters
    ----------
    path : str, Path or RuleSet, optional
        A rule file, a folder holding ``plan.yaml``, or an already loaded rule set.

    Returns
    -------
    (RuleSet, PlanParameters)

    Raises
    ------
    RuleFileError
        The file is missing, does not declare the planner's inputs and outputs, or a parameter
        is missing or out of range.

    Examples
    --------
    >>> rules, params = load_plan_rules()
    >>> params.field_visits_per_week, params.a_cadence_days
    (12, 30)
    """
    file = None
    if isinstance(path, RuleSet):
        ruleset = path
    else:
        if path is None:
            from engine._paths import default_rules_dir

            path = default_rules_dir() / "plan.yaml"
        path = as_path(path, "the plan rule file (or a RuleSet)", "rules/plan.yaml")
        if path.is_dir():
            path = path / "plan.yaml"
        if not path.exists():
            raise RuleFileError(
                f"plan rule file {path} does not exist; expected a rule file like the shipped rules/plan.yaml. "
                "Fix: pass --rules with an existing file or folder.",
                file=str(path),
            )
        file = str(path)
        loaded = load_rules(path)
        if not isinstance(loaded, RuleSet):
            raise RuleFileError(
                f"{path} holds several rule sets; expected the one plan rule set. Fix: pass the plan rule file itself.",
                file=file,
            )
        ruleset = loaded
    missing = [name for name in PLAN_INPUTS if name not in ruleset.inputs]
    missing += [name for name in PLAN_OUTPUTS if name not in ruleset.outputs]
    if missing:
        raise RuleFileError(
            f"plan rule set {ruleset.name!r} must declare the inputs {list(PLAN_INPUTS)} and the outputs "
            f"{list(PLAN_OUTPUTS)}; missing {missing}. Fix: start from the shipped rules/plan.yaml.",
            file=file,
        )
    plan_for = ruleset.outputs["plan_for"]
    values = tuple(getattr(plan_for, "values", None) or ())
    unknown = sorted(set(values) - set(PLAN_LISTS))
    if unknown:
        raise RuleFileError(
            f"output 'plan_for' may only take {list(PLAN_LISTS)}; got also {unknown}.", file=file
        )
    return ruleset, PlanParameters.from_ruleset(ruleset, file)


def parse_week(text: str) -> dt.date:
    """The Monday of ISO week ``YYYY-Www``.

    Examples
    --------
    >>> parse_week("2026-W41")
    datetime.date(2026, 10, 5)
    """
    check_type("parse_week", "text", text, str, "pass an ISO week such as '2026-W41'", described="an ISO week text")
    match = _WEEK.match(text.strip())
    if not match:
        raise ConfigError(f"expected a week like 2026-W41 (ISO year, 'W', two-digit week); got {text!r}. "
                          "Fix: pass e.g. --week 2026-W41.")
    try:
        return dt.date.fromisocalendar(int(match["year"]), int(match["week"]), 1)
    except ValueError as exc:
        raise ConfigError(f"week {text!r} does not exist: {exc}. Fix: an ISO week between W01 and W52/W53.") from exc


def week_after(day: dt.date) -> dt.date:
    """The Monday of the ISO week after the one holding ``day``: 'next week' seen from ``day``.

    Examples
    --------
    >>> week_after(dt.date(2026, 10, 1))
    datetime.date(2026, 10, 5)
    """
    check_type("week_after", "day", day, dt.date, "pass a datetime.date, e.g. the as-of date", described="a date")
    return day - dt.timedelta(days=day.weekday()) + dt.timedelta(days=7)


def week_label(monday: dt.date) -> str:
    """``YYYY-Www`` of the ISO week starting on ``monday``.

    Examples
    --------
    >>> week_label(dt.date(2026, 10, 5))
    '2026-W41'
    """
    check_type("week_label", "monday", monday, dt.date, "pass the week's Monday as a datetime.date",
               described="a date")
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def plan_parameter_findings(spec: RuleSetSpec, file: str) -> list[Finding]:
    """``plan-parameter`` findings: the checks :func:`load_plan_rules` makes of a plan rule set's parameters.

    A rule set is the plan's when it is named ``plan`` or decides ``plan_for`` (as
    ``rules/plan.yaml``); the planner would refuse it on load, so ``kam rules check`` (which
    passes this to :func:`engine.rules.check_rules` as one of its ``checks``) says so first.

    Parameters
    ----------
    spec : RuleSetSpec
        A parsed rule set.
    file : str
        Its file, for findings the error does not place.

    Returns
    -------
    list of Finding
        Empty for a sound plan rule set or any other rule set.
    """
    check_type("plan_parameter_findings", "spec", spec, RuleSetSpec,
               "pass a parsed rule set, e.g. engine.load_rules(path).spec, as check_rules does")
    if spec.name != "plan" and "plan_for" not in spec.outputs:
        return []
    try:
        load_plan_rules(RuleSet(spec))
    except RuleFileError as exc:
        return [Finding("error", "plan-parameter", exc.file or file, exc.line, None, exc.message,
                        subject=getattr(exc, "parameter", None))]
    return []
