/*
 * fuzz_session.c -- libFuzzer target for serialized sessions: mtls_session_from_bytes (what a
 * client reads back from its storage) and the ticket-less form a ticket seals (session_decode);
 * what decodes must encode back to the same bytes, and is offered by a client (which checks it
 * against its config) so the offer path sees it too.  Seeds: sessions of recorded handshakes.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mtls_session *s = mtls_session_from_bytes(data, size);
    if (s) {
        size_t len = 0;
        if (mtls_session_to_bytes(s, NULL, 0, &len) == MTLS_OK && len) {
            uint8_t *out = malloc(len);
            size_t len2 = 0;
            if (mtls_session_to_bytes(s, out, len, &len2) != MTLS_OK || len2 != size ||
                memcmp(out, data, size) != 0)
                __builtin_trap(); /* decode and encode disagree */
            free(out);
        }
        (void)mtls_session_time(s);
        (void)mtls_session_lifetime(s);
        mtls_conn *c = fz_client(1);
        if (mtls_conn_set_session(c, s) == MTLS_OK)
            (void)mtls_handshake(c);
        mtls_conn_free(c);
        mtls_session_free(s);
    }
    mtls_session *t = session_decode(data, size, false);
    mtls_session_free(t);
    return 0;
}
