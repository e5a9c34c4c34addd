/*
 * ext.h -- hello extensions (src/handshake/ext): the table of which extension may appear in which
 * message (block.c, after RFC 8446 section 4.2's table), and each extension built and parsed in
 * one place, its own file.  Pure: no connection, no configuration, no trace, no allocation; a
 * parser returns views into the message and, on failure, a static sentence in *why.  What an
 * extension means for the handshake (policy) stays with the role that reads it.
 */
#ifndef MTLS_EXT_H
#define MTLS_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls.h"
#include "../../codec/codec.h"

/* The messages an extension block can be in (a bit each in the table). */
typedef enum {
    EXT_IN_CH = 1u << 0,   /* ClientHello */
    EXT_IN_SH12 = 1u << 1, /* TLS 1.2 ServerHello */
    EXT_IN_SH = 1u << 2,   /* TLS 1.3 ServerHello */
    EXT_IN_HRR = 1u << 3,  /* HelloRetryRequest */
    EXT_IN_EE = 1u << 4,   /* EncryptedExtensions */
    EXT_IN_CT = 1u << 5,   /* Certificate (per entry) */
    EXT_IN_CR = 1u << 6,   /* CertificateRequest */
    EXT_IN_NST = 1u << 7,  /* NewSessionTicket */
} ext_msg;

/* One extension found in a block, by type; duplicates are refused when the block is parsed. */
typedef struct ext_slot {
    bool present;
    rd data;
} ext_slot;

/* The extensions of one hello mtls knows, each at most once. */
typedef struct hello_exts {
    ext_slot server_name, supported_groups, ec_point_formats, signature_algorithms, alpn, ems,
        renegotiation_info, session_ticket;
    ext_slot status_request; /* RFC 6066 8 (status_request.c) */
    uint16_t bad_type; /* on MTLS_ERR_DUPLICATE_EXTENSION / _UNOFFERED_EXTENSION: which one */
} hello_exts;

/* block.c: the extensions block of message `in` -- extensions<0..2^16-1> with its length -- into
 * slots.  RFC 5246 7.4.1.4: no type twice (MTLS_ERR_DUPLICATE_EXTENSION).  An extension the table
 * does not allow in `in` is ignored in a ClientHello (RFC 5246 7.4.1.4: a server ignores what it
 * does not know) and refused anywhere else (MTLS_ERR_UNOFFERED_EXTENSION: a peer may answer only
 * what was offered).  Malformed: MTLS_ERR_DECODE. */
mtls_err ext_parse_block(rd *r, ext_msg in, hello_exts *e, const char **why);
/* An extension with empty extension_data (extended_master_secret; the server's acknowledgements
 * of server_name and session_ticket). */
void ext_empty_build(wr *w, uint16_t type);

/* extended_master_secret (RFC 7627 5.1): extension_data is empty both ways. */
void ext_ems_build(wr *w);
mtls_err ext_ems_parse(rd data, const char **why);

/* server_name (RFC 6066 3): one host_name.  parse: the host name, checked to be an ASCII DNS name
 * (none when the list names no host_name: host->n == 0). */
void ext_sni_build(wr *w, const char *host);
mtls_err ext_sni_parse(rd data, rd *host, const char **why);

/* supported_groups (RFC 8422 5.1.1, RFC 8446 4.2.7): the groups mtls supports, in the peer's
 * order, at most `cap` (unknown ones skipped). */
void ext_groups_build(wr *w, const uint16_t *groups, size_t n);
mtls_err ext_groups_parse(rd data, uint16_t *out, size_t cap, size_t *n, const char **why);

/* ec_point_formats (RFC 8422 5.1.2): uncompressed only; the peer's list must contain it. */
void ext_point_formats_build(wr *w);
mtls_err ext_point_formats_parse(rd data, const char **why);

/* signature_algorithms (RFC 5246 7.4.1.4.1): the list format is also CertificateRequest's
 * supported_signature_algorithms.  _list_parse reads a list's content (2..2^16-2 bytes, even) into
 * the schemes mtls knows, at most `cap`. */
void ext_sigalgs_build(wr *w, const uint16_t *algs, size_t n);
mtls_err ext_sigalgs_parse(rd data, uint16_t *out, size_t cap, size_t *n, const char **why);
mtls_err ext_sigalgs_list_parse(rd list, uint16_t *out, size_t cap, size_t *n, const char **why);

/* application_layer_protocol_negotiation (RFC 7301): `wire` is a ProtocolNameList's content.
 * The client's list (parse_list: non-empty, no empty name) and the server's choice (parse_one:
 * exactly one name); select: our first protocol the client offers (false: none in common). */
void ext_alpn_build(wr *w, const uint8_t *wire, size_t len);
mtls_err ext_alpn_parse_list(rd data, rd *list, const char **why);
mtls_err ext_alpn_parse_one(rd data, rd *name, const char **why);
bool ext_alpn_select(const uint8_t *ours, size_t ours_len, rd offered, rd *chosen);
bool ext_alpn_has(const uint8_t *wire, size_t len, rd name);

/* renegotiation_info (RFC 5746): mtls never renegotiates, so in the only handshake a connection
 * has it is always empty, both ways. */
void ext_reneg_build(wr *w);
mtls_err ext_reneg_parse(rd data, const char **why);

/* session_ticket (RFC 5077 3.2): the ticket offered (empty: asking for one).  The server's
 * acknowledgement is empty (ext_empty_build); the ticket itself is the slot's data. */
void ext_ticket_build(wr *w, const uint8_t *ticket, size_t len);

/* status_request (RFC 6066 8): OCSP stapling (status_request.c).  The request (ClientHello; a
 * TLS 1.3 CertificateRequest): status_type and, for ocsp(1), the OCSPStatusRequest's lists;
 * _build writes mtls's request (ocsp, no responder ids, no extensions).  _parse fails with
 * MTLS_ERR_DECODE on a malformed ocsp request; another status_type is returned unread (the
 * caller answers only ocsp).  The TLS 1.2 ServerHello's acknowledgement is empty (_ack_*).  The
 * TLS 1.3 Certificate entry's status_request holds a CertificateStatus struct:
 * msg_certificate_status_parse / _build (msg/certificate_status.c). */
#define EXT_STATUS_OCSP 1
typedef struct ext_status_request {
    uint8_t status_type;
    rd responder_id_list;  /* ocsp: the list's content, ResponderID<1..2^16-1> each */
    size_t n_responder_ids;
    rd request_extensions; /* ocsp: DER Extensions, possibly empty */
} ext_status_request;
void ext_status_request_build(wr *w);
mtls_err ext_status_request_parse(rd data, ext_status_request *out, const char **why);
void ext_status_request_ack_build(wr *w);
mtls_err ext_status_request_ack_parse(rd data, const char **why);

#endif
