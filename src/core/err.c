/*
 * err.c -- names, texts, categories and alerts of mtls errors, all from the one table in err.def,
 * and the names of TLS alerts, from the one table in record/alert.def.  The public enum in mtls.h
 * must list the same rows in the same order; the static assertions below fail the build the
 * moment they drift apart.
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
    const struct err_row *r = row(e);
    return r && r->cat == CAT_BLOCKED;
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
#define A(name, number, text)                                                                      \
    case number:                                                                                   \
        return text;
#include "../record/alert.def"
#undef A
    default: return "unknown_alert";
    }
}
