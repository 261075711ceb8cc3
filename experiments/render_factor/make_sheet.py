"""Render factor contact sheet: one photo coloured by one checkpoint at several render factors, once per U-Net
`global_levels` setting (same weights; 0 = the reference pix2pix U-Net), with `colorgan-colorize`; plus measurements.

    python experiments/render_factor/make_sheet.py CKPT PHOTO --out experiments/render_factor

Writes sheet_<photo>.jpg (rows: global_levels, columns: render factors) and results_<photo>.json: per cell the mean
chroma of the predicted ab (CIELAB units), its mean distance from the training-size render (ab resized to the photo),
and the periodic-peak score of the ab at the render size (tests/test_nets.py: about 1 without a pattern repeating
every 2^depth pixels).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from colorgan.checkpoint import read_checkpoint  # noqa: E402
from colorgan.color import AB_SCALE  # noqa: E402
from colorgan.inference import Colorizer  # noqa: E402
from colorgan.io import atomic_path, write_json_atomic  # noqa: E402
from test_nets import periodic_peaks  # noqa: E402


def variant(checkpoint: Path, levels: int, folder: Path) -> Path:
    """A copy of the checkpoint whose generator config has global_levels=levels (the weights are the same)."""
    state = read_checkpoint(checkpoint)  # weights only, as colorgan loads every checkpoint
    state["hyper_parameters"]["generator"]["global_levels"] = levels
    path = folder / f"global_levels_{levels}.ckpt"
    torch.save(state, path)
    return path


def measure(checkpoint: Path, photo: Path, factors: list[int], reference_ab: torch.Tensor | None) -> list[dict]:
    colorizer = Colorizer.from_checkpoint(checkpoint, device="cpu")
    L = colorizer.luminance(photo)
    rows = []
    for factor in factors:
        x, _, (h, w) = colorizer._model_input(L, factor, None)  # what colorgan-colorize feeds the network
        with torch.no_grad():
            ab = colorizer.model(x)
        full = colorizer.predict_ab([L], factor)[0]
        rows.append(
            {
                "render_factor": factor,
                "render_size": [h, w],
                "chroma": round(float(ab[..., :h, :w].norm(dim=1).mean() * AB_SCALE), 2),
                "distance_from_training_size": None if reference_ab is None else round(float((full - reference_ab).norm(dim=1).mean() * AB_SCALE), 2),
                "periodic_peaks": round(periodic_peaks(ab, colorizer.size_multiple), 2) if min(ab.shape[-2:]) >= 2 * colorizer.size_multiple else None,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("photo", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--levels", type=int, nargs="+", default=[0, 1, 3])
    parser.add_argument("--factors", type=int, nargs="+", default=[4, 8, 16, 32])
    parser.add_argument("--tile", type=int, default=300)
    args = parser.parse_args()
    colorizer = Colorizer.from_checkpoint(args.checkpoint, device="cpu")
    training_factor = colorizer.default_render_factor
    reference_ab = colorizer.predict_ab([Colorizer.luminance(args.photo)], training_factor)[0]  # the same for every global_levels
    tiles, results = {}, {"checkpoint": str(args.checkpoint), "photo": args.photo.name, "training_render_factor": training_factor, "rows": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for levels in args.levels:
            checkpoint = variant(args.checkpoint, levels, Path(tmp))
            for factor in args.factors:
                out = Path(tmp) / f"{levels}_{factor}"
                subprocess.run(
                    ["colorgan-colorize", str(checkpoint), str(args.photo), "--render-factor", str(factor), "-o", str(out)], check=True, capture_output=True
                )
                image = Image.open(out / args.photo.name).convert("RGB")
                tiles[levels, factor] = image.resize((args.tile, round(image.height * args.tile / image.width)), Image.Resampling.LANCZOS)
            results["rows"][f"global_levels={levels}"] = measure(checkpoint, args.photo, args.factors, reference_ab)
    height = next(iter(tiles.values())).height
    pad, label_w, head = 6, 130, 20
    sheet = Image.new("RGB", (label_w + len(args.factors) * (args.tile + pad), head + len(args.levels) * (height + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, factor in enumerate(args.factors):
        draw.text((label_w + j * (args.tile + pad) + 4, 4), f"render factor {factor} ({16 * factor} px)", fill="black")
    for i, levels in enumerate(args.levels):
        label = f"global_levels={levels}" + ("\n(the reference)" if levels == 0 else "\n(default)" if levels == 3 else "")
        draw.multiline_text((4, head + i * (height + pad) + height // 2 - 12), label, fill="black")
        for j, factor in enumerate(args.factors):
            sheet.paste(tiles[levels, factor], (label_w + j * (args.tile + pad), head + i * (height + pad)))
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out / f"sheet_{args.photo.stem}.jpg") as tmp:
        sheet.save(tmp, format="JPEG", quality=90)
    write_json_atomic(args.out / f"results_{args.photo.stem}.json", results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
