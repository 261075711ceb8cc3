"""The model card (README.md) of an export folder, as the Hugging Face Hub reads it.

Metadata: library_name colorgan, pipeline_tag image-to-image, tags, license, the training data set where it has a hub
id, and a model-index with the scores of a colorgan-eval results.json (CIEDE2000, PSNR, SSIM, LPIPS, CF, |dCF|, FID
where given, each with its protocol). Text: how to use the model (CLI and Python), its contract (render size, size
multiple, hints), the training command and config (from the run folder's .hydra/, which Hydra writes), what it was
trained on and how many photos, and what that means for a user, said plainly.
"""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path
from typing import Any

from colorgan.errors import UserError
from colorgan.export_format import EXPORT_CONFIG, EXPORT_WEIGHTS
from colorgan.hub import is_reference, parse_reference
from colorgan.io import write_atomic

CARD = "README.md"
GREY_ROW = "grey (ab = 0)"
FEW_PHOTOS = 1000  # below this, a colouriser has learned its photos' colours rather than what colour things are
# results.json column -> (model-index metric type, its name on the card)
METRICS = {
    "de2000": ("ciede2000", "CIEDE2000 (mean ΔE00, lower is better)"),
    "psnr": ("psnr", "PSNR (dB)"),
    "ssim": ("ssim", "SSIM"),
    "lpips": ("lpips", "LPIPS (AlexNet, lower is better)"),
    "cf": ("colorfulness", "Colourfulness CF"),
    "dcf": ("colorfulness_gap", "|ΔCF| to the true photos (lower is better)"),
    "fid": ("fid", "FID (lower is better)"),
}


def read_results(path: str | Path, checkpoint: str, export_dir: str | Path, repo_id: str | None) -> dict[str, Any]:
    """A colorgan-eval results.json and the name of this model's rows in it: the checkpoint it scored is this export's
    checkpoint, folder or repository, or it scored one model only."""
    try:
        record = json.loads(Path(path).read_text())
        rows, scored = record["rows"], record["checkpoints"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"--eval {path} is not a results.json written by colorgan-eval ({exc.__class__.__name__}): give the one in outputs/eval/<date>/"
        ) from exc
    ours = {str(Path(export_dir).resolve())} | (set() if is_reference(checkpoint) else {str(Path(checkpoint).resolve())})

    def same(source: str) -> bool:
        if is_reference(source):
            return source == checkpoint or parse_reference(source)[0] == repo_id
        return str(Path(source).resolve()) in ours

    names = [name for name, source in scored.items() if same(str(source))] or (list(scored) if len(scored) == 1 else [])
    if not names:
        raise UserError(
            f"--eval {path} scores {', '.join(scored)} and none is {checkpoint}: evaluate this model (colorgan-eval ckpt_path={checkpoint}) and give that results.json"
        )
    if not rows:
        raise UserError(f"--eval {path} has no rows: run colorgan-eval again")
    return record | {"model": names[0]}


def rows_of(record: dict[str, Any], name: str) -> list[tuple[int, dict[str, Any]]]:
    """(hint count, row) of one model (or the grey baseline) in a results record."""
    from colorgan.evaluate.scoring import row_name

    counts = record.get("hints") or [0]
    by_label = {row["model"]: row for row in record["rows"]}
    return [(count, by_label[row_name(name, count, counts)]) for count in counts if row_name(name, count, counts) in by_label]


def eval_results(record: dict[str, Any]) -> list:
    """huggingface_hub EvalResults (the card's model-index) of this model's rows: every metric given, with its protocol."""
    from huggingface_hub import EvalResult

    data = Path(str(record.get("data") or "photos")).name or "photos"
    images = int(record.get("images", 0))
    results = []
    for hints, row in rows_of(record, record["model"]):
        for column, (metric, label) in METRICS.items():
            if row.get(column) is None:
                continue
            args = {"protocol": record.get("protocol", "photo"), "images": images, "hints": hints}
            if column == "fid":
                fid = record.get("fid", {})
                args |= {k: fid[k] for k in ("features", "resize", "pixels") if k in fid} | {"weights": Path(str(fid.get("weights", ""))).name}
            if column == "lpips":
                args["net"] = record.get("lpips", {}).get("net", "alex")
            results.append(
                EvalResult(
                    task_type="image-to-image",
                    task_name="Image colorization",
                    dataset_type=data,
                    dataset_name=f"{data} ({images} photos, colorgan-eval protocol={args['protocol']})",
                    metric_type=metric,
                    metric_value=round(float(row[column]), 4),
                    metric_name=label if not hints else f"{label}, {hints} hints",
                    metric_args=args,
                )
            )
    return results


def find_run(checkpoint: str) -> Path | None:
    """The training run folder of a checkpoint: the nearest folder above it holding Hydra's .hydra/config.yaml."""
    if is_reference(checkpoint) or not Path(checkpoint).is_file():
        return None
    for folder in list(Path(checkpoint).resolve().parents)[:4]:
        if (folder / ".hydra" / "config.yaml").is_file():
            return folder
    return None


def training_data(data: dict[str, Any]) -> tuple[str, int | None]:
    """What the model was trained on, in words, and how many training photos (None when not recorded, or not photos)."""
    from colorgan.data.bundled import SAMPLE_PHOTOS, SYNTHETIC_COUNTS

    bundled = data.get("bundled")
    if bundled == "samples":
        train = [name for (_, name), split in SAMPLE_PHOTOS.items() if split == "train"]
        return f"colorgan's bundled `samples`: {len(train)} real colour photos that scikit-image ships ({', '.join(train)}), cut into overlapping tiles", len(
            train
        )
    if bundled == "synthetic":
        return f"colorgan's bundled `synthetic` set: {SYNTHETIC_COUNTS['train']:,} procedural scenes, not photos", None
    root = data.get("root")
    manifest = Path(str(root)) / "manifest.json" if root and "${" not in str(root) else None
    if manifest is not None and manifest.is_file():
        count = json.loads(manifest.read_text()).get("splits", {}).get("train")
        return f"shards prepared by colorgan-prep in {root}: {count:,} training photos", count
    return f"shards from {root or data.get('train_urls')} (how many photos is not recorded)", None


def plain_words(data: dict[str, Any], count: int | None, hints: bool, note: str | None) -> str:
    """What the model can and cannot do, as plainly as the demo's closing note."""
    if note:
        said = " ".join(note.split())
    elif data.get("bundled") == "synthetic":
        said = "It was trained on procedural scenes, not photos: it colours shapes like those, and real photos no better than leaving them grey."
    elif count is None:
        said = "How many photos it was trained on is not recorded here: judge it by the scores below and by trying it on your own photos."
    elif count < FEW_PHOTOS:
        said = (
            f"It was trained on {count} photos. Automatic colour is learned from many photos: with {count}, it has learned those photos' colours, "
            "not what colour things are, so on other photos expect muted or wrong colours, often no better than leaving them grey."
        )
    else:
        said = f"It was trained on {count:,} photos. Expect plausible colours for scenes like those, and muted or wrong ones for what it has not seen."
    if hints:
        said += " It takes colour hints: a few clicked colours are spread over the regions they belong to, which works even where its own guess does not."
    return said


def training_length(cfg: dict[str, Any], checkpoint: str) -> str:
    """How long it trained: the configured length in batches, and the global step the checkpoint was saved at."""
    from colorgan.checkpoint import read_checkpoint

    epochs, batches, size = cfg.get("trainer", {}).get("max_epochs"), cfg.get("data", {}).get("batches_per_epoch"), cfg.get("data", {}).get("batch_size")
    configured = f"{cfg['max_batches']} batches" if isinstance(cfg.get("max_batches"), int) else f"{epochs} epochs x {batches} batches"
    configured += f" of {size} crops" if isinstance(size, int) else ""
    return f"{configured} (configured); this checkpoint was saved at global step {read_checkpoint(checkpoint).get('global_step')} (optimiser steps)"


def score_lines(record: dict[str, Any]) -> list[str]:
    """This model's rows and the grey baseline's as a Markdown table, with the protocol, and its CIEDE2000 against grey."""
    columns = [c for c in METRICS if any(row.get(c) is not None for _, row in rows_of(record, record["model"]))]
    lines = ["| model | " + " | ".join(METRICS[c][1].replace("|", "\\|") for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name in (record["model"], GREY_ROW):
        for hints, row in rows_of(record, name):
            shown = "this model" if name == record["model"] else "grey (ab = 0)"
            cells = ["n/a" if row.get(c) is None else f"{row[c]:.4f}" if c in ("ssim", "lpips") else f"{row[c]:.2f}" for c in columns]
            lines.append(f"| {shown}{f', {hints} hints' if hints else ''} | " + " | ".join(cells) + " |")
    ours, grey = dict(rows_of(record, record["model"])).get(0), dict(rows_of(record, GREY_ROW)).get(0)
    head = f"Scored by `colorgan-eval` on {record.get('images')} photos of `{Path(str(record.get('data'))).name}`, protocol `{record.get('protocol')}`"
    head += " (each photo coloured as `colorgan-colorize` colours it)." if record.get("protocol") == "photo" else " (the network at the data's size)."
    if ours and grey and ours.get("de2000") is not None:
        change = (grey["de2000"] - ours["de2000"]) / grey["de2000"] * 100
        verdict = f"{change:.1f} % closer to the true colours than grey" if change >= 0 else f"{-change:.1f} % further from the true colours than grey"
        head += f" Its CIEDE2000 is {ours['de2000']:.2f} against {grey['de2000']:.2f} for leaving the photos grey: {verdict}."
    notes = record.get("notes", [])[: 2 if "fid" in columns else 1]  # what CF is, and FID's protocol where FID is given
    return [head, "", *lines, "", *[f"- {note}" for note in notes]]


def usage_section(source: str, python_source: str, hints: bool) -> list[str]:
    """How to run the model: the CLI and Python."""
    return [
        "## Use it",
        "",
        "```bash",
        "pip install colorgan",
        f"colorgan-colorize {source} old_photo.jpg -o coloured/" + (" --hint 120,80,#3060C0" if hints else ""),
        f"colorgan-serve {source}                    # a web page to colour photos in",
        f"colorgan-train init_from={source} data=shards data.root=SHARDS   # fine-tune it on your photos",
        "```",
        "",
        "```python",
        "from colorgan.inference import Colorizer",
        "",
        f'colorizer = Colorizer.from_pretrained("{python_source}")',
        'colorizer.colorize("old_photo.jpg").save("old_photo_colour.png")',
        "```",
    ]


def contract_section(config: dict[str, Any], export_dir: Path) -> list[str]:
    """What the model expects: its input, render size, hints and files."""
    contract = config["model"]
    hints = "hint_mask" in contract["inputs"]
    onnx = ", `generator.onnx` (the same network for ONNX Runtime)." if (export_dir / "generator.onnx").is_file() else "."
    return [
        "## What it expects",
        "",
        f"- Any grey photo (grey, RGB, 16-bit, ... any size). The network sees CIE L (scaled to [-1, 1]) and predicts ab; the output keeps the photo's own lightness "
        f"(colour contract v{config['contract_version']}).",
        f"- Render size: long side 16 x render factor (default {contract['image_size']} px, the size it was trained at), padded to a multiple of {contract['size_multiple']}.",
        f"- Inputs: {', '.join(contract['inputs'])}" + (" (colour hints: a hinted ab map and its mask)." if hints else " (no hints)."),
        f"- Files: `{EXPORT_WEIGHTS}` (generator weights, spectral norm folded), `{EXPORT_CONFIG}` (model class, hyperparameters, contract)" + onnx,
    ]


def training_section(run: Path | None, cfg: dict[str, Any], checkpoint: str, data_words: str, hparams: dict[str, Any]) -> list[str]:
    """How the model was trained: data, length, command and config (or the hyperparameters, when the run is not found)."""
    from omegaconf import OmegaConf

    lines = ["## Training", "", f"- Data: {data_words}."]
    if not run:
        return lines + [
            "- Command and config: not recorded.",
            "",
            "Model hyperparameters:",
            "",
            "```json",
            json.dumps(hparams, indent=2, sort_keys=True),
            "```",
        ]
    overrides = OmegaConf.load(run / ".hydra" / "overrides.yaml") if (run / ".hydra" / "overrides.yaml").is_file() else []
    return lines + [
        f"- Length: {training_length(cfg, checkpoint)}.",
        f"- Command: `{' '.join(['colorgan-train', *(shlex.quote(str(o)) for o in overrides)])}`",
        "",
        "<details><summary>Full config (.hydra/config.yaml)</summary>",
        "",
        "```yaml",
        (run / ".hydra" / "config.yaml").read_text().rstrip(),
        "```",
        "",
        "</details>",
    ]


def card_metadata(kind: str, hints: bool, record: dict[str, Any] | None, license: str, name: str, dataset: str | None) -> str:
    """The card's YAML header as the hub reads it (library, pipeline, tags, license, data set, model-index)."""
    from huggingface_hub import ModelCardData

    return ModelCardData(
        library_name="colorgan",
        pipeline_tag="image-to-image",
        license=license,
        tags=["colorization", "image-colorization", "gan", kind.lower(), "safetensors", *(["hints"] if hints else [])],
        datasets=[dataset] if dataset else None,
        model_name=name,
        eval_results=eval_results(record) if record else None,
    ).to_yaml()


def card_text(export_dir: Path, checkpoint: str, record: dict[str, Any] | None, license: str, repo_id: str | None, dataset: str | None) -> str:
    """The model card's Markdown, metadata included."""
    from omegaconf import OmegaConf
    from safetensors import safe_open

    config = json.loads((export_dir / EXPORT_CONFIG).read_text())
    kind = config["target"].rsplit(".", 1)[-1]
    with safe_open(str(export_dir / EXPORT_WEIGHTS), "pt") as weights:
        parameters = sum(math.prod(weights.get_slice(k).get_shape()) for k in weights.keys())  # noqa: SIM118 - safe_open has no iterator
    hints = "hint_mask" in config["model"]["inputs"]
    run = find_run(checkpoint)
    cfg = OmegaConf.to_container(OmegaConf.load(run / ".hydra" / "config.yaml"), resolve=False) if run else {}
    data = cfg.get("data", {}) if cfg else {}
    data_words, count = training_data(data) if cfg else ("not recorded (the checkpoint was not found in a colorgan-train run folder)", None)
    source = f"hf://{repo_id}" if repo_id else str(export_dir)
    name = repo_id.split("/")[-1] if repo_id else export_dir.name
    summary = (
        f"A colorgan colouriser: a {kind} model ({parameters / 1e6:.2f} M generator parameters) that turns "
        "black-and-white photos into colour ones. " + plain_words(data, count, hints, cfg.get("closing_note"))
    )
    evaluation = (
        score_lines(record)
        if record
        else [f"Not evaluated here: `colorgan-eval ckpt_path={source} data.root=PHOTOS` scores it against leaving the photos grey."]
    )
    sections = [
        ["---", card_metadata(kind, hints, record, license, name, dataset), "---", "", f"# {name}", "", summary],
        usage_section(source, repo_id or str(export_dir), hints),
        contract_section(config, export_dir),
        training_section(run, cfg, checkpoint, data_words, config["hyper_parameters"]),
        ["## Evaluation", "", *evaluation],
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def write_model_card(
    export_dir: str | Path,
    checkpoint: str,
    results: dict[str, Any] | None = None,
    license: str = "mit",
    repo_id: str | None = None,
    dataset: str | None = None,
) -> Path:
    """Write README.md, the model card, into an export folder (atomically); `results` from read_results."""
    from huggingface_hub import ModelCard

    export_dir = Path(export_dir)
    text = card_text(export_dir, checkpoint, results, license, repo_id, dataset)
    ModelCard(text)  # huggingface_hub's own parsing of the metadata: a card it cannot read is a bug here, not a user error
    write_atomic(export_dir / CARD, text.encode())
    return export_dir / CARD
