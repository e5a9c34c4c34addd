/*
 * demo.c -- `mtls demo`: mutual TLS from nothing, in one command.
 *
 * It owns the demo: make a throwaway CA, a server certificate (localhost, 127.0.0.1) and a client
 * certificate (clientAuth) with the openssl command in a fresh temporary directory; fork a server
 * that requires client certificates on an ephemeral 127.0.0.1 port; run a traced client through
 * the handshake, send a message and check the echo; close cleanly both ways; print a summary and
 * remove the directory.  The forked server reports what it saw (client subject, the client's
 * CertificateVerify algorithm, bytes) through a pipe, so the summary shows both sides' view.
 * Last, the client reconnects offering the session it got, to show a resumed (abbreviated)
 * handshake; both sides' view of that one is in the summary too.
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
    "usage: mtls demo [--keep] [--no-trace]\n"
    "\n"
    "Show mutual TLS 1.2 end to end on this machine: make a throwaway CA, server and client\n"
    "certificates (with the openssl command) in a temporary directory, start a server that\n"
    "requires client certificates on 127.0.0.1, run a client through the handshake with the\n"
    "trace on, echo a message, close cleanly, reconnect resuming the session (abbreviated\n"
    "handshake) and print a summary.\n"
    "\n"
    "  --keep       keep the temporary directory (certificates, keys) and print its path\n"
    "  --no-trace   do not print the handshake trace\n"
    "  -h, --help   this help\n";

struct demo {
    char dir[256];
    char log[300];
    int keep;
    int trace;
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

/* The forked server: one connection, client certificates required, reports through `report`. */
static int run_server(const struct demo *d, int lfd, int report)
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
    o.once = 2; /* the session, then its resumption */
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

/* The client side: handshake, echo, clean close.  Fills `summary` lines; returns exit status. */
struct demo_paths {
    char cert[320], key[320], ca[320];
};

/* The demo client's options: its certificate and key, the demo CA, trace as asked. */
static void client_opts(const struct demo *d, struct common_opts *co, struct peer_tag *tag,
                        struct demo_paths *p)
{
    memset(co, 0, sizeof(*co));
    memset(tag, 0, sizeof(*tag));
    snprintf(tag->label, sizeof(tag->label), "client");
    path(p->cert, sizeof(p->cert), d, "client.pem");
    path(p->key, sizeof(p->key), d, "client.key");
    path(p->ca, sizeof(p->ca), d, "ca.pem");
    co->cert = p->cert;
    co->key = p->key;
    co->ca = p->ca;
    co->trace = d->trace;
    co->timeout_s = 10;
}

static int run_client(const struct demo *d, const char *port, char *summary, size_t cap,
                      size_t *echoed, mtls_session **sess)
{
    struct common_opts co;
    struct tool_cfg tc;
    struct peer_tag tag;
    struct demo_paths paths;
    char line[1024];
    int status = EXIT_FAIL;
    mtls_conn *conn = NULL;
    int fd = -1;

    client_opts(d, &co, &tag, &paths);
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
    mtls_conn_set_userdata(conn, &tag);
    mtls_err err = handshake_until(conn, fd, deadline);
    const char *stage = "handshake";
    if (err != MTLS_OK) {
        goto fail;
    }

    /* Echo: send a message, read until it all came back. */
    char msg[128], back[128];
    int len = snprintf(msg, sizeof(msg), "hello from the mtls demo, pid %d", (int)getpid());
    size_t sent = 0, got = 0;
    stage = "echo";
    while (sent < (size_t)len) {
        size_t n = 0;
        err = mtls_fd_write(conn, fd, msg + sent, (size_t)len - sent, &n);
        sent += n;
        if (err == MTLS_ERR_WANT_WRITE && wait_fd(fd, err, deadline) <= 0) {
            err = MTLS_ERR_TIMEOUT;
        }
        if (err != MTLS_OK && err != MTLS_ERR_WANT_WRITE) {
            goto fail;
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
            goto fail;
        }
    }
    if (memcmp(msg, back, (size_t)len) != 0) {
        say("the echo differs from the message sent; something is badly wrong");
        goto out;
    }
    *echoed = got;

    /* Close: our close_notify, then wait for the server's. */
    stage = "closing";
    err = close_until(conn, fd, deadline);
    while (err == MTLS_OK || mtls_err_is_blocked(err)) {
        size_t n = 0;
        err = mtls_fd_read(conn, fd, back, sizeof(back), &n);
        if (mtls_err_is_blocked(err) && wait_fd(fd, err, deadline) <= 0) {
            err = MTLS_ERR_TIMEOUT;
        }
    }
    if (err != MTLS_ERR_CLOSED) {
        goto fail;
    }

    const char *gname = mtls_group_name(mtls_conn_group(conn));
    const char *sig = mtls_sigalg_name(mtls_conn_server_sigalg(conn));
    const char *subject = mtls_conn_peer_subject(conn);
    const char *suite = mtls_suite_name(mtls_conn_cipher_suite(conn));
    snprintf(summary, cap,
             "  protocol          %s%s\n"
             "  cipher suite      %s\n"
             "  key exchange      %s\n"
             "  server signed     %s (ServerKeyExchange)\n"
             "  server identity   %s, verified by the client against the demo CA\n",
             version_name(mtls_conn_version(conn)),
             mtls_conn_ems(conn) ? ", extended master secret" : "", suite != NULL ? suite : "?",
             gname != NULL ? gname : "static RSA", sig != NULL ? sig : "none",
             subject != NULL ? subject : "?");
    *sess = mtls_conn_get_session(conn);
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

/* The reconnection: offer `sess`, handshake, close both ways.  Sets *resumed_by to "session
 * ticket", "session id" or NULL (a full handshake); returns the exit status. */
static int run_resume(const struct demo *d, const char *port, mtls_session *sess,
                      const char **resumed_by)
{
    struct common_opts co;
    struct tool_cfg tc;
    struct peer_tag tag;
    struct demo_paths paths;
    char line[1024];
    uint8_t sink[256];
    int status = EXIT_FAIL;
    mtls_conn *conn = NULL;
    mtls_err err = MTLS_OK;
    const char *stage = "handshake";

    client_opts(d, &co, &tag, &paths);
    *resumed_by = NULL;
    if (tool_config_new(&tc, &co, "client") != 0) {
        return EXIT_FAIL;
    }
    int64_t deadline = now_ms() + 10000;
    int fd = tcp_connect("127.0.0.1", port, 10);
    if (fd < 0) {
        goto out;
    }
    conn = mtls_client_new(tc.cfg, "localhost");
    if (conn == NULL) {
        say("cannot create a client connection (out of memory)");
        goto out;
    }
    mtls_conn_set_userdata(conn, &tag);
    if (sess != NULL) {
        (void)mtls_conn_set_session(conn, sess);
    }
    err = handshake_until(conn, fd, deadline);
    if (err != MTLS_OK) {
        goto fail;
    }
    if (mtls_conn_resumed(conn)) {
        *resumed_by = tag.resume_offer == RESUME_OFFER_TICKET ? "session ticket" : "session id";
    }
    stage = "closing";
    err = close_until(conn, fd, deadline);
    while (err == MTLS_OK || mtls_err_is_blocked(err)) {
        size_t n = 0;
        err = mtls_fd_read(conn, fd, sink, sizeof(sink), &n);
        if (mtls_err_is_blocked(err) && wait_fd(fd, err, deadline) <= 0) {
            err = MTLS_ERR_TIMEOUT;
        }
    }
    if (err != MTLS_ERR_CLOSED) {
        goto fail;
    }
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
    static const struct option opts[] = {
        {"keep", no_argument, NULL, 'k'},
        {"no-trace", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct demo d;
    int opt;

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
    const char *tmp = getenv("TMPDIR");
    snprintf(d.dir, sizeof(d.dir), "%s/mtls-demo-XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(d.dir) == NULL) {
        say("cannot create a temporary directory under %s: %s", tmp ? tmp : "/tmp",
            strerror(errno));
        return EXIT_FAIL;
    }
    path(d.log, sizeof(d.log), &d, "openssl.log");

    int status = EXIT_FAIL;
    printf("mtls demo: mutual TLS 1.2 on this machine\n\n");
    printf("[1/5] making a throwaway CA, a server certificate (localhost, 127.0.0.1) and a\n"
           "      client certificate (clientAuth), all ECDSA P-256, in %s\n",
           d.dir);
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
    printf("[2/5] starting a server on %s that requires a client certificate\n", where);
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
        _exit(run_server(&d, lfd, rep[1]));
    }
    close(lfd);
    close(rep[1]);
    printf("[3/5] client handshake%s\n", d.trace ? " (> sent, < received, * checked or decided;"
                                                   " both sides, in the seed's 15 steps)"
                                                 : "");
    fflush(stdout);
    char summary[2048] = "";
    size_t echoed = 0;
    mtls_session *sess = NULL;
    const char *resumed_by = NULL;
    int cst = run_client(&d, port, summary, sizeof(summary), &echoed, &sess);
    if (cst == EXIT_OK) {
        printf("[4/5] echoed %zu bytes and closed with close_notify both ways\n", echoed);
        printf("[5/5] reconnecting with the session just made%s\n",
               d.trace ? " (abbreviated handshake: no certificates, no key exchange)" : "");
        fflush(stdout);
        cst = run_resume(&d, port, sess, &resumed_by);
    }
    mtls_session_free(sess);
    int sst = wait_child(pid, 10000);
    char report[1024] = "";
    ssize_t rn = read(rep[0], report, sizeof(report) - 1);
    close(rep[0]);
    report[rn > 0 ? rn : 0] = '\0';
    if (cst != EXIT_OK) {
        goto out;
    }
    /* report: one line per connection: subject \t client sigalg \t bytes \t clean \t resumed */
    char *second = strchr(report, '\n');
    int server_resumed = 0;
    if (second != NULL) {
        *second++ = '\0';
        char *f = strrchr(second, '\t');
        server_resumed = f != NULL && f[1] == '1';
    }
    if (sst != EXIT_OK) {
        say("the demo server did not finish cleanly (status %d)", sst);
        goto out;
    }
    /* report: subject \t client sigalg \t bytes \t clean */
    char *subject = report, *csig = strchr(report, '\t');
    if (csig != NULL) {
        *csig++ = '\0';
        char *end = strchr(csig, '\t');
        if (end != NULL) {
            *end = '\0';
        }
    }
    printf("\nsummary\n%s"
           "  client signed     %s (CertificateVerify)\n"
           "  client identity   %s, verified by the server (client certificate required)\n"
           "  echo              %zu bytes sent, the same %zu bytes back\n"
           "  resumed           %s%s%s%s\n",
           summary, csig != NULL && csig[0] ? csig : "?", subject[0] ? subject : "(none reported)",
           echoed, echoed, resumed_by != NULL ? "yes (" : "no (full handshake)",
           resumed_by != NULL ? (strcmp(resumed_by, "session ticket") == 0 ? "ticket" : "id") : "",
           resumed_by != NULL ? ")" : "",
           resumed_by == NULL || server_resumed ? "" : " -- but the server did not see it");
    printf("\ntry it yourself: mtls server --help, mtls client --help%s\n",
           d.keep ? "" : " (mtls demo --keep keeps the certificates)");
    status = EXIT_OK;

out:
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
