#!/usr/bin/env bash
# GPU check of the embedding engine, for a machine with an NVIDIA GPU (not run on the CPU-only dev machines).
# Prints, for each GPU execution provider, which provider actually ran (or why it fell back) and images/s,
# with the CPU measured in the same run as the baseline.
#
#   bench/gpu-check.sh [MODEL] [IMAGES_DIR]
#
# MODEL: a manifest .json or a CLIP/SigLIP ONNX export folder (default: the bundled MobileNetV2 int8, whose
# quantized operators mostly stay on the CPU under GPU providers: a float model is the fairer GPU test).
# IMAGES_DIR: JPEGs to embed (default /work/shared/data/coco-tiny, else examples/sample/images).
#
# The CUDA provider needs libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so beside
# onnxruntime-node's binding (the package downloads them at install time, which .npmrc skips), plus CUDA 12
# and cuDNN 9 on the library path. With network: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node.
# Without: copy them from the Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30 NuGet package (runtimes/linux-x64/native)
# into node_modules/onnxruntime-node/bin/napi-v6/linux/x64/. WebGPU needs the Vulkan loader (libvulkan.so.1).
set -uo pipefail
cd "$(dirname "$0")/.."
MODEL="${1:-}"
IMAGES="${2:-/work/shared/data/coco-tiny}"
[ -d "$IMAGES" ] || IMAGES=examples/sample/images

echo "== machine"
node --version
nproc
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not found"
BIN=$(ls -d node_modules/onnxruntime-node/bin/napi-v*/linux/x64 2>/dev/null | head -1)
for lib in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
  if [ -e "$BIN/$lib" ]; then echo "$lib: present"; else echo "$lib: MISSING (see the header of this script)"; fi
done
if ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then echo "libvulkan.so.1: present"; else echo "libvulkan.so.1: missing (WebGPU will fall back)"; fi
ldconfig -p 2>/dev/null | grep -E 'libcudart.so.12|libcudnn.so.9' | head -3

echo "== build"
npm run build >/dev/null && npx esbuild bench/embed.ts --bundle --platform=node --packages=external \
  --outfile=dist/bench/embed.js --log-level=warning || exit 1

MODEL_ARGS=()
[ -n "$MODEL" ] && MODEL_ARGS=(--model "$MODEL")
for providers in cuda webgpu cpu; do
  echo "== providers: $providers (fallback reasons, if any, are printed as notices)"
  # One run each: the lines say which provider ran and images/s (model alone, decode alone, end to end).
  node dist/bench/embed.js --providers "$providers" --runs 1 --repeat 2 --batch 32 --images "$IMAGES" "${MODEL_ARGS[@]}" 2>&1 \
    | grep -E '^(run|notice|end-to-end|\| )' || echo "failed with providers $providers"
done
