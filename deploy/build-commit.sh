#!/bin/sh
# Prints the commit an image build stamps into `--version`, for the Dockerfile's build stage,
# which has no git: $REACTOR_BUILD_COMMIT when given (a build argument), else HEAD resolved by
# reading .git directly (the .dockerignore lets .git/HEAD, refs and packed-refs into the
# context, never the objects), else "unknown". A worktree's .git is a file pointing outside the
# context: there pass the build argument (`--build-arg REACTOR_BUILD_COMMIT=$(git rev-parse
# --short=12 HEAD)`).
set -eu
if [ -n "${REACTOR_BUILD_COMMIT:-}" ]; then
  echo "$REACTOR_BUILD_COMMIT"
  exit 0
fi
git=${1:-.git}
commit=
if [ -f "$git/HEAD" ]; then
  head=$(cat "$git/HEAD")
  case $head in
    "ref: "*)
      ref=${head#ref: }
      if [ -f "$git/$ref" ]; then
        commit=$(cat "$git/$ref")
      elif [ -f "$git/packed-refs" ]; then
        commit=$(awk -v ref="$ref" '$2 == ref { print $1 }' "$git/packed-refs")
      fi
      ;;
    *) commit=$head ;;
  esac
fi
case $commit in
  [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*)
    echo "$commit" | cut -c1-12
    ;;
  *) echo unknown ;;
esac
