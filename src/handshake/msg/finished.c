/*
 * finished.c -- Finished (RFC 5246 7.4.9): verify_data, 12 bytes.  Our Finished covers the
 * transcript before it.  (The peer's is checked in tls12.c, hs12_read_finished.)
 */
#include "../hs.h"

mtls_err msg_finished_build(struct hs *hs)
{
    uint8_t vd[12];
    mtls_err err = hs12_finished_compute(hs, !hs->env->is_server, vd);
    if (err)
        return err;
    size_t at = hs_msg_open(hs, TLS_HS_FINISHED);
    wr_bytes(&hs->out, vd, sizeof(vd));
    err = hs_msg_close(hs, at);
    if (!err)
        hs_trace(hs, '>', "Finished",
                 "verify_data = PRF(master_secret, \"%s finished\", "
                 "Hash(handshake messages))",
                 hs->env->is_server ? "server" : "client");
    cry_wipe(vd, sizeof(vd));
    return err;
}
