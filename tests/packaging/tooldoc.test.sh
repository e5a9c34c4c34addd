#!/usr/bin/env bash
# tooldoc.test.sh -- the tool's documentation keeps up with the tool.  For each command (client,
# server, demo), the options that `mtls CMD --help` lists are compared with:
#   - the options the command's parser accepts (the struct option table in tools/CMD.c);
#   - the command's line in the SYNOPSIS of docs/mtls.1 (an option with a short form, "-q,
#     --quiet", may appear by either name there);
#   - the OPTIONS section of docs/mtls.1 (a .TP entry naming it);
#   - docs/TOOL.md (which names each option in its text, a short form counting);
# and every option docs/mtls.1 names in SYNOPSIS or OPTIONS exists in some --help.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ -x "$MTLS_TOOL" ] || skip "$MTLS_TOOL is missing (configure with -DMTLS_BUILD_TOOLS=ON)"
MAN=$MTLS_SRC_DIR/docs/mtls.1
TOOLMD=$MTLS_SRC_DIR/docs/TOOL.md

# The man page without roff escapes for '-': "\-\-cache\-size" -> "--cache-size".
sed 's/\\-/-/g' "$MAN" >"$WORK/man"
# OPTIONS: the lines that follow .TP (the entry headings).
sed -n '/^\.SH OPTIONS/,/^\.SH [^O]/p' "$WORK/man" | awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }' \
    >"$WORK/man-options"
grep -oE -- '--[a-z][a-z0-9.-]*[a-z0-9]' "$WORK/man-options" | sort -u >"$WORK/man-options.names"
: >"$WORK/all-help"

for cmd in client server demo; do
    if ! "$MTLS_TOOL" "$cmd" --help >"$WORK/$cmd.help" 2>&1; then
        fail "mtls $cmd --help exits non-zero"
        continue
    fi
    # Option lines of the help: "  --name ARG   text" or "  -q, --quiet   text".
    grep -E '^[[:space:]]+(-[a-zA-Z], )?--[a-z]' "$WORK/$cmd.help" |
        sed -E 's/^[[:space:]]+//; s/^((-[a-zA-Z], )?--[a-z][a-z0-9.-]*[a-z0-9]).*/\1/' >"$WORK/$cmd.lines"
    grep -oE -- '--[a-z][a-z0-9.-]*[a-z0-9]' "$WORK/$cmd.lines" | sort -u >"$WORK/$cmd.opts"
    cat "$WORK/$cmd.opts" >>"$WORK/all-help"
    if [ -s "$WORK/$cmd.opts" ]; then
        pass "mtls $cmd --help lists $(wc -l <"$WORK/$cmd.opts") options"
    else
        fail "no options found in mtls $cmd --help"
    fi

    # Alignment: every option's description starts at one column (the first option's), two
    # spaces or more after the option and its argument; an option too long for that has its
    # description on the next line, and every continuation line of an entry starts there too.
    awk '
        function report(what, text) { printf "    %s: %s\n", what, text; bad++ }
        /^  (-[a-zA-Z], )?--[a-z]/ {
            entry = 1
            if (match($0, /^  (-[a-zA-Z], )?--[a-z][a-z0-9.-]*( [^ ]+)?  +[^ ]/)) {
                if (!col) col = RLENGTH
                if (RLENGTH != col) report("description at column " RLENGTH - 1 ", not " col - 1, $0)
                want_next = 0
            } else if ($0 ~ /^  (-[a-zA-Z], )?--[a-z][a-z0-9.-]*( [^ ]+)? *$/) {
                want_next = 1 # the description follows on the next line
                opt = $0
            } else {
                report("less than two spaces between the option and its description", $0)
            }
            next
        }
        entry && /^   / {
            match($0, /^ +/)
            if (!col) col = RLENGTH + 1
            if (RLENGTH + 1 != col) report("continuation at column " RLENGTH ", not " col - 1, $0)
            want_next = 0
            next
        }
        { if (want_next) report("no description", opt); entry = want_next = 0 }
        END { if (want_next) report("no description", opt); exit bad != 0 }
    ' "$WORK/$cmd.help" >"$WORK/$cmd.align" || true
    if [ ! -s "$WORK/$cmd.align" ]; then
        pass "mtls $cmd --help: every option's description starts at one column"
    else
        fail "mtls $cmd --help: option descriptions out of line:"
        cat "$WORK/$cmd.align"
    fi

    # The parser's table.
    grep -oE '\{"[a-z][a-z0-9.-]*", *(no|required|optional)_argument' "$MTLS_SRC_DIR/tools/$cmd.c" |
        sed -E 's/^\{"([^"]*)".*/--\1/' | sort -u >"$WORK/$cmd.parser"
    diff=$(comm -3 "$WORK/$cmd.parser" "$WORK/$cmd.opts" | sed 's/^\t/--help only: /; s/^--/parser only: --/')
    if [ -z "$diff" ]; then
        pass "mtls $cmd: --help lists exactly the options tools/$cmd.c accepts"
    else
        fail "mtls $cmd: --help and the option table of tools/$cmd.c differ:"
        echo "$diff" | sed 's/^/    /'
    fi

    # SYNOPSIS: the command's lines, from ".B mtls CMD" to the next ".br" (or section).
    sed -n "/^\\.B mtls $cmd\$/,/^\\.\\(br\\|SH\\)/p" "$WORK/man" >"$WORK/$cmd.synopsis"
    missing=
    while read -r line; do
        [ "$line" = "-h, --help" ] && continue
        found=0
        for name in ${line//,/ }; do
            grep -qE -- "(^|[^a-z-])$name([^a-z0-9-]|\$)" "$WORK/$cmd.synopsis" && found=1
        done
        [ "$found" = 1 ] || missing="$missing $line"
    done <"$WORK/$cmd.lines"
    if [ -z "$missing" ]; then
        pass "mtls.1 SYNOPSIS of mtls $cmd shows every option of its --help"
    else
        fail "mtls.1 SYNOPSIS of mtls $cmd lacks:$missing"
    fi
    stale=$(grep -oE -- '--[a-z][a-z0-9.-]*[a-z0-9]' "$WORK/$cmd.synopsis" | sort -u | comm -23 - "$WORK/$cmd.opts")
    if [ -z "$stale" ]; then
        pass "mtls.1 SYNOPSIS of mtls $cmd shows no option its --help lacks"
    else
        fail "mtls.1 SYNOPSIS of mtls $cmd shows options mtls $cmd does not have: $(echo $stale)"
    fi

    missing=$(comm -23 "$WORK/$cmd.opts" "$WORK/man-options.names" | tr '\n' ' ')
    if [ -z "$missing" ]; then
        pass "mtls.1 OPTIONS describes every option of mtls $cmd --help"
    else
        fail "mtls.1 OPTIONS has no entry for (mtls $cmd): $missing"
    fi

    missing=
    while read -r line; do
        found=0
        for name in ${line//,/ }; do
            grep -qE -- "(^|[^a-z-])$name([^a-z0-9-]|\$)" "$TOOLMD" && found=1
        done
        [ "$found" = 1 ] || missing="$missing $line"
    done <"$WORK/$cmd.lines"
    if [ -z "$missing" ]; then
        pass "docs/TOOL.md names every option of mtls $cmd --help"
    else
        fail "docs/TOOL.md does not name (mtls $cmd):$missing"
    fi
done

sort -u "$WORK/all-help" -o "$WORK/all-help"
stale=$(comm -23 "$WORK/man-options.names" "$WORK/all-help" | tr '\n' ' ')
if [ -z "$stale" ]; then
    pass "every option mtls.1 OPTIONS describes exists in some --help"
else
    fail "mtls.1 OPTIONS describes options no command has: $stale"
fi
if command -v groff >/dev/null 2>&1; then
    check mtls.1-renders groff -man -Tutf8 -ww -z "$MAN"
fi

summary
