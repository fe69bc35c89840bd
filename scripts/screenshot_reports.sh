#!/usr/bin/env bash
# Look at what readers see: render reports/index.html and some reports in headless Chromium, keep PNGs.
#   scripts/screenshot_reports.sh [OUT_DIR] [NN_name ... | --index-only]   (default: docs/, 03_emails_transformers)
# Needs Debian's chromium (installed here when run as root; otherwise: apt-get install chromium).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/docs}"; shift || true
REPORTS=("${@:-03_emails_transformers}")
[ "${REPORTS[*]}" = "--index-only" ] && REPORTS=()
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = "0" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
  else
    echo "screenshot_reports.sh: chromium is not installed: run 'sudo apt-get install chromium'" >&2; exit 2
  fi
fi
[ -f "$ROOT/reports/index.html" ] || { echo "no reports/index.html: run ./run_all.sh first" >&2; exit 2; }
mkdir -p "$OUT"
profile="$(mktemp -d)"; trap 'rm -rf "$profile"' EXIT
shot() {  # URL PNG WIDTH HEIGHT — the flags keep Chromium off the (closed) network
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile" \
    --window-size="$3,$4" --screenshot="$2" "$1" 2>/dev/null
  echo "$2"
}
shot "file://$ROOT/reports/index.html" "$OUT/screenshot_index.png" 1400 2200  # the dashboard's first screens
for name in "${REPORTS[@]}"; do
  shot "file://$ROOT/reports/$name.html" "$OUT/screenshot_$name.png" 1280 2400
done
