#!/usr/bin/env bash
# Create the EMR cluster of the original study: Spark + JupyterHub (+ Livy), 1 primary + 2 core m5.xlarge,
# the bootstrap action installing the project, notebooks persisted on S3, auto-termination when idle.
#
#   create_cluster.sh --s3 s3://BUCKET/casebook --key-pair NAME [--region eu-west-3]
#       [--primary-type m5.xlarge] [--core-type m5.xlarge] [--core-count 2] [--release emr-7.5.0]
#       [--name casebook-fruits] [--subnet subnet-...] [--idle-timeout 3600] [--dry-run]
# Prints the cluster id (j-XXXX); save it for run_notebook.sh and teardown.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"

S3=""; KEY=""; REGION="${AWS_REGION:-eu-west-3}"; PRIMARY_TYPE="m5.xlarge"; CORE_TYPE="m5.xlarge"; CORE_COUNT=2
RELEASE="emr-7.5.0"; NAME="casebook-fruits"; SUBNET=""; IDLE=3600
while [ $# -gt 0 ]; do
  case "$1" in
    --s3) S3="${2:?}"; shift 2 ;;
    --key-pair) KEY="${2:?}"; shift 2 ;;
    --region) REGION="${2:?}"; shift 2 ;;
    --primary-type) PRIMARY_TYPE="${2:?}"; shift 2 ;;
    --core-type) CORE_TYPE="${2:?}"; shift 2 ;;
    --core-count) CORE_COUNT="${2:?}"; shift 2 ;;
    --release) RELEASE="${2:?}"; shift 2 ;;
    --name) NAME="${2:?}"; shift 2 ;;
    --subnet) SUBNET="${2:?}"; shift 2 ;;
    --idle-timeout) IDLE="${2:?}"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
[ -n "$S3" ] || die "--s3 s3://bucket/prefix is required (run upload.sh first)"
s3_uri --s3 "$S3"
[ -n "$KEY" ] || die "--key-pair NAME is required (an EC2 key pair, to ssh to the primary node)"
[[ "$CORE_COUNT" =~ ^[0-9]+$ ]] || die "--core-count must be a number, got '$CORE_COUNT'"
[[ "$RELEASE" =~ ^emr-[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--release looks like emr-7.5.0, got '$RELEASE'"
need_aws

# Spark: Python 3.11 (installed by bootstrap.sh) on driver and executors, Arrow on, Python workers reused
# (the UDF keeps the broadcast model between tasks). JupyterHub: notebooks persisted under $S3/jupyter.
BUCKET="${S3#s3://}"; BUCKET="${BUCKET%%/*}"; PREFIX="${S3#s3://$BUCKET}"; PREFIX="${PREFIX#/}"
CONFIG=$(cat <<JSON
[
  {"Classification": "spark-env", "Configurations": [{"Classification": "export",
    "Properties": {"PYSPARK_PYTHON": "/usr/bin/python3.11", "PYSPARK_DRIVER_PYTHON": "/usr/bin/python3.11"}}]},
  {"Classification": "spark-defaults", "Properties": {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "256",
    "spark.python.worker.reuse": "true",
    "spark.executorEnv.OMP_NUM_THREADS": "1"}},
  {"Classification": "jupyter-s3-conf", "Properties": {
    "s3.persistence.enabled": "true", "s3.persistence.bucket": "$BUCKET"}}
]
JSON
)
CONFIG=$(printf '%s' "$CONFIG" | tr -d '\n' | tr -s ' ')  # one line: readable in logs, copy-pasteable
EC2_ATTRS="KeyName=$KEY"
[ -n "$SUBNET" ] && EC2_ATTRS="$EC2_ATTRS,SubnetId=$SUBNET"

run aws emr create-cluster \
  --region "$REGION" \
  --name "$NAME" \
  --release-label "$RELEASE" \
  --applications Name=Hadoop Name=Spark Name=Livy Name=JupyterHub \
  --instance-groups "InstanceGroupType=MASTER,InstanceCount=1,InstanceType=$PRIMARY_TYPE" \
                    "InstanceGroupType=CORE,InstanceCount=$CORE_COUNT,InstanceType=$CORE_TYPE" \
  --use-default-roles \
  --ec2-attributes "$EC2_ATTRS" \
  --bootstrap-actions "Path=$S3/bootstrap.sh,Name=casebook-deps,Args=[$S3]" \
  --configurations "$CONFIG" \
  --log-uri "$S3/logs/" \
  --auto-termination-policy "IdleTimeout=$IDLE" \
  --tags project=ml-casebook study=fruits-spark \
  --query ClusterId --output text
echo "# next: aws emr wait cluster-running --cluster-id j-XXXX --region $REGION; then run_notebook.sh" >&2
