"""The ``kam`` command: a thin shell over the library.

Exit status
-----------
0 success; 1 unexpected kam error; 2 usage error (bad option or argument); 3 a spec is wrong
(rule file, model spec, configuration) or ``kam rules check`` found errors; 4 the data is wrong;
5 the database could not be read or written (previous results intact); 6 a model artifact is
missing or untrustworthy; 7 an optional dependency is missing; 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main", "app"]


def _build_app():
    import typer

    from engine.cli import _commands

    app = typer.Typer(
        name="kam",
        help="kam: tiers, routes and scores key accounts; warns before they churn.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    _commands.register(app)
    return app


def __getattr__(name: str):
    if name == "app":
        return _build_app()
    raise AttributeError(name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kam`` with ``argv`` (default: ``sys.argv[1:]``) and exit with a documented status."""
    import typer

    from engine._errors import KamError, exit_code_for
    from engine.cli._output import error_console

    # typer ships its own click; its usage errors derive from ClickException there.
    from typer._click.exceptions import ClickException

    app = _build_app()
    try:
        result = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        error_console().print("interrupted")
        code = 130
    except KamError as exc:
        from rich.markup import escape

        error_console().print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False)
        code = exit_code_for(exc)
    else:
        code = result if isinstance(result, int) else 0
    if argv is None:
        sys.exit(code)
    return code
