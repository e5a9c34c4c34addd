#!/usr/bin/env bash
# errrows.test.sh -- every row of the error table (src/core/err.def) is produced somewhere: some
# file of src/ (or the tool, or the fd helpers) uses its MTLS_ERR_ name other than to compare
# with it (==, !=, a case label), so the public enum names no error that cannot happen.  Rows an
# application produces and mtls only passes on are listed below with the reason.  Also: the alert
# each row carries is a row of the alert table (src/record/alert.def), and no TLS_ALERT_ number is
# written anywhere but in that table.
set -euo pipefail
. "$(dirname "$0")/common.sh"

SRC=$MTLS_SRC_DIR/src
# Made by the application: mtls only passes them on.
ALLOWED="OK"
sed -n 's/^E(\([A-Z_0-9]*\), *[A-Z]*, *\([A-Z_]*\),.*/\1 \2/p' "$SRC/core/err.def" >"$WORK/rows"
[ -s "$WORK/rows" ] || { fail "no rows read from err.def"; summary; }

# Every use of an MTLS_ERR_ name that is not a comparison or a case label.
find "$SRC" "$MTLS_SRC_DIR/tools" -name '*.c' ! -path '*/core/err.c' -print0 |
    xargs -0 perl -ne '
        while (/(==|!=|\bcase)?\s*\(?\s*MTLS_ERR_([A-Z_0-9]+)/g) { print "$2\n" unless $1 }
    ' | sort -u >"$WORK/produced"

missing=""
while read -r name alert; do
    case " $ALLOWED " in *" $name "*) continue ;; esac
    grep -qx "$name" "$WORK/produced" || missing="$missing $name"
done <"$WORK/rows"
if [ -z "$missing" ]; then
    pass "every err.def row ($(wc -l <"$WORK/rows")) is produced somewhere"
else
    fail "err.def rows nothing produces:$missing"
fi

bad_alert=""
while read -r name alert; do
    [ "$alert" = NONE ] && continue
    grep -qs "^A($alert," "$SRC/record/alert.def" || bad_alert="$bad_alert $name:$alert"
done <"$WORK/rows"
if [ -z "$bad_alert" ]; then
    pass "every alert in err.def is a row of record/alert.def"
else
    fail "err.def names alerts record/alert.def lacks:$bad_alert"
fi

numbered=$(grep -rnE 'TLS_ALERT_[A-Z_]+ *= *[0-9]' "$SRC" || true)
if [ -z "$numbered" ]; then
    pass "no TLS_ALERT_ number is written outside record/alert.def"
else
    fail "alert numbers written outside the table:"
    echo "$numbered" | sed 's/^/    /'
fi
summary
