/*
 * test_status_codec.c -- the pure codecs of OCSP stapling (RFC 6066 section 8): the
 * status_request extension (src/handshake/ext/status_request.c) and the CertificateStatus message
 * (src/handshake/msg/certificate_status.c), and status_request's row in the extension table
 * (block.c: RFC 8446 4.2 puts it in CH, CR and CT; TLS 1.2's ServerHello answers it).
 *
 * Each: round trip, bytes as RFC 6066 spells them, every truncation and one byte too many
 * refused, malformed inner lists refused.
 */
#include <string.h>

#include "handshake/ext/ext.h"
#include "handshake/msg/msg.h"
#include "record/tls.h"
#include "t.h"

/* The extension_data of an extension built by `build` into w (type and length checked). */
static rd ext_data(const wr *w, uint16_t want_type)
{
    rd r = rd_init(w->p, w->len), data;
    uint16_t type = 0;
    CHECK(rd_u16(&r, &type));
    CHECK_EQ(type, want_type);
    CHECK(rd_vec16(&r, &data));
    CHECK(rd_done(&r));
    return data;
}

static void test_request(void)
{
    const char *why = NULL;
    ext_status_request req;

    /* mtls's own request: ocsp(1), empty responder_id_list, empty request_extensions */
    wr w = wr_growable(1024);
    ext_status_request_build(&w);
    CHECK(wr_ok(&w));
    static const uint8_t ours[] = {0x00, 0x05, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00};
    CHECK_EQ(w.len, sizeof(ours));
    CHECK_MEM(w.p, ours, sizeof(ours));
    rd data = ext_data(&w, TLS_EXT_STATUS_REQUEST);
    CHECK_ERR(ext_status_request_parse(data, &req, &why), MTLS_OK);
    CHECK_EQ(req.status_type, EXT_STATUS_OCSP);
    CHECK_EQ(req.n_responder_ids, 0);
    CHECK_EQ(req.request_extensions.n, 0);
    wr_free(&w, false);

    /* a request with two ResponderIDs and request_extensions (a nonce, as browsers once sent) */
    static const uint8_t full[] = {
        0x01,                                           /* ocsp */
        0x00, 0x0b,                                     /* responder_id_list */
        0x00, 0x03, 0xa1, 0x01, 0x00,                   /* ResponderID (byName, empty Name) */
        0x00, 0x04, 0xa2, 0x02, 0x04, 0x00,             /* ResponderID (byKey, empty hash) */
        0x00, 0x06, 0x30, 0x04, 0x30, 0x02, 0x06, 0x00, /* request_extensions */
    };
    CHECK_ERR(ext_status_request_parse(rd_init(full, sizeof(full)), &req, &why), MTLS_OK);
    CHECK_EQ(req.status_type, EXT_STATUS_OCSP);
    CHECK_EQ(req.n_responder_ids, 2);
    CHECK_EQ(req.responder_id_list.n, 11);
    CHECK_EQ(req.request_extensions.n, 6);

    /* every truncation, and one byte too many */
    for (size_t n = 0; n < sizeof(full); n++)
        CHECK_ERR(ext_status_request_parse(rd_init(full, n), &req, &why), MTLS_ERR_DECODE);
    uint8_t more[sizeof(full) + 1];
    memcpy(more, full, sizeof(full));
    more[sizeof(full)] = 0;
    CHECK_ERR(ext_status_request_parse(rd_init(more, sizeof(more)), &req, &why), MTLS_ERR_DECODE);
    for (size_t n = 1; n < sizeof(ours) - 4; n++)
        CHECK_ERR(ext_status_request_parse(rd_init(ours + 4, n), &req, &why), MTLS_ERR_DECODE);

    /* ResponderID<1..2^16-1>: an empty one is malformed */
    static const uint8_t empty_id[] = {0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00};
    CHECK_ERR(ext_status_request_parse(rd_init(empty_id, sizeof(empty_id)), &req, &why),
              MTLS_ERR_DECODE);
    /* a list whose length cuts a ResponderID */
    static const uint8_t cut_id[] = {0x01, 0x00, 0x03, 0x00, 0x03, 0xa1, 0x00, 0x00};
    CHECK_ERR(ext_status_request_parse(rd_init(cut_id, sizeof(cut_id)), &req, &why),
              MTLS_ERR_DECODE);

    /* another status type (ocsp_multi's 2 belongs to status_request_v2): returned unread */
    static const uint8_t other[] = {0x02, 0xde, 0xad};
    CHECK_ERR(ext_status_request_parse(rd_init(other, sizeof(other)), &req, &why), MTLS_OK);
    CHECK_EQ(req.status_type, 2);

    /* the TLS 1.2 ServerHello's acknowledgement: empty, and only empty */
    w = wr_growable(64);
    ext_status_request_ack_build(&w);
    static const uint8_t ack[] = {0x00, 0x05, 0x00, 0x00};
    CHECK_EQ(w.len, sizeof(ack));
    CHECK_MEM(w.p, ack, sizeof(ack));
    CHECK_ERR(ext_status_request_ack_parse(ext_data(&w, TLS_EXT_STATUS_REQUEST), &why), MTLS_OK);
    wr_free(&w, false);
    CHECK_ERR(ext_status_request_ack_parse(rd_init(ours + 4, 5), &why), MTLS_ERR_DECODE);
    printf("status_request: request and acknowledgement as RFC 6066 8 spells them, truncations "
           "and malformed lists refused\n");
}

static void test_certificate_status(void)
{
    uint8_t response[300];
    for (size_t i = 0; i < sizeof(response); i++)
        response[i] = (uint8_t)(i * 7);
    struct msg_certificate_status cs = {
        .status_type = EXT_STATUS_OCSP,
        .response = rd_init(response, sizeof(response)),
    }, back;
    wr w = wr_growable(4096);
    CHECK(msg_certificate_status_build(&w, &cs));
    CHECK_EQ(w.len, 1 + 3 + sizeof(response));
    CHECK_EQ(w.p[0], 1);
    CHECK_EQ(w.p[1], 0);
    CHECK_EQ(w.p[2], 0x01);
    CHECK_EQ(w.p[3], 0x2c); /* 300 */
    rd body = rd_init(w.p, w.len);
    CHECK_ERR(msg_certificate_status_parse(&body, &back), MTLS_OK);
    CHECK_EQ(back.status_type, EXT_STATUS_OCSP);
    CHECK_EQ(back.response.n, sizeof(response));
    CHECK_MEM(back.response.p, response, sizeof(response));

    /* every truncation, and one byte too many */
    size_t bad = 0;
    for (size_t n = 0; n < w.len; n++) {
        body = rd_init(w.p, n);
        bad += msg_certificate_status_parse(&body, &back) == MTLS_ERR_DECODE;
        CHECK(back.why != NULL);
    }
    CHECK_EQ(bad, w.len);
    uint8_t more[1 + 3 + sizeof(response) + 1];
    memcpy(more, w.p, w.len);
    more[w.len] = 0;
    body = rd_init(more, sizeof(more));
    CHECK_ERR(msg_certificate_status_parse(&body, &back), MTLS_ERR_DECODE);

    /* only ocsp(1); an empty OCSPResponse is malformed (<1..2^24-1>) */
    more[0] = 2;
    body = rd_init(more, w.len);
    CHECK_ERR(msg_certificate_status_parse(&body, &back), MTLS_ERR_DECODE);
    CHECK(back.why && strstr(back.why, "other than ocsp"));
    static const uint8_t empty[] = {0x01, 0x00, 0x00, 0x00};
    body = rd_init(empty, sizeof(empty));
    CHECK_ERR(msg_certificate_status_parse(&body, &back), MTLS_ERR_DECODE);
    wr_free(&w, false);
    printf("CertificateStatus: round trip, %zu truncations and one byte too many refused, "
           "status types other than ocsp and an empty response refused\n", bad);
}

/* status_request in an extensions block of each message kind. */
static mtls_err block_with_status(ext_msg in, hello_exts *e)
{
    static const uint8_t block[] = {0x00, 0x09, 0x00, 0x05, 0x00, 0x05,
                                    0x01, 0x00, 0x00, 0x00, 0x00};
    const char *why = NULL;
    rd r = rd_init(block, sizeof(block));
    return ext_parse_block(&r, in, e, &why);
}

static void test_table(void)
{
    hello_exts e;
    /* RFC 8446 4.2: CH, CR, CT; RFC 6066 8: the TLS 1.2 ServerHello */
    static const ext_msg allowed[] = {EXT_IN_CH, EXT_IN_SH12, EXT_IN_CR, EXT_IN_CT};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        CHECK_ERR(block_with_status(allowed[i], &e), MTLS_OK);
        CHECK(e.status_request.present);
        CHECK_EQ(e.status_request.data.n, 5);
    }
    /* nowhere else: a TLS 1.3 ServerHello or EncryptedExtensions carrying it is refused */
    static const ext_msg refused[] = {EXT_IN_SH, EXT_IN_EE, EXT_IN_HRR, EXT_IN_NST};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        CHECK(block_with_status(refused[i], &e) != MTLS_OK);
        CHECK_EQ(e.bad_type, TLS_EXT_STATUS_REQUEST);
    }
    printf("extension table: status_request allowed in ClientHello, TLS 1.2 ServerHello, "
           "CertificateRequest and Certificate entries only\n");
}

int main(void)
{
    test_request();
    test_certificate_status();
    test_table();
    return t_done();
}
