/*
 * crypto.h -- the one narrow interface between mtls and its crypto provider (OpenSSL 3 libcrypto).
 *
 * Only files in src/crypto/ include <openssl/...>; everything else sees the small opaque types
 * below.  Costly provider objects (fetched ciphers, digests, MACs) are prepared once per process
 * (cry_init, thread-safe, idempotent) and keys once per config, so nothing here is fetched per
 * record or per handshake.  Functions return 1 on success and 0 on failure unless stated; on
 * failure no partial secret is left in an output buffer.
 *
 * Algorithm identifiers are the TLS code points (groups, signature schemes) so that no second
 * numbering exists.
 */
#ifndef MTLS_CRYPTO_H
#define MTLS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* Process-wide setup.  Called by mtls_config_new(); safe to call many times from many threads. */
int cry_init(void);
/* Route libcrypto's allocations through these (CRYPTO_set_mem_functions). 0 if too late. */
int cry_set_mem_functions(void *(*m)(size_t, const char *, int),
                          void *(*r)(void *, size_t, const char *, int),
                          void (*f)(void *, const char *, int));

/* ---- randomness ---------------------------------------------------------------------------- */
int cry_random(uint8_t *out, size_t len);

/* ---- constant-time helpers ----------------------------------------------------------------- */
/* 1 when equal; time depends only on len. */
int cry_ct_equal(const void *a, const void *b, size_t len);
/* Overwrite with zeros in a way the compiler cannot drop. */
void cry_wipe(void *p, size_t len);

/* ---- hashes -------------------------------------------------------------------------------- */
typedef enum { CRY_SHA256 = 0, CRY_SHA384, CRY_SHA512, CRY_SHA1, CRY_MD5, CRY_HASH_COUNT } cry_hash_alg;
#define CRY_MAX_HASH 64
size_t cry_hash_len(cry_hash_alg alg);

typedef struct cry_hash cry_hash;
cry_hash *cry_hash_new(cry_hash_alg alg);
int cry_hash_update(cry_hash *h, const void *data, size_t len);
/* The digest of everything so far, leaving `h` able to continue (the transcript needs both). */
int cry_hash_peek(const cry_hash *h, uint8_t *out);
void cry_hash_free(cry_hash *h);
/* A copy of `h` that continues apart from it (TLS 1.3 post-handshake authentication branches the
 * handshake's transcript once per CertificateRequest); NULL when out of memory. */
cry_hash *cry_hash_dup(const cry_hash *h);
int cry_hash_oneshot(cry_hash_alg alg, const void *data, size_t len, uint8_t *out);

/* ---- HMAC (for the TLS 1.2 PRF; HKDF later) ------------------------------------------------- */
typedef struct cry_hmac cry_hmac;
cry_hmac *cry_hmac_new(cry_hash_alg alg, const uint8_t *key, size_t key_len);
/* Start a new MAC with the same key. */
int cry_hmac_reset(cry_hmac *m);
int cry_hmac_update(cry_hmac *m, const void *data, size_t len);
int cry_hmac_final(cry_hmac *m, uint8_t *out); /* writes cry_hash_len(alg) bytes */
void cry_hmac_free(cry_hmac *m);                /* wipes the key */

/* ---- HKDF (RFC 5869), for the TLS 1.3 key schedule; src/crypto/hkdf.c ----------------------- */
/* SHA-256 and SHA-384 only (0 for any other alg).  prk receives cry_hash_len(alg) bytes; an empty
 * or NULL salt is HashLen zeros (RFC 5869 2.2). */
int cry_hkdf_extract(cry_hash_alg alg, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                     size_t ikm_len, uint8_t *prk);
/* out_len <= 255 * HashLen and prk_len >= HashLen (RFC 5869 2.3), else 0. */
int cry_hkdf_expand(cry_hash_alg alg, const uint8_t *prk, size_t prk_len, const uint8_t *info,
                    size_t info_len, uint8_t *out, size_t out_len);
/* The same with the PRK already keyed into `m` (made by cry_hmac_new(alg, prk, ...)), so that
 * several expansions of one secret key the HMAC once; `m` is reset as needed and stays usable. */
int cry_hkdf_expand_mac(cry_hmac *m, cry_hash_alg alg, const uint8_t *info, size_t info_len,
                        uint8_t *out, size_t out_len);

/* ---- AEAD ---------------------------------------------------------------------------------- */
typedef enum { CRY_AES_128_GCM = 0, CRY_AES_256_GCM, CRY_CHACHA20_POLY1305 } cry_aead_alg;
#define CRY_AEAD_TAG_LEN 16
#define CRY_AEAD_NONCE_LEN 12
#define CRY_AEAD_MAX_KEY 32
size_t cry_aead_key_len(cry_aead_alg alg);

typedef struct cry_aead cry_aead;
/* A keyed context for one direction; the key is set once, each record sets only its nonce. */
cry_aead *cry_aead_new(cry_aead_alg alg, const uint8_t *key, int encrypt);
/* In place: encrypts buf[0..len) and writes the 16-byte tag. */
int cry_aead_seal(cry_aead *a, const uint8_t nonce[CRY_AEAD_NONCE_LEN], const uint8_t *aad,
                  size_t aad_len, uint8_t *buf, size_t len, uint8_t tag[CRY_AEAD_TAG_LEN]);
/* The same from `in` into `out` (the same buffer, or not overlapping): the record layer encrypts
 * straight from the application's buffer into the send buffer, saving a copy. */
int cry_aead_seal_from(cry_aead *a, const uint8_t nonce[CRY_AEAD_NONCE_LEN], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, uint8_t *out, size_t len,
                       uint8_t tag[CRY_AEAD_TAG_LEN]);
/* Two pieces sealed as one: out[0..a_len) is `a` encrypted, out[a_len..a_len + b_len) `b`, and
 * the tag covers both.  `a` is out itself or does not overlap it; `b` is out + a_len itself or
 * does not overlap out.  TLS 1.3 seals the application's content straight from its buffer, then
 * the content type and padding already written behind it in the record (aead13.c). */
int cry_aead_seal2(cry_aead *a, const uint8_t nonce[CRY_AEAD_NONCE_LEN], const uint8_t *aad,
                   size_t aad_len, const uint8_t *a_in, size_t a_len, const uint8_t *b_in,
                   size_t b_len, uint8_t *out, uint8_t tag[CRY_AEAD_TAG_LEN]);
/* In place: decrypts buf[0..len) and checks the tag.  0 when authentication fails (buf is then
 * wiped). */
int cry_aead_open(cry_aead *a, const uint8_t nonce[CRY_AEAD_NONCE_LEN], const uint8_t *aad,
                  size_t aad_len, uint8_t *buf, size_t len, const uint8_t tag[CRY_AEAD_TAG_LEN]);
/* Decrypts in[0..len) and checks the tag, in two places: the first n1 bytes of plaintext to out1,
 * the other len - n1 to out2.  out1 is `in` itself or does not overlap it; out2 is in + n1 itself
 * or does not overlap it.  The record layer opens an application-data record straight into the
 * application's buffer, and what does not fit there (a TLS 1.3 record's content type and padding)
 * in place.  The plaintext is written before the tag is known to be good: 0 when authentication
 * fails, and both outputs are then wiped -- the caller must count no byte as read before this
 * returns 1. */
int cry_aead_open2(cry_aead *a, const uint8_t nonce[CRY_AEAD_NONCE_LEN], const uint8_t *aad,
                   size_t aad_len, const uint8_t *in, size_t len, uint8_t *out1, size_t n1,
                   uint8_t *out2, const uint8_t tag[CRY_AEAD_TAG_LEN]);
void cry_aead_free(cry_aead *a);

/* ---- ephemeral key exchange (ECDHE) -------------------------------------------------------- */
/* group: 23 secp256r1, 24 secp384r1, 29 x25519 (TLS NamedGroup). */
int cry_group_supported(uint16_t group);
typedef struct cry_kex cry_kex;
/* Generates a fresh key pair. */
cry_kex *cry_kex_new(uint16_t group);
/* The public value in TLS encoding (X25519: 32 bytes; NIST: uncompressed point 04||X||Y). */
int cry_kex_public(const cry_kex *k, uint8_t *out, size_t cap, size_t *out_len);
/* Derive the shared secret with the peer's public value (validated: length, on the curve, not the
 * identity, not an all-zero X25519 result).  0 on any invalid peer value. */
int cry_kex_derive(cry_kex *k, const uint8_t *peer, size_t peer_len, uint8_t *out, size_t cap,
                   size_t *out_len);
void cry_kex_free(cry_kex *k);

/* ---- public and private keys --------------------------------------------------------------- */
typedef enum { CRY_KEY_NONE = 0, CRY_KEY_RSA, CRY_KEY_EC_P256, CRY_KEY_EC_P384, CRY_KEY_OTHER } cry_key_type;
typedef struct cry_pkey cry_pkey;

/* Private key from PEM (PKCS#8, PKCS#1 RSA, SEC1 EC; unencrypted).  Config time only.
 * cry_pkey_load_pem without a passphrase source. */
cry_pkey *cry_pkey_private_from_pem(const uint8_t *pem, size_t len);

/* ---- loading private keys (src/crypto/keyload.c, p11.c), config time only -------------------- */
/* Where a passphrase comes from: writes it (not NUL-terminated) into buf and returns its length
 * (0 .. cap), CRY_PASS_NONE when no source is configured, or another negative value when the
 * source failed.  Called only for a key that is encrypted, at most once per load; the loader
 * wipes buf after use. */
#define CRY_PASS_NONE (-2)
#define CRY_PASS_MAX 1024 /* bytes of buffer the source gets */
typedef int cry_pass_fn(void *arg, char *buf, size_t cap);

typedef enum {
    CRY_LOAD_OK = 0,
    CRY_LOAD_NOT_FOUND,              /* no private key in the data */
    CRY_LOAD_MALFORMED,              /* a key that cannot be decoded (PEM, DER) */
    CRY_LOAD_UNSUPPORTED,            /* another algorithm or curve, multi-prime RSA, ... */
    CRY_LOAD_UNSUPPORTED_ENCRYPTION, /* encrypted with a scheme mtls cannot decrypt */
    CRY_LOAD_NO_PASSPHRASE,          /* encrypted, and the source said CRY_PASS_NONE */
    CRY_LOAD_PASSPHRASE_FAILED,      /* the source failed (returned -1) */
    CRY_LOAD_WRONG_PASSPHRASE,       /* decryption or MAC failed: wrong passphrase or corrupt */
    CRY_LOAD_PASSPHRASE_LENGTH,      /* a PIN of a length the token's engine does not take (why:
                                      * "is N bytes long, more than the M bytes ...") */
    CRY_LOAD_ERROR,                  /* out of memory, or libcrypto failed */
} cry_load_status;

/* In: the passphrase source.  Out: the status, whether the key was encrypted, and a sentence
 * about what exactly was wrong ("" when the status says it all). */
typedef struct cry_load {
    cry_pass_fn *pass;
    void *pass_arg;
    cry_load_status status;
    int encrypted;
    char why[200];
} cry_load;

/* The first private key of `pem` ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY",
 * "ENCRYPTED PRIVATE KEY"; legacy "Proc-Type: 4,ENCRYPTED" headers), decoded by mtls and
 * imported so that no copy of it is left in memory libcrypto frees (F5).  NULL and ld->status on
 * failure. */
cry_pkey *cry_pkey_load_pem(const uint8_t *pem, size_t len, cry_load *ld);
/* A PKCS#12 bundle (DER): its one private key into *key, and the DER of each certificate it holds
 * handed to `cert` in the order found (which returns 0 to stop the load).  The passphrase is asked
 * for only when the MAC does not verify with the empty password.  1 on success. */
int cry_pkcs12_load(const uint8_t *der, size_t len, cry_load *ld, cry_pkey **key,
                    int (*cert)(void *arg, const uint8_t *der, size_t len), void *cert_arg);
/* A key that stays on a PKCS#11 token (RFC 7512 URI "pkcs11:..."), through libcrypto's engine
 * "pkcs11" (libp11); `module` the PKCS#11 module to load (NULL: the engine's default).  The PIN
 * comes from ld's passphrase source unless the URI carries pin-value.  Signing and RSA decryption
 * run on the token.  NULL and ld->status on failure. */
cry_pkey *cry_pkey_load_uri(const char *uri, const char *module, cry_load *ld);
/* Public keys from their raw parts, as our X.509 parser finds them in a SubjectPublicKeyInfo. */
cry_pkey *cry_pkey_rsa_public(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len);
/* curve: CRY_KEY_EC_P256 or CRY_KEY_EC_P384; point: uncompressed 04||X||Y, checked on the curve. */
cry_pkey *cry_pkey_ec_public(cry_key_type curve, const uint8_t *point, size_t point_len);
cry_pkey *cry_pkey_up_ref(cry_pkey *k);
void cry_pkey_free(cry_pkey *k);
cry_key_type cry_pkey_type(const cry_pkey *k);
/* Modulus bits for RSA, field bits for EC. */
unsigned cry_pkey_bits(const cry_pkey *k);
/* 1 when the private key `priv` has the public key `pub`. */
int cry_pkey_matches(const cry_pkey *priv, const cry_pkey *pub);
/* Largest signature / RSA ciphertext this key makes, in bytes. */
size_t cry_pkey_max_sig_len(const cry_pkey *k);

/* Sign `msg` (hashed inside) with TLS signature scheme `scheme` (0x0401 rsa_pkcs1_sha256 ...). */
int cry_sign(const cry_pkey *priv, uint16_t scheme, const uint8_t *msg, size_t msg_len,
             uint8_t *sig, size_t cap, size_t *sig_len);
/* 1 only when `sig` is a valid signature on `msg` under `pub` with `scheme`.  For ECDSA schemes
 * the curve is not checked here (TLS 1.2 does not bind it); the caller's policy does.
 * Also used for certificate signatures: sha*WithRSAEncryption are the rsa_pkcs1 schemes,
 * ecdsa-with-SHA* the ecdsa schemes, plus 0x0201 (rsa_pkcs1_sha1) and 0x0203 (ecdsa_sha1) which
 * only exist so that callers can name them and reject them. */
int cry_verify(const cry_pkey *pub, uint16_t scheme, const uint8_t *msg, size_t msg_len,
               const uint8_t *sig, size_t sig_len);
/* Verify over a precomputed digest (certificate chains hash the TBS once). */
int cry_verify_digest(const cry_pkey *pub, uint16_t scheme, const uint8_t *digest,
                      size_t digest_len, const uint8_t *sig, size_t sig_len);

/* Static RSA key exchange. */
/* RSAES-PKCS1-v1_5 encryption of the 48-byte premaster. */
int cry_rsa_encrypt_pkcs1(const cry_pkey *pub, const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t cap, size_t *out_len);
/* RFC 5246 7.4.7.1: decrypt the EncryptedPreMasterSecret with implicit rejection.  Always writes
 * 48 bytes to `out`: the real premaster when the padding and the version bytes (== client_version)
 * are right, otherwise random bytes, chosen without a branch on secret data.  Returns 0 only on an
 * internal failure, never on bad input. */
int cry_rsa_decrypt_premaster(const cry_pkey *priv, const uint8_t *in, size_t in_len,
                              uint16_t client_version, uint8_t out[48]);
/* The same check, in constant time, on a block someone else decrypted with the raw RSA
 * operation (the application's key method): `em` holds at least k readable bytes (k the modulus
 * length, 256..512), of which the decrypter said it wrote em_len; any em_len but k is a bad block.
 * Always writes 48 bytes (the block's premaster or random ones); 0 only when k is out of range or
 * the RNG fails. */
int cry_rsa_premaster_from_block(const uint8_t *em, size_t em_len, size_t k,
                                 uint16_t client_version, uint8_t out[48]);
/* 1 when `in` could be an RSA ciphertext to `pub`: exactly the modulus length and below the
 * modulus in value.  Public facts of the ciphertext alone: the raw decryption of anything else
 * fails, so it is not asked for (RFC 5246 7.4.7.1 then continues with a random premaster). */
int cry_rsa_ciphertext_fits(const cry_pkey *pub, const uint8_t *in, size_t in_len);

/* ---- additions by the crypto layer ------------------------------------------------------- */
/* A key pair from a known private value, for known-answer tests and recorded handshake vectors
 * (RFC 7748 6.1, RFC 8448); never for a live handshake, which uses cry_kex_new.  X25519: the
 * 32-byte scalar; NIST groups: the big-endian scalar of the field length, 0 < d < n. */
cry_kex *cry_kex_new_private(uint16_t group, const uint8_t *priv, size_t priv_len);

#endif
