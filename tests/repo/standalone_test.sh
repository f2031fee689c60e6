#!/usr/bin/env bash
# The repository stands alone: no tracked file may cite documents a reader of
# this repository does not have (the private design document, the research
# notes kept outside the repository, or anything under a sibling "shared"
# directory). Cite public sources by URL or a page under docs/ instead.
#
# Usage: standalone_test.sh SOURCE_DIR. Exit 0 when clean, 1 with the offending
# lines otherwise. The patterns are written so that this file does not match them.
set -uo pipefail
src="${1:?usage: standalone_test.sh SOURCE_DIR}"
pattern='DESIGN[.]md|DESIGN[ ]§|[.][.]/shared/|reference/(ztunnel|perf|aesthetics)[.]md|l7-apis-kial[i]|(^|[^a-z_-])perf[.]md'

if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  hits=$(git -C "$src" grep -I -n -E "$pattern" -- . || true)
else
  # Not a git checkout (e.g. an unpacked tarball): every file but build trees.
  hits=$(cd "$src" && grep -rIn -E "$pattern" --exclude-dir='.git' --exclude-dir='build*' . || true)
fi

if [ -n "$hits" ]; then
  echo "files cite documents that are not in this repository (cite a public URL or docs/ instead):"
  echo "$hits"
  exit 1
fi
echo "ok: no citations of documents outside the repository"
