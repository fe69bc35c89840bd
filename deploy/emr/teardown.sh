#!/usr/bin/env bash
# Terminate the cluster (billing stops) and, with --purge, delete the run outputs and logs from S3.
# The images, notebooks and Parquet results are kept unless --purge-all.
#
#   teardown.sh --cluster-id j-XXXX [--s3 s3://BUCKET/casebook --purge|--purge-all] [--region eu-west-3] [--dry-run]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"

CLUSTER=""; S3=""; PURGE=0; REGION="${AWS_REGION:-eu-west-3}"
while [ $# -gt 0 ]; do
  case "$1" in
    --cluster-id) CLUSTER="${2:?}"; shift 2 ;;
    --s3) S3="${2:?}"; shift 2 ;;
    --purge) PURGE=1; shift ;;
    --purge-all) PURGE=2; shift ;;
    --region) REGION="${2:?}"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ "$CLUSTER" =~ ^j-[A-Z0-9]+$ ]] || die "--cluster-id j-XXXX is required"
[ "$PURGE" = "0" ] || { [ -n "$S3" ] || die "--purge needs --s3"; s3_uri --s3 "$S3"; }
need_aws
run aws emr terminate-clusters --region "$REGION" --cluster-ids "$CLUSTER"
run aws emr wait cluster-terminated --region "$REGION" --cluster-id "$CLUSTER"
if [ "$PURGE" = "1" ]; then
  run aws s3 rm "$S3/logs/" --recursive
  run aws s3 rm "$S3/runs/" --recursive
elif [ "$PURGE" = "2" ]; then
  run aws s3 rm "$S3/" --recursive
fi
