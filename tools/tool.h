/*
 * tool.h -- what the parts of the `mtls` command share: option sets, config building with
 * actionable error messages, the trace and key-log callbacks, error explanations, sockets and
 * clocks.  The tool uses include/mtls.h only, like any application would.
 */
#ifndef MTLS_TOOL_H
#define MTLS_TOOL_H

#include "mtls.h"

#include <stddef.h>
#include <stdint.h>

/* Exit statuses: 0 clean session, 1 connection/TLS failure, 2 usage or local setup error. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Most --spiffe-id (and, apart, --spiffe-trust-domain) options on one command line. */
#define TOOL_MAX_SPIFFE 64
/* Most --crl options on one command line. */
#define TOOL_MAX_CRL 64
/* Most --export options on one command line, and the longest value printed. */
#define TOOL_MAX_EXPORT 8
#define TOOL_MAX_EXPORT_LEN 1024

/* --export LABEL:LEN[:CONTEXT]: keying material to print once a connection is established. */
struct tool_export {
    const char *label;
    size_t label_len;
    int len;
    const char *context; /* use_context: the bytes after the second ':' (maybe none) */
    int use_context;
};

/* Options shared by client and server. */
struct common_opts {
    const char *cert, *key, *ca;
    const char *p12;                         /* --p12 FILE: chain and key from a PKCS#12 bundle */
    const char *key_pass_file, *key_pass_env; /* where the passphrase / PIN comes from */
    const char *pkcs11_module;               /* --pkcs11-module SO, for a pkcs11: --key */
    const char *ciphers, *groups, *alpn;
    const char *keylog; /* --keylog FILE, else $SSLKEYLOGFILE */
    int trace;
    int timeout_s; /* handshake / idle bound */
    int quiet;
    int require_ems; /* --require-ems: refuse peers without extended master secret */
    uint16_t version; /* --tls1.2 / --tls1.3: the one version to speak; 0: both (the default) */
    /* --spiffe-id ID / --spiffe-trust-domain TD (repeatable): accept the peer only by SPIFFE ID */
    const char *spiffe_ids[TOOL_MAX_SPIFFE];
    int n_spiffe_ids;
    const char *spiffe_tds[TOOL_MAX_SPIFFE];
    int n_spiffe_tds;
    /* --crl FILE (repeatable), --crl-dir DIR: CRLs the peer's certificates are checked against;
     * --crl-check leaf|chain (0: not given, the library's default, leaf), --crl-soft-fail */
    const char *crls[TOOL_MAX_CRL];
    int n_crls;
    const char *crl_dir;
    int crl_check; /* 0 not given, 1 leaf, 2 chain */
    int crl_soft_fail;
    /* OCSP, for the failure hints: client 1 --ocsp, 2 --ocsp-required; server 1 --ocsp-staple */
    int ocsp;
    /* --export LABEL:LEN[:CONTEXT] (repeatable) */
    struct tool_export exports[TOOL_MAX_EXPORT];
    int n_exports;
};

/* The help lines of the CRL options both commands share; `PEER` names what is checked. */
#define CRL_OPTIONS_HELP(PEER)                                                                  \
    "  --crl FILE           check " PEER " against the CRLs in FILE\n"                         \
    "                       (PEM or DER; repeatable): a revoked certificate is refused\n"       \
    "                       (certificate_revoked), and so is one whose issuer has\n"             \
    "                       no CRL loaded, unless --crl-soft-fail\n"                             \
    "  --crl-dir DIR        ... the CRLs of a hashed directory (openssl rehash)\n"              \
    "  --crl-check WHAT     leaf (default: the end-entity certificate) or chain\n"             \
    "                       (every certificate of the verified path but the root)\n"          \
    "  --crl-soft-fail      accept a certificate whose issuer has no CRL loaded\n"

/* The values of the CRL options in each command's option table (above its own enum's), and of
 * --export. */
enum { OPT_CRL = 1000, OPT_CRL_DIR, OPT_CRL_CHECK, OPT_CRL_SOFT_FAIL, OPT_EXPORT };
/* Handle one of the CRL options (opt: OPT_CRL...); prints why and returns nonzero on a bad one. */
int crl_opt(struct common_opts *o, int opt, const char *arg);
/* After parsing: --crl-check / --crl-soft-fail without a CRL is a usage error (prints why). */
int crl_opts_check(const struct common_opts *o);

/* The help lines of --export, which both commands share. */
#define EXPORT_OPTIONS_HELP                                                                     \
    "  --export LABEL:LEN[:CONTEXT]\n"                                                         \
    "                       once connected, print LEN bytes of keying material exported\n"   \
    "                       for LABEL (RFC 8446 7.5, RFC 5705: as openssl -keymatexport\n"    \
    "                       LABEL -keymatexportlen LEN), with CONTEXT's bytes as the\n"       \
    "                       context when given ('LABEL:LEN:' is an empty context);\n"        \
    "                       repeatable; one line each: 'exported keying material\n"         \
    "                       LABEL (LEN bytes, ...): HEX'\n"

/* Handle one --export option; prints why and returns nonzero on a bad one. */
int export_opt(struct common_opts *o, const char *arg);
/* Print the --export values of an established connection (each line prefixed with `prefix`). */
void report_exports(const mtls_conn *conn, const struct common_opts *o, const char *prefix);

/* The help lines of the key options both commands share (--key is each command's own line). */
#define KEY_OPTIONS_HELP                                                                        \
    "  --p12 FILE           certificate chain and private key from a PKCS#12 bundle\n"           \
    "                       (.p12/.pfx) instead of --cert and --key\n"                          \
    "  --key-pass-file FILE\n"                                                                  \
    "                       the passphrase of an encrypted --key (or the password of the\n"    \
    "                       --p12 bundle, or the PIN of a pkcs11: key) is the first line\n"    \
    "                       of FILE\n"                                                          \
    "  --key-pass-env NAME  ... is the value of the environment variable NAME.  There is\n"    \
    "                       no option for the passphrase itself: any user of the machine\n"    \
    "                       can read the arguments of running programs (ps, /proc), and\n"    \
    "                       shells keep them in their history\n"                               \
    "  --pkcs11-module SO   the PKCS#11 module that holds a pkcs11: --key (default: the\n"    \
    "                       engine's, p11-kit-proxy: every module p11-kit knows)\n"

/* Per-connection tag every mtls_conn of the tool carries as userdata (first member of larger
 * per-connection structs): the trace prefix and step counter, and what the trace revealed. */
struct peer_tag {
    char label[32];        /* "client", "server", "#12" -- printed before each trace line */
    unsigned steps;        /* trace step counter */
    int resume_offer;      /* client: offered a saved session (RESUME_OFFER_*), from trace events */
    char resume_note[160]; /* the library's last resumption decision, from trace events */
    /* Counted from the trace events of the handshake (clients always, servers with --trace): */
    unsigned round_trips; /* flights received after one of ours, until established: for a client,
                           * the round trips before it may send application data */
    char last_dir;        /* '>' or '<': the direction of the last message until established */
    int established;
    /* how our Certificate crossed the wire; NONE: not sent */
    mtls_trace_protection cert_protection;
    unsigned server_hellos; /* ServerHellos received: 2 when the first was a HelloRetryRequest */
};

/* What a client offered to resume with (the API tells only whether it resumed; the trace says
 * which of the two the ClientHello carried). */
enum { RESUME_OFFER_NONE = 0, RESUME_OFFER_ID, RESUME_OFFER_TICKET };

/* Process-level resources behind a config (key-log file).  Freed with tool_config_free. */
struct tool_cfg {
    mtls_config *cfg;
    int keylog_fd;
    int trace;
};

/* Build a config from options; prints one actionable line and returns nonzero on failure.
 * `role` is "client" or "server". */
int tool_config_new(struct tool_cfg *tc, const struct common_opts *o, const char *role);
void tool_config_free(struct tool_cfg *tc);
/* For a reload: build a new config from the options (files read again, the key log reopened)
 * into *out, its callbacks on the same `tc`; tc->cfg stays the running one.  Nonzero, with the
 * reason printed and `tc` as it was, on failure. */
int tool_config_rebuild(struct tool_cfg *tc, const struct common_opts *o, const char *role,
                        mtls_config **out);

/* Write one line to stderr with a single write(2), prefixed "mtls: ". */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Split "host:port", "[v6]:port" or ":port" (host empty -> NULL).  Returns nonzero on error. */
int split_hostport(const char *s, char *host, size_t hostcap, char *port, size_t portcap);
/* Parse a non-negative decimal int; nonzero on error. */
int parse_uint(const char *s, int *out);

/* Monotonic milliseconds. */
int64_t now_ms(void);
/* Wait until fd is ready for `want` (WANT_READ / WANT_WRITE) or the deadline passes (-1: none).
 * Returns 1 ready, 0 timeout, -1 error. */
int wait_fd(int fd, mtls_err want, int64_t deadline_ms);
int set_nonblocking(int fd);
/* Drive mtls_fd_handshake / mtls_fd_close on a non-blocking fd until done, an error, or the
 * deadline (MTLS_ERR_TIMEOUT). */
mtls_err handshake_until(mtls_conn *conn, int fd, int64_t deadline_ms);
mtls_err close_until(mtls_conn *conn, int fd, int64_t deadline_ms);
/* Connect to host:port with a deadline; prints the reason and returns -1 on failure. */
int tcp_connect(const char *host, const char *port, int timeout_s);
/* Listen on host:port (127.0.0.1 when host is NULL); prints the reason and returns -1. */
int tcp_listen(const char *host, const char *port, int backlog);
/* "127.0.0.1:4433" / "[::1]:4433" for a socket's local or peer address. */
void sock_name(int fd, int peer, char *out, size_t cap);

/* Write all bytes to a (blocking) fd; nonzero on error. */
int write_all(int fd, const void *p, size_t n);

/* One line explaining why `conn` failed with `err`: what happened and what to do.  `peer` names
 * the other side ("example.org:443"); `o` tells which options were used (for the hint). */
void explain_failure(char *out, size_t cap, const mtls_conn *conn, mtls_err err, int saved_errno,
                     const char *stage, const char *peer, const struct common_opts *o,
                     int is_server);

/* Record one --spiffe-id (td == 0) or --spiffe-trust-domain (td != 0) option; prints why and
 * returns nonzero when there are too many. */
int add_spiffe_opt(struct common_opts *o, int td, const char *arg);
/* The peer's certificate for a log line: "CN=good.test (SPIFFE ID spiffe://...), serial 03E9,
 * issued by CN=..., expires 2027-01-05 (in 29 days)"; "" when the peer presented none. */
void describe_peer_cert(char *out, size_t cap, const mtls_conn *conn);

/* What the server stapled, for a log line: "good, produced 2026-01-02 03:04:05 UTC, next update
 * 2026-01-03 03:04:05 UTC", or "none (the server stapled no OCSP response)". */
void describe_peer_ocsp(char *out, size_t cap, const mtls_conn *conn);

/* "TLS 1.2" etc. */
const char *version_name(uint16_t v);
/* How a record crossed the wire, as the trace shows it: "clear", or whose key -- the client's
 * "c", the server's "s" -- of which kind: TLS 1.3's "hs traffic" and "ap traffic N" (RFC 8446
 * 7.1's labels), TLS 1.2's "write key".  `sent`: we sent it (else the peer did); "" for NONE. */
void protection_label(char *out, size_t cap, int is_server, int sent, mtls_trace_protection p,
                      unsigned generation);
/* One-line summary of a negotiated connection ("TLS 1.2, TLS_..., x25519, ..."). */
void conn_summary(char *out, size_t cap, const mtls_conn *conn);

/* Run a program (argv[0] looked up in PATH) with stdout/stderr sent to `log_path` (or
 * /dev/null); returns its exit status, or -1 when it could not be started (errno set). */
int run_program(char *const argv[], const char *log_path);

int cmd_client(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_demo(int argc, char **argv);

/* Server loop, shared with the demo.  Serves on an already listening socket. */
struct server_opts {
    struct common_opts c;
    mtls_verify_mode verify;
    int http;
    int once; /* serve this many connections (--once: 1), then exit; 0: forever */
    int max_conns;
    const char *label; /* trace label prefix; NULL: "#<id>" per connection */
    int report_fd;     /* >= 0: write "subject\tsigalg\tbytes\tclean\tresumed\n" per finished
                        * connection */
    int no_tickets;    /* --no-tickets: neither issue nor accept session tickets */
    int no_cache;      /* --no-cache: no server-side session cache (no resumption by id) */
    int cache_size;    /* --cache-size N: session cache entries (0: the library's default) */
    int no_ca_names;   /* --no-ca-names: empty certificate_authorities in CertificateRequest */
    const char *ticket_key_file; /* --ticket-key-file FILE: ticket keys shared by a fleet */
    const char *ocsp_staple;     /* --ocsp-staple FILE: a DER OCSP response to staple */
    const char *session_store;   /* --session-store URL: sessions in Redis (by session id) */
    int reload_on_hup; /* SIGHUP re-reads --cert/--key/--ca/--ticket-key-file (mtls server) */
    int commands;      /* --commands: read c / k / K from stdin (mtls server) */
    const char *post_auth_path; /* --post-auth PATH: HTTP requests under PATH need a client
                                 * certificate, asked for after the handshake (TLS 1.3) */
};
/* Apply --no-tickets / --no-cache to a server config. */
void server_apply_resumption(mtls_config *cfg, const struct server_opts *o);
int server_run(int listen_fd, const struct server_opts *o, struct tool_cfg *tc);

#endif
