"""Turn mistakes a user can fix into one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from omegaconf.errors import MissingMandatoryValue

from colorgan.errors import UserError


def user_error_in(exc: BaseException) -> BaseException | None:
    """The UserError (or missing mandatory config value) behind `exc`, following wrapped causes."""
    while exc is not None:
        if isinstance(exc, (UserError, MissingMandatoryValue)):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def one_line(exc: BaseException) -> str:
    """An exception's message folded onto one line."""
    if isinstance(exc, MissingMandatoryValue):
        key = getattr(exc, "full_key", "") or str(exc).splitlines()[0]
        return f"{key} is required: add {key}=... to the command line"
    text = str(exc).split("Config search path:")[0]  # Hydra's list of config folders: noise to a user
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("    ")]
    return " ".join(lines)


@contextmanager
def report_user_errors(prog: str) -> Iterator[None]:
    """Print user errors (even wrapped ones) as `prog: error: ...` and exit 2; re-raise everything else."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - filtered just below
        found = user_error_in(exc)
        if found is None:
            raise
        print(f"{prog}: error: {one_line(found)}", file=sys.stderr)
        sys.exit(2)
