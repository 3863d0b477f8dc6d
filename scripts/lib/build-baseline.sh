#!/usr/bin/env bash
# Build another revision's release binaries for `compare --baseline-build`.
#
# Usage: scripts/lib/build-baseline.sh REV DIR [PACKAGE...]
#   REV       a git revision (e.g. HEAD~1, origin/main)
#   DIR       where its binaries go (created; the baseline build directory)
#   PACKAGE   cargo packages to build (default: reactor-server)
#
# The revision is checked out in a temporary git worktree and built with this checkout's target
# directory, so the dependencies compiled for this checkout are reused and only the workspace's
# own crates are compiled again. Building there overwrites this checkout's binaries in
# target/release; they are built again afterwards, and every binary on either side is checked
# to name its own commit in `--version`, so a comparison never runs one build twice by mistake.
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

head=$(git rev-parse HEAD)
mapfile -t built < <(executables "${pkg_args[@]}")
[ ${#built[@]} -gt 0 ] || { echo "build-baseline.sh: building this checkout failed" >&2; exit 1; }

src=$(mktemp -d)
cleanup() { git worktree remove --force "$src" 2>/dev/null || rm -rf "$src"; }
trap cleanup EXIT
git worktree add --quiet --detach "$src" "$commit"
echo "build-baseline.sh: building ${packages[*]} at $(git log -1 --format='%h %s' "$commit")" >&2
mkdir -p "$dir"
mapfile -t theirs < <(CARGO_TARGET_DIR=$target executables --manifest-path "$src/Cargo.toml" "${pkg_args[@]}")
[ ${#theirs[@]} -gt 0 ] || { echo "build-baseline.sh: $rev built no executable" >&2; exit 1; }
for f in "${theirs[@]}"; do
  names_commit "$f" "$commit" ||
    { echo "build-baseline.sh: $f does not name $commit in --version" >&2; exit 1; }
  cp "$f" "$dir/"
done
echo "$commit" > "$dir/REVISION"

# This checkout's binaries back, and proven to be.
executables "${pkg_args[@]}" > /dev/null
for f in "${built[@]}"; do
  names_commit "$f" "$head" ||
    { echo "build-baseline.sh: $f is not this checkout's build after the baseline's" >&2; exit 1; }
done
echo "build-baseline.sh: $dir has ${theirs[*]##*/} of $(git log -1 --format='%h' "$commit")" >&2
