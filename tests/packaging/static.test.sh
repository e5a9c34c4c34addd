#!/usr/bin/env bash
# static.test.sh -- the static library keeps to the mtls_ namespace, like the shared one:
#   - libmtls.a defines no global symbol without the mtls_ prefix (nm -g --defined-only), so
#     the library's internal names (mem_alloc, cache_new, rd_u8, ...) cannot collide with an
#     application's;
#   - a program that defines functions of its own under such names (mem_alloc, cache_new,
#     rd_u8, config_freeze) and calls mtls_ functions links against libmtls.a, as
#     docs/GETTING-STARTED.md shows ("static:"), and runs: each side calls its own functions.
set -euo pipefail
. "$(dirname "$0")/common.sh"

LIB=$MTLS_BUILD_DIR/libmtls.a
[ -e "$LIB" ] || skip "$LIB not built"

nm -g --defined-only "$LIB" | awk 'NF >= 3 { print $3 }' | sort -u >"$WORK/defined"
if grep -q '^mtls_' "$WORK/defined"; then
    pass "libmtls.a defines $(grep -c '^mtls_' "$WORK/defined") mtls_ symbols"
else
    fail "libmtls.a defines no mtls_ symbol"
fi
foreign=$(grep -v '^mtls_' "$WORK/defined" || true)
if [ -z "$foreign" ]; then
    pass "every global symbol libmtls.a defines starts with mtls_"
else
    fail "libmtls.a defines $(echo "$foreign" | wc -l) global symbols outside the mtls_ namespace:"
    echo "$foreign" | head -n 20 | sed 's/^/    /'
    [ "$(echo "$foreign" | wc -l)" -le 20 ] || echo "    ..."
fi

# The application's own functions, named like some of the library's internal ones (with other
# signatures, as an application's would have), used next to the library.
cat >"$WORK/app.c" <<'C'
#include <mtls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mem_alloc(int n);
const char *cache_new(void);
unsigned rd_u8(const unsigned char *p);
int config_freeze(int x);

int mem_alloc(int n) { return n * 2; }
const char *cache_new(void) { return "app cache"; }
unsigned rd_u8(const unsigned char *p) { return p[0] + 1u; }
int config_freeze(int x) { return x - 1; }

int main(void)
{
    static const unsigned char b[1] = {41};
    uint16_t suites[16];
    mtls_config *cfg = mtls_config_new();
    if (!cfg)
        return 1;
    /* The config setters allocate (mem_alloc inside the library) and parse names. */
    mtls_err e = mtls_config_set_ciphers(cfg, "ECDHE-ECDSA-AES128-GCM-SHA256");
    mtls_err g = mtls_config_set_groups(cfg, "x25519:secp256r1");
    size_t n = mtls_supported_suites(suites, 16);
    printf("app: mem_alloc %d, cache_new %s, rd_u8 %u, config_freeze %d\n", mem_alloc(21),
           cache_new(), rd_u8(b), config_freeze(8));
    printf("mtls: set_ciphers %s, set_groups %s, %zu suites, first %s\n", mtls_err_name(e),
           mtls_err_name(g), n, n ? mtls_suite_name(suites[0]) : "none");
    mtls_config_free(cfg);
    return e != MTLS_OK || g != MTLS_OK || n == 0;
}
C
CRYPTO=$(cache_get OPENSSL_CRYPTO_LIBRARY)
CRYPTO=${CRYPTO:--lcrypto}
# shellcheck disable=SC2086 # SAN_FLAGS is a list of flags
check link-app-with-libmtls.a "$BUILD_CC" -std=c11 -Wall -Wextra -Werror $SAN_FLAGS \
    -I"$MTLS_SRC_DIR/include" "$WORK/app.c" -o "$WORK/app" "$LIB" "$CRYPTO" -lpthread
if [ -x "$WORK/app" ]; then
    check run-app timeout 20 "$WORK/app"
    expect_output run-app '^app: mem_alloc 42, cache_new app cache, rd_u8 42, config_freeze 7$'
    expect_output run-app '^mtls: set_ciphers OK, set_groups OK, [0-9]+ suites, first TLS_'
fi

summary
