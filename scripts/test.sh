#!/usr/bin/env bash
# The README's test command: every test of the crate, on a fresh machine.
#
#   bash scripts/test.sh
#
# 1. Installs what the tests need and cannot build themselves: Debian's chromium and
#    chromium-driver for the real-browser tests, and redis-server for the revocation tests
#    (`--all-features`; each test starts its own server on a free port) — skipped when
#    already there.
# 2. Every feature combination the crate ships, each tested (not only built):
#    - `cargo test`: without optional features (sessions only);
#    - `cargo test --features auth`: sign-in without the fake (the stand-in Wristband of
#      tests/support/standin.rs, configuration, JWT, ID-token checks);
#    - `cargo test --features redis`: revocation without `auth`, against real redis-server
#      processes the tests start and stop themselves;
#    - `cargo test --all-features`: everything again with `auth`, `fake-wristband` (the fake
#      Wristband most flow tests and the `wristband_app` example run against) and `redis`.
# 3. The real-browser tests in headless Chromium, which `cargo test` leaves out (#[ignore]),
#    run beside the `--all-features` tests: a missing browser fails them, it never skips them.
#
# The integration tests are modules of one test crate, `tests/it/` (one executable per feature
# combination); only the files that need a process of their own (environment variables, a
# capturing logger installed before any Rocket, a once-per-process log line) stay separate in
# `tests/*.rs`. One integration module alone: `cargo test --all-features --test it fleet_refresh::`.
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

# Most integration tests wait on real servers and timers (a slow fake Wristband, a Redis
# failover, a refresh lock's expiry) rather than compute: with the `it` executable at 8 threads
# instead of one per core, its 322 tests ran in 37.6 s instead of 123 s on the 2-core dev machine,
# using 31 s of CPU either way. A developer's own RUST_TEST_THREADS is kept.
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-8}

# With TEST_SH_PRUNE=1 (set by .ci/run), the test executables of a feature combination are
# deleted once it has passed, so that four combinations never sit on the disk at once; a
# developer's repeated runs keep them and relink nothing.
prune() {
  if [[ "${TEST_SH_PRUNE:-0}" == 1 ]]; then
    find target/debug/deps -maxdepth 1 -type f -executable ! -name '*.so' -delete
    rm -rf target/debug/incremental
    df -h . | tail -1
  fi
}

echo "== cargo test (no optional features)"
cargo test
prune

echo "== cargo test --features auth"
cargo test --features auth
prune

echo "== cargo test --features redis"
cargo test --features redis
prune

# The real-browser tests run beside the rest of the --all-features tests (the same build; both
# mostly wait on servers and browsers), their output kept apart and shown after.
echo "== cargo test --all-features, and beside it the real-browser tests (headless Chromium)"
cargo test --all-features --no-run
browser_log=$(mktemp)
cargo test --all-features --test it -- --ignored --nocapture \
  browser:: browser_wristband:: fake_pages:: fake_devtool::the_user_picker >"$browser_log" 2>&1 &
browser=$!
status=0
cargo test --all-features || status=$?
browser_status=0
wait "$browser" || browser_status=$?
echo "== real-browser tests (headless Chromium): their output"
cat "$browser_log"
rm -f "$browser_log"
if [[ $status != 0 || $browser_status != 0 ]]; then
  echo "cargo test --all-features exited $status, the real-browser tests $browser_status" >&2
  exit 1
fi
