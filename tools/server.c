/*
 * server.c -- `mtls server`: a TLS 1.3 / 1.2 echo or HTTP server for many concurrent clients.
 *
 * It owns the server's options and its event loop: one thread, one poll() over the listening
 * socket and every connection's non-blocking fd, each connection driven by the mtls_fd_* helpers.
 * A connection is serviced ("do all you can until you would block") whenever its fd is ready;
 * what it then waits for (POLLIN or POLLOUT) decides its next poll events.  Plaintext the peer
 * sent that mtls has not yet accepted for sending back stays in a per-connection backlog, and
 * while the backlog is non-empty we stop reading from that peer: a client that does not read
 * cannot make us buffer without bound.  Every connection has a deadline (handshake, then idle),
 * so a stalled peer cannot hold a slot forever; --max-conns bounds the slots.
 *
 * Reload without restart: SIGHUP (caught through a self-pipe that the poll() watches) builds a
 * new config from the same options -- every file read again -- that shares the running one's
 * session cache and ticket keys (mtls_config_share_sessions); new connections get it, open ones
 * keep the config they started with.  A reload that fails keeps the running config.  Whatever
 * server_setup() and tool_config_new() set is reloaded: a new file-backed option (CRLs, an OCSP
 * staple) joins them there, and says what changed in describe_changes().
 */
#include "tool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef MTLS_TOOL_REDIS
#include "redis_store.h"
#endif

static const char usage[] =
    "usage: mtls server --listen HOST:PORT (--cert FILE --key FILE | --p12 FILE) [options]\n"
    "\n"
    "Serve TLS 1.3 and 1.2 to many clients at once: echo what they send (--echo, the\n"
    "default) or answer HTTP/1.1 requests with a page describing the connection (--http).\n"
    "Prints 'listening on ADDR:PORT' on stderr when ready (port 0 picks a free port).\n"
    "\n"
    "  --listen HOST:PORT   address to listen on (default 127.0.0.1:4433)\n"
    "  --cert FILE          certificate chain (PEM, leaf first)\n"
    "  --key FILE|URI       its private key (PEM, encrypted or not), or a PKCS#11 URI\n"
    "                       ('pkcs11:token=...;object=...'): the key stays on the token\n"
    KEY_OPTIONS_HELP
    "  --ca FILE|DIR        CA certificates that client certificates must chain to\n"
    "  --verify-client M    none (default), optional (ask; verify if sent), require\n"
    "  --no-ca-names        do not name the --ca CAs in the certificate request\n"
    "  --spiffe-id ID       accept a client certificate only with this SPIFFE ID\n"
    "                       (spiffe://example.org/ns/prod/sa/web; repeatable): it must\n"
    "                       be an X.509-SVID with one of the IDs given, or one in a\n"
    "                       --spiffe-trust-domain (needs --verify-client)\n"
    "  --spiffe-trust-domain TD\n"
    "                       accept any SPIFFE ID of trust domain TD (example.org;\n"
    "                       repeatable)\n"
    "  --ciphers LIST       cipher suites in preference order, ':' separated\n"
    "  --groups LIST        key-exchange groups (x25519:secp256r1:secp384r1)\n"
    "  --alpn LIST          application protocols, comma separated (with --http: http/1.1)\n"
    "  --echo               echo application data back (default)\n"
    "  --http               answer HTTP/1.1 requests (curl, wget, browsers)\n"
    "  --once               serve one connection, then exit with its status\n"
    "  --max-conns N        at most N connections at once (default 256)\n"
    "  --timeout SEC        handshake and idle timeout per connection (default 30)\n"
    "  --trace              print every handshake step on stderr\n"
    "  --keylog FILE        append TLS secrets for Wireshark (also: $SSLKEYLOGFILE)\n"
    "  --require-ems        refuse clients without extended master secret (RFC 7627)\n"
    "  --tls1.2             speak TLS 1.2 only (default: TLS 1.3 and 1.2, 1.3 preferred)\n"
    "  --tls1.3             speak TLS 1.3 only\n"
    "  --no-tickets         no sealed session tickets (RFC 5077): TLS 1.2 resumes by\n"
    "                       session id, TLS 1.3 by stateful tickets (ids of cached\n"
    "                       sessions, each resumed once)\n"
    "  --no-cache           no session cache: do not resume by session id\n"
    "  --cache-size N       keep at most N sessions in the cache (default 4096; oldest evicted)\n"
    "                       (by default both are on; a resumed connection is logged\n"
    "                       as 'resumed session')\n"
    "  --ticket-key-file F  ticket keys from F, shared by every server of a fleet: one key a\n"
    "                       line, 96 hex digits (openssl rand -hex 48) [not-before time];\n"
    "                       the first seals, all open; re-read when it changes\n"
    "  --session-store URL  also keep sessions in Redis (redis://host:port[/db]), so that\n"
    "                       servers resume each other's sessions by id (TLS 1.3: by\n"
    "                       stateful tickets, each resumed once); 100 ms timeouts\n"
    CRL_OPTIONS_HELP("client certificates")
    "  --ocsp-staple FILE   staple the OCSP response in FILE (DER, as openssl ocsp\n"
    "                       -respout writes it) for clients that ask (status_request):\n"
    "                       it must be about --cert's leaf, whose issuer must follow it\n"
    "                       in the chain; re-read when the file changes; an out-of-date\n"
    "                       response is not sent\n"
    EXPORT_OPTIONS_HELP
    "  --post-auth PATH     with --http: a request for a path under PATH needs a client\n"
    "                       certificate; when the connection has none, the server asks\n"
    "                       for it after the handshake (TLS 1.3 post-handshake\n"
    "                       authentication) and answers once it is checked (as\n"
    "                       --verify-client says), or with 403 when it cannot ask\n"
    "  --commands           read one-letter commands from standard input, one a line,\n"
    "                       each applied to every open connection (as openssl s_server):\n"
    "                       'c' asks for the client's certificate now (TLS 1.3\n"
    "                       post-handshake authentication, to clients that offered it),\n"
    "                       verified as --verify-client says, then logged ('#N client\n"
    "                       certificate after the handshake: ...'); 'k' sends a\n"
    "                       KeyUpdate (TLS 1.3): our keys move on; 'K' the same, asking\n"
    "                       the client to update its keys too\n"
    "  -q, --quiet          no per-connection lines; errors only\n"
    "  -h, --help           this help\n"
    "\n"
    "SIGHUP reloads --cert, --key, --ca, --crl, --crl-dir, --ocsp-staple and --ticket-key-file\n"
    "for new connections (open ones go on), keeping the sessions, and logs what changed; a\n"
    "reload that fails keeps the running configuration.\n"
    "\n"
    "examples:\n"
    "  mtls server --listen 127.0.0.1:4433 --cert server.pem --key server.key\n"
    "  mtls server --listen 0.0.0.0:8443 --cert s.pem --key s.key --ca ca.pem \\\n"
    "              --verify-client require --http\n";

enum {
    OPT_LISTEN = 256,
    OPT_P12,
    OPT_KEY_PASS_FILE,
    OPT_KEY_PASS_ENV,
    OPT_PKCS11_MODULE,
    OPT_CERT,
    OPT_KEY,
    OPT_CA,
    OPT_VERIFY,
    OPT_CIPHERS,
    OPT_GROUPS,
    OPT_ALPN,
    OPT_ECHO,
    OPT_HTTP,
    OPT_ONCE,
    OPT_MAX,
    OPT_TIMEOUT,
    OPT_TRACE,
    OPT_KEYLOG,
    OPT_REQUIRE_EMS,
    OPT_TLS12,
    OPT_TLS13,
    OPT_NO_TICKETS,
    OPT_NO_CACHE,
    OPT_CACHE_SIZE,
    OPT_NO_CA_NAMES,
    OPT_TICKET_KEY_FILE,
    OPT_SESSION_STORE,
    OPT_SPIFFE_ID,
    OPT_SPIFFE_TD,
    OPT_OCSP_STAPLE,
    OPT_COMMANDS,
    OPT_POST_AUTH
};

static const struct option long_opts[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"p12", required_argument, NULL, OPT_P12},
    {"key-pass-file", required_argument, NULL, OPT_KEY_PASS_FILE},
    {"key-pass-env", required_argument, NULL, OPT_KEY_PASS_ENV},
    {"pkcs11-module", required_argument, NULL, OPT_PKCS11_MODULE},
    {"ca", required_argument, NULL, OPT_CA},
    {"verify-client", required_argument, NULL, OPT_VERIFY},
    {"ciphers", required_argument, NULL, OPT_CIPHERS},
    {"groups", required_argument, NULL, OPT_GROUPS},
    {"alpn", required_argument, NULL, OPT_ALPN},
    {"echo", no_argument, NULL, OPT_ECHO},
    {"http", no_argument, NULL, OPT_HTTP},
    {"once", no_argument, NULL, OPT_ONCE},
    {"max-conns", required_argument, NULL, OPT_MAX},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"trace", no_argument, NULL, OPT_TRACE},
    {"keylog", required_argument, NULL, OPT_KEYLOG},
    {"quiet", no_argument, NULL, 'q'},
    {"require-ems", no_argument, NULL, OPT_REQUIRE_EMS},
    {"tls1.2", no_argument, NULL, OPT_TLS12},
    {"tls1.3", no_argument, NULL, OPT_TLS13},
    {"no-tickets", no_argument, NULL, OPT_NO_TICKETS},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"cache-size", required_argument, NULL, OPT_CACHE_SIZE},
    {"no-ca-names", no_argument, NULL, OPT_NO_CA_NAMES},
    {"ticket-key-file", required_argument, NULL, OPT_TICKET_KEY_FILE},
    {"session-store", required_argument, NULL, OPT_SESSION_STORE},
    {"spiffe-id", required_argument, NULL, OPT_SPIFFE_ID},
    {"spiffe-trust-domain", required_argument, NULL, OPT_SPIFFE_TD},
    {"crl", required_argument, NULL, OPT_CRL},
    {"crl-dir", required_argument, NULL, OPT_CRL_DIR},
    {"crl-check", required_argument, NULL, OPT_CRL_CHECK},
    {"crl-soft-fail", no_argument, NULL, OPT_CRL_SOFT_FAIL},
    {"ocsp-staple", required_argument, NULL, OPT_OCSP_STAPLE},
    {"export", required_argument, NULL, OPT_EXPORT},
    {"commands", no_argument, NULL, OPT_COMMANDS},
    {"post-auth", required_argument, NULL, OPT_POST_AUTH},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

enum state { ST_HANDSHAKE, ST_OPEN, ST_CLOSING, ST_DONE };

#define BACKLOG_CAP 16384
#define REQ_CAP 8192

struct sconn {
    struct peer_tag tag; /* userdata of the connection: first member */
    int id;
    int fd;
    mtls_conn *conn;
    enum state state;
    short want;       /* poll events the connection waits for */
    int64_t deadline; /* handshake or idle deadline */
    int clean;        /* ended with close_notify */
    char peer[64];
    /* plaintext waiting for mtls_write (echo data or an HTTP response) */
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    /* HTTP request bytes read so far; bytes of a request body still to discard */
    char req[REQ_CAP];
    size_t req_len;
    size_t discard;
    int close_after; /* HTTP: close once the response is out */
    /* HTTP --post-auth: a request waiting for the client's answer to our CertificateRequest */
    int parked, parked_head, parked_html;
    char parked_line[256];
    uint64_t bytes_in, bytes_out;
};

/* What the running config was built from, to say what a reload changed. */
struct loaded {
    char subject[256];
    int64_t not_after;
    char serial[48];    /* hex: a renewal may keep the name and the expiry, never the serial */
    uint64_t cert_hash; /* of the --cert file's bytes */
    uint64_t ca_hash;   /* of the --ca file's (or directory's files') bytes */
    int ca_certs;       /* CERTIFICATE blocks in them */
    char tickets[512];  /* mtls_config_describe_ticket_keys, with --ticket-key-file */
    char crls[1024];    /* mtls_config_describe_crls, with --crl / --crl-dir */
    char staple[1024];  /* mtls_config_describe_ocsp_staple, with --ocsp-staple */
};

struct server {
    const struct server_opts *o;
    struct tool_cfg *tc;
    int next_id;
    int served;
    int last_status;
    struct loaded cur;
    int reloads;
};

/* ---- per-connection work -------------------------------------------------------------------- */

static void conn_fail(struct server *sv, struct sconn *c, mtls_err err, const char *stage)
{
    char line[2600];
    int saved = errno;
    explain_failure(line, sizeof(line), c->conn, err, saved, stage, c->peer, &sv->o->c, 1);
    say("#%d %s", c->id, line);
    c->state = ST_DONE;
}

/* Append plaintext to the backlog (grows up to a bound; callers check room first). */
static int out_append(struct sconn *c, const void *p, size_t n)
{
    if (c->out_off > 0 && c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n) {
            cap *= 2;
        }
        uint8_t *q = realloc(c->out, cap);
        if (q == NULL) {
            return -1;
        }
        c->out = q;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

static void http_respond(struct server *sv, struct sconn *c, const char *reqline, int head,
                         int html)
{
    char body[4096], hdr[512], sum[512];
    const char *subject = mtls_conn_peer_subject(c->conn);
    const char *issuer = mtls_conn_peer_issuer(c->conn);
    const char *sni = mtls_conn_server_name(c->conn);
    const char *alpn = mtls_conn_alpn(c->conn);
    const char *suite = mtls_suite_name(mtls_conn_cipher_suite(c->conn));
    const char *group = mtls_group_name(mtls_conn_group(c->conn));
    const char *sig = mtls_sigalg_name(mtls_conn_server_sigalg(c->conn));
    const char *csig = mtls_sigalg_name(mtls_conn_client_sigalg(c->conn));
    char client[1024], kx[128];
    int resumed = mtls_conn_resumed(c->conn);
    (void)sv;
    (void)sum;

    if (mtls_conn_peer_cert_presented(c->conn) && subject != NULL) {
        snprintf(client, sizeof(client), "%s (issuer %s, verified%s%s%s)", subject,
                 issuer != NULL ? issuer : "?", csig != NULL ? ", signed with " : "",
                 csig != NULL ? csig : "", resumed ? ", in the resumed session's handshake" : "");
    } else {
        snprintf(client, sizeof(client), "none presented");
    }
    /* TLS 1.2 resumes without a key exchange; TLS 1.3 with a fresh one (psk_dhe_ke) unless
     * psk_ke was allowed */
    if (group != NULL)
        snprintf(kx, sizeof(kx), "%s%s", group, resumed ? " (resumed session, psk_dhe_ke)" : "");
    else
        snprintf(kx, sizeof(kx), "%s",
                 resumed ? "none (resumed session)" : "static RSA (no forward secrecy)");
    int n = snprintf(
        body, sizeof(body),
        "%s"
        "mtls server: hello over TLS!\n\n"
        "request            %s\n"
        "connection         #%d from %s\n"
        "TLS version        %s\n"
        "cipher suite       %s\n"
        "key exchange       %s\n"
        "server signature   %s\n"
        "session            %s\n"
        "extended master    %s\n"
        "ALPN               %s\n"
        "server name (SNI)  %s\n"
        "client certificate %s\n"
        "%s",
        html ? "<!doctype html>\n<html><head><title>mtls</title></head><body><pre>\n" : "", reqline,
        c->id, c->peer, version_name(mtls_conn_version(c->conn)), suite != NULL ? suite : "?",
        kx,
        resumed       ? "none (resumed session)"
        : sig != NULL ? sig
                      : "none",
        resumed ? "resumed (abbreviated handshake)" : "new (full handshake)",
        mtls_conn_ems(c->conn) ? "yes" : "no", alpn != NULL ? alpn : "none",
        sni != NULL ? sni : "none", client, html ? "</pre></body></html>\n" : "");
    if (n < 0 || (size_t)n >= sizeof(body)) {
        n = (int)strlen(body);
    }
    int h = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: %s; charset=utf-8\r\n"
                     "Content-Length: %d\r\n"
                     "Connection: %s\r\n"
                     "Server: mtls/" MTLS_VERSION_STRING "\r\n"
                     "\r\n",
                     html ? "text/html" : "text/plain", n, c->close_after ? "close" : "keep-alive");
    if (out_append(c, hdr, (size_t)h) != 0 || (!head && out_append(c, body, (size_t)n) != 0)) {
        c->close_after = 1;
    }
}

static int has_token(const char *headers, const char *name, const char *token)
{
    size_t nl = strlen(name);
    for (const char *p = headers; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *end = strchr(p, '\n');
            size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
            char line[256];
            snprintf(line, sizeof(line), "%.*s", (int)(len < 255 ? len : 255), p);
            for (char *q = line; *q; q++) {
                if (*q >= 'A' && *q <= 'Z') {
                    *q = (char)(*q - 'A' + 'a');
                }
            }
            if (strstr(line, token) != NULL) {
                return 1;
            }
        }
    }
    return 0;
}

/* Whether the request line's path begins with `prefix` ("GET /secret HTTP/1.0", "/secret"). */
static int path_under(const char *reqline, const char *prefix)
{
    const char *path = strchr(reqline, ' ');
    return path != NULL && strncmp(path + 1, prefix, strlen(prefix)) == 0;
}

/* A 403 that says why, and the connection closed after it. */
static void http_forbidden(struct sconn *c, const char *why, int head)
{
    char resp[768];
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 403 Forbidden\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %d\r\n"
                     "Connection: close\r\n\r\n%s",
                     (int)strlen(why), head ? "" : why);
    c->close_after = 1;
    if (n > 0 && (size_t)n < sizeof(resp)) {
        (void)out_append(c, resp, (size_t)n);
    }
}

/* --post-auth PATH: the request needs the client's certificate.  Returns 1 when it was asked for
 * after the handshake (the response waits: c->parked), 0 to answer now (a certificate is there
 * already), and -1 when it cannot be asked for (a 403 is queued). */
static int http_post_auth(struct server *sv, struct sconn *c, const char *reqline, int head,
                          int html)
{
    const char *why;
    if (mtls_conn_peer_cert_presented(c->conn)) {
        return 0;
    }
    if (mtls_conn_version(c->conn) != MTLS_VERSION_TLS13) {
        why = "this resource needs a client certificate, asked for after the handshake: TLS 1.3 "
              "post-handshake authentication, and this connection is TLS 1.2\n";
    } else if (!mtls_conn_post_auth_offered(c->conn)) {
        why = "this resource needs a client certificate, asked for after the handshake, and "
              "this client does not offer post-handshake authentication (curl and openssl "
              "s_client -enable_pha do with a certificate)\n";
    } else if (mtls_conn_request_client_cert(c->conn) == MTLS_OK) {
        snprintf(c->parked_line, sizeof(c->parked_line), "%s", reqline);
        c->parked_head = head;
        c->parked_html = html;
        c->parked = 1;
        if (!sv->o->c.quiet) {
            say("#%d %s needs a client certificate: asked for it after the handshake", c->id,
                reqline);
        }
        return 1;
    } else {
        why = "this resource needs a client certificate and it cannot be asked for now\n";
    }
    http_forbidden(c, why, head);
    return -1;
}

/* Feed HTTP bytes (none: go on with what is buffered); queue a response for each complete
 * request, in order.  A request that waits for the client's certificate (--post-auth) holds the
 * ones after it in the buffer until it is answered. */
static void http_input(struct server *sv, struct sconn *c, const uint8_t *p, size_t n)
{
    for (;;) {
        if (c->discard > 0 && n > 0) {
            size_t k = n < c->discard ? n : c->discard;
            c->discard -= k;
            p += k;
            n -= k;
            continue;
        }
        size_t k = REQ_CAP - 1 - c->req_len;
        k = n < k ? n : k;
        if (k > 0) {
            memcpy(c->req + c->req_len, p, k);
            c->req_len += k;
            c->req[c->req_len] = '\0';
            p += k;
            n -= k;
        }
        if (c->close_after) {
            return;
        }
        if (c->parked) {
            if (n > 0) { /* more pipelined than the buffer holds while waiting: give up */
                static const char too_big[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                              "Content-Length: 0\r\nConnection: close\r\n\r\n";
                c->parked = 0;
                c->close_after = 1;
                (void)out_append(c, too_big, sizeof(too_big) - 1);
            }
            return;
        }
        char *end = strstr(c->req, "\r\n\r\n");
        size_t endlen = 4;
        if (end == NULL) {
            end = strstr(c->req, "\n\n");
            endlen = 2;
        }
        if (end == NULL) {
            if (c->req_len == REQ_CAP - 1) {
                static const char too_big[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                              "Content-Length: 0\r\nConnection: close\r\n\r\n";
                c->close_after = 1;
                (void)out_append(c, too_big, sizeof(too_big) - 1);
                return;
            }
            if (n == 0) {
                return;
            }
            continue;
        }
        /* A complete request head: answer it, keep what follows for the next one. */
        *end = '\0';
        size_t used = (size_t)(end - c->req) + endlen;
        char reqline[256];
        size_t ll = strcspn(c->req, "\r\n");
        snprintf(reqline, sizeof(reqline), "%.*s", (int)(ll < 255 ? ll : 255), c->req);
        const char *headers = c->req + ll;
        int http10 = strstr(reqline, "HTTP/1.0") != NULL;
        c->close_after = has_token(headers, "connection", "close") ||
                         (http10 && !has_token(headers, "connection", "keep-alive"));
        int html = has_token(headers, "accept", "text/html");
        int head = strncmp(reqline, "HEAD ", 5) == 0;
        const char *cl = NULL;
        for (const char *q = headers; (q = strchr(q, '\n')) != NULL;) {
            q++;
            if (strncasecmp(q, "content-length:", 15) == 0) {
                cl = q + 15;
            }
        }
        if (cl != NULL) {
            c->discard = (size_t)strtoul(cl, NULL, 10);
        }
        if (sv->o->post_auth_path == NULL || !path_under(reqline, sv->o->post_auth_path) ||
            http_post_auth(sv, c, reqline, head, html) == 0) {
            http_respond(sv, c, reqline, head, html);
        }
        memmove(c->req, c->req + used, c->req_len - used);
        c->req_len -= used;
        c->req[c->req_len] = '\0';
        /* Bytes already buffered beyond the head may be body or the next request. */
        if (c->discard > 0 && c->req_len > 0) {
            size_t d = c->req_len < c->discard ? c->req_len : c->discard;
            memmove(c->req, c->req + d, c->req_len - d);
            c->req_len -= d;
            c->discard -= d;
        }
    }
}

/* --post-auth: the client's answer was checked; the request that waited for it is answered
 * (with the identity it brought, or none), then the requests buffered after it.  1 when it did. */
static int http_unpark(struct server *sv, struct sconn *c)
{
    if (!c->parked || mtls_conn_post_auth_pending(c->conn) != 0 ||
        mtls_conn_error(c->conn) != MTLS_OK) {
        return 0;
    }
    c->parked = 0;
    if (mtls_conn_peer_cert_presented(c->conn)) {
        http_respond(sv, c, c->parked_line, c->parked_head, c->parked_html);
        http_input(sv, c, NULL, 0);
    } else {
        http_forbidden(c,
                       "this resource needs a client certificate, and the client answered that "
                       "it has none\n",
                       c->parked_head);
    }
    return 1;
}

/* One line per established connection, and one more with the client's identity (subject,
 * SPIFFE ID, serial, issuer) and when its certificate expires, when it sent one. */
static void report_established(struct server *sv, struct sconn *c)
{
    char sum[512], cert[1024];
    const char *subject = mtls_conn_peer_subject(c->conn);

    if (sv->o->c.quiet) {
        return;
    }
    conn_summary(sum, sizeof(sum), c->conn);
    say("#%d %s: %s; client certificate: %s", c->id, c->peer, sum,
        !mtls_conn_peer_cert_presented(c->conn) || subject == NULL ? "none"
        : subject[0] != '\0'                                       ? subject
                                                                   : "(empty subject)");
    describe_peer_cert(cert, sizeof(cert), c->conn);
    if (cert[0] != '\0') {
        say("#%d client identity: %s", c->id, cert);
    }
}

/* --export: the keying material of a connection just established (even with --quiet: asked
 * for by name). */
static void report_established_exports(struct server *sv, struct sconn *c)
{
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "#%d ", c->id);
    report_exports(c->conn, &sv->o->c, prefix);
}

/* A client's answer to our post-handshake CertificateRequest was checked (TLS 1.3). */
static void on_post_auth(void *arg, const mtls_conn *conn, mtls_post_auth_event ev)
{
    const struct server_opts *o = arg;
    const struct sconn *c = mtls_conn_userdata(conn); /* the tag is its first member */
    char cert[1024];
    if (o->c.quiet || c == NULL) {
        return;
    }
    if (ev != MTLS_POST_AUTH_VERIFIED) {
        say("#%d client certificate after the handshake: none (the client has none to send)",
            c->id);
        return;
    }
    const char *csig = mtls_sigalg_name(mtls_conn_client_sigalg(conn));
    describe_peer_cert(cert, sizeof(cert), conn);
    say("#%d client certificate after the handshake: %s (verified, CertificateVerify %s)", c->id,
        cert, csig != NULL ? csig : "?");
}

/* --commands: one command for one open connection; what it did goes to the log. */
static void run_command(struct sconn *c, char cmd)
{
    mtls_err err;
    int tls13 = mtls_conn_version(c->conn) == MTLS_VERSION_TLS13;
    if (cmd == 'c') {
        if (!tls13 || !mtls_conn_post_auth_offered(c->conn)) {
            say("#%d cannot ask for the client's certificate after the handshake: %s", c->id,
                !tls13 ? "TLS 1.2 has no post-handshake authentication"
                       : "the client did not offer it (post_handshake_auth: mtls client "
                         "offers it with --cert or --post-handshake-auth, openssl s_client with "
                         "-enable_pha)");
            return;
        }
        err = mtls_conn_request_client_cert(c->conn);
        if (err == MTLS_OK) {
            say("#%d asked for the client's certificate (post-handshake CertificateRequest, "
                "%u unanswered)",
                c->id, mtls_conn_post_auth_pending(c->conn));
        } else if (err == MTLS_ERR_BAD_STATE) {
            say("#%d cannot ask for the client's certificate now: %u requests are unanswered",
                c->id, mtls_conn_post_auth_pending(c->conn));
        }
    } else {
        if (!tls13) {
            say("#%d cannot send a KeyUpdate: TLS 1.2 has none", c->id);
            return;
        }
        err = mtls_conn_key_update(c->conn, cmd == 'K');
        if (err == MTLS_OK) {
            say("#%d KeyUpdate sent (%s): our records use the next traffic secret", c->id,
                cmd == 'K' ? "update_requested: the client updates too" : "update_not_requested");
        }
    }
}

static void report_done(struct server *sv, struct sconn *c)
{
    if (sv->o->report_fd >= 0) {
        char line[1024];
        const char *subject = mtls_conn_peer_subject(c->conn);
        const char *csig = mtls_sigalg_name(mtls_conn_client_sigalg(c->conn));
        int n = snprintf(line, sizeof(line), "%s\t%s\t%llu\t%d\t%d\n",
                         mtls_conn_peer_cert_presented(c->conn) && subject ? subject : "",
                         csig != NULL ? csig : "", (unsigned long long)c->bytes_in, c->clean,
                         mtls_conn_resumed(c->conn));
        if (n > 0 && (size_t)n < sizeof(line)) {
            (void)write_all(sv->o->report_fd, line, (size_t)n);
        }
    }
    if (!sv->o->c.quiet && c->clean) {
        say("#%d closed cleanly (%llu bytes in, %llu out)", c->id, (unsigned long long)c->bytes_in,
            (unsigned long long)c->bytes_out);
    }
}

/* Do all that can be done without blocking; set c->want, or c->state = ST_DONE. */
static void service(struct server *sv, struct sconn *c)
{
    static uint8_t buf[16384];
    int64_t idle = (int64_t)sv->o->c.timeout_s * 1000;

    if (c->state == ST_HANDSHAKE) {
        mtls_err err = mtls_fd_handshake(c->conn, c->fd);
        if (mtls_err_is_blocked(err)) {
            c->want = err == MTLS_ERR_WANT_WRITE ? POLLOUT : POLLIN;
            return;
        }
        if (err != MTLS_OK) {
            conn_fail(sv, c, err, "handshake");
            return;
        }
        c->state = ST_OPEN;
        c->deadline = now_ms() + idle;
        report_established(sv, c);
        report_established_exports(sv, c);
    }
    while (c->state == ST_OPEN) {
        /* Send back what we owe first; read more only when it is all accepted. */
        if (c->out_off < c->out_len) {
            size_t n = 0;
            mtls_err err =
                mtls_fd_write(c->conn, c->fd, c->out + c->out_off, c->out_len - c->out_off, &n);
            c->out_off += n;
            c->bytes_out += n;
            if (err != MTLS_OK && err != MTLS_ERR_WANT_WRITE) {
                conn_fail(sv, c, err, "session");
                return;
            }
            if (c->out_off < c->out_len) {
                c->want = POLLOUT;
                return;
            }
        }
        if (c->close_after && !c->parked) { /* a parked response is still to come */
            c->state = ST_CLOSING;
            break;
        }
        size_t pending = 0;
        (void)mtls_send_buf(c->conn, &pending);
        if (pending > 0) {
            mtls_err err = mtls_fd_flush(c->conn, c->fd);
            if (err == MTLS_ERR_WANT_WRITE) {
                c->want = POLLOUT;
                return;
            }
            if (err != MTLS_OK) {
                conn_fail(sv, c, err, "session");
                return;
            }
        }
        size_t n = 0;
        mtls_err err = mtls_fd_read(c->conn, c->fd, buf, sizeof(buf), &n);
        if (err == MTLS_OK) {
            c->bytes_in += n;
            c->deadline = now_ms() + idle;
            if (sv->o->http) {
                http_input(sv, c, buf, n);
                (void)http_unpark(sv, c);
            } else if (out_append(c, buf, n) != 0) {
                say("#%d out of memory", c->id);
                c->state = ST_DONE;
                return;
            }
            continue;
        }
        /* --post-auth: the read took the client's answer (and no data): the response that waited
         * for it goes out */
        if (mtls_err_is_blocked(err) && http_unpark(sv, c)) {
            continue;
        }
        if (mtls_err_is_blocked(err)) {
            c->want = err == MTLS_ERR_WANT_WRITE ? POLLOUT : POLLIN;
            /* What the read queued (a no_renegotiation warning) and a full socket did not take
             * waits for the socket, not for the client's next bytes. */
            (void)mtls_send_buf(c->conn, &pending);
            if (pending > 0) {
                c->want |= POLLOUT;
            }
            return;
        }
        if (err == MTLS_ERR_CLOSED) {
            c->state = ST_CLOSING; /* answer the client's close_notify with ours */
            c->clean = 1;
            break;
        }
        conn_fail(sv, c, err, "session");
        return;
    }
    if (c->state == ST_CLOSING) {
        mtls_err err = mtls_fd_close(c->conn, c->fd);
        if (err == MTLS_ERR_WANT_WRITE) {
            c->want = POLLOUT;
            return;
        }
        if (c->close_after && err == MTLS_OK) {
            c->clean = 1; /* HTTP "Connection: close": our close_notify ends it */
        }
        if (err != MTLS_OK && err != MTLS_ERR_IO) {
            conn_fail(sv, c, err, "closing");
            return;
        }
        c->state = ST_DONE;
    }
}

static void conn_free(struct sconn *c)
{
    mtls_conn_free(c->conn);
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c->out);
    free(c);
}

static struct sconn *conn_accept(struct server *sv, int lfd)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
            say("accept: %s", strerror(errno));
        }
        return NULL;
    }
    set_nonblocking(fd);
    struct sconn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->id = ++sv->next_id;
    c->state = ST_HANDSHAKE;
    c->want = POLLIN;
    c->deadline = now_ms() + (int64_t)sv->o->c.timeout_s * 1000;
    sock_name(fd, 1, c->peer, sizeof(c->peer));
    if (sv->o->label != NULL) {
        snprintf(c->tag.label, sizeof(c->tag.label), "%s", sv->o->label);
    } else {
        snprintf(c->tag.label, sizeof(c->tag.label), "#%d", c->id);
    }
    c->conn = mtls_server_new(sv->tc->cfg);
    if (c->conn == NULL) {
        say("#%d cannot create a connection (out of memory)", c->id);
        conn_free(c);
        return NULL;
    }
    mtls_conn_set_userdata(c->conn, &c->tag);
    return c;
}

void server_apply_resumption(mtls_config *cfg, const struct server_opts *o)
{
    if (o->no_tickets) {
        (void)mtls_config_set_tickets(cfg, 0);
    }
    if (o->no_cache) {
        (void)mtls_config_set_session_cache(cfg, 0, 0);
    } else if (o->cache_size > 0) {
        (void)mtls_config_set_session_cache(cfg, (size_t)o->cache_size, 0);
    }
}

#ifdef MTLS_TOOL_REDIS
static redis_store *session_store; /* --session-store: one per process, shared by reloads */

static void store_log(void *arg, const char *line)
{
    (void)arg;
    say("%s", line);
}
#endif

static void store_close(void)
{
#ifdef MTLS_TOOL_REDIS
    redis_store_free(session_store);
    session_store = NULL;
#endif
}

/* The server-only settings of a config.  `running`: the config in use when this is a reload
 * (its sessions and ticket keys are shared, the key file re-read), NULL at startup.  Says why
 * and returns nonzero on failure. */
static int server_setup(mtls_config *cfg, const struct server_opts *o, const mtls_config *running)
{
    (void)mtls_config_set_verify_client(cfg, o->verify);
    (void)mtls_config_set_post_auth_callback(cfg, on_post_auth, (void *)o);
    if (o->no_ca_names) {
        (void)mtls_config_set_send_ca_names(cfg, 0);
    }
    server_apply_resumption(cfg, o);
#ifdef MTLS_TOOL_REDIS
    if (session_store != NULL && redis_store_attach(session_store, cfg) != MTLS_OK) {
        say("cannot set the session store: %s", mtls_config_error_detail(cfg));
        return -1;
    }
#endif
    /* The staple is the config's own (not shared): read afresh at startup and on a reload,
     * after the certificate it must be about. */
    if (o->ocsp_staple != NULL &&
        mtls_config_set_ocsp_staple_file(cfg, o->ocsp_staple) != MTLS_OK) {
        say("--ocsp-staple: %s", mtls_config_error_detail(cfg));
        return -1;
    }
    if (running == NULL) {
        if (o->ticket_key_file != NULL &&
            mtls_config_set_ticket_key_file(cfg, o->ticket_key_file) != MTLS_OK) {
            say("--ticket-key-file: %s", mtls_config_error_detail(cfg));
            return -1;
        }
        return 0;
    }
    /* Last, so that nothing above replaces what is shared. */
    if (mtls_config_share_sessions(cfg, running) != MTLS_OK) {
        say("cannot share the sessions with the running configuration: %s",
            mtls_config_error_detail(cfg));
        return -1;
    }
    char why[512];
    if (o->ticket_key_file != NULL &&
        mtls_config_reload_ticket_keys(cfg, why, sizeof(why)) != MTLS_OK) {
        say("--ticket-key-file: %s", why);
        return -1;
    }
    return 0;
}

/* FNV-1a over a file's bytes (a directory: its regular files' names and bytes, in name order),
 * and the number of PEM certificates in them.  Only to tell "changed" from "unchanged". */
static void hash_file(const char *path, uint64_t *h, int *certs)
{
    static const char mark[] = "-----BEGIN CERTIFICATE-----";
    FILE *f = fopen(path, "rb");
    size_t matched = 0;
    int c;
    if (f == NULL) {
        return;
    }
    while ((c = fgetc(f)) != EOF) {
        *h = (*h ^ (uint8_t)c) * 1099511628211ull;
        matched = c == mark[matched] ? matched + 1 : c == mark[0] ? 1 : 0;
        if (matched == sizeof(mark) - 1) {
            (*certs)++;
            matched = 0;
        }
    }
    fclose(f);
}

static void hash_path(const char *path, uint64_t *h, int *certs)
{
    struct dirent **names = NULL;
    *h = 14695981039346656037ull;
    *certs = 0;
    DIR *d = opendir(path);
    if (d == NULL) {
        hash_file(path, h, certs);
        return;
    }
    closedir(d);
    int n = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char p[4096];
        if (names[i]->d_name[0] != '.') {
            for (const char *q = names[i]->d_name; *q; q++) {
                *h = (*h ^ (uint8_t)*q) * 1099511628211ull;
            }
            snprintf(p, sizeof(p), "%s/%s", path, names[i]->d_name);
            hash_file(p, h, certs);
        }
        free(names[i]);
    }
    free(names);
}

static void describe_loaded(const mtls_config *cfg, const struct server_opts *o, struct loaded *l)
{
    int ignored = 0;
    memset(l, 0, sizeof(*l));
    const char *subject = mtls_config_cert_subject(cfg);
    snprintf(l->subject, sizeof(l->subject), "%s", subject != NULL ? subject : "?");
    l->not_after = mtls_config_cert_not_after(cfg);
    const char *serial = mtls_config_cert_serial(cfg);
    snprintf(l->serial, sizeof(l->serial), "%s", serial != NULL ? serial : "?");
    /* What the certificate came from: the chain file, or the PKCS#12 bundle (--p12). */
    const char *cert_src = o->c.cert != NULL ? o->c.cert : o->c.p12;
    if (cert_src != NULL) {
        hash_path(cert_src, &l->cert_hash, &ignored);
    }
    if (o->c.ca != NULL) {
        hash_path(o->c.ca, &l->ca_hash, &l->ca_certs);
    }
    /* Automatic keys are the running config's own, shared: a reload leaves them as they are
     * (their description changes as they rotate, which is no news). */
    if (o->ticket_key_file != NULL) {
        (void)mtls_config_describe_ticket_keys(cfg, l->tickets, sizeof(l->tickets));
    }
    if (o->c.n_crls > 0 || o->c.crl_dir != NULL) {
        (void)mtls_config_describe_crls(cfg, l->crls, sizeof(l->crls));
    }
    if (o->ocsp_staple != NULL) {
        (void)mtls_config_describe_ocsp_staple(cfg, l->staple, sizeof(l->staple));
    }
}

static void utc(char *out, size_t cap, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm) == 0) {
        snprintf(out, cap, "?");
    }
}

/* "reload: certificate ... -> ...; client CAs unchanged; ticket keys unchanged" */
static void describe_changes(const struct server_opts *o, const struct loaded *a,
                             const struct loaded *b, int n)
{
    char cert[1100], ca[200], keys[1100], ea[40], eb[40], crls[2100], staple[2100];
    utc(ea, sizeof(ea), a->not_after);
    utc(eb, sizeof(eb), b->not_after);
    int same_leaf = strcmp(a->subject, b->subject) == 0 && strcmp(a->serial, b->serial) == 0 &&
                    a->not_after == b->not_after;
    if (a->cert_hash == b->cert_hash && same_leaf) {
        snprintf(cert, sizeof(cert), "certificate unchanged (%s, expires %s, serial %s)",
                 b->subject, eb, b->serial);
    } else if (same_leaf) {
        snprintf(cert, sizeof(cert), "certificate chain file changed, same certificate (%s, "
                 "expires %s, serial %s)", b->subject, eb, b->serial);
    } else {
        snprintf(cert, sizeof(cert), "certificate %s (expires %s, serial %s) -> %s (expires %s, "
                 "serial %s)", a->subject, ea, a->serial, b->subject, eb, b->serial);
    }
    if (o->c.ca == NULL) {
        snprintf(ca, sizeof(ca), "no client CAs");
    } else if (a->ca_hash == b->ca_hash) {
        snprintf(ca, sizeof(ca), "client CAs unchanged");
    } else {
        snprintf(ca, sizeof(ca), "client CAs changed (%d -> %d certificates; sessions of "
                 "clients verified under the old ones get full handshakes)",
                 a->ca_certs, b->ca_certs);
    }
    if (strcmp(a->tickets, b->tickets) == 0) {
        snprintf(keys, sizeof(keys), "ticket keys unchanged");
    } else {
        snprintf(keys, sizeof(keys), "ticket keys %s -> %s", a->tickets, b->tickets);
    }
    /* CRLs and the staple, when the server has them: what they are now, or that they did not
     * change. */
    crls[0] = staple[0] = '\0';
    if (o->c.n_crls > 0 || o->c.crl_dir != NULL) {
        snprintf(crls, sizeof(crls), strcmp(a->crls, b->crls) == 0 ? "; CRLs unchanged (%s)"
                                                                   : "; CRLs changed: %s",
                 b->crls);
    }
    if (o->ocsp_staple != NULL) {
        snprintf(staple, sizeof(staple),
                 strcmp(a->staple, b->staple) == 0 ? "; OCSP staple unchanged (%s)"
                                                   : "; OCSP staple changed: %s",
                 b->staple);
    }
    say("reload %d: %s; %s; %s%s%s", n, cert, ca, keys, crls, staple);
}

/* SIGHUP: a new config for new connections, or the running one kept. */
static void reload(struct server *sv)
{
    mtls_config *fresh = NULL;
    if (tool_config_rebuild(sv->tc, &sv->o->c, "server", &fresh) != 0) {
        say("reload failed: still serving with the previous configuration");
        return;
    }
    if (server_setup(fresh, sv->o, sv->tc->cfg) != 0) {
        mtls_config_free(fresh);
        say("reload failed: still serving with the previous configuration");
        return;
    }
    struct loaded now;
    describe_loaded(fresh, sv->o, &now);
    describe_changes(sv->o, &sv->cur, &now, ++sv->reloads);
    /* Connections hold their own reference: the old config lives until the last one ends. */
    mtls_config_free(sv->tc->cfg);
    sv->tc->cfg = fresh;
    sv->cur = now;
}

static int hup_pipe[2] = {-1, -1};

static void on_hup(int sig)
{
    int saved = errno;
    char c = (char)sig;
    (void)!write(hup_pipe[1], &c, 1);
    errno = saved;
}

/* The self-pipe that turns SIGHUP into a readable fd for poll(); -1 when it cannot be made. */
static int hup_watch(void)
{
    if (hup_pipe[0] >= 0) {
        return hup_pipe[0];
    }
    if (pipe(hup_pipe) != 0) {
        say("cannot watch for SIGHUP (pipe: %s): no reloads", strerror(errno));
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        (void)fcntl(hup_pipe[i], F_SETFL, fcntl(hup_pipe[i], F_GETFL) | O_NONBLOCK);
        (void)fcntl(hup_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_hup;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGHUP, &sa, NULL);
    return hup_pipe[0];
}

/* --commands: the commands of the complete lines read from stdin, applied to every open
 * connection.  Returns -1 at the end of stdin (no more commands; the server goes on). */
static int read_commands(struct server *sv, struct sconn **conns, int nconns)
{
    static char line[256];
    static size_t len;
    ssize_t n = read(0, line + len, sizeof(line) - 1 - len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return 0;
    }
    if (n <= 0) {
        return -1;
    }
    len += (size_t)n;
    char *nl;
    while ((nl = memchr(line, '\n', len)) != NULL || len == sizeof(line) - 1) {
        size_t used = nl != NULL ? (size_t)(nl - line) + 1 : len;
        size_t i = 0;
        while (i < used && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
            i++;
        }
        char cmd = i < used && line[i] != '\n' ? line[i] : '\0';
        if (cmd == 'c' || cmd == 'k' || cmd == 'K') {
            int open = 0;
            for (int j = 0; j < nconns; j++) {
                if (conns[j]->state == ST_OPEN) {
                    open++;
                    run_command(conns[j], cmd);
                    service(sv, conns[j]); /* flush it, or fail */
                }
            }
            if (open == 0) {
                say("command '%c': no open connection", cmd);
            }
        } else if (cmd != '\0') {
            say("unknown command '%c': c (ask for the client's certificate), k (KeyUpdate), K "
                "(KeyUpdate, the client's too)",
                cmd);
        }
        memmove(line, line + used, len - used);
        len -= used;
    }
    return 0;
}

int server_run(int lfd, const struct server_opts *o, struct tool_cfg *tc)
{
    struct server sv = {.o = o, .tc = tc, .last_status = EXIT_OK};
    int hup_fd = o->reload_on_hup ? hup_watch() : -1;
    int cmd_fd = o->commands ? 0 : -1;
    int max = o->max_conns > 0 ? o->max_conns : 256;
    struct sconn **conns = calloc((size_t)max, sizeof(*conns));
    struct pollfd *pfd = calloc((size_t)max + 3, sizeof(*pfd));
    int nconns = 0;
    int accepting = 1;
    int accepted = 0;

    if (conns == NULL || pfd == NULL) {
        say("out of memory");
        free(conns);
        free(pfd);
        return EXIT_FAIL;
    }
    if (hup_fd >= 0) {
        describe_loaded(tc->cfg, o, &sv.cur);
    }
    for (;;) {
        /* Retire finished connections; stop when --once has served its one. */
        int64_t now = now_ms();
        for (int i = 0; i < nconns;) {
            struct sconn *c = conns[i];
            if (c->state != ST_DONE && now >= c->deadline) {
                errno = 0;
                conn_fail(&sv, c, MTLS_ERR_TIMEOUT,
                          c->state == ST_HANDSHAKE ? "handshake" : "session");
            }
            if (c->state == ST_DONE) {
                report_done(&sv, c);
                sv.served++;
                sv.last_status = c->clean ? EXIT_OK : EXIT_FAIL;
                conn_free(c);
                conns[i] = conns[--nconns];
                continue;
            }
            i++;
        }
        if (o->once > 0 && sv.served >= o->once && nconns == 0) {
            break;
        }
        /* Poll: the listener while there is room, each connection for what it waits for. */
        nfds_t n = 0;
        int64_t next = -1;
        int can_accept = accepting && nconns < max;
        if (can_accept) {
            pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        }
        for (int i = 0; i < nconns; i++) {
            pfd[n++] = (struct pollfd){.fd = conns[i]->fd, .events = conns[i]->want};
            if (next < 0 || conns[i]->deadline < next) {
                next = conns[i]->deadline;
            }
        }
        nfds_t hup_at = n;
        if (hup_fd >= 0) {
            pfd[n++] = (struct pollfd){.fd = hup_fd, .events = POLLIN};
        }
        nfds_t cmd_at = n;
        if (cmd_fd >= 0) {
            pfd[n++] = (struct pollfd){.fd = cmd_fd, .events = POLLIN};
        }
        int wait = next < 0 ? -1 : next - now <= 0 ? 0 : (int)(next - now);
        int r = poll(pfd, n, wait);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            say("poll: %s", strerror(errno));
            break;
        }
        nfds_t base = can_accept ? 1 : 0;
        for (nfds_t i = 0; i < (nfds_t)nconns; i++) {
            if (pfd[base + i].revents != 0) {
                service(&sv, conns[i]);
            }
        }
        if (hup_fd >= 0 && (pfd[hup_at].revents & POLLIN)) {
            char drain[64];
            while (read(hup_fd, drain, sizeof(drain)) > 0) {
                /* signals that came together make one reload */
            }
            reload(&sv);
        }
        if (cmd_fd >= 0 && pfd[cmd_at].revents != 0 &&
            read_commands(&sv, conns, nconns) != 0) {
            cmd_fd = -1; /* stdin ended: no more commands */
        }
        if (can_accept && (pfd[0].revents & POLLIN)) {
            struct sconn *c;
            while (nconns < max && (c = conn_accept(&sv, lfd)) != NULL) {
                conns[nconns++] = c;
                service(&sv, c);
                if (o->once > 0 && ++accepted >= o->once) {
                    accepting = 0; /* --once: this is the one */
                    break;
                }
            }
        }
    }
    for (int i = 0; i < nconns; i++) {
        conn_free(conns[i]);
    }
    free(conns);
    free(pfd);
    return sv.last_status;
}

int cmd_server(int argc, char **argv)
{
    struct server_opts o;
    const char *listen_at = "127.0.0.1:4433";
    char host[256], port[16];
    int opt;

    memset(&o, 0, sizeof(o));
    o.c.timeout_s = 30;
    o.max_conns = 256;
    o.report_fd = -1;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":qh", long_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_LISTEN:
            listen_at = optarg;
            break;
        case OPT_CERT:
            o.c.cert = optarg;
            break;
        case OPT_KEY:
            o.c.key = optarg;
            break;
        case OPT_P12:
            o.c.p12 = optarg;
            break;
        case OPT_KEY_PASS_FILE:
            o.c.key_pass_file = optarg;
            break;
        case OPT_KEY_PASS_ENV:
            o.c.key_pass_env = optarg;
            break;
        case OPT_PKCS11_MODULE:
            o.c.pkcs11_module = optarg;
            break;
        case OPT_CA:
            o.c.ca = optarg;
            break;
        case OPT_VERIFY:
            if (strcmp(optarg, "none") == 0) {
                o.verify = MTLS_VERIFY_NONE;
            } else if (strcmp(optarg, "optional") == 0) {
                o.verify = MTLS_VERIFY_OPTIONAL;
            } else if (strcmp(optarg, "require") == 0) {
                o.verify = MTLS_VERIFY_REQUIRE;
            } else {
                say("--verify-client wants none, optional or require, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_CIPHERS:
            o.c.ciphers = optarg;
            break;
        case OPT_GROUPS:
            o.c.groups = optarg;
            break;
        case OPT_ALPN:
            o.c.alpn = optarg;
            break;
        case OPT_ECHO:
            o.http = 0;
            break;
        case OPT_HTTP:
            o.http = 1;
            break;
        case OPT_ONCE:
            o.once = 1;
            break;
        case OPT_MAX:
            if (parse_uint(optarg, &o.max_conns) != 0 || o.max_conns == 0 || o.max_conns > 100000) {
                say("--max-conns wants a number from 1 to 100000, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_TIMEOUT:
            if (parse_uint(optarg, &o.c.timeout_s) != 0 || o.c.timeout_s == 0) {
                say("--timeout wants a number of seconds above 0, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_TRACE:
            o.c.trace = 1;
            break;
        case OPT_KEYLOG:
            o.c.keylog = optarg;
            break;
        case OPT_REQUIRE_EMS:
            o.c.require_ems = 1;
            break;
        case OPT_TLS12:
            o.c.version = MTLS_VERSION_TLS12;
            break;
        case OPT_TLS13:
            o.c.version = MTLS_VERSION_TLS13;
            break;
        case OPT_NO_TICKETS:
            o.no_tickets = 1;
            break;
        case OPT_NO_CACHE:
            o.no_cache = 1;
            break;
        case OPT_NO_CA_NAMES:
            o.no_ca_names = 1;
            break;
        case OPT_TICKET_KEY_FILE:
            o.ticket_key_file = optarg;
            break;
        case OPT_SESSION_STORE:
            o.session_store = optarg;
            break;
        case OPT_SPIFFE_ID:
        case OPT_SPIFFE_TD:
            if (add_spiffe_opt(&o.c, opt == OPT_SPIFFE_TD, optarg) != 0) {
                return EXIT_USAGE;
            }
            break;
        case OPT_CRL:
        case OPT_CRL_DIR:
        case OPT_CRL_CHECK:
        case OPT_CRL_SOFT_FAIL:
            if (crl_opt(&o.c, opt, optarg) != 0) {
                return EXIT_USAGE;
            }
            break;
        case OPT_OCSP_STAPLE:
            o.ocsp_staple = optarg;
            o.c.ocsp = 1;
            break;
        case OPT_EXPORT:
            if (export_opt(&o.c, optarg) != 0) {
                return EXIT_USAGE;
            }
            break;
        case OPT_COMMANDS:
            o.commands = 1;
            break;
        case OPT_POST_AUTH:
            if (optarg[0] != '/') {
                say("--post-auth wants a path that begins with '/' (/admin), not '%s'", optarg);
                return EXIT_USAGE;
            }
            o.post_auth_path = optarg;
            break;
        case OPT_CACHE_SIZE:
            if (parse_uint(optarg, &o.cache_size) || o.cache_size < 1 || o.cache_size > 1000000) {
                say("--cache-size wants a number from 1 to 1000000, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'q':
            o.c.quiet = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return EXIT_OK;
        case ':':
            say("%s needs a value; see 'mtls server --help'", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            say("unknown option '%s'; see 'mtls server --help'", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        say("unexpected argument '%s' (the address goes after --listen); see 'mtls server "
            "--help'",
            argv[optind]);
        return EXIT_USAGE;
    }
    if (split_hostport(listen_at, host, sizeof(host), port, sizeof(port)) != 0) {
        say("--listen '%s' is not HOST:PORT (for example 127.0.0.1:4433, [::]:443, :0)", listen_at);
        return EXIT_USAGE;
    }
    if (o.verify != MTLS_VERIFY_NONE && o.c.ca == NULL) {
        say("--verify-client %s needs --ca FILE: the CA certificates client certificates "
            "must chain to",
            o.verify == MTLS_VERIFY_REQUIRE ? "require" : "optional");
        return EXIT_USAGE;
    }
    if (crl_opts_check(&o.c) != 0) {
        return EXIT_USAGE;
    }
    if ((o.c.n_crls > 0 || o.c.crl_dir != NULL) && o.verify == MTLS_VERIFY_NONE) {
        say("--crl and --crl-dir check client certificates: add --verify-client require (or "
            "optional) and --ca FILE");
        return EXIT_USAGE;
    }
    if ((o.c.n_spiffe_ids > 0 || o.c.n_spiffe_tds > 0) && o.verify == MTLS_VERIFY_NONE) {
        say("--spiffe-id and --spiffe-trust-domain check client certificates: add "
            "--verify-client require (and --ca FILE, the CAs of the trust domains)");
        return EXIT_USAGE;
    }
    if (o.post_auth_path != NULL && !o.http) {
        say("--post-auth asks for a client certificate per HTTP request: add --http");
        return EXIT_USAGE;
    }
    if (o.http && o.c.alpn == NULL) {
        o.c.alpn = "http/1.1"; /* so that h2-capable clients settle on HTTP/1.1 */
    }

    if (o.session_store != NULL) {
#ifdef MTLS_TOOL_REDIS
        char why[300];
        session_store = redis_store_new(o.session_store, 100, why, sizeof(why));
        if (session_store == NULL) {
            say("--session-store: %s", why);
            return EXIT_USAGE;
        }
        redis_store_set_log(session_store, store_log, NULL);
#else
        say("--session-store: this mtls was built without hiredis (install libhiredis-dev and "
            "rebuild); use --ticket-key-file to share sessions between servers instead");
        return EXIT_USAGE;
#endif
    }
    o.reload_on_hup = 1;
    (void)hup_watch(); /* before "listening on": a SIGHUP from then on reloads, never kills */

    struct tool_cfg tc;
    if (tool_config_new(&tc, &o.c, "server") != 0) {
        store_close();
        return EXIT_USAGE;
    }
    if (server_setup(tc.cfg, &o, NULL) != 0) {
        tool_config_free(&tc);
        store_close();
        return EXIT_USAGE;
    }
    int lfd = tcp_listen(host[0] != '\0' ? host : NULL, port, SOMAXCONN);
    if (lfd < 0) {
        tool_config_free(&tc);
        store_close();
        return EXIT_USAGE;
    }
    if (o.ticket_key_file != NULL) {
        char keys[512];
        (void)mtls_config_describe_ticket_keys(tc.cfg, keys, sizeof(keys));
        say("ticket keys: %s", keys);
    }
    if (o.c.n_crls > 0 || o.c.crl_dir != NULL) {
        char crls[1024];
        (void)mtls_config_describe_crls(tc.cfg, crls, sizeof(crls));
        say("CRLs: %s", crls);
    }
    if (o.ocsp_staple != NULL) {
        char staple[1024];
        (void)mtls_config_describe_ocsp_staple(tc.cfg, staple, sizeof(staple));
        say("OCSP staple: %s", staple);
    }
#ifdef MTLS_TOOL_REDIS
    if (session_store != NULL && redis_store_check(session_store) == 0) {
        say("session store %s: connected; sessions are shared by id",
            redis_store_url(session_store));
    }
#endif
    char where[80];
    sock_name(lfd, 0, where, sizeof(where));
    say("listening on %s (%s%s%s)", where, o.http ? "http" : "echo",
        o.verify == MTLS_VERIFY_REQUIRE    ? ", client certificates required"
        : o.verify == MTLS_VERIFY_OPTIONAL ? ", client certificates optional"
                                           : "",
        o.no_tickets && o.no_cache && !o.session_store ? ", no resumption"
        : o.no_tickets ? ", no sealed tickets: TLS 1.2 resumes by session id, TLS 1.3 by "
                         "stateful tickets"
        : o.no_cache               ? ", resumption by ticket only"
                                   : "");
    int status = server_run(lfd, &o, &tc);
    close(lfd);
    tool_config_free(&tc);
    store_close();
    return status;
}
