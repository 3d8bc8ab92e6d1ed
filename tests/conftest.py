"""Session-wide test configuration: deterministic Hypothesis profiles.

Hypothesis runs derandomized everywhere (the same examples every run, no flaky seeds). The
``ci`` profile is loaded when the ``CI`` environment variable is set; ``dev`` otherwise. Pick one
explicitly with ``--hypothesis-profile``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
