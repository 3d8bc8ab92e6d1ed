"""kam: a rules-and-scoring engine for key-account valuation.

The public API is imported lazily, so ``import engine`` does no work and pulls in neither
scikit-learn nor durable_rules until they are used.

Data flows one way::

    load -> validate -> features -> rules (tier, route, assign) -> models -> priority -> write
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine._errors import *  # noqa: F403  (the exception tree is cheap and always wanted)
from engine._errors import __all__ as _error_names

# ``engine.NotFittedError`` is the class the models raise (``engine.models.NotFittedError``): a
# ModelError that is also scikit-learn's NotFittedError, so it is resolved lazily with the models.
del NotFittedError  # type: ignore[used-before-def]  # noqa: F821  (mypy sees the TYPE_CHECKING import below)

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    # contract, validation, storage
    "CUSTOMER_DATABASE": "engine.contract",
    "validate_tables": "engine.validate",
    "ValidationReport": "engine.validate",
    "rejects_frame": "engine.validate",
    "Database": "engine.storage",
    # demo data
    "generate_demo_database": "engine.demo",
    "generate_demo_tables": "engine.demo",
    # features
    "build_account_features": "engine.features",
    "build_opportunity_features": "engine.features",
    "from_transactions": "engine.features",
    "churn_labels": "engine.features",
    "FEATURE_CATALOG": "engine.features",
    # rules
    "load_rules": "engine.rules",
    "load_rule_dir": "engine.rules",
    "check_rules": "engine.rules",
    "diff_rulesets": "engine.rules",
    "RuleSet": "engine.rules",
    "Decision": "engine.rules",
    # the decision stage from one's own features (a notebook's tier -> route -> assign)
    "load_default_rules": "engine.pipeline._decide",
    "tier_accounts": "engine.pipeline._decide",
    "route_opportunities": "engine.pipeline._decide",
    "assign_opportunities": "engine.pipeline._decide",
    # assignment
    "assign": "engine.assign",
    "assign_with_report": "engine.assign",
    "AssignmentResult": "engine.assign",
    # models
    "NotFittedError": "engine.models",
    "ChurnModel": "engine.models",
    "WinModel": "engine.models",
    "load_model": "engine.models",
    "save_model": "engine.models",
    "load_model_spec": "engine.models",
    "publish": "engine.models",
    # pipeline
    "ingest": "engine.pipeline",
    "train_model": "engine.pipeline",
    "score": "engine.pipeline",
    "score_frame": "engine.pipeline",
    "ScoreResult": "engine.pipeline",
    # early warning
    "evaluate_run": "engine.alerts",
    "send_outbox": "engine.alerts",
    "on_event": "engine.alerts",
    "list_alerts": "engine.alerts",
    # the run report
    "report": "engine.report",
    # the weekly call plan
    "plan_week": "engine.plan",
    "PlanResult": "engine.plan",
    # the live path: one lead as it arrives
    "route_lead": "engine.live",
    "LiveRouter": "engine.live",
    "LiveDecision": "engine.live",
    "LeadError": "engine.live",
}

__all__ = sorted({*_error_names, *_LAZY, "__version__"})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from engine.alerts import evaluate_run, list_alerts, on_event, send_outbox
    from engine.assign import AssignmentResult, assign, assign_with_report
    from engine.contract import CUSTOMER_DATABASE
    from engine.demo import generate_demo_database, generate_demo_tables
    from engine.features import (
        FEATURE_CATALOG,
        build_account_features,
        build_opportunity_features,
        churn_labels,
        from_transactions,
    )
    from engine.live import LeadError, LiveDecision, LiveRouter, route_lead
    from engine.models import (
        ChurnModel,
        NotFittedError,
        WinModel,
        load_model,
        load_model_spec,
        publish,
        save_model,
    )
    from engine.pipeline import ScoreResult, ingest, score, score_frame, train_model
    from engine.pipeline._decide import (
        assign_opportunities,
        load_default_rules,
        route_opportunities,
        tier_accounts,
    )
    from engine.plan import PlanResult, plan_week
    from engine.report import report
    from engine.rules import (
        Decision,
        RuleSet,
        check_rules,
        diff_rulesets,
        load_rule_dir,
        load_rules,
    )
    from engine.storage import Database
    from engine.validate import ValidationReport, rejects_frame, validate_tables
