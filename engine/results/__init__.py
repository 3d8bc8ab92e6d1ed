"""Read the results of scoring runs: one account's latest scores, the list of runs.

The ``kam runs`` / ``kam show account`` commands and the HTTP service (``GET /accounts/{id}``)
both read results through these functions, so the screen, ``--json`` and the service agree.
Nothing here writes.
"""

from engine.results._records import ResultNotFoundError, account_record, runs_records

__all__ = ["ResultNotFoundError", "account_record", "runs_records"]
