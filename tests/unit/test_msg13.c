/*
 * test_msg13.c -- the TLS 1.3 message codecs and extensions (src/handshake/msg, ext), alone:
 *
 *   1. RFC 8448 known answers: every handshake message of the four example handshakes that the
 *      codecs cover (ClientHello with and without pre_shared_key and cookie, ServerHello,
 *      HelloRetryRequest, EncryptedExtensions, CertificateRequest, Certificate,
 *      CertificateVerify, Finished, NewSessionTicket) parses into the fields the RFC shows and
 *      builds back byte for byte; the partial ClientHello before the binders is the RFC's
 *      "ClientHello prefix"; each CertificateVerify verifies (with libcrypto, the test's
 *      judge) over the content msg_cv13_content makes from the transcript hash.
 *   2. Every truncation of each of those messages fails, and so does one byte too many.
 *   3. The extension table of RFC 8446 4.2, per message: an extension allowed elsewhere is
 *      illegal_parameter, an unknown one unsupported_extension where it could only answer
 *      something (ServerHello, HelloRetryRequest, EncryptedExtensions) and skipped where
 *      unknown ones are ignored (ClientHello, Certificate entries, CertificateRequest,
 *      NewSessionTicket), a repeated one illegal_parameter in TLS 1.3 messages; pre_shared_key
 *      before another extension is flagged.
 *   4. The extension codecs' own rules: key shares for one group twice, binders and identities
 *      that do not pair, empty lists, KeyUpdate values.
 */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "handshake/msg/msg.h"
#include "record/tls.h"
#include "t.h"

/* ---- RFC 8448 vectors (tests/vectors/rfc8448.txt) --------------------------------------- */

struct vec {
    char name[48];
    uint8_t *v;
    size_t len;
};
static struct vec vecs[512];
static size_t nvecs;

static void load_vectors(void)
{
    char path[1024];
    const char *src = getenv("MTLS_SRC_DIR");
    snprintf(path, sizeof path, "%s/tests/vectors/rfc8448.txt", src ? src : "..");
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    static char line[8192];
    while (fgets(line, sizeof line, f) != NULL) {
        char *eq = strstr(line, " =");
        if (line[0] == '#' || eq == NULL)
            continue;
        *eq = '\0';
        const char *hex = eq + 2;
        while (*hex == ' ')
            hex++;
        size_t hl = strcspn(hex, "\r\n");
        if (strlen(line) >= sizeof vecs[0].name || nvecs == sizeof vecs / sizeof vecs[0]) {
            fprintf(stderr, "bad vectors line\n");
            exit(1);
        }
        struct vec *v = &vecs[nvecs++];
        memcpy(v->name, line, strlen(line) + 1);
        v->len = hl / 2;
        v->v = malloc(v->len + 1);
        for (size_t i = 0; i < v->len; i++) {
            unsigned b;
            sscanf(hex + 2 * i, "%2x", &b);
            v->v[i] = (uint8_t)b;
        }
    }
    fclose(f);
}

static const struct vec *V(const char *name)
{
    for (size_t i = 0; i < nvecs; i++)
        if (strcmp(vecs[i].name, name) == 0)
            return &vecs[i];
    fprintf(stderr, "vector %s missing\n", name);
    exit(1);
}

/* The body of a handshake message vector, its header checked. */
static rd body_of(const char *name, uint8_t type)
{
    const struct vec *v = V(name);
    CHECK(v->len >= 4 && v->v[0] == type && be24_get(v->v + 1) == v->len - 4);
    return rd_init(v->v + 4, v->len - 4);
}

/* ---- a codec under test, generic over the message kinds ---------------------------------- */

typedef enum { K_CH, K_SH, K_EE, K_CR, K_CT, K_CV, K_FIN, K_NST, K_KU } kind;

typedef struct {
    struct msg_client_hello ch;
    struct msg_server_hello sh;
    struct msg_encrypted_extensions ee;
    struct msg_certificate_request13 cr;
    struct msg_certificate13 ct;
    rd certs[MSG_MAX_CHAIN], exts[MSG_MAX_CHAIN];
    struct msg_certificate_verify cv;
    struct msg_finished13 fin;
    struct msg_new_session_ticket13 nst;
    struct msg_key_update ku;
} parsed;

static mtls_err parse(kind k, rd body, parsed *p, size_t hlen)
{
    rd r = body;
    switch (k) {
    case K_CH: return msg_client_hello_parse(&r, &p->ch);
    case K_SH: return msg_server_hello_parse(&r, &p->sh);
    case K_EE: return msg_encrypted_extensions_parse(&r, &p->ee);
    case K_CR: return msg_certificate_request13_parse(&r, &p->cr);
    case K_CT:
        p->ct.certs = p->certs;
        p->ct.exts = p->exts;
        return msg_certificate13_parse(&r, &p->ct);
    case K_CV: return msg_certificate_verify_parse(&r, &p->cv);
    case K_FIN: return msg_finished13_parse(&r, hlen, &p->fin);
    case K_NST: return msg_new_session_ticket13_parse(&r, &p->nst);
    case K_KU: return msg_key_update_parse(&r, &p->ku);
    }
    return MTLS_ERR_INTERNAL;
}

static bool build(kind k, const parsed *p, wr *w)
{
    switch (k) {
    case K_CH: return msg_client_hello_build(w, &p->ch);
    case K_SH: return msg_server_hello_build(w, &p->sh);
    case K_EE: return msg_encrypted_extensions_build(w, &p->ee);
    case K_CR: return msg_certificate_request13_build(w, &p->cr);
    case K_CT: return msg_certificate13_build(w, &p->ct);
    case K_CV: return msg_certificate_verify_build(w, &p->cv);
    case K_FIN: return msg_finished13_build(w, &p->fin);
    case K_NST: return msg_new_session_ticket13_build(w, &p->nst);
    case K_KU: return msg_key_update_build(w, &p->ku);
    }
    return false;
}

static int truncations_refused, overlongs_refused;

/* Parse, rebuild byte for byte, then every truncation and one byte more must fail. */
static void roundtrip(kind k, rd body, parsed *p, size_t hlen, const char *what)
{
    int before = t_fail;
    CHECK_ERR(parse(k, body, p, hlen), MTLS_OK);
    wr w = wr_growable(1 << 20);
    CHECK(build(k, p, &w));
    CHECK_EQ(w.len, body.n);
    CHECK(w.len == body.n && memcmp(w.p, body.p, body.n) == 0);
    wr_free(&w, false);
    parsed scratch;
    for (size_t n = 0; n < body.n; n++) {
        int refused = parse(k, rd_init(body.p, n), &scratch, hlen) != MTLS_OK;
        /* A ClientHello or ServerHello may end after its compression method(s): a hello
         * without extensions (TLS 1.2) is well formed. */
        if (!refused && k == K_CH && n == body.n - (p->ch.extensions.n + 2))
            continue;
        if (!refused && k == K_SH && n == body.n - (p->sh.extensions.n + 2))
            continue;
        CHECK(refused);
        truncations_refused += refused;
    }
    uint8_t *more = malloc(body.n + 1);
    memcpy(more, body.p, body.n);
    more[body.n] = 0;
    int refused = parse(k, rd_init(more, body.n + 1), &scratch, hlen) != MTLS_OK;
    CHECK(refused);
    overlongs_refused += refused;
    free(more);
    /* the parse above must not have left the first one's views pointing into freed memory */
    CHECK_ERR(parse(k, body, p, hlen), MTLS_OK);
    if (t_fail != before)
        fprintf(stderr, "  ^ %s\n", what);
}

/* ---- 1 and 2: RFC 8448 ------------------------------------------------------------------- */

/* The digest of the concatenated messages named in `names` (NULL-terminated). */
static void transcript(const char *const *names, uint8_t out[32])
{
    cry_hash *h = cry_hash_new(CRY_SHA256);
    for (size_t i = 0; names[i]; i++)
        cry_hash_update(h, V(names[i])->v, V(names[i])->len);
    cry_hash_peek(h, out);
    cry_hash_free(h);
}

/* libcrypto's verdict on a CertificateVerify: the signature of the peer's leaf (first entry of
 * a Certificate message) over msg_cv13_content. */
static int cv_verifies(const char *cert_msg, const char *cv_msg, bool by_server,
                       const char *const *th_names)
{
    parsed p;
    CHECK_ERR(parse(K_CT, body_of(cert_msg, TLS_HS_CERTIFICATE), &p, 0), MTLS_OK);
    CHECK_ERR(parse(K_CV, body_of(cv_msg, TLS_HS_CERTIFICATE_VERIFY), &p, 0), MTLS_OK);
    const unsigned char *der = p.certs[0].p;
    X509 *x = d2i_X509(NULL, &der, (long)p.certs[0].n);
    EVP_PKEY *key = x ? X509_get0_pubkey(x) : NULL;
    uint8_t th[32], content[MSG_CV13_CONTENT_MAX];
    transcript(th_names, th);
    size_t n = msg_cv13_content(content, by_server, th, 32);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = key && EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key) == 1;
    if (ok && p.cv.sigalg == MTLS_SIG_RSA_PSS_RSAE_SHA256)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    ok = ok && EVP_DigestVerify(md, p.cv.signature.p, p.cv.signature.n, content, n) == 1;
    EVP_MD_CTX_free(md);
    X509_free(x);
    return ok;
}

static void rfc8448(void)
{
    parsed p;
    /* section 3: simple 1-RTT */
    roundtrip(K_CH, body_of("s3.ch", TLS_HS_CLIENT_HELLO), &p, 0, "s3 ClientHello");
    CHECK(p.ch.exts.supported_versions.present && p.ch.exts.key_share.present &&
          p.ch.exts.psk_key_exchange_modes.present && !p.ch.exts.pre_shared_key.present);
    {
        ext_share shares[EXT_MAX_SHARES];
        size_t n;
        const char *why;
        bool has12, has13;
        CHECK_ERR(ext_key_share_ch_parse(p.ch.exts.key_share.data, shares, EXT_MAX_SHARES, &n,
                                         &why),
                  MTLS_OK);
        CHECK(n == 1 && shares[0].group == MTLS_GROUP_X25519 &&
              shares[0].key_exchange.n == 32 &&
              memcmp(shares[0].key_exchange.p, V("s3.client_pub")->v, 32) == 0);
        CHECK_ERR(ext_versions_parse_list(p.ch.exts.supported_versions.data, &has12, &has13, &why),
                  MTLS_OK);
        CHECK(has13 && !has12);
    }
    roundtrip(K_SH, body_of("s3.sh", TLS_HS_SERVER_HELLO), &p, 0, "s3 ServerHello");
    CHECK_EQ(p.sh.kind, MSG_SH13);
    CHECK_EQ(p.sh.cipher_suite, 0x1301); /* TLS_AES_128_GCM_SHA256 */
    {
        ext_share share;
        uint16_t v;
        const char *why;
        CHECK_ERR(ext_key_share_sh_parse(p.sh.exts.key_share.data, &share, &why), MTLS_OK);
        CHECK(share.group == MTLS_GROUP_X25519 &&
              memcmp(share.key_exchange.p, V("s3.server_pub")->v, 32) == 0);
        CHECK_ERR(ext_version_parse(p.sh.exts.supported_versions.data, &v, &why), MTLS_OK);
        CHECK_EQ(v, MTLS_VERSION_TLS13);
    }
    roundtrip(K_EE, body_of("s3.ee", TLS_HS_ENCRYPTED_EXTENSIONS), &p, 0, "s3 EncryptedExtensions");
    /* the RFC's server answers record_size_limit (RFC 8449), which its client offered */
    CHECK(p.ee.exts.supported_groups.present && p.ee.exts.server_name.present &&
          p.ee.exts.record_size_limit.present);
    roundtrip(K_CT, body_of("s3.scert", TLS_HS_CERTIFICATE), &p, 0, "s3 Certificate");
    CHECK(p.ct.n == 1 && p.ct.context.n == 0 && p.exts[0].n == 0);
    roundtrip(K_CV, body_of("s3.scv", TLS_HS_CERTIFICATE_VERIFY), &p, 0, "s3 CertificateVerify");
    CHECK_EQ(p.cv.sigalg, MTLS_SIG_RSA_PSS_RSAE_SHA256);
    static const char *const s3_th_cv[] = {"s3.ch", "s3.sh", "s3.ee", "s3.scert", NULL};
    CHECK(cv_verifies("s3.scert", "s3.scv", true, s3_th_cv));
    /* the same signature is not a client's (the context strings differ, RFC 8446 4.4.3) */
    CHECK(!cv_verifies("s3.scert", "s3.scv", false, s3_th_cv));
    roundtrip(K_FIN, body_of("s3.sfin", TLS_HS_FINISHED), &p, 32, "s3 server Finished");
    CHECK(p.fin.len == 32 && memcmp(p.fin.verify_data, V("s3.s_verify_data")->v, 32) == 0);
    roundtrip(K_FIN, body_of("s3.cfin", TLS_HS_FINISHED), &p, 32, "s3 client Finished");
    CHECK(memcmp(p.fin.verify_data, V("s3.c_verify_data")->v, 32) == 0);
    /* a SHA-384 suite's Finished is 48 bytes: the 32-byte one is malformed then */
    {
        struct msg_finished13 f;
        rd b = body_of("s3.sfin", TLS_HS_FINISHED);
        CHECK_ERR(msg_finished13_parse(&b, 48, &f), MTLS_ERR_DECODE);
    }
    roundtrip(K_NST, body_of("s3.nst", TLS_HS_NEW_SESSION_TICKET), &p, 0, "s3 NewSessionTicket");
    CHECK(p.nst.nonce.n == 2 && memcmp(p.nst.nonce.p, V("s3.ticket_nonce")->v, 2) == 0);
    CHECK(p.nst.exts.early_data.present);
    {
        uint32_t max;
        const char *why;
        CHECK_ERR(ext_early_data_nst_parse(p.nst.exts.early_data.data, &max, &why), MTLS_OK);
    }

    /* section 4: resumed, with a PSK (and 0-RTT, which mtls declines) */
    {
        const struct vec *ch = V("s4.ch"), *prefix = V("s4.ch_prefix");
        roundtrip(K_CH, body_of("s4.ch", TLS_HS_CLIENT_HELLO), &p, 0, "s4 ClientHello");
        CHECK(p.ch.exts.pre_shared_key.present && !p.ch.exts.psk_not_last &&
              p.ch.exts.early_data.present);
        ext_psk_offer offer;
        const char *why;
        CHECK_ERR(ext_psk_offer_parse(p.ch.exts.pre_shared_key.data, &offer, &why), MTLS_OK);
        CHECK_EQ(offer.n, 1);
        /* the partial ClientHello a binder covers is the RFC's "ClientHello prefix" */
        CHECK_EQ(ch->len - offer.binders_len, prefix->len);
        CHECK(memcmp(ch->v, prefix->v, prefix->len) == 0);
        rd identity, binder;
        uint32_t age;
        ext_psk_offer_get(&offer, 0, &identity, &age, &binder);
        CHECK(binder.n == 32 && memcmp(binder.p, V("s4.binder")->v, 32) == 0);
        /* the identity is the ticket of section 3's NewSessionTicket */
        parsed t;
        CHECK_ERR(parse(K_NST, body_of("s3.nst", TLS_HS_NEW_SESSION_TICKET), &t, 0), MTLS_OK);
        CHECK(identity.n == t.nst.ticket.n &&
              memcmp(identity.p, t.nst.ticket.p, identity.n) == 0);
        /* and the builder writes the same extension around it, binder zeroed */
        wr w = wr_growable(4096);
        ext_psk_offer_build(&w, identity, age, 32);
        CHECK_EQ(w.len, 4 + p.ch.exts.pre_shared_key.data.n);
        CHECK(memcmp(w.p + 4, p.ch.exts.pre_shared_key.data.p,
                     p.ch.exts.pre_shared_key.data.n - 32) == 0);
        wr_free(&w, false);
    }
    roundtrip(K_SH, body_of("s4.sh", TLS_HS_SERVER_HELLO), &p, 0, "s4 ServerHello");
    {
        uint16_t sel;
        const char *why;
        CHECK(p.sh.kind == MSG_SH13 && p.sh.exts.pre_shared_key.present);
        CHECK_ERR(ext_psk_sh_parse(p.sh.exts.pre_shared_key.data, &sel, &why), MTLS_OK);
        CHECK_EQ(sel, 0);
    }
    roundtrip(K_EE, body_of("s4.ee", TLS_HS_ENCRYPTED_EXTENSIONS), &p, 0, "s4 EncryptedExtensions");
    CHECK(p.ee.exts.early_data.present);
    roundtrip(K_FIN, body_of("s4.sfin", TLS_HS_FINISHED), &p, 32, "s4 server Finished");
    roundtrip(K_FIN, body_of("s4.cfin", TLS_HS_FINISHED), &p, 32, "s4 client Finished");

    /* section 5: HelloRetryRequest */
    roundtrip(K_CH, body_of("s5.ch1", TLS_HS_CLIENT_HELLO), &p, 0, "s5 ClientHello1");
    CHECK(!p.ch.exts.cookie.present);
    roundtrip(K_SH, body_of("s5.hrr", TLS_HS_SERVER_HELLO), &p, 0, "s5 HelloRetryRequest");
    CHECK_EQ(p.sh.kind, MSG_HRR);
    CHECK(memcmp(p.sh.random, msg_hrr_random, 32) == 0);
    rd cookie = {NULL, 0};
    {
        uint16_t group;
        const char *why;
        CHECK_ERR(ext_key_share_hrr_parse(p.sh.exts.key_share.data, &group, &why), MTLS_OK);
        CHECK_EQ(group, MTLS_GROUP_SECP256R1);
        CHECK(p.sh.exts.cookie.present);
        CHECK_ERR(ext_cookie_parse(p.sh.exts.cookie.data, &cookie, &why), MTLS_OK);
        CHECK(cookie.n > 0);
    }
    {
        uint8_t *keep = malloc(cookie.n);
        size_t keep_n = cookie.n;
        memcpy(keep, cookie.p, cookie.n);
        roundtrip(K_CH, body_of("s5.ch2", TLS_HS_CLIENT_HELLO), &p, 0, "s5 ClientHello2");
        rd echoed;
        const char *why;
        CHECK(p.ch.exts.cookie.present);
        CHECK_ERR(ext_cookie_parse(p.ch.exts.cookie.data, &echoed, &why), MTLS_OK);
        CHECK(echoed.n == keep_n && memcmp(echoed.p, keep, keep_n) == 0);
        free(keep);
    }
    /* the transcript after a HelloRetryRequest: message_hash(Hash(ClientHello1)) */
    roundtrip(K_SH, body_of("s5.sh", TLS_HS_SERVER_HELLO), &p, 0, "s5 ServerHello");
    CHECK_EQ(p.sh.kind, MSG_SH13);
    roundtrip(K_EE, body_of("s5.ee", TLS_HS_ENCRYPTED_EXTENSIONS), &p, 0, "s5 EncryptedExtensions");
    roundtrip(K_CT, body_of("s5.scert", TLS_HS_CERTIFICATE), &p, 0, "s5 Certificate");
    roundtrip(K_CV, body_of("s5.scv", TLS_HS_CERTIFICATE_VERIFY), &p, 0, "s5 CertificateVerify");
    roundtrip(K_FIN, body_of("s5.sfin", TLS_HS_FINISHED), &p, 32, "s5 server Finished");
    roundtrip(K_FIN, body_of("s5.cfin", TLS_HS_FINISHED), &p, 32, "s5 client Finished");

    /* section 6: client authentication */
    roundtrip(K_CH, body_of("s6.ch", TLS_HS_CLIENT_HELLO), &p, 0, "s6 ClientHello");
    roundtrip(K_SH, body_of("s6.sh", TLS_HS_SERVER_HELLO), &p, 0, "s6 ServerHello");
    roundtrip(K_EE, body_of("s6.ee", TLS_HS_ENCRYPTED_EXTENSIONS), &p, 0, "s6 EncryptedExtensions");
    roundtrip(K_CR, body_of("s6.cr", TLS_HS_CERTIFICATE_REQUEST), &p, 0, "s6 CertificateRequest");
    CHECK(p.cr.context.n == 0 && p.cr.exts.signature_algorithms.present);
    {
        uint16_t algs[64];
        size_t n;
        const char *why;
        CHECK_ERR(ext_sigalgs_parse(p.cr.exts.signature_algorithms.data, algs, 64, &n, &why),
                  MTLS_OK);
        CHECK(n > 0);
    }
    roundtrip(K_CT, body_of("s6.scert", TLS_HS_CERTIFICATE), &p, 0, "s6 server Certificate");
    roundtrip(K_CV, body_of("s6.scv", TLS_HS_CERTIFICATE_VERIFY), &p, 0, "s6 server CertificateVerify");
    static const char *const s6_th_scv[] = {"s6.ch", "s6.sh", "s6.ee", "s6.cr", "s6.scert", NULL};
    CHECK(cv_verifies("s6.scert", "s6.scv", true, s6_th_scv));
    roundtrip(K_FIN, body_of("s6.sfin", TLS_HS_FINISHED), &p, 32, "s6 server Finished");
    roundtrip(K_CT, body_of("s6.ccert", TLS_HS_CERTIFICATE), &p, 0, "s6 client Certificate");
    roundtrip(K_CV, body_of("s6.ccv", TLS_HS_CERTIFICATE_VERIFY), &p, 0, "s6 client CertificateVerify");
    static const char *const s6_th_ccv[] = {"s6.ch",   "s6.sh",   "s6.ee",    "s6.cr",
                                            "s6.scert", "s6.scv", "s6.sfin", "s6.ccert", NULL};
    CHECK(cv_verifies("s6.ccert", "s6.ccv", false, s6_th_ccv));
    CHECK(!cv_verifies("s6.ccert", "s6.ccv", true, s6_th_ccv));
    roundtrip(K_FIN, body_of("s6.cfin", TLS_HS_FINISHED), &p, 32, "s6 client Finished");

    /* KeyUpdate has no RFC 8448 trace: both values, built and parsed */
    for (uint8_t v = 0; v < 2; v++) {
        uint8_t b = v;
        roundtrip(K_KU, rd_init(&b, 1), &p, 0, "KeyUpdate");
        CHECK_EQ(p.ku.request_update, v);
    }
    printf("RFC 8448: messages of sections 3-6 parse and rebuild byte for byte, CertificateVerify "
           "contents verify; %d truncations and %d overlong copies refused\n",
           truncations_refused, overlongs_refused);
}

/* ---- 3. the extension table (RFC 8446 4.2) ------------------------------------------------ */

/* An extensions block (with its length) of the given (type, data length) pairs, zero data. */
static size_t block(uint8_t *out, const uint16_t *types, size_t n)
{
    wr w = wr_fixed(out, 1024);
    size_t v = wr_open_u16(&w);
    for (size_t i = 0; i < n; i++) {
        wr_u16(&w, types[i]);
        wr_u16(&w, 0);
    }
    wr_close_u16(&w, v);
    return w.len;
}

static mtls_err parse_block(ext_msg in, const uint16_t *types, size_t n, hello_exts *e)
{
    uint8_t buf[1024];
    size_t len = block(buf, types, n);
    rd r = rd_init(buf, len);
    const char *why;
    mtls_err err = ext_parse_block(&r, in, e, &why);
    if (!err)
        CHECK(rd_done(&r));
    return err;
}

static void extension_table(void)
{
    static const struct {
        uint16_t type;
        unsigned in; /* RFC 8446 4.2's columns */
    } rows[] = {
        {TLS_EXT_SERVER_NAME, EXT_IN_CH | EXT_IN_EE},
        {TLS_EXT_SUPPORTED_GROUPS, EXT_IN_CH | EXT_IN_EE},
        {TLS_EXT_SIGNATURE_ALGORITHMS, EXT_IN_CH | EXT_IN_CR},
        {TLS_EXT_ALPN, EXT_IN_CH | EXT_IN_EE},
        {TLS_EXT_PRE_SHARED_KEY, EXT_IN_CH | EXT_IN_SH},
        {TLS_EXT_EARLY_DATA, EXT_IN_CH | EXT_IN_EE | EXT_IN_NST},
        {TLS_EXT_SUPPORTED_VERSIONS, EXT_IN_CH | EXT_IN_SH | EXT_IN_HRR},
        {TLS_EXT_COOKIE, EXT_IN_CH | EXT_IN_HRR},
        {TLS_EXT_PSK_KEY_EXCHANGE_MODES, EXT_IN_CH},
        {TLS_EXT_CERTIFICATE_AUTHORITIES, EXT_IN_CH | EXT_IN_CR},
        {TLS_EXT_POST_HANDSHAKE_AUTH, EXT_IN_CH},
        {TLS_EXT_SIGNATURE_ALGORITHMS_CERT, EXT_IN_CH | EXT_IN_CR},
        {TLS_EXT_KEY_SHARE, EXT_IN_CH | EXT_IN_SH | EXT_IN_HRR},
        /* TLS 1.2 only: in no TLS 1.3 message */
        {TLS_EXT_EC_POINT_FORMATS, EXT_IN_CH},
        {TLS_EXT_EXTENDED_MASTER_SECRET, EXT_IN_CH},
        {TLS_EXT_SESSION_TICKET, EXT_IN_CH},
        {TLS_EXT_RENEGOTIATION_INFO, EXT_IN_CH},
    };
    static const ext_msg tls13[] = {EXT_IN_SH, EXT_IN_HRR, EXT_IN_EE, EXT_IN_CT, EXT_IN_CR,
                                    EXT_IN_NST};
    int cells = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        hello_exts e;
        /* a ClientHello takes every one */
        CHECK_ERR(parse_block(EXT_IN_CH, &rows[i].type, 1, &e), MTLS_OK);
        for (size_t m = 0; m < sizeof(tls13) / sizeof(tls13[0]); m++) {
            mtls_err want = rows[i].in & tls13[m] ? MTLS_OK : MTLS_ERR_ILLEGAL_PARAMETER;
            mtls_err got = parse_block(tls13[m], &rows[i].type, 1, &e);
            CHECK_ERR(got, want);
            if (got != want)
                fprintf(stderr, "  ^ extension %u in message column %u\n", rows[i].type, tls13[m]);
            if (want)
                CHECK_EQ(e.bad_type, rows[i].type);
            cells++;
        }
    }
    /* unknown extensions: ignored where RFC 8446 says to, refused where they answer nothing */
    static const uint16_t unknown[] = {0x1234};
    hello_exts e;
    CHECK_ERR(parse_block(EXT_IN_CH, unknown, 1, &e), MTLS_OK);
    CHECK_ERR(parse_block(EXT_IN_CT, unknown, 1, &e), MTLS_OK);
    CHECK_ERR(parse_block(EXT_IN_CR, unknown, 1, &e), MTLS_OK);
    CHECK_ERR(parse_block(EXT_IN_NST, unknown, 1, &e), MTLS_OK);
    CHECK_ERR(parse_block(EXT_IN_SH, unknown, 1, &e), MTLS_ERR_UNOFFERED_EXTENSION);
    CHECK_ERR(parse_block(EXT_IN_HRR, unknown, 1, &e), MTLS_ERR_UNOFFERED_EXTENSION);
    CHECK_ERR(parse_block(EXT_IN_EE, unknown, 1, &e), MTLS_ERR_UNOFFERED_EXTENSION);
    CHECK_ERR(parse_block(EXT_IN_SH12, unknown, 1, &e), MTLS_ERR_UNOFFERED_EXTENSION);
    /* the TLS 1.3 extensions in a TLS 1.2 ServerHello: not offered, as before TLS 1.3 */
    static const uint16_t ks[] = {TLS_EXT_KEY_SHARE};
    CHECK_ERR(parse_block(EXT_IN_SH12, ks, 1, &e), MTLS_ERR_UNOFFERED_EXTENSION);
    /* duplicates: decode_error in a ClientHello and TLS 1.2 ServerHello (version.c makes it
     * illegal_parameter for a TLS 1.3 hello), illegal_parameter in the TLS 1.3 messages */
    static const uint16_t twice_sv[] = {TLS_EXT_SUPPORTED_VERSIONS, TLS_EXT_SUPPORTED_VERSIONS};
    static const uint16_t twice_alpn[] = {TLS_EXT_ALPN, TLS_EXT_ALPN};
    static const uint16_t twice_unknown[] = {0x1234, 0x1234};
    CHECK_ERR(parse_block(EXT_IN_CH, twice_sv, 2, &e), MTLS_ERR_DUPLICATE_EXTENSION);
    CHECK_ERR(parse_block(EXT_IN_SH, twice_sv, 2, &e), MTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_ERR(parse_block(EXT_IN_HRR, twice_sv, 2, &e), MTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_ERR(parse_block(EXT_IN_EE, twice_alpn, 2, &e), MTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_ERR(parse_block(EXT_IN_NST, twice_unknown, 2, &e), MTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_ERR(parse_block(EXT_IN_CT, twice_unknown, 2, &e), MTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_EQ(e.bad_type, 0x1234);
    /* pre_shared_key must be last in a ClientHello: the parse flags it (the server refuses) */
    static const uint16_t psk_last[] = {TLS_EXT_KEY_SHARE, TLS_EXT_PRE_SHARED_KEY};
    static const uint16_t psk_first[] = {TLS_EXT_PRE_SHARED_KEY, TLS_EXT_KEY_SHARE};
    CHECK_ERR(parse_block(EXT_IN_CH, psk_last, 2, &e), MTLS_OK);
    CHECK(!e.psk_not_last);
    CHECK_ERR(parse_block(EXT_IN_CH, psk_first, 2, &e), MTLS_OK);
    CHECK(e.psk_not_last);
    printf("extension table: %d (extension, TLS 1.3 message) cells as RFC 8446 4.2 has them\n",
           cells);
}

/* ---- 4. the extension codecs -------------------------------------------------------------- */

static void extension_codecs(void)
{
    const char *why;
    /* key_share: two entries for one group */
    uint8_t b[64];
    wr w = wr_fixed(b, sizeof(b));
    uint8_t key[32] = {1};
    ext_share two[2] = {{MTLS_GROUP_X25519, {key, 32}}, {MTLS_GROUP_X25519, {key, 32}}};
    ext_key_share_ch_build(&w, two, 1);
    ext_share out[EXT_MAX_SHARES];
    size_t n;
    CHECK_ERR(ext_key_share_ch_parse(rd_init(b + 4, w.len - 4), out, EXT_MAX_SHARES, &n, &why),
              MTLS_OK);
    uint8_t b2[128];
    wr w2 = wr_fixed(b2, sizeof(b2));
    ext_key_share_ch_build(&w2, two, 2);
    CHECK_ERR(ext_key_share_ch_parse(rd_init(b2 + 4, w2.len - 4), out, EXT_MAX_SHARES, &n, &why),
              MTLS_ERR_ILLEGAL_PARAMETER);
    /* an empty key_exchange parses (the key exchange refuses it: illegal_parameter) */
    static const uint8_t empty_share[] = {0x00, 0x04, 0x00, 0x1d, 0x00, 0x00};
    CHECK_ERR(ext_key_share_ch_parse(rd_init(empty_share, sizeof(empty_share)), out,
                                     EXT_MAX_SHARES, &n, &why),
              MTLS_OK);
    CHECK(n == 1 && out[0].key_exchange.n == 0);
    /* an empty client_shares list is allowed (RFC 8446 4.2.8: the client asks for an HRR) */
    static const uint8_t no_shares[] = {0x00, 0x00};
    CHECK_ERR(ext_key_share_ch_parse(rd_init(no_shares, 2), out, EXT_MAX_SHARES, &n, &why),
              MTLS_OK);
    CHECK_EQ(n, 0);
    /* key_share against supported_groups (RFC 8446 4.2.8), groups we do not implement included:
     * secp192r1 (0x0013) offered and shared, then shared only */
    static const uint8_t sh_p192_x25519[] = {0x00, 0x0a, 0x00, 0x13, 0x00, 0x01, 0x04,
                                             0x00, 0x1d, 0x00, 0x01, 0x09};
    static const uint8_t gr_p192_x25519[] = {0x00, 0x04, 0x00, 0x13, 0x00, 0x1d};
    static const uint8_t gr_x25519[] = {0x00, 0x02, 0x00, 0x1d};
    uint16_t unoffered;
    CHECK(ext_key_share_ch_offered(rd_init(sh_p192_x25519, sizeof(sh_p192_x25519)),
                                   rd_init(gr_p192_x25519, sizeof(gr_p192_x25519)), &unoffered));
    CHECK(!ext_key_share_ch_offered(rd_init(sh_p192_x25519, sizeof(sh_p192_x25519)),
                                    rd_init(gr_x25519, sizeof(gr_x25519)), &unoffered));
    CHECK_EQ(unoffered, 0x0013);
    CHECK(ext_key_share_ch_offered(rd_init(no_shares, 2), rd_init(gr_x25519, sizeof(gr_x25519)),
                                   &unoffered));
    /* pre_shared_key: one identity, two binders */
    uint8_t psk[256];
    wr pw = wr_fixed(psk, sizeof(psk));
    static const uint8_t ticket[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ext_psk_offer_build(&pw, rd_init(ticket, 8), 42, 32);
    ext_psk_offer offer;
    rd data = rd_init(psk + 4, pw.len - 4);
    CHECK_ERR(ext_psk_offer_parse(data, &offer, &why), MTLS_OK);
    CHECK(offer.n == 1 && offer.binders_len == 2 + 1 + 32);
    uint8_t pair[256];
    memcpy(pair, psk + 4, data.n);
    /* append a second binder: patch the binders list length */
    size_t bl = data.n - offer.binders_len;
    pair[bl + 1] = (uint8_t)(pair[bl + 1] + 33);
    pair[data.n] = 32;
    memset(pair + data.n + 1, 7, 32);
    CHECK_ERR(ext_psk_offer_parse(rd_init(pair, data.n + 33), &offer, &why),
              MTLS_ERR_ILLEGAL_PARAMETER);
    /* a binder shorter than 32 bytes is malformed */
    uint8_t shortb[256];
    memcpy(shortb, psk + 4, data.n);
    shortb[bl + 1] = (uint8_t)(shortb[bl + 1] - 1);
    shortb[bl + 2] = 31;
    CHECK_ERR(ext_psk_offer_parse(rd_init(shortb, data.n - 1), &offer, &why), MTLS_ERR_DECODE);
    /* psk_key_exchange_modes: empty is malformed; unknown modes skipped */
    static const uint8_t modes_empty[] = {0};
    static const uint8_t modes_odd[] = {2, 7, EXT_PSK_DHE_KE};
    bool ke, dhe;
    CHECK_ERR(ext_psk_modes_parse(rd_init(modes_empty, 1), &ke, &dhe, &why), MTLS_ERR_DECODE);
    CHECK_ERR(ext_psk_modes_parse(rd_init(modes_odd, 3), &ke, &dhe, &why), MTLS_OK);
    CHECK(dhe && !ke);
    /* supported_versions: an odd length, and none at all */
    static const uint8_t sv_odd[] = {3, 3, 4, 3};
    static const uint8_t sv_none[] = {0};
    bool has12, has13;
    CHECK_ERR(ext_versions_parse_list(rd_init(sv_odd, 4), &has12, &has13, &why), MTLS_ERR_DECODE);
    CHECK_ERR(ext_versions_parse_list(rd_init(sv_none, 1), &has12, &has13, &why), MTLS_ERR_DECODE);
    /* a GREASE value and TLS 1.1 are skipped */
    static const uint8_t sv_grease[] = {6, 0x5a, 0x5a, 3, 2, 3, 4};
    CHECK_ERR(ext_versions_parse_list(rd_init(sv_grease, 7), &has12, &has13, &why), MTLS_OK);
    CHECK(has13 && !has12);
    /* cookie: empty is malformed */
    static const uint8_t cookie_empty[] = {0, 0};
    rd c;
    CHECK_ERR(ext_cookie_parse(rd_init(cookie_empty, 2), &c, &why), MTLS_ERR_DECODE);
    /* certificate_authorities: an empty DN, and an empty list */
    static const uint8_t ca_empty_dn[] = {0, 2, 0, 0};
    static const uint8_t ca_empty[] = {0, 0};
    CHECK_ERR(ext_ca_names_parse(rd_init(ca_empty_dn, 4), &n, &why), MTLS_ERR_DECODE);
    CHECK_ERR(ext_ca_names_parse(rd_init(ca_empty, 2), &n, &why), MTLS_ERR_DECODE);
    /* KeyUpdate: request_update 2 is illegal_parameter (RFC 8446 4.6.3) */
    uint8_t two_val = 2;
    rd kr = rd_init(&two_val, 1);
    struct msg_key_update ku;
    CHECK_ERR(msg_key_update_parse(&kr, &ku), MTLS_ERR_ILLEGAL_PARAMETER);
    /* a CertificateRequest with an empty extensions block is malformed (extensions<2..>) */
    static const uint8_t cr_empty[] = {0, 0, 0};
    rd crr = rd_init(cr_empty, 3);
    struct msg_certificate_request13 cr;
    CHECK_ERR(msg_certificate_request13_parse(&crr, &cr), MTLS_ERR_DECODE);
    /* a NewSessionTicket with an empty ticket is malformed (ticket<1..>) */
    static const uint8_t nst_empty[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    rd nr = rd_init(nst_empty, sizeof(nst_empty));
    struct msg_new_session_ticket13 nst;
    CHECK_ERR(msg_new_session_ticket13_parse(&nr, &nst), MTLS_ERR_DECODE);
    /* Certificate: an empty cert_data is malformed; 17 certificates are too many */
    static const uint8_t ct_empty_cert[] = {0, 0, 0, 5, 0, 0, 0, 0, 0};
    rd ctr = rd_init(ct_empty_cert, sizeof(ct_empty_cert));
    rd certs[MSG_MAX_CHAIN];
    struct msg_certificate13 ct = {.certs = certs};
    CHECK_ERR(msg_certificate13_parse(&ctr, &ct), MTLS_ERR_DECODE);
    uint8_t many[4 + 17 * 6];
    wr mw = wr_fixed(many, sizeof(many));
    wr_u8(&mw, 0);
    size_t l = wr_open_u24(&mw);
    for (int i = 0; i < 17; i++) {
        wr_u24(&mw, 1);
        wr_u8(&mw, 0x30);
        wr_u16(&mw, 0);
    }
    wr_close_u24(&mw, l);
    rd mr = rd_init(many, mw.len);
    CHECK_ERR(msg_certificate13_parse(&mr, &ct), MTLS_ERR_CERT_CHAIN_TOO_LONG);
    printf("extension codecs: key shares, binders, modes, versions, cookie, CA names, KeyUpdate\n");
}

int main(void)
{
    if (!cry_init())
        return 1;
    load_vectors();
    rfc8448();
    extension_table();
    extension_codecs();
    return t_done();
}
