/*
 * test_msg.c -- the pure message codecs (src/handshake/msg) and extension parsers
 * (src/handshake/ext), with no connection.  For every message: built from a struct, parsed
 * back into the same fields, built again into the same bytes (round trip); every truncation of
 * the body fails, and so does one byte too many -- except the one truncation RFC 5246 7.4.1.2 /
 * 7.4.1.3 makes well-formed, a hello cut exactly before its extensions block, which parses as a
 * hello without extensions.  Then the extension block's table (duplicates, what a ServerHello may
 * not carry, what a ClientHello may carry and mtls ignores) and each extension's parser on its
 * builder's output and on malformed data.
 */
#include <string.h>

#include "handshake/hs.h"
#include "t.h"

static uint8_t pattern[600];

/* Every truncation of `m` (n bytes) fails to parse, except at `ok_cut` (SIZE_MAX: none); one
 * byte more fails too.  parse: the codec, on a reader over the bytes. */
typedef mtls_err parse_fn(rd *body);
static void truncations(const char *what, const uint8_t *m, size_t n, parse_fn *parse,
                        size_t ok_cut)
{
    int fails = t_fail;
    static uint8_t buf[70000];
    for (size_t cut = 0; cut < n; cut++) {
        memcpy(buf, m, cut);
        rd r = rd_init(buf, cut);
        mtls_err err = parse(&r);
        if (cut == ok_cut)
            CHECK_ERR(err, MTLS_OK);
        else
            CHECK(err != MTLS_OK);
    }
    memcpy(buf, m, n);
    buf[n] = 0;
    rd r = rd_init(buf, n + 1);
    CHECK(parse(&r) != MTLS_OK);
    r = rd_init(buf, n);
    CHECK_ERR(parse(&r), MTLS_OK);
    if (t_fail != fails)
        fprintf(stderr, "  ^ %s (%zu bytes)\n", what, n);
}

static int rd_eq(rd a, rd b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* ---- hellos -------------------------------------------------------------------------------- */

static uint8_t ch_exts[512], sh_exts[128];
static size_t ch_exts_len, sh_exts_len;

static mtls_err parse_ch(rd *r)
{
    struct msg_client_hello ch;
    return msg_client_hello_parse(r, &ch);
}

static void client_hello(void)
{
    static const uint16_t groups[] = {29, 23}, algs[] = {0x0403, 0x0804};
    wr e = wr_fixed(ch_exts, sizeof(ch_exts));
    ext_sni_build(&e, "example.com");
    ext_groups_build(&e, groups, 2);
    ext_point_formats_build(&e);
    ext_sigalgs_build(&e, algs, 2);
    ext_ems_build(&e);
    ext_reneg_build(&e);
    ext_alpn_build(&e, (const uint8_t *)"\x02h2\x08http/1.1", 12);
    ext_ticket_build(&e, pattern, 0);
    CHECK(wr_ok(&e));
    ch_exts_len = e.len;
    static const uint8_t suites[] = {0xc0, 0x2b, 0x00, 0x9c}, comp[] = {0};
    struct msg_client_hello in = {
        .client_version = MTLS_VERSION_TLS12,
        .session_id = rd_init(pattern + 100, 32),
        .cipher_suites = rd_init(suites, 4),
        .compression_methods = rd_init(comp, 1),
        .extensions = rd_init(ch_exts, ch_exts_len),
        .has_extensions = true,
    };
    memcpy(in.random, pattern, 32);
    uint8_t m[1024], again[1024];
    wr w = wr_fixed(m, sizeof(m));
    CHECK(msg_client_hello_build(&w, &in));
    struct msg_client_hello out;
    rd r = rd_init(m, w.len);
    CHECK_ERR(msg_client_hello_parse(&r, &out), MTLS_OK);
    CHECK(out.client_version == in.client_version && memcmp(out.random, in.random, 32) == 0);
    CHECK(rd_eq(out.session_id, in.session_id) && rd_eq(out.cipher_suites, in.cipher_suites));
    CHECK(rd_eq(out.compression_methods, in.compression_methods));
    CHECK(out.has_extensions && rd_eq(out.extensions, in.extensions));
    const hello_exts *x = &out.exts;
    CHECK(x->server_name.present && x->supported_groups.present && x->ec_point_formats.present);
    CHECK(x->signature_algorithms.present && x->ems.present && x->renegotiation_info.present);
    CHECK(x->alpn.present && x->session_ticket.present && x->session_ticket.data.n == 0);
    wr w2 = wr_fixed(again, sizeof(again));
    CHECK(msg_client_hello_build(&w2, &out));
    CHECK(w2.len == w.len && memcmp(again, m, w.len) == 0);
    /* well-formed without extensions: cut right after compression_methods */
    size_t before_exts = 2 + 32 + 1 + 32 + 2 + 4 + 1 + 1;
    truncations("ClientHello", m, w.len, parse_ch, before_exts);
    r = rd_init(m, before_exts);
    CHECK_ERR(msg_client_hello_parse(&r, &out), MTLS_OK);
    CHECK(!out.has_extensions && !out.exts.server_name.present);
    w2 = wr_fixed(again, sizeof(again));
    CHECK(msg_client_hello_build(&w2, &out) && w2.len == before_exts);

    /* fields out of their ranges */
    static const uint8_t odd_suites[] = {0xc0, 0x2b, 0x00}, no_comp[1] = {0};
    struct msg_client_hello bad = in;
    bad.cipher_suites = rd_init(odd_suites, 3);
    w = wr_fixed(m, sizeof(m));
    msg_client_hello_build(&w, &bad);
    r = rd_init(m, w.len);
    CHECK_ERR(msg_client_hello_parse(&r, &out), MTLS_ERR_DECODE);
    bad = in;
    bad.compression_methods = rd_init(no_comp, 0);
    w = wr_fixed(m, sizeof(m));
    msg_client_hello_build(&w, &bad);
    r = rd_init(m, w.len);
    CHECK_ERR(msg_client_hello_parse(&r, &out), MTLS_ERR_DECODE);
    bad = in;
    bad.session_id = rd_init(pattern, 33);
    w = wr_fixed(m, sizeof(m));
    msg_client_hello_build(&w, &bad);
    r = rd_init(m, w.len);
    CHECK_ERR(msg_client_hello_parse(&r, &out), MTLS_ERR_DECODE);
}

static mtls_err parse_sh(rd *r)
{
    struct msg_server_hello sh;
    return msg_server_hello_parse(r, &sh);
}

static void server_hello(void)
{
    wr e = wr_fixed(sh_exts, sizeof(sh_exts));
    ext_reneg_build(&e);
    ext_ems_build(&e);
    ext_point_formats_build(&e);
    ext_empty_build(&e, TLS_EXT_SESSION_TICKET);
    ext_alpn_build(&e, (const uint8_t *)"\x02h2", 3);
    sh_exts_len = e.len;
    struct msg_server_hello in = {
        .server_version = MTLS_VERSION_TLS12,
        .session_id = rd_init(pattern + 200, 32),
        .cipher_suite = 0xc02b,
        .compression_method = 0,
        .extensions = rd_init(sh_exts, sh_exts_len),
    };
    memcpy(in.random, pattern + 50, 32);
    uint8_t m[512], again[512];
    wr w = wr_fixed(m, sizeof(m));
    CHECK(msg_server_hello_build(&w, &in));
    struct msg_server_hello out;
    rd r = rd_init(m, w.len);
    CHECK_ERR(msg_server_hello_parse(&r, &out), MTLS_OK);
    CHECK(out.server_version == in.server_version && out.cipher_suite == in.cipher_suite);
    CHECK(memcmp(out.random, in.random, 32) == 0 && rd_eq(out.session_id, in.session_id));
    CHECK(out.compression_method == 0 && rd_eq(out.extensions, in.extensions));
    CHECK(out.exts.renegotiation_info.present && out.exts.ems.present && out.exts.alpn.present);
    CHECK(out.exts.ec_point_formats.present && out.exts.session_ticket.present);
    CHECK(!out.exts.server_name.present);
    wr w2 = wr_fixed(again, sizeof(again));
    CHECK(msg_server_hello_build(&w2, &out) && w2.len == w.len && memcmp(again, m, w.len) == 0);
    size_t before_exts = 2 + 32 + 1 + 32 + 2 + 1;
    truncations("ServerHello", m, w.len, parse_sh, before_exts);
    /* an empty extensions block is not built at all */
    in.extensions = rd_init(NULL, 0);
    w = wr_fixed(m, sizeof(m));
    CHECK(msg_server_hello_build(&w, &in) && w.len == before_exts);
}

/* The extensions block: the table decides per message. */
static void block(void)
{
    uint8_t b[64];
    hello_exts e;
    const char *why;
    /* a type twice */
    wr w = wr_fixed(b, sizeof(b));
    size_t v = wr_open_u16(&w);
    ext_ems_build(&w);
    ext_ems_build(&w);
    wr_close_u16(&w, v);
    rd r = rd_init(b, w.len);
    CHECK_ERR(ext_parse_block(&r, EXT_IN_CH, &e, &why), MTLS_ERR_DUPLICATE_EXTENSION);
    CHECK_EQ(e.bad_type, TLS_EXT_EXTENDED_MASTER_SECRET);
    /* one mtls does not know: ignored in a ClientHello, refused in a ServerHello */
    w = wr_fixed(b, sizeof(b));
    v = wr_open_u16(&w);
    ext_empty_build(&w, 0x1234);
    ext_ems_build(&w);
    wr_close_u16(&w, v);
    r = rd_init(b, w.len);
    CHECK_ERR(ext_parse_block(&r, EXT_IN_CH, &e, &why), MTLS_OK);
    CHECK(e.ems.present && rd_done(&r));
    r = rd_init(b, w.len);
    CHECK_ERR(ext_parse_block(&r, EXT_IN_SH12, &e, &why), MTLS_ERR_UNOFFERED_EXTENSION);
    CHECK_EQ(e.bad_type, 0x1234);
    /* the TLS 1.3 columns: signature_algorithms may be in a CertificateRequest, not in
     * EncryptedExtensions; ALPN the other way round.  RFC 8446 4.2: a recognized extension "not
     * specified for the message in which it appears" is illegal_parameter. */
    static const uint16_t algs[] = {0x0804};
    w = wr_fixed(b, sizeof(b));
    v = wr_open_u16(&w);
    ext_sigalgs_build(&w, algs, 1);
    wr_close_u16(&w, v);
    r = rd_init(b, w.len);
    CHECK_ERR(ext_parse_block(&r, EXT_IN_CR, &e, &why), MTLS_OK);
    r = rd_init(b, w.len);
    CHECK_ERR(ext_parse_block(&r, EXT_IN_EE, &e, &why), MTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_EQ(e.bad_type, TLS_EXT_SIGNATURE_ALGORITHMS);
    /* malformed: a one-byte block, an extension cut short */
    static const uint8_t one[] = {0, 1, 0}, cut[] = {0, 4, 0, 23, 0, 1};
    r = rd_init(one, sizeof(one));
    CHECK_ERR(ext_parse_block(&r, EXT_IN_CH, &e, &why), MTLS_ERR_DECODE);
    r = rd_init(cut, sizeof(cut));
    CHECK_ERR(ext_parse_block(&r, EXT_IN_CH, &e, &why), MTLS_ERR_DECODE);
}

/* Each extension's parser reads what its builder wrote, and refuses what it must. */
static rd ext_data(const uint8_t *ext, size_t len)
{
    return rd_init(ext + 4, len - 4); /* past type and length */
}

static void extensions(void)
{
    uint8_t b[300];
    const char *why;
    wr w = wr_fixed(b, sizeof(b));
    ext_sni_build(&w, "example.com");
    rd host;
    CHECK_ERR(ext_sni_parse(ext_data(b, w.len), &host, &why), MTLS_OK);
    CHECK(host.n == 11 && memcmp(host.p, "example.com", 11) == 0);
    w = wr_fixed(b, sizeof(b));
    ext_sni_build(&w, "bad\x01name");
    CHECK_ERR(ext_sni_parse(ext_data(b, w.len), &host, &why), MTLS_ERR_ILLEGAL_PARAMETER);

    static const uint16_t groups[] = {29, 0x9999, 24};
    uint16_t out[8];
    size_t n;
    w = wr_fixed(b, sizeof(b));
    ext_groups_build(&w, groups, 3);
    CHECK_ERR(ext_groups_parse(ext_data(b, w.len), out, 8, &n, &why), MTLS_OK);
    CHECK(n == 2 && out[0] == 29 && out[1] == 24); /* the unknown one skipped */
    CHECK_ERR(ext_groups_parse(ext_data(b, w.len), out, 1, &n, &why), MTLS_OK);
    CHECK_EQ(n, 1);

    static const uint16_t algs[] = {0x0403, 0x0201, 0x0804};
    w = wr_fixed(b, sizeof(b));
    ext_sigalgs_build(&w, algs, 3);
    CHECK_ERR(ext_sigalgs_parse(ext_data(b, w.len), out, 8, &n, &why), MTLS_OK);
    CHECK(n == 2 && out[0] == 0x0403 && out[1] == 0x0804);

    w = wr_fixed(b, sizeof(b));
    ext_point_formats_build(&w);
    CHECK_ERR(ext_point_formats_parse(ext_data(b, w.len), &why), MTLS_OK);
    static const uint8_t compressed_only[] = {1, 1};
    CHECK_ERR(ext_point_formats_parse(rd_init(compressed_only, 2), &why),
              MTLS_ERR_ILLEGAL_PARAMETER);

    w = wr_fixed(b, sizeof(b));
    ext_alpn_build(&w, (const uint8_t *)"\x02h2\x08http/1.1", 12);
    rd list, chosen;
    CHECK_ERR(ext_alpn_parse_list(ext_data(b, w.len), &list, &why), MTLS_OK);
    CHECK(ext_alpn_select((const uint8_t *)"\x08http/1.1", 9, list, &chosen));
    CHECK(chosen.n == 8 && memcmp(chosen.p, "http/1.1", 8) == 0);
    CHECK(!ext_alpn_select((const uint8_t *)"\x03spd", 4, list, &chosen));
    CHECK_ERR(ext_alpn_parse_one(ext_data(b, w.len), &chosen, &why), MTLS_ERR_DECODE);
    w = wr_fixed(b, sizeof(b));
    ext_alpn_build(&w, (const uint8_t *)"\x02h2", 3);
    CHECK_ERR(ext_alpn_parse_one(ext_data(b, w.len), &chosen, &why), MTLS_OK);
    static const uint8_t empty_name[] = {0, 1, 0};
    CHECK_ERR(ext_alpn_parse_list(rd_init(empty_name, 3), &list, &why), MTLS_ERR_DECODE);

    w = wr_fixed(b, sizeof(b));
    ext_reneg_build(&w);
    CHECK_ERR(ext_reneg_parse(ext_data(b, w.len), &why), MTLS_OK);
    static const uint8_t verify_data[] = {2, 0xaa, 0xbb};
    CHECK_ERR(ext_reneg_parse(rd_init(verify_data, 3), &why), MTLS_ERR_BAD_RENEGOTIATION_INFO);
    CHECK_ERR(ext_ems_parse(rd_init(verify_data, 1), &why), MTLS_ERR_DECODE);
}

/* ---- the other messages --------------------------------------------------------------------- */

static mtls_err parse_cert(rd *r)
{
    rd certs[MSG_MAX_CHAIN];
    struct msg_certificate c = {.certs = certs};
    return msg_certificate_parse(r, &c);
}

static void certificate(void)
{
    rd ders[MSG_MAX_CHAIN + 1];
    for (size_t i = 0; i <= MSG_MAX_CHAIN; i++)
        ders[i] = rd_init(pattern + i, 10 + i);
    struct msg_certificate in = {.certs = ders, .n = 3};
    uint8_t m[2048], again[2048];
    wr w = wr_fixed(m, sizeof(m));
    CHECK(msg_certificate_build(&w, &in));
    rd got[MSG_MAX_CHAIN];
    struct msg_certificate out = {.certs = got};
    rd r = rd_init(m, w.len);
    CHECK_ERR(msg_certificate_parse(&r, &out), MTLS_OK);
    CHECK(out.n == 3 && rd_eq(got[0], ders[0]) && rd_eq(got[2], ders[2]));
    wr w2 = wr_fixed(again, sizeof(again));
    CHECK(msg_certificate_build(&w2, &out) && w2.len == w.len && memcmp(again, m, w.len) == 0);
    truncations("Certificate", m, w.len, parse_cert, SIZE_MAX);
    /* empty list: well-formed (a client without certificate) */
    in.n = 0;
    w = wr_fixed(m, sizeof(m));
    CHECK(msg_certificate_build(&w, &in) && w.len == 3);
    r = rd_init(m, w.len);
    CHECK_ERR(msg_certificate_parse(&r, &out), MTLS_OK);
    CHECK_EQ(out.n, 0);
    /* an empty entry; one certificate more than a chain may have */
    static const uint8_t empty_entry[] = {0, 0, 3, 0, 0, 0};
    r = rd_init(empty_entry, sizeof(empty_entry));
    CHECK_ERR(msg_certificate_parse(&r, &out), MTLS_ERR_DECODE);
    in.n = MSG_MAX_CHAIN + 1;
    w = wr_fixed(m, sizeof(m));
    CHECK(msg_certificate_build(&w, &in));
    r = rd_init(m, w.len);
    CHECK_ERR(msg_certificate_parse(&r, &out), MTLS_ERR_CERT_CHAIN_TOO_LONG);
}

static mtls_err parse_ske(rd *r)
{
    struct msg_server_key_exchange x;
    return msg_server_key_exchange_parse(r, &x);
}

static void server_key_exchange(void)
{
    struct msg_server_key_exchange in = {
        .curve_type = 3,
        .group = 29,
        .point = rd_init(pattern + 1, 32),
        .sigalg = 0x0804,
        .signature = rd_init(pattern + 40, 256),
    };
    uint8_t m[512], again[512], params[64];
    wr w = wr_fixed(m, sizeof(m));
    CHECK(msg_server_key_exchange_build(&w, &in));
    struct msg_server_key_exchange out;
    rd r = rd_init(m, w.len);
    CHECK_ERR(msg_server_key_exchange_parse(&r, &out), MTLS_OK);
    CHECK(out.curve_type == 3 && out.group == 29 && out.sigalg == 0x0804);
    CHECK(rd_eq(out.point, in.point) && rd_eq(out.signature, in.signature));
    /* the signed part is exactly ServerECDHParams as built on its own */
    wr p = wr_fixed(params, sizeof(params));
    CHECK(msg_ecdh_params_build(&p, 29, in.point));
    CHECK(rd_eq(out.params, rd_init(params, p.len)));
    wr w2 = wr_fixed(again, sizeof(again));
    CHECK(msg_server_key_exchange_build(&w2, &out) && w2.len == w.len &&
          memcmp(again, m, w.len) == 0);
    truncations("ServerKeyExchange", m, w.len, parse_ske, SIZE_MAX);
    in.point = rd_init(pattern, 0); /* ECPoint<1..2^8-1> */
    w = wr_fixed(m, sizeof(m));
    msg_server_key_exchange_build(&w, &in);
    r = rd_init(m, w.len);
    CHECK_ERR(msg_server_key_exchange_parse(&r, &out), MTLS_ERR_DECODE);
}

static mtls_err parse_cr(rd *r)
{
    struct msg_certificate_request x;
    return msg_certificate_request_parse(r, &x);
}

static void certificate_request(void)
{
    static const uint8_t types[] = {1, 64}, algs[] = {0x04, 0x03, 0x08, 0x04};
    static const uint8_t cas[] = {0, 3, 'a', 'b', 'c', 0, 2, 'd', 'e'};
    struct msg_certificate_request in = {
        .certificate_types = rd_init(types, 2),
        .signature_algorithms = rd_init(algs, 4),
        .certificate_authorities = rd_init(cas, sizeof(cas)),
    };
    uint8_t m[128], again[128];
    wr w = wr_fixed(m, sizeof(m));
    CHECK(msg_certificate_request_build(&w, &in));
    struct msg_certificate_request out;
    rd r = rd_init(m, w.len);
    CHECK_ERR(msg_certificate_request_parse(&r, &out), MTLS_OK);
    CHECK(rd_eq(out.certificate_types, in.certificate_types) && out.n_authorities == 2);
    CHECK(rd_eq(out.signature_algorithms, in.signature_algorithms));
    CHECK(rd_eq(out.certificate_authorities, in.certificate_authorities));
    wr w2 = wr_fixed(again, sizeof(again));
    CHECK(msg_certificate_request_build(&w2, &out) && w2.len == w.len &&
          memcmp(again, m, w.len) == 0);
    truncations("CertificateRequest", m, w.len, parse_cr, SIZE_MAX);
    /* an odd list of schemes; an empty distinguished name; no certificate type */
    static const uint8_t empty_dn[] = {0, 0};
    for (int k = 0; k < 3; k++) {
        struct msg_certificate_request bad = in;
        if (k == 0)
            bad.signature_algorithms = rd_init(algs, 3);
        else if (k == 1)
            bad.certificate_authorities = rd_init(empty_dn, 2);
        else
            bad.certificate_types = rd_init(types, 0);
        w = wr_fixed(m, sizeof(m));
        msg_certificate_request_build(&w, &bad);
        r = rd_init(m, w.len);
        CHECK_ERR(msg_certificate_request_parse(&r, &out), MTLS_ERR_DECODE);
    }
}

static mtls_err parse_shd(rd *r)
{
    struct msg_server_hello_done x;
    return msg_server_hello_done_parse(r, &x);
}

static int cke_rsa;
static mtls_err parse_cke(rd *r)
{
    struct msg_client_key_exchange x = {.rsa = cke_rsa};
    return msg_client_key_exchange_parse(r, &x);
}

static mtls_err parse_cv(rd *r)
{
    struct msg_certificate_verify x;
    return msg_certificate_verify_parse(r, &x);
}

static mtls_err parse_fin(rd *r)
{
    struct msg_finished x;
    return msg_finished_parse(r, &x);
}

static mtls_err parse_nst(rd *r)
{
    struct msg_new_session_ticket x;
    return msg_new_session_ticket_parse(r, &x);
}

static void small_messages(void)
{
    uint8_t m[600], again[600];
    /* ServerHelloDone: nothing, and nothing more */
    struct msg_server_hello_done shd = {0};
    wr w = wr_fixed(m, sizeof(m));
    CHECK(msg_server_hello_done_build(&w, &shd) && w.len == 0);
    truncations("ServerHelloDone", m, 0, parse_shd, SIZE_MAX);

    /* ClientKeyExchange, both forms */
    for (cke_rsa = 0; cke_rsa < 2; cke_rsa++) {
        struct msg_client_key_exchange in = {.rsa = cke_rsa,
                                             .exchange_keys = rd_init(pattern, cke_rsa ? 256 : 65)};
        w = wr_fixed(m, sizeof(m));
        CHECK(msg_client_key_exchange_build(&w, &in));
        struct msg_client_key_exchange out = {.rsa = cke_rsa};
        rd r = rd_init(m, w.len);
        CHECK_ERR(msg_client_key_exchange_parse(&r, &out), MTLS_OK);
        CHECK(rd_eq(out.exchange_keys, in.exchange_keys));
        wr w2 = wr_fixed(again, sizeof(again));
        CHECK(msg_client_key_exchange_build(&w2, &out) && w2.len == w.len &&
              memcmp(again, m, w.len) == 0);
        truncations(cke_rsa ? "ClientKeyExchange (RSA)" : "ClientKeyExchange (ECDHE)", m, w.len,
                    parse_cke, SIZE_MAX);
    }
    cke_rsa = 0;
    static const uint8_t no_point[] = {0};
    rd r = rd_init(no_point, 1);
    CHECK(parse_cke(&r) == MTLS_ERR_DECODE); /* ECPoint<1..2^8-1> */

    /* CertificateVerify */
    struct msg_certificate_verify cv = {0x0403, rd_init(pattern + 3, 71), NULL};
    w = wr_fixed(m, sizeof(m));
    CHECK(msg_certificate_verify_build(&w, &cv));
    struct msg_certificate_verify cv2;
    r = rd_init(m, w.len);
    CHECK_ERR(msg_certificate_verify_parse(&r, &cv2), MTLS_OK);
    CHECK(cv2.sigalg == cv.sigalg && rd_eq(cv2.signature, cv.signature));
    wr w2 = wr_fixed(again, sizeof(again));
    CHECK(msg_certificate_verify_build(&w2, &cv2) && w2.len == w.len &&
          memcmp(again, m, w.len) == 0);
    truncations("CertificateVerify", m, w.len, parse_cv, SIZE_MAX);

    /* Finished */
    struct msg_finished fin, fin2;
    memcpy(fin.verify_data, pattern + 7, 12);
    w = wr_fixed(m, sizeof(m));
    CHECK(msg_finished_build(&w, &fin) && w.len == 12);
    r = rd_init(m, w.len);
    CHECK_ERR(msg_finished_parse(&r, &fin2), MTLS_OK);
    CHECK(memcmp(fin2.verify_data, fin.verify_data, 12) == 0);
    truncations("Finished", m, w.len, parse_fin, SIZE_MAX);

    /* NewSessionTicket, with a ticket and empty (RFC 5077 3.3 allows it) */
    for (size_t len = 0; len <= 100; len += 100) {
        struct msg_new_session_ticket nst = {7200, rd_init(pattern, len), NULL}, nst2;
        w = wr_fixed(m, sizeof(m));
        CHECK(msg_new_session_ticket_build(&w, &nst));
        r = rd_init(m, w.len);
        CHECK_ERR(msg_new_session_ticket_parse(&r, &nst2), MTLS_OK);
        CHECK(nst2.lifetime_hint == 7200 && rd_eq(nst2.ticket, nst.ticket));
        w2 = wr_fixed(again, sizeof(again));
        CHECK(msg_new_session_ticket_build(&w2, &nst2) && w2.len == w.len &&
              memcmp(again, m, w.len) == 0);
        truncations("NewSessionTicket", m, w.len, parse_nst, SIZE_MAX);
    }
}

int main(void)
{
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 31 + 7);
    client_hello();
    server_hello();
    block();
    extensions();
    certificate();
    server_key_exchange();
    certificate_request();
    small_messages();
    return t_done();
}
