"""Write N random square crops (300x300 JPEG) of the colour photos bundled with scikit-image.

Input for `colorgan-prep` when a benchmark needs a realistic set of 256x256 photo shards offline:

    python experiments/benchmarks/make_photo_crops.py /tmp/photo_crops 2000
    colorgan-prep /tmp/photo_crops --out /tmp/photo_shards --size 256
"""

import sys
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "ihc.png", "retina.jpg"]


def main(out: str, count: str) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(skimage.data.__file__).parent
    photos = [Image.open(source / name).convert("RGB") for name in PHOTOS]
    rng = np.random.default_rng(0)
    for i in range(int(count)):
        photo = photos[i % len(photos)]
        w, h = photo.size
        side = int(rng.integers(256, min(w, h) + 1))
        x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        photo.crop((x, y, x + side, y + side)).resize((300, 300)).save(folder / f"{i:05d}.jpg", quality=95)


if __name__ == "__main__":
    main(*sys.argv[1:])
