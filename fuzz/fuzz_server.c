/*
 * fuzz_server.c -- stateful libFuzzer target: an mtls server fed attacker bytes as the client's.
 * The first input byte picks the server config (low 2 bits: ECDSA without client auth, RSA with
 * a required client certificate, RSA with an optional one and ALPN) and how the bytes arrive
 * (bit 2: one byte at a time, else as much as fits).  With static RSA and the deterministic RNG a
 * recorded client stream replays to the end, so the seeds reach the traffic state and beyond.
 * Seeds: recorded client flights of every pairing -- full, with client authentication, resumed.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int variant = (data[0] & 3) % FZ_SERVER_VARIANTS;
    size_t chunk = data[0] & 4 ? 1 : 0;
    mtls_conn *s = fz_server(variant);
    (void)fz_feed(s, data + 1, size - 1, chunk);
    if (!mtls_conn_error(s) && !mtls_conn_established(s))
        (void)mtls_recv_ack(s, 0);
    fz_exercise(s);
    mtls_conn_free(s);
    return 0;
}
