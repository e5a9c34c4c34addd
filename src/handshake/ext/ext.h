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

/* The extensions of one message mtls knows, each at most once. */
typedef struct hello_exts {
    ext_slot server_name, supported_groups, ec_point_formats, signature_algorithms, alpn, ems,
        renegotiation_info, session_ticket;
    ext_slot status_request; /* RFC 6066 8 (status_request.c) */
    /* TLS 1.3 (RFC 8446 4.2) */
    ext_slot supported_versions, key_share, cookie, pre_shared_key, psk_key_exchange_modes,
        early_data, certificate_authorities, signature_algorithms_cert, post_handshake_auth;
    ext_slot record_size_limit; /* RFC 8449: known (CH, EE), not offered by mtls */
    bool psk_not_last; /* ClientHello: another extension follows pre_shared_key */
    uint16_t bad_type; /* on a duplicate, unoffered or misplaced extension: which one */
} hello_exts;

/* block.c: the extensions block of message `in` -- extensions<0..2^16-1> with its length -- into
 * slots.  Malformed: MTLS_ERR_DECODE.  What the table does not allow in `in`:
 *   - ClientHello: ignored (RFC 5246 7.4.1.4, RFC 8446 4.1.2: a server ignores what it does not
 *     know); a type twice is MTLS_ERR_DUPLICATE_EXTENSION (RFC 5246 7.4.1.4; a TLS 1.3 server
 *     answers it as illegal_parameter, version.c).
 *   - TLS 1.2 ServerHello: MTLS_ERR_UNOFFERED_EXTENSION (a peer may answer only what was offered),
 *     a type twice MTLS_ERR_DUPLICATE_EXTENSION, as before TLS 1.3.
 *   - the TLS 1.3 messages (ServerHello, HelloRetryRequest, EncryptedExtensions, Certificate
 *     entries, CertificateRequest, NewSessionTicket): RFC 8446 4.2, "If an implementation
 *     receives an extension which it recognizes and which is not specified for the message in
 *     which it appears, it MUST abort the handshake with an "illegal_parameter" alert":
 *     MTLS_ERR_ILLEGAL_PARAMETER; "There MUST NOT be more than one extension of the same type in
 *     a given extension block": MTLS_ERR_ILLEGAL_PARAMETER too.  An extension mtls does not know
 *     cannot answer anything it sent: MTLS_ERR_UNOFFERED_EXTENSION in ServerHello,
 *     HelloRetryRequest and EncryptedExtensions; ignored in CertificateRequest and
 *     NewSessionTicket ("Clients MUST ignore unrecognized extensions", 4.3.2, 4.6.1) and in
 *     Certificate entries (mtls asks for none; they are parsed and skipped).
 * e->bad_type names the extension of such an error; e->psk_not_last records a ClientHello whose
 * pre_shared_key is not its last extension (RFC 8446 4.2.11: the server's illegal_parameter). */
mtls_err ext_parse_block(rd *r, ext_msg in, hello_exts *e, const char **why);
/* An extension with empty extension_data (extended_master_secret; the server's acknowledgements
 * of server_name and session_ticket; post_handshake_auth; early_data in a ClientHello or
 * EncryptedExtensions). */
void ext_empty_build(wr *w, uint16_t type);
/* extension_data that must be empty. */
mtls_err ext_empty_parse(rd data, const char **why);

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

/* ---- TLS 1.3 (RFC 8446 4.2) ---------------------------------------------------------------- */

/* supported_versions (4.2.1).  ClientHello: versions<2..254>; _parse_list says which of TLS 1.2
 * and 1.3 it names (other values, GREASE and older versions, are skipped).  ServerHello and
 * HelloRetryRequest: the one selected_version. */
void ext_versions_build(wr *w, const uint16_t *versions, size_t n);
mtls_err ext_versions_parse_list(rd data, bool *has12, bool *has13, const char **why);
void ext_version_build(wr *w, uint16_t version);
mtls_err ext_version_parse(rd data, uint16_t *version, const char **why);

/* key_share (4.2.8).  A KeyShareEntry: group and key_exchange<1..2^16-1>. */
typedef struct ext_share {
    uint16_t group;
    rd key_exchange;
} ext_share;
#define EXT_MAX_SHARES 8 /* client shares kept (of groups mtls supports); the rest are skipped */
/* ClientHello: client_shares<0..2^16-1>.  Parse keeps the entries of groups mtls supports, in
 * the client's order, at most `cap`; a group twice is illegal_parameter ("Clients MUST NOT offer
 * multiple KeyShareEntry values for the same group"). */
void ext_key_share_ch_build(wr *w, const ext_share *shares, size_t n);
mtls_err ext_key_share_ch_parse(rd data, ext_share *out, size_t cap, size_t *n, const char **why);
/* Whether every entry of a ClientHello's key_share (data ext_key_share_ch_parse accepted) names a
 * group of its supported_groups (data ext_groups_parse accepted): 4.2.8, "Each KeyShareEntry
 * value MUST correspond to a group offered in the "supported_groups" extension".  Every group
 * counts, those mtls does not implement too, which the parsed lists leave out.  When one does
 * not, *group is its group. */
bool ext_key_share_ch_offered(rd shares, rd groups, uint16_t *group);
/* ServerHello: one KeyShareEntry.  HelloRetryRequest: the selected_group alone. */
void ext_key_share_sh_build(wr *w, const ext_share *share);
mtls_err ext_key_share_sh_parse(rd data, ext_share *share, const char **why);
void ext_key_share_hrr_build(wr *w, uint16_t group);
mtls_err ext_key_share_hrr_parse(rd data, uint16_t *group, const char **why);

/* cookie (4.2.2): opaque cookie<1..2^16-1>, from a HelloRetryRequest, echoed in the second
 * ClientHello. */
void ext_cookie_build(wr *w, rd cookie);
mtls_err ext_cookie_parse(rd data, rd *cookie, const char **why);

/* psk_key_exchange_modes (4.2.9): ke_modes<1..255>; psk_ke 0, psk_dhe_ke 1, others skipped. */
#define EXT_PSK_KE 0
#define EXT_PSK_DHE_KE 1
void ext_psk_modes_build(wr *w, bool psk_ke, bool psk_dhe_ke);
mtls_err ext_psk_modes_parse(rd data, bool *psk_ke, bool *psk_dhe_ke, const char **why);

/* pre_shared_key (4.2.11).  ClientHello: OfferedPsks { PskIdentity identities<7..2^16-1>;
 * PskBinderEntry binders<33..2^16-1> }, with PskIdentity { identity<1..2^16-1>; uint32
 * obfuscated_ticket_age } and PskBinderEntry opaque<32..255>; as many binders as identities
 * (else illegal_parameter).  binders_len: the bytes of the binders list with its 2-byte length,
 * which end the extension and so the ClientHello (the partial ClientHello the binders cover
 * ends before them).  ServerHello: the selected_identity. */
typedef struct ext_psk_offer {
    rd identities, binders; /* the lists' contents */
    size_t n;               /* identities (and binders) */
    size_t binders_len;
} ext_psk_offer;
mtls_err ext_psk_offer_parse(rd data, ext_psk_offer *out, const char **why);
/* Identity i (0 <= i < n) and its binder. */
void ext_psk_offer_get(const ext_psk_offer *o, size_t i, rd *identity, uint32_t *age, rd *binder);
/* One identity; the binder of binder_len bytes is written as zeros, for the caller to fill in
 * once the partial ClientHello is known: it is the last binder_len bytes of the extension. */
void ext_psk_offer_build(wr *w, rd identity, uint32_t obfuscated_age, size_t binder_len);
void ext_psk_sh_build(wr *w, uint16_t selected);
mtls_err ext_psk_sh_parse(rd data, uint16_t *selected, const char **why);

/* early_data (4.2.10): empty in a ClientHello and EncryptedExtensions; a NewSessionTicket's
 * carries max_early_data_size. */
mtls_err ext_early_data_nst_parse(rd data, uint32_t *max_size, const char **why);

/* certificate_authorities (4.2.4): authorities<3..2^16-1> of DistinguishedName<1..2^16-1>;
 * `names` is the list's content (the config's client-CA names); parse counts them. */
void ext_ca_names_build(wr *w, rd names);
mtls_err ext_ca_names_parse(rd data, size_t *n, const char **why);
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
