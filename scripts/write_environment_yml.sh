#!/usr/bin/env bash
# Regenerate environment.yml from requirements.txt (the source of truth). tests/test_environment.py checks they agree.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  sed -n '1,/^  - pip:$/p' environment.yml
  awk '/^# --- no-deps ---/{exit} /^[^#[:space:]]/{print "      - " $0}' requirements.txt
} > environment.yml.new
mv environment.yml.new environment.yml
