"""`colorgan-export CKPT [-o DIR]`: slim generator weights (safetensors) + config, and ONNX with a parity check."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from colorgan.cli.errors import report_user_errors

PROG = "colorgan-export"


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    p.add_argument("checkpoint")
    p.add_argument("-o", "--out", help="output folder (default: <checkpoint name>_export beside it)")
    p.add_argument("--no-onnx", action="store_true", help="only safetensors + config")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest |ONNX - PyTorch| accepted")
    args = p.parse_args(argv)
    out = args.out or str(Path(args.checkpoint).with_suffix("")) + "_export"
    with report_user_errors(PROG):
        from colorgan.export import export

        report = export(args.checkpoint, out, onnx=not args.no_onnx, tolerance=args.tolerance)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
