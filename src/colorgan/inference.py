"""Colourise photos of any size and format with a trained checkpoint of any colorgan model.

The model runs at a render size (DeOldify's render factor: the long side is 16 x render_factor,
aspect ratio kept, padded to what the network needs); its ab is upsampled onto the photo's own
full-resolution L, so the output has the input's size and lightness. Models trained with hints also
take user hints (colorgan.hints.Hint: a point in the photo's pixels and a colour).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from colorgan.checkpoint import load_model
from colorgan.color import fit_to_gamut, model_to_rgb_in_gamut
from colorgan.errors import UserError
from colorgan.hints import Hint, rasterize
from colorgan.images import ImageSource, load_luminance, to_pil
from colorgan.models.base import ColorizationModule


def pick_device(device: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; anything else is passed to torch.device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def suppress_fixed_pattern(ab: torch.Tensor) -> torch.Tensor:
    """ab (B, 2, h, w) at the render size, smoothed by the separable kernel [1, 2, 2, 2, 2, 2, 2, 2, 1] / 16 (a box of 8
    pixels and a box of 2; edges replicated).

    Its response is zero at every multiple of 1/8 cycle per pixel, so it removes any pattern that repeats every 8 render
    pixels: the pix2pix U-Net's transposed convolutions leave such a fixed grid in the colours (their checkerboard,
    Odena et al. 2016; the three outer decoder levels run at the render size and leave periods of 2, 4 and 8 render
    pixels at every render factor; on a flat grey picture the grid is all there is). A still pattern shows as a
    screen door on moving film (issue 21.9). Chroma with a period of 16 render pixels keeps 63 % of its amplitude,
    32 pixels 90 %: ab is upsampled onto the photo's own L afterwards, and chroma is seen at low resolution.
    """
    kernel = ab.new_tensor([1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0]) / 16
    channels, r = ab.shape[1], len(kernel) // 2
    ab = F.conv2d(F.pad(ab, (r, r, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(F.pad(ab, (0, 0, r, r), mode="replicate"), kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


@functools.lru_cache(maxsize=4)
def _luminance_of_bytes(data: bytes) -> torch.Tensor:
    return load_luminance(data)


class Colorizer:
    """`Colorizer.from_checkpoint(path).colorize(image)` -> a colour PIL image of the input's size."""

    def __init__(self, model: ColorizationModule, default_render_factor: int | None = None):
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.contract = model.contract
        self.size_multiple = self.contract.size_multiple
        self.default_render_factor = default_render_factor or max(1, round(self.contract.image_size / 16))
        self._model_lock = threading.Lock()  # one batch through the network at a time, from any thread (a server's photos and films)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "auto", default_render_factor: int | None = None) -> Colorizer:
        """Load a colorgan checkpoint or export folder; `device` is 'auto', 'cpu', 'cuda', 'cuda:1', ..."""
        return cls(load_model(path, pick_device(device)), default_render_factor)

    @classmethod
    def from_pretrained(cls, name: str | Path, device: str = "auto", default_render_factor: int | None = None) -> Colorizer:
        """Load a colouriser shared on the Hugging Face Hub: "owner/name", "owner/name@revision" or "hf://..."
        (fetched into the hub cache, safetensors and JSON only; see colorgan.hub); an existing local path (checkpoint
        or export folder) is loaded as it is."""
        from colorgan.hub import PREFIX, is_reference

        local = is_reference(name) or Path(name).exists()
        return cls.from_checkpoint(name if local else PREFIX + str(name), device, default_render_factor)

    def check_hints(self, hints: Collection) -> None:
        """The one-line UserError for hints (of a photo, or by photo, file or frame) given to a model trained without them."""
        if hints and not self.contract.hints:
            raise UserError("this model was trained without hints: colourise without hints, or train one that takes them (colorgan-train experiment=hints)")

    def render_shape(self, height: int, width: int, render_factor: int | None) -> tuple[int, int]:
        """(h, w) the model sees: long side 16 x render_factor, aspect ratio kept."""
        factor = render_factor or self.default_render_factor
        if factor < 1:
            raise UserError(f"render factor must be at least 1, not {factor}")
        scale = 16 * factor / max(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))

    def _model_input(
        self, L: torch.Tensor, render_factor: int | None, hints: Sequence[Hint] | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, tuple[int, int]]:
        """L (1, 1, H, W) resized to the render shape and padded to the network's size multiple, the hint
        map at that size (padding carries no hints), and the unpadded render shape."""
        h, w = self.render_shape(*L.shape[-2:], render_factor)
        small = F.interpolate(L, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
        m = self.size_multiple
        pad_h, pad_w = math.ceil(h / m) * m - h, math.ceil(w / m) * m - w
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        hint_map = F.pad(rasterize(hints or [], tuple(L.shape[-2:]), (h, w)), (0, pad_w, 0, pad_h)) if self.contract.hints else None
        return F.pad(small, (0, pad_w, 0, pad_h), mode=mode), hint_map, (h, w)

    @torch.no_grad()
    def predict_ab(
        self,
        Ls: list[torch.Tensor],
        render_factor: int | None = None,
        batch_size: int = 8,
        hints: Sequence[Sequence[Hint] | None] | None = None,
        at_render_size: bool = False,
    ) -> list[torch.Tensor]:
        """Normalised ab (1, 2, H, W) for each full-resolution normalised L (1, 1, H, W), with each image's hints
        (or at the render size, (1, 2, h, w), with `at_render_size`).

        Images whose padded render shapes agree go through the network together, `batch_size` at a time.
        """
        hints = list(hints) if hints is not None else [None] * len(Ls)
        self.check_hints([image_hints for image_hints in hints if image_hints])
        inputs = [self._model_input(L, render_factor, image_hints) for L, image_hints in zip(Ls, hints)]
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, (x, _, _) in enumerate(inputs):
            by_shape.setdefault(tuple(x.shape), []).append(i)
        out: list[torch.Tensor] = [None] * len(Ls)  # type: ignore[list-item]
        for indices in by_shape.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                L = torch.cat([inputs[i][0] for i in chunk]).to(self.device)
                hint_map = torch.cat([inputs[i][1] for i in chunk]).to(self.device) if self.contract.hints else None
                with self._model_lock:
                    ab = suppress_fixed_pattern(self.model(L, hint_map).float())
                ab = fit_to_gamut(L, ab).float().cpu()  # most chroma fitting done here, at the small size
                for row, i in enumerate(chunk):
                    h, w = inputs[i][2]
                    out[i] = (
                        ab[row : row + 1, :, :h, :w]
                        if at_render_size
                        else F.interpolate(ab[row : row + 1, :, :h, :w], size=Ls[i].shape[-2:], mode="bilinear", align_corners=False)
                    )
        return out

    @staticmethod
    def luminance(image: ImageSource) -> torch.Tensor:
        """The image's normalised L (1, 1, H, W); encoded bytes are remembered, so that re-colouring the same
        upload with other hints (the web page) skips decoding."""
        if isinstance(image, bytes):
            return _luminance_of_bytes(image)
        return load_luminance(image)

    def colorize_batch(
        self, images: Iterable[ImageSource], render_factor: int | None = None, batch_size: int = 8, hints: Sequence[Sequence[Hint] | None] | None = None
    ) -> list[Image.Image]:
        """Colourise several images (any sizes), each with its own hints (or None); outputs keep their input's size and lightness."""
        Ls = [self.luminance(image) for image in images]
        results = []
        for L, ab in zip(Ls, self.predict_ab(Ls, render_factor, batch_size, hints)):
            rgb = model_to_rgb_in_gamut(L, ab)[0]  # exact at full resolution: only pixels where L differs are left to fit
            results.append(to_pil(rgb))
        return results

    def colorize(self, image: ImageSource, render_factor: int | None = None, hints: Sequence[Hint] | None = None) -> Image.Image:
        """Colourise one image (any format colorgan.images reads), optionally with hints; returns an RGB PIL image."""
        return self.colorize_batch([image], render_factor, hints=[hints])[0]

    def colorize_video(self, src: str | Path, dst: str | Path, progress: bool = True, **options) -> dict:
        """Colour a video file into `dst` (mp4, mkv, mov, avi, webm), keeping its frames' timing, rotation and
        audio; `options` are colorgan.video.VideoOptions fields (temporal="flow", hints={frame: [Hint]}, ...).
        Resumes an interrupted job; returns a summary (frames, shots, damaged frames)."""
        from colorgan.video import VideoOptions, colorize_video

        return colorize_video(self, src, dst, VideoOptions(**options), progress=progress)
