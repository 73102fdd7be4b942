#!/usr/bin/env bash
# Fails when a C++ file under src/ or tests/ is not formatted per .clang-format (part of
# `make test`). Fix with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=""
for candidate in clang-format clang-format-14; do
  if command -v "$candidate" >/dev/null; then fmt=$candidate; break; fi
done
if [[ -z "$fmt" ]]; then
  echo "check-format: clang-format not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
mapfile -t files < <(find src tests -name '*.h' -o -name '*.cc' | sort)
if [[ "${1:-}" == "--fix" ]]; then
  "$fmt" -i "${files[@]}"
  exit 0
fi
if ! "$fmt" --dry-run -Werror "${files[@]}"; then
  echo "check-format: the files above are not clang-formatted; run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
