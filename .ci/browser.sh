#!/usr/bin/env bash
# CI: the real-browser end-to-end test (tests/browser.rs) in Debian's headless Chromium.
# Installs chromium + chromium-driver unless both are already there, then runs the ignored test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  echo "== chromium and chromedriver already installed"
else
  echo "== apt-get install chromium chromium-driver"
  SUDO=""
  if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
  # `env` so that the setting survives sudo, which drops the environment.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi
/usr/bin/chromium --version
/usr/bin/chromedriver --version

echo "== cargo test --test browser -- --ignored --nocapture"
cargo test --test browser -- --ignored --nocapture
