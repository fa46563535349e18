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
# `tests/*.rs`. Each combination is built first, then its test executables run side by side:
# `tests/it`, the unit tests with the standalone files, and the doctests (the output of `it`
# comes after the others'). One integration module alone:
# `cargo test --all-features --test it fleet_refresh::`.
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
# failover, a refresh lock's expiry) rather than compute. On the 2-core dev machine, the
# `--all-features` `it` executable (325 tests, 307 s of test time in all, the longest 20.6 s)
# ran in 40.0 s with 8 threads, 27.8 s with 16 and 24.0 s with 24
# (`RUST_TEST_THREADS=N cargo test --all-features --test it`); with one thread per core an
# earlier version of it took 123 s. A developer's own RUST_TEST_THREADS is kept.
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-16}

# With TEST_SH_PRUNE=1 (set by .ci/run), the test executables of a feature combination are
# deleted once it has passed, so that four combinations never sit on the disk at once (the last
# one's stay, for .ci/run's bench run); a developer's repeated runs keep them and relink nothing.
prune() {
  if [[ "${TEST_SH_PRUNE:-0}" == 1 ]]; then
    find target/debug/deps -maxdepth 1 -type f -executable ! -name '*.so' -delete
    rm -rf target/debug/incremental
    df -h . | tail -1
  fi
}

# With TEST_SH_CLIPPY=1 (set by .ci/run, with clippy-driver as cargo's RUSTC_WORKSPACE_WRAPPER
# and `-D warnings` in CLIPPY_ARGS), the builds below are also the lint: every target of this
# crate (library, unit tests, integration tests, examples, benches) is compiled by clippy-driver,
# which lints and then generates code, so one build per feature combination serves both (`cargo
# clippy` would type-check the whole dependency tree a second time, without code). Dependencies
# are compiled by rustc as usual, and the `fake-wristband` combination, which has no test run of
# its own, is built and linted too.
targets=()
if [[ "${TEST_SH_CLIPPY:-0}" == 1 ]]; then
  if [[ "${RUSTC_WORKSPACE_WRAPPER:-}" != */clippy-driver || -z "${CLIPPY_ARGS:-}" ]]; then
    echo "TEST_SH_CLIPPY=1 needs RUSTC_WORKSPACE_WRAPPER=…/clippy-driver and CLIPPY_ARGS (.ci/run sets them)" >&2
    exit 2
  fi
  "$RUSTC_WORKSPACE_WRAPPER" --version
  targets=(--all-targets)
fi

# The integration tests outside tests/it (each a process of its own).
standalone=()
for file in tests/*.rs; do
  standalone+=(--test "$(basename "$file" .rs)")
done

# One feature combination: everything built first, then three runs side by side (their tests
# mostly wait on servers and timers): the `tests/it` executable, the library's unit tests with
# the standalone integration tests, and the doctests; `it`'s output is shown after the others.
# Extra arguments after `--` start one more run beside them, in the same way.
combination() {
  local features=() extra=()
  while [[ $# -gt 0 && $1 != -- ]]; do features+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift && extra=("$@")
  echo "== cargo test ${features[*]}"
  cargo test "${features[@]}" "${targets[@]}" --no-run
  local it_log extra_log it extra_pid=""
  it_log=$(mktemp)
  cargo test "${features[@]}" --test it >"$it_log" 2>&1 &
  it=$!
  if [[ ${#extra[@]} -gt 0 ]]; then
    extra_log=$(mktemp)
    cargo test "${features[@]}" "${extra[@]}" >"$extra_log" 2>&1 &
    extra_pid=$!
  fi
  local status=0 it_status=0 extra_status=0
  cargo test "${features[@]}" --lib "${standalone[@]}" || status=$?
  cargo test "${features[@]}" --doc || status=$?
  wait "$it" || it_status=$?
  echo "== cargo test ${features[*]} --test it (ran beside the above): its output"
  cat "$it_log"
  rm -f "$it_log"
  if [[ -n $extra_pid ]]; then
    wait "$extra_pid" || extra_status=$?
    echo "== cargo test ${features[*]} ${extra[*]} (ran beside the above): its output"
    cat "$extra_log"
    rm -f "$extra_log"
  fi
  if [[ $status != 0 || $it_status != 0 || $extra_status != 0 ]]; then
    echo "cargo test ${features[*]}: the unit, standalone and doctests exited $status," \
      "tests/it $it_status, the run beside them $extra_status" >&2
    exit 1
  fi
}

combination # no optional features: sessions only
prune
combination --features auth # sign-in without the fake Wristband
prune
combination --features redis # revocation without auth
prune
if [[ "${TEST_SH_CLIPPY:-0}" == 1 ]]; then
  echo "== cargo test --features fake-wristband ${targets[*]} --no-run (built and linted)"
  cargo test --features fake-wristband "${targets[@]}" --no-run
  prune
fi
# Everything, and beside it the real-browser tests in headless Chromium (the same build).
combination --all-features -- --test it -- --ignored --nocapture \
  browser:: browser_wristband:: fake_pages:: fake_devtool::the_user_picker
