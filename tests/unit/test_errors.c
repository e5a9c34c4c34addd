/*
 * test_errors.c -- the error table (src/core/err.def) and the alert table (src/record/alert.def)
 * as the API shows them: every error has a name, a text and an alert that has a name (or none);
 * mtls_err_is_blocked is true for exactly the rows of the blocked category; every alert of the
 * table is named and anything else is "unknown_alert"; the names that issue 13 made truthful.
 */
#include <string.h>

#include "core/internal.h"
#include "t.h"

int main(void)
{
    int blocked = 0;
    for (int e = 0; e < MTLS_ERR__COUNT; e++) {
        CHECK(strcmp(mtls_err_name((mtls_err)e), "UNKNOWN") != 0);
        CHECK(mtls_err_str((mtls_err)e)[0] != 0);
        int alert = err_alert((mtls_err)e);
        if (alert != TLS_ALERT_NONE)
            CHECK(strcmp(mtls_alert_name(alert), "unknown_alert") != 0);
        blocked += mtls_err_is_blocked((mtls_err)e) != 0;
    }
    CHECK_EQ(blocked, 3);
    CHECK(mtls_err_is_blocked(MTLS_ERR_WANT_READ) && mtls_err_is_blocked(MTLS_ERR_WANT_WRITE));
    CHECK(mtls_err_is_blocked(MTLS_ERR_WANT_KEY_OP)); /* the application's key method */
    CHECK_EQ(err_alert(MTLS_ERR_WANT_KEY_OP), TLS_ALERT_NONE);
    CHECK_EQ(err_alert(MTLS_ERR_KEY_OP_FAILED), TLS_ALERT_INTERNAL_ERROR);
    CHECK_EQ(err_alert(MTLS_ERR_KEY_OP_BAD_RESULT), TLS_ALERT_INTERNAL_ERROR);
    CHECK(!mtls_err_is_blocked(MTLS_ERR_TIMEOUT) && !mtls_err_is_blocked(MTLS_OK));
    CHECK(!mtls_err_is_blocked(MTLS_ERR__COUNT));
    CHECK(strcmp(mtls_err_name(MTLS_ERR__COUNT), "UNKNOWN") == 0);

    /* the alert table: each number named once, nothing else named */
    int named = 0;
    for (int a = -1; a < 300; a++)
        named += strcmp(mtls_alert_name(a), "unknown_alert") != 0;
    int rows = 0;
#define A(name, number, text)                                                                      \
    rows++;                                                                                        \
    CHECK(strcmp(mtls_alert_name(number), text) == 0);                                             \
    CHECK_EQ(TLS_ALERT_##name, number);
#include "record/alert.def"
#undef A
    CHECK_EQ(named, rows);
    CHECK(strcmp(mtls_alert_name(TLS_ALERT_CERTIFICATE_REQUIRED), "certificate_required") == 0);

    /* names that say what happened (issue 13 item 8) */
    CHECK(strcmp(mtls_err_name(MTLS_ERR_TOO_MANY_WARNINGS), "TOO_MANY_WARNINGS") == 0);
    CHECK_EQ(err_alert(MTLS_ERR_TOO_MANY_WARNINGS), TLS_ALERT_UNEXPECTED_MESSAGE);
    CHECK(strstr(mtls_err_str(MTLS_ERR_TOO_MANY_EMPTY), "warning") == NULL);
    CHECK(strcmp(mtls_err_name(MTLS_ERR_NO_SERVER_CERT), "NO_SERVER_CERT") == 0);
    CHECK_EQ(err_alert(MTLS_ERR_NO_SERVER_CERT), TLS_ALERT_BAD_CERTIFICATE);
    return t_done();
}
