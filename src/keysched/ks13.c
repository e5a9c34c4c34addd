/*
 * ks13.c -- the TLS 1.3 key schedule (RFC 8446 section 7), independent of the handshake.
 *
 * A `ks13` holds the secrets of one connection in fixed arrays and moves through the stages of
 * RFC 8446 7.1 in order; each stage function refuses to run out of order (MTLS_ERR_BAD_STATE) and
 * wipes, as it advances, every secret that no later step can need.  The handshake owns the
 * running transcript hash and hands in Transcript-Hash values (`th_*`, HashLen bytes) at the
 * points the RFC names:
 *
 *   stage      call                               derives                      wipes
 *   START      ks13_init(ks, suite hash)
 *   EARLY      ks13_early(ks, psk or NULL)         early secret                 everything before
 *                ks13_binder[_check](th_partial)   (binder, not kept)
 *                ks13_early_traffic(th CH)         c e traffic, e exp master
 *   HANDSHAKE  ks13_handshake(ecdhe, th CH..SH)    handshake secret,            early secrets
 *                                                  c/s hs traffic
 *   MASTER     ks13_master(th CH..server Fin)      master secret, c/s ap        handshake secret,
 *                                                  traffic 0, exporter master   s hs traffic
 *   DONE       ks13_finish(th CH..client Fin)      resumption master            master secret,
 *                                                  secret                       c hs traffic
 *   ks13_clear: wipes all.
 *
 * Between stages the handshake asks for what it needs from the secrets held at that moment:
 * ks13_traffic_keys (record keys, RFC 8446 7.3), ks13_finished[_check] (4.4.4; with the client
 * application secret for post-handshake authentication), ks13_update (KeyUpdate, 7.2, from MASTER
 * on: a server may update right after its Finished), ks13_resumption_psk (4.6.1),
 * ks13_export (7.5), ks13_keylog_line (NSS key log format).  A client runs:
 *
 *   ks13_init; ks13_early(ticket PSK or NULL); [ks13_binder over the partial ClientHello]
 *   -- ServerHello (did the server take the PSK? if not: ks13_early(NULL) again) --
 *   ks13_handshake(shared secret, th CH..SH); install c/s hs traffic keys
 *   check server Finished with ks13_finished_check(S_HS, th CH..CertificateVerify)
 *   ks13_master(th CH..server Finished); [Certificate, CertificateVerify]
 *   send ks13_finished(C_HS, th CH..client CertificateVerify); install application keys
 *   ks13_finish(th CH..client Finished)  -- NewSessionTicket: ks13_resumption_psk(nonce)
 *
 * and a server the same calls at the mirror points (it checks the binder with
 * ks13_binder_check before ks13_handshake).  After a HelloRetryRequest the handshake restarts its
 * transcript with ks13_message_hash(Hash(ClientHello1)); the schedule itself does not change.
 *
 * Labels and contexts are checked against HkdfLabel's bounds (7.1).  Every intermediate value
 * (derived secrets, binder and finished keys, the exporter's secret) is wiped after use; on any
 * failure the output buffer is wiped too.  Checks of peer values (Finished, binders) compare in
 * constant time.  The primitives use HKDF from src/crypto/hkdf.c with one HMAC keyed per secret
 * and reset for each label.
 */
#include <string.h>

#include "ks.h"

#define LABEL_PREFIX "tls13 "
#define LABEL_PREFIX_LEN 6
/* RFC 8446 7.1: opaque label<7..255> = "tls13 " + Label; opaque context<0..255>. */
#define LABEL_MAX (255 - LABEL_PREFIX_LEN)
#define CONTEXT_MAX 255
/* HkdfLabel: uint16 length, then the two vectors with their one-byte lengths. */
#define HKDF_LABEL_MAX (2 + 1 + 255 + 1 + CONTEXT_MAX)

#define HAVE(ks, i) (((ks)->have >> (i)) & 1u)

/* ---- primitives (RFC 8446 7.1) ---------------------------------------------------------- */

static mtls_err expand_label_mac(cry_hmac *m, cry_hash_alg alg, const char *label, size_t label_len,
                                 const uint8_t *context, size_t context_len, uint8_t *out,
                                 size_t out_len)
{
    uint8_t info[HKDF_LABEL_MAX];
    size_t n = 0;
    /* RFC 8446 7.1: "opaque label<7..255> = "tls13 " + Label; opaque context<0..255> = Context",
     * and "uint16 length = Length". */
    if (label_len < 1 || label_len > LABEL_MAX || context_len > CONTEXT_MAX || out_len > 0xffff ||
        out_len > 255 * cry_hash_len(alg) || (context_len > 0 && !context))
        return MTLS_ERR_INVALID_ARG;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(LABEL_PREFIX_LEN + label_len);
    memcpy(info + n, LABEL_PREFIX, LABEL_PREFIX_LEN);
    n += LABEL_PREFIX_LEN;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = (uint8_t)context_len;
    if (context_len > 0)
        memcpy(info + n, context, context_len);
    n += context_len;
    /* The info carries a transcript hash at most, which is not secret; nothing to wipe. */
    return cry_hkdf_expand_mac(m, alg, info, n, out, out_len) ? MTLS_OK : MTLS_ERR_CRYPTO;
}

static bool alg_ok(cry_hash_alg alg)
{
    return alg == CRY_SHA256 || alg == CRY_SHA384;
}

/* An HMAC keyed with `secret` (HashLen bytes), to derive several labels from it. */
static cry_hmac *key_secret(cry_hash_alg alg, const uint8_t *secret)
{
    return cry_hmac_new(alg, secret, cry_hash_len(alg));
}

mtls_err ks13_expand_label(cry_hash_alg alg, const uint8_t *secret, size_t secret_len,
                           const char *label, size_t label_len, const uint8_t *context,
                           size_t context_len, uint8_t *out, size_t out_len)
{
    /* HKDF-Expand takes a PRK of at least HashLen bytes (RFC 5869 2.3). */
    if (!alg_ok(alg) || secret == NULL || secret_len < cry_hash_len(alg) || label == NULL)
        return MTLS_ERR_INVALID_ARG;
    cry_hmac *m = cry_hmac_new(alg, secret, secret_len);
    if (m == NULL)
        return MTLS_ERR_CRYPTO;
    mtls_err err = expand_label_mac(m, alg, label, label_len, context, context_len, out, out_len);
    cry_hmac_free(m);
    return err;
}

/* Derive-Secret with an already keyed HMAC; th NULL: Hash(""). */
static mtls_err derive_mac(cry_hmac *m, cry_hash_alg alg, const char *label, const uint8_t *th,
                           uint8_t *out)
{
    uint8_t empty[CRY_MAX_HASH];
    size_t hlen = cry_hash_len(alg);
    if (th == NULL) {
        if (!cry_hash_oneshot(alg, "", 0, empty))
            return MTLS_ERR_CRYPTO;
        th = empty;
    }
    /* RFC 8446 7.1: Derive-Secret(Secret, Label, Messages) =
     *   HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), Hash.length) */
    return expand_label_mac(m, alg, label, strlen(label), th, hlen, out, hlen);
}

mtls_err ks13_derive_secret(cry_hash_alg alg, const uint8_t *secret, const char *label,
                            const uint8_t *th, uint8_t *out)
{
    if (!alg_ok(alg) || secret == NULL || label == NULL)
        return MTLS_ERR_INVALID_ARG;
    cry_hmac *m = key_secret(alg, secret);
    if (m == NULL)
        return MTLS_ERR_CRYPTO;
    mtls_err err = derive_mac(m, alg, label, th, out);
    cry_hmac_free(m);
    return err;
}

mtls_err ks13_message_hash(cry_hash_alg alg, const uint8_t *ch1_hash, uint8_t *out, size_t cap,
                           size_t *out_len)
{
    size_t hlen = cry_hash_len(alg);
    if (!alg_ok(alg) || ch1_hash == NULL || cap < 4 + hlen)
        return MTLS_ERR_INVALID_ARG;
    /* RFC 8446 4.4.1: "Transcript-Hash(ClientHello1, HelloRetryRequest, ... Mn) =
     *   Hash(message_hash ||        /- Handshake type -/
     *        00 00 Hash.length  ||  /- Handshake message length (bytes) -/
     *        Hash(ClientHello1) ||  /- Hash of ClientHello1 -/
     *        HelloRetryRequest  || ... || Mn)" */
    out[0] = 254; /* message_hash */
    out[1] = 0;
    out[2] = 0;
    out[3] = (uint8_t)hlen;
    memcpy(out + 4, ch1_hash, hlen);
    *out_len = 4 + hlen;
    return MTLS_OK;
}

/* finished_key = HKDF-Expand-Label(base, "finished", "", Hash.length);
 * verify_data = HMAC(finished_key, th).  RFC 8446 4.4.4; also the binder (4.2.11.2). */
static mtls_err finished_mac(cry_hash_alg alg, const uint8_t *base, const uint8_t *th, uint8_t *out)
{
    size_t hlen = cry_hash_len(alg);
    uint8_t fkey[CRY_MAX_HASH];
    mtls_err err = ks13_expand_label(alg, base, hlen, "finished", 8, NULL, 0, fkey, hlen);
    if (err)
        return err;
    cry_hmac *m = cry_hmac_new(alg, fkey, hlen);
    cry_wipe(fkey, sizeof(fkey));
    if (m == NULL)
        return MTLS_ERR_CRYPTO;
    int ok = cry_hmac_update(m, th, hlen) && cry_hmac_final(m, out);
    cry_hmac_free(m);
    if (!ok) {
        cry_wipe(out, hlen);
        return MTLS_ERR_CRYPTO;
    }
    return MTLS_OK;
}

/* ---- the object: stages ------------------------------------------------------------------- */

static uint8_t *slot(ks13 *ks, ks13_secret which)
{
    return ks->s[which];
}

static void drop(ks13 *ks, ks13_secret which)
{
    cry_wipe(ks->s[which], sizeof(ks->s[which]));
    ks->have &= ~(1u << which);
}

static void keep(ks13 *ks, ks13_secret which)
{
    ks->have |= 1u << which;
}

mtls_err ks13_init(ks13 *ks, cry_hash_alg alg)
{
    cry_wipe(ks, sizeof(*ks));
    if (!alg_ok(alg))
        return MTLS_ERR_INVALID_ARG;
    ks->alg = alg;
    ks->hlen = (uint8_t)cry_hash_len(alg);
    ks->stage = KS13_STAGE_START;
    return MTLS_OK;
}

void ks13_clear(ks13 *ks)
{
    if (ks != NULL)
        cry_wipe(ks, sizeof(*ks));
}

/* Derive several labels from one secret with one keyed HMAC.  On failure every output is wiped
 * (the caller's slots stay marked absent). */
struct derivation {
    const char *label;
    uint8_t *out;
};

static mtls_err derive_all(ks13 *ks, const uint8_t *secret, const uint8_t *th,
                           const struct derivation *d, size_t n)
{
    cry_hmac *m = key_secret(ks->alg, secret);
    mtls_err err = m == NULL ? MTLS_ERR_CRYPTO : MTLS_OK;
    for (size_t i = 0; i < n && !err; i++)
        err = derive_mac(m, ks->alg, d[i].label, th, d[i].out);
    cry_hmac_free(m);
    if (err)
        for (size_t i = 0; i < n; i++)
            cry_wipe(d[i].out, ks->hlen);
    return err;
}

/* The salt of the next Extract: Derive-Secret(previous, "derived", ""). */
static mtls_err derived_salt(ks13 *ks, ks13_secret previous, uint8_t *salt)
{
    struct derivation d = {"derived", salt};
    return derive_all(ks, slot(ks, previous), NULL, &d, 1);
}

mtls_err ks13_early(ks13 *ks, const uint8_t *psk, size_t psk_len)
{
    static const uint8_t zeros[KS13_MAX_HASH];
    if (ks->stage != KS13_STAGE_START && ks->stage != KS13_STAGE_EARLY)
        return MTLS_ERR_BAD_STATE;
    bool with_psk = psk != NULL;
    if (with_psk != (psk_len > 0))
        return MTLS_ERR_INVALID_ARG;
    for (int i = 0; i < KS13_SECRET_COUNT; i++)
        drop(ks, (ks13_secret)i);
    ks->stage = KS13_STAGE_START;
    ks->psk = false;
    /* RFC 8446 7.1: Early Secret = HKDF-Extract(0, PSK); "if a given secret is not available,
     * then the 0-value consisting of a string of Hash.length bytes set to zeros is used". */
    if (!with_psk) {
        psk = zeros;
        psk_len = ks->hlen;
    }
    if (!cry_hkdf_extract(ks->alg, NULL, 0, psk, psk_len, slot(ks, KS13_EARLY_SECRET)))
        return MTLS_ERR_CRYPTO;
    keep(ks, KS13_EARLY_SECRET);
    ks->psk = with_psk;
    ks->stage = KS13_STAGE_EARLY;
    return MTLS_OK;
}

mtls_err ks13_binder(const ks13 *ks, bool external, const uint8_t *th_partial, uint8_t *out)
{
    uint8_t binder_key[KS13_MAX_HASH];
    if (ks->stage != KS13_STAGE_EARLY || !ks->psk || th_partial == NULL)
        return MTLS_ERR_BAD_STATE;
    /* RFC 8446 7.1: binder_key = Derive-Secret(Early Secret, "ext binder" | "res binder", "");
     * 4.2.11.2: the binder is computed "in the same way as the Finished message" with the
     * BaseKey being the binder_key. */
    mtls_err err = ks13_derive_secret(ks->alg, ks->s[KS13_EARLY_SECRET],
                                      external ? "ext binder" : "res binder", NULL, binder_key);
    if (!err)
        err = finished_mac(ks->alg, binder_key, th_partial, out);
    cry_wipe(binder_key, sizeof(binder_key));
    return err;
}

mtls_err ks13_binder_check(const ks13 *ks, bool external, const uint8_t *th_partial,
                           const uint8_t *binder, size_t binder_len)
{
    uint8_t want[KS13_MAX_HASH];
    mtls_err err = ks13_binder(ks, external, th_partial, want);
    if (err)
        return err;
    /* RFC 8446 4.2.11: "If this value does not validate, the server MUST abort the
     * handshake"; compared in constant time.  The length is public (it is on the wire). */
    bool ok = binder_len == ks->hlen && cry_ct_equal(want, binder, ks->hlen);
    cry_wipe(want, sizeof(want));
    return ok ? MTLS_OK : MTLS_ERR_BAD_FINISHED;
}

mtls_err ks13_early_traffic(ks13 *ks, const uint8_t *th_ch)
{
    if (ks->stage != KS13_STAGE_EARLY || !ks->psk || th_ch == NULL)
        return MTLS_ERR_BAD_STATE;
    /* RFC 8446 7.1: client_early_traffic_secret = Derive-Secret(., "c e traffic", ClientHello),
     * early_exporter_master_secret = Derive-Secret(., "e exp master", ClientHello). */
    const struct derivation d[] = {
        {"c e traffic", slot(ks, KS13_C_E_TRAFFIC)},
        {"e exp master", slot(ks, KS13_E_EXPORTER)},
    };
    mtls_err err = derive_all(ks, slot(ks, KS13_EARLY_SECRET), th_ch, d, 2);
    if (err)
        return err;
    keep(ks, KS13_C_E_TRAFFIC);
    keep(ks, KS13_E_EXPORTER);
    return MTLS_OK;
}

mtls_err ks13_handshake(ks13 *ks, const uint8_t *ecdhe, size_t ecdhe_len, const uint8_t *th_ch_sh)
{
    static const uint8_t zeros[KS13_MAX_HASH];
    uint8_t salt[KS13_MAX_HASH];
    if (ks->stage != KS13_STAGE_EARLY || th_ch_sh == NULL)
        return MTLS_ERR_BAD_STATE;
    if ((ecdhe == NULL) != (ecdhe_len == 0) || (ecdhe == NULL && !ks->psk))
        return MTLS_ERR_INVALID_ARG; /* without (EC)DHE only psk_ke is left, which needs a PSK */
    if (ecdhe == NULL) {
        ecdhe = zeros;
        ecdhe_len = ks->hlen;
    }
    /* RFC 8446 7.1: Handshake Secret = HKDF-Extract(Derive-Secret(Early Secret, "derived", ""),
     * (EC)DHE). */
    mtls_err err = derived_salt(ks, KS13_EARLY_SECRET, salt);
    if (err)
        return err;
    int ok = cry_hkdf_extract(ks->alg, salt, ks->hlen, ecdhe, ecdhe_len,
                              slot(ks, KS13_HANDSHAKE_SECRET));
    cry_wipe(salt, sizeof(salt));
    if (!ok)
        return MTLS_ERR_CRYPTO;
    keep(ks, KS13_HANDSHAKE_SECRET);
    drop(ks, KS13_EARLY_SECRET);
    drop(ks, KS13_C_E_TRAFFIC);
    drop(ks, KS13_E_EXPORTER);
    ks->stage = KS13_STAGE_HANDSHAKE;
    const struct derivation d[] = {
        {"c hs traffic", slot(ks, KS13_C_HS_TRAFFIC)},
        {"s hs traffic", slot(ks, KS13_S_HS_TRAFFIC)},
    };
    err = derive_all(ks, slot(ks, KS13_HANDSHAKE_SECRET), th_ch_sh, d, 2);
    if (err) {
        /* a stage half done is no stage: nothing of it stays */
        drop(ks, KS13_HANDSHAKE_SECRET);
        ks->stage = KS13_STAGE_NONE;
        return err;
    }
    keep(ks, KS13_C_HS_TRAFFIC);
    keep(ks, KS13_S_HS_TRAFFIC);
    return MTLS_OK;
}

mtls_err ks13_master(ks13 *ks, const uint8_t *th_ch_sf)
{
    static const uint8_t zeros[KS13_MAX_HASH];
    uint8_t salt[KS13_MAX_HASH];
    if (ks->stage != KS13_STAGE_HANDSHAKE || th_ch_sf == NULL)
        return MTLS_ERR_BAD_STATE;
    /* RFC 8446 7.1: Master Secret = HKDF-Extract(Derive-Secret(Handshake Secret, "derived", ""),
     * 0). */
    mtls_err err = derived_salt(ks, KS13_HANDSHAKE_SECRET, salt);
    if (err)
        return err;
    int ok =
        cry_hkdf_extract(ks->alg, salt, ks->hlen, zeros, ks->hlen, slot(ks, KS13_MASTER_SECRET));
    cry_wipe(salt, sizeof(salt));
    if (!ok)
        return MTLS_ERR_CRYPTO;
    keep(ks, KS13_MASTER_SECRET);
    drop(ks, KS13_HANDSHAKE_SECRET);
    drop(ks, KS13_S_HS_TRAFFIC);
    ks->stage = KS13_STAGE_MASTER;
    /* c ap traffic, s ap traffic, exp master: Derive-Secret(Master Secret, ., ClientHello...server
     * Finished). */
    const struct derivation d[] = {
        {"c ap traffic", slot(ks, KS13_C_AP_TRAFFIC)},
        {"s ap traffic", slot(ks, KS13_S_AP_TRAFFIC)},
        {"exp master", slot(ks, KS13_EXPORTER)},
    };
    err = derive_all(ks, slot(ks, KS13_MASTER_SECRET), th_ch_sf, d, 3);
    if (err) {
        drop(ks, KS13_MASTER_SECRET);
        drop(ks, KS13_C_HS_TRAFFIC);
        ks->stage = KS13_STAGE_NONE;
        return err;
    }
    keep(ks, KS13_C_AP_TRAFFIC);
    keep(ks, KS13_S_AP_TRAFFIC);
    keep(ks, KS13_EXPORTER);
    ks->c_ap_gen = ks->s_ap_gen = 0;
    return MTLS_OK;
}

mtls_err ks13_finish(ks13 *ks, const uint8_t *th_ch_cf)
{
    if (ks->stage != KS13_STAGE_MASTER || th_ch_cf == NULL)
        return MTLS_ERR_BAD_STATE;
    /* RFC 8446 7.1: resumption_master_secret = Derive-Secret(Master Secret, "res master",
     * ClientHello...client Finished). */
    struct derivation d = {"res master", slot(ks, KS13_RESUMPTION)};
    mtls_err err = derive_all(ks, slot(ks, KS13_MASTER_SECRET), th_ch_cf, &d, 1);
    drop(ks, KS13_MASTER_SECRET);
    drop(ks, KS13_C_HS_TRAFFIC);
    if (err) {
        ks->stage = KS13_STAGE_NONE;
        return err;
    }
    keep(ks, KS13_RESUMPTION);
    ks->stage = KS13_STAGE_DONE;
    return MTLS_OK;
}

/* ---- the object: what each stage offers ----------------------------------------------------- */

static bool held(const ks13 *ks, ks13_secret which)
{
    return (unsigned)which < KS13_SECRET_COUNT && HAVE(ks, which);
}

mtls_err ks13_get(const ks13 *ks, ks13_secret which, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!held(ks, which))
        return MTLS_ERR_BAD_STATE;
    if (cap < ks->hlen)
        return MTLS_ERR_INVALID_ARG;
    memcpy(out, ks->s[which], ks->hlen);
    *out_len = ks->hlen;
    return MTLS_OK;
}

static bool is_traffic(ks13_secret which)
{
    return which == KS13_C_E_TRAFFIC || which == KS13_C_HS_TRAFFIC || which == KS13_S_HS_TRAFFIC ||
           which == KS13_C_AP_TRAFFIC || which == KS13_S_AP_TRAFFIC;
}

mtls_err ks13_traffic_keys(const ks13 *ks, ks13_secret which, uint8_t *key, size_t key_len,
                           uint8_t iv[KS13_IV_LEN])
{
    if (!is_traffic(which) || !held(ks, which))
        return MTLS_ERR_BAD_STATE;
    if (key_len == 0 || key_len > CRY_AEAD_MAX_KEY)
        return MTLS_ERR_INVALID_ARG;
    cry_hmac *m = key_secret(ks->alg, ks->s[which]);
    if (m == NULL)
        return MTLS_ERR_CRYPTO;
    /* RFC 8446 7.3: [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length),
     * [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length). */
    mtls_err err = expand_label_mac(m, ks->alg, "key", 3, NULL, 0, key, key_len);
    if (!err)
        err = expand_label_mac(m, ks->alg, "iv", 2, NULL, 0, iv, KS13_IV_LEN);
    cry_hmac_free(m);
    if (err) {
        cry_wipe(key, key_len);
        cry_wipe(iv, KS13_IV_LEN);
    }
    return err;
}

mtls_err ks13_finished(const ks13 *ks, ks13_secret base, const uint8_t *th, uint8_t *out)
{
    /* RFC 8446 4.4: the Finished base keys are the handshake traffic secrets, and the client
     * application traffic secret for post-handshake authentication. */
    if ((base != KS13_C_HS_TRAFFIC && base != KS13_S_HS_TRAFFIC && base != KS13_C_AP_TRAFFIC) ||
        !held(ks, base) || th == NULL)
        return MTLS_ERR_BAD_STATE;
    return finished_mac(ks->alg, ks->s[base], th, out);
}

mtls_err ks13_finished_check(const ks13 *ks, ks13_secret base, const uint8_t *th,
                             const uint8_t *got, size_t got_len)
{
    uint8_t want[KS13_MAX_HASH];
    mtls_err err = ks13_finished(ks, base, th, want);
    if (err)
        return err;
    /* RFC 8446 4.4.4: "Recipients of Finished messages MUST verify that the contents are
     * correct and if incorrect MUST terminate the connection with a "decrypt_error" alert." */
    bool ok = got_len == ks->hlen && cry_ct_equal(want, got, ks->hlen);
    cry_wipe(want, sizeof(want));
    return ok ? MTLS_OK : MTLS_ERR_BAD_FINISHED;
}

mtls_err ks13_update(ks13 *ks, ks13_secret which)
{
    uint8_t next[KS13_MAX_HASH];
    if ((which != KS13_C_AP_TRAFFIC && which != KS13_S_AP_TRAFFIC) || !held(ks, which) ||
        (ks->stage != KS13_STAGE_MASTER && ks->stage != KS13_STAGE_DONE))
        return MTLS_ERR_BAD_STATE;
    /* RFC 8446 7.2: application_traffic_secret_N+1 =
     *   HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length) */
    mtls_err err = ks13_expand_label(ks->alg, ks->s[which], ks->hlen, "traffic upd", 11, NULL, 0,
                                     next, ks->hlen);
    if (err)
        return err;
    memcpy(ks->s[which], next, ks->hlen); /* _N is overwritten: gone */
    cry_wipe(next, sizeof(next));
    if (which == KS13_C_AP_TRAFFIC)
        ks->c_ap_gen++;
    else
        ks->s_ap_gen++;
    return MTLS_OK;
}

mtls_err ks13_resumption_psk(const ks13 *ks, const uint8_t *nonce, size_t nonce_len, uint8_t *out)
{
    if (!held(ks, KS13_RESUMPTION))
        return MTLS_ERR_BAD_STATE;
    /* RFC 8446 4.6.1: HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce,
     * Hash.length); ticket_nonce<0..255>. */
    return ks13_expand_label(ks->alg, ks->s[KS13_RESUMPTION], ks->hlen, "resumption", 10, nonce,
                             nonce_len, out, ks->hlen);
}

mtls_err ks13_exporter(cry_hash_alg alg, const uint8_t *exporter_secret, const char *label,
                       size_t label_len, const uint8_t *context, size_t context_len, uint8_t *out,
                       size_t out_len)
{
    uint8_t secret[KS13_MAX_HASH], ctx_hash[KS13_MAX_HASH], empty[KS13_MAX_HASH];
    if (!alg_ok(alg) || exporter_secret == NULL)
        return MTLS_ERR_INVALID_ARG;
    if (label == NULL || label_len < 1 || label_len > LABEL_MAX || (context_len > 0 && !context))
        return MTLS_ERR_INVALID_ARG;
    size_t hlen = cry_hash_len(alg);
    /* RFC 8446 7.5: TLS-Exporter(label, context_value, key_length) =
     *   HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context_value),
     *                     key_length) */
    if (!cry_hash_oneshot(alg, context, context_len, ctx_hash) ||
        !cry_hash_oneshot(alg, "", 0, empty))
        return MTLS_ERR_CRYPTO;
    /* the label is the application's, not NUL-terminated: Derive-Secret spelled out */
    mtls_err err =
        ks13_expand_label(alg, exporter_secret, hlen, label, label_len, empty, hlen, secret, hlen);
    if (!err)
        err = ks13_expand_label(alg, secret, hlen, "exporter", 8, ctx_hash, hlen, out, out_len);
    cry_wipe(secret, sizeof(secret));
    return err;
}

mtls_err ks13_export(const ks13 *ks, bool early, const char *label, size_t label_len,
                     const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
    ks13_secret which = early ? KS13_E_EXPORTER : KS13_EXPORTER;
    if (!held(ks, which))
        return MTLS_ERR_BAD_STATE;
    return ks13_exporter(ks->alg, ks->s[which], label, label_len, context, context_len, out,
                         out_len);
}

mtls_err ks13_keylog_line(const ks13 *ks, ks13_secret which, const uint8_t client_random[32],
                          char *line, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    const char *label;
    switch (which) {
    case KS13_C_E_TRAFFIC:
        label = "CLIENT_EARLY_TRAFFIC_SECRET";
        break;
    case KS13_E_EXPORTER:
        label = "EARLY_EXPORTER_SECRET";
        break;
    case KS13_C_HS_TRAFFIC:
        label = "CLIENT_HANDSHAKE_TRAFFIC_SECRET";
        break;
    case KS13_S_HS_TRAFFIC:
        label = "SERVER_HANDSHAKE_TRAFFIC_SECRET";
        break;
    case KS13_C_AP_TRAFFIC:
        label = ks->c_ap_gen == 0 ? "CLIENT_TRAFFIC_SECRET_0" : NULL;
        break;
    case KS13_S_AP_TRAFFIC:
        label = ks->s_ap_gen == 0 ? "SERVER_TRAFFIC_SECRET_0" : NULL;
        break;
    case KS13_EXPORTER:
        label = "EXPORTER_SECRET";
        break;
    default:
        label = NULL;
        break;
    }
    if (label == NULL || !held(ks, which))
        return MTLS_ERR_BAD_STATE;
    size_t ll = strlen(label), n = 0;
    if (cap < ll + 1 + 64 + 1 + 2u * ks->hlen + 1)
        return MTLS_ERR_INVALID_ARG;
    memcpy(line, label, ll);
    n = ll;
    line[n++] = ' ';
    for (size_t i = 0; i < 32; i++) {
        line[n++] = digits[client_random[i] >> 4];
        line[n++] = digits[client_random[i] & 15];
    }
    line[n++] = ' ';
    for (size_t i = 0; i < ks->hlen; i++) {
        line[n++] = digits[ks->s[which][i] >> 4];
        line[n++] = digits[ks->s[which][i] & 15];
    }
    line[n] = '\0';
    return MTLS_OK;
}
