#!/usr/bin/env bash
# trainer=tpu rehearsed on torch_xla's XLA CPU device (PJRT_DEVICE=CPU): pix2pix and E-GAN, tiny networks, a few
# batches each, in the torch_xla virtualenv (made by make_venv.sh when missing). Prints, per model, the compilations,
# host syncs and seconds of each batch (torch_xla's metrics, from colorgan.xla.XLAMetrics).
# Usage: experiments/tpu/rehearse.sh [OUT]   (default OUT: outputs/tpu_rehearsal)
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${XLA_VENV:-.venv-xla}
OUT=${1:-outputs/tpu_rehearsal}
[ -x "$VENV/bin/colorgan-train" ] || experiments/tpu/make_venv.sh "$VENV"
mkdir -p "$OUT"
export XLA_FLAGS=${XLA_FLAGS:---xla_backend_optimization_level=0}  # a lighter XLA CPU compile: this checks behaviour, not speed
export PJRT_DEVICE=CPU PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's colorgan, whichever made the venv
for model in pix2pix egan; do
  SECONDS=0
  "$VENV/bin/colorgan-train" trainer=tpu model=$model data=synthetic data.batch_size=4 max_batches=${BATCHES:-4} \
    model.generator.ngf=8 model.discriminator.ndf=8 logger=none +trainer.num_sanity_val_steps=0 +trainer.enable_progress_bar=false "~callbacks.sample_grid" \
    "hydra.run.dir=$OUT/$model" +callbacks.xla_metrics._target_=colorgan.xla.XLAMetrics "+callbacks.xla_metrics.path=$OUT/$model/xla.json" \
    >"$OUT/$model.log" 2>&1 || { tail -n 30 "$OUT/$model.log"; exit 1; }
  echo "$model: ${SECONDS}s, per batch: $("$VENV/bin/python" -c "import json, sys; print(json.load(open(sys.argv[1]))['batches'])" "$OUT/$model/xla.json")"
done
