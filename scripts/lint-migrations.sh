#!/usr/bin/env bash
# squawk over every migration. Files run by our engine inside a transaction are linted as such;
# `-- migrate:no-transaction` files are linted as running outside one. Rules silenced anywhere are
# silenced per file, with a comment in that file saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
tx=() notx=()
for f in migrations/*.sql; do
  if [ "$(head -1 "$f")" = "-- migrate:no-transaction" ]; then notx+=("$f"); else tx+=("$f"); fi
done
((${#tx[@]})) && npx squawk --assume-in-transaction "${tx[@]}"
((${#notx[@]})) && npx squawk --no-assume-in-transaction "${notx[@]}"
echo "squawk: $(( ${#tx[@]} + ${#notx[@]} )) migration files clean"
