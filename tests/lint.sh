#!/bin/bash
# Static analysis with cppcheck (warnings and portability).  Memory and
# resource "leaks" are not checked: cppcheck cannot see the cleanup
# attribute that frees them (see src/common/cleanup.h).
cd "$(dirname "$0")/.."
command -v cppcheck >/dev/null || { echo "lint: cppcheck not installed"; exit 1; }
cppcheck --quiet --enable=warning,portability --inline-suppr \
        --error-exitcode=1 -I src/common -I src/runtime \
        --suppress=missingIncludeSystem --suppress=memleak \
        --suppress=resourceLeak --suppress=leakReturnValNotUsed \
        src/common src/runtime tests/helper && echo "lint: ok"
