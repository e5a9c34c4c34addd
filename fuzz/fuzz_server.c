/*
 * fuzz_server.c -- stateful libFuzzer target: an mtls server fed attacker bytes as the client's.
 * The first input byte picks the server config (bits 0-1: fuzz_common.h's variants 0-3 -- ECDSA
 * without client auth, RSA with a required client certificate, RSA with an optional one and
 * ALPN, ECDSA preferring P-256 (HelloRetryRequest) with psk_ke), how the bytes arrive (bit 2: one
 * byte at a time, else as much as fits) and what they are (bit 4): the client's byte stream, or a
 * list of {content type u8, length u16, bytes} items each given as the client would send it --
 * sealed with the server's current read key once it has one (the client's TLS 1.3 Certificate,
 * CertificateVerify and Finished, its KeyUpdate after the handshake), type 0 raw wire bytes
 * (fuzz_client.c says more).  With the deterministic RNG, ours and libcrypto's, a recorded client
 * stream replays to the end in both versions, so the seeds reach the traffic state and beyond.
 * Seeds: recorded client flights of every pairing -- full, with client authentication,
 * HelloRetryRequest, resumed -- as bytes and as items.
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
    if (data[0] & 0x10)
        (void)fz_feed_items(s, data + 1, size - 1, chunk);
    else
        (void)fz_feed(s, data + 1, size - 1, chunk);
    if (!mtls_conn_error(s) && !mtls_conn_established(s))
        (void)mtls_recv_ack(s, 0);
    fz_exercise(s);
    mtls_conn_free(s);
    return 0;
}
