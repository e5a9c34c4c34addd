/*
 * fuzz_client.c -- stateful libFuzzer target: an mtls client fed attacker bytes as the server's.
 * The first input byte picks the client config (bits 0, 1 and 3: fuzz_common.h's variants 0-5 --
 * TLS 1.3 or 1.2 by default, static RSA with ALPN, a TLS 1.2 session offered, TLS 1.2 only, TLS
 * 1.3 only with P-256 and ALPN, a TLS 1.3 ticket offered), how the bytes arrive (bit 2: one byte
 * at a time, else as much as fits) and what they are (bit 4):
 *   clear: the rest is the server's byte stream, as it would come off the wire;
 *   set:   the rest is a list of {content type u8, length u16, bytes} items, each given as the
 *          server would send it -- sealed with the client's current read key once it has one,
 *          in clear before (a ChangeCipherSpec always in clear) -- or, with type 0, raw wire
 *          bytes: plaintext handshake messages thus reach the TLS 1.3 encrypted flight
 *          (EncryptedExtensions, CertificateRequest, Certificate, CertificateVerify, Finished)
 *          and the post-handshake messages (NewSessionTicket, KeyUpdate) through real records.
 * The client's ClientHello is taken (deterministic RNG, so its key share is the recorded one)
 * before the input arrives.  When the handshake completes, the traffic path runs.
 * Seeds: recorded server flights of every pairing, as bytes and as items.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int variant = ((data[0] & 3) | (data[0] >> 1 & 4)) % FZ_CLIENT_VARIANTS;
    size_t chunk = data[0] & 4 ? 1 : 0;
    mtls_conn *c = fz_client(variant);
    (void)mtls_handshake(c);
    fz_drain(c);
    if (data[0] & 0x10)
        (void)fz_feed_items(c, data + 1, size - 1, chunk);
    else
        (void)fz_feed(c, data + 1, size - 1, chunk);
    if (!mtls_conn_error(c) && !mtls_conn_established(c))
        (void)mtls_recv_ack(c, 0); /* the server went away */
    fz_exercise(c);
    mtls_conn_free(c);
    return 0;
}
