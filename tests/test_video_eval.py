"""colorgan-eval data=video: frame metrics as for photos plus CDC and E_warp(DIS), on small clips written with PyAV."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from clips import decoded_frames
from clips import write_clip as write_rotated_clip
from colorgan.errors import UserError
from colorgan.evaluate.run import run
from colorgan.video.data import upright_frames
from colorgan.video.metrics import cdc
from conftest import compose_config


def write_clip(path: Path, frames: int, seed: int = 0, size: tuple[int, int] = (48, 64)) -> None:
    """A clip of a colour gradient pattern drifting right, 2 px a frame, with noise (H.264 or FFV1 by suffix)."""
    rng = np.random.default_rng(seed)
    h, w = size
    base = rng.integers(0, 256, size=(h, w + 2 * frames, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264" if path.suffix == ".mp4" else "ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p" if path.suffix == ".mp4" else "bgr0"
        for t in range(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(base[:, 2 * frames - 2 * t : 2 * frames - 2 * t + w]), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def write_halves(path: Path, frames: int, size: tuple[int, int] = (48, 64)) -> None:
    """A lossless clip of two flat colours, orange left and blue right, their border drifting 1 px a frame."""
    h, w = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "bgr0"
        for t in range(frames):
            frame = np.empty((h, w, 3), np.uint8)
            frame[:, : w // 2 + t], frame[:, w // 2 + t :] = (220, 120, 40), (40, 90, 200)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    write_clip(folder / "a.mp4", 8, seed=1)
    write_clip(folder / "nested" / "b.mkv", 6, seed=2)
    return folder


def test_frames_metrics_and_temporal_measures_per_video(tmp_path, tiny_checkpoint, clips):
    cfg = compose_config(tmp_path, f"ckpt_path={tiny_checkpoint}", "names=[tiny]", "data=video", f"data.root={clips}", "logger=none", config_name="eval")
    record = run(cfg)
    rows = {r["model"]: r for r in record["rows"]}
    assert list(rows) == ["grey (ab = 0)", "tiny", "truth (the colour video)"]
    assert record["images"] == 14 and {name: v["frames"] for name, v in record["videos"].items()} == {"a.mp4": 8, "nested/b.mkv": 6}
    for row in ("grey (ab = 0)", "tiny"):
        assert all(math.isfinite(rows[row][key]) for key in ("psnr", "ssim", "de2000", "cf", "cdc", "ewarp_dis"))
    assert rows["grey (ab = 0)"]["cf"] < 0.01 and rows["truth (the colour video)"]["cf"] > 20
    # the truth's CDC is TCVC's CDC of the decoded frames, averaged over the two videos
    truth = [cdc(decoded_frames(clips / name)) for name in ("a.mp4", "nested/b.mkv")]
    assert rows["truth (the colour video)"]["cdc"] == pytest.approx(np.mean(truth), rel=1e-9)
    assert record["videos"]["a.mp4"]["truth (the colour video)"]["cdc"] == pytest.approx(truth[0], rel=1e-9)
    markdown = (Path(record["output_dir"]) / "results.md").read_text()
    assert "| CDC ↓ | E_warp(DIS) ↓ |" in markdown and "not comparable with published E_warp" in markdown
    assert (Path(record["output_dir"]) / "contact_sheet.png").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: (folder / "broken.mp4").write_bytes(b"not a video at all"), r"cannot read \S*broken.mp4 as a video"),
        (lambda folder: write_clip(folder / "short.mkv", 3), "short.mkv: CDC needs at least 5 frames"),
        (lambda folder: None, "no videos found in"),
    ],
)
def test_bad_videos_are_one_line_errors(tmp_path, tiny_checkpoint, make, message):
    folder = tmp_path / "videos"
    folder.mkdir()
    make(folder)
    cfg = compose_config(tmp_path / "out", f"ckpt_path={tiny_checkpoint}", "data=video", f"data.root={folder}", "logger=none", config_name="eval")
    with pytest.raises(UserError, match=message):
        run(cfg)


def test_a_rotated_video_is_scored_upright_as_colorgan_colorize_colours_it(tmp_path):
    stored = [np.random.default_rng(t).integers(0, 256, (48, 64, 3), dtype=np.uint8) for t in range(3)]
    path = write_rotated_clip(tmp_path / "phone.mp4", stored, audio=False, rotation=90)
    upright = [frame.permute(1, 2, 0).numpy() for frame in upright_frames(path)]
    assert all(np.array_equal(a, np.rot90(b)) for a, b in zip(upright, decoded_frames(path), strict=True))
    assert upright[0].shape == (64, 48, 3)


def test_shot_batches_never_cross_a_cut():
    from colorgan.evaluate.videos import shot_batches

    frames = (torch.zeros(1) + i for i in range(10))
    batches = [(starts, [index for index, _ in batch]) for starts, batch in shot_batches(frames, {3, 8}, 4)]
    assert batches == [(True, [0, 1, 2]), (True, [3, 4, 5, 6]), (False, [7]), (True, [8, 9])]


def test_rows_per_temporal_mode_and_hints_carried_through_each_shot(tmp_path, tiny_hint_checkpoint, clips):
    """temporal=[none,flow] gives a row per mode; hints on each shot's first frame give rows per count beside
    inverse-distance weighting of the hints where the pipeline tracked them, which knows the true colours there."""
    clip = tmp_path / "halves.mkv"
    write_halves(clip, 8)
    overrides = [f"ckpt_path={tiny_hint_checkpoint}", "names=[hinted]", "data=video", f"data.root={clip}", "logger=none"]
    record = run(compose_config(tmp_path, *overrides, "temporal=[none,flow]", "hints=[0,3]", config_name="eval"))
    rows = {r["model"]: r for r in record["rows"]}
    assert list(rows) == [
        "grey (ab = 0)",
        "hinted, per frame, 0 hints",
        "hinted, per frame, 3 hints",
        "hinted, flow, 0 hints",
        "hinted, flow, 3 hints",
        "idw (tracked hints), 3 hints",
        "truth (the colour video)",
    ]
    assert rows["idw (tracked hints), 3 hints"]["de2000"] < rows["grey (ab = 0)"]["de2000"]
    assert all(math.isfinite(rows[name]["ewarp_dis"]) for name in rows)
