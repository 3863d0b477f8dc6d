#!/usr/bin/env bash
# Renders the comparison's self-contained HTML report in headless Chromium (Debian's package)
# and saves a screenshot, to check that the page, its tables and its inline SVG charts render
# without fetching anything.
#
# Usage: scripts/screenshot-report.sh [REPORT_HTML] [OUT_PNG]
#   defaults: target/compare/report.html, target/compare/report.png; WINDOW=W,H sets the
#   page size (default 1280,4000: the top of the report)
# Installs chromium with apt-get when it is missing (as root or via sudo). The browser gets a
# private profile in a temp dir (removed on exit), no network (--disable-background-networking,
# and the page has no links to load), and at most 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."

html=${1:-target/compare/report.html}
png=${2:-target/compare/report.png}
[ -f "$html" ] || { echo "screenshot-report: no $html (run scripts/compare.sh first)" >&2; exit 1; }

if ! command -v chromium >/dev/null; then
  scripts/lib/ensure-tools.sh chromium
fi

profile=$(mktemp -d -t report-chromium.XXXXXX)
trap 'rm -rf "$profile"' EXIT
timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --user-data-dir="$profile" --hide-scrollbars --window-size="${WINDOW:-1280,4000}" \
  --screenshot="$(realpath -m "$png")" "file://$(realpath "$html")" 2>"$profile/stderr" || {
  echo "screenshot-report: chromium failed:" >&2
  tail -5 "$profile/stderr" >&2
  exit 1
}
[ -s "$png" ] || { echo "screenshot-report: no screenshot written" >&2; exit 1; }
echo "screenshot-report: $png"
