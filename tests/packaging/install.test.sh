#!/usr/bin/env bash
# install.test.sh -- install the build into a temporary prefix and use it the way another
# project would:
#   1. cmake --install "$MTLS_BUILD_DIR" --prefix PREFIX, and check the installed files;
#   2. build every example against PREFIX through pkg-config (PKG_CONFIG_PATH);
#   3. build every example against PREFIX through find_package(mtls) in a separate CMake
#      project (CMAKE_PREFIX_PATH), linking mtls::mtls, and one more linking mtls::mtls_static;
#   4. run them against the installed `mtls` server and the installed echo_server example, on
#      127.0.0.1, with the shared library taken from PREFIX (LD_LIBRARY_PATH).
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ -e "$MTLS_BUILD_DIR/libmtls.so" ] || skip "$MTLS_BUILD_DIR/libmtls.so not built"
command -v pkg-config >/dev/null || skip "pkg-config is not installed"
PREFIX=$WORK/prefix
LIBDIR=$PREFIX/$(cache_get CMAKE_INSTALL_LIBDIR)
VERSION=$(sed -n 's/^project(mtls VERSION \([0-9.]*\).*/\1/p' "$MTLS_SRC_DIR/CMakeLists.txt")
EXAMPLES="https_get echo_server resume_client"

# 1. Install.
check install timeout 120 cmake --install "$MTLS_BUILD_DIR" --prefix "$PREFIX"
for f in "$LIBDIR/libmtls.so.$VERSION" "$LIBDIR/libmtls.so.${VERSION%%.*}" "$LIBDIR/libmtls.so" \
    "$LIBDIR/libmtls.a" "$PREFIX/include/mtls.h" "$LIBDIR/pkgconfig/mtls.pc" \
    "$LIBDIR/cmake/mtls/mtlsConfig.cmake" "$LIBDIR/cmake/mtls/mtlsConfigVersion.cmake" \
    "$LIBDIR/cmake/mtls/mtlsTargets.cmake" "$PREFIX/bin/mtls"; do
    if [ -e "$f" ]; then pass "installed ${f#"$PREFIX"/}"; else fail "not installed: ${f#"$PREFIX"/}"; fi
done
# The installed archive keeps to the mtls_ namespace (tests/packaging/static.test.sh has more).
foreign=$(nm -g --defined-only "$LIBDIR/libmtls.a" | awk 'NF >= 3 && $3 !~ /^mtls_/ { print $3 }')
if [ -z "$foreign" ]; then
    pass "installed libmtls.a defines only mtls_ globals"
else
    fail "installed libmtls.a defines globals outside mtls_: $(echo "$foreign" | head -n 5 | tr '\n' ' ')..."
fi
if ls "$PREFIX"/share/man/man3/*.3 >/dev/null 2>&1; then
    pass "installed $(ls "$PREFIX"/share/man/man3/*.3 | wc -l) man pages in share/man/man3"
else
    fail "no man pages in share/man/man3"
fi
# one page per function (tests/packaging/manpages.test.sh checks they are all in docs/man)
for page in mtls.3 mtls_conn_peer_subject.3 mtls_config_set_send_ca_names.3 mtls_fd_read.3; do
    if [ -s "$PREFIX/share/man/man3/$page" ]; then
        pass "installed share/man/man3/$page"
    else
        fail "not installed: share/man/man3/$page"
    fi
done
if command -v man >/dev/null 2>&1; then
    check man-installed env MANPATH="$PREFIX/share/man" MANWIDTH=100 man 3 mtls_conn_peer_subject
    expect_output man-installed 'const char \*mtls_conn_peer_subject\(const mtls_conn \*conn\);'
fi

# 2. pkg-config.
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
check pkg-config-modversion pkg-config --modversion mtls
expect_output pkg-config-modversion "^$VERSION\$"
check pkg-config-flags pkg-config --cflags --libs mtls
expect_output pkg-config-flags "-I$PREFIX/include"
check pkg-config-static pkg-config --static --libs mtls
expect_output pkg-config-static '-lcrypto'
mkdir -p "$WORK/pc"
for ex in $EXAMPLES; do
    # shellcheck disable=SC2046,SC2086 # pkg-config and SAN_FLAGS print lists of flags
    check "pkg-config-build-$ex" "$BUILD_CC" -std=c11 -Wall -Wextra -Werror $SAN_FLAGS \
        "$MTLS_SRC_DIR/examples/$ex.c" -o "$WORK/pc/$ex" $(pkg-config --cflags --libs mtls)
done

# 3. find_package, in a project of its own with its own copy of the sources.
C=$WORK/consumer
mkdir -p "$C"
for ex in $EXAMPLES; do cp "$MTLS_SRC_DIR/examples/$ex.c" "$C/"; done
cat >"$C/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(mtls_consumer LANGUAGES C)
find_package(mtls 0.1 REQUIRED)
foreach(ex https_get echo_server resume_client)
  add_executable(${ex} ${ex}.c)
  target_link_libraries(${ex} PRIVATE mtls::mtls)
endforeach()
add_executable(https_get_static https_get.c)
target_link_libraries(https_get_static PRIVATE mtls::mtls_static)
CMAKE
check find_package-configure timeout 120 cmake -S "$C" -B "$C/build" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_C_COMPILER="$BUILD_CC" -DCMAKE_C_FLAGS="-std=c11 -Wall -Wextra -Werror $SAN_FLAGS"
expect_output find_package-configure 'Build files have been written'
check find_package-build timeout 300 cmake --build "$C/build" -j2
for ex in $EXAMPLES https_get_static; do
    if [ -x "$C/build/$ex" ]; then pass "find_package built $ex"; else fail "find_package: no $ex"; fi
done
if readelf -d "$C/build/https_get_static" | grep -q 'libmtls\.so'; then
    fail "https_get_static depends on libmtls.so"
else
    pass "https_get_static does not need libmtls.so"
fi

# 4. Run what was built, against servers from the prefix, with the prefix's shared library.
export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
check ldd-uses-prefix ldd "$WORK/pc/https_get"
expect_output ldd-uses-prefix "libmtls\\.so\\.[0-9]+ => $LIBDIR/libmtls\\.so"
P=$WORK/pki
check pki make_pki "$P"

start_server http-server "$PREFIX/bin/mtls" server --listen 127.0.0.1:0 --cert "$P/server.pem" \
    --key "$P/server.key" --http --timeout 10
for bin in "$WORK/pc/https_get" "$C/build/https_get" "$C/build/https_get_static"; do
    name=run-${bin#"$WORK"/}
    name=${name//\//-}
    check "$name" timeout 20 "$bin" localhost "$PORT" / "$P/ca.pem"
    expect_output "$name" '^HTTP/1\.1 200'
done

start_server echo-server "$C/build/echo_server" "$P/server.pem" "$P/server.key" "$P/ca.pem" 0 6
check run-pc-resume_client timeout 30 "$WORK/pc/resume_client" localhost "$PORT" 3 "$P/ca.pem" \
    "$P/client.pem" "$P/client.key"
expect_output run-pc-resume_client '^3 connections, 2 resumed, 0 failed$'
check run-consumer-resume_client timeout 30 "$C/build/resume_client" localhost "$PORT" 3 \
    "$P/ca.pem" "$P/client.pem" "$P/client.key"
expect_output run-consumer-resume_client '^3 connections, 2 resumed, 0 failed$'

summary
