#!/usr/bin/env bash
# GPU benchmark set, one call on a lent GPU machine: `bash experiments/benchmarks/gpu.sh OUT_DIR [GROUP...]`
# Each figure is one `colorgan-bench` run writing OUT_DIR/<name>.json; a run that fails (e.g. out of
# memory) leaves OUT_DIR/<name>.err and the set goes on. Groups: pix2pix egan deoldify compile infer.
set -u
out=${1:?usage: gpu.sh OUT_DIR [GROUP...]}
shift
groups=${*:-pix2pix egan deoldify infer}
mkdir -p "$out"
vgg="${TMPDIR:-/tmp}/colorgan_vgg16_bn_random.pth"  # perceptual-loss weights: speed does not depend on their values
[[ -f $vgg ]] || python3 -c "import torch, torchvision; torch.save(torchvision.models.vgg16_bn().state_dict(), '$vgg')"

bench() {  # bench NAME colorgan-bench-arguments...
  local name=$1
  shift
  if python3 -m colorgan.cli.bench "$@" --out "$out/$name.json" >/dev/null 2>"$out/$name.err"; then
    rm -f "$out/$name.err"
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{sys.argv[2]:44s} {r.get('images_per_s', r.get('latency_s_median'))!s:>9} {r['peak_memory_mb']:>9} MB  mfu {r.get('model_flops_utilisation')}\")" "$out/$name.json" "$name"
  else
    echo "$name failed: $(grep -v '^\s*$' "$out/$name.err" | tail -n 1)"
  fi
}

gpu256="trainer=gpu data.image_size=256 data.batch_size=64"
for group in $groups; do
  case $group in
  pix2pix)
    bench pix2pix_256_b64_fp32 train --steps 20 --warmup 5 model=pix2pix $gpu256 trainer.precision=32-true
    bench pix2pix_256_b64_bf16 train --steps 20 --warmup 5 model=pix2pix $gpu256
    bench pix2pix_256_b64_bf16_cl train --steps 20 --warmup 5 model=pix2pix $gpu256 channels_last=true
    bench pix2pix_256_b64_bf16_cl_unfused train --steps 20 --warmup 5 model=pix2pix $gpu256 channels_last=true model.fused_optimizer=false
    bench pix2pix_256_b16_bf16_cl train --steps 20 --warmup 5 model=pix2pix trainer=gpu data.image_size=256 data.batch_size=16 channels_last=true
    bench pix2pix_256_b128_bf16_cl train --steps 20 --warmup 5 model=pix2pix trainer=gpu data.image_size=256 data.batch_size=128 channels_last=true
    ;;
  compile)
    bench pix2pix_256_b64_bf16_cl_compile train --steps 20 --warmup 5 model=pix2pix $gpu256 channels_last=true compile=true
    ;;
  egan)
    bench egan_256_b64_bf16_cl train --steps 10 --warmup 3 model=egan $gpu256 channels_last=true
    bench egan_256_b64_bf16_cl_recompute train --steps 10 --warmup 3 model=egan $gpu256 channels_last=true model.keep=recompute
    ;;
  deoldify)
    deo="model=deoldify model.perceptual_weights=$vgg channels_last=true trainer=gpu data.image_size=256"
    bench deoldify_small_generator_256_b64_bf16_cl train --steps 10 --warmup 3 $deo data.batch_size=64
    bench deoldify_small_gan_256_b64_bf16_cl train --steps 10 --warmup 3 $deo data.batch_size=64 model.stage=gan
    bench deoldify_seed_generator_256_b16_bf16_cl train --steps 10 --warmup 3 $deo data.batch_size=16 model.generator.preset=deoldify_seed
    bench deoldify_seed_generator_256_b32_bf16_cl train --steps 10 --warmup 3 $deo data.batch_size=32 model.generator.preset=deoldify_seed
    bench deoldify_seed_gan_256_b16_bf16_cl train --steps 10 --warmup 3 $deo data.batch_size=16 model.generator.preset=deoldify_seed model.stage=gan
    ;;
  infer)
    bench infer_gpu_pix2pix256_1024px infer --repeats 20 model=pix2pix data.image_size=256
    bench infer_gpu_deoldify_small_1024px infer --repeats 20 model=deoldify
    bench infer_gpu_deoldify_seed_1024px_rf35 infer --repeats 20 --render-factor 35 model=deoldify model.generator.preset=deoldify_seed
    ;;
  *) echo "unknown group $group" ;;
  esac
done
