#!/usr/bin/env bash
# The held-out real photos every quality check here is judged on: a source that no training set of colorgan
# uses (Debian's mate-backgrounds "nature" photos and the photographs among plasma-workspace-wallpapers),
# resized to a long side of 512 px. Illustrations, paintings and near-monochrome pictures are left out.
# Usage: experiments/heldout/make_heldout.sh OUT_DIR   (needs apt-get; about 140 MB of downloads)
set -euo pipefail
out=${1:?usage: make_heldout.sh OUT_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq mate-backgrounds plasma-workspace-wallpapers && for f in *.deb; do dpkg -x "$f" x; done)
mkdir -p "$out"
mate="$work/x/usr/share/backgrounds/mate/nature"
plasma="$work/x/usr/share/wallpapers"
photos=("$mate"/{Blinds,Dune,FreshFlower,Garden,GreenMeadow,LadyBird,RainDrops,TwoWings,YellowFlower}.jpg)
for name in BytheWater ColorfulCups DarkestHour EveningGlow FallenLeaf Kite OneStandsOut Path summer_1am; do
  photos+=("$plasma/$name/contents/images/2560x1600.jpg")
done
python3 - "$out" "${photos[@]}" <<'PY'
import sys
from pathlib import Path
from PIL import Image
out = Path(sys.argv[1])
for src in map(Path, sys.argv[2:]):
    name = src.stem if src.stem != "2560x1600" else src.parents[2].name
    image = Image.open(src).convert("RGB")
    image.thumbnail((512, 512), Image.Resampling.LANCZOS)
    image.save(out / f"{name}.png")
    print(out / f"{name}.png", image.size)
PY
