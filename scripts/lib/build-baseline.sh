#!/usr/bin/env bash
# Build another revision's release binaries for `compare --baseline-build`.
#
# Usage: scripts/lib/build-baseline.sh REV DIR [PACKAGE...]
#   REV       a git revision (e.g. HEAD~1, origin/main)
#   DIR       where its binaries go (created; the baseline build directory)
#   PACKAGE   cargo packages to build (default: reactor-server)
#
# The revision is checked out in a temporary git worktree and built in a target directory of
# its own, target/baseline-build, seeded once with a copy of this checkout's release build so
# that the dependencies compiled for this checkout are reused. The two trees never share one:
# cargo names a workspace crate's artifacts alike in both trees and decides freshness from file
# times, so in a shared directory one tree's binaries can be linked with the other tree's build
# of a crate (the protocol library) whose own files look older. Every binary on either side is
# then checked to name its own commit in `--version` and to hold no code compiled in the other
# tree (by the compilation directories in its debug information), so a comparison never runs
# one tree's code on both sides by mistake.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ $# -ge 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
rev=$1
dir=$2
shift 2
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(reactor-server)

commit=$(git rev-parse --verify --quiet "$rev^{commit}") ||
  { echo "build-baseline.sh: no revision $rev in this clone" >&2; exit 1; }
target=$(pwd)/target
command -v python3 >/dev/null || { echo "build-baseline.sh: needs python3" >&2; exit 1; }
pkg_args=()
for p in "${packages[@]}"; do pkg_args+=(-p "$p"); done

executables() { # cargo build arguments -> the executables built, one path a line
  cargo build --release --message-format=json-render-diagnostics "$@" |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])'
}

names_commit() { # BINARY COMMIT: does BINARY's --version name COMMIT?
  "$1" --version 2>/dev/null | grep -q "commit ${2:0:12}"
}

built_in() { # BINARY TREE: was any of BINARY's code compiled in TREE (its debug information's
  # compilation directory, a string of its own in the string table)?
  python3 -c 'import sys
sys.exit(0 if b"\0" + sys.argv[2].encode() + b"\0" in open(sys.argv[1], "rb").read() else 1)' "$1" "$2"
}

head=$(git rev-parse HEAD)
root=$(pwd)
mapfile -t built < <(executables "${pkg_args[@]}")
[ ${#built[@]} -gt 0 ] || { echo "build-baseline.sh: building this checkout failed" >&2; exit 1; }

src=$(mktemp -d)
cleanup() { git worktree remove --force "$src" 2>/dev/null || rm -rf "$src"; }
trap cleanup EXIT
git worktree add --quiet --detach "$src" "$commit"
btarget=$target/baseline-build
if ! [ -d "$btarget/release" ]; then
  echo "build-baseline.sh: seeding $btarget with this checkout's compiled dependencies" >&2
  mkdir -p "$btarget"
  cp -a "$target/release" "$btarget/release"
fi
echo "build-baseline.sh: building ${packages[*]} at $(git log -1 --format='%h %s' "$commit")" >&2
mkdir -p "$dir"
mapfile -t theirs < <(CARGO_TARGET_DIR=$btarget executables --manifest-path "$src/Cargo.toml" "${pkg_args[@]}")
[ ${#theirs[@]} -gt 0 ] || { echo "build-baseline.sh: $rev built no executable" >&2; exit 1; }
for f in "${theirs[@]}"; do
  names_commit "$f" "$commit" ||
    { echo "build-baseline.sh: $f does not name $commit in --version" >&2; exit 1; }
  ! built_in "$f" "$root" ||
    { echo "build-baseline.sh: $f holds code compiled in this checkout" >&2; exit 1; }
  cp "$f" "$dir/"
done
echo "$commit" > "$dir/REVISION"

for f in "${built[@]}"; do
  names_commit "$f" "$head" ||
    { echo "build-baseline.sh: $f is no longer this checkout's build" >&2; exit 1; }
  ! built_in "$f" "$src" ||
    { echo "build-baseline.sh: $f holds code compiled in the baseline's tree" >&2; exit 1; }
done
echo "build-baseline.sh: $dir has ${theirs[*]##*/} of $(git log -1 --format='%h' "$commit")" >&2
