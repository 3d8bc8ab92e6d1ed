"""The run report: one self-contained HTML page per scoring run.

:func:`report_numbers` computes every number of the page as plain data from a run (and a
comparison run); :func:`render_report` renders that data with a Jinja2 template into one HTML
file with its CSS and SVG charts inline; :func:`report` does both from a database.

``engine.report(...)`` calls :func:`report`: this package is callable, so the name works both
as the package and as the function whichever Python imported first.
"""

import sys
import types

from engine.report._api import report
from engine.report._numbers import report_numbers
from engine.report._read import ReportInputs, RunData, read_inputs
from engine.report._render import SECTIONS, render_report

__all__ = ["SECTIONS", "ReportInputs", "RunData", "read_inputs", "render_report", "report", "report_numbers"]


class _CallablePackage(types.ModuleType):
    """``engine.report`` is both this package and, when called, :func:`report`."""

    def __call__(self, *args, **kwargs):
        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
