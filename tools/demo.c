/*
 * demo.c -- `mtls demo`: mutual TLS from nothing, in one command, TLS 1.3 beside TLS 1.2.
 *
 * It owns the demo: make a throwaway CA, a server certificate (localhost, 127.0.0.1) and a
 * client certificate (clientAuth) with the openssl command in a fresh temporary directory; fork a
 * server that requires client certificates on an ephemeral 127.0.0.1 port and speaks TLS 1.3 and
 * 1.2; run a traced client through a TLS 1.3 handshake, then through the seed's TLS 1.2 handshake
 * (the client offering TLS 1.2 alone), each time sending a message, checking the echo and closing
 * cleanly both ways; reconnect offering the session of the last one, to show a resumed handshake;
 * print a summary that sets the two versions side by side, and remove the directory.
 *
 * What the summary claims about each handshake is read from that connection's trace events (the
 * tool's on_event fills the connection's peer_tag): the round trips before the client could send
 * data, how the client's certificate crossed the wire, whether a HelloRetryRequest came; the rest
 * from the API (version, suite, group, signatures, identities).  The forked server reports what it
 * saw of each connection (client subject, the client's CertificateVerify algorithm, bytes,
 * resumed) through a pipe, one line per connection, so the summary shows both sides' view.
 */
#include "tool.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: mtls demo [--tls1.3 | --tls1.2] [--hello-retry] [--keep] [--no-trace]\n"
    "\n"
    "Show mutual TLS end to end on this machine: make a throwaway CA, server and client\n"
    "certificates (with the openssl command) in a temporary directory, start a server that\n"
    "requires client certificates on 127.0.0.1, and run a client with the trace on through a\n"
    "TLS 1.3 handshake, then through the same in TLS 1.2 (the seed's 15 steps); echo a message\n"
    "and close cleanly each time, reconnect resuming the last session, and print a summary\n"
    "that tells the versions apart: round trips before the client may send data, whether the\n"
    "client certificate crossed the wire encrypted, the key exchange, the secrets derived.\n"
    "\n"
    "  --tls1.3       show the TLS 1.3 handshake only (and resume it)\n"
    "  --tls1.2       show the TLS 1.2 handshake only (and resume it)\n"
    "  --hello-retry  the TLS 1.3 client's key share is for P-256, which the server does not\n"
    "                 prefer: see a HelloRetryRequest and the round trip it costs\n"
    "  --keep         keep the temporary directory (certificates, keys) and print its path\n"
    "  --no-trace     do not print the handshake trace\n"
    "  -h, --help     this help\n";

struct demo {
    char dir[256];
    char log[300];
    int keep;
    int trace;
    int v13, v12;    /* the handshakes to show: TLS 1.3 first, then TLS 1.2 */
    int hello_retry; /* --hello-retry */
};

static void path(char *out, size_t cap, const struct demo *d, const char *name)
{
    snprintf(out, cap, "%s/%s", d->dir, name);
}

static int write_text(const struct demo *d, const char *name, const char *text)
{
    char p[320];
    path(p, sizeof(p), d, name);
    FILE *f = fopen(p, "w");
    if (f == NULL) {
        say("cannot write %s: %s", p, strerror(errno));
        return -1;
    }
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

/* Run openssl with arguments relative to the demo directory; explain failures. */
static int openssl(const struct demo *d, char *const argv[])
{
    int st = run_program(argv, d->log);
    if (st == -1) {
        say("the demo needs the 'openssl' command to make throwaway certificates and it cannot "
            "be run (%s); install it: apt-get install openssl",
            strerror(errno));
        return -1;
    }
    if (st != 0) {
        char cmd[512] = "";
        for (int i = 0; argv[i] != NULL; i++) {
            strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 2);
            strncat(cmd, " ", sizeof(cmd) - strlen(cmd) - 1);
        }
        say("'%s' failed (status %d); its output is in %s", cmd, st, d->log);
        return -1;
    }
    return 0;
}

static int make_pki(struct demo *d)
{
    char ca_key[320], ca_pem[320], s_key[320], s_csr[320], s_pem[320], s_ext[320];
    char c_key[320], c_csr[320], c_pem[320], c_ext[320], serial1[40], serial2[40];

    path(ca_key, sizeof(ca_key), d, "ca.key");
    path(ca_pem, sizeof(ca_pem), d, "ca.pem");
    path(s_key, sizeof(s_key), d, "server.key");
    path(s_csr, sizeof(s_csr), d, "server.csr");
    path(s_pem, sizeof(s_pem), d, "server.pem");
    path(s_ext, sizeof(s_ext), d, "server.ext");
    path(c_key, sizeof(c_key), d, "client.key");
    path(c_csr, sizeof(c_csr), d, "client.csr");
    path(c_pem, sizeof(c_pem), d, "client.pem");
    path(c_ext, sizeof(c_ext), d, "client.ext");
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    snprintf(serial1, sizeof(serial1), "0x%08x%08x", (unsigned)rand(), (unsigned)rand());
    snprintf(serial2, sizeof(serial2), "0x%08x%08x", (unsigned)rand(), (unsigned)rand());

    if (write_text(d, "server.ext",
                   "basicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n"
                   "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   "subjectKeyIdentifier=hash\n"
                   "authorityKeyIdentifier=keyid\n") != 0 ||
        write_text(d, "client.ext",
                   "basicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=clientAuth\n"
                   "subjectAltName=DNS:demo-client.example\n"
                   "subjectKeyIdentifier=hash\n"
                   "authorityKeyIdentifier=keyid\n") != 0) {
        return -1;
    }
    char *gen_ca[] = {"openssl", "genpkey",  "-algorithm",
                      "EC",      "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-out",    ca_key,     NULL};
    char *self_ca[] = {"openssl",
                       "req",
                       "-x509",
                       "-new",
                       "-key",
                       ca_key,
                       "-sha256",
                       "-days",
                       "2",
                       "-subj",
                       "/O=mtls demo/CN=mtls demo CA",
                       "-addext",
                       "basicConstraints=critical,CA:TRUE",
                       "-addext",
                       "keyUsage=critical,keyCertSign,cRLSign",
                       "-out",
                       ca_pem,
                       NULL};
    char *gen_s[] = {"openssl", "genpkey",  "-algorithm",
                     "EC",      "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out",    s_key,      NULL};
    char *req_s[] = {"openssl", "req", "-new", "-key", s_key, "-subj", "/O=mtls demo/CN=localhost",
                     "-out",    s_csr, NULL};
    char *sign_s[] = {"openssl",  "x509", "-req",        "-in",   s_csr,   "-CA", ca_pem,
                      "-CAkey",   ca_key, "-set_serial", serial1, "-days", "1",   "-sha256",
                      "-extfile", s_ext,  "-out",        s_pem,   NULL};
    char *gen_c[] = {"openssl", "genpkey",  "-algorithm",
                     "EC",      "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out",    c_key,      NULL};
    char *req_c[] = {
        "openssl", "req", "-new", "-key", c_key, "-subj", "/O=mtls demo/CN=demo client",
        "-out",    c_csr, NULL};
    char *sign_c[] = {"openssl",  "x509", "-req",        "-in",   c_csr,   "-CA", ca_pem,
                      "-CAkey",   ca_key, "-set_serial", serial2, "-days", "1",   "-sha256",
                      "-extfile", c_ext,  "-out",        c_pem,   NULL};
    char **steps[] = {gen_ca, self_ca, gen_s, req_s, sign_s, gen_c, req_c, sign_c};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (openssl(d, steps[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

static void remove_dir(const struct demo *d)
{
    DIR *dir = opendir(d->dir);
    if (dir != NULL) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                char p[600];
                snprintf(p, sizeof(p), "%s/%s", d->dir, e->d_name);
                unlink(p);
            }
        }
        closedir(dir);
    }
    rmdir(d->dir);
}

/* The forked server: `conns` connections one after the other, client certificates required, TLS
 * 1.3 and 1.2 (the client chooses by what it offers); reports each through `report`. */
static int run_server(const struct demo *d, int lfd, int report, int conns)
{
    struct server_opts o;
    struct tool_cfg tc;
    char cert[320], key[320], ca[320];

    memset(&o, 0, sizeof(o));
    path(cert, sizeof(cert), d, "server.pem");
    path(key, sizeof(key), d, "server.key");
    path(ca, sizeof(ca), d, "ca.pem");
    o.c.cert = cert;
    o.c.key = key;
    o.c.ca = ca;
    o.c.trace = d->trace;
    o.c.timeout_s = 10;
    o.c.quiet = 1;
    o.verify = MTLS_VERIFY_REQUIRE;
    o.once = conns;
    o.max_conns = 1;
    o.label = "server";
    o.report_fd = report;
    if (tool_config_new(&tc, &o.c, "server") != 0) {
        return EXIT_FAIL;
    }
    (void)mtls_config_set_verify_client(tc.cfg, o.verify);
    int st = server_run(lfd, &o, &tc);
    tool_config_free(&tc);
    return st;
}

/* One client connection of the demo: what to do, and what it showed. */
struct run {
    /* the plan */
    uint16_t version;    /* the one version the client offers (0: both, the default) */
    const char *groups;  /* the client's groups (NULL: the default) */
    int echo;            /* send a message, check the echo */
    mtls_session *offer; /* a session to offer (NULL: none; not owned) */
    /* what the client saw: its trace events (round trips, how its certificate went) and the API */
    struct peer_tag tag;
    uint16_t got_version;
    char suite[64], group[32], server_sig[48], client_sig[48], server_id[256];
    int ems, resumed;
    size_t echoed;
    mtls_session *sess; /* the session it made (owned) */
    /* what the server saw, from its report line */
    char client_id[256], server_client_sig[48];
    int server_resumed;
};

/* `s` (NULL or empty: "?") into out[cap], cut if need be. */
static void copy(char *out, size_t cap, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        s = "?";
    }
    size_t n = strlen(s) < cap - 1 ? strlen(s) : cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Send a message and read until it all came back; MTLS_OK and *echoed when it is the same. */
static mtls_err echo(mtls_conn *conn, int fd, int64_t deadline, size_t *echoed)
{
    char msg[128], back[128];
    int len = snprintf(msg, sizeof(msg), "hello from the mtls demo, pid %d", (int)getpid());
    size_t sent = 0, got = 0;
    mtls_err err = MTLS_OK;
    while (sent < (size_t)len) {
        size_t n = 0;
        err = mtls_fd_write(conn, fd, msg + sent, (size_t)len - sent, &n);
        sent += n;
        if (err == MTLS_ERR_WANT_WRITE && wait_fd(fd, err, deadline) <= 0) {
            err = MTLS_ERR_TIMEOUT;
        }
        if (err != MTLS_OK && err != MTLS_ERR_WANT_WRITE) {
            return err;
        }
    }
    while (got < (size_t)len) {
        size_t n = 0;
        err = mtls_fd_read(conn, fd, back + got, (size_t)len - got, &n);
        got += n;
        if (mtls_err_is_blocked(err) && wait_fd(fd, err, deadline) <= 0) {
            err = MTLS_ERR_TIMEOUT;
        }
        if (err != MTLS_OK && !mtls_err_is_blocked(err)) {
            return err;
        }
    }
    if (memcmp(msg, back, (size_t)len) != 0) {
        say("the echo differs from the message sent; something is badly wrong");
        return MTLS_ERR_INTERNAL;
    }
    *echoed = got;
    return MTLS_OK;
}

/* Run one client connection as `r` plans it: handshake, echo, close both ways; fills `r`.
 * Returns the exit status. */
static int run_client(const struct demo *d, const char *port, struct run *r)
{
    struct common_opts co;
    struct tool_cfg tc;
    char cert[320], key[320], ca[320], line[1024];
    int status = EXIT_FAIL;
    mtls_conn *conn = NULL;
    const char *stage = "handshake";
    mtls_err err = MTLS_OK;
    int fd = -1;

    memset(&co, 0, sizeof(co));
    memset(&r->tag, 0, sizeof(r->tag));
    snprintf(r->tag.label, sizeof(r->tag.label), "client");
    path(cert, sizeof(cert), d, "client.pem");
    path(key, sizeof(key), d, "client.key");
    path(ca, sizeof(ca), d, "ca.pem");
    co.cert = cert;
    co.key = key;
    co.ca = ca;
    co.trace = d->trace;
    co.timeout_s = 10;
    co.version = r->version;
    co.groups = r->groups;
    if (tool_config_new(&tc, &co, "client") != 0) {
        return EXIT_FAIL;
    }
    int64_t deadline = now_ms() + 10000;
    fd = tcp_connect("127.0.0.1", port, 10);
    if (fd < 0) {
        goto out;
    }
    conn = mtls_client_new(tc.cfg, "localhost");
    if (conn == NULL) {
        say("cannot create a client connection (out of memory)");
        goto out;
    }
    mtls_conn_set_userdata(conn, &r->tag);
    if (r->offer != NULL) {
        (void)mtls_conn_set_session(conn, r->offer);
    }
    if ((err = handshake_until(conn, fd, deadline)) != MTLS_OK) {
        goto fail;
    }
    stage = "echo";
    if (r->echo && (err = echo(conn, fd, deadline, &r->echoed)) != MTLS_OK) {
        if (err == MTLS_ERR_INTERNAL) {
            goto out;
        }
        goto fail;
    }
    /* Close: our close_notify, then wait for the server's. */
    stage = "closing";
    err = close_until(conn, fd, deadline);
    while (err == MTLS_OK || mtls_err_is_blocked(err)) {
        char sink[256];
        size_t n = 0;
        err = mtls_fd_read(conn, fd, sink, sizeof(sink), &n);
        if (mtls_err_is_blocked(err) && wait_fd(fd, err, deadline) <= 0) {
            err = MTLS_ERR_TIMEOUT;
        }
    }
    if (err != MTLS_ERR_CLOSED) {
        goto fail;
    }
    r->got_version = mtls_conn_version(conn);
    copy(r->suite, sizeof(r->suite), mtls_suite_name(mtls_conn_cipher_suite(conn)));
    const char *g = mtls_group_name(mtls_conn_group(conn));
    copy(r->group, sizeof(r->group), g != NULL ? g : "static RSA");
    copy(r->server_sig, sizeof(r->server_sig), mtls_sigalg_name(mtls_conn_server_sigalg(conn)));
    copy(r->client_sig, sizeof(r->client_sig), mtls_sigalg_name(mtls_conn_client_sigalg(conn)));
    copy(r->server_id, sizeof(r->server_id), mtls_conn_peer_subject(conn));
    r->ems = mtls_conn_ems(conn);
    r->resumed = mtls_conn_resumed(conn);
    r->sess = mtls_conn_get_session(conn);
    status = EXIT_OK;
    goto out;

fail:
    explain_failure(line, sizeof(line), conn, err, errno, stage, "the demo server", &co, 0);
    say("%s", line);
out:
    mtls_conn_free(conn);
    if (fd >= 0) {
        close(fd);
    }
    tool_config_free(&tc);
    return status;
}

/* The server's report line of one connection: subject \t client sigalg \t bytes \t clean \t
 * resumed.  `line` is modified. */
static void take_report(struct run *r, char *line)
{
    char *f[5] = {line, NULL, NULL, NULL, NULL};
    for (int i = 1; i < 5 && f[i - 1] != NULL; i++) {
        f[i] = strchr(f[i - 1], '\t');
        if (f[i] != NULL) {
            *f[i]++ = '\0';
        }
    }
    copy(r->client_id, sizeof(r->client_id), f[0][0] ? f[0] : "(none reported)");
    copy(r->server_client_sig, sizeof(r->server_client_sig), f[1]);
    r->server_resumed = f[4] != NULL && f[4][0] == '1';
}

/* ---- the summary ----------------------------------------------------------------------------- */

#define SUMMARY_WIDTH 100 /* columns: longer values go on indented lines */

/* One row of the summary: the label, then one line per handshake, "TLS 1.x: value", the value
 * wrapped at spaces to SUMMARY_WIDTH. */
static void row(const char *label, struct run *const *runs, int n,
                void (*value)(char *out, size_t cap, const struct run *r))
{
    for (int i = 0; i < n; i++) {
        char v[512];
        value(v, sizeof(v), runs[i]);
        int indent =
            printf("  %-17s %s: ", i == 0 ? label : "", version_name(runs[i]->got_version));
        const char *p = v;
        size_t room = SUMMARY_WIDTH - (size_t)indent;
        while (strlen(p) > room) {
            const char *cut = p + room;
            while (cut > p && *cut != ' ') {
                cut--;
            }
            if (cut == p) {
                break;
            }
            printf("%.*s\n%*s", (int)(cut - p), p, indent, "");
            p = cut + 1;
        }
        printf("%s\n", p);
    }
}

static int is13(const struct run *r)
{
    return r->got_version == MTLS_VERSION_TLS13;
}

static void v_suite(char *out, size_t cap, const struct run *r)
{
    snprintf(out, cap, "%s", r->suite);
}

static void v_round_trips(char *out, size_t cap, const struct run *r)
{
    snprintf(out, cap, "%u before the client could send data%s", r->tag.round_trips,
             r->tag.server_hellos > 1 ? " (one for the HelloRetryRequest)" : "");
}

static const char *cert_crossing(mtls_trace_protection p)
{
    switch (p) {
    case MTLS_PROTECTION_CLEAR:
        return "in the clear: anyone on the path could read who the client is";
    case MTLS_PROTECTION_HANDSHAKE:
        return "encrypted, under the client handshake traffic secret";
    case MTLS_PROTECTION_APPLICATION:
        return "encrypted, under the client application traffic secret";
    case MTLS_PROTECTION_TLS12:
        return "encrypted, under the client write key";
    default:
        return "not sent";
    }
}

static void v_client_cert(char *out, size_t cap, const struct run *r)
{
    snprintf(out, cap, "%s%s",
             r->tag.cert_protection != MTLS_PROTECTION_NONE ? "crossed the wire " : "",
             cert_crossing(r->tag.cert_protection));
}

static void v_kex(char *out, size_t cap, const struct run *r)
{
    snprintf(out, cap, "%s, %s", r->group,
             is13(r) ? "in the key shares of ClientHello and ServerHello"
                     : "in ServerKeyExchange (signed by the server) and ClientKeyExchange");
}

static void v_secrets(char *out, size_t cap, const struct run *r)
{
    if (is13(r)) {
        snprintf(out, cap,
                 "HKDF: the handshake secret from the %s shared secret, then the master secret; "
                 "from them and the transcript a handshake and an application traffic secret "
                 "each way, the exporter and the resumption secrets",
                 r->group);
    } else {
        snprintf(out, cap,
                 "PRF: the master secret from the %s premaster secret%s; from it one key block: "
                 "a write key each way, used from each side's ChangeCipherSpec on",
                 r->group, r->ems ? " and the handshake hash (extended master secret)" : "");
    }
}

static void v_server_sig(char *out, size_t cap, const struct run *r)
{
    snprintf(out, cap, "%s (%s)", r->server_sig,
             is13(r) ? "CertificateVerify" : "ServerKeyExchange");
}

static void v_client_sig(char *out, size_t cap, const struct run *r)
{
    snprintf(out, cap, "%s (CertificateVerify)", r->server_client_sig);
}

static void v_server_id(char *out, size_t cap, const struct run *r)
{
    snprintf(out, cap, "%s, verified by the client against the demo CA", r->server_id);
}

static void v_client_id(char *out, size_t cap, const struct run *r)
{
    snprintf(out, cap, "%s, verified by the server, which requires one", r->client_id);
}

static void v_echo(char *out, size_t cap, const struct run *r)
{
    snprintf(out, cap, "%zu bytes sent, the same %zu bytes back", r->echoed, r->echoed);
}

static void v_resumed(char *out, size_t cap, const struct run *r)
{
    if (!r->resumed) {
        snprintf(out, cap, "no (full handshake)");
        return;
    }
    snprintf(out, cap,
             "yes (%s), %u round trip%s before the client could send data, no "
             "certificates%s",
             r->tag.resume_offer == RESUME_OFFER_TICKET
                 ? (is13(r) ? "ticket, a pre-shared key" : "ticket")
                 : "id",
             r->tag.round_trips, r->tag.round_trips == 1 ? "" : "s",
             r->server_resumed ? "" : " -- but the server did not see it");
}

/* Both versions shown: what TLS 1.3 changed, from the same numbers the rows show. */
static void difference(const struct run *r13, const struct run *r12)
{
    int saved = (int)r12->tag.round_trips - (int)r13->tag.round_trips;
    char rt[160];
    if (saved > 0) {
        snprintf(rt, sizeof(rt), "TLS 1.3 let the client send data %d round trip%s sooner", saved,
                 saved == 1 ? "" : "s");
    } else if (saved == 0) {
        snprintf(rt, sizeof(rt), "TLS 1.3 took as many round trips as TLS 1.2%s",
                 r13->tag.server_hellos > 1 ? " (the HelloRetryRequest cost one)" : "");
    } else {
        snprintf(rt, sizeof(rt), "TLS 1.3 took %d round trip%s more", -saved,
                 saved == -1 ? "" : "s");
    }
    int enc13 = r13->tag.cert_protection > MTLS_PROTECTION_CLEAR;
    int enc12 = r12->tag.cert_protection > MTLS_PROTECTION_CLEAR;
    printf("  %-17s %s;\n  %-17s the client certificate went %s in TLS 1.3, %s in TLS 1.2\n",
           "difference", rt, "", enc13 ? "encrypted" : "in the clear",
           enc12 ? "encrypted" : "in the clear");
}

static void summary(struct run *const *full, int n, struct run *resume)
{
    printf("\nsummary\n");
    row("cipher suite", full, n, v_suite);
    row("round trips", full, n, v_round_trips);
    row("client cert", full, n, v_client_cert);
    row("key exchange", full, n, v_kex);
    row("secrets", full, n, v_secrets);
    row("server signed", full, n, v_server_sig);
    row("client signed", full, n, v_client_sig);
    row("server identity", full, n, v_server_id);
    row("client identity", full, n, v_client_id);
    row("echo", full, n, v_echo);
    struct run *const res[] = {resume};
    row("resumed", res, 1, v_resumed);
    if (n == 2) {
        difference(full[0], full[1]);
    }
}

static int wait_child(pid_t pid, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int cmd_demo(int argc, char **argv)
{
    enum { OPT_TLS12 = 1000, OPT_TLS13, OPT_HELLO_RETRY };
    static const struct option opts[] = {
        {"keep", no_argument, NULL, 'k'},
        {"no-trace", no_argument, NULL, 'n'},
        {"tls1.2", no_argument, NULL, OPT_TLS12},
        {"tls1.3", no_argument, NULL, OPT_TLS13},
        {"hello-retry", no_argument, NULL, OPT_HELLO_RETRY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct demo d;
    int opt, only12 = 0, only13 = 0;

    memset(&d, 0, sizeof(d));
    d.trace = 1;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'k':
            d.keep = 1;
            break;
        case 'n':
            d.trace = 0;
            break;
        case OPT_TLS12:
            only12 = 1;
            break;
        case OPT_TLS13:
            only13 = 1;
            break;
        case OPT_HELLO_RETRY:
            d.hello_retry = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return EXIT_OK;
        default:
            say("unknown option '%s'; see 'mtls demo --help'", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        say("'mtls demo' takes no arguments; see 'mtls demo --help'");
        return EXIT_USAGE;
    }
    if (only12 && only13) {
        say("--tls1.2 and --tls1.3 each show one version; without either the demo shows both");
        return EXIT_USAGE;
    }
    if (only12 && d.hello_retry) {
        say("--hello-retry is about the TLS 1.3 handshake, which --tls1.2 leaves out");
        return EXIT_USAGE;
    }
    d.v13 = !only12;
    d.v12 = !only13;
    const char *tmp = getenv("TMPDIR");
    snprintf(d.dir, sizeof(d.dir), "%s/mtls-demo-XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(d.dir) == NULL) {
        say("cannot create a temporary directory under %s: %s", tmp ? tmp : "/tmp",
            strerror(errno));
        return EXIT_FAIL;
    }
    path(d.log, sizeof(d.log), &d, "openssl.log");

    /* The connections: the full handshakes in order, then the resumption of the last. */
    struct run runs[3];
    struct run *full[2];
    int n_full = 0;
    memset(runs, 0, sizeof(runs));
    if (d.v13) {
        runs[n_full].version = 0; /* TLS 1.3 and 1.2, as by default: the server picks 1.3 */
        /* the client's first group, and so its one key share, is P-256; the server's first is
         * X25519, which the client supports: it asks for that share (RFC 8446 4.1.4) */
        runs[n_full].groups = d.hello_retry ? "secp256r1:x25519" : NULL;
        runs[n_full].echo = 1;
        full[n_full] = &runs[n_full];
        n_full++;
    }
    if (d.v12) {
        runs[n_full].version = MTLS_VERSION_TLS12;
        runs[n_full].echo = 1;
        full[n_full] = &runs[n_full];
        n_full++;
    }
    struct run *resume = &runs[n_full];
    resume->version = full[n_full - 1]->version;
    int n_conns = n_full + 1, step = 0, steps = 2 + 2 * n_full + 1;

    int status = EXIT_FAIL;
    printf("mtls demo: mutual TLS on this machine, %s\n\n", n_full == 2 ? "TLS 1.3 and then TLS 1.2"
                                                            : d.v13     ? "TLS 1.3"
                                                                        : "TLS 1.2");
    printf("[%d/%d] making a throwaway CA, a server certificate (localhost, 127.0.0.1) and a\n"
           "      client certificate (clientAuth), all ECDSA P-256, in %s\n",
           ++step, steps, d.dir);
    fflush(stdout);
    if (make_pki(&d) != 0) {
        goto out;
    }
    int lfd = tcp_listen("127.0.0.1", "0", 4);
    if (lfd < 0) {
        goto out;
    }
    char where[80];
    sock_name(lfd, 0, where, sizeof(where));
    const char *port = strrchr(where, ':') + 1;
    printf("[%d/%d] starting a server on %s that requires a client certificate; it speaks\n"
           "      TLS 1.3 and 1.2, and the client chooses by what it offers\n",
           ++step, steps, where);
    if (d.trace) {
        printf(
            "      trace: > sent, < received, * checked or decided; then how the record crossed\n"
            "      the wire: clear, or encrypted under the sender's key -- c client, s server;\n"
            "      TLS 1.3: hs traffic / ap traffic N, its handshake / application traffic\n"
            "      secret N; TLS 1.2: write key, from the master secret\n");
    }
    int rep[2];
    if (pipe(rep) != 0) {
        say("pipe: %s", strerror(errno));
        close(lfd);
        goto out;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        say("fork: %s", strerror(errno));
        close(lfd);
        close(rep[0]);
        close(rep[1]);
        goto out;
    }
    if (pid == 0) {
        close(rep[0]);
        _exit(run_server(&d, lfd, rep[1], n_conns));
    }
    close(lfd);
    close(rep[1]);

    int cst = EXIT_OK;
    for (int i = 0; i < n_full && cst == EXIT_OK; i++) {
        struct run *r = full[i];
        if (r->version != MTLS_VERSION_TLS12) {
            printf("[%d/%d] TLS 1.3 mutual handshake: the client offers TLS 1.3 and 1.2, as by "
                   "default%s\n",
                   ++step, steps,
                   d.hello_retry ? "; its key share is for P-256 (--hello-retry)"
                   : d.trace     ? "; both sides"
                                 : "");
        } else {
            printf("[%d/%d] TLS 1.2 mutual handshake: the client offers TLS 1.2 alone%s\n", ++step,
                   steps, d.trace ? "; both sides, in the seed's 15 steps" : "");
        }
        fflush(stdout);
        cst = run_client(&d, port, r);
        if (cst == EXIT_OK) {
            printf("[%d/%d] %s: echoed %zu bytes and closed with close_notify both ways\n", ++step,
                   steps, version_name(r->got_version), r->echoed);
        }
    }
    if (cst == EXIT_OK) {
        resume->offer = full[n_full - 1]->sess;
        printf("[%d/%d] reconnecting with the %s session just made (%s)\n", ++step, steps,
               version_name(full[n_full - 1]->got_version),
               full[n_full - 1]->got_version == MTLS_VERSION_TLS13
                   ? "its ticket as a pre-shared key: no certificates, a fresh key exchange"
                   : "abbreviated handshake: no certificates, no key exchange");
        fflush(stdout);
        cst = run_client(&d, port, resume);
    }
    int sst = wait_child(pid, 10000);
    /* one line per connection, in the order they were made */
    char report[4096];
    size_t rlen = 0;
    for (;;) {
        ssize_t got = read(rep[0], report + rlen, sizeof(report) - 1 - rlen);
        if (got > 0) {
            rlen += (size_t)got;
        } else if (got == 0 || errno != EINTR || rlen == sizeof(report) - 1) {
            break;
        }
    }
    close(rep[0]);
    report[rlen] = '\0';
    if (cst != EXIT_OK) {
        goto out;
    }
    if (sst != EXIT_OK) {
        say("the demo server did not finish cleanly (status %d)", sst);
        goto out;
    }
    char *line = report;
    for (int i = 0; i < n_conns; i++) {
        char *end = line != NULL ? strchr(line, '\n') : NULL;
        if (end == NULL) {
            say("the demo server reported %d connection(s), not %d", i, n_conns);
            goto out;
        }
        *end = '\0';
        take_report(&runs[i], line);
        line = end + 1;
    }
    summary(full, n_full, resume);
    printf("\ntry it yourself: mtls server --help, mtls client --help%s\n",
           d.keep ? "" : " (mtls demo --keep keeps the certificates)");
    status = EXIT_OK;

out:
    for (int i = 0; i < 3; i++) {
        mtls_session_free(runs[i].sess);
    }
    if (d.keep) {
        printf("kept %s (ca.pem, server.pem/.key, client.pem/.key)\n", d.dir);
    } else {
        remove_dir(&d);
    }
    if (status != EXIT_OK) {
        say("demo failed; run 'mtls demo --keep' to inspect the certificates");
    }
    return status;
}
