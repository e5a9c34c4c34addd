/*
 * fuzz_client.c -- stateful libFuzzer target: an mtls client fed attacker bytes as the server's.
 * The first input byte picks the client config (low 2 bits: ECDHE defaults, static RSA with ALPN,
 * or the same offering a saved session for resumption) and how the bytes arrive (bit 2: one byte
 * at a time, else as much as fits); the client's ClientHello is taken (deterministic RNG) and the
 * rest of the input is the server's stream.  When the handshake completes, the traffic path runs.
 * Seeds: recorded server flights of every pairing -- full, with client authentication, resumed.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int variant = (data[0] & 3) % FZ_CLIENT_VARIANTS;
    size_t chunk = data[0] & 4 ? 1 : 0;
    mtls_conn *c = fz_client(variant);
    (void)mtls_handshake(c);
    fz_drain(c);
    (void)fz_feed(c, data + 1, size - 1, chunk);
    if (!mtls_conn_error(c) && !mtls_conn_established(c))
        (void)mtls_recv_ack(c, 0); /* the server went away */
    fz_exercise(c);
    mtls_conn_free(c);
    return 0;
}
