/*
 * fuzz_record.c -- libFuzzer target for the record layer: header checks, the deframer, content-
 * type dispatch, alerts, empty records, and protected records.  The first input byte picks:
 *   0: the rest is raw wire bytes to a fresh server (plaintext records, split anywhere);
 *   1: the same, to a client that has sent its ClientHello;
 *   2: the rest is a list of {type u8, length u16, payload} records, sealed by the client of an
 *      established connection and fed to the server (post-handshake: alerts, empty records,
 *      renegotiation attempts, application data, unknown types);
 *   3: raw wire bytes to an established server (protected-record header and tag checks).
 * The second byte gives the piece size the bytes arrive in (0: all at once).  Seeds: recorded
 * flights and post-handshake record lists.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int establish(mtls_conn **c, mtls_conn **s)
{
    const fz_script *sc = fz_record(FZ_PAIR_RESUMED);
    /* the recorded abbreviated handshake, each side alone on its own RNG stream */
    *s = fz_server(sc->server_variant);
    if (!fz_replay_until(*s, sc->to_server, sc->n_to_server, -1))
        return 0;
    *c = fz_client(sc->client_variant);
    if (!fz_replay_until(*c, sc->to_client, sc->n_to_client, -1))
        return 0;
    return mtls_conn_established(*c) && mtls_conn_established(*s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t mode = data[0] & 3;
    size_t chunk = data[1];
    data += 2;
    size -= 2;
    if (mode == 0 || mode == 1) {
        mtls_conn *c = mode == 0 ? fz_server(0) : fz_client(0);
        if (mode == 1)
            (void)mtls_handshake(c);
        fz_drain(c);
        (void)fz_feed(c, data, size, chunk);
        fz_exercise(c);
        mtls_conn_free(c);
        return 0;
    }
    mtls_conn *c = NULL, *s = NULL;
    if (establish(&c, &s)) {
        if (mode == 3) {
            (void)fz_feed(s, data, size, chunk);
        } else {
            rd r = rd_init(data, size);
            uint8_t type;
            rd body;
            while (rd_u8(&r, &type) && rd_vec16(&r, &body) && !mtls_conn_error(s)) {
                size_t n = body.n > TLS_MAX_PLAINTEXT ? TLS_MAX_PLAINTEXT : body.n;
                c->wr.seq = s->rd.seq;
                if (conn_send_record(c, type, body.p, n) != MTLS_OK)
                    break;
                size_t len;
                const uint8_t *out = mtls_send_buf(c, &len);
                uint8_t *copy = malloc(len);
                memcpy(copy, out, len);
                mtls_send_ack(c, len);
                (void)fz_feed(s, copy, len, chunk);
                free(copy);
            }
        }
        fz_exercise(s);
    }
    mtls_conn_free(c);
    mtls_conn_free(s);
    return 0;
}
