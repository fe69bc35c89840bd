#!/usr/bin/env bash
# ML Casebook: the one entry point.
#   ./run_all.sh [--profile smoke|default|full] [--data DIR] [--keep-going] [-p NAME=VALUE] [--resume] [--from NN] [NN ...]
#                    run notebooks → reports/ (-p overrides a parameter; --resume reruns only what changed or failed)
#   ./run_all.sh test [pytest args]                                                  run the test suite
# Both create .venv when missing and re-install when requirements.txt changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; }
die2() { echo "run_all.sh: error: $*" >&2; echo "usage:" >&2; usage >&2; exit 2; }

if [ "${1:-}" = "test" ]; then
  shift
  scripts/setup_env.sh
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
  exec "$ROOT/.venv/bin/python" -m pytest "$@"
fi

# Check the arguments before the (possibly long) set-up, so a typo fails at once.
profile="default"; args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --profile) [ $# -ge 2 ] || die2 "--profile needs a value"; profile="$2"; shift 2 ;;
    --profile=*) profile="${1#*=}"; shift ;;
    --data) [ $# -ge 2 ] || die2 "--data needs a directory"; [ -d "$2" ] || die2 "--data $2: no such directory"; shift 2 ;;
    --data=*) [ -d "${1#*=}" ] || die2 "--data ${1#*=}: no such directory"; shift ;;
    --keep-going|--resume) shift ;;
    --from) [ $# -ge 2 ] || die2 "--from needs a notebook number"; [[ "$2" =~ ^[0-9]{1,2}$ ]] || die2 "--from expects a notebook number like 05, got '$2'"; shift 2 ;;
    -p|--param) [ $# -ge 2 ] || die2 "$1 needs NAME=VALUE"; [[ "$2" == *=* ]] || die2 "$1 expects NAME=VALUE, got '$2'"; shift 2 ;;
    -*) die2 "unknown option $1" ;;
    *) [[ "$1" =~ ^[0-9]{1,2}$ ]] || die2 "notebook numbers look like 02, got '$1'"
       n=$(printf '%02d' "$((10#$1))"); compgen -G "notebooks/${n}_*.ipynb" >/dev/null || die2 "unknown notebook number $1 (see notebooks/)"
       shift ;;
  esac
done
# configs/reference.yaml holds the dashboard's goals and the time budgets: it is not a profile
{ [ -f "configs/$profile.yaml" ] && [ "$profile" != reference ]; } || die2 "unknown profile '$profile' (known: $(ls configs | grep -vx 'reference.yaml' | sed 's/\.yaml$//' | tr '\n' ' '))"

scripts/setup_env.sh
if [ "$profile" != "full" ]; then
  # smoke/default use only the offline models: a hub name must fail at once, not hang on the network.
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
fi
export PYTHONUNBUFFERED=1
exec "$ROOT/.venv/bin/python" -m lib.runner "${args[@]}"
