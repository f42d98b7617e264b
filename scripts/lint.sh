#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Static checks: banned functions (house style rule 12) always; cppcheck when installed.
set -u
rc=0
banned=$(grep -rnE '\b(gets|strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol)[[:space:]]*\(' src include tests 2>/dev/null | grep -v 'snprintf\|vsnprintf')
if [ -n "$banned" ]; then
    echo "lint: banned functions:"; echo "$banned"; rc=1
fi
if command -v cppcheck >/dev/null 2>&1; then
    # jansson's iteration macros (json_array_foreach) must be known, or cppcheck gives up on a file
    jansson=
    [ -f /usr/include/jansson.h ] && jansson=--include=/usr/include/jansson.h
    cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
        --suppress=missingIncludeSystem $jansson -Iinclude -Isrc src || rc=1
fi
[ "$rc" = 0 ] && echo "lint: clean"
exit $rc
