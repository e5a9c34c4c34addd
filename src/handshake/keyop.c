/*
 * keyop.c -- our private key's operations in the handshake, for every version and role: the
 * signatures (ServerKeyExchange, CertificateVerify) and the static-RSA premaster's decryption,
 * with the key in memory (libcrypto, at once) or through the application's key method
 * (mtls_config_set_cert_chain_key_method), whose answer may come later.
 *
 * An operation that is to finish later leaves the handshake in the state that started it -- one
 * that reads nothing, so the driver runs it again on every mtls_handshake -- and that state calls
 * hs_sign / hs_decrypt_premaster again, with the same input, each time it runs.  While the result
 * is missing they answer MTLS_ERR_WANT_KEY_OP without asking the application again; once
 * mtls_conn_key_op_done has handed it over (hs_key_op_done), they check it and use it.  Core
 * reads no record while an operation is outstanding (hs_key_op_waiting), so nothing the peer
 * sends moves the handshake meanwhile.
 *
 * Invariants: the application is asked at most once per operation.  A signature it returns is
 * checked -- its size, and that it verifies with our certificate's key -- before it can be sent:
 * a faulty RSA-CRT signature would give the key away, and a key that is not the certificate's
 * shows here rather than as the peer's decrypt_error.  An RSA block it returns is judged by masks
 * alone (cry_rsa_premaster_from_block), whatever its length, and wiped after use: a bad premaster
 * is handled as with a key in memory (RFC 5246 7.4.7.1).
 */
#include <stdio.h>
#include <string.h>

#include "hs.h"

bool hs_key_can_decrypt(const mtls_config *cfg)
{
    return !cfg->has_key_method || cfg->key_method.decrypt != NULL;
}

bool hs_key_op_waiting(const hs_handle *h)
{
    return h && h->run && h->run->keyop.state != KEYOP_IDLE;
}

mtls_err hs_key_op_done(hs_handle *h, const uint8_t *result, size_t len)
{
    if (!h || !h->run || h->run->keyop.state != KEYOP_PENDING)
        return MTLS_ERR_BAD_STATE;
    struct hs_keyop *op = &h->run->keyop;
    op->state = KEYOP_RESULT;
    op->failed = result == NULL;
    op->len = result ? len : 0;
    if (result)
        memcpy(op->out, result, len < sizeof(op->out) ? len : sizeof(op->out));
    return MTLS_OK;
}

/* Ask the application's key method (`decrypt` picks the callback; cap: the most it may write).
 * MTLS_OK when the result is in hs->keyop (RESULT), MTLS_ERR_WANT_KEY_OP when it comes later,
 * MTLS_ERR_KEY_OP_FAILED when the callback failed. */
static mtls_err ask(struct hs *hs, bool decrypt, uint16_t sigalg, const uint8_t *in, size_t in_len,
                    size_t cap, const char *what)
{
    const mtls_config *cfg = hs->cfg;
    struct hs_keyop *op = &hs->keyop;
    size_t len = 0;
    /* PENDING before the call: mtls_conn_key_op_done may be called from inside it. */
    op->state = KEYOP_PENDING;
    op->failed = false;
    op->len = 0;
    mtls_key_op_status st = decrypt ? cfg->key_method.decrypt(cfg->key_method_arg, hs->env->conn,
                                                              in, in_len, op->out, cap, &len)
                                    : cfg->key_method.sign(cfg->key_method_arg, hs->env->conn,
                                                           sigalg, in, in_len, op->out, cap, &len);
    if (st == MTLS_KEY_OP_DONE) {
        op->state = KEYOP_RESULT;
        op->len = len;
        return MTLS_OK;
    }
    if (st == MTLS_KEY_OP_PENDING)
        return op->state == KEYOP_RESULT ? MTLS_OK : MTLS_ERR_WANT_KEY_OP;
    op->state = KEYOP_IDLE;
    cry_wipe(op->out, sizeof(op->out));
    return hs_err(hs, MTLS_ERR_KEY_OP_FAILED, "the application's key method failed to %s", what);
}

mtls_err hs_sign(struct hs *hs, const char *what, uint16_t sigalg, const uint8_t *in, size_t in_len,
                 uint8_t *sig, size_t cap, size_t *sig_len)
{
    const mtls_config *cfg = hs->cfg;
    size_t max = cry_pkey_max_sig_len(cfg->key);
    if (max == 0 || max > cap || max > sizeof(hs->keyop.out))
        return hs_err(hs, MTLS_ERR_CRYPTO, "signing %s failed", what);
    if (!cfg->has_key_method) {
        if (!cry_sign(cfg->key, sigalg, in, in_len, sig, cap, sig_len))
            return hs_err(hs, MTLS_ERR_CRYPTO, "signing %s failed", what);
        return MTLS_OK;
    }

    struct hs_keyop *op = &hs->keyop;
    char task[64];
    snprintf(task, sizeof(task), "sign the %s", what);
    if (op->state == KEYOP_PENDING)
        return MTLS_ERR_WANT_KEY_OP;
    if (op->state == KEYOP_IDLE) {
        mtls_err err = ask(hs, false, sigalg, in, in_len, max, task);
        if (err)
            return err;
    }
    op->state = KEYOP_IDLE;
    if (op->failed)
        return hs_err(hs, MTLS_ERR_KEY_OP_FAILED,
                      "the application's key method failed to %s (mtls_conn_key_op_done without "
                      "a result)",
                      task);
    /* An RSA signature is exactly as long as the modulus (RFC 8017 8.1.1, 8.2.1); an ECDSA one,
     * DER, at most the key's maximum. */
    bool rsa = cfg->key_type == CRY_KEY_RSA;
    if (op->len == 0 || op->len > max || (rsa && op->len != max))
        return hs_err(hs, MTLS_ERR_KEY_OP_BAD_RESULT,
                      "the application's key method gave a %zu-byte signature for the %s; a %s "
                      "signature with this key is %s%zu bytes",
                      op->len, what, mtls_sigalg_name(sigalg), rsa ? "" : "at most ", max);
    if (!cry_verify(cfg->key, sigalg, in, in_len, op->out, op->len))
        return hs_err(hs, MTLS_ERR_KEY_OP_BAD_RESULT,
                      "the application's key method gave a %s signature for the %s that does not "
                      "verify with the key of certificate %s (another key, or a faulty "
                      "signature): it is not sent",
                      mtls_sigalg_name(sigalg), what, x509_cert_subject(cfg->chain[0]));
    memcpy(sig, op->out, op->len);
    *sig_len = op->len;
    return MTLS_OK;
}

mtls_err hs_decrypt_premaster(struct hs *hs, const uint8_t *ct, size_t ct_len,
                              uint16_t client_version)
{
    const mtls_config *cfg = hs->cfg;
    struct k12 *k12 = &hs->k12;
    if (!cfg->has_key_method) {
        /* RFC 5246 7.4.7.1: on bad padding or version, continue with a random premaster so
         * that the failure shows only as a wrong Finished, at the same point and in the same
         * time as any other wrong key.  cry_rsa_decrypt_premaster never branches on it. */
        if (!cry_rsa_decrypt_premaster(cfg->key, ct, ct_len, client_version, k12->premaster))
            return hs_err(hs, MTLS_ERR_CRYPTO, "RSA decryption failed internally");
        k12->premaster_len = 48;
        return MTLS_OK;
    }

    struct hs_keyop *op = &hs->keyop;
    size_t k = cry_pkey_max_sig_len(cfg->key);
    if (op->state == KEYOP_PENDING)
        return MTLS_ERR_WANT_KEY_OP;
    if (op->state == KEYOP_IDLE) {
        /* Public facts of the ciphertext: one of another length, or not below the modulus, has
         * no raw decryption; as cry_rsa_decrypt_premaster does, go on with a random premaster,
         * here without asking the application (whose decryption would fail). */
        if (!cry_rsa_ciphertext_fits(cfg->key, ct, ct_len)) {
            if (!cry_random(k12->premaster, 48))
                return hs_err(hs, MTLS_ERR_RNG, "no randomness for the premaster secret");
            k12->premaster_len = 48;
            return MTLS_OK;
        }
        mtls_err err = ask(hs, true, 0, ct, ct_len, k, "decrypt the premaster secret");
        if (err)
            return err;
    }
    op->state = KEYOP_IDLE;
    if (op->failed)
        return hs_err(hs, MTLS_ERR_KEY_OP_FAILED,
                      "the application's key method failed to decrypt the premaster secret "
                      "(mtls_conn_key_op_done without a result)");
    /* Whatever came back -- any length, any bytes -- is judged by masks alone. */
    int ok = cry_rsa_premaster_from_block(op->out, op->len, k, client_version, k12->premaster);
    cry_wipe(op->out, sizeof(op->out));
    op->len = 0;
    if (!ok)
        return hs_err(hs, MTLS_ERR_CRYPTO, "RSA decryption failed internally");
    k12->premaster_len = 48;
    return MTLS_OK;
}
