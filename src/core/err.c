/*
 * err.c -- names, texts and alerts of mtls errors, all from the one table in err.def.  The public
 * enum in mtls.h must list the same rows in the same order; the static assertions below fail the
 * build the moment they drift apart.
 */
#include "internal.h"

enum err_cat { CAT_NONE, CAT_BLOCKED, CAT_IO, CAT_USAGE, CAT_PROTOCOL, CAT_ALERT, CAT_CERTIFICATE,
               CAT_INTERNAL };

struct err_row {
    const char *name;
    const char *text;
    enum err_cat cat;
    int alert;
};

#define E(name, cat, alert, text) {#name, text, CAT_##cat, TLS_ALERT_##alert},
static const struct err_row rows[] = {
#include "err.def"
};
#undef E

/* Row order in err.def == enum order in mtls.h. */
enum {
#define E(name, cat, alert, text) ERRIDX_##name,
#include "err.def"
#undef E
    ERRIDX__COUNT
};
#define E(name, cat, alert, text)                                                      \
    _Static_assert((int)ERRIDX_##name == (int)MTLS_ERR_##name,                         \
                   "mtls.h and err.def disagree on " #name);
#define MTLS_ERR_OK MTLS_OK
#include "err.def"
#undef E
_Static_assert((int)ERRIDX__COUNT == (int)MTLS_ERR__COUNT, "mtls.h and err.def differ in length");

static const struct err_row *row(mtls_err e)
{
    if ((unsigned)e >= (unsigned)MTLS_ERR__COUNT)
        return NULL;
    return &rows[e];
}

const char *mtls_err_str(mtls_err e)
{
    const struct err_row *r = row(e);
    return r ? r->text : "unknown error code";
}

const char *mtls_err_name(mtls_err e)
{
    const struct err_row *r = row(e);
    return r ? r->name : "UNKNOWN";
}

int mtls_err_is_blocked(mtls_err e)
{
    return e == MTLS_ERR_WANT_READ || e == MTLS_ERR_WANT_WRITE;
}

int err_alert(mtls_err e)
{
    const struct err_row *r = row(e);
    return r ? r->alert : TLS_ALERT_INTERNAL_ERROR;
}

int err_is_certificate(mtls_err e)
{
    const struct err_row *r = row(e);
    return r && r->cat == CAT_CERTIFICATE;
}

const char *mtls_alert_name(int alert)
{
    switch (alert) {
    case TLS_ALERT_CLOSE_NOTIFY: return "close_notify";
    case TLS_ALERT_UNEXPECTED_MESSAGE: return "unexpected_message";
    case TLS_ALERT_BAD_RECORD_MAC: return "bad_record_mac";
    case 21: return "decryption_failed";
    case TLS_ALERT_RECORD_OVERFLOW: return "record_overflow";
    case 30: return "decompression_failure";
    case TLS_ALERT_HANDSHAKE_FAILURE: return "handshake_failure";
    case 41: return "no_certificate";
    case TLS_ALERT_BAD_CERTIFICATE: return "bad_certificate";
    case TLS_ALERT_UNSUPPORTED_CERTIFICATE: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case TLS_ALERT_CERTIFICATE_EXPIRED: return "certificate_expired";
    case TLS_ALERT_CERTIFICATE_UNKNOWN: return "certificate_unknown";
    case TLS_ALERT_ILLEGAL_PARAMETER: return "illegal_parameter";
    case TLS_ALERT_UNKNOWN_CA: return "unknown_ca";
    case TLS_ALERT_ACCESS_DENIED: return "access_denied";
    case TLS_ALERT_DECODE_ERROR: return "decode_error";
    case TLS_ALERT_DECRYPT_ERROR: return "decrypt_error";
    case 60: return "export_restriction";
    case TLS_ALERT_PROTOCOL_VERSION: return "protocol_version";
    case TLS_ALERT_INSUFFICIENT_SECURITY: return "insufficient_security";
    case TLS_ALERT_INTERNAL_ERROR: return "internal_error";
    case TLS_ALERT_INAPPROPRIATE_FALLBACK: return "inappropriate_fallback";
    case TLS_ALERT_USER_CANCELED: return "user_canceled";
    case TLS_ALERT_NO_RENEGOTIATION: return "no_renegotiation";
    case 109: return "missing_extension";
    case TLS_ALERT_UNSUPPORTED_EXTENSION: return "unsupported_extension";
    case TLS_ALERT_UNRECOGNIZED_NAME: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case TLS_ALERT_NO_APPLICATION_PROTOCOL: return "no_application_protocol";
    default: return "unknown_alert";
    }
}
