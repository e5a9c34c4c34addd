#!/usr/bin/env bash
# interop-matrix.sh -- the TLS 1.3 interop matrix as a Markdown table (docs/INTEROP.md).
#
#   scripts/interop-matrix.sh [--run] [LOG...]
#
# Reads the `cell` and `peer` lines that tests/interop/tls13-*.test.sh print (tls13lib.sh says
# what they mean) from each LOG (a script's output, or build/Testing/Temporary/LastTest.log after
# ctest), or with --run runs the three scripts first (the tool of $MTLS_BUILD_DIR, default build)
# and reads what they printed; prints the peers with their versions, one table row per peer and role of
# mtls, one column per case and version (pass / FAIL / skip / n/a), the reasons of every cell
# that is not a pass, and the totals.  Exits 1 when a cell failed, 2 when no cell was found.
set -euo pipefail
cd "$(dirname "$0")/.."

logs=()
if [ "${1:-}" = --run ]; then
    shift
    build=${MTLS_BUILD_DIR:-build}
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/interop-matrix.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    for s in tools runtimes browser; do
        echo "running tests/interop/tls13-$s.test.sh ..." >&2
        MTLS_BUILD_DIR=$(cd "$build" && pwd) MTLS_SRC_DIR=$PWD \
            bash "tests/interop/tls13-$s.test.sh" > "$tmp/$s.log" 2>&1 || true
        logs+=("$tmp/$s.log")
    done
fi
logs+=("$@")
[ ${#logs[@]} -gt 0 ] || { echo "usage: $0 [--run] [LOG...]" >&2; exit 2; }

awk -v date="$(date -u +%Y-%m-%d)" '
$1 == "peer" && NF >= 3 {
    p = $2
    v = $0
    sub(/^peer +[^ ]+ +/, "", v)
    if (!(p in pver)) { pver[p] = v; porder[++np] = p }
    next
}
$1 == "cell" && NF >= 6 {
    peer = $2; role = $3; ver = $4; cs = $5; res = $6
    d = $0
    sub(/^cell +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ */, "", d)
    row = peer " " role
    if (!(row in seenrow)) { seenrow[row] = 1; rows[++nr] = row }
    if (!(cs in seencase)) { seencase[cs] = 1; extra[++ne] = cs }
    if (!(ver in seenver)) { seenver[ver] = 1; xver[++nx] = ver }
    key = row SUBSEP cs SUBSEP ver
    r[key] = res
    if (res != "pass") {
        # one note for the versions that have the same verdict and reason
        nk = peer SUBSEP role SUBSEP cs SUBSEP res SUBSEP d
        if (!(nk in nver)) { nkeys[++nn] = nk; nver[nk] = ver; ntext[nk] = sprintf("%s, mtls as %s, %s: **%s** -- %s", peer, substr(role, 6), cs, res, d) }
        else nver[nk] = nver[nk] ", " ver
    }
    count[res]++
    next
}
END {
    if (nr == 0) { print "no cell lines found" > "/dev/stderr"; exit 2 }
    # columns: the cases of tls13lib.sh in its order, then any other in the order seen
    split("full hrr resume keyupdate", known, " ")
    for (i = 1; i <= 4; i++) if (known[i] in seencase) { cases[++nc] = known[i]; placed[known[i]] = 1 }
    for (i = 1; i <= ne; i++) if (!(extra[i] in placed)) cases[++nc] = extra[i]
    split("1.3 default", kv, " ")
    for (i = 1; i <= 2; i++) if (kv[i] in seenver) { vers[++nv] = kv[i]; vplaced[kv[i]] = 1 }
    for (i = 1; i <= nx; i++) if (!(xver[i] in vplaced)) vers[++nv] = xver[i]
    printf "TLS 1.3 interop matrix, run %s (\"1.3\": TLS 1.3 pinned on mtls'"'"'s side and, where it has a\n", date
    printf "switch for it, the peer'"'"'s; \"default\": no version option on either side, TLS 1.3 negotiated).\n\n"
    print "Peers:"
    print ""
    for (i = 1; i <= np; i++) printf "- %s: %s\n", porder[i], pver[porder[i]]
    print ""
    printf "| peer | mtls is |"
    for (c = 1; c <= nc; c++) for (v = 1; v <= nv; v++) printf " %s %s |", cases[c], vers[v]
    printf "\n|---|---|"
    for (c = 1; c <= nc; c++) for (v = 1; v <= nv; v++) printf "---|"
    printf "\n"
    for (i = 1; i <= nr; i++) {
        split(rows[i], rp, " ")
        printf "| %s | %s |", rp[1], substr(rp[2], 6)
        for (c = 1; c <= nc; c++) for (v = 1; v <= nv; v++) {
            key = rows[i] SUBSEP cases[c] SUBSEP vers[v]
            printf " %s |", (key in r) ? r[key] : "-"
        }
        printf "\n"
    }
    print ""
    if (nn > 0) {
        print "Cells that are not a pass:"
        print ""
        for (i = 1; i <= nn; i++) {
            split(ntext[nkeys[i]], t, ": ")
            printf "- %s (%s): %s\n", t[1], nver[nkeys[i]], substr(ntext[nkeys[i]], length(t[1]) + 3)
        }
        print ""
    }
    printf "%d passed, %d failed, %d skipped, %d not applicable\n", count["pass"], count["FAIL"],
        count["skip"], count["n/a"]
    exit count["FAIL"] > 0 ? 1 : 0
}' "${logs[@]}"
