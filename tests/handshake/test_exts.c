/*
 * test_exts.c -- what a server answers in its ServerHello's extensions, and what both sides then
 * report, in memory:
 *
 *   1. server_name (RFC 6066 section 3): without a server name callback the server serves the
 *      name but does not acknowledge it; with a callback that accepts it, an empty server_name
 *      answers it; a callback that refuses it ends the handshake with unrecognized_name; a
 *      client that names no server gets no acknowledgement (the callback sees NULL); a resumed
 *      handshake never acknowledges.
 *   2. ALPN on resumption (RFC 7301 section 3.1, RFC 5246 7.4.1.4): negotiated afresh on every
 *      handshake, both roles.  A session made with "h2" resumed by a client that offers no ALPN,
 *      another list, or the same list: the ServerHello answers only what the new ClientHello
 *      offered and both sides report that; a server without ALPN resuming such a session sends
 *      none and the client reports none; no common protocol on resumption: no_application_protocol.
 *      By session ticket and by session id.
 */
#include <string.h>

#include "common/testpki.h"
#include "t.h"

/* ---- the ServerHello on the wire --------------------------------------------------------- */

typedef struct sh_exts {
    int seen;                 /* a ServerHello was found */
    int server_name;          /* -1 absent, else its extension_data length */
    char alpn[64];            /* "" when absent */
    int alpn_present;
} sh_exts;

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The extensions of the ServerHello at the head of a server's first flight (plaintext records). */
static sh_exts parse_server_hello(const uint8_t *p, size_t n)
{
    sh_exts r = {0, -1, "", 0};
    if (n < 5 + 4 || p[0] != 22 || p[5] != 2)
        return r;
    size_t rec = 5 + get16(p + 3), off = 9;
    if (rec > n)
        return r;
    off += 2 + 32;                      /* server_version, random */
    off += 1 + (off < rec ? p[off] : 0); /* session_id */
    off += 2 + 1;                       /* cipher_suite, compression_method */
    r.seen = 1;
    if (off + 2 > rec)
        return r; /* no extensions block */
    size_t end = off + 2 + get16(p + off);
    for (off += 2; off + 4 <= end && end <= rec;) {
        uint16_t type = get16(p + off), len = get16(p + off + 2);
        const uint8_t *d = p + off + 4;
        if (type == 0)
            r.server_name = len;
        if (type == 16 && len >= 3 && d[2] + 3 == len && d[2] < sizeof(r.alpn)) {
            r.alpn_present = 1;
            memcpy(r.alpn, d + 3, d[2]);
            r.alpn[d[2]] = 0;
        }
        off += 4 + (size_t)len;
    }
    return r;
}

/* The pump's watcher: the server's first answer (its ServerHello flight) parsed. */
struct seeing {
    sh_exts *sh;
    int seen;
};
static void see_first_answer(void *arg, int to_server, const uint8_t *p, size_t n)
{
    struct seeing *s = arg;
    if (!to_server && !s->seen++)
        *s->sh = parse_server_hello(p, n);
}

/* Runs the handshake, looking at the server's first answer on the way.  Returns what
 * tp_handshake returns. */
static mtls_err handshake_seeing(mtls_conn *c, mtls_conn *s, sh_exts *sh)
{
    struct seeing st = {sh, 0};
    *sh = parse_server_hello(NULL, 0);
    tp_wire w = {.watch = see_first_answer, .arg = &st};
    return tp_pump(c, s, &w);
}

static mtls_config *server_cfg(const char *alpn, const uint8_t *ticket_keys)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->server[TP_P256];
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                             strlen(id->key_pem)),
              MTLS_OK);
    if (alpn)
        CHECK_ERR(mtls_config_set_alpn(cfg, alpn), MTLS_OK);
    if (ticket_keys)
        CHECK_ERR(mtls_config_set_ticket_keys(cfg, ticket_keys, 1), MTLS_OK);
    /* The TLS 1.2 ServerHello is read off the wire here (TLS 1.3 answers these extensions in the
     * encrypted EncryptedExtensions: test_tls13). */
    CHECK_ERR(mtls_config_set_versions(cfg, MTLS_VERSION_TLS12, MTLS_VERSION_TLS12), MTLS_OK);
    return cfg;
}

static mtls_config *client_cfg(const char *alpn, int tickets)
{
    const tp_pki *pki = tp_get();
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    if (alpn)
        CHECK_ERR(mtls_config_set_alpn(cfg, alpn), MTLS_OK);
    CHECK_ERR(mtls_config_set_tickets(cfg, tickets), MTLS_OK);
    return cfg;
}

/* ---- 1. server_name ------------------------------------------------------------------------ */

static struct {
    int calls;
    char name[64];
    int null_name;
    mtls_err answer;
} cb;

static mtls_err name_cb(void *arg, const mtls_conn *conn, const char *name)
{
    CHECK(arg == &cb);
    CHECK(mtls_conn_is_server(conn));
    cb.calls++;
    cb.null_name = name == NULL;
    snprintf(cb.name, sizeof(cb.name), "%s", name ? name : "");
    /* the getter gives the same name during the call */
    const char *got = mtls_conn_server_name(conn);
    CHECK(name ? got && strcmp(got, name) == 0 : got == NULL);
    return cb.answer;
}

static void sni_cases(void)
{
    for (int with_cb = 0; with_cb < 2; with_cb++) {
        mtls_config *scfg = server_cfg(NULL, NULL), *ccfg = client_cfg(NULL, 1);
        memset(&cb, 0, sizeof(cb));
        if (with_cb)
            CHECK_ERR(mtls_config_set_server_name_callback(scfg, name_cb, &cb), MTLS_OK);
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        sh_exts sh;
        CHECK_ERR(handshake_seeing(c, s, &sh), MTLS_OK);
        CHECK(sh.seen);
        /* RFC 6066 3: acknowledged only when used -- here, accepted by the callback */
        CHECK_EQ(sh.server_name, with_cb ? 0 : -1);
        CHECK(mtls_conn_server_name(s) && strcmp(mtls_conn_server_name(s), "localhost") == 0);
        CHECK_EQ(cb.calls, with_cb);
        if (with_cb)
            CHECK(strcmp(cb.name, "localhost") == 0);
        printf("server_name, %s: ServerHello %s\n",
               with_cb ? "callback accepts \"localhost\"" : "no callback",
               sh.server_name < 0 ? "without server_name" : "with an empty server_name");
        mtls_session *sess = mtls_conn_get_session(c);
        mtls_conn_free(c);
        mtls_conn_free(s);

        /* resumed: never acknowledged (RFC 6066 3 "MUST NOT"), the callback still asked */
        c = mtls_client_new(ccfg, "localhost");
        s = mtls_server_new(scfg);
        CHECK_ERR(mtls_conn_set_session(c, sess), MTLS_OK);
        CHECK_ERR(handshake_seeing(c, s, &sh), MTLS_OK);
        CHECK(mtls_conn_resumed(c) && mtls_conn_resumed(s));
        CHECK_EQ(sh.server_name, -1);
        CHECK_EQ(cb.calls, 2 * with_cb);
        mtls_session_free(sess);
        mtls_conn_free(c);
        mtls_conn_free(s);

        /* no name from the client (an IP literal is not sent): nothing to acknowledge */
        c = mtls_client_new(ccfg, "127.0.0.1");
        s = mtls_server_new(scfg);
        CHECK_ERR(handshake_seeing(c, s, &sh), MTLS_OK);
        CHECK_EQ(sh.server_name, -1);
        CHECK(mtls_conn_server_name(s) == NULL);
        if (with_cb)
            CHECK(cb.calls == 3 && cb.null_name);
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(scfg);
        mtls_config_free(ccfg);
    }

    /* a callback that refuses the name: fatal unrecognized_name, seen by the client */
    mtls_config *scfg = server_cfg(NULL, NULL), *ccfg = client_cfg(NULL, 1);
    memset(&cb, 0, sizeof(cb));
    cb.answer = MTLS_ERR_UNRECOGNIZED_NAME;
    CHECK_ERR(mtls_config_set_server_name_callback(scfg, name_cb, &cb), MTLS_OK);
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    sh_exts sh;
    CHECK(handshake_seeing(c, s, &sh) != MTLS_OK);
    CHECK(!sh.seen);
    CHECK_ERR(mtls_conn_error(s), MTLS_ERR_UNRECOGNIZED_NAME);
    CHECK_EQ(mtls_conn_alert_sent(s), 112);
    CHECK_ERR(mtls_conn_error(c), MTLS_ERR_PEER_ALERT);
    CHECK_EQ(mtls_conn_alert_received(c), 112);
    printf("server_name, callback refuses: server %s, client got alert %s\n",
           mtls_err_name(mtls_conn_error(s)), mtls_alert_name(mtls_conn_alert_received(c)));
    mtls_conn_free(c);
    mtls_conn_free(s);
    /* any other refusal is unrecognized_name too */
    cb.answer = MTLS_ERR_CERT_REJECTED;
    c = mtls_client_new(ccfg, "localhost");
    s = mtls_server_new(scfg);
    CHECK(tp_handshake(c, s) != MTLS_OK);
    CHECK_ERR(mtls_conn_error(s), MTLS_ERR_UNRECOGNIZED_NAME);
    CHECK_EQ(mtls_conn_alert_received(c), 112);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
}

/* ---- 2. ALPN on resumption ------------------------------------------------------------------ */

/* One connection offering `sess` (may be NULL); checks the ServerHello's ALPN and what both
 * sides report against `want` (NULL: none).  Returns the client's session. */
static mtls_session *alpn_once(mtls_config *ccfg, mtls_config *scfg, mtls_session *sess,
                               int want_resumed, const char *want, const char *what)
{
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    if (sess)
        CHECK_ERR(mtls_conn_set_session(c, sess), MTLS_OK);
    sh_exts sh;
    mtls_err err = handshake_seeing(c, s, &sh);
    CHECK_ERR(err, MTLS_OK);
    if (err)
        fprintf(stderr, "  %s: client: %s | server: %s\n", what, mtls_conn_error_detail(c),
                mtls_conn_error_detail(s));
    CHECK_EQ(mtls_conn_resumed(c), want_resumed);
    CHECK_EQ(mtls_conn_resumed(s), want_resumed);
    CHECK_EQ(sh.alpn_present, want != NULL);
    CHECK(want ? strcmp(sh.alpn, want) == 0 : 1);
    const char *ca = mtls_conn_alpn(c), *sa = mtls_conn_alpn(s);
    CHECK(want ? ca && strcmp(ca, want) == 0 : ca == NULL);
    CHECK(want ? sa && strcmp(sa, want) == 0 : sa == NULL);
    printf("ALPN, %s: %s; ServerHello ALPN %s; client reports %s, server %s\n", what,
           mtls_conn_resumed(c) ? "resumed" : "full handshake", sh.alpn_present ? sh.alpn : "none",
           ca ? ca : "none", sa ? sa : "none");
    mtls_session *out = err ? NULL : mtls_conn_get_session(c);
    mtls_conn_free(c);
    mtls_conn_free(s);
    return out;
}

static void alpn_cases(void)
{
    uint8_t keys[80];
    memset(keys, 0x3c, 48);
    memset(keys + 48, 0, 32);
    for (int tickets = 0; tickets < 2; tickets++) {
        const char *how = tickets ? "ticket" : "session id";
        mtls_config *scfg = server_cfg("h2,http/1.1", keys);
        mtls_config *both = client_cfg("h2,http/1.1", tickets), *none = client_cfg(NULL, tickets);
        mtls_config *other = client_cfg("http/1.1", tickets), *alien = client_cfg("spdy/3", tickets);
        char what[128];
        snprintf(what, sizeof(what), "first handshake, client h2,http/1.1 (%s)", how);
        mtls_session *s1 = alpn_once(both, scfg, NULL, 0, "h2", what);
        CHECK(s1 != NULL);
        if (!s1)
            return;
        /* RFC 7301 3.1: the session's "h2" is irrelevant; only the new hellos count */
        snprintf(what, sizeof(what), "resumed, client offers no ALPN (%s)", how);
        mtls_session *s2 = alpn_once(none, scfg, s1, 1, NULL, what);
        snprintf(what, sizeof(what), "resumed, client offers http/1.1 (%s)", how);
        mtls_session *s3 = alpn_once(other, scfg, s1, 1, "http/1.1", what);
        snprintf(what, sizeof(what), "resumed, client offers h2,http/1.1 (%s)", how);
        mtls_session *s4 = alpn_once(both, scfg, s1, 1, "h2", what);

        /* no protocol in common on resumption: refused as in a full handshake */
        mtls_conn *c = mtls_client_new(alien, "localhost"), *s = mtls_server_new(scfg);
        CHECK_ERR(mtls_conn_set_session(c, s1), MTLS_OK);
        CHECK(tp_handshake(c, s) != MTLS_OK);
        CHECK_ERR(mtls_conn_error(s), MTLS_ERR_NO_ALPN);
        CHECK_EQ(mtls_conn_alert_received(c), 120);
        mtls_conn_free(c);
        mtls_conn_free(s);

        /* Client side: a server without ALPN that can resume the session (same ticket keys)
         * answers none, and the client must not report the session's "h2". */
        if (tickets) {
            mtls_config *plain = server_cfg(NULL, keys);
            mtls_session *s5 = alpn_once(both, plain, s1, 1, NULL,
                                         "resumed by a server without ALPN, client offers h2 (ticket)");
            mtls_session_free(s5);
            mtls_config_free(plain);
        }
        mtls_session *all[] = {s1, s2, s3, s4};
        for (size_t i = 0; i < 4; i++)
            mtls_session_free(all[i]);
        mtls_config *cfgs[] = {scfg, both, none, other, alien};
        for (size_t i = 0; i < 5; i++)
            mtls_config_free(cfgs[i]);
    }
}

int main(void)
{
    sni_cases();
    alpn_cases();
    return t_done();
}
