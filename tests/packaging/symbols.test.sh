#!/usr/bin/env bash
# symbols.test.sh -- the shared library exports the public API and nothing else:
#   - every defined dynamic symbol of libmtls.so starts with mtls_ (nm -D --defined-only);
#   - every function declared MTLS_API in include/mtls.h is exported, and every exported
#     symbol is declared there (the header and the library agree);
#   - the soname is libmtls.so.<major of project()>, and MTLS_VERSION_STRING equals the
#     project() version;
#   - mtls.h compiles on its own, with -pedantic, as C11 (and as C++ when a compiler exists).
set -euo pipefail
. "$(dirname "$0")/common.sh"

LIB=$MTLS_BUILD_DIR/libmtls.so
HDR=$MTLS_SRC_DIR/include/mtls.h
if [ ! -e "$LIB" ]; then
    skip "$LIB not built"
fi

nm -D --defined-only "$LIB" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u >"$WORK/exported"
# Declarations may span lines: drop comments and preprocessor lines, join the rest, then take the
# name before '(' of each MTLS_API declaration.
perl -0777 -pe 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g; s{^\s*#[^\n]*}{}mg' "$HDR" | tr '\n' ' ' |
    grep -o 'MTLS_API[^;(]*(' |
    sed -E 's/.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*\($/\1/' | sort -u >"$WORK/declared"

echo "$(wc -l <"$WORK/exported") symbols exported, $(wc -l <"$WORK/declared") functions declared MTLS_API"
if [ -s "$WORK/declared" ] && [ -s "$WORK/exported" ]; then
    pass "found exported symbols and MTLS_API declarations"
else
    fail "nothing exported or nothing declared"
fi

foreign=$(grep -v '^mtls_' "$WORK/exported" || true)
if [ -z "$foreign" ]; then
    pass "every exported symbol starts with mtls_"
else
    fail "exported symbols outside the mtls_ namespace:"
    echo "$foreign" | sed 's/^/    /'
fi

missing=$(comm -23 "$WORK/declared" "$WORK/exported")
if [ -z "$missing" ]; then
    pass "every MTLS_API function of mtls.h is exported"
else
    fail "declared MTLS_API in mtls.h but not exported (missing MTLS_API on the definition?):"
    echo "$missing" | sed 's/^/    /'
fi

undeclared=$(comm -13 "$WORK/declared" "$WORK/exported")
if [ -z "$undeclared" ]; then
    pass "every exported symbol is declared MTLS_API in mtls.h"
else
    fail "exported but not declared MTLS_API in mtls.h:"
    echo "$undeclared" | sed 's/^/    /'
fi

# Every MTLS_API function of the header, as a C11 program linking it, so a typo in a name or a
# prototype that does not match shows up at link time too.
{
    echo '#include <mtls.h>'
    echo 'int main(void) { const volatile void *p[] = {'
    sed 's/.*/    (const void *)\&&,/' "$WORK/declared"
    echo '    0}; return p[0] == 0; }'
} >"$WORK/refs.c"
# shellcheck disable=SC2086 # SAN_FLAGS is a list of flags
check link-every-function "$BUILD_CC" -std=c11 -Wall -Wextra -Werror $SAN_FLAGS \
    -I"$MTLS_SRC_DIR/include" "$WORK/refs.c" -o "$WORK/refs" -L"$MTLS_BUILD_DIR" -lmtls

major=$(sed -n 's/^project(mtls VERSION \([0-9]*\)\..*/\1/p' "$MTLS_SRC_DIR/CMakeLists.txt")
version=$(sed -n 's/^project(mtls VERSION \([0-9.]*\).*/\1/p' "$MTLS_SRC_DIR/CMakeLists.txt")
soname=$(readelf -d "$LIB" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ -n "$major" ] && [ "$soname" = "libmtls.so.$major" ]; then
    pass "soname $soname"
else
    fail "soname '$soname', expected libmtls.so.$major"
fi
hdr_version=$(sed -n 's/^#define MTLS_VERSION_STRING "\(.*\)"/\1/p' "$HDR")
if [ "$hdr_version" = "$version" ]; then
    pass "MTLS_VERSION_STRING $hdr_version matches project() version"
else
    fail "MTLS_VERSION_STRING '$hdr_version' but project() version '$version'"
fi

printf '#include <mtls.h>\n' >"$WORK/alone.c"
check header-alone-c11 "$BUILD_CC" -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only \
    -I"$MTLS_SRC_DIR/include" "$WORK/alone.c"
if command -v c++ >/dev/null 2>&1; then
    cp "$WORK/alone.c" "$WORK/alone.cc"
    check header-alone-c++ c++ -Wall -Wextra -Werror -fsyntax-only -I"$MTLS_SRC_DIR/include" \
        "$WORK/alone.cc"
fi

summary
