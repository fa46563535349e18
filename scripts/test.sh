#!/usr/bin/env bash
# The README's test command: every test of the crate, on a fresh machine.
#
#   bash scripts/test.sh
#
# 1. Installs what the tests need and cannot build themselves: Debian's chromium and
#    chromium-driver for the real-browser tests, and redis-server for the revocation tests
#    (`--all-features`; each test starts its own server on a free port) — skipped when
#    already there.
# 2. `cargo test`: everything without optional features (sessions only).
# 3. `cargo test --all-features`: everything again with the `auth` feature (login, callback,
#    logout) and `fake-wristband` (the fake Wristband those tests and the `wristband_app`
#    example run against), and the `redis` feature (revocation against real redis-server
#    processes the tests start and stop themselves).
# 4. The real-browser tests in headless Chromium, which `cargo test` leaves out (#[ignore]):
#    a missing browser fails them, it never skips them.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver && -x /usr/bin/redis-server ]]; then
  echo "== chromium, chromedriver and redis-server already installed"
else
  echo "== apt-get install chromium chromium-driver redis-server"
  SUDO=""
  if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
  # `env` so that the setting survives sudo, which drops the environment.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver redis-server
fi
/usr/bin/chromium --version
/usr/bin/chromedriver --version
/usr/bin/redis-server --version

echo "== cargo test (no optional features)"
cargo test

echo "== cargo test --all-features"
cargo test --all-features

echo "== real-browser tests (headless Chromium)"
cargo test --all-features --test browser --test browser_wristband -- --ignored --nocapture
