#!/usr/bin/env bash
# The first real run, at full scale, as a user types it on a machine with one GPU: Places365's test set (the original
# project's data) -> shards -> pix2pix with the real-run defaults -> evaluation -> export -> colourising -> serving.
# tests/test_rehearsal.py runs the same sequence on a 400-photo stand-in on the CPU (trainer=cpu_bf16: bf16-mixed
# autocast, channels_last) in every CI run.
#
#   bash experiments/rehearsal/run.sh DATA_DIR [OUT_DIR]
#
# Expected time and disk per stage. Disk sizes follow from the data and the models; the times are ESTIMATES, not yet
# measured on a GPU (none was lent to the sessions that wrote this): prep from this machine's CPU figures, training
# from pix2pix's ~90 GFLOP per 256x256 image step (REFERENCE.md) at an assumed 10-15 % of an H100's bf16 peak.
#   1. download test_256.tar         4.4 GB download, 4.5 GB unpacked   minutes (network)
#   2. data_prep/places365.py        ~4.5 GB of shards (66 x 5,000)    ~30 min on 8 cores
#   3. colorgan-train (100 x 2,000 batches of 16 = 3.2 M photos)       ~1.5-3 h on one H100; 1.4 GB checkpoints
#   4. colorgan-eval, both protocols (the test split: ~6,500 photos)   ~5 min each; FID needs Inception weights (fetched)
#   5. colorgan-export                                                 <1 min; 220 MB safetensors + 220 MB ONNX
#   6. colorgan-colorize, 7. colorgan-serve                            ~0.1 s per photo on the GPU
set -euo pipefail
data=${1:?usage: run.sh DATA_DIR [OUT_DIR]}
out=${2:-outputs/rehearsal}
mkdir -p "$data" "$out"

# 1. Places365-Standard test images, 256x256 (328,500 JPEGs; the original project filtered ~8k of them away)
if [[ ! -d $data/test_256 ]]; then
  curl -fL -o "$data/test_256.tar" http://data.csail.mit.edu/places/places365/test_256.tar
  tar -xf "$data/test_256.tar" -C "$data" && rm "$data/test_256.tar"
fi

# 2. shards: filtered (near-grey, one-hue, tiny, broken, duplicates), split 96/2/2 by content hash, 5,000 per shard
[[ -f $data/places365_shards/manifest.json ]] || python data_prep/places365.py --src "$data/test_256" --out "$data/places365_shards"

# 3. train with the real-run defaults: 100 epochs of 2,000 batches of 16 at 256 px, bf16-mixed; validation on 800
#    photos after every epoch; last.ckpt, the best checkpoint and a sample grid each time. Re-running the same
#    command resumes from the newest complete checkpoint in the same folder.
colorgan-train data=shards data.root="$data/places365_shards" trainer=gpu channels_last=true hydra.run.dir="$out/train"
ckpt=$out/train/checkpoints/last.ckpt

# 4. the whole test split, scored as users get it (photo) and as papers do (fixed 256x256 crops)
for protocol in photo fixed; do
  colorgan-eval ckpt_path="$ckpt" data=shards data.root="$data/places365_shards" split=test protocol=$protocol hydra.run.dir="$out/eval_$protocol"
done

# 5-7. share, colourise, serve
colorgan-export "$ckpt" -o "$out/export"
colorgan-colorize "$out/export" "$data/test_256/Places365_test_00000001.jpg" -o "$out/coloured" --compare
colorgan-serve "$out/export" --port 8000
