#!/usr/bin/env bash
# tests/lint/clang_format.sh: every tracked C file (*.c, *.h) formatted as
# .clang-format says; clang-format --dry-run --Werror names each place that
# is not.  Run by CTest as lint.clang_format; fix with
#   git ls-files '*.c' '*.h' | xargs clang-format -i
# Exit 77 (CTest's skip) when clang-format or the git checkout is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
cf=${CLANG_FORMAT:-clang-format}
if ! command -v "$cf" >/dev/null; then
        echo "lint.clang_format: $cf not installed (deploy/setup installs it)"
        exit 77
fi
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        echo "lint.clang_format: not a git checkout: the tracked files are unknown"
        exit 77
fi
git ls-files -z -- '*.c' '*.h' | xargs -0 "$cf" --dry-run --Werror
echo "lint.clang_format: $(git ls-files -- '*.c' '*.h' | wc -l) files formatted"
