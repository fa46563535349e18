#!/usr/bin/env python3
"""Checks the crate's `rust-version` without a second toolchain (only one can be had here).

1. Every normal (non-dev) dependency in the lock file declares a `rust-version` no newer than
   ours, so a user's build on our MSRV resolves and compiles them.
2. clippy's `incompatible_msrv` lint (on in `cargo clippy -D warnings`) flags any standard
   library API in our code that is newer than `rust-version`.
"""
import json
import subprocess
import sys


def version(text):
    return tuple(int(p) for p in (text or "0").split(".")[:3]) + (0,) * (3 - len((text or "0").split(".")[:3]))


meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--locked"]))
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
root = meta["resolve"]["root"]
ours = packages[root]["rust_version"]
if not ours:
    sys.exit("Cargo.toml has no rust-version")

seen, stack = set(), [root]
while stack:
    pkg = stack.pop()
    if pkg in seen:
        continue
    seen.add(pkg)
    for dep in nodes[pkg]["deps"]:
        if any(kind["kind"] is None for kind in dep["dep_kinds"]):
            stack.append(dep["pkg"])

newer = [
    (packages[p]["name"], packages[p]["version"], packages[p]["rust_version"])
    for p in seen
    if p != root and version(packages[p]["rust_version"]) > version(ours)
]
highest = max((packages[p]["rust_version"] or "0" for p in seen if p != root), key=version)
if newer:
    for name, ver, rv in sorted(newer):
        print(f"{name} {ver} needs Rust {rv}, newer than our rust-version {ours}")
    sys.exit(1)
print(f"rust-version {ours}: all {len(seen) - 1} normal dependencies declare <= {highest}")
