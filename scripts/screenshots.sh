#!/usr/bin/env bash
# Retakes the screenshots of the fake Wristband's pages in docs/images/ (docs/fake-wristband.md):
# runs the ignored headless-Chromium test that signs in as two fake users, which saves a PNG of
# each page into $SCREENSHOTS_DIR. Needs Debian's `chromium` and `chromium-driver`.
#
#   scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export SCREENSHOTS_DIR="$PWD/docs/images"
mkdir -p "$SCREENSHOTS_DIR"
cargo test --all-features --test it -- --ignored --exact \
    fake_devtool::the_user_picker_signs_in_two_users_in_headless_chromium --nocapture
# Smaller files, when ImageMagick is there (8-bit palette; the pages are flat colours).
if convert -version 2>/dev/null | grep -q ImageMagick; then
    for png in "$SCREENSHOTS_DIR"/*.png; do
        convert "$png" -strip -colors 64 "PNG8:$png"
    done
fi
ls -l "$SCREENSHOTS_DIR"
