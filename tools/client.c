/*
 * client.c -- `mtls client HOST:PORT`: a TLS 1.3 / 1.2 client that copies stdin to the connection and
 * the connection to stdout, like `openssl s_client -quiet` but with one-line, actionable errors.
 *
 * With --reconnect N it then connects N more times, each offering the session of the connection
 * before (like `openssl s_client -reconnect`), and reports which resumed; --sess-out / --sess-in
 * save a session to a file and offer it in a later run.
 *
 * It owns the client's options and its copy loop.  One poll() waits on stdin and the socket (a
 * non-blocking fd driven by the mtls_fd_* helpers).  Stdin is read only when the previous chunk
 * is fully accepted by the connection, which gives backpressure for free.  At EOF on stdin the
 * client sends close_notify and keeps reading until the server's close_notify or the transport's
 * end, bounded by --timeout.  Exit 0 means: the handshake verified the server (unless --insecure)
 * and the session ended cleanly; anything else prints one line on stderr and exits non-zero.
 */
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: mtls client HOST:PORT [options]\n"
    "\n"
    "Connect to a TLS 1.3 or 1.2 server, copy standard input to it and its answers to\n"
    "standard output.  At the end of input, send close_notify and wait for the server's.\n"
    "Diagnostics go to standard error; the exit status is 0 only for a verified, cleanly\n"
    "closed session.\n"
    "\n"
    "  --servername NAME    name to send (SNI) and to check the certificate against\n"
    "                       (default: HOST)\n"
    "  --ca FILE|DIR        trust these CA certificates (default: /etc/ssl/certs)\n"
    "  --cert FILE          client certificate chain (PEM), for servers that ask for one\n"
    "  --key FILE|URI       its private key (PEM, encrypted or not), or a PKCS#11 URI\n"
    "                       ('pkcs11:token=...;object=...'): the key stays on the token\n"
    KEY_OPTIONS_HELP
    "  --ciphers LIST       cipher suites in preference order, ':' separated, IANA or\n"
    "                       OpenSSL names (ECDHE-ECDSA-AES128-GCM-SHA256:AES128-GCM-SHA256)\n"
    "  --groups LIST        key-exchange groups (x25519:secp256r1:secp384r1)\n"
    "  --alpn LIST          application protocols to offer, comma separated (h2,http/1.1)\n"
    "  --insecure           do NOT verify the server's certificate (tests only)\n"
    "  --trace              print the handshake step by step on stderr\n"
    "  --keylog FILE        append TLS secrets for Wireshark (also: $SSLKEYLOGFILE)\n"
    "  --timeout SEC        bound on connect, handshake and closing (default 10)\n"
    "  --require-ems        refuse servers without extended master secret (RFC 7627)\n"
    "  --tls1.2             speak TLS 1.2 only (default: TLS 1.3 and 1.2, 1.3 preferred)\n"
    "  --tls1.3             speak TLS 1.3 only\n"
    "  --spiffe-id ID       accept the server only by this SPIFFE ID\n"
    "                       (spiffe://example.org/ns/prod/sa/db; repeatable): it must\n"
    "                       present an X.509-SVID with one of the IDs given, or one in a\n"
    "                       --spiffe-trust-domain; its host name is then not checked\n"
    "  --spiffe-trust-domain TD\n"
    "                       accept any SPIFFE ID of trust domain TD (example.org;\n"
    "                       repeatable)\n"
    "  --post-handshake-auth\n"
    "                       let the server ask for our certificate after the handshake\n"
    "                       (TLS 1.3 post_handshake_auth): the default with --cert;\n"
    "                       without one we answer that we have none.  Each request is\n"
    "                       printed ('the server asked for our certificate after the\n"
    "                       handshake: sent ...')\n"
    "  --no-post-handshake-auth\n"
    "                       do not offer it: a server that asks anyway is refused\n"
    EXPORT_OPTIONS_HELP
    "\n"
    "revocation:\n"
    CRL_OPTIONS_HELP("the server's certificate")
    "  --ocsp               ask the server for a stapled OCSP response (status_request)\n"
    "                       and check it: a revoked server is refused, so is a bad\n"
    "                       response; prints 'OCSP staple: good, produced ..., next\n"
    "                       update ...' (or 'none')\n"
    "  --ocsp-required      --ocsp, and refuse a server that staples no good response\n"
    "\n"
    "session resumption:\n"
    "  --reconnect N        after the session, connect N more times, each offering the\n"
    "                       session of the connection before; they only handshake and\n"
    "                       close (no data).  One line per connection ('connection 2:\n"
    "                       resumed (session ticket)' or '... full handshake'), then\n"
    "                       'resumed K of N reconnections'\n"
    "  --sess-out FILE      save the last connection's session to FILE (mode 0600: it\n"
    "                       holds the master secret)\n"
    "  --sess-in FILE       offer the session saved in FILE on the first connection\n"
    "  --no-tickets         TLS 1.2: offer no session tickets, resume by session id only\n"
    "                       (TLS 1.3 resumes by the tickets the server gives)\n"
    "  -q, --quiet          no 'connected' line; errors only\n"
    "  -h, --help           this help\n"
    "\n"
    "examples:\n"
    "  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | mtls client example.org:443\n"
    "  mtls client localhost:4433 --ca ca.pem --cert me.pem --key me.key --trace\n"
    "  mtls client localhost:4433 --ca ca.pem --reconnect 5 < /dev/null\n";

enum {
    OPT_SERVERNAME = 256,
    OPT_P12,
    OPT_KEY_PASS_FILE,
    OPT_KEY_PASS_ENV,
    OPT_PKCS11_MODULE,
    OPT_CA,
    OPT_CERT,
    OPT_KEY,
    OPT_CIPHERS,
    OPT_GROUPS,
    OPT_ALPN,
    OPT_INSECURE,
    OPT_TRACE,
    OPT_KEYLOG,
    OPT_TIMEOUT,
    OPT_REQUIRE_EMS,
    OPT_TLS12,
    OPT_TLS13,
    OPT_RECONNECT,
    OPT_SESS_OUT,
    OPT_SESS_IN,
    OPT_NO_TICKETS,
    OPT_SPIFFE_ID,
    OPT_SPIFFE_TD,
    OPT_OCSP,
    OPT_OCSP_REQUIRED,
    OPT_PHA,
    OPT_NO_PHA
};

static const struct option long_opts[] = {
    {"servername", required_argument, NULL, OPT_SERVERNAME},
    {"ca", required_argument, NULL, OPT_CA},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"p12", required_argument, NULL, OPT_P12},
    {"key-pass-file", required_argument, NULL, OPT_KEY_PASS_FILE},
    {"key-pass-env", required_argument, NULL, OPT_KEY_PASS_ENV},
    {"pkcs11-module", required_argument, NULL, OPT_PKCS11_MODULE},
    {"ciphers", required_argument, NULL, OPT_CIPHERS},
    {"groups", required_argument, NULL, OPT_GROUPS},
    {"alpn", required_argument, NULL, OPT_ALPN},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"trace", no_argument, NULL, OPT_TRACE},
    {"keylog", required_argument, NULL, OPT_KEYLOG},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"quiet", no_argument, NULL, 'q'},
    {"require-ems", no_argument, NULL, OPT_REQUIRE_EMS},
    {"tls1.2", no_argument, NULL, OPT_TLS12},
    {"tls1.3", no_argument, NULL, OPT_TLS13},
    {"reconnect", required_argument, NULL, OPT_RECONNECT},
    {"sess-out", required_argument, NULL, OPT_SESS_OUT},
    {"sess-in", required_argument, NULL, OPT_SESS_IN},
    {"no-tickets", no_argument, NULL, OPT_NO_TICKETS},
    {"spiffe-id", required_argument, NULL, OPT_SPIFFE_ID},
    {"spiffe-trust-domain", required_argument, NULL, OPT_SPIFFE_TD},
    {"crl", required_argument, NULL, OPT_CRL},
    {"crl-dir", required_argument, NULL, OPT_CRL_DIR},
    {"crl-check", required_argument, NULL, OPT_CRL_CHECK},
    {"crl-soft-fail", no_argument, NULL, OPT_CRL_SOFT_FAIL},
    {"ocsp", no_argument, NULL, OPT_OCSP},
    {"ocsp-required", no_argument, NULL, OPT_OCSP_REQUIRED},
    {"post-handshake-auth", no_argument, NULL, OPT_PHA},
    {"no-post-handshake-auth", no_argument, NULL, OPT_NO_PHA},
    {"export", required_argument, NULL, OPT_EXPORT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct client {
    struct peer_tag tag; /* userdata of the connection: first member */
    struct common_opts c;
    const char *servername;
    int insecure;
    int reconnect;                  /* --reconnect N */
    const char *sess_out, *sess_in; /* --sess-out / --sess-in FILE */
    int no_tickets;
    int ocsp; /* --ocsp 1, --ocsp-required 2 */
    int pha;  /* --post-handshake-auth 1, --no-post-handshake-auth 2, else the default */
    char host[256], port[16], peer[300];
    mtls_conn *conn;
    int fd;
};

static int fail_conn(struct client *cl, mtls_err err, const char *stage)
{
    char line[2600];
    int saved = errno;
    explain_failure(line, sizeof(line), cl->conn, err, saved, stage, cl->peer, &cl->c, 0);
    say("%s", line);
    return EXIT_FAIL;
}

/* Report the verified server (unless --quiet): the connection in one line, then its certificate:
 * identity, serial, issuer and when it expires. */
static void report_connected(const struct client *cl)
{
    char sum[512], cert[1024];
    const char *subject = mtls_conn_peer_subject(cl->conn);

    if (cl->c.quiet) {
        return;
    }
    const char *csig = mtls_sigalg_name(mtls_conn_client_sigalg(cl->conn));
    conn_summary(sum, sizeof(sum), cl->conn);
    say("connected to %s: %s; server %s %s%s%s", cl->peer, sum,
        subject != NULL && subject[0] ? subject : "(no subject)",
        cl->insecure       ? "NOT VERIFIED (--insecure)"
        : cl->c.ca != NULL ? "verified against --ca"
                           : "verified against the system trust store",
        csig != NULL ? "; our certificate sent, CertificateVerify " : "", csig != NULL ? csig : "");
    describe_peer_cert(cert, sizeof(cert), cl->conn);
    if (cert[0] != '\0') {
        say("server certificate: %s", cert);
    }
    if (cl->ocsp && !cl->insecure) {
        describe_peer_ocsp(cert, sizeof(cert), cl->conn);
        say("OCSP staple: %s", cert);
    }
}

/* The server asked for our certificate after the handshake (TLS 1.3), and we answered. */
static void on_post_auth(void *arg, const mtls_conn *conn, mtls_post_auth_event ev)
{
    const struct client *cl = arg;
    if (cl->c.quiet) {
        return;
    }
    const char *csig = mtls_sigalg_name(mtls_conn_client_sigalg(conn));
    if (ev == MTLS_POST_AUTH_CERT_SENT) {
        say("the server asked for our certificate after the handshake (post-handshake "
            "authentication): sent ours (CertificateVerify %s)",
            csig != NULL ? csig : "?");
    } else {
        say("the server asked for our certificate after the handshake (post-handshake "
            "authentication): sent none (%s)",
            cl->c.cert != NULL || cl->c.p12 != NULL
                ? "ours fits none of the signature algorithms it accepts"
                : "no --cert given");
    }
}

/* The copy loop.  Returns the exit status. */
static int pump(struct client *cl)
{
    static uint8_t in[16384], out[16384];
    size_t in_len = 0, in_off = 0;
    int stdin_open = 1;
    int64_t close_deadline = -1;

    for (;;) {
        /* 1. Hand stdin's pending chunk to the connection. */
        if (in_off < in_len) {
            size_t n = 0;
            mtls_err err = mtls_fd_write(cl->conn, cl->fd, in + in_off, in_len - in_off, &n);
            in_off += n;
            if (err != MTLS_OK && err != MTLS_ERR_WANT_WRITE) {
                return fail_conn(cl, err, "session");
            }
        }
        /* 2. End of input and everything handed over: close_notify. */
        if (!stdin_open && in_off == in_len && close_deadline < 0) {
            mtls_err err = mtls_fd_close(cl->conn, cl->fd);
            if (err != MTLS_OK && err != MTLS_ERR_WANT_WRITE) {
                return fail_conn(cl, err, "closing");
            }
            close_deadline = now_ms() + (int64_t)cl->c.timeout_s * 1000;
        }
        /* 3. Everything the server sent, to stdout. */
        for (;;) {
            size_t n = 0;
            mtls_err err = mtls_fd_read(cl->conn, cl->fd, out, sizeof(out), &n);
            if (err == MTLS_OK) {
                if (write_all(1, out, n) != 0) {
                    say("cannot write to standard output: %s", strerror(errno));
                    (void)close_until(cl->conn, cl->fd, now_ms() + 1000);
                    return EXIT_FAIL;
                }
                continue;
            }
            if (mtls_err_is_blocked(err)) {
                break;
            }
            if (err == MTLS_ERR_CLOSED) {
                /* The server's close_notify: answer with ours (unless sent) and stop. */
                err = close_until(cl->conn, cl->fd, now_ms() + (int64_t)cl->c.timeout_s * 1000);
                if (err != MTLS_OK && err != MTLS_ERR_IO) {
                    return fail_conn(cl, err, "closing");
                }
                return EXIT_OK;
            }
            if (err == MTLS_ERR_EOF && close_deadline >= 0) {
                /* RFC 5246 7.2.1: the initiator of the close need not wait for the answer, and
                 * a peer may just close; our side of the data was all delivered. */
                return EXIT_OK;
            }
            return fail_conn(cl, err, "session");
        }
        /* 4. Wait for stdin, the socket, or the closing deadline. */
        struct pollfd pfd[2];
        nfds_t nfds = 0;
        size_t pending = 0;
        (void)mtls_send_buf(cl->conn, &pending);
        pfd[nfds++] =
            (struct pollfd){.fd = cl->fd, .events = (short)(POLLIN | (pending > 0 ? POLLOUT : 0))};
        if (stdin_open && in_off == in_len) {
            pfd[nfds++] = (struct pollfd){.fd = 0, .events = POLLIN};
        }
        int wait = -1;
        if (close_deadline >= 0) {
            int64_t left = close_deadline - now_ms();
            if (left <= 0) {
                say("the server at %s did not answer our close_notify within %d s; closing",
                    cl->peer, cl->c.timeout_s);
                return EXIT_OK;
            }
            wait = (int)left;
        }
        int r = poll(pfd, nfds, wait);
        if (r < 0 && errno != EINTR) {
            say("poll: %s", strerror(errno));
            return EXIT_FAIL;
        }
        if (r <= 0 || nfds < 2 || pfd[1].revents == 0) {
            continue;
        }
        ssize_t got = read(0, in, sizeof(in));
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (got < 0) {
            say("cannot read standard input: %s", strerror(errno));
            got = 0;
        }
        if (got == 0) {
            stdin_open = 0;
        }
        in_len = (size_t)got;
        in_off = 0;
    }
}

/* Overwrite secrets (a session's bytes hold its master secret). */
static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n-- > 0) {
        *v++ = 0;
    }
}

/* --sess-in: a session saved by --sess-out (mtls's own format, not OpenSSL's PEM).  NULL, with a
 * message, when it cannot be used. */
static mtls_session *load_session(const char *path)
{
    static uint8_t buf[65536];
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        say("cannot read --sess-in file '%s': %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            say("cannot read --sess-in file '%s': %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        if (r == 0 || (len += (size_t)r) == sizeof(buf)) {
            break;
        }
    }
    close(fd);
    mtls_session *s = len < sizeof(buf) ? mtls_session_from_bytes(buf, len) : NULL;
    wipe(buf, len);
    if (s == NULL) {
        say("--sess-in file '%s' holds no mtls session; make one with 'mtls client ... "
            "--sess-out FILE' (OpenSSL's -sess_out files are another format)",
            path);
    }
    return s;
}

/* --sess-out: write the session's bytes, readable by the owner only (they hold the master
 * secret). */
static int save_session(const char *path, const mtls_session *sess)
{
    static uint8_t buf[65536];
    size_t len = 0;

    if (sess == NULL) {
        say("--sess-out: the server gave no session to save (neither a session id nor a ticket)");
        return -1;
    }
    if (mtls_session_to_bytes(sess, buf, sizeof(buf), &len) != MTLS_OK) {
        say("--sess-out: cannot serialize the session");
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int ok = fd >= 0 && fchmod(fd, 0600) == 0 && write_all(fd, buf, len) == 0;
    int saved = errno;
    wipe(buf, len);
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        say("cannot write --sess-out file '%s': %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

/* A reconnection: no data of ours; send close_notify and wait (bounded) for the server's.
 * Anything the server sends meanwhile is discarded. */
static int close_quietly(struct client *cl)
{
    static uint8_t sink[16384];
    int64_t deadline = now_ms() + (int64_t)cl->c.timeout_s * 1000;
    mtls_err err = close_until(cl->conn, cl->fd, deadline);

    if (err != MTLS_OK) {
        return err == MTLS_ERR_IO && (errno == EPIPE || errno == ECONNRESET)
                   ? EXIT_OK /* the server already hung up: nothing of ours was lost */
                   : fail_conn(cl, err, "closing");
    }
    for (;;) {
        size_t n = 0;
        err = mtls_fd_read(cl->conn, cl->fd, sink, sizeof(sink), &n);
        if (err == MTLS_OK) {
            continue;
        }
        if (err == MTLS_ERR_CLOSED || err == MTLS_ERR_EOF) {
            return EXIT_OK; /* RFC 5246 7.2.1: after our close_notify, an end is an end */
        }
        if (!mtls_err_is_blocked(err)) {
            return err == MTLS_ERR_IO && errno == ECONNRESET ? EXIT_OK
                                                             : fail_conn(cl, err, "closing");
        }
        int r = wait_fd(cl->fd, err, deadline);
        if (r == 0) {
            say("the server at %s did not answer our close_notify within %d s; closing", cl->peer,
                cl->c.timeout_s);
            return EXIT_OK;
        }
        if (r < 0) {
            return fail_conn(cl, MTLS_ERR_IO, "closing");
        }
    }
}

/* One line on how connection `n` (1-based) went with respect to resumption. */
static void report_resumption(const struct client *cl, int n, int offered_sess)
{
    const char *kind =
        cl->tag.resume_offer == RESUME_OFFER_TICKET ? "session ticket" : "session id";

    if (mtls_conn_resumed(cl->conn)) {
        say("connection %d: resumed (%s)", n, kind);
    } else if (!offered_sess) {
        say("connection %d: full handshake", n);
    } else if (cl->tag.resume_offer == RESUME_OFFER_NONE) {
        say("connection %d: full handshake (%s)", n,
            cl->tag.resume_note[0] ? cl->tag.resume_note : "the saved session was not offered");
    } else {
        say("connection %d: full handshake (the server did not accept our %s)", n, kind);
    }
}

/* Connection number `i` (0: the first, which copies stdin; later ones only handshake and close),
 * offering *sess when set; *sess becomes this connection's session.  Leaves cl->conn and cl->fd
 * for the caller to free.  Returns the exit status. */
static int one_connection(struct client *cl, struct tool_cfg *tc, int i, mtls_session **sess,
                          int report)
{
    const char *name = cl->servername != NULL ? cl->servername : cl->host;

    memset(&cl->tag, 0, sizeof(cl->tag));
    cl->fd = tcp_connect(cl->host, cl->port, cl->c.timeout_s);
    if (cl->fd < 0) {
        return EXIT_FAIL;
    }
    cl->conn = mtls_client_new(tc->cfg, name);
    if (cl->conn == NULL) {
        say("cannot create a connection (out of memory, or the server name '%s' is invalid)", name);
        return EXIT_FAIL;
    }
    mtls_conn_set_userdata(cl->conn, &cl->tag);
    if (*sess != NULL && mtls_conn_set_session(cl->conn, *sess) != MTLS_OK) {
        say("cannot offer the saved session; connecting with a full handshake");
    }
    mtls_err err = handshake_until(cl->conn, cl->fd, now_ms() + (int64_t)cl->c.timeout_s * 1000);
    if (err != MTLS_OK) {
        return fail_conn(cl, err, "handshake");
    }
    if (i == 0) {
        report_connected(cl);
    }
    if (cl->c.n_exports > 0) {
        char prefix[32] = "";
        if (cl->reconnect > 0) {
            snprintf(prefix, sizeof(prefix), "connection %d: ", i + 1);
        }
        report_exports(cl->conn, &cl->c, prefix);
    }
    if (report && !cl->c.quiet) {
        report_resumption(cl, i + 1, *sess != NULL);
    }
    /* Offer the newest session next time (a resumed one may come with a fresh ticket); keep the
     * old one when the server gave none. */
    mtls_session *now = mtls_conn_get_session(cl->conn);
    if (now != NULL) {
        mtls_session_free(*sess);
        *sess = now;
    }
    int status = i == 0 ? pump(cl) : close_quietly(cl);
    /* TLS 1.3 tickets come after the handshake, with what the server sends (RFC 8446 4.6.1):
     * the session is the connection's newest once it is over. */
    if ((now = mtls_conn_get_session(cl->conn)) != NULL) {
        mtls_session_free(*sess);
        *sess = now;
    }
    return status;
}

int cmd_client(int argc, char **argv)
{
    struct client cl;
    struct tool_cfg tc;
    int opt;

    memset(&cl, 0, sizeof(cl));
    cl.fd = -1;
    cl.c.timeout_s = 10;
    snprintf(cl.tag.label, sizeof(cl.tag.label), "%s", "");
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":qh", long_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_SERVERNAME:
            cl.servername = optarg;
            break;
        case OPT_CA:
            cl.c.ca = optarg;
            break;
        case OPT_CERT:
            cl.c.cert = optarg;
            break;
        case OPT_KEY:
            cl.c.key = optarg;
            break;
        case OPT_P12:
            cl.c.p12 = optarg;
            break;
        case OPT_KEY_PASS_FILE:
            cl.c.key_pass_file = optarg;
            break;
        case OPT_KEY_PASS_ENV:
            cl.c.key_pass_env = optarg;
            break;
        case OPT_PKCS11_MODULE:
            cl.c.pkcs11_module = optarg;
            break;
        case OPT_CIPHERS:
            cl.c.ciphers = optarg;
            break;
        case OPT_GROUPS:
            cl.c.groups = optarg;
            break;
        case OPT_ALPN:
            cl.c.alpn = optarg;
            break;
        case OPT_INSECURE:
            cl.insecure = 1;
            break;
        case OPT_TRACE:
            cl.c.trace = 1;
            break;
        case OPT_KEYLOG:
            cl.c.keylog = optarg;
            break;
        case OPT_TIMEOUT:
            if (parse_uint(optarg, &cl.c.timeout_s) != 0 || cl.c.timeout_s == 0) {
                say("--timeout wants a number of seconds above 0, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_REQUIRE_EMS:
            cl.c.require_ems = 1;
            break;
        case OPT_TLS12:
            cl.c.version = MTLS_VERSION_TLS12;
            break;
        case OPT_TLS13:
            cl.c.version = MTLS_VERSION_TLS13;
            break;
        case OPT_RECONNECT:
            if (parse_uint(optarg, &cl.reconnect) != 0 || cl.reconnect > 10000) {
                say("--reconnect wants a number of reconnections from 0 to 10000, not '%s'",
                    optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_SESS_OUT:
            cl.sess_out = optarg;
            break;
        case OPT_SESS_IN:
            cl.sess_in = optarg;
            break;
        case OPT_NO_TICKETS:
            cl.no_tickets = 1;
            break;
        case OPT_SPIFFE_ID:
        case OPT_SPIFFE_TD:
            if (add_spiffe_opt(&cl.c, opt == OPT_SPIFFE_TD, optarg) != 0) {
                return EXIT_USAGE;
            }
            break;
        case OPT_CRL:
        case OPT_CRL_DIR:
        case OPT_CRL_CHECK:
        case OPT_CRL_SOFT_FAIL:
            if (crl_opt(&cl.c, opt, optarg) != 0) {
                return EXIT_USAGE;
            }
            break;
        case OPT_OCSP:
            cl.ocsp = cl.ocsp > 1 ? cl.ocsp : 1;
            break;
        case OPT_OCSP_REQUIRED:
            cl.ocsp = 2;
            break;
        case OPT_PHA:
            cl.pha = 1;
            break;
        case OPT_NO_PHA:
            cl.pha = 2;
            break;
        case OPT_EXPORT:
            if (export_opt(&cl.c, optarg) != 0) {
                return EXIT_USAGE;
            }
            break;
        case 'q':
            cl.c.quiet = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return EXIT_OK;
        case ':':
            say("%s needs a value; see 'mtls client --help'", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            say("unknown option '%s'; see 'mtls client --help'", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        say(optind == argc ? "which server? usage: mtls client HOST:PORT [options]"
                           : "one HOST:PORT only, please; see 'mtls client --help'");
        return EXIT_USAGE;
    }
    const char *target = argv[optind];
    if (split_hostport(target, cl.host, sizeof(cl.host), cl.port, sizeof(cl.port)) != 0 ||
        cl.host[0] == '\0') {
        say("'%s' is not HOST:PORT (for example localhost:4433 or [::1]:443)", target);
        return EXIT_USAGE;
    }
    snprintf(cl.peer, sizeof(cl.peer), "%s", target);
    if (crl_opts_check(&cl.c) != 0) {
        return EXIT_USAGE;
    }
    cl.c.ocsp = cl.ocsp;
    if (cl.ocsp && cl.insecure) {
        say("--ocsp and --ocsp-required check the server's certificate, which --insecure does "
            "not: drop one of them");
        return EXIT_USAGE;
    }

    if (tool_config_new(&tc, &cl.c, "client") != 0) {
        return EXIT_USAGE;
    }
    if (cl.insecure) {
        (void)mtls_config_set_insecure_skip_verify(tc.cfg, 1);
    }
    if (cl.no_tickets) {
        (void)mtls_config_set_tickets(tc.cfg, 0);
    }
    if (cl.ocsp) {
        (void)mtls_config_set_ocsp_request(tc.cfg, 1);
        (void)mtls_config_set_ocsp_required(tc.cfg, cl.ocsp == 2);
    }
    if (cl.pha) {
        (void)mtls_config_set_post_handshake_auth(tc.cfg, cl.pha == 1);
    }
    (void)mtls_config_set_post_auth_callback(tc.cfg, on_post_auth, &cl);
    mtls_session *sess = NULL;
    if (cl.sess_in != NULL && (sess = load_session(cl.sess_in)) == NULL) {
        tool_config_free(&tc);
        return EXIT_USAGE;
    }
    int status = EXIT_OK, resumed = 0;
    int report = cl.reconnect > 0 || cl.sess_in != NULL;
    for (int i = 0; i <= cl.reconnect && status == EXIT_OK; i++) {
        status = one_connection(&cl, &tc, i, &sess, report);
        if (status == EXIT_OK && i > 0 && mtls_conn_resumed(cl.conn)) {
            resumed++;
        }
        mtls_conn_free(cl.conn);
        cl.conn = NULL;
        if (cl.fd >= 0) {
            close(cl.fd);
            cl.fd = -1;
        }
    }
    if (cl.reconnect > 0 && status == EXIT_OK) {
        say("resumed %d of %d reconnections", resumed, cl.reconnect);
    }
    if (cl.sess_out != NULL && status == EXIT_OK && save_session(cl.sess_out, sess) != 0) {
        status = EXIT_FAIL;
    }
    mtls_session_free(sess);
    tool_config_free(&tc);
    return status;
}
