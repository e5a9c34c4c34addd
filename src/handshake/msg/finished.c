/*
 * finished.c -- Finished (RFC 5246 7.4.9): verify_data, 12 bytes, compared in constant time.
 * Our Finished covers the transcript before it; the peer's is checked against the transcript
 * before it and only then added.
 */
#include "../hs.h"

mtls_err msg_finished_build(mtls_conn *c)
{
    uint8_t vd[12];
    mtls_err err = hs_finished_compute(c, !c->is_server, vd);
    if (err)
        return err;
    size_t at = hs_msg_open(c, TLS_HS_FINISHED);
    wr_bytes(&c->hs->out, vd, sizeof(vd));
    err = hs_msg_close(c, at);
    if (!err)
        hs_trace(c, '>', "Finished", "verify_data = PRF(master_secret, \"%s finished\", "
                 "Hash(handshake messages))", c->is_server ? "server" : "client");
    cry_wipe(vd, sizeof(vd));
    return err;
}

mtls_err msg_finished_check(mtls_conn *c, const msg *m)
{
    rd body = m->body;
    uint8_t got[12], want[12];
    if (!rd_copy(&body, got, sizeof(got)) || !rd_done(&body))
        return hs_fail(c, MTLS_ERR_DECODE, "malformed Finished message");
    mtls_err err = hs_finished_compute(c, c->is_server, want);
    if (err)
        return err;
    int same = cry_ct_equal(got, want, sizeof(want));
    cry_wipe(want, sizeof(want));
    if (!same)
        return hs_fail(c, MTLS_ERR_BAD_FINISHED,
                       "the peer's Finished does not match: the handshake was tampered with or the "
                       "keys differ");
    c->hs->proofs |= PROOF_FINISHED;
    hs_trace(c, '<', "Finished", "verify_data matches the transcript");
    return hs_transcript_add(c, m->raw, m->raw_len);
}
