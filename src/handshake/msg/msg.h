/*
 * msg.h -- the handshake messages as pure codecs (src/handshake/msg), one file per message:
 *
 *   mtls_err msg_<name>_parse(rd *body, struct msg_<name> *out);
 *   bool     msg_<name>_build(wr *w, const struct msg_<name> *in);
 *
 * side by side, after the RFC struct each one follows.  No connection, no configuration, no
 * trace, no side effect: parse reads the body of one message (without its 4-byte header) into
 * views (rd) of the body and fixed fields, and fails -- MTLS_ERR_DECODE for a malformed message,
 * or the error its extensions block gives -- on any truncation and on one byte too many, with a
 * static sentence in out->why.  build appends the body to a writer (false when it fails: wr_ok).
 * What the fields mean -- versions, suites, signatures, policy -- is for the role files.
 */
#ifndef MTLS_MSG_H
#define MTLS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls.h"
#include "../../codec/codec.h"
#include "../ext/ext.h"

/* ---- ClientHello (RFC 5246 7.4.1.2) -------------------------------------------------------- */
struct msg_client_hello {
    uint16_t client_version;
    uint8_t random[32];
    rd session_id;          /* 0..32 bytes */
    rd cipher_suites;       /* the list's content: 2..2^16-2 bytes, an even number */
    rd compression_methods; /* 1..255 bytes */
    rd extensions;          /* the block's content; build writes the block even when empty */
    bool has_extensions;    /* parse: the hello carries an extensions block (build: always) */
    hello_exts exts;        /* parse: the extensions mtls knows (the table's ClientHello column) */
    const char *why;
};
mtls_err msg_client_hello_parse(rd *body, struct msg_client_hello *out);
bool msg_client_hello_build(wr *w, const struct msg_client_hello *in);

/* ---- ServerHello (RFC 5246 7.4.1.3, RFC 8446 4.1.3) ---------------------------------------- */
/* Which of the three messages a ServerHello is (RFC 8446 4.1.3, 4.1.4): a HelloRetryRequest has
 * the special random below; a TLS 1.3 ServerHello carries supported_versions; anything else is a
 * TLS 1.2 ServerHello.  Parse reads the extensions with the table column of that message. */
typedef enum { MSG_SH12 = 0, MSG_SH13, MSG_HRR } msg_sh_kind;
/* RFC 8446 4.1.3: SHA-256("HelloRetryRequest"), the random of every HelloRetryRequest. */
extern const uint8_t msg_hrr_random[32];
struct msg_server_hello {
    uint16_t server_version; /* legacy_version in TLS 1.3 */
    uint8_t random[32];
    rd session_id; /* 0..32 bytes (legacy_session_id_echo) */
    uint16_t cipher_suite;
    uint8_t compression_method;
    rd extensions;   /* the block's content; build leaves out an empty block (some peers dislike it)
                      */
    hello_exts exts; /* parse: the extensions mtls knows, read with the column of `kind` */
    msg_sh_kind kind; /* parse */
    const char *why;
};
mtls_err msg_server_hello_parse(rd *body, struct msg_server_hello *out);
bool msg_server_hello_build(wr *w, const struct msg_server_hello *in);

/* ---- Certificate (RFC 5246 7.4.2, 7.4.6) --------------------------------------------------- */
#define MSG_MAX_CHAIN 16 /* certificates in a peer's chain: more is MTLS_ERR_CERT_CHAIN_TOO_LONG   \
                          */
struct msg_certificate {
    rd *certs; /* the DER of each, leaf first; parse: the caller's array, room for MSG_MAX_CHAIN */
    size_t n;
    const char *why;
};
mtls_err msg_certificate_parse(rd *body, struct msg_certificate *out);
bool msg_certificate_build(wr *w, const struct msg_certificate *in);

/* ---- ServerKeyExchange, ECDHE (RFC 8422 5.4, RFC 5246 7.4.3) ------------------------------- */
struct msg_server_key_exchange {
    uint8_t curve_type; /* 3: named_curve, the only one mtls knows */
    uint16_t group;
    rd point;  /* the server's public value, 1..255 bytes */
    rd params; /* parse: the ServerECDHParams bytes, what the signature covers */
    uint16_t sigalg;
    rd signature; /* 0..2^16-1 bytes */
    const char *why;
};
mtls_err msg_server_key_exchange_parse(rd *body, struct msg_server_key_exchange *out);
bool msg_server_key_exchange_build(wr *w, const struct msg_server_key_exchange *in);
/* ServerECDHParams alone (what is signed, before the message exists). */
bool msg_ecdh_params_build(wr *w, uint16_t group, rd point);

/* ---- CertificateRequest (RFC 5246 7.4.4) --------------------------------------------------- */
struct msg_certificate_request {
    rd certificate_types;       /* 1..255 bytes */
    rd signature_algorithms;    /* supported_signature_algorithms' content: 2..2^16-2, even */
    rd certificate_authorities; /* the list's content: DistinguishedName<1..2^16-1> each */
    size_t n_authorities;       /* parse */
    const char *why;
};
mtls_err msg_certificate_request_parse(rd *body, struct msg_certificate_request *out);
bool msg_certificate_request_build(wr *w, const struct msg_certificate_request *in);

/* ---- ServerHelloDone (RFC 5246 7.4.5): empty --------------------------------------------- */
struct msg_server_hello_done {
    const char *why;
};
mtls_err msg_server_hello_done_parse(rd *body, struct msg_server_hello_done *out);
bool msg_server_hello_done_build(wr *w, const struct msg_server_hello_done *in);

/* ---- ClientKeyExchange (RFC 5246 7.4.7; RFC 8422 5.7) -------------------------------------- */
struct msg_client_key_exchange {
    bool rsa;         /* which form (the suite's key exchange): set before parse */
    rd exchange_keys; /* RSA: EncryptedPreMasterSecret<0..2^16-1>; ECDHE: ECPoint<1..255> */
    const char *why;
};
mtls_err msg_client_key_exchange_parse(rd *body, struct msg_client_key_exchange *out);
bool msg_client_key_exchange_build(wr *w, const struct msg_client_key_exchange *in);

/* ---- CertificateVerify (RFC 5246 7.4.8) ---------------------------------------------------- */
struct msg_certificate_verify {
    uint16_t sigalg;
    rd signature; /* 0..2^16-1 bytes: an empty one is well-formed and fails verification */
    const char *why;
};
mtls_err msg_certificate_verify_parse(rd *body, struct msg_certificate_verify *out);
bool msg_certificate_verify_build(wr *w, const struct msg_certificate_verify *in);

/* ---- Finished (RFC 5246 7.4.9) ------------------------------------------------------------- */
struct msg_finished {
    uint8_t verify_data[12];
    const char *why;
};
mtls_err msg_finished_parse(rd *body, struct msg_finished *out);
bool msg_finished_build(wr *w, const struct msg_finished *in);

/* ---- NewSessionTicket (RFC 5077 3.3) ------------------------------------------------------- */
struct msg_new_session_ticket {
    uint32_t lifetime_hint;
    rd ticket; /* 0..2^16-1 bytes */
    const char *why;
};
mtls_err msg_new_session_ticket_parse(rd *body, struct msg_new_session_ticket *out);
bool msg_new_session_ticket_build(wr *w, const struct msg_new_session_ticket *in);

/* ---- TLS 1.3 (RFC 8446 4.3-4.6) ------------------------------------------------------------ */

/* EncryptedExtensions (4.3.1): struct { Extension extensions<0..2^16-1>; } */
struct msg_encrypted_extensions {
    rd extensions;   /* the block's content */
    hello_exts exts; /* parse: read with the EncryptedExtensions column */
    const char *why;
};
mtls_err msg_encrypted_extensions_parse(rd *body, struct msg_encrypted_extensions *out);
bool msg_encrypted_extensions_build(wr *w, const struct msg_encrypted_extensions *in);

/* CertificateRequest (4.3.2):
 *   struct { opaque certificate_request_context<0..255>; Extension extensions<2..2^16-1>; } */
struct msg_certificate_request13 {
    rd context;
    rd extensions;   /* the block's content, at least one extension */
    hello_exts exts; /* parse: read with the CertificateRequest column */
    const char *why;
};
mtls_err msg_certificate_request13_parse(rd *body, struct msg_certificate_request13 *out);
bool msg_certificate_request13_build(wr *w, const struct msg_certificate_request13 *in);

/* Certificate (4.4.2):
 *   struct { opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>; } CertificateEntry;
 *   struct { opaque certificate_request_context<0..255>;
 *            CertificateEntry certificate_list<0..2^24-1>; } Certificate;
 * Each entry's extensions are read with the Certificate column (what mtls does not know is
 * skipped); build writes empty ones when `exts` is NULL. */
struct msg_certificate13 {
    rd context;
    rd *certs; /* the DER of each, leaf first; parse: the caller's array, room for MSG_MAX_CHAIN */
    rd *exts;  /* each entry's extensions block content; parse: the caller's array, or NULL */
    size_t n;
    const char *why;
};
mtls_err msg_certificate13_parse(rd *body, struct msg_certificate13 *out);
bool msg_certificate13_build(wr *w, const struct msg_certificate13 *in);

/* CertificateVerify (4.4.3) has the TLS 1.2 wire form (msg_certificate_verify_*); what is signed
 * differs: 64 spaces, the context string, a zero byte, then the transcript hash.  Writes it to
 * `out` (MSG_CV13_CONTENT_MAX bytes suffice) and returns its length. */
#define MSG_CV13_CONTENT_MAX (64 + 33 + 1 + 64)
size_t msg_cv13_content(uint8_t *out, bool by_server, const uint8_t *th, size_t hlen);

/* Finished (4.4.4): verify_data of the hash's length (hlen, set before parse). */
struct msg_finished13 {
    uint8_t verify_data[64];
    size_t len;
    const char *why;
};
mtls_err msg_finished13_parse(rd *body, size_t hlen, struct msg_finished13 *out);
bool msg_finished13_build(wr *w, const struct msg_finished13 *in);

/* NewSessionTicket (4.6.1):
 *   struct { uint32 ticket_lifetime; uint32 ticket_age_add; opaque ticket_nonce<0..255>;
 *            opaque ticket<1..2^16-1>; Extension extensions<0..2^16-2>; } */
struct msg_new_session_ticket13 {
    uint32_t lifetime, age_add;
    rd nonce, ticket;
    rd extensions;   /* the block's content */
    hello_exts exts; /* parse: read with the NewSessionTicket column */
    const char *why;
};
mtls_err msg_new_session_ticket13_parse(rd *body, struct msg_new_session_ticket13 *out);
bool msg_new_session_ticket13_build(wr *w, const struct msg_new_session_ticket13 *in);

/* KeyUpdate (4.6.3): enum { update_not_requested(0), update_requested(1), (255) } request_update;
 * another value is illegal_parameter ("If an implementation receives any other value, it MUST
 * terminate the connection with an "illegal_parameter" alert"). */
struct msg_key_update {
    uint8_t request_update;
    const char *why;
};
mtls_err msg_key_update_parse(rd *body, struct msg_key_update *out);
bool msg_key_update_build(wr *w, const struct msg_key_update *in);
/* ---- CertificateStatus (RFC 6066 8; TLS 1.3: the Certificate entry's status_request) -------- */
struct msg_certificate_status {
    uint8_t status_type; /* ocsp(1), the only one: another is MTLS_ERR_DECODE */
    rd response;         /* the DER OCSPResponse, 1..2^24-1 bytes */
    const char *why;
};
mtls_err msg_certificate_status_parse(rd *body, struct msg_certificate_status *out);
bool msg_certificate_status_build(wr *w, const struct msg_certificate_status *in);

/* signed.c: the TLS 1.2 digitally-signed element (RFC 5246 4.7):
 *   struct { SignatureAndHashAlgorithm algorithm; opaque signature<0..2^16-1>; } */
bool msg_signed_parse(rd *r, uint16_t *sigalg, rd *signature);
void msg_signed_build(wr *w, uint16_t sigalg, rd signature);

#endif
