#!/usr/bin/env bash
# Build the project wheel and upload what the cluster needs to S3:
#   s3://.../bootstrap.sh, requirements-emr.txt, dist/*.whl, notebooks/08_fruits_spark_pca.ipynb
# Optionally upload a local Fruits-360 folder (Training/, Test/) as the images.
#
#   upload.sh --s3 s3://BUCKET/casebook [--images DIR] [--dry-run]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$HERE/common.sh"

S3=""; IMAGES=""
while [ $# -gt 0 ]; do
  case "$1" in
    --s3) S3="${2:?}"; shift 2 ;;
    --images) IMAGES="${2:?}"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
[ -n "$S3" ] || die "--s3 s3://bucket/prefix is required"
s3_uri --s3 "$S3"
need_aws
run "$ROOT/.venv/bin/python" -m pip wheel --no-deps --wheel-dir "$ROOT/dist" "$ROOT"
run aws s3 cp "$HERE/bootstrap.sh" "$S3/bootstrap.sh"
run aws s3 cp "$HERE/requirements-emr.txt" "$S3/requirements-emr.txt"
run aws s3 cp "$ROOT/dist/" "$S3/dist/" --recursive --exclude "*" --include "ml_casebook-*.whl"
run aws s3 cp "$ROOT/notebooks/08_fruits_spark_pca.ipynb" "$S3/notebooks/08_fruits_spark_pca.ipynb"
if [ -n "$IMAGES" ]; then
  [ "$DRY_RUN" = "1" ] || [ -d "$IMAGES/Training" ] || die "--images $IMAGES has no Training/ folder"
  run aws s3 sync "$IMAGES" "$S3/fruits-360" --exclude "*" --include "*.jpg" --only-show-errors
fi
