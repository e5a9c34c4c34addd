/*
 * explain.c -- what a certificate or key file holds when mtls cannot use it, said so that a
 * person knows what to do next.
 *
 * Called only on the error path of the loaders (src/core/config.c), with the bytes they already
 * read.  Two mistakes are common enough to name: a PKCS#12 bundle (.p12 / .pfx, DER) given where
 * PEM is read (mtls_config_set_pkcs12_file reads it), and a key or certificate of an algorithm mtls does not sign or verify with
 * (Ed25519 above all; mtls uses RSA and ECDSA P-256/P-384).  Recognising them needs only the
 * outer DER structure: the PFX header of RFC 7292, the SubjectPublicKeyInfo and signature
 * algorithm of a certificate (RFC 5280 4.1), the AlgorithmIdentifier of a PKCS#8 key (RFC 5208)
 * or the curve of a SEC1 EC key (RFC 5915).  Anything else is left to the caller's own sentence.
 * Decoded private-key bytes are wiped before they are freed.
 */
#include <stdio.h>
#include <string.h>

#include "../base/base.h"
#include "x509_int.h"

/* Public-key (and, for EdDSA, signature) algorithms mtls does not use, by OID body. */
static const struct {
    uint8_t oid[9];
    uint8_t len;
    bool sig;         /* also a signatureAlgorithm mtls cannot verify */
    const char *name; /* with its article: "holds <name> key" */
} unusable_algs[] = {
    {{0x2b, 0x65, 0x70}, 3, true, "an Ed25519"},
    {{0x2b, 0x65, 0x71}, 3, true, "an Ed448"},
    {{0x2b, 0x65, 0x6e}, 3, false, "an X25519"},
    {{0x2b, 0x65, 0x6f}, 3, false, "an X448"},
    {{0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01}, 7, false, "a DSA"},
    /* an RSA key restricted to PSS; RSASSA-PSS signatures themselves are verified */
    {{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a}, 9, false, "an RSASSA-PSS-only"},
};
static const uint8_t oid_ec_public_key[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t oid_p256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_p521[] = {0x2b, 0x81, 0x04, 0x00, 0x23};
static const uint8_t oid_secp256k1[] = {0x2b, 0x81, 0x04, 0x00, 0x0a};

static const char *ec_curve_name(const rd *curve)
{
    if (x509_oid_eq(curve, oid_p256, sizeof oid_p256) ||
        x509_oid_eq(curve, oid_p384, sizeof oid_p384))
        return NULL;
    if (x509_oid_eq(curve, oid_p521, sizeof oid_p521))
        return "an EC P-521";
    if (x509_oid_eq(curve, oid_secp256k1, sizeof oid_secp256k1))
        return "a secp256k1";
    return "an EC (unsupported curve)";
}

/* The AlgorithmIdentifier `alg` (its content) names a key algorithm (or, with `sig`, a
 * signature algorithm) mtls cannot use: its name, else NULL. */
static const char *unusable_alg(rd alg, bool sig)
{
    rd oid, curve;
    if (!x509_der_oid(&alg, &oid))
        return NULL;
    for (size_t i = 0; i < sizeof unusable_algs / sizeof unusable_algs[0]; i++) {
        if ((unusable_algs[i].sig || !sig) &&
            x509_oid_eq(&oid, unusable_algs[i].oid, unusable_algs[i].len))
            return unusable_algs[i].name;
    }
    if (!sig && x509_oid_eq(&oid, oid_ec_public_key, sizeof oid_ec_public_key) &&
        x509_der_oid(&alg, &curve))
        return ec_curve_name(&curve);
    return NULL;
}

/* PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, ... } with ContentInfo's
 * contentType id-data or id-signedData (RFC 7292 4).  Read loosely (BER lengths, an
 * indefinite outer length): this only tells a bundle from other binary data. */
static bool looks_pkcs12(const uint8_t *p, size_t n)
{
    static const uint8_t pkcs7[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07};
    size_t i = 0;
    for (int seq = 0; seq < 2; seq++) {
        if (i + 2 > n || p[i] != 0x30)
            return false;
        uint8_t l0 = p[i + 1];
        i += 2;
        if (l0 > 0x80)
            i += l0 & 0x7fu; /* long form (0x80 alone: indefinite) */
        if (seq == 0) {
            static const uint8_t v3[] = {0x02, 0x01, 0x03};
            if (i + sizeof v3 > n || memcmp(p + i, v3, sizeof v3) != 0)
                return false;
            i += sizeof v3;
        }
    }
    return i + sizeof pkcs7 + 1 <= n && memcmp(p + i, pkcs7, sizeof pkcs7) == 0 &&
           (p[i + sizeof pkcs7] == 0x01 || p[i + sizeof pkcs7] == 0x02);
}

/* The subject (whole Name TLV), the key's AlgorithmIdentifier and the signatureAlgorithm of a
 * DER certificate.
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
 * TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
 *                               validity, subject, subjectPublicKeyInfo, ... } */
static bool cert_algs(const uint8_t *der, size_t len, const uint8_t **subject, size_t *subject_len,
                      rd *key_alg, rd *sig_alg)
{
    rd r = rd_init(der, len), cert, tbs, skip, spki;
    uint8_t tag;
    if (!x509_der_expect(&r, DER_SEQUENCE, &cert) || !x509_der_expect(&cert, DER_SEQUENCE, &tbs) ||
        !x509_der_expect(&cert, DER_SEQUENCE, sig_alg))
        return false;
    if (x509_der_peek(&tbs, der_ctx_cons(0)) && !x509_der_any(&tbs, &tag, &skip, NULL, NULL))
        return false;
    for (int field = 0; field < 4; field++) { /* serialNumber, signature, issuer, validity */
        if (!x509_der_any(&tbs, &tag, &skip, NULL, NULL))
            return false;
    }
    return x509_der_expect_tlv(&tbs, DER_SEQUENCE, &skip, subject, subject_len) &&
           x509_der_expect(&tbs, DER_SEQUENCE, &spki) &&
           x509_der_expect(&spki, DER_SEQUENCE, key_alg);
}

/* The first certificate of `pem` with a key or signature mtls cannot use: "<alg> key" or "a
 * signature made with <alg>" and its subject into the two buffers. */
static bool unusable_cert(const uint8_t *pem, size_t len, char *what, size_t what_cap, char *subj,
                          size_t subj_cap)
{
    size_t pos = 0;
    uint8_t *der;
    size_t der_len;
    bool found = false;
    while (!found && x509_pem_next(pem, len, &pos, "CERTIFICATE", &der, &der_len) == 1) {
        const uint8_t *subject;
        size_t subject_len;
        rd key_alg, sig_alg;
        if (cert_algs(der, der_len, &subject, &subject_len, &key_alg, &sig_alg)) {
            const char *key = unusable_alg(key_alg, false);
            const char *sig = key ? NULL : unusable_alg(sig_alg, true);
            if (key || sig) {
                char *s = x509_name_to_string(subject, subject_len);
                snprintf(subj, subj_cap, "%s", s && s[0] ? s : "(no subject)");
                mem_free(s);
                if (key)
                    snprintf(what, what_cap, "%s key", key);
                else /* "an Ed25519" -> "a signature made with Ed25519" */
                    snprintf(what, what_cap, "a signature made with %s", strchr(sig, ' ') + 1);
                found = true;
            }
        }
        mem_free(der);
    }
    return found;
}

/* The algorithm of the first private key of `pem` that mtls cannot use ("an Ed25519"). */
static const char *unusable_key(const uint8_t *pem, size_t len)
{
    size_t pos = 0;
    uint8_t *der;
    size_t der_len;
    const char *name = NULL;
    /* A traditional "DSA PRIVATE KEY" block says what it is in its label. */
    if (x509_pem_next(pem, len, &pos, "DSA PRIVATE KEY", &der, &der_len) == 1) {
        cry_wipe(der, der_len);
        mem_free(der);
        return "a DSA";
    }
    pos = 0;
    while (!name && x509_pem_next(pem, len, &pos, "PRIVATE KEY", &der, &der_len) == 1) {
        /* PrivateKeyInfo ::= SEQUENCE { version, privateKeyAlgorithm AlgorithmIdentifier, ... } */
        rd r = rd_init(der, der_len), pki, skip, alg;
        uint8_t tag;
        if (x509_der_expect(&r, DER_SEQUENCE, &pki) &&
            x509_der_any(&pki, &tag, &skip, NULL, NULL) &&
            x509_der_expect(&pki, DER_SEQUENCE, &alg))
            name = unusable_alg(alg, false);
        cry_wipe(der, der_len);
        mem_free(der);
    }
    pos = 0;
    while (!name && x509_pem_next(pem, len, &pos, "EC PRIVATE KEY", &der, &der_len) == 1) {
        /* ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING,
         *                             parameters [0] ECParameters OPTIONAL, ... } */
        rd r = rd_init(der, der_len), ec, skip, params, curve;
        uint8_t tag;
        if (x509_der_expect(&r, DER_SEQUENCE, &ec) && x509_der_any(&ec, &tag, &skip, NULL, NULL) &&
            x509_der_any(&ec, &tag, &skip, NULL, NULL) &&
            x509_der_expect(&ec, der_ctx_cons(0), &params) && x509_der_oid(&params, &curve))
            name = ec_curve_name(&curve);
        cry_wipe(der, der_len);
        mem_free(der);
    }
    return name;
}

/* "bundle.p12" -> "bundle.pem" (any other name: name + ".pem"). */
static void pem_name(const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (n > 4 && (strcmp(name + n - 4, ".p12") == 0 || strcmp(name + n - 4, ".pfx") == 0 ||
                  strcmp(name + n - 4, ".P12") == 0 || strcmp(name + n - 4, ".PFX") == 0))
        n -= 4;
    snprintf(out, cap, "%.*s.pem", (int)(n > 200 ? 200 : n), name);
}

bool x509_explain_unusable(const uint8_t *data, size_t len, x509_file_role role, const char *name,
                           char *out, size_t cap)
{
    static const char *const what[] = {"the certificate chain", "the private key", "the CA data"};
    char alg[80], subj[300], pem[220];
    const char *file = name ? name : "bundle.p12";
    if (!data || !out || cap == 0 || (unsigned)role > X509_FILE_CA)
        return false;
    if (!name)
        name = what[role];
    if (looks_pkcs12(data, len)) {
        pem_name(file, pem, sizeof pem);
        if (role == X509_FILE_CA)
            snprintf(out, cap,
                     "%s looks like a PKCS#12 file (DER); mtls reads PEM: convert it with "
                     "`openssl pkcs12 -in %s -nokeys -out %s`",
                     name, file, pem);
        else /* mtls reads bundles too, but through their own loader */
            snprintf(out, cap,
                     "%s looks like a PKCS#12 file (DER): load it as one, with --p12 %s (the mtls "
                     "tool) or mtls_config_set_pkcs12_file(), or convert it with `openssl pkcs12 "
                     "-in %s -nodes -out %s` and use %s as both the certificate chain and the "
                     "key file",
                     name, file, file, pem, pem);
        return true;
    }
    if (role == X509_FILE_KEY) {
        const char *key = unusable_key(data, len);
        if (!key)
            return false;
        snprintf(out, cap,
                 "%s holds %s key; mtls signs with RSA (2048-4096 bits) or ECDSA P-256/P-384 keys: "
                 "make one with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` "
                 "and get a certificate for it",
                 name, key);
        return true;
    }
    if (!unusable_cert(data, len, alg, sizeof alg, subj, sizeof subj))
        return false;
    if (role == X509_FILE_CA)
        snprintf(out, cap,
                 "%s holds a certificate with %s (%s); mtls verifies only RSA and ECDSA "
                 "(P-256/P-384) signatures, so it can anchor no chain: trust a CA with an RSA or "
                 "ECDSA P-256/P-384 key",
                 name, alg, subj);
    else
        snprintf(out, cap,
                 "%s holds a certificate with %s (%s); mtls uses RSA and ECDSA P-256/P-384 "
                 "certificates: issue one for a key made with `openssl genpkey -algorithm EC "
                 "-pkeyopt ec_paramgen_curve:P-256`",
                 name, alg, subj);
    return true;
}
