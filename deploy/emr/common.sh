#!/usr/bin/env bash
# Shared helpers of the EMR scripts: argument defaults, dry-run aware command runner.
# Sourced, not executed. Every aws call goes through `run`, so `--dry-run` prints exactly what would run.
set -euo pipefail

DRY_RUN="${DRY_RUN:-0}"

# run CMD...: print the command (shell-quoted); execute it unless DRY_RUN=1.
run() {
  local quoted
  quoted=$(printf '%q ' "$@")
  if [ "$DRY_RUN" = "1" ]; then
    echo "[dry-run] ${quoted% }"
  else
    echo "+ ${quoted% }" >&2
    "$@"
  fi
}

die() { echo "$(basename "$0"): error: $*" >&2; exit 2; }

need_aws() {
  [ "$DRY_RUN" = "1" ] && return 0
  command -v aws >/dev/null 2>&1 || die "the aws CLI (v2) is required: https://docs.aws.amazon.com/cli/ (or use --dry-run)"
}

# s3_uri NAME VALUE: check that VALUE looks like s3://bucket[/prefix].
s3_uri() {
  [[ "$2" =~ ^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$ ]] || die "$1 must be an s3://bucket/prefix URI, got '$2'"
}
