#!/usr/bin/env bash
# Both ends of every dependency range `Cargo.toml` declares, each in a scratch copy of the
# repository's tracked files (the checkout and its Cargo.lock are left as they are):
#
#   bash scripts/dependency-ends.sh newest    # `cargo update`, then the README's test command
#   bash scripts/dependency-ends.sh lowest    # direct dependencies at the lowest version their
#                                             # requirement allows; every feature combination checked
#
# `newest` resolves the newest semver-compatible version of every dependency, as a user's new
# project does the day it adds the crate (whatever `rust-version` each declares, as resolver 2
# does). When that gives exactly the committed Cargo.lock, the test command has just run against
# these very versions (`.ci/run` runs it on the checkout first), so it is not run twice: the
# script says so and stops. `lowest` uses cargo's `-Z direct-minimal-versions` (through
# RUSTC_BOOTSTRAP, as cargo has no stable flag for it): our direct dependencies at their declared
# minimum, theirs as new as that allows, the version a user's build may really get when another
# crate of theirs holds one of ours back. It type-checks the library (`cargo check`: every
# dependency's build script run and its code checked, no code generated) with no optional
# feature, with each feature and with all of them (dev-dependencies are resolved, not built:
# they never reach a user).
#
# Both share the checkout's target directory (`CARGO_TARGET_DIR`, default `target/` of the
# checkout), so that what the two resolutions have in common is built once.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
end=${1:-}
case $end in newest | lowest) ;; *) echo "usage: $0 newest|lowest" >&2; exit 2 ;; esac

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$scratch"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cd "$scratch"

if [[ $end == newest ]]; then
  CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=allow cargo update 2>&1 | grep -v '^ *Updating crates.io index' || true
  if cmp -s Cargo.lock "$root/Cargo.lock"; then
    echo "the newest compatible versions are exactly the committed Cargo.lock: the test command has run against them"
    exit 0
  fi
  diff <(grep -A1 '^name = ' "$root/Cargo.lock") <(grep -A1 '^name = ' Cargo.lock) || true
  bash scripts/test.sh
else
  RUSTC_BOOTSTRAP=1 cargo -Z direct-minimal-versions update
  cargo tree --depth 1 -e normal --all-features --prefix none | sort -u
  # Every feature combination type-checked (building `--all-features` as well took 48 s more
  # here and was dropped to halve CI's time).
  for features in "" "--features auth" "--features fake-wristband" "--features redis" "--all-features"; do
    echo "== cargo check --locked $features (lowest direct versions)"
    # shellcheck disable=SC2086
    cargo check --locked $features
  done
fi
