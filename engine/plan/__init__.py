"""The weekly call plan: where each rep and partner spends next week's scarce contact time.

:func:`plan_week` turns scores, alerts, open deals and tier cadences into a ranked,
capacity-bounded list per person (pure, frames in and out); :func:`plan` reads a scoring run
from the database, plans and writes ``call_plans``. Capacities, cadences and weights are the
parameters of ``rules/plan.yaml`` (see ``docs/plan.md``).
"""

from engine.plan._plan import (
    PLAN_COLUMNS,
    PLAN_STATUSES,
    PlanResult,
    holdout_mask,
    plan_week,
)
from engine.plan._run import plan, read_plan
from engine.plan._spec import (
    OBLIGATIONS,
    RANKINGS,
    PlanParameters,
    load_plan_rules,
    parse_week,
    plan_parameter_findings,
    week_after,
    week_label,
)
from engine.plan._uplift import churn_if_contacted, contact_saving

__all__ = [
    "OBLIGATIONS",
    "PLAN_COLUMNS",
    "PLAN_STATUSES",
    "RANKINGS",
    "PlanParameters",
    "PlanResult",
    "churn_if_contacted",
    "contact_saving",
    "holdout_mask",
    "load_plan_rules",
    "parse_week",
    "plan",
    "plan_parameter_findings",
    "plan_week",
    "read_plan",
    "week_after",
    "week_label",
]
