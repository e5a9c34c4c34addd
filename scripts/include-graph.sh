#!/usr/bin/env bash
# scripts/include-graph.sh -- which directory of src/ includes which: one line per directory,
# "dir -> dirs" from the #include "..." lines of its .c and .h files (system headers <...> are
# not counted; include/mtls.h shows as "include").  Subdirectories count as their top directory
# (src/handshake/msg is handshake).  With -v, each edge is followed by the headers it goes
# through, so that an upward edge can be found: "handshake -> core (core/config.h)".
#   scripts/include-graph.sh [-v] [SRC_DIR]
set -euo pipefail
verbose=0
if [ "${1:-}" = -v ]; then
    verbose=1
    shift
fi
root=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$root/src}
src=$(cd "$src" && pwd)
inc=$(cd "$src/../include" 2>/dev/null && pwd || echo /nonexistent)

{
# every directory gets a line, also one that includes nothing outside itself
for d in "$src"/*/; do
    d=${d%/}
    echo "${d##*/} - -"
done
find "$src" -name '*.[ch]' | sort | while read -r f; do
    from=${f#"$src"/}
    from=${from%%/*}
    dir=$(dirname "$f")
    # #include "x" is looked up next to the file, then in src/ and include/ (the build's -I).
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r h; do
        target=""
        for base in "$dir" "$src" "$inc"; do
            if [ -f "$base/$h" ]; then
                target=$(cd "$(dirname "$base/$h")" && pwd)/$(basename "$h")
                break
            fi
        done
        [ -n "$target" ] || { echo "$from ?$h"; continue; }
        case "$target" in
        "$src"/*) to=${target#"$src"/}; hdr=$to; to=${to%%/*} ;;
        "$inc"/*) to=include; hdr=${target#"$inc"/} ;;
        *) to=other; hdr=$target ;;
        esac
        [ "$to" = "$from" ] || echo "$from $to $hdr"
    done
done
} | sort -u | awk -v verbose="$verbose" '
    $2 == "-" { dirs[$1] = 1; next }
    { key = $1 SUBSEP $2
      if (!(key in hdrs)) { hdrs[key] = $3; order[$1] = order[$1] " " $2 } else hdrs[key] = hdrs[key] ", " $3
      dirs[$1] = 1 }
    END {
        n = 0
        for (d in dirs) list[++n] = d
        # sort the directory names (awk has no portable sort)
        for (i = 2; i <= n; i++) for (j = i; j > 1 && list[j - 1] > list[j]; j--) { t = list[j]; list[j] = list[j - 1]; list[j - 1] = t }
        for (i = 1; i <= n; i++) {
            d = list[i]; split(substr(order[d], 2), tos, " "); line = d " ->"
            m = 0; for (k in tos) sorted[++m] = tos[k]
            for (a = 2; a <= m; a++) for (b = a; b > 1 && sorted[b - 1] > sorted[b]; b--) { t = sorted[b]; sorted[b] = sorted[b - 1]; sorted[b - 1] = t }
            for (a = 1; a <= m; a++) {
                line = line " " sorted[a]
                if (verbose) line = line " (" hdrs[d SUBSEP sorted[a]] ")"
            }
            print line
            delete sorted
        }
    }'
