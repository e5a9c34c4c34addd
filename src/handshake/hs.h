/*
 * hs.h -- handshake state shared by the driver (driver.c), the role files (client12.c,
 * server12.c), the messages (msg/) and the extensions (ext/).
 *
 * States are named for the one thing they wait for or do.  Read states accept exactly the message
 * types listed in their handler; anything else -- an early ChangeCipherSpec included -- is
 * unexpected_message.  Proof bits are set only by the functions that check the peer's chain,
 * ServerKeyExchange signature, CertificateVerify and Finished; the driver refuses to enter the
 * traffic state unless the set this mode needs is complete.
 */
#ifndef MTLS_HS_H
#define MTLS_HS_H

#include "../core/internal.h"
#include "../keysched/ks.h"

typedef enum {
    /* client, RFC 5246 7.3 order */
    C12_SEND_CLIENT_HELLO,
    C12_READ_SERVER_HELLO,
    C12_READ_SERVER_CERT,
    C12_READ_SERVER_KEY_EXCHANGE,
    C12_READ_CERT_REQUEST_OR_SERVER_DONE,
    C12_READ_SERVER_DONE,
    C12_SEND_CLIENT_FLIGHT,
    C12_READ_NEW_SESSION_TICKET,
    C12_READ_CCS,
    C12_READ_FINISHED,
    C12_SEND_FINISHED_RESUMED,
    /* server */
    S12_READ_CLIENT_HELLO,
    S12_SEND_SERVER_FLIGHT,
    S12_SEND_RESUMED_FLIGHT,
    S12_READ_CLIENT_CERT,
    S12_READ_CLIENT_KEY_EXCHANGE,
    S12_READ_CERT_VERIFY,
    S12_READ_CCS,
    S12_READ_FINISHED,
    S12_SEND_FINISHED,
    HS_DONE,
} hs_state;

enum {
    PROOF_PEER_CHAIN = 1u << 0,  /* peer chain verified (or verification explicitly skipped) */
    PROOF_SKE_SIG = 1u << 1,     /* ServerKeyExchange signature verified */
    PROOF_CERT_VERIFY = 1u << 2, /* client's CertificateVerify verified */
    PROOF_FINISHED = 1u << 3,    /* peer's Finished verified */
    PROOF_RESUMED = 1u << 4,     /* master secret from a session that passed every resumption check */
};

#define HS_MAX_PEER_LIST 64

/* One extension found in a hello, by type; duplicates are refused when the block is parsed. */
typedef struct ext_slot {
    bool present;
    rd data;
} ext_slot;

typedef struct hello_exts {
    ext_slot server_name, supported_groups, ec_point_formats, signature_algorithms, alpn, ems,
        renegotiation_info, session_ticket;
} hello_exts;

typedef struct msg {
    uint8_t type;
    rd body;
    const uint8_t *raw; /* header + body, for the transcript */
    size_t raw_len;
} msg;

struct hs {
    hs_state state;
    unsigned proofs;
    dynbuf in;   /* reassembly of received handshake messages */
    size_t in_off; /* handled messages end here; the rest of `in` is moved down once per record */
    wr out;      /* messages of the flight being built (growable), framed into records at flush */
    dynbuf tbuf; /* raw transcript, kept while a CertificateVerify may need it */
    bool keep_tbuf;
    cry_hash *transcript; /* running hash with the suite's PRF hash, from ServerHello on */

    const suite_info *suite;
    uint8_t client_random[32], server_random[32];
    uint8_t session_id[32];
    size_t session_id_len;
    uint16_t client_version; /* ClientHello.client_version, for the RSA premaster check */

    /* what the peer offered (server: from ClientHello; client: from CertificateRequest) */
    uint16_t peer_sigalgs[HS_MAX_PEER_LIST];
    size_t n_peer_sigalgs;
    uint16_t peer_groups[HS_MAX_PEER_LIST];
    size_t n_peer_groups;
    bool peer_ems, peer_secure_reneg, peer_point_formats;

    /* ECDHE */
    cry_kex *kex;
    uint16_t group;
    uint8_t peer_pub[133];
    size_t peer_pub_len;

    /* client authentication */
    bool cert_requested;   /* server asked (both roles know) */
    bool client_sends_cert;/* client: we answer with a certificate and CertificateVerify */
    uint16_t cv_sigalg;
    bool cr_rsa_ok, cr_ecdsa_ok; /* client: certificate_types in the request */

    /* peer identity as received, moved to the connection at the end */
    x509_cert **peer_chain;
    size_t peer_chain_len;

    /* resumption */
    mtls_session *resume;   /* the session being resumed */
    bool ticket_ext;        /* server: the client sent session_ticket; client: the server acked it */
    bool send_ticket;       /* server: NewSessionTicket promised in ServerHello */
    bool sni_used;          /* server: the application accepted the client's server_name */
    uint8_t *new_ticket;    /* client: ticket received in NewSessionTicket */
    size_t new_ticket_len;
    uint32_t new_ticket_hint;

    /* secrets */
    uint8_t premaster[48];
    size_t premaster_len;
    uint8_t master[48];
    uint8_t key_block[2 * 32 + 2 * 12];
};

/* driver.c */
mtls_err hs_fail(mtls_conn *c, mtls_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* MTLS_OK when `m` is of `type`; otherwise unexpected_message, naming both. */
mtls_err hs_expect(mtls_conn *c, const msg *m, uint8_t type);
/* ChangeCipherSpec then Finished, framed and queued: the end of either side's flight. */
mtls_err hs_send_ccs_and_finished(mtls_conn *c);
/* Start a handshake message of `type` in hs->out (the flight's growable writer): the body is
 * written there, then hs_msg_close(at) patches its length and adds it to the transcript.  Returns
 * where the message starts. */
size_t hs_msg_open(mtls_conn *c, uint8_t type);
mtls_err hs_msg_close(mtls_conn *c, size_t at);
/* Frame the flight built so far into handshake records. */
mtls_err hs_flush(mtls_conn *c);
mtls_err hs_send_ccs(mtls_conn *c);
mtls_err hs_transcript_add(mtls_conn *c, const uint8_t *p, size_t len);
/* Start the running hash once the suite is known (hashes what was buffered). */
mtls_err hs_transcript_start(mtls_conn *c);
mtls_err hs_transcript_hash(mtls_conn *c, uint8_t *out, size_t *out_len);
void hs_transcript_drop_buffer(mtls_conn *c);
/* Master secret (with EMS when negotiated) from the premaster, then the key block. */
mtls_err hs_derive_keys(mtls_conn *c);
/* Key block from hs->master (also after resumption); logs the key when asked. */
mtls_err hs_key_block(mtls_conn *c);
/* Install the read (peer's) or write (our) protection from the key block. */
mtls_err hs_install_keys(mtls_conn *c, bool for_write);
mtls_err hs_finished_compute(mtls_conn *c, bool from_client, uint8_t out[12]);
/* Check the peer's chain: verification, hostname (client), policy callback; sets PROOF_PEER_CHAIN. */
mtls_err hs_verify_peer_chain(mtls_conn *c);
/* Choose a signature scheme for our key among `offered` (ours first). 0 when none fits. */
uint16_t hs_pick_sigalg(const mtls_conn *c, const uint16_t *offered, size_t n);
bool hs_sigalg_fits_key(uint16_t sigalg, const cry_pkey *key);
bool hs_list_has(const uint16_t *list, size_t n, uint16_t v);
/* The same for a list of 16-bit values as it is on the wire (a ClientHello's cipher_suites). */
bool hs_wire_list_has(rd list, uint16_t v);
/* RFC 5246 7.4.2 / RFC 5280 4.2.1.3: may this certificate's key do what key exchange `kx` asks
 * of it (ECDHE: digitalSignature; RSA key transport: keyEncipherment)?  No keyUsage: any. */
bool hs_key_usage_allows(const x509_cert *cert, kx_kind kx);
/* "a, b, c" of suite / group / sigalg names, for the trace. */
void hs_names(char *out, size_t cap, const uint16_t *ids, size_t n, const char *(*name)(uint16_t));
extern const char *hs_msg_name(uint8_t type);

/* client12.c / server12.c: one handler per state */
mtls_err c12_send_client_hello(mtls_conn *c);
mtls_err c12_read_server_hello(mtls_conn *c, const msg *m);
mtls_err c12_read_server_cert(mtls_conn *c, const msg *m);
mtls_err c12_read_server_key_exchange(mtls_conn *c, const msg *m);
mtls_err c12_read_cert_request_or_server_done(mtls_conn *c, const msg *m);
mtls_err c12_send_client_flight(mtls_conn *c);
mtls_err c12_read_new_session_ticket(mtls_conn *c, const msg *m);
mtls_err c12_read_finished(mtls_conn *c, const msg *m);
mtls_err c12_send_finished_resumed(mtls_conn *c);
mtls_err s12_read_client_hello(mtls_conn *c, const msg *m);
mtls_err s12_send_server_flight(mtls_conn *c);
mtls_err s12_send_resumed_flight(mtls_conn *c);
mtls_err s12_read_client_cert(mtls_conn *c, const msg *m);
mtls_err s12_read_client_key_exchange(mtls_conn *c, const msg *m);
mtls_err s12_read_cert_verify(mtls_conn *c, const msg *m);
mtls_err s12_read_finished(mtls_conn *c, const msg *m);
mtls_err s12_send_finished(mtls_conn *c);

/* msg/: parse and build, side by side */
mtls_err msg_certificate_build(mtls_conn *c, x509_cert *const *chain, size_t n);
/* Parses a Certificate message into a chain (n may be 0). */
mtls_err msg_certificate_parse(mtls_conn *c, rd body, x509_cert ***chain, size_t *n);
mtls_err msg_finished_build(mtls_conn *c);
mtls_err msg_finished_check(mtls_conn *c, const msg *m);
/* digitally-signed struct: SignatureAndHashAlgorithm + opaque<0..2^16-1> */
mtls_err msg_signed_parse(rd *r, uint16_t *sigalg, const uint8_t **sig, size_t *sig_len);

/* resume.c: sessions in the handshake */
/* Client: the session to offer (checked: fits our config and name), or NULL. */
mtls_session *hs_session_to_offer(mtls_conn *c);
/* Server: the session the ClientHello asks to resume, if it passes every check, in *out (NULL
 * for a full handshake).  An error only for a hello that must be refused outright: a session made
 * with extended master secret offered without the extension (RFC 7627 5.3). */
mtls_err hs_session_lookup(mtls_conn *c, const uint8_t *sid, size_t sid_len, const hello_exts *e,
                           rd suites, mtls_session **out);
/* The digest of the verification context a session made by this connection is bound to: the
 * anchors that verify the peer, the verify mode, the session context string and, on a client, the
 * name it verifies.  False when it cannot be computed. */
bool hs_verify_context(const mtls_conn *c, uint8_t out[32]);
/* Both: make this connection's session at the end of a handshake; server stores it. */
mtls_err hs_session_finish(mtls_conn *c);
/* Server: NewSessionTicket with a fresh ticket. */
mtls_err msg_new_session_ticket_build(mtls_conn *c);
mtls_err msg_new_session_ticket_parse(mtls_conn *c, const msg *m);
/* Take over a resumed session's identity (peer certificate) into the connection. */
mtls_err hs_adopt_session(mtls_conn *c, mtls_session *s);

/* ext/: the extension block and each extension */
mtls_err ext_parse_block(mtls_conn *c, rd *r, hello_exts *e, bool in_server_hello);
mtls_err ext_sni_parse(mtls_conn *c, rd data);
void ext_sni_build(wr *w, const char *host);
mtls_err ext_groups_parse(mtls_conn *c, rd data, uint16_t *out, size_t *n);
void ext_groups_build(wr *w, const uint16_t *groups, size_t n);
mtls_err ext_point_formats_parse(mtls_conn *c, rd data);
void ext_point_formats_build(wr *w);
mtls_err ext_sigalgs_parse(mtls_conn *c, rd data, uint16_t *out, size_t *n);
void ext_sigalgs_build(wr *w, const uint16_t *algs, size_t n);
void ext_sigalgs_body(wr *w, const uint16_t *algs, size_t n);
mtls_err ext_alpn_select(mtls_conn *c, rd data);       /* server */
mtls_err ext_alpn_check_server(mtls_conn *c, rd data); /* client */
void ext_alpn_build(wr *w, const uint8_t *wire, size_t len);
mtls_err ext_reneg_check(mtls_conn *c, rd data);
void ext_empty_build(wr *w, uint16_t type);

#endif
