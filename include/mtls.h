/*
 * mtls.h -- the whole public API of mtls, a TLS library with mutual authentication at heart.
 *
 * Model.  An mtls_config holds what is shared by many connections: certificates and keys, trust
 * anchors, algorithm preferences, callbacks.  It is reference counted and frozen (read-only) once a
 * connection uses it, so one config may serve connections on many threads at once.  An mtls_conn is
 * one TLS connection in one role; it belongs to one thread at a time.
 *
 * The core is sans-I/O: it never touches a socket.  Bytes that arrive from the peer are written
 * into the buffer mtls_recv_buf() returns and announced with mtls_recv_ack(); bytes for the peer
 * are taken from mtls_send_buf() and retired with mtls_send_ack().  Plaintext goes through
 * mtls_write() and mtls_read().  The mtls_fd_*() helpers at the end drive a connection over a
 * file descriptor (blocking or O_NONBLOCK) using only the calls above.
 *
 * Errors.  Every call that can fail returns an mtls_err.  MTLS_ERR_WANT_READ / _WANT_WRITE mean
 * "nothing is wrong, the call needs I/O first"; so does MTLS_ERR_TIMEOUT from an mtls_fd_*()
 * helper: the fd was not ready in time.  MTLS_ERR_WANT_KEY_OP means the handshake waits for the
 * application's own private-key operation (mtls_config_set_cert_chain_key_method): hand its
 * result over with mtls_conn_key_op_done.  Any other error on a connection is fatal and
 * sticky: the connection remembers its first error (mtls_conn_error) and queues the matching alert
 * in its send buffer, which the caller should still flush.  No global error queue exists.
 *
 * Ownership.  Pointers returned by getters stay valid until the object they came from is freed,
 * unless documented otherwise.  _free(NULL) is always a no-op.
 */
#ifndef MTLS_H
#define MTLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MTLS_BUILDING) && defined(__GNUC__)
#define MTLS_API __attribute__((visibility("default")))
#else
#define MTLS_API
#endif

#define MTLS_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------------- */

/* The values follow src/core/err.def row for row; a static assertion in err.c keeps them equal. */
typedef enum mtls_err {
    MTLS_OK = 0,
    MTLS_ERR_WANT_READ,
    MTLS_ERR_WANT_WRITE,
    MTLS_ERR_WANT_KEY_OP,
    MTLS_ERR_CLOSED,
    MTLS_ERR_EOF,
    MTLS_ERR_IO,
    MTLS_ERR_TIMEOUT,
    MTLS_ERR_INVALID_ARG,
    MTLS_ERR_BAD_STATE,
    MTLS_ERR_CONFIG_FROZEN,
    MTLS_ERR_NO_MEMORY,
    MTLS_ERR_FILE,
    MTLS_ERR_BAD_PEM,
    MTLS_ERR_BAD_KEY,
    MTLS_ERR_KEY_MISMATCH,
    MTLS_ERR_UNSUPPORTED_KEY,
    MTLS_ERR_UNKNOWN_NAME,
    MTLS_ERR_NO_SERVER_NAME,
    MTLS_ERR_NO_PASSPHRASE,
    MTLS_ERR_BAD_PASSPHRASE,
    MTLS_ERR_CRL_PARSE,
    MTLS_ERR_CRL_UNSUPPORTED,
    MTLS_ERR_UNEXPECTED_MESSAGE,
    MTLS_ERR_DECODE,
    MTLS_ERR_RECORD_OVERFLOW,
    MTLS_ERR_BAD_RECORD_MAC,
    MTLS_ERR_BAD_RECORD_VERSION,
    MTLS_ERR_PROTOCOL_VERSION,
    MTLS_ERR_INAPPROPRIATE_FALLBACK,
    MTLS_ERR_NO_SHARED_CIPHER,
    MTLS_ERR_NO_SHARED_GROUP,
    MTLS_ERR_NO_SHARED_SIGALG,
    MTLS_ERR_UNOFFERED_SUITE,
    MTLS_ERR_UNOFFERED_GROUP,
    MTLS_ERR_UNOFFERED_SIGALG,
    MTLS_ERR_UNOFFERED_EXTENSION,
    MTLS_ERR_DUPLICATE_EXTENSION,
    MTLS_ERR_BAD_COMPRESSION,
    MTLS_ERR_ILLEGAL_PARAMETER,
    MTLS_ERR_BAD_KEY_SHARE,
    MTLS_ERR_BAD_SIGNATURE,
    MTLS_ERR_BAD_FINISHED,
    MTLS_ERR_RENEGOTIATION,
    MTLS_ERR_BAD_RENEGOTIATION_INFO,
    MTLS_ERR_EMS_REQUIRED,
    MTLS_ERR_NO_CLIENT_CERT,
    MTLS_ERR_NO_ALPN,
    MTLS_ERR_UNRECOGNIZED_NAME,
    MTLS_ERR_HANDSHAKE_TOO_LARGE,
    MTLS_ERR_TOO_MANY_EMPTY,
    MTLS_ERR_CERT_REQUIRED,
    MTLS_ERR_MISSING_EXTENSION,
    MTLS_ERR_DOWNGRADE,
    MTLS_ERR_PEER_ALERT,
    MTLS_ERR_TOO_MANY_WARNINGS,
    MTLS_ERR_NO_SERVER_CERT,
    MTLS_ERR_CERT_PARSE,
    MTLS_ERR_CERT_UNSUPPORTED,
    MTLS_ERR_CERT_EXPIRED,
    MTLS_ERR_CERT_NOT_YET_VALID,
    MTLS_ERR_CERT_UNKNOWN_CA,
    MTLS_ERR_CERT_SELF_SIGNED,
    MTLS_ERR_CERT_HOSTNAME,
    MTLS_ERR_CERT_BAD_SIGNATURE,
    MTLS_ERR_CERT_WEAK_KEY,
    MTLS_ERR_CERT_WEAK_SIGNATURE,
    MTLS_ERR_CERT_NOT_CA,
    MTLS_ERR_CERT_PATH_LEN,
    MTLS_ERR_CERT_CHAIN_TOO_LONG,
    MTLS_ERR_CERT_KEY_USAGE,
    MTLS_ERR_CERT_EKU,
    MTLS_ERR_CERT_REJECTED,
    MTLS_ERR_CERT_WRONG_TYPE,
    MTLS_ERR_CERT_NAME_CONSTRAINTS,
    MTLS_ERR_CERT_SPIFFE_ID,
    MTLS_ERR_CERT_SPIFFE_DENIED,
    MTLS_ERR_CERT_REVOKED,
    MTLS_ERR_CRL_MISSING,
    MTLS_ERR_CRL_EXPIRED,
    MTLS_ERR_CRL_NOT_YET_VALID,
    MTLS_ERR_CRL_BAD_SIGNATURE,
    MTLS_ERR_OCSP_MISSING,
    MTLS_ERR_OCSP_BAD_RESPONSE,
    MTLS_ERR_OCSP_NOT_FOR_CERT,
    MTLS_ERR_OCSP_BAD_SIGNATURE,
    MTLS_ERR_OCSP_UNAUTHORIZED,
    MTLS_ERR_OCSP_EXPIRED,
    MTLS_ERR_OCSP_NOT_YET_VALID,
    MTLS_ERR_OCSP_CERT_UNKNOWN,
    MTLS_ERR_CRYPTO,
    MTLS_ERR_INTERNAL,
    MTLS_ERR_RNG,
    MTLS_ERR_KEY_OP_FAILED,
    MTLS_ERR_KEY_OP_BAD_RESULT,
    MTLS_ERR__COUNT
} mtls_err;

/* A short sentence a person understands ("a certificate has expired").  Never NULL. */
MTLS_API const char *mtls_err_str(mtls_err err);
/* The error's name without prefix ("CERT_EXPIRED").  Never NULL. */
MTLS_API const char *mtls_err_name(mtls_err err);
/* Nonzero for MTLS_ERR_WANT_READ / MTLS_ERR_WANT_WRITE / MTLS_ERR_WANT_KEY_OP: the call may be
 * repeated once the fd is ready -- or, for WANT_KEY_OP, once mtls_conn_key_op_done gave the
 * result (no fd readiness ends that wait: do not poll the fd for it). */
MTLS_API int mtls_err_is_blocked(mtls_err err);
/* The name of TLS alert number `alert` ("handshake_failure"), or "unknown_alert". */
MTLS_API const char *mtls_alert_name(int alert);

/* ---------------------------------------------------------------------------------------------
 * Constants (IANA code points)
 * ------------------------------------------------------------------------------------------- */

#define MTLS_VERSION_TLS12 0x0303
#define MTLS_VERSION_TLS13 0x0304

#define MTLS_TLS_RSA_WITH_AES_128_GCM_SHA256                0x009C
#define MTLS_TLS_RSA_WITH_AES_256_GCM_SHA384                0x009D
#define MTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256        0xC02B
#define MTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384        0xC02C
#define MTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256          0xC02F
#define MTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384          0xC030
#define MTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256    0xCCA8
#define MTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256  0xCCA9
/* TLS 1.3 (RFC 8446 B.4): the suite names the AEAD and the hash only */
#define MTLS_TLS_AES_128_GCM_SHA256                         0x1301
#define MTLS_TLS_AES_256_GCM_SHA384                         0x1302
#define MTLS_TLS_CHACHA20_POLY1305_SHA256                   0x1303

#define MTLS_GROUP_SECP256R1 23
#define MTLS_GROUP_SECP384R1 24
#define MTLS_GROUP_X25519    29

#define MTLS_SIG_RSA_PKCS1_SHA256       0x0401
#define MTLS_SIG_RSA_PKCS1_SHA384       0x0501
#define MTLS_SIG_RSA_PKCS1_SHA512       0x0601
#define MTLS_SIG_ECDSA_SECP256R1_SHA256 0x0403
#define MTLS_SIG_ECDSA_SECP384R1_SHA384 0x0503
#define MTLS_SIG_RSA_PSS_RSAE_SHA256    0x0804
#define MTLS_SIG_RSA_PSS_RSAE_SHA384    0x0805
#define MTLS_SIG_RSA_PSS_RSAE_SHA512    0x0806

/* The cipher suites / groups / signature schemes this build supports, in default preference
 * order: writes at most `cap` into `out` and returns how many there are. */
MTLS_API size_t mtls_supported_suites(uint16_t *out, size_t cap);
MTLS_API size_t mtls_supported_groups(uint16_t *out, size_t cap);
MTLS_API size_t mtls_supported_sigalgs(uint16_t *out, size_t cap);
/* IANA name of a cipher suite ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), or NULL if unknown. */
MTLS_API const char *mtls_suite_name(uint16_t suite);
/* "x25519", "secp256r1", "secp384r1", or NULL. */
MTLS_API const char *mtls_group_name(uint16_t group);
/* "rsa_pss_rsae_sha256", ... or NULL. */
MTLS_API const char *mtls_sigalg_name(uint16_t sigalg);

/* ---------------------------------------------------------------------------------------------
 * Process-wide settings
 * ------------------------------------------------------------------------------------------- */

/* Route every allocation mtls makes -- and, where the crypto library allows it, every allocation
 * the crypto library makes -- through these functions.  Call before any other mtls call, once.
 * Returns MTLS_ERR_BAD_STATE if allocations already happened with other functions.
 * libcrypto's blocks then carry their size and are wiped before they are freed.  Without this
 * call mtls still keeps the secrets of connections and private keys (which it decodes itself) out
 * of libcrypto's freed memory, except a PKCS#12 bundle's unencrypted key bag, whose plaintext
 * libcrypto's PKCS#12 decoder frees uncleansed; with it, that is wiped too.
 * mtls_set_allocator(malloc, realloc, free) gets the wiping with the C library's allocator.
 * libcrypto accepts this only before its own first allocation in the process (the call still
 * returns MTLS_OK for mtls's own allocations), and keeps the functions for the life of the
 * process: docs/SECURITY.md, "Secrets in freed memory". */
MTLS_API mtls_err mtls_set_allocator(void *(*malloc_fn)(size_t), void *(*realloc_fn)(void *, size_t),
                                     void (*free_fn)(void *));

/* ---------------------------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------------------------- */

typedef struct mtls_config mtls_config;
typedef struct mtls_conn mtls_conn;

typedef enum mtls_verify_mode {
    MTLS_VERIFY_NONE = 0,     /* server: do not ask for a client certificate */
    MTLS_VERIFY_OPTIONAL = 1, /* server: ask; a client without one may proceed; one sent is verified */
    MTLS_VERIFY_REQUIRE = 2   /* server: ask and fail the handshake (handshake_failure) without one */
} mtls_verify_mode;

/* A new config with safe defaults: TLS 1.3 and TLS 1.2, 1.3 preferred, forward-secret AEAD suites
 * first (the TLS 1.3 suites, then the TLS 1.2 ones), groups x25519,
 * secp256r1, secp384r1, extended master secret offered and accepted (required only with
 * mtls_config_set_require_ems), client verifies the server against the system trust store
 * (/etc/ssl/certs) unless CAs are set.  NULL when out of memory. */
MTLS_API mtls_config *mtls_config_new(void);
/* Drops one reference; the config is freed when the last connection using it is freed too. */
MTLS_API void mtls_config_free(mtls_config *cfg);

/* Our certificate chain (PEM: leaf first, then intermediates) and its private key (PEM: PKCS#8,
 * PKCS#1 or SEC1; encrypted ones with the passphrase callback below).  MTLS_ERR_KEY_MISMATCH when
 * the key does not belong to the leaf.  RSA keys must be 2048-4096 bits; EC keys P-256 or P-384.
 * The _mem form parses and copies the bytes; the caller keeps its buffers.
 * mtls_config_error_detail() says which file and what is wrong.  mtls decodes the key itself and
 * hands libcrypto only its numbers, so loading leaves no copy of the key in freed memory
 * (docs/SECURITY.md, "Secrets in freed memory"). */
MTLS_API mtls_err mtls_config_set_cert_chain_file(mtls_config *cfg, const char *chain_path,
                                                  const char *key_path);
MTLS_API mtls_err mtls_config_set_cert_chain_mem(mtls_config *cfg, const void *chain_pem,
                                                 size_t chain_len, const void *key_pem,
                                                 size_t key_len);
/* Our certificate as set above: the leaf's subject (an RFC 4514 string), its notAfter (seconds
 * since the epoch) and its serial number in uppercase hex as `openssl x509 -serial` prints it
 * ("1A2B"; "-01" when negative); NULL, 0 and NULL when none is set.  For logs -- what a reload
 * changed (a renewal may keep the name and the expiry, never the serial), when the certificate
 * expires.  The strings stay valid until the config is freed. */
MTLS_API const char *mtls_config_cert_subject(const mtls_config *cfg);
MTLS_API int64_t mtls_config_cert_not_after(const mtls_config *cfg);
MTLS_API const char *mtls_config_cert_serial(const mtls_config *cfg);

/* Passphrases for encrypted private keys ("ENCRYPTED PRIVATE KEY" PKCS#8 with PBES2 -- PBKDF2 or
 * scrypt, AES-CBC or 3DES -- and legacy "Proc-Type: 4,ENCRYPTED" PEM), for PKCS#12 bundles and
 * for the PIN of a PKCS#11 token.  The callback is asked only when a key turns out to be
 * encrypted, at most once per load, synchronously from inside the setter that loads it
 * (mtls_config_set_cert_chain_file / _mem, mtls_config_set_pkcs12_file / _mem,
 * mtls_config_set_cert_chain_key_uri), on the caller's thread.  Set it before those calls.
 *   - `buf` has room for `cap` bytes (1024): write the passphrase there, without a NUL, and
 *     return its length (0 for an empty passphrase), or -1 when none can be given (the setter then
 *     fails with MTLS_ERR_NO_PASSPHRASE).  A length above `cap` counts as -1.
 *   - `what` names what is being unlocked: the key file's or PKCS#12 file's path as the setter
 *     got it, "memory" for data given to a _mem setter, or the PKCS#11 URI (then the PIN is
 *     wanted).
 *   - mtls wipes `buf` as soon as the key is decrypted (or the attempt failed); wipe your own
 *     copies.  Passphrases are used as given (UTF-8 bytes, no trailing newline removed).
 * A wrong passphrase fails with MTLS_ERR_BAD_PASSPHRASE ("wrong passphrase for server.key (or a
 * corrupt key)" in mtls_config_error_detail): a corrupt encrypted key cannot be told from a wrong
 * passphrase.  There is no retry: call the setter again to ask again.  Without a callback an
 * encrypted key fails with MTLS_ERR_NO_PASSPHRASE.  fn NULL removes the callback. */
typedef int mtls_passphrase_fn(void *arg, char *buf, size_t cap, const char *what);
MTLS_API mtls_err mtls_config_set_passphrase_callback(mtls_config *cfg, mtls_passphrase_fn *fn,
                                                      void *arg);

/* A PKCS#12 bundle (.p12 / .pfx, DER, RFC 7292) as our identity: its one private key, the
 * certificate of that key as the leaf, and its other certificates as the chain, ordered from the
 * leaf up by issuer (certificates that are not on that path follow in the bundle's order).  The
 * certificates are parsed by mtls's own X.509 code, as from PEM.  Password: a bundle whose MAC
 * verifies with the empty password (either encoding: no bytes, or the BMPString terminator, as
 * `openssl pkcs12 -export -passout pass:` writes) is opened without asking; otherwise the
 * passphrase callback is asked once (`what` is the path, or "memory").  A bundle without a MAC
 * (`-nomac`) cannot tell a password right before decrypting: the callback is asked, and without
 * one the empty password is used.  Bundles encrypted with
 * PBES2 (PBKDF2 + AES, the default of OpenSSL 3 and current tools) and with 3DES are read; RC2-40
 * (`openssl pkcs12 -legacy`, old Windows exports) is not: re-export the bundle.  A bundle with
 * several private keys, or whose key has no certificate in it, is refused.  Key and chain replace
 * those set before, as with mtls_config_set_cert_chain_file. */
MTLS_API mtls_err mtls_config_set_pkcs12_file(mtls_config *cfg, const char *path);
MTLS_API mtls_err mtls_config_set_pkcs12_mem(mtls_config *cfg, const void *der, size_t len);

/* A certificate chain from a PEM file and a private key that stays on a PKCS#11 token (smart
 * card, HSM, SoftHSM), named by an RFC 7512 URI: "pkcs11:token=mtls;object=server-key;type=private"
 * (id=%01 selects by CKA_ID).  Signatures and static-RSA decryption run on the token; the key never
 * enters this process.  Loaded through OpenSSL's engine "pkcs11" (libp11; Debian's
 * libengine-pkcs11-openssl), which loads the PKCS#11 module given by
 * mtls_config_set_pkcs11_module, or else its default (p11-kit-proxy, which offers every module
 * registered with p11-kit).  The PIN is the URI's pin-value, else the passphrase callback's answer
 * (`what` is the URI); an answer of a length the engine does not take (libp11: 4 to 32 bytes) is
 * MTLS_ERR_BAD_PASSPHRASE, and the detail says its length and the limit.  Keys as for mtls_config_set_cert_chain_file: RSA 2048-4096, ECDSA P-256 /
 * P-384, matching the chain's first certificate.  Static-RSA suites need the token to do raw RSA
 * (CKM_RSA_X_509) -- mtls checks the PKCS #1 padding itself; a token that refuses it fails those
 * handshakes with MTLS_ERR_CRYPTO: restrict such a server to ECDHE suites.  MTLS_ERR_BAD_KEY with
 * a detail when the engine cannot be loaded or the key not found. */
MTLS_API mtls_err mtls_config_set_cert_chain_key_uri(mtls_config *cfg, const char *chain_path,
                                                     const char *key_uri);
/* The PKCS#11 module (a shared object: /usr/lib/softhsm/libsofthsm2.so, opensc-pkcs11.so) that
 * mtls_config_set_cert_chain_key_uri loads; NULL for the engine's default.  Set it first. */
MTLS_API mtls_err mtls_config_set_pkcs11_module(mtls_config *cfg, const char *module_path);

/* Our certificate chain with a private key that the application holds and uses itself: every
 * operation with that key -- the signature in a ServerKeyExchange or a CertificateVerify, the
 * static-RSA premaster's decryption -- goes to `method`'s callbacks instead of a key in memory,
 * and each may finish later (BoringSSL's SSL_PRIVATE_KEY_METHOD is the model).  The chain is PEM,
 * leaf first, as for mtls_config_set_cert_chain_mem.  For keys in an HSM, a cloud KMS, a signing
 * service or another process: the key never enters mtls, and a slow operation need not hold up a
 * thread that drives other connections.
 *
 * The callbacks (called on the thread that drives the connection; for different connections,
 * on several threads at once):
 *   sign     sign `in` (in_len bytes) with the TLS SignatureScheme `sigalg` (an MTLS_SIG_* that
 *            fits the leaf's key and that the peer accepts).  `in` is the data to be signed, NOT
 *            its digest (as in BoringSSL): hash it with the scheme's hash (SHA-256 for *_sha256,
 *            ...) and sign that with the scheme's padding -- PKCS #1 v1.5 with DigestInfo, PSS
 *            with MGF1 of the same hash and a salt as long as the hash (RFC 8446 4.2.3), ECDSA as
 *            a DER Ecdsa-Sig-Value.  A signer that takes a digest (PKCS#11 CKM_ECDSA, a KMS
 *            "digest" mode) is given that hash.  Why the data: a signer that hashes itself
 *            (PKCS#11 CKM_SHA256_RSA_PKCS_PSS, EVP_DigestSign) needs it, and one that takes a
 *            digest is one hash away; in TLS 1.2 a CertificateVerify covers the whole transcript,
 *            several kilobytes.
 *   decrypt  static RSA only (TLS_RSA_WITH_* suites; NULL: a server never chooses them): the raw
 *            RSA decryption of `in` (c^d mod n: libcrypto's RSA_NO_PADDING, PKCS#11 CKM_RSA_X_509)
 *            as exactly as many bytes as the modulus, leading zeros kept.  Do NOT remove or check
 *            the PKCS #1 padding, and never fail or answer differently because of what the
 *            plaintext looks like: mtls checks the padding itself in constant time (RFC 5246
 *            7.4.7.1; docs/SECURITY.md says what this callback must guarantee).  mtls asks only for
 *            a ciphertext exactly as long as the modulus and below it in value; any other goes on
 *            with a random premaster without asking, as with a key in memory.
 * Each writes at most `cap` bytes to `out` (valid during the call only), sets *out_len, and
 * returns
 *   MTLS_KEY_OP_DONE     the result is in `out`;
 *   MTLS_KEY_OP_PENDING  the result comes later, through mtls_conn_key_op_done: copy what you need
 *                        of `in` (valid during the call only), start the work and return;
 *   MTLS_KEY_OP_FAILED   the operation cannot be done (token gone, service down): the handshake
 *                        fails with MTLS_ERR_KEY_OP_FAILED and an internal_error alert.
 *
 * Pending.  While an operation is outstanding, mtls_handshake, mtls_fd_handshake (and its _timeout
 * twin, which does not wait for it) and mtls_recv_ack return MTLS_ERR_WANT_KEY_OP and nothing
 * moves: no callback is called again, nothing more is sent, and records that arrive are kept
 * unread in the receive buffer (the peer usually waits for us anyway).  When the result is ready,
 * hand it over with mtls_conn_key_op_done -- on the thread that drives the connection: a result
 * made on another thread (a worker, a completion queue) is passed to it first, through a pipe or
 * eventfd its event loop polls -- and call mtls_handshake (or mtls_fd_handshake) again: the
 * handshake goes on where it stopped.  Why a call and not a "complete" callback that every
 * mtls_handshake polls (BoringSSL's choice): in a sans-I/O design the application's event loop
 * already knows when its operation ended and says so once; mtls copies the result at once, so no
 * buffer of the application's has to outlive it, and no callback has to answer "not yet" again
 * and again on every call.  A connection may be freed with an operation outstanding; its result
 * must then not be handed to it.
 *
 * Checks.  A signature is checked before it is sent: its size (exactly the modulus's for RSA, at
 * most the DER maximum for ECDSA) and that it verifies with the leaf's public key.  Else the
 * handshake fails with MTLS_ERR_KEY_OP_BAD_RESULT (internal_error) and the signature is never
 * sent: a key that does not belong to the certificate shows at once, and a faulty RSA-CRT
 * signature, which would give the key away (Boneh, DeMillo and Lipton), never leaves.  A
 * decryption result of another length than the modulus's is not used: like a bad padding it
 * gives a random premaster and the handshake fails at the Finished, exactly as for an attacker's
 * ciphertext, so that nothing about the plaintext (a leading zero byte dropped, say) can show.
 *
 * The leaf's key as for mtls_config_set_cert_chain_file (RSA 2048-4096, ECDSA P-256 / P-384);
 * `sign` is required.  The struct is copied; `arg` goes to every call.  Replaces the identity set
 * before and is replaced by the next one.  A resumed handshake signs nothing and calls nothing.
 * examples/keyop_pkcs11.c signs and decrypts with a key on a PKCS#11 token from a worker thread. */
typedef enum mtls_key_op_status {
    MTLS_KEY_OP_DONE = 0,
    MTLS_KEY_OP_PENDING = 1,
    MTLS_KEY_OP_FAILED = 2
} mtls_key_op_status;
typedef struct mtls_key_method {
    mtls_key_op_status (*sign)(void *arg, const mtls_conn *conn, uint16_t sigalg,
                               const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                               size_t *out_len);
    mtls_key_op_status (*decrypt)(void *arg, const mtls_conn *conn, const uint8_t *in,
                                  size_t in_len, uint8_t *out, size_t cap, size_t *out_len);
} mtls_key_method;
MTLS_API mtls_err mtls_config_set_cert_chain_key_method(mtls_config *cfg, const void *chain_pem,
                                                        size_t chain_len,
                                                        const mtls_key_method *method, void *arg);

/* Trust anchors used to verify the peer (server certificates for a client; client certificates
 * for a server unless mtls_config_set_client_ca_* is used).  May be called several times; the
 * anchors add up.  The directory form reads a hashed directory as c_rehash makes it. */
MTLS_API mtls_err mtls_config_set_ca_file(mtls_config *cfg, const char *path);
MTLS_API mtls_err mtls_config_set_ca_dir(mtls_config *cfg, const char *path);
MTLS_API mtls_err mtls_config_set_ca_mem(mtls_config *cfg, const void *pem, size_t len);
/* Separate anchors for client certificates (server side). */
MTLS_API mtls_err mtls_config_set_client_ca_file(mtls_config *cfg, const char *path);
MTLS_API mtls_err mtls_config_set_client_ca_mem(mtls_config *cfg, const void *pem, size_t len);

/* A sentence about the most recent mtls_config_set_* call on this config: why it failed (which
 * file, which PEM block, what is wrong and what to do), or, after a list setter that succeeded
 * but skipped names (mtls_config_set_ciphers), which names it skipped; "" after a call that
 * succeeded with nothing to say.  Every failing call writes it, except one that fails with
 * MTLS_ERR_CONFIG_FROZEN (or gets a NULL config): a frozen config is not written at all, since
 * connections on other threads may be reading it.  Not thread-safe: read it right after the
 * call, before the config is shared. */
MTLS_API const char *mtls_config_error_detail(const mtls_config *cfg);

/* Server: whether to request and how to treat a client certificate.  Default MTLS_VERIFY_NONE. */
MTLS_API mtls_err mtls_config_set_verify_client(mtls_config *cfg, mtls_verify_mode mode);
/* Server: name the CAs we accept client certificates from (the subjects of the client CA
 * anchors: mtls_config_set_client_ca_*, else mtls_config_set_ca_*) in the CertificateRequest's
 * certificate_authorities (RFC 5246 7.4.4), so that a client with several certificates picks one
 * that chains to them (OpenSSL's SSL_CTX_set_client_CA_list).  Default on; 0 sends the empty
 * list, which lets the client send any certificate, and keeps the CA names private.  When the
 * names take more than 16 KiB (a system store's), the empty list is sent too. */
MTLS_API mtls_err mtls_config_set_send_ca_names(mtls_config *cfg, int on);

/* Client: skip ALL verification of the server's certificate (chain, dates, host name).  The
 * connection is then open to active attackers.  For tests and debugging only. */
MTLS_API mtls_err mtls_config_set_insecure_skip_verify(mtls_config *cfg, int insecure);

/* Peer certificates parsed by this config's connections are kept in a small cache keyed by their
 * exact DER bytes (default MTLS_CERT_CACHE_DEFAULT_SIZE entries, least recently used evicted), so
 * a peer that comes back with the same certificate is neither parsed nor has its key imported
 * again, and its established connections share one parsed copy.  Only parsing is cached: every
 * handshake verifies the chain in full.  0 turns the cache off -- e.g. where the timing of a
 * handshake must not reveal whether a certificate was seen recently (docs/SECURITY.md). */
#define MTLS_CERT_CACHE_DEFAULT_SIZE 64 /* certificates */
MTLS_API mtls_err mtls_config_set_cert_cache(mtls_config *cfg, size_t max_entries);

/* Cipher suites in preference order: a list separated by ':' or ',' of IANA names
 * (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) or OpenSSL names (ECDHE-ECDSA-AES128-GCM-SHA256).
 * As with OpenSSL's cipher strings, names mtls does not know or support are skipped, and
 * mtls_config_error_detail() names them; a list that names nothing mtls supports (or nothing at
 * all) fails with MTLS_ERR_UNKNOWN_NAME and the previous list stays.  The same rule holds for
 * mtls_config_set_groups and mtls_config_set_sigalgs. */
MTLS_API mtls_err mtls_config_set_ciphers(mtls_config *cfg, const char *list);
/* One list serves both versions: TLS 1.3 suites (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
 * TLS_CHACHA20_POLY1305_SHA256) and TLS 1.2 suites may be mixed, each version uses the suites of
 * its kind in the list's order, and a version whose kind the list leaves out is not offered nor
 * accepted (a list of TLS 1.2 suites alone means TLS 1.2 only, and the other way round).  Unlike
 * OpenSSL, which keeps TLS 1.3 suites apart (-ciphersuites), there is no second list. */

/* The protocol versions to speak, both roles: MTLS_VERSION_TLS12 and/or MTLS_VERSION_TLS13 as
 * the lowest and the highest.  Default both (min TLS 1.2, max TLS 1.3); the highest version both
 * sides speak is chosen (RFC 8446 4.2.1).  min == max pins one version.  Any other value, or min
 * above max, is MTLS_ERR_INVALID_ARG.  A server that speaks TLS 1.3 and negotiates TLS 1.2 with a
 * client that did not offer 1.3 marks its ServerHello.random with the downgrade sentinel of RFC
 * 8446 4.1.3, and a client that offered TLS 1.3 refuses such a ServerHello (MTLS_ERR_DOWNGRADE,
 * illegal_parameter): an attacker cannot strip the TLS 1.3 offer unnoticed.  A version counts as
 * spoken only with a cipher suite of its kind in the list (mtls_config_set_ciphers). */
MTLS_API mtls_err mtls_config_set_versions(mtls_config *cfg, uint16_t min_version,
                                           uint16_t max_version);
/* Groups in preference order: "x25519:secp256r1:secp384r1" (P-256 and P-384 accepted too).
 * Unknown names are skipped as for mtls_config_set_ciphers. */
MTLS_API mtls_err mtls_config_set_groups(mtls_config *cfg, const char *list);
/* Signature schemes in preference order, by their TLS 1.3 names ("ecdsa_secp256r1_sha256").
 * Unknown names are skipped as for mtls_config_set_ciphers. */
MTLS_API mtls_err mtls_config_set_sigalgs(mtls_config *cfg, const char *list);
/* Server: follow the client's suite order instead of ours (default: ours). */
MTLS_API mtls_err mtls_config_set_prefer_client_order(mtls_config *cfg, int on);
/* ALPN protocols in preference order, comma separated ("h2,http/1.1"); NULL or "": none.  A name
 * longer than 255 bytes, or a list longer than 256 bytes in all, is MTLS_ERR_INVALID_ARG.
 * Negotiated afresh in every handshake, resumed ones included (RFC 7301 section 3.1): a resumed
 * connection reports the protocol of its own handshake, or none, never the one of the session it
 * resumed. */
MTLS_API mtls_err mtls_config_set_alpn(mtls_config *cfg, const char *list);
/* Require extended master secret from the peer (RFC 7627): peers without it are refused with
 * handshake_failure.  Default off: EMS is always offered and used when the peer has it, but some
 * clients (wget with GnuTLS, old Java) still lack it. */
MTLS_API mtls_err mtls_config_set_require_ems(mtls_config *cfg, int on);

/* Trace: called as the handshake happens, one call per message or step.  `dir` is '>' for what
 * we send, '<' for what we receive, '*' for a decision or check.  `what` names the message or step
 * ("ClientHello"), `detail` says what it carried or why it was chosen.  Strings are valid only
 * during the call. */
typedef void mtls_trace_fn(void *arg, const mtls_conn *conn, char dir, const char *what,
                           const char *detail);
MTLS_API mtls_err mtls_config_set_trace(mtls_config *cfg, mtls_trace_fn *fn, void *arg);

/* Trace events: the same steps as the trace above, as data for programs and tests, which should
 * not read the words (they are written for people and may change).  `kind` says what happened;
 * the fields that belong to it are set, the others are -1 / 0.  A kind and its fields, with the
 * text trace's `dir`, `what` and `detail` beside them:
 *   MTLS_TRACE_SENT / _RECEIVED   `msg`: the handshake message type sent or received (a
 *                                 HelloRequest ignored during the handshake included; a TLS 1.3
 *                                 HelloRetryRequest is a ServerHello, `what` names it), or
 *                                 MTLS_TRACE_CHANGE_CIPHER_SPEC (in TLS 1.3 the compatibility
 *                                 one); TLS 1.3's NewSessionTicket, KeyUpdate and
 *                                 post-handshake authentication's messages after the
 *                                 handshake too
 *   MTLS_TRACE_CHECK              the peer's certificate judged: `result` is MTLS_OK or the error
 *                                 that rejected it; `flags`: MTLS_TRACE_SKIPPED (not verified:
 *                                 mtls_config_set_insecure_skip_verify), MTLS_TRACE_NO_HOSTNAME
 *                                 (verified, the host name not checked:
 *                                 mtls_conn_set_insecure_skip_hostname), MTLS_TRACE_RESUMED (the
 *                                 stored certificate of a resumed session, by the verify callback),
 *                                 MTLS_TRACE_SPIFFE (verified, the peer accepted by its SPIFFE ID
 *                                 in place of a host name: mtls_config_add_spiffe_id)
 *   MTLS_TRACE_DECISION           `decision`; `flags`: MTLS_TRACE_TICKET when a session is offered,
 *                                 refused or resumed by ticket (else by session id)
 *   MTLS_TRACE_KEYS               the master secret derived (TLS 1.3: the handshake secret, then
 *                                 the master secret)
 *   MTLS_TRACE_ALERT_SENT / _RECEIVED   `alert` at `level` (1 warning, 2 fatal)
 *   MTLS_TRACE_ESTABLISHED        the handshake is complete
 * SENT, RECEIVED, ALERT_SENT and ALERT_RECEIVED also say how the record that carried the step
 * crossed the wire: `protection` (below) and, for MTLS_PROTECTION_APPLICATION, `generation`.  It
 * is the sender's key that protects a record: ours for what we send, the peer's for what we
 * receive (TLS 1.3's client_/server_ traffic secrets; TLS 1.2's client_/server_write_key).  The
 * other kinds say MTLS_PROTECTION_NONE.
 * Both callbacks may be set; each step is reported to both.  The event and its strings are valid
 * only during the call. */
typedef enum mtls_trace_kind {
    MTLS_TRACE_SENT = 1,
    MTLS_TRACE_RECEIVED,
    MTLS_TRACE_CHECK,
    MTLS_TRACE_DECISION,
    MTLS_TRACE_KEYS,
    MTLS_TRACE_ALERT_SENT,
    MTLS_TRACE_ALERT_RECEIVED,
    MTLS_TRACE_ESTABLISHED
} mtls_trace_kind;
typedef enum mtls_trace_decision {
    MTLS_DECISION_NONE = 0,
    MTLS_DECISION_NEGOTIATED,      /* server: cipher suite, group and signature scheme chosen */
    MTLS_DECISION_RESUME_OFFERED,  /* client: a saved session offered in the ClientHello */
    MTLS_DECISION_RESUME_DECLINED, /* a saved session not offered (client) or refused (server) */
    MTLS_DECISION_RESUMED,         /* server: the client's session accepted */
    MTLS_DECISION_RENEGOTIATION_REFUSED, /* a renegotiation attempt declined (no_renegotiation) */
    MTLS_DECISION_NO_STAPLE, /* an OCSP staple was asked for (status_request) and none goes:
                              * server, none set, not about our certificate or out of date;
                              * client, the server acknowledged and sent none (RFC 6066 8 allows
                              * it) */
    MTLS_DECISION_POST_AUTH  /* server: a client's answer to a post-handshake CertificateRequest
                              * checked, its identity now the connection's (`flags`
                              * MTLS_TRACE_SKIPPED: it sent no certificate) */
} mtls_trace_decision;
/* How a record crossed the wire (mtls_trace_event.protection). */
typedef enum mtls_trace_protection {
    MTLS_PROTECTION_NONE = 0,   /* not a record: a check, a decision, keys, established */
    MTLS_PROTECTION_CLEAR,      /* a plaintext record, readable by anyone on the path: the hellos,
                                 * TLS 1.2's certificates and key exchange, every ChangeCipherSpec */
    MTLS_PROTECTION_TLS12,      /* TLS 1.2, after the sender's ChangeCipherSpec: encrypted with the
                                 * sender's write key from the master secret's key block */
    MTLS_PROTECTION_HANDSHAKE,  /* TLS 1.3: encrypted under the sender's handshake traffic secret */
    MTLS_PROTECTION_APPLICATION /* TLS 1.3: encrypted under the sender's application traffic secret
                                 * N, N the event's `generation`: 0 from the Finished on, one more
                                 * after each KeyUpdate of the sender */
} mtls_trace_protection;
#define MTLS_TRACE_CHANGE_CIPHER_SPEC 256 /* `msg` of a ChangeCipherSpec (not a handshake type) */
#define MTLS_TRACE_SKIPPED 0x1u
#define MTLS_TRACE_NO_HOSTNAME 0x2u
#define MTLS_TRACE_RESUMED 0x4u
#define MTLS_TRACE_TICKET 0x8u
#define MTLS_TRACE_SPIFFE 0x10u
typedef struct mtls_trace_event {
    mtls_trace_kind kind;
    int msg;                      /* SENT, RECEIVED; else -1 */
    mtls_trace_decision decision; /* DECISION; else MTLS_DECISION_NONE */
    int alert, level;             /* ALERT_SENT, ALERT_RECEIVED; else -1, 0 */
    mtls_err result;              /* CHECK; else MTLS_OK */
    unsigned flags;
    char dir;                     /* as for mtls_trace_fn */
    const char *what, *detail;
    mtls_trace_protection protection; /* SENT, RECEIVED, ALERT_*; else MTLS_PROTECTION_NONE */
    unsigned generation;              /* MTLS_PROTECTION_APPLICATION: N; else 0 */
} mtls_trace_event;
typedef void mtls_trace_event_fn(void *arg, const mtls_conn *conn, const mtls_trace_event *ev);
MTLS_API mtls_err mtls_config_set_trace_events(mtls_config *cfg, mtls_trace_event_fn *fn,
                                               void *arg);

/* Key log: one line in NSS key log format per connection ("CLIENT_RANDOM <hex> <hex>"), without
 * newline, for Wireshark.  Anyone who sees these lines can decrypt the traffic. */
typedef void mtls_keylog_fn(void *arg, const mtls_conn *conn, const char *line);
MTLS_API mtls_err mtls_config_set_keylog(mtls_config *cfg, mtls_keylog_fn *fn, void *arg);

/* Verify callback: called after mtls's own checks of the peer's chain with their verdict
 * (`preverify`, MTLS_OK or a certificate error).  Return MTLS_OK to accept, or an error to reject
 * (MTLS_ERR_CERT_REJECTED, or `preverify` to keep our verdict); an error that is not a
 * certificate error counts as MTLS_ERR_CERT_REJECTED.  The peer chain is available through
 * mtls_conn_peer_cert() and the other peer getters during the call.
 *
 * It also runs when a session is resumed, so that a deny-list (and revocation) reaches resumed
 * peers too: mtls_conn_resumed() answers nonzero during such a call, the peer chain is the
 * session's stored leaf alone, and `preverify` is MTLS_OK (the chain was verified when the
 * session was made, under the same verification context, and the leaf has not expired since).
 * It runs only when the session carries a peer certificate.  A server runs it
 * while it reads the ClientHello, before it agrees to resume (cipher suite and version are not
 * known yet): a rejection means a full handshake, where the client's certificate is verified
 * afresh and the callback runs again.  A client runs it when the server has accepted the session:
 * a rejection ends the handshake with the callback's certificate error and its alert.
 *
 * A TLS 1.3 server also runs it on a client's answer to a post-handshake CertificateRequest
 * (mtls_conn_request_client_cert), with the chain that answer carries: mtls_conn_established()
 * is then already nonzero, which tells such a call from the handshake's, and a rejection ends
 * the connection with the callback's certificate error and its alert. */
typedef mtls_err mtls_verify_fn(void *arg, const mtls_conn *conn, mtls_err preverify);
MTLS_API mtls_err mtls_config_set_verify_callback(mtls_config *cfg, mtls_verify_fn *fn, void *arg);

/* Server: server name callback, called once per handshake as soon as the ClientHello is read,
 * with the host name the client asked for (server_name, RFC 6066 section 3; the same string as
 * mtls_conn_server_name()), or NULL when it named none.  Return MTLS_OK to serve the connection;
 * anything else ends the handshake with a fatal unrecognized_name alert
 * (MTLS_ERR_UNRECOGNIZED_NAME).
 * The server acknowledges a name -- an empty server_name extension in its ServerHello -- only
 * when this callback accepted it: RFC 6066 ties the acknowledgement to the server having used
 * the name, and without the callback nothing depends on it (a config has one certificate), so
 * nothing is acknowledged.  A resumed handshake never acknowledges (RFC 6066: MUST NOT).
 * `fn` may run on several threads at once (one per connection). */
typedef mtls_err mtls_server_name_fn(void *arg, const mtls_conn *conn, const char *name);
MTLS_API mtls_err mtls_config_set_server_name_callback(mtls_config *cfg, mtls_server_name_fn *fn,
                                                       void *arg);

/* Clock for certificate validity checks, seconds since the epoch.  Default: time(NULL). */
typedef int64_t mtls_time_fn(void *arg);
MTLS_API mtls_err mtls_config_set_time(mtls_config *cfg, mtls_time_fn *fn, void *arg);

/* ---------------------------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------------------------- */

/* A client connection.  `server_name` is sent as SNI and is the name the server's certificate
 * must match; an IP literal is matched against iPAddress SANs and not sent as SNI.  It may be
 * NULL (no SNI), but a client that verifies the server needs a name to check: without one
 * (nor mtls_conn_set_verify_name), the first mtls_handshake fails with MTLS_ERR_NO_SERVER_NAME
 * before anything is sent, unless mtls_conn_set_insecure_skip_hostname was called.  Freezes `cfg`
 * and takes a reference to it.  NULL when out of memory, when `cfg` is NULL, or when no CA is
 * set and the system trust store cannot be loaded. */
MTLS_API mtls_conn *mtls_client_new(mtls_config *cfg, const char *server_name);
/* A server connection.  Freezes `cfg` and takes a reference.  NULL when out of memory or when
 * `cfg` has no certificate chain and key. */
MTLS_API mtls_conn *mtls_server_new(mtls_config *cfg);
/* Frees the connection and wipes its secrets.  Does not send anything. */
MTLS_API void mtls_conn_free(mtls_conn *conn);
/* Client: check the certificate against this name instead of the SNI name.  MTLS_ERR_INVALID_ARG
 * on a server; MTLS_ERR_BAD_STATE once the handshake has started. */
MTLS_API mtls_err mtls_conn_set_verify_name(mtls_conn *conn, const char *name);
/* INSECURE.  Client: accept a server certificate for any name.  The chain, dates and usages are
 * still verified against the trust anchors, but ANY server holding a certificate from those CAs --
 * for any site -- can then impersonate the one you meant to reach.  Only for a private CA that
 * issues certificates to nothing but the servers you trust, and where no name is known.  Without
 * this call a verifying client with no name fails (MTLS_ERR_NO_SERVER_NAME).
 * MTLS_ERR_INVALID_ARG on a server; MTLS_ERR_BAD_STATE once the handshake has started. */
MTLS_API mtls_err mtls_conn_set_insecure_skip_hostname(mtls_conn *conn);
/* An application pointer, free for the caller's use. */
MTLS_API void mtls_conn_set_userdata(mtls_conn *conn, void *p);
MTLS_API void *mtls_conn_userdata(const mtls_conn *conn);

/* Where to write bytes received from the peer; *out_len receives the room (0 when the connection
 * cannot take more input until the application reads).  Then announce them with mtls_recv_ack.
 * The pointer is valid until the next call on the connection. */
MTLS_API uint8_t *mtls_recv_buf(mtls_conn *conn, size_t *out_len);
/* Process n bytes written into the receive buffer: records are opened and, during the handshake,
 * the handshake advances, so this may return a fatal error like mtls_handshake.  After the
 * handshake, a record that may carry application data -- TLS 1.2: an application_data record;
 * TLS 1.3: every protected record, whose type is known only once it is decrypted -- is left for
 * mtls_read, which decrypts it straight into the caller's buffer; its errors (bad_record_mac, ...)
 * and, in TLS 1.3, the post-handshake messages and alerts it turns out to carry (tickets,
 * KeyUpdate) are then handled by mtls_read, or by mtls_handshake for an application that does not
 * read yet.  n larger than the room: MTLS_ERR_INVALID_ARG.  n == 0 means the transport reached
 * EOF: MTLS_ERR_CLOSED when the peer's close_notify has been handled, else MTLS_ERR_EOF (records
 * still waiting for mtls_read may hold more data and the close_notify: read until mtls_read says
 * MTLS_ERR_CLOSED or MTLS_ERR_EOF).  Input may queue output even after the handshake (the
 * no_renegotiation warning that declines a renegotiation, which the peer may wait for), and so may
 * mtls_read: flush mtls_send_buf before waiting for more input.  MTLS_ERR_WANT_KEY_OP while the
 * handshake waits for the application's private-key operation: the bytes are kept, and read once it
 * goes on. */
MTLS_API mtls_err mtls_recv_ack(mtls_conn *conn, size_t n);
/* Bytes waiting to go to the peer (NULL and 0 when none). */
MTLS_API const uint8_t *mtls_send_buf(mtls_conn *conn, size_t *out_len);
/* n bytes of the send buffer were written to the transport. */
MTLS_API void mtls_send_ack(mtls_conn *conn, size_t n);

/* Advance the handshake.  MTLS_OK once it is complete; MTLS_ERR_WANT_READ while it waits for the
 * peer (flush mtls_send_buf first); MTLS_ERR_WANT_KEY_OP while it waits for the result of the
 * application's private-key operation (mtls_config_set_cert_chain_key_method; then
 * mtls_conn_key_op_done and call again); any other error is fatal.  A client's first call queues
 * the ClientHello.  Once complete, a call handles the records received and not read yet up to the
 * first one of application data, which stays for mtls_read: in TLS 1.3 these are where the
 * post-handshake messages and alerts are (a client's tickets, for mtls_conn_get_session; a
 * KeyUpdate, whose answer it may queue: flush mtls_send_buf); MTLS_OK, or the error they raise. */
MTLS_API mtls_err mtls_handshake(mtls_conn *conn);
/* The result of the private-key operation the connection waits for (its key method's sign or
 * decrypt answered MTLS_KEY_OP_PENDING): `len` bytes at `result`, copied at once; result NULL
 * when the operation failed (the next mtls_handshake then fails with MTLS_ERR_KEY_OP_FAILED).
 * Call it on the thread that drives the connection, then mtls_handshake to go on: the result is
 * checked and used there (see mtls_config_set_cert_chain_key_method).  It may also be called from
 * inside the callback, before it returns MTLS_KEY_OP_PENDING.  MTLS_ERR_BAD_STATE when no
 * operation waits for a result (none started, or its result was given already); the
 * connection's error when it has failed. */
MTLS_API mtls_err mtls_conn_key_op_done(mtls_conn *conn, const void *result, size_t len);
/* Nonzero once the handshake is complete and application data may flow. */
MTLS_API int mtls_conn_established(const mtls_conn *conn);

/* Read decrypted application data.  MTLS_ERR_WANT_READ when none is buffered, MTLS_ERR_CLOSED
 * after the peer's close_notify.  One call may deliver several records; when it has delivered
 * bytes and then meets a record that fails (bad_record_mac, a wrong version, ...), it returns
 * MTLS_OK with *out_len the bytes delivered -- all of them authenticated -- and the error comes on
 * the next call and every call after it (errors are sticky).  A record is decrypted straight into
 * `out` when the rest of it can hold all the content the record's length allows (its length less
 * the AEAD's overhead: 16 KiB for a full unpadded record in either version), else into the
 * connection's buffer and copied out.  So `out` is also scratch: the bytes past *out_len are
 * unspecified after the call -- a record that failed, or (TLS 1.3) one that was a handshake
 * message or an alert, may have been decrypted there and wiped -- and only the first *out_len
 * bytes are application data. */
MTLS_API mtls_err mtls_read(mtls_conn *conn, void *out, size_t cap, size_t *out_len);
/* Encrypt application data into the send buffer.  Writes as much as fits; *out_written tells how
 * much.  MTLS_ERR_WANT_WRITE when the send buffer is full (flush it and call again). */
MTLS_API mtls_err mtls_write(mtls_conn *conn, const void *in, size_t len, size_t *out_written);
/* Queue close_notify.  Reading remains possible until the peer's close_notify. */
MTLS_API mtls_err mtls_close(mtls_conn *conn);
/* Nonzero once we have sent, or queued, close_notify; and once the peer's close_notify arrived. */
MTLS_API int mtls_conn_close_sent(const mtls_conn *conn);
MTLS_API int mtls_conn_close_received(const mtls_conn *conn);
/* Release the record buffers of an established, idle connection (nothing buffered either way);
 * they are allocated again on the next I/O.  Returns MTLS_ERR_BAD_STATE when data is buffered. */
MTLS_API mtls_err mtls_conn_release_buffers(mtls_conn *conn);

/* Nonzero when the server asked for a client certificate (CertificateRequest) in this
 * handshake, or after it (TLS 1.3 post-handshake authentication): on the client, it tells why a
 * server's handshake_failure came. */
MTLS_API int mtls_conn_cert_requested(const mtls_conn *conn);

/* The first fatal error of the connection, or MTLS_OK. */
MTLS_API mtls_err mtls_conn_error(const mtls_conn *conn);
/* A sentence about that error with context (which certificate, which name, which alert), or "". */
MTLS_API const char *mtls_conn_error_detail(const mtls_conn *conn);
/* The alert we sent, and the one we received, or -1. */
MTLS_API int mtls_conn_alert_sent(const mtls_conn *conn);
MTLS_API int mtls_conn_alert_received(const mtls_conn *conn);

/* What was negotiated; 0 / NULL before it is known. */
MTLS_API int mtls_conn_is_server(const mtls_conn *conn);
MTLS_API uint16_t mtls_conn_version(const mtls_conn *conn);
MTLS_API uint16_t mtls_conn_cipher_suite(const mtls_conn *conn);
MTLS_API uint16_t mtls_conn_group(const mtls_conn *conn); /* 0: static RSA, TLS 1.2 resumed */
/* The signature schemes of the handshake, the same on both sides; 0 when nothing was signed.
 * The server's: what it signed with (TLS 1.2: its ServerKeyExchange, none with static RSA; TLS
 * 1.3: its CertificateVerify).  The client's: what it signed its CertificateVerify with (none
 * when it sent no certificate).  A resumed handshake signs nothing. */
MTLS_API uint16_t mtls_conn_server_sigalg(const mtls_conn *conn);
MTLS_API uint16_t mtls_conn_client_sigalg(const mtls_conn *conn);
MTLS_API const char *mtls_conn_server_name(const mtls_conn *conn);
MTLS_API const char *mtls_conn_alpn(const mtls_conn *conn);
MTLS_API int mtls_conn_ems(const mtls_conn *conn);             /* extended master secret used */
MTLS_API int mtls_conn_resumed(const mtls_conn *conn);

/* The peer's certificates as received, leaf first (DER).  NULL past the end.  During the verify
 * callback they are the chain being judged; after a handshake they are the verified chain (a
 * rejected chain is dropped); after resumption, the original leaf only; after a TLS 1.3
 * post-handshake authentication, the chain the client's last checked answer carried (none for
 * an empty one; see mtls_conn_request_client_cert).  The getters below follow the same rule. */
MTLS_API size_t mtls_conn_peer_cert_count(const mtls_conn *conn);
MTLS_API const uint8_t *mtls_conn_peer_cert(const mtls_conn *conn, size_t i, size_t *out_len);
/* Nonzero when the peer presented a certificate (for a server: a client certificate; on a
 * resumed connection: when the original handshake had one). */
MTLS_API int mtls_conn_peer_cert_presented(const mtls_conn *conn);
/* The verified peer identity: subject as an RFC 4514 string, issuer likewise, subjectAltNames as
 * "DNS:name" / "IP:addr" / "URI:uri" strings, SHA-256 of the leaf's DER. */
MTLS_API const char *mtls_conn_peer_subject(const mtls_conn *conn);
MTLS_API const char *mtls_conn_peer_issuer(const mtls_conn *conn);
MTLS_API size_t mtls_conn_peer_san_count(const mtls_conn *conn);
MTLS_API const char *mtls_conn_peer_san(const mtls_conn *conn, size_t i);
/* MTLS_ERR_BAD_STATE when the peer presented no certificate.  The string getters return NULL
 * then. */
MTLS_API mtls_err mtls_conn_peer_fingerprint(const mtls_conn *conn, uint8_t out[32]);

/* ---------------------------------------------------------------------------------------------
 * TLS 1.3 after the handshake: post-handshake client authentication and key updates
 *
 * TLS 1.3 has no renegotiation.  A server that wants a client's certificate only for some
 * requests -- one resource of many, an administrative command -- asks for it after the handshake
 * (RFC 8446 4.6.2): a CertificateRequest, which the client answers with its Certificate,
 * CertificateVerify and Finished over the handshake's transcript and these messages (4.4.1), or
 * with an empty Certificate and a Finished when it has no certificate that fits.  Only a client
 * that offered it in its ClientHello (the post_handshake_auth extension, 4.2.6) may be asked.
 *
 * The exchange runs inside the calls that process input (mtls_recv_ack, mtls_read and the fd
 * helpers): a client answers a request as soon as it reads it (flush its send buffer), a server
 * checks the answer as it reads it -- chain verification, the verify callback (during which
 * mtls_conn_established() is already nonzero, which tells it from the handshake's), revocation,
 * SPIFFE rules, the CertificateVerify signature and the Finished, as in the handshake -- and then
 * the peer getters (mtls_conn_peer_subject, _peer_cert, _peer_cert_info, _peer_spiffe_id,
 * _client_sigalg, _peer_cert_presented, ...) answer with the new identity, or with none after an
 * empty Certificate.  Until the Finished has been checked they keep answering with the identity
 * before, so application data the client sends in between is never taken as the new identity's.
 * A client that fails is a fatal error of the connection like a failed handshake (the
 * certificate's alert; certificate_required for an empty Certificate in require mode).
 *
 * How the application learns that an exchange ended -- both ways fit the sans-I/O core:
 *   - pull: mtls_conn_post_auth_pending() counts the server's unanswered requests; when it drops
 *     to 0 (and the connection has no error) the getters describe the answer.  An application
 *     that asked before serving a request reads on until then.
 *   - push: the callback of mtls_config_set_post_auth_callback, called from inside the call that
 *     processed the message: on a server when an answer has been checked, on a client when it
 *     has answered a request.
 * mtls_read does not return early for it: it returns application data, or MTLS_ERR_WANT_READ
 * when the exchange came without any.
 *
 * Sessions: tickets sent after the handshake keep the identity of the handshake; a connection
 * resumed from one does not have a post-handshake identity -- ask again.
 *
 * Key updates: in TLS 1.3 either side may move its sending keys on at any time (RFC 8446 4.6.3):
 * a KeyUpdate message, then every record under the next traffic secret.  mtls does it by itself
 * before an AES-GCM key reaches its usage limit (RFC 8446 5.5) and answers a peer that asks for
 * one; an application asks for one with mtls_conn_key_update, as with OpenSSL's SSL_key_update.
 * ------------------------------------------------------------------------------------------- */

/* Client: offer post-handshake authentication (post_handshake_auth in a TLS 1.3 ClientHello), so
 * that the server may ask for our certificate after the handshake: 1 offers it, 0 never.
 * Default: offered when the config has a certificate (whenever it is set), not without one.
 * Why by default, when OpenSSL's client needs -enable_pha: such a client already answers a
 * CertificateRequest in the handshake with that certificate, to the same verified server, under
 * the same encryption; offering lets the server ask later instead -- the TLS 1.3 way of asking
 * for a certificate per resource, which TLS 1.2 servers did by renegotiating -- for four bytes
 * in the hello.  A client without a certificate could only ever answer with an empty one.
 * Either way the client answers a request only with the config's certificate, and only when
 * it fits the request's signature_algorithms (else with an empty Certificate); it does not look
 * at certificate_authorities, as in the handshake.  A server never asks a client that did not
 * offer it (RFC 8446 4.6.2), and a CertificateRequest to a client that did not is refused with
 * unexpected_message.  HTTP/2 forbids post-handshake authentication (RFC 8740 3): on a connection
 * that negotiated ALPN "h2" a server does not ask and a client refuses to be asked. */
MTLS_API mtls_err mtls_config_set_post_handshake_auth(mtls_config *cfg, int on);

/* What the post-handshake authentication callback is told. */
typedef enum mtls_post_auth_event {
    MTLS_POST_AUTH_CERT_SENT = 1, /* client: the server asked; we answered with our certificate
                                   * (Certificate, CertificateVerify, Finished) */
    MTLS_POST_AUTH_NO_CERT_SENT,  /* client: the server asked; we answered with an empty
                                   * Certificate (none configured, or ours does not fit the
                                   * request's signature_algorithms) */
    MTLS_POST_AUTH_VERIFIED,      /* server: a client's certificate, CertificateVerify and
                                   * Finished checked: the peer getters describe it now */
    MTLS_POST_AUTH_NO_CERT        /* server: the client answered with no certificate (accepted
                                   * unless the verify mode is require): the getters say none */
} mtls_post_auth_event;
/* Called on the connection's thread from inside the call that processed the message
 * (mtls_recv_ack, mtls_read, an mtls_fd_* helper).  It may call the getters; it must not call
 * functions that read, write or free the connection.  fn NULL removes it.  Both roles. */
typedef void mtls_post_auth_fn(void *arg, const mtls_conn *conn, mtls_post_auth_event event);
MTLS_API mtls_err mtls_config_set_post_auth_callback(mtls_config *cfg, mtls_post_auth_fn *fn,
                                                     void *arg);

/* Server, TLS 1.3: ask the client for its certificate now -- a CertificateRequest queued in the
 * send buffer (flush it), with a fresh random certificate_request_context and the
 * signature_algorithms and certificate_authorities (mtls_config_set_send_ca_names) of the
 * handshake's.  The client's answer is judged by the config's verify mode: in require mode an
 * empty Certificate is fatal (certificate_required, MTLS_ERR_CERT_REQUIRED); in optional mode,
 * and in none mode (a server that asks only after the handshake), it is accepted and the getters
 * then say the client has no certificate.  A certificate sent is verified against the client CA
 * anchors in every mode.  At most MTLS_POST_AUTH_MAX_PENDING requests may wait for their answer
 * at once.  MTLS_ERR_BAD_STATE (nothing sent, the connection unchanged): not a server, not
 * established, TLS 1.2, close_notify sent, the client did not offer post_handshake_auth or ALPN
 * h2 was negotiated (mtls_conn_post_auth_offered), or MTLS_POST_AUTH_MAX_PENDING requests
 * unanswered; the
 * connection's sticky error if it has one.  A failure to queue it (out of memory, no
 * randomness) is fatal. */
#define MTLS_POST_AUTH_MAX_PENDING 4
MTLS_API mtls_err mtls_conn_request_client_cert(mtls_conn *conn);
/* Server: how many of our post-handshake CertificateRequests wait for the client's complete
 * answer (0 when none: the peer getters then describe the last answer checked). */
MTLS_API unsigned mtls_conn_post_auth_pending(const mtls_conn *conn);
/* Nonzero on an established TLS 1.3 connection whose ClientHello offered post_handshake_auth,
 * unless it negotiated ALPN "h2" (RFC 8740 3): on a server, the client may be asked for its
 * certificate; on a client, the server may ask. */
MTLS_API int mtls_conn_post_auth_offered(const mtls_conn *conn);

/* TLS 1.3: queue a KeyUpdate in the send buffer now (flush it with mtls_send_buf /
 * mtls_fd_flush) and seal every later record of ours under the next traffic secret.  With
 * request_peer_update nonzero the KeyUpdate says update_requested: the peer answers with a
 * KeyUpdate of its own before its next application data, so that both directions move on (an
 * mtls peer answers as soon as it reads ours).  MTLS_ERR_BAD_STATE before the handshake is
 * complete, after mtls_close, or on a TLS 1.2 connection (which has no key updates); the
 * connection's sticky error if it has one.  A failure to queue it (out of memory) is fatal.
 * Peers bound how many handshake messages they take without application data in between (mtls:
 * 32, then unexpected_message): do not call this in a loop on a silent connection. */
MTLS_API mtls_err mtls_conn_key_update(mtls_conn *conn, int request_peer_update);

/* ---------------------------------------------------------------------------------------------
 * Keying material exporters (RFC 5705, RFC 8446 section 7.5)
 *
 * Both ends of a connection can derive the same secret bytes from it, for an application
 * protocol's own keys or as a channel binding ("tls-exporter", RFC 9266: the label
 * "EXPORTER-Channel-Binding", no context, 32 bytes) that ties an authentication made inside the
 * connection to this connection.  The values equal OpenSSL's SSL_export_keying_material for the
 * same session, with the same arguments.
 * ------------------------------------------------------------------------------------------- */

/* Write out_len bytes of keying material for `label` (label_len bytes, no NUL needed) and, when
 * use_context is nonzero, `context` (context_len bytes; NULL with 0 for an empty one) into out.
 * Call once the handshake is complete (MTLS_ERR_BAD_STATE before, and after a fatal error); the
 * value stays the same for the connection's life (a KeyUpdate does not change it).
 *   TLS 1.3 (RFC 8446 7.5): HKDF-Expand-Label over the exporter_master_secret; no context and an
 *     empty context give the same value ("providing no context computes the same value as
 *     providing an empty context"); label at most 249 bytes, out_len at most 255 times the
 *     suite's hash length (8160 bytes with SHA-256, 12240 with SHA-384); any context length.
 *   TLS 1.2 (RFC 5705 4): the PRF over the master secret and both randoms; no context and an
 *     empty context differ; label at most 255 bytes, context at most 65535.  Only with extended
 *     master secret (mtls_conn_ems; on by default in both roles): without it the master secret
 *     is not bound to the handshake (RFC 7627's triple handshake gives two connections the same
 *     one), so neither is an exported value, and RFC 9266 defines tls-exporter over TLS 1.2 only
 *     with it -- MTLS_ERR_BAD_STATE then (mtls_config_set_require_ems refuses such peers).
 * The labels of TLS 1.2's own PRF -- "client finished", "server finished", "master secret",
 * "extended master secret", "key expansion", and labels that begin with one -- are refused
 * (MTLS_ERR_INVALID_ARG) in both versions: in TLS 1.2 they would hand out the connection's own
 * Finished or key material, and a label should behave alike in both versions.  RFC 5705 4: use
 * labels that begin with "EXPORTER" (or "EXPERIMENTAL" for private use).  An empty label, a NULL
 * `out`, out_len 0 or a length outside the bounds above: MTLS_ERR_INVALID_ARG.  Never changes
 * the connection (no error becomes sticky). */
MTLS_API mtls_err mtls_conn_export_keying_material(const mtls_conn *conn, const char *label,
                                                   size_t label_len, const uint8_t *context,
                                                   size_t context_len, int use_context,
                                                   uint8_t *out, size_t out_len);

/* ---------------------------------------------------------------------------------------------
 * Certificate details and SPIFFE identities
 *
 * mtls_conn_peer_cert_info() describes one certificate of the peer's chain as values a program
 * can use -- serial, validity as epoch seconds, key type and size, typed subjectAltNames -- not
 * only as text.  The struct grows at its end in later versions: set struct_size to
 * sizeof(mtls_cert_info) (MTLS_CERT_INFO_INIT does) and the library fills what both know.
 *
 * SPIFFE (https://spiffe.io, the X509-SVID and SPIFFE-ID specifications): a workload's identity is
 * a URI such as spiffe://example.org/ns/prod/sa/web, carried as the one URI subjectAltName of its
 * X.509-SVID.  A config that names accepted IDs or trust domains accepts a peer only by them.
 * ------------------------------------------------------------------------------------------- */

/* Fill *out with certificate i of the peer's chain (0 is the leaf; see mtls_conn_peer_cert for
 * which chain that is when).  Strings are NUL-terminated and never NULL.  A subjectAltName
 * (mtls_san) is one of the forms mtls reads, typed by its GeneralName tag (RFC 5280 4.2.1.6); its
 * `data` is the name as the certificate encodes it, `len` bytes, not NUL-terminated: for DNS, URI
 * and email the IA5String's characters (they may hold any byte, NUL included, so compare them with
 * memcmp and len, never as C strings), for IP the address in network order (4 or 16 bytes); its
 * `text` is the printable form mtls_conn_peer_san() gives ("DNS:...", "IP:192.0.2.1", "URI:...",
 * "email:..."; bytes outside printable ASCII as \xNN).
 *
 * Versioning: set out->struct_size to sizeof(mtls_cert_info) first (in C, `mtls_cert_info info =
 * MTLS_CERT_INFO_INIT;` does).  Fields past it are not written, and on return it holds the number
 * of bytes written: a program built against this version keeps working with a later library whose
 * struct has grown at its end.  Pointers stay valid as long as the connection (until its chain is
 * dropped: a chain rejected by verification is).  MTLS_ERR_BAD_STATE when the peer presented no
 * certificate, MTLS_ERR_INVALID_ARG when i is past the end or struct_size cannot hold the first
 * field. */
typedef enum mtls_key_type {
    MTLS_KEY_UNKNOWN = 0,
    MTLS_KEY_RSA = 1,
    MTLS_KEY_EC_P256 = 2, /* ECDSA on secp256r1 */
    MTLS_KEY_EC_P384 = 3  /* ECDSA on secp384r1 */
} mtls_key_type;
typedef enum mtls_san_type {
    MTLS_SAN_EMAIL = 1, /* rfc822Name */
    MTLS_SAN_DNS = 2,   /* dNSName */
    MTLS_SAN_URI = 6,   /* uniformResourceIdentifier (a SPIFFE ID is one) */
    MTLS_SAN_IP = 7     /* iPAddress */
} mtls_san_type;
typedef struct mtls_san {
    mtls_san_type type;
    const uint8_t *data;
    size_t len;
    const char *text;
} mtls_san;
typedef struct mtls_cert_info {
    size_t struct_size;        /* in: sizeof(mtls_cert_info); out: the bytes written */
    const char *subject;       /* RFC 4514 ("CN=web,O=Example"); "" when the subject is empty */
    const char *issuer;        /* likewise */
    const uint8_t *serial;     /* serialNumber: the INTEGER's content octets as encoded (big-endian
                                * two's complement; a leading 00 keeps a value positive) */
    size_t serial_len;
    const char *serial_hex;    /* its value in uppercase hex as `openssl x509 -serial` prints it:
                                * "0A1B" (whole octets, no sign octet), "-01" when negative */
    int64_t not_before;        /* validity, seconds since the epoch (UTC) */
    int64_t not_after;
    mtls_key_type key_type;
    unsigned key_bits;         /* RSA modulus bits; 256 or 384 for EC */
    const char *signature_algorithm; /* how the issuer signed it: "sha256WithRSAEncryption",
                                      * "ecdsa-with-SHA256", "rsassaPss-sha256", ... */
    int is_ca;                 /* basicConstraints cA is TRUE */
    size_t san_count;          /* subjectAltNames of the forms above, in certificate order (other */
    const mtls_san *sans;      /* forms are left out); NULL when there are none */
    uint8_t sha256[32];        /* SHA-256 of the certificate's DER (its fingerprint) */
} mtls_cert_info;
#define MTLS_CERT_INFO_INIT {.struct_size = sizeof(mtls_cert_info)}
MTLS_API mtls_err mtls_conn_peer_cert_info(const mtls_conn *conn, size_t i, mtls_cert_info *out);

/* The peer's SPIFFE ID ("spiffe://example.org/ns/prod/sa/web"), or NULL when its leaf is not an
 * X.509-SVID: exactly one URI subjectAltName that is a valid SPIFFE ID with a path, on a leaf that
 * is not a CA and whose keyUsage allows neither keyCertSign nor cRLSign.  Answers during the
 * verify callback (for the chain being judged) and on resumed connections (the session's leaf);
 * with an acceptance list below it is the ID that was accepted. */
MTLS_API const char *mtls_conn_peer_spiffe_id(const mtls_conn *conn);

/* Both roles: accept the peer only by SPIFFE ID.  Each call adds to one list: an exact ID
 * ("spiffe://example.org/ns/prod/sa/web"), or a whole trust domain ("example.org" or
 * "spiffe://example.org").  Once either list has an entry, a peer certificate passes
 * verification only when it chains to the trust anchors as before AND its leaf is an X.509-SVID
 * (see mtls_conn_peer_spiffe_id; else MTLS_ERR_CERT_SPIFFE_ID, alert bad_certificate) whose ID is
 * one of the IDs or lies in one of the trust domains (else MTLS_ERR_CERT_SPIFFE_DENIED, alert
 * access_denied).  IDs are compared octet for octet, trust domains exactly (a trust domain does
 * not include its subdomains).
 *
 * On a client the SPIFFE ID takes the place of the host-name check: a server name given to
 * mtls_client_new is still sent as SNI, but the server's certificate need not carry it, and a
 * client with these lists needs no name at all (mtls_client_new(cfg, NULL) is fine: the SPIFFE ID
 * is what is checked).
 * On a server the lists apply to the client certificates it verifies (mtls_config_set_verify_client
 * optional or require); a client that sends none under MTLS_VERIFY_OPTIONAL is not checked.  The
 * lists are part of the verification context sessions are bound to: a session resumes only under
 * the same lists.  The trust anchors still decide which CAs may vouch for a trust domain; give
 * each trust domain's CA a URI name constraint (permitted;URI:example.org) so that it cannot issue
 * IDs of another.  For policies beyond these lists (path prefixes, ...), use the verify callback
 * with mtls_conn_peer_spiffe_id().
 *
 * The argument must follow the SPIFFE-ID rules: "spiffe://", a trust domain of [a-z0-9.-_]
 * (lowercase, no port or userinfo), for an ID a path of non-empty segments of [a-zA-Z0-9.-_]
 * (neither "." nor "..", no trailing "/"), no query, fragment or percent-encoding, at most 2048
 * bytes (255 for the trust domain).  Anything else is MTLS_ERR_INVALID_ARG and
 * mtls_config_error_detail() says what is wrong.  An entry already present is not added twice; at
 * most MTLS_SPIFFE_MAX_ENTRIES per list (MTLS_ERR_INVALID_ARG beyond). */
#define MTLS_SPIFFE_MAX_ENTRIES 1024
MTLS_API mtls_err mtls_config_add_spiffe_id(mtls_config *cfg, const char *spiffe_id);
MTLS_API mtls_err mtls_config_add_spiffe_trust_domain(mtls_config *cfg, const char *trust_domain);

/* ---------------------------------------------------------------------------------------------
 * Revocation: CRLs and OCSP stapling
 *
 * CRLs (RFC 5280 section 5) are checked by the side that verifies a peer: a server for client
 * certificates, a client for the server's chain.  They are parsed by mtls's own strict DER code,
 * each verified with the key of the CA that issued the certificate being checked, and must be
 * current (thisUpdate passed, nextUpdate not).  docs/x509.md has the whole policy: which CRL
 * decides, scopes (issuingDistributionPoint), what is refused (delta and indirect CRLs).
 *
 * OCSP stapling (RFC 6066 section 8): a server hands clients that ask (status_request) a recent,
 * CA-signed OCSP response about its own certificate, which it fetched beforehand (`openssl ocsp
 * -respout`, a cron job); a client that asked checks it (signed by the issuer or a responder it
 * delegated with id-kp-OCSPSigning, current, about this certificate) and refuses a revoked
 * server (certificate_revoked) or a bad response (bad_certificate_status_response).  A server
 * certificate with the TLS feature status_request (RFC 7633, "must-staple") is refused without a
 * good response when the client asked for one.  TLS 1.2 carries the response in a
 * CertificateStatus message, TLS 1.3 in the leaf's Certificate entry (RFC 8446 4.4.2.1).
 *
 * Resumption: a resumed handshake carries no certificates, so a session remembers the path that
 * verified its peer when CRLs were checked, and a resumption checks the peer's leaf (or chain)
 * against the CRLs in force then: a server that finds it revoked does a full handshake (which
 * refuses the certificate with certificate_revoked); a client does not offer such a session (its
 * full handshake verifies the server's current certificate).  Sessions are bound to the
 * revocation mode (and the client's OCSP settings), not to the CRLs' contents: loading a newer
 * CRL does not end sessions, the check on resumption does what is needed (docs/SECURITY.md).
 * A stapled OCSP response is not asked for again on resumption.
 * ------------------------------------------------------------------------------------------- */

/* CRLs to check the peer's certificates against (both roles; see the modes below).  The file
 * holds PEM "X509 CRL" blocks or one DER CRL; the directory is a hashed one as `openssl rehash`
 * (c_rehash) makes it -- every "<hash>.rN" file, or every file when there are none such; the
 * memory form takes the same as the file.  Calls add up.  All or nothing per call: a CRL that is
 * malformed (MTLS_ERR_CRL_PARSE) or that mtls does not use (MTLS_ERR_CRL_UNSUPPORTED: delta and
 * indirect CRLs, one without nextUpdate, an unknown critical extension) fails the call, adds
 * nothing, and mtls_config_error_detail() names the file; no CRL at all is MTLS_ERR_BAD_PEM;
 * unreadable: MTLS_ERR_FILE.  A CRL that is not in force now (its nextUpdate has passed, or its
 * thisUpdate is ahead) is loaded -- a current one may follow -- but unless a current CRL of the
 * same issuer is loaded too, the call returns MTLS_OK with mtls_config_error_detail() naming the
 * file, the CRL's issuer and that date: until a current CRL is loaded, the certificates it covers
 * fail (MTLS_ERR_CRL_EXPIRED / _NOT_YET_VALID, alert certificate_unknown).  CRLs are read when
 * set: to take a new CRL, build a new config (a server reloads; mtls_config_share_sessions keeps
 * its sessions). */
MTLS_API mtls_err mtls_config_set_crl_file(mtls_config *cfg, const char *path);
MTLS_API mtls_err mtls_config_set_crl_dir(mtls_config *cfg, const char *dir);
MTLS_API mtls_err mtls_config_set_crl_mem(mtls_config *cfg, const void *pem_or_der, size_t len);

/* Which certificates are checked against the CRLs, and what happens when the CRL of a
 * certificate's issuer is not loaded.  A mode is one of
 *   MTLS_REVOCATION_OFF    no CRL checks (CRLs set are not used)
 *   MTLS_REVOCATION_LEAF   the peer's end-entity certificate
 *   MTLS_REVOCATION_CHAIN  every certificate of the verified path but the trust anchor
 * optionally ORed with MTLS_REVOCATION_SOFT_FAIL: a certificate whose issuer has no CRL loaded
 * passes (without it -- hard fail -- it is refused, MTLS_ERR_CRL_MISSING, alert
 * certificate_unknown).  A CRL that is loaded but out of date, not yet valid or badly signed
 * fails the certificate in either mode.  A revoked certificate fails with MTLS_ERR_CERT_REVOKED
 * (alert certificate_revoked) and mtls_conn_error_detail() names the certificate, its serial,
 * when and why (reasonCode) it was revoked and which CRL says so.
 * Default: MTLS_REVOCATION_LEAF (hard fail) once CRLs are set, MTLS_REVOCATION_OFF without.  A
 * mode other than OFF with no CRL set refuses every peer (hard) or checks nothing (soft).
 * Other values: MTLS_ERR_INVALID_ARG.  Part of the verification context sessions are bound to. */
#define MTLS_REVOCATION_OFF 0u
#define MTLS_REVOCATION_LEAF 1u
#define MTLS_REVOCATION_CHAIN 2u
#define MTLS_REVOCATION_SOFT_FAIL 0x100u
MTLS_API mtls_err mtls_config_set_revocation_check(mtls_config *cfg, unsigned mode);
/* One line for a log about the CRLs: how many, the mode in force, and for each its issuer,
 * cRLNumber, number of revoked certificates and nextUpdate (as many as fit in cap bytes with the
 * NUL).  Works on a frozen config. */
MTLS_API mtls_err mtls_config_describe_crls(const mtls_config *cfg, char *out, size_t cap);

/* Server: staple this OCSP response (DER OCSPResponse, RFC 6960; what `openssl ocsp -respout`
 * writes) for clients that ask (status_request): an empty status_request in the ServerHello and
 * a CertificateStatus message after the Certificate (TLS 1.2).  It must be about the leaf of the
 * config's certificate chain, whose issuer must follow it in the chain (the response names the
 * certificate by its issuer's name and key), successful and signed by that issuer or by a
 * responder it delegated.  Checked when set if the chain is already set (else at the first
 * handshake): a response that does not parse is MTLS_ERR_OCSP_BAD_RESPONSE, one about another
 * certificate MTLS_ERR_OCSP_NOT_FOR_CERT, badly signed MTLS_ERR_OCSP_BAD_SIGNATURE /
 * _UNAUTHORIZED, each with mtls_config_error_detail(); the response in use, if any, stays.  A
 * response whose nextUpdate has passed (or, without one, older than 7 days), or whose
 * thisUpdate is ahead, is not sent (as a client with the same clock would refuse it): the
 * handshake goes on without a staple and the trace says why.  Good, revoked and unknown statuses
 * are stapled alike.
 * The file form reads the file now and again when it changes: at most every
 * MTLS_OCSP_STAPLE_FILE_CHECK seconds a handshake looks at its inode, size and mtime and re-reads
 * it when they differ (replace it with `mv` of a complete file); mtls_config_reload_ocsp_staple
 * does so at once.  A new response that cannot be read, does not parse or is not about our
 * certificate is not stapled: the one in use stays (until it is out of date) and
 * mtls_config_describe_ocsp_staple says why.  Works in both forms on a config that is not yet
 * frozen; the _mem form copies the bytes. */
#define MTLS_OCSP_STAPLE_FILE_CHECK 10 /* seconds between looks at an OCSP staple file */
MTLS_API mtls_err mtls_config_set_ocsp_staple_file(mtls_config *cfg, const char *path);
MTLS_API mtls_err mtls_config_set_ocsp_staple_mem(mtls_config *cfg, const void *der, size_t len);
/* Server: re-read the staple file now (on SIGHUP, say).  Works on a frozen config and from any
 * thread.  MTLS_OK when the file's response is now in use; otherwise the error, a sentence in
 * `detail` (cap bytes with the NUL; NULL for none), and the response in use stays;
 * MTLS_ERR_BAD_STATE when the staple does not come from a file. */
MTLS_API mtls_err mtls_config_reload_ocsp_staple(mtls_config *cfg, char *detail, size_t cap);
/* Server: one line for a log about the staple: where it comes from, its status for our
 * certificate, producedAt / thisUpdate / nextUpdate -- or why it is not stapled now -- and why
 * the last re-read of the file was not taken, if it was not.  Works on a frozen config;
 * "none" without a staple. */
MTLS_API mtls_err mtls_config_describe_ocsp_staple(const mtls_config *cfg, char *out, size_t cap);

/* Client: ask the server for a stapled OCSP response (status_request, RFC 6066 8) and check the
 * response it sends.  Default off: a server that sends none is accepted (unless the next call or
 * must-staple says otherwise).  A response the server sends is checked against its certificate
 * and that certificate's issuer on the verified path: revoked is MTLS_ERR_CERT_REVOKED (alert
 * certificate_revoked); malformed, not about the certificate, badly signed, out of date or
 * "unknown" is the matching MTLS_ERR_OCSP_* error (alert bad_certificate_status_response).  A
 * server certificate that is must-staple (RFC 7633 TLS feature status_request) without a good
 * response is MTLS_ERR_OCSP_MISSING.  Ignored with mtls_config_set_insecure_skip_verify. */
MTLS_API mtls_err mtls_config_set_ocsp_request(mtls_config *cfg, int on);
/* Client: require a good stapled OCSP response from every server (implies
 * mtls_config_set_ocsp_request): a server that sends none is refused with MTLS_ERR_OCSP_MISSING.
 * Default off.  Part of the verification context sessions are bound to. */
MTLS_API mtls_err mtls_config_set_ocsp_required(mtls_config *cfg, int on);

/* What the server stapled, and what mtls made of it.  After a full handshake a response that is
 * there was found good (any other verdict fails the handshake); during the verify callback it is
 * the verdict being judged.  Versioned like mtls_cert_info: set struct_size first
 * (MTLS_OCSP_INFO_INIT).  MTLS_ERR_INVALID_ARG for a NULL argument or a struct_size too small. */
typedef enum mtls_ocsp_status {
    MTLS_OCSP_NONE = 0,        /* nothing stapled (not asked, none sent, or resumed) */
    MTLS_OCSP_GOOD = 1,        /* the certificate is good, per a current, well-signed response */
    MTLS_OCSP_REVOKED = 2,     /* it is revoked (revocation_time, revocation_reason) */
    MTLS_OCSP_UNKNOWN = 3,     /* the responder does not know it */
    MTLS_OCSP_INVALID = 4,     /* the response cannot be used: malformed, about another
                                * certificate, badly signed or out of date */
    MTLS_OCSP_NOT_CHECKED = 5  /* a response came, but the chain failed before it was read */
} mtls_ocsp_status;
typedef struct mtls_ocsp_info {
    size_t struct_size;        /* in: sizeof(mtls_ocsp_info); out: the bytes written */
    mtls_ocsp_status status;
    int64_t produced_at;       /* seconds since the epoch; 0 when unknown */
    int64_t this_update;
    int64_t next_update;       /* 0 when the response has none */
    int64_t revocation_time;   /* MTLS_OCSP_REVOKED */
    int revocation_reason;     /* CRLReason (RFC 5280 5.3.1: 1 keyCompromise, ...); -1 none */
    const uint8_t *response;   /* the DER OCSPResponse as stapled; NULL when none */
    size_t response_len;
} mtls_ocsp_info;
#define MTLS_OCSP_INFO_INIT {.struct_size = sizeof(mtls_ocsp_info)}
MTLS_API mtls_err mtls_conn_peer_ocsp(const mtls_conn *conn, mtls_ocsp_info *out);

/* ---------------------------------------------------------------------------------------------
 * Session resumption (RFC 5246 7.3 abbreviated handshake; session tickets, RFC 5077)
 *
 * Server: a config keeps an in-memory session cache and issues tickets by default.  The cache is
 * bounded by entries and lifetime and evicts the oldest entry first; it is thread-safe, so one
 * config serves connections on many threads.  Ticket keys rotate by themselves: a new sealing key
 * every MTLS_TICKET_KEY_ROTATION seconds, older keys kept for opening for one ticket lifetime.
 * Applications with several servers give them all the same keys -- a key file that a cron job
 * rotates (mtls_config_set_ticket_key_file), or keys they set themselves
 * (mtls_config_set_ticket_keys) -- or keep sessions in a store they share
 * (mtls_config_set_session_store); docs/FLEETS.md shows both.  A server that reloads its
 * certificate without a restart builds a new config that shares the old one's cache and ticket
 * keys (mtls_config_share_sessions).
 *
 * Client: after a handshake take the session (mtls_conn_get_session), keep it (in memory, or as
 * bytes), and offer it on a later connection to the same server (mtls_conn_set_session).
 * mtls_conn_resumed() tells whether the server accepted it.  Resumption happens only with the
 * same version, suite and server name, and extended master secret on both sides (RFC 7627 5.3);
 * anything else falls back to a full handshake.  TLS 1.3 (RFC 8446 2.2) resumes by ticket only,
 * with a suite of the same hash, and the session of a TLS 1.3 connection is the latest ticket the
 * server sent after the handshake (mtls_config_set_tls13_tickets): it is there once that
 * connection has read what followed the handshake.  A TLS 1.3 server's tickets are sealed (the
 * session inside, under the ticket keys) or stateful (a session id; the server keeps the
 * session): stateful when a session store is set (mtls_config_set_session_store), or when tickets
 * are off (mtls_config_set_tickets) and the session cache is on -- what OpenSSL does with
 * SSL_OP_NO_TICKET.  A stateful ticket resumes once: the server forgets its session as soon as a
 * client proves it holds the ticket's key (RFC 8446 8.1, C.4), so a client offers its newest.
 *
 * Binding.  A session is bound to the verification context that checked its peer: a SHA-256 over
 * the trust anchors that verify the peer (a server's client CAs, a client's server CAs; their DER,
 * in a canonical order), the verify mode (a server's mtls_verify_mode; a client's insecure flags),
 * the session context string (mtls_config_set_session_context), the revocation mode
 * (mtls_config_set_revocation_check, and a client's mtls_config_set_ocsp_request / _required;
 * not the CRLs themselves) and, for a client, the name it checks the certificate against.  A
 * session is resumed (and a client offers it) only under an equal context, so a config that
 * shares ticket keys or a session store with another, but trusts other CAs or asks differently,
 * does a full handshake and verifies the peer itself.  The verify callback also runs on
 * resumption (mtls_config_set_verify_callback), a session whose peer certificate has expired is
 * not resumed, and with CRLs the peer is checked against the CRLs in force (see "Revocation").
 * The one error: a server refuses (handshake_failure, MTLS_ERR_EMS_REQUIRED) a ClientHello that
 * offers a session made with extended master secret but lacks the extension itself (RFC 7627
 * 5.3: a client that drops EMS is broken or being downgraded).
 * ------------------------------------------------------------------------------------------- */

#define MTLS_SESSION_CACHE_DEFAULT_SIZE 4096 /* entries */
#define MTLS_SESSION_LIFETIME_DEFAULT 7200   /* seconds, for cache entries and tickets */
#define MTLS_TICKET_KEY_ROTATION 3600        /* seconds a sealing key is used */
#define MTLS_TICKET_KEY_FILE_CHECK 10        /* seconds between looks at a ticket key file */

typedef struct mtls_session mtls_session;

/* The connection's session after a complete handshake (a new reference), or NULL. */
MTLS_API mtls_session *mtls_conn_get_session(const mtls_conn *conn);
/* Client: offer `sess` in the next handshake (call before the first mtls_handshake).  The
 * connection keeps its own reference.  MTLS_ERR_BAD_STATE after the first mtls_handshake;
 * MTLS_ERR_INVALID_ARG on a server. */
MTLS_API mtls_err mtls_conn_set_session(mtls_conn *conn, mtls_session *sess);
/* Drops one reference to a session (from mtls_conn_get_session or mtls_session_from_bytes). */
MTLS_API void mtls_session_free(mtls_session *sess);
/* Serialize (contains the master secret: store it like a private key).  With out == NULL,
 * *out_len receives the size needed; MTLS_ERR_INVALID_ARG when cap is smaller than that. */
MTLS_API mtls_err mtls_session_to_bytes(const mtls_session *sess, uint8_t *out, size_t cap,
                                        size_t *out_len);
/* A new session parsed from mtls_session_to_bytes output (the caller frees it), or NULL when the
 * bytes are malformed. */
MTLS_API mtls_session *mtls_session_from_bytes(const uint8_t *in, size_t len);
/* Seconds since the epoch when the session was made, and its lifetime in seconds. */
MTLS_API int64_t mtls_session_time(const mtls_session *sess);
MTLS_API uint32_t mtls_session_lifetime(const mtls_session *sess);

/* Server: cache size in entries (0 turns the cache off) and lifetime in seconds (0: default). */
MTLS_API mtls_err mtls_config_set_session_cache(mtls_config *cfg, size_t max_entries,
                                                uint32_t lifetime);
/* Server: issue and accept sealed session tickets (default on), in both versions.  Off: TLS 1.2
 * resumes by session id only; TLS 1.3 issues stateful tickets (session ids of sessions in the
 * cache, each resumed once) while the session cache is on, none when it is off too. */
MTLS_API mtls_err mtls_config_set_tickets(mtls_config *cfg, int on);
/* Server, TLS 1.3: how many NewSessionTicket messages to send after the client's Finished, each
 * a ticket for one resumption (RFC 8446 C.4: a client should not use a ticket twice); default
 * MTLS_TLS13_TICKETS_DEFAULT, 0 sends none, at most 16 (else MTLS_ERR_INVALID_ARG).  Tickets go
 * only to clients that offer psk_key_exchange_modes with a mode we accept.  They arrive after the
 * handshake: a client reads them with the application data that follows (or the in-memory pump),
 * and mtls_conn_get_session then returns a session holding the latest one; before any arrived,
 * a TLS 1.3 client's mtls_conn_get_session returns NULL.
 * TLS 1.3 resumption (RFC 8446 2.2): the client offers the ticket as a pre-shared key, bound to
 * its ClientHello by a binder; the server accepts it under the same rules as a TLS 1.2 session
 * (binding, name, verify mode, callback) and when the ticket's age as the client reports it
 * (obfuscated_ticket_age) is within 10 seconds plus 1% of its age as the server knows it.  Always
 * with a fresh (EC)DHE exchange (psk_dhe_ke) unless mtls_config_set_psk_ke allows psk_ke.  No
 * 0-RTT data: a client's early_data is declined and skipped (RFC 8446 4.2.10). */
#define MTLS_TLS13_TICKETS_DEFAULT 2
MTLS_API mtls_err mtls_config_set_tls13_tickets(mtls_config *cfg, unsigned n);
/* TLS 1.3 resumption without a new (EC)DHE exchange (psk_ke, RFC 8446 4.2.9): faster, but the
 * resumed connection's keys then depend on the ticket alone, with no forward secrecy from it.
 * Default off.  On: a client offers psk_ke beside psk_dhe_ke, and a server uses psk_ke with a
 * client that offers only that mode (psk_dhe_ke whenever the client offers it). */
MTLS_API mtls_err mtls_config_set_psk_ke(mtls_config *cfg, int on);
/* Both roles: an application-chosen label (at most MTLS_SESSION_CONTEXT_MAX bytes; NULL/0 for
 * none, the default) that sessions are bound to, like OpenSSL's SSL_CTX_set_session_id_context.
 * Configs that share ticket keys or a session store but must not resume each other's sessions --
 * different services, different authorization policies -- set different contexts.  Longer:
 * MTLS_ERR_INVALID_ARG. */
#define MTLS_SESSION_CONTEXT_MAX 32 /* bytes */
MTLS_API mtls_err mtls_config_set_session_context(mtls_config *cfg, const uint8_t *ctx, size_t len);
/* Server: ticket keys set by the application, 80 bytes each: 16-byte name || 32-byte AES-256-GCM
 * key || 32 bytes reserved (zero).  keys[0] seals; all open.  Turns automatic rotation off. */
MTLS_API mtls_err mtls_config_set_ticket_keys(mtls_config *cfg, const uint8_t *keys, size_t n_keys);

/* Server: ticket keys from a key file that every server of a fleet reads, so that any of them
 * resumes the tickets of the others with no shared store (docs/FLEETS.md).  The file is text, one
 * key a line ('#' comments and blank lines skipped): 96 hex digits -- a 16-byte key name, then
 * the 32-byte AES-256-GCM key, as `openssl rand -hex 48` prints them -- optionally followed by a
 * not-before time in Unix seconds.  The first key whose not-before has passed (a key without one:
 * always) seals new tickets; every key of the file opens tickets.  At most 16 keys.
 *
 * The file is read now: an error (MTLS_ERR_FILE, or MTLS_ERR_INVALID_ARG with
 * mtls_config_error_detail naming the line) leaves the keys as they were.  It is read again when
 * it changes: at most every MTLS_TICKET_KEY_FILE_CHECK seconds a seal or an open looks at its
 * inode, size and mtime and re-reads it when they differ (a file moved into place, or rewritten);
 * mtls_config_reload_ticket_keys does so at once.  A re-read that fails leaves the keys in use
 * (mtls_config_describe_ticket_keys says why).  A key removed from the file opens nothing from
 * then on, so a rotation keeps the previous keys in the file for one ticket lifetime after they
 * stop sealing.  Turns automatic rotation off and replaces keys set with
 * mtls_config_set_ticket_keys (and those replace the file).  Keep the file readable by the server
 * alone: its keys decrypt every session sealed under them. */
MTLS_API mtls_err mtls_config_set_ticket_key_file(mtls_config *cfg, const char *path);
/* Server: re-read the ticket key file now (on SIGHUP, say) rather than at the next periodic
 * look.  Works on a frozen config and from any thread.  MTLS_OK when the file was read and its
 * keys are in use; otherwise the error (MTLS_ERR_FILE, MTLS_ERR_INVALID_ARG for a malformed file,
 * MTLS_ERR_BAD_STATE when no key file is set), a sentence in `detail` (cap bytes with the NUL;
 * NULL for none), and the keys in use stay. */
MTLS_API mtls_err mtls_config_reload_ticket_keys(mtls_config *cfg, char *detail, size_t cap);
/* Server: one line about the ticket keys for a log: where they come from (automatic, the
 * application, or the file and how many keys it holds), the first 8 hex digits of the name of
 * the key that seals now, keys waiting for their not-before, and why the last re-read of the file
 * failed, if it did.  Never a key.  Writes at most cap bytes with the NUL; works on a frozen
 * config. */
MTLS_API mtls_err mtls_config_describe_ticket_keys(const mtls_config *cfg, char *out, size_t cap);

/* Server: `cfg` uses the session cache and the ticket keys of `from` -- the same objects, not
 * copies -- so that a session made on either config resumes on the other.  This is how a server
 * reloads its certificate, key or CAs without a restart: build a new config, call this with the
 * running config as `from` (after mtls_config_set_session_cache, which would replace the cache
 * it shares), give new connections the new config and free your reference to the old one;
 * connections still open keep theirs until they end.  From then on mtls_config_set_ticket_keys,
 * _set_ticket_key_file and _reload_ticket_keys on either config change the keys of both.  A
 * session resumes only under the verification context it was made in (see "Binding" above):
 * with the same client CAs and verify mode it resumes across the reload, with other ones the
 * client gets a full handshake.  Not shared: the session store callbacks, the session lifetime
 * and whether tickets are on -- set them on `cfg` as on `from`.  `from` may be frozen and in use;
 * `cfg` may not (MTLS_ERR_CONFIG_FROZEN); the same config twice is MTLS_ERR_INVALID_ARG. */
MTLS_API mtls_err mtls_config_share_sessions(mtls_config *cfg, const mtls_config *from);

/* Server: an external session store, consulted in addition to (or, with the cache size set to
 * 0, instead of) the in-memory cache.  `store` receives a serialized session under its id;
 * `lookup` copies the bytes stored under `id` into out (at most cap) and returns their length, or
 * 0 when unknown; `remove` forgets one (may be NULL).  Callbacks may run on many threads at once.
 * TLS 1.2 sessions go to the cache and the store under their session id.  With a store, TLS 1.3
 * tickets are stateful, tickets on or off: each ticket is the id of a session kept in the store
 * alone (not the cache, so that every server sharing the store sees a ticket used), and a
 * resumption removes it (`remove`) so that the ticket resumes once; without `remove` it resumes
 * until it expires.  A store that is down costs resumptions, never a handshake. */
typedef void mtls_session_store_fn(void *arg, const uint8_t *id, size_t id_len,
                                   const uint8_t *data, size_t len, int64_t expires);
typedef size_t mtls_session_lookup_fn(void *arg, const uint8_t *id, size_t id_len, uint8_t *out,
                                      size_t cap);
typedef void mtls_session_remove_fn(void *arg, const uint8_t *id, size_t id_len);
MTLS_API mtls_err mtls_config_set_session_store(mtls_config *cfg, mtls_session_store_fn *store,
                                                mtls_session_lookup_fn *lookup,
                                                mtls_session_remove_fn *remove, void *arg);

/* ---------------------------------------------------------------------------------------------
 * File-descriptor helpers (src/io), built on the calls above only.
 *
 * With a blocking fd these block until done.  With O_NONBLOCK they return MTLS_ERR_WANT_READ or
 * MTLS_ERR_WANT_WRITE when the fd would block: poll for that and call again.  MTLS_ERR_IO means the
 * fd failed (errno tells why).  On a blocking socket with SO_RCVTIMEO / SO_SNDTIMEO set, a
 * system call that times out gives MTLS_ERR_TIMEOUT (never WANT_*); that bounds each wait, not
 * the call, so a peer sending a byte now and then keeps a call going.  Those that run the
 * handshake return MTLS_ERR_WANT_KEY_OP at once, blocking fd or not, when it waits for the
 * application's private-key operation (after flushing what is queued): no fd can end that wait,
 * mtls_conn_key_op_done does.
 *
 * Deadlines.  Each helper has a _timeout twin taking `timeout_ms`: the whole call -- every wait
 * for the peer, and the handshake that a read or write runs first -- ends within that many
 * milliseconds, or it returns MTLS_ERR_TIMEOUT (errno ETIMEDOUT).  Waiting is done with poll(); no
 * system call blocks past the deadline, and the fd's flags are not changed.  The twins wait on an
 * O_NONBLOCK fd as well (they never return WANT_READ / WANT_WRITE).  timeout_ms < 0 means no
 * deadline (the plain helper); 0 means no waiting at all.  A timeout is not an error of the
 * connection: nothing read or accepted is lost and the connection may be driven on by a later
 * call (bytes counted in *out_written and not yet sent go out with the next call that flushes),
 * or abandoned.
 * ------------------------------------------------------------------------------------------- */

/* Write out everything in the send buffer. */
MTLS_API mtls_err mtls_fd_flush(mtls_conn *conn, int fd);
/* Run the handshake to completion. */
MTLS_API mtls_err mtls_fd_handshake(mtls_conn *conn, int fd);
/* Read application data: at least one byte, MTLS_ERR_CLOSED at close_notify, MTLS_ERR_EOF at a
 * transport end without it.  Output the input queued (a no_renegotiation warning) is flushed before
 * it waits for the fd; with O_NONBLOCK and a full socket it may stay queued behind
 * MTLS_ERR_WANT_READ, so poll for writing too while mtls_send_buf is not empty. */
MTLS_API mtls_err mtls_fd_read(mtls_conn *conn, int fd, void *out, size_t cap, size_t *out_len);
/* Write all of `len` bytes (blocking) or as much as possible (non-blocking). */
MTLS_API mtls_err mtls_fd_write(mtls_conn *conn, int fd, const void *in, size_t len,
                                size_t *out_written);
/* Send close_notify and flush it. */
MTLS_API mtls_err mtls_fd_close(mtls_conn *conn, int fd);

/* mtls_fd_flush() that ends by timeout_ms (see "Deadlines" above). */
MTLS_API mtls_err mtls_fd_flush_timeout(mtls_conn *conn, int fd, int timeout_ms);
/* mtls_fd_handshake() that ends by timeout_ms: the whole handshake, not each flight. */
MTLS_API mtls_err mtls_fd_handshake_timeout(mtls_conn *conn, int fd, int timeout_ms);
/* mtls_fd_read() that ends by timeout_ms, the handshake it may run first included. */
MTLS_API mtls_err mtls_fd_read_timeout(mtls_conn *conn, int fd, void *out, size_t cap,
                                       size_t *out_len, int timeout_ms);
/* mtls_fd_write() that ends by timeout_ms, the handshake it may run first included.  On
 * MTLS_ERR_TIMEOUT, *out_written counts the bytes the connection took (some may still wait in its
 * send buffer for the next flush); continue from there. */
MTLS_API mtls_err mtls_fd_write_timeout(mtls_conn *conn, int fd, const void *in, size_t len,
                                        size_t *out_written, int timeout_ms);
/* mtls_fd_close() that ends by timeout_ms: a peer that stopped reading cannot hold it up. */
MTLS_API mtls_err mtls_fd_close_timeout(mtls_conn *conn, int fd, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* MTLS_H */
