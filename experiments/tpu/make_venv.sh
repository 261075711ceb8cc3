#!/usr/bin/env bash
# Make the torch_xla virtualenv (default .venv-xla at the repository root): torch_xla pins its own torch, so it
# cannot share the project's .venv. Usage: experiments/tpu/make_venv.sh [VENV]
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${1:-.venv-xla}
TORCH_XLA=2.9.0 TORCH=2.9.0 TORCHVISION=0.24.0  # the pair torch_xla 2.9.0 was built against
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet "torch==$TORCH" "torchvision==$TORCHVISION" "torch_xla==$TORCH_XLA"
"$VENV/bin/pip" install --quiet -e . "torch==$TORCH" "torchvision==$TORCHVISION"
"$VENV/bin/python" -c "import torch, torch_xla; print('torch', torch.__version__, 'torch_xla', torch_xla.__version__)"
