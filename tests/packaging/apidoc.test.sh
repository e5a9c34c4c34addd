#!/usr/bin/env bash
# apidoc.test.sh -- the reference docs keep up with the header: every function declared MTLS_API
# in include/mtls.h appears in docs/API.md, and every mtls_* name docs/man/mtls.3 lists in its
# NAME section exists in the header (and has a `man 3 NAME` page; manpages.test.sh checks that
# every function has one); no markdown table in docs/ is split.
set -euo pipefail
. "$(dirname "$0")/common.sh"

HDR=$MTLS_SRC_DIR/include/mtls.h
API=$MTLS_SRC_DIR/docs/API.md
MAN=$MTLS_SRC_DIR/docs/man
perl -0777 -pe 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g; s{^\s*#[^\n]*}{}mg' "$HDR" | tr '\n' ' ' |
    grep -o 'MTLS_API[^;(]*(' |
    sed -E 's/.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*\($/\1/' | sort -u >"$WORK/declared"

undocumented=$(while read -r fn; do grep -q "\\b$fn\\b" "$API" || echo "$fn"; done <"$WORK/declared")
if [ -z "$undocumented" ]; then
    pass "all $(wc -l <"$WORK/declared") MTLS_API functions are in docs/API.md"
else
    fail "MTLS_API functions missing from docs/API.md:"
    echo "$undocumented" | sed 's/^/    /'
fi

sed -n '/^\.SH NAME/,/^\.SH SYNOPSIS/p' "$MAN/mtls.3" | grep -o 'mtls_[a-z0-9_]*' | sort -u >"$WORK/man"
unknown=$(comm -23 "$WORK/man" "$WORK/declared")
if [ -z "$unknown" ]; then
    pass "every function named in mtls.3 exists in mtls.h"
else
    fail "mtls.3 names functions mtls.h does not declare:"
    echo "$unknown" | sed 's/^/    /'
fi
nolink=$(while read -r fn; do [ -f "$MAN/$fn.3" ] || echo "$fn"; done <"$WORK/man")
if [ -z "$nolink" ]; then
    pass "every function named in mtls.3 has a link page"
else
    fail "no docs/man/NAME.3 link page for:"
    echo "$nolink" | sed 's/^/    /'
fi
# docs/api-requests.md says of each request whether it is implemented or open: an implemented
# request names only functions mtls.h declares, an open one none.
REQ=$MTLS_SRC_DIR/docs/api-requests.md
unmarked=$(grep -E '^## REQUEST' "$REQ" | grep -Ev -- '-- (implemented|open)$' || true)
if [ -z "$unmarked" ]; then
    pass "every request in docs/api-requests.md is marked implemented or open"
else
    fail "requests in docs/api-requests.md marked neither '-- implemented' nor '-- open':"
    echo "$unmarked" | sed 's/^/    /'
fi
awk '/^## REQUEST/ { impl = / -- implemented$/ } impl && /MTLS_API/' "$REQ" |
    sed -E 's/.*[^A-Za-z0-9_](mtls_[A-Za-z0-9_]*)[[:space:]]*\(.*/\1/' | sort -u >"$WORK/requested"
notdeclared=$(comm -23 "$WORK/requested" "$WORK/declared")
if [ -s "$WORK/requested" ] && [ -z "$notdeclared" ]; then
    pass "the $(wc -l <"$WORK/requested") functions of implemented requests are declared in mtls.h"
else
    fail "docs/api-requests.md calls requests implemented whose functions mtls.h lacks:" \
        "${notdeclared:-(none found)}"
fi
awk '/^## REQUEST/ { open_ = / -- open$/ } open_ && /MTLS_API/' "$REQ" |
    sed -E 's/.*[^A-Za-z0-9_](mtls_[A-Za-z0-9_]*)[[:space:]]*\(.*/\1/' | sort -u >"$WORK/open"
done_already=$(comm -12 "$WORK/open" "$WORK/declared")
if [ -z "$done_already" ]; then
    pass "no request in docs/api-requests.md is called open while mtls.h declares its functions"
else
    fail "docs/api-requests.md calls requests open whose functions mtls.h declares:" $done_already
fi

# Markdown tables in docs/ and the README hold together: the second line of every table (a run of
# lines starting with '|', outside code fences) is the header separator, so a blank line that cuts
# a table in two, leaving rows that render as plain text, is caught.
split=$(for f in "$MTLS_SRC_DIR"/docs/*.md "$MTLS_SRC_DIR/README.md"; do
    awk -v name="${f#"$MTLS_SRC_DIR"/}" '
        function end_block() { if (inblock && row == 1) print name ":" start; inblock = 0 }
        /^```/ { end_block(); infence = !infence; next }
        infence { next }
        /^\|/ {
            if (!inblock) { inblock = 1; start = FNR; row = 1; next }
            if (++row == 2 && $0 !~ /^\|[ :|-]+\|[ ]*$/) print name ":" start
            next
        }
        { end_block() }
        END { end_block() }' "$f"
done)
if [ -z "$split" ]; then
    pass "every markdown table in docs/ has its header separator (none is split by a blank line)"
else
    fail "markdown tables without a header separator (split by a blank line?) at:"
    echo "$split" | sed 's/^/    /'
fi
if command -v groff >/dev/null 2>&1; then
    check man-page-renders groff -man -Tutf8 -ww -z "$MAN/mtls.3"
fi

summary
