"""Console entry points of the Hydra apps (colorgan-train, colorgan-eval): a bad command line gets one line."""

from __future__ import annotations

import sys
from collections.abc import Callable

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from colorgan.cli.errors import one_line
from colorgan.config import compose


def check_overrides(config_name: str, args: list[str]) -> str | None:
    """Compose the config once with the command line (first value of each sweep); the error in one line, if any."""
    if any(a.startswith("-") and a not in ("-m", "--multirun") for a in args):
        return None  # --help, --cfg, -cn ...: Hydra handles these itself
    overrides = [a for a in args if not a.startswith("-")]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        first = [f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}" if o.is_sweep_override() else o.input_line for o in parsed]
        compose(config_name, first, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        return one_line(exc)
    return None


def run_app(prog: str, config_name: str, app: Callable[[], object]) -> None:
    """Check the command line against the config before Hydra starts (one line + exit 2 on a mistake), then run `app`."""
    error = check_overrides(config_name, sys.argv[1:])
    if error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
    app()
