"""What an evaluation leaves behind: results.json, results.md (the table and what its numbers are), the contact
sheet, and the same table and sheet in the loggers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from colorgan.evaluate.scoring import COLUMNS
from colorgan.images import to_pil
from colorgan.io import atomic_path, write_atomic, write_json_atomic

HEADERS = {
    "psnr": "PSNR ↑",
    "ssim": "SSIM ↑",
    "lpips": "LPIPS ↓",
    "de2000": "CIEDE2000 ↓",
    "cf": "CF",
    "dcf": "|dCF| ↓",
    "cf_signed": "CF signed",
    "fid": "FID ↓",
    "cdc": "CDC ↓",
    "ewarp_dis": "E_warp(DIS) ↓",
}
DIGITS = {"ssim": 4, "lpips": 4, "cdc": 6, "ewarp_dis": 6}  # decimals shown; 2 for the rest


def markdown_table(rows: list[dict[str, Any]], columns: Sequence[str] = COLUMNS) -> str:
    """The rows as a Markdown table; unavailable metrics show as 'n/a'."""
    lines = ["| model | " + " | ".join(HEADERS[c] for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row in rows:
        cells = ["n/a" if row[c] is None else f"{row[c]:.{DIGITS.get(c, 2)}f}" for c in columns]
        lines.append(f"| {row['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def notes(result: dict[str, Any]) -> list[str]:
    """What the table's numbers are, and why any are missing: lines for results.md."""
    fid, lpips = result["fid"], result["lpips"]
    protocol = f"FID: {fid['features']}-d Inception-v3 pool features, weights {fid['weights']}, resize {fid['resize']}, pixels {fid['pixels']}, {fid['images']} images."
    cf = "CF: colourfulness with absolute opponents |R-G|, |(R+G)/2-B| (DDColor's, as papers tabulate), |dCF| on it; CF signed: Hasler and Suesstrunk's R-G, (R+G)/2-B."
    return [cf, fid.get("reason", protocol), *([lpips["reason"]] if "reason" in lpips else []), *result.get("notes", [])]


def write_results(out: Path, result: dict[str, Any], record: dict[str, Any]) -> str:
    """Write results.json (`record`), results.md and contact_sheet.png into `out`, each complete or not at all;
    returns the table."""
    out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(result["rows"], result.get("columns", COLUMNS))
    write_json_atomic(out / "results.json", record)
    write_atomic(out / "results.md", "\n\n".join([table, "\n".join(record["notes"])]).encode() + b"\n")
    if result["sheet"] is not None:
        with atomic_path(out / "contact_sheet.png") as tmp:
            to_pil(result["sheet"]).save(tmp)
    return table


def log_results(loggers: list, result: dict[str, Any]) -> None:
    """The table and the contact sheet to every logger that takes tables (wandb)."""
    columns = result.get("columns", COLUMNS)
    for logger in loggers:
        if hasattr(logger, "log_table"):
            logger.log_table("eval/metrics", columns=["model", *columns], data=[[r["model"], *(r[c] for c in columns)] for r in result["rows"]])
            if result["sheet"] is not None:
                logger.log_image("eval/contact_sheet", [to_pil(result["sheet"])])
