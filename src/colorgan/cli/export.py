"""`colorgan-export CKPT [-o DIR] [--push-to-hub OWNER/NAME]`: slim generator weights (safetensors) + config, ONNX with
a parity check, and a model card (README.md); with --push-to-hub the folder becomes a Hugging Face Hub repository."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from colorgan.cli.errors import report_user_errors

PROG = "colorgan-export"


def default_out(checkpoint: str) -> str:
    """<checkpoint name>_export beside a local checkpoint; <repository name>_export here for hf://owner/name."""
    if checkpoint.startswith("hf://"):
        return checkpoint.rstrip("/").rsplit("/", 1)[-1].replace("@", "_") + "_export"
    return str(Path(checkpoint).with_suffix("")) + "_export"


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    p.add_argument("checkpoint", help="a .ckpt written by colorgan-train, an export folder or hf://owner/name[@revision]")
    p.add_argument("-o", "--out", help="output folder (default: <checkpoint name>_export beside it)")
    p.add_argument("--no-onnx", action="store_true", help="only safetensors + config (and the model card)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest |ONNX - PyTorch| accepted")
    p.add_argument("--push-to-hub", metavar="OWNER/NAME", help="upload the folder to this Hugging Face Hub repository (token: HF_TOKEN or `hf auth login`)")
    p.add_argument("--private", action="store_true", help="create the hub repository private")
    p.add_argument("--eval", metavar="RESULTS.json", help="a colorgan-eval results.json of this model: its scores go on the model card")
    p.add_argument("--license", default="mit", help="the weights' license, as a hub license id (default: mit)")
    p.add_argument("--dataset", metavar="HUB_ID", help="the training data's Hugging Face dataset id, for the card's metadata")
    args = p.parse_args(argv)
    if args.private and not args.push_to_hub:
        p.error("--private applies to --push-to-hub OWNER/NAME")
    out = args.out or default_out(args.checkpoint)
    with report_user_errors(PROG):
        from colorgan import hub
        from colorgan.export import export
        from colorgan.model_card import read_results, write_model_card

        results = read_results(args.eval, args.checkpoint, out, args.push_to_hub) if args.eval else None
        if args.push_to_hub:
            hub.check_can_push(args.push_to_hub)  # before anything is written
        report = export(args.checkpoint, out, onnx=not args.no_onnx, tolerance=args.tolerance)
        report["card"] = str(write_model_card(out, args.checkpoint, results, args.license, args.push_to_hub, args.dataset))
        if args.push_to_hub:
            report["hub"] = hub.push(out, args.push_to_hub, private=args.private)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
