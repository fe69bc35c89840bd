#!/usr/bin/env bash
# Run notebook 08 on the cluster with papermill, as an EMR step on the primary node
# (command-runner.jar). The notebook is read from S3 and the executed copy written back to S3.
# It reuses the cluster's Spark (SPARK_MASTER=auto → yarn), reads the images from S3 and writes Parquet to S3.
#
#   run_notebook.sh --cluster-id j-XXXX --s3 s3://BUCKET/casebook [--images s3://.../fruits-360]
#       [--region eu-west-3] [--profile default] [--partitions 16] [--input-size 224] [--wait] [--dry-run]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"

CLUSTER=""; S3=""; IMAGES=""; REGION="${AWS_REGION:-eu-west-3}"; PARTITIONS=16; INPUT_SIZE=224; WAIT=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cluster-id) CLUSTER="${2:?}"; shift 2 ;;
    --s3) S3="${2:?}"; shift 2 ;;
    --images) IMAGES="${2:?}"; shift 2 ;;
    --region) REGION="${2:?}"; shift 2 ;;
    --partitions) PARTITIONS="${2:?}"; shift 2 ;;
    --input-size) INPUT_SIZE="${2:?}"; shift 2 ;;
    --wait) WAIT=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ "$CLUSTER" =~ ^j-[A-Z0-9]+$ ]] || die "--cluster-id j-XXXX is required (printed by create_cluster.sh)"
[ -n "$S3" ] || die "--s3 s3://bucket/prefix is required"
s3_uri --s3 "$S3"
IMAGES="${IMAGES:-$S3/fruits-360}"
s3_uri --images "$IMAGES"
need_aws

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$S3/runs/$STAMP"
# EMR's pyspark lives in /usr/lib/spark/python (not pip-installed): put it on PYTHONPATH for the kernel.
# papermill reads and writes s3:// itself (boto3); -p sets the notebook's parameters.
PM="export SPARK_HOME=/usr/lib/spark; export PYTHONPATH=\$SPARK_HOME/python:\$(ls \$SPARK_HOME/python/lib/py4j-*.zip);"
PM="$PM /usr/local/bin/papermill $S3/notebooks/08_fruits_spark_pca.ipynb $OUT/08_fruits_spark_pca.ipynb -k python3"
PM="$PM -p PROFILE full -p SPARK_MASTER yarn -p IMAGES_URI $IMAGES -p OUTPUT_URI $OUT/features.parquet"
PM="$PM -p N_PARTITIONS $PARTITIONS -p SHUFFLE_PARTITIONS $PARTITIONS -p INPUT_SIZE $INPUT_SIZE"
STEPS=$(printf '[{"Type": "CUSTOM_JAR", "Name": "casebook-08-papermill", "ActionOnFailure": "CONTINUE", "Jar": "command-runner.jar", "Args": ["bash", "-lc", "%s"]}]' "$PM")
if [ "$DRY_RUN" = "1" ]; then
  run aws emr add-steps --region "$REGION" --cluster-id "$CLUSTER" --steps "$STEPS" --query 'StepIds[0]' --output text
  STEP_ID="s-STEPID"
else
  STEP_ID=$(run aws emr add-steps --region "$REGION" --cluster-id "$CLUSTER" --steps "$STEPS" --query 'StepIds[0]' --output text)
  echo "step: $STEP_ID"
fi
if [ "$WAIT" = "1" ]; then
  run aws emr wait step-complete --region "$REGION" --cluster-id "$CLUSTER" --step-id "$STEP_ID"
fi
echo "# executed notebook: $OUT/08_fruits_spark_pca.ipynb ; Parquet: $OUT/features.parquet" >&2
