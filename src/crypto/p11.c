/*
 * p11.c -- private keys that stay on a PKCS#11 token, named by RFC 7512 URIs ("pkcs11:...").
 *
 * OpenSSL 3.0 offers two routes to a token: a provider (pkcs11-provider, through OSSL_STORE) and
 * the ENGINE interface (libp11's engine "pkcs11", Debian's libengine-pkcs11-openssl).  Debian 12
 * packages only the engine, and OpenSSL 3.0 still runs engines, deprecated or not; so this file
 * uses the engine, and is the only one that does.  Each load takes an engine instance of its own
 * (ENGINE_by_id loads a dynamic engine afresh, not shared through the engine list), so two configs
 * may use two modules; the instance lives as long as the key (cry_pkey_set_on_free), since the
 * PKCS#11 session and module belong to it.  libp11 itself stays loaded once used (keep_loaded).
 *
 * The key that comes back is a "foreign" legacy RSA or EC_KEY whose methods call C_Sign /
 * C_Decrypt on the token: pkey.c then sets its operation parameters by ctrl (cry_pkey_mark_foreign)
 * and everything else -- TLS signature schemes, the static-RSA padding check in constant time --
 * is unchanged.  The PIN: a URI with pin-value gives it itself; otherwise libp11 asks the UI
 * method given here only when the token wants a login, and our UI reader asks the passphrase
 * source, so the application is asked only when needed.  libp11 keeps the PIN in its context for
 * re-logins and cleanses it when the context goes.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* ENGINE_* are deprecated in 3.0 (see above) */
#include "cry_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ui.h>

#ifndef OPENSSL_NO_ENGINE
#include <openssl/engine.h>

/* One engine instance held for the life of the process, never used: it keeps libp11 loaded.
 * Otherwise the last key's release unloads the shared object while libcrypto may still point
 * into it (method tables libp11 allocates once and keeps in its statics), and those become
 * unreachable -- leaks to a leak checker, or worse after a reload. */
static pthread_once_t keep_once = PTHREAD_ONCE_INIT;
static ENGINE *keep_loaded;

static void keep_engine_loaded(void)
{
    keep_loaded = ENGINE_by_id("pkcs11");
    cry_clear_errors();
}

struct pin_ask {
    cry_load *ld;
    int asked;    /* the token wanted a PIN */
    int supplied; /* and got one */
};

static int ui_read(UI *ui, UI_STRING *uis)
{
    struct pin_ask *a = UI_get0_user_data(ui);
    if (a == NULL ||
        (UI_get_string_type(uis) != UIT_PROMPT && UI_get_string_type(uis) != UIT_VERIFY))
        return 1; /* nothing to answer (info or error strings) */
    a->asked = 1;
    char pin[CRY_PASS_MAX + 1];
    int min = UI_get_result_minsize(uis), max = UI_get_result_maxsize(uis);
    int n = a->ld->pass ? a->ld->pass(a->ld->pass_arg, pin, CRY_PASS_MAX) : CRY_PASS_NONE;
    int ok = 0;
    if (n >= 0 && n <= CRY_PASS_MAX && (max <= 0 || n <= max) && (min <= 0 || n >= min)) {
        pin[n] = 0;
        ok = UI_set_result_ex(ui, uis, pin, n) == 0;
        a->supplied = ok;
    } else if (n >= 0 && n <= CRY_PASS_MAX) {
        /* The engine's prompt takes min..max bytes (libp11: 4..MAX_PIN_LENGTH) and would refuse
         * the rest as a failed login, which reads like a missing key: say what the length is. */
        a->ld->status = CRY_LOAD_PASSPHRASE_LENGTH;
        snprintf(a->ld->why, sizeof a->ld->why,
                 "is %d bytes long, %s than the %d bytes OpenSSL's engine \"pkcs11\" takes", n,
                 n > max ? "more" : "less", n > max ? max : min);
    } else {
        a->ld->status = n == CRY_PASS_NONE ? CRY_LOAD_NO_PASSPHRASE : CRY_LOAD_PASSPHRASE_FAILED;
    }
    OPENSSL_cleanse(pin, sizeof pin);
    return ok ? 1 : -1; /* -1: abort, no prompt on the terminal */
}

static void engine_release(void *e)
{
    ENGINE_finish(e); /* the functional reference: closes the session, unloads the module */
    ENGINE_free(e);
}

/* The newest error libcrypto or libp11 queued, for the detail. */
static void last_error(cry_load *ld, const char *what)
{
    unsigned long e = 0, code;
    const char *data = NULL, *file = NULL;
    int line, flags;
    while ((code = ERR_get_error_all(&file, &line, NULL, &data, &flags)) != 0)
        e = code;
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    snprintf(ld->why, sizeof ld->why, "%s%s%s", what, reason ? ": " : "", reason ? reason : "");
}

cry_pkey *cry_pkey_load_uri(const char *uri, const char *module, cry_load *ld)
{
    struct pin_ask ask = {.ld = ld};
    UI_METHOD *ui = NULL;
    ENGINE *e = NULL;
    EVP_PKEY *pk = NULL;
    int inited = 0;

    ld->status = CRY_LOAD_ERROR;
    ld->encrypted = 0;
    ld->why[0] = 0;
    if (cry_algs() == NULL || uri == NULL)
        return NULL;
    /* libp11 opens the module only at the first lookup and then reports a missing key. */
    if (module != NULL && access(module, R_OK) != 0) {
        snprintf(ld->why, sizeof ld->why, "cannot open the PKCS#11 module %.120s: %s", module,
                 strerror(errno));
        return NULL;
    }
    pthread_once(&keep_once, keep_engine_loaded);
    e = ENGINE_by_id("pkcs11");
    if (e == NULL) {
        cry_clear_errors();
        snprintf(ld->why, sizeof ld->why,
                 "OpenSSL's engine \"pkcs11\" cannot be loaded (install "
                 "libp11's engine: Debian's libengine-pkcs11-openssl)");
        return NULL;
    }
    /* libp11 writes its own errors to stderr; the detail says what went wrong instead. */
    (void)ENGINE_ctrl_cmd_string(e, "QUIET", NULL, 1);
    if (module != NULL && !ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0)) {
        last_error(ld, "the engine does not take the module path");
        goto done;
    }
    if (!ENGINE_init(e)) {
        last_error(ld, module ? "the engine cannot load the PKCS#11 module"
                              : "the engine cannot load its default PKCS#11 module");
        goto done;
    }
    inited = 1;
    ui = UI_create_method("mtls PKCS#11 PIN");
    if (ui == NULL || UI_method_set_reader(ui, ui_read) != 0)
        goto done;
    pk = ENGINE_load_private_key(e, uri, ui, &ask);
    if (pk == NULL) {
        if (ld->status == CRY_LOAD_NO_PASSPHRASE || ld->status == CRY_LOAD_PASSPHRASE_FAILED ||
            ld->status == CRY_LOAD_PASSPHRASE_LENGTH) {
            cry_clear_errors();
        } else {
            /* libp11 reports a refused login and a missing object alike. */
            last_error(ld, ask.supplied ? "the token refused the PIN, or holds no such private key"
                                        : "the token holds no such private key (or the module "
                                          "offers no such token)");
        }
        goto done;
    }
done:
    UI_destroy_method(ui);
    cry_clear_errors();
    if (pk == NULL) {
        if (inited)
            ENGINE_finish(e);
        ENGINE_free(e);
        return NULL;
    }
    cry_pkey *k = cry_pkey_wrap_private(pk);
    if (k == NULL) {
        engine_release(e);
        return NULL;
    }
    cry_pkey_mark_foreign(k);
    cry_pkey_set_on_free(k, engine_release, e);
    if (cry_pkey_type(k) == CRY_KEY_OTHER) {
        ld->status = CRY_LOAD_UNSUPPORTED;
        snprintf(ld->why, sizeof ld->why, "the token's key is neither RSA nor EC P-256/P-384");
        cry_pkey_free(k);
        return NULL;
    }
    ld->status = CRY_LOAD_OK;
    return k;
}

#else

cry_pkey *cry_pkey_load_uri(const char *uri, const char *module, cry_load *ld)
{
    (void)uri, (void)module;
    ld->status = CRY_LOAD_UNSUPPORTED;
    snprintf(ld->why, sizeof ld->why,
             "this OpenSSL was built without engines (no-engine), and "
             "mtls reaches PKCS#11 tokens through the engine \"pkcs11\"");
    return NULL;
}

#endif
