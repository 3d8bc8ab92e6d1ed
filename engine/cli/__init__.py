"""The ``kam`` command: a thin shell over the library.

Exit status
-----------
0 success; 1 unexpected error; 2 usage error (bad option or argument); 3 a spec is wrong
(rule file, model spec, configuration) or ``kam rules check`` found errors; 4 the data is wrong
(validation failures, a missing table, too many rows quarantined); 5 the database could not be
read or written (previous results intact); 6 a model artifact is missing or untrustworthy; 7 an
optional dependency is missing; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). A reader that
closes the output early (``kam runs | head -1``) is not an error: exit 0.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "app", "EXIT_INTERRUPTED", "EXIT_TERMINATED"]

#: Exit status after Ctrl-C (128 + SIGINT), and after SIGTERM (128 + SIGTERM), as shells report them.
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(BaseException):
    """Raised in the main thread when the process receives SIGTERM.

    A BaseException (like KeyboardInterrupt) so that no ``except Exception`` swallows it: every
    open transaction rolls back on the way out, and the previous results stay intact.
    """


def _build_app():
    import typer

    from engine.cli import _commands

    app = typer.Typer(
        name="kam",
        help="kam: tiers, routes and scores key accounts; warns before they churn.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
    )
    _commands.register(app)
    return app


def __getattr__(name: str):
    if name == "app":
        return _build_app()
    raise AttributeError(name)


class _Signals:
    """Which stop signal arrived, if any; installs SIGINT/SIGTERM handlers for the run (main thread only).

    The database driver may turn an interruption into its own error (ADBC reports a cancelled
    statement as ``NOT_IMPLEMENTED``), so the exit status is decided by the signal received, not
    by the exception that surfaced.
    """

    def __init__(self):
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return self
        for number, handler in ((signal.SIGINT, self._interrupt), (signal.SIGTERM, self._terminate)):
            try:
                self._previous[number] = signal.signal(number, handler)
            except (ValueError, OSError):  # not allowed here (embedded interpreter)
                pass
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _interrupt(self, number, frame) -> None:
        self.received = signal.SIGINT
        raise KeyboardInterrupt

    def _terminate(self, number, frame) -> None:
        self.received = signal.SIGTERM
        raise Terminated


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print kam's warnings as ``warning: ...`` (and log them for a log collector); others are logged only."""
    from engine._errors import KamWarning
    from engine._log import get_logger

    log = get_logger("warnings")
    if issubclass(category, KamWarning):
        from engine.cli._output import warn

        warn(str(message))
        if log.handlers and any(type(h.formatter).__name__ == "JsonFormatter" for h in get_logger().handlers):
            log.warning("%s: %s", category.__name__, message)
    else:
        log.debug("%s: %s (%s:%s)", category.__name__, message, filename, lineno)


def _quiet_stdout() -> None:
    """After a broken pipe: send what is left of standard output nowhere (no second error at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests capture it)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kam`` with ``argv`` (default: ``sys.argv[1:]``) and exit with a documented status."""
    if argv is not None and (isinstance(argv, (str, bytes)) or not isinstance(argv, Sequence)
                             or not all(isinstance(arg, str) for arg in argv)):
        from engine._errors import ArgumentError

        raise ArgumentError(f"main: expected argv as a list of strings, e.g. ['score', '--db', 'kam.sqlite']; got "
                            f"{type(argv).__name__} {argv!r:.60}. Fix: pass the arguments split into a list.")
    try:
        code = _run(argv)
    finally:
        _restore_logging()
    if argv is None:
        sys.exit(code)
    return code


def _restore_logging() -> None:
    """Remove the handler the command installed, so a caller in the same process (a test, an
    application calling ``main``) gets the ``kam`` logger back as it was."""
    import logging

    from engine._log import _HANDLER_MARK, get_logger

    logger = get_logger()
    for handler in [h for h in logger.handlers if getattr(h, _HANDLER_MARK, False)]:
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def _run(argv: Sequence[str] | None) -> int:
    import typer

    # typer ships its own click; its usage errors derive from ClickException there.
    from typer._click.exceptions import ClickException

    from engine._errors import KamError, exit_code_for
    from engine.cli._context import CliState
    from engine.cli._output import error as print_error

    app = _build_app()
    signals = _Signals()
    cli_state = CliState(None)  # filled by the root callback; outlives the command for masking errors

    def error(message: str) -> None:
        print_error(message, cli_state.secrets)

    with signals, warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        try:
            result = app(args=list(argv) if argv is not None else None, standalone_mode=False, prog_name="kam",
                         obj=cli_state)
        except typer.Exit as exc:
            code = exc.exit_code
            if code == EXIT_INTERRUPTED or signals.received is not None:  # typer turns Ctrl-C into Exit(130)
                return _stopped(signals.received or signal.SIGINT, error)
        except ClickException as exc:
            exc.show()
            code = exc.exit_code
        except BrokenPipeError:
            _quiet_stdout()
            return 0
        except Terminated:
            error("terminated (SIGTERM). A write in progress was rolled back: the previous results are intact.")
            return EXIT_TERMINATED
        except (typer.Abort, KeyboardInterrupt):
            error("interrupted. A write in progress was rolled back: the previous results are intact.")
            return EXIT_INTERRUPTED
        except KamError as exc:
            if signals.received is not None:  # the driver reported the interruption as its own error
                return _stopped(signals.received, error)
            error(str(exc))
            code = exit_code_for(exc)
        except Exception as exc:  # a bug: say so plainly, with the traceback (credentials masked)
            if signals.received is not None:
                return _stopped(signals.received, error)
            return _unexpected(exc, cli_state.secrets)
        else:
            code = result if isinstance(result, int) else 0
            if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into Exit(130), which click returns
                return _stopped(signals.received or signal.SIGINT, error)
    if signals.received is not None and code not in (0, EXIT_INTERRUPTED, EXIT_TERMINATED):
        return _stopped(signals.received, error)
    return code


def _stopped(received: int, error) -> int:
    if received == signal.SIGTERM:
        error("terminated (SIGTERM). A write in progress was rolled back: the previous results are intact.")
        return EXIT_TERMINATED
    error("interrupted. A write in progress was rolled back: the previous results are intact.")
    return EXIT_INTERRUPTED


def _unexpected(exc: BaseException, secrets) -> int:
    import traceback

    from engine._log import redact
    from engine.cli._output import error_console

    text = "".join(traceback.format_exception(exc))
    error_console().print(redact(text, secrets), markup=False, highlight=False)
    error_console().print(
        f"error: unexpected {type(exc).__name__} (a bug in kam; please report it with the traceback above).",
        markup=False, highlight=False,
    )
    return 1
