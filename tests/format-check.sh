#!/bin/bash
# Fails when any C file differs from what clang-format makes of it.
cd "$(dirname "$0")/.."
bad=0
for f in $(git ls-files '*.c' '*.h'); do
        [ -f "$f" ] || continue
        if ! clang-format --style=file "$f" | cmp -s - "$f"; then
                echo "not formatted: $f (run: make format)"
                bad=1
        fi
done
[ $bad -eq 0 ] && echo "format check: ok"
exit $bad
