/*
 * fuzz_msg.c -- one libFuzzer target per handshake message parser.  Built once per (receiving
 * role, message type) with FZ_PAIR / FZ_SIDE / FZ_TYPE: a real handshake of that pairing is
 * recorded once, then for each input a fresh connection of the receiving side is replayed the
 * recorded messages up to the one of type FZ_TYPE, which is replaced by a message of that type
 * whose body is the input.  The parser therefore runs in the very state that parses it, with
 * everything before it genuine, and whatever it accepts is driven on to the end of the recording
 * (Finished is sealed with the receiver's expected keys).  Seeds: the recorded body.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MTLS_MAX_HANDSHAKE_MSG + 16)
        return 0;
    const fz_script *s = fz_record(FZ_PAIR);
    const fz_event *ev = FZ_SIDE ? s->to_server : s->to_client;
    size_t n = FZ_SIDE ? s->n_to_server : s->n_to_client;
    mtls_conn *c = FZ_SIDE ? fz_server(s->server_variant) : fz_client(s->client_variant);
    int finished = FZ_TYPE == TLS_HS_FINISHED;
    if (fz_replay_until(c, ev, n, finished ? FZ_AFTER_CCS : FZ_TYPE)) {
        uint8_t *m = malloc(4 + size);
        m[0] = FZ_TYPE;
        be24_put(m + 1, (uint32_t)size);
        if (size)
            memcpy(m + 4, data, size);
        mtls_err err = finished ? fz_feed_sealed(c, TLS_CT_HANDSHAKE, m, 4 + size)
                                : fz_feed_plain(c, TLS_CT_HANDSHAKE, m, 4 + size);
        free(m);
        /* what follows the message in the recording, when the input was accepted */
        if (err == MTLS_OK || err == MTLS_ERR_WANT_READ) {
            size_t i = 0;
            while (i < n && !(ev[i].kind == FZ_EV_MSG && ev[i].type == FZ_TYPE))
                i++;
            for (i++; !finished && i < n; i++) {
                err = ev[i].kind == FZ_EV_MSG ? fz_feed_plain(c, TLS_CT_HANDSHAKE, ev[i].p, ev[i].len)
                                              : fz_feed(c, ev[i].p, ev[i].len, 0);
                if (err != MTLS_OK && err != MTLS_ERR_WANT_READ)
                    break;
            }
        }
        fz_exercise(c);
    }
    mtls_conn_free(c);
    return 0;
}
