#!/usr/bin/env bash
# System packages tenderx's rendering and tests need, installed from Debian's archive when missing.
#   fonts-wqy-zenhei  a CJK font: samples/render.py embeds it, and pdfium needs a system CJK font to
#                     draw non-embedded CJK fonts (e.g. reportlab's STSong-Light) instead of blank glyphs.
# Usage: scripts/install-system-deps.sh [run|test]   ("test" adds what only the test suite needs)
set -euo pipefail
want=(fonts-wqy-zenhei)
if [ "${1:-run}" = "test" ]; then
  want+=(chromium)  # the desk's browser tests (tests/test_desk_browser.py) drive it with Playwright
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "tenderx needs these Debian packages: ${missing[*]} (install them as root: apt-get install -y ${missing[*]})" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q "${missing[@]}" >/dev/null; }
