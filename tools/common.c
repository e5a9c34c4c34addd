/*
 * common.c -- the parts of the `mtls` command that client, server and demo share.
 *
 * It owns: building an mtls_config from command-line options with one actionable line per
 * mistake (which file, which flag, what to do); the trace callback that prints the library's
 * what/detail strings with a direction and a step counter; the NSS key-log writer; turning a
 * failed connection into a sentence with a hint; and small socket, clock and process helpers.
 * Everything goes through include/mtls.h; diagnostics go to stderr only, one write(2) per line
 * so that lines from a forked server and its client never interleave mid-line.
 */
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void say(const char *fmt, ...)
{
    char line[2048];
    int n = snprintf(line, sizeof(line), "mtls: ");
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    (void)write_all(2, line, len);
}

int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            (void)poll(&pfd, 1, 1000);
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- trace and key log ---------------------------------------------------------------------- */

/* Handshake types (RFC 5246 7.4, RFC 8446 4), as mtls_trace_event.msg has them; a TLS 1.3
 * HelloRetryRequest is a ServerHello on the wire. */
enum { HS_SERVER_HELLO = 2, HS_CERTIFICATE = 11 };

void protection_label(char *out, size_t cap, int is_server, int sent, mtls_trace_protection p,
                      unsigned generation)
{
    char who = (sent != 0) == (is_server != 0) ? 's' : 'c'; /* the sender's key protects */
    switch (p) {
    case MTLS_PROTECTION_CLEAR:
        snprintf(out, cap, "clear");
        break;
    case MTLS_PROTECTION_TLS12:
        snprintf(out, cap, "%c write key", who);
        break;
    case MTLS_PROTECTION_HANDSHAKE:
        snprintf(out, cap, "%c hs traffic", who);
        break;
    case MTLS_PROTECTION_APPLICATION:
        snprintf(out, cap, "%c ap traffic %u", who, generation);
        break;
    default:
        snprintf(out, cap, "%s", "");
        break;
    }
}

/* One trace line per step, from the event: label, step number, direction, the message or step,
 * how its record crossed the wire (for messages and alerts), and the library's words. */
static void print_event(struct peer_tag *t, const mtls_conn *conn, const mtls_trace_event *ev)
{
    char line[4096], prot[32];
    int sent = ev->kind == MTLS_TRACE_SENT || ev->kind == MTLS_TRACE_ALERT_SENT;
    protection_label(prot, sizeof(prot), mtls_conn_is_server(conn), sent, ev->protection,
                     ev->generation);
    int n = snprintf(line, sizeof(line), "%-7s %2u %c %-19s %-14s %s", t != NULL ? t->label : "",
                     t != NULL ? ++t->steps : 0u, ev->dir, ev->what != NULL ? ev->what : "?", prot,
                     ev->detail != NULL ? ev->detail : "");
    if (n < 0) {
        return;
    }
    size_t len = (size_t)n < sizeof(line) - 1 ? (size_t)n : sizeof(line) - 2;
    line[len++] = '\n';
    (void)write_all(2, line, len);
}

/* The trace (--trace) and what the events tell the rest of the tool: whether a ClientHello
 * offered a saved session, by id or by ticket, and why the library did (not) resume (the
 * --reconnect report names them); the round trips until established and how our certificate
 * went (the demo's summary).  Read from the events' fields, not from the words. */
static void on_event(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    const struct tool_cfg *tc = arg;
    struct peer_tag *t = conn != NULL ? mtls_conn_userdata(conn) : NULL;

    if (tc->trace && conn != NULL) {
        print_event(t, conn, ev);
    }
    if (t == NULL) {
        return;
    }
    if (!t->established) {
        if (ev->kind == MTLS_TRACE_RECEIVED && t->last_dir == '>') {
            t->round_trips++;
        }
        if (ev->kind == MTLS_TRACE_SENT || ev->kind == MTLS_TRACE_RECEIVED) {
            t->last_dir = ev->dir;
        }
        t->established = ev->kind == MTLS_TRACE_ESTABLISHED;
    }
    if (ev->kind == MTLS_TRACE_SENT && ev->msg == HS_CERTIFICATE) {
        t->cert_protection = ev->protection;
    }
    if (ev->kind == MTLS_TRACE_RECEIVED && ev->msg == HS_SERVER_HELLO) {
        t->server_hellos++;
    }
    if (ev->kind != MTLS_TRACE_DECISION) {
        return;
    }
    if (ev->decision == MTLS_DECISION_RESUME_OFFERED) {
        t->resume_offer = ev->flags & MTLS_TRACE_TICKET ? RESUME_OFFER_TICKET : RESUME_OFFER_ID;
    } else if (ev->decision == MTLS_DECISION_RESUME_DECLINED ||
               ev->decision == MTLS_DECISION_RESUMED) {
        snprintf(t->resume_note, sizeof(t->resume_note), "%s", ev->detail);
    }
}

static void on_keylog(void *arg, const mtls_conn *conn, const char *text)
{
    const struct tool_cfg *tc = arg;
    char line[512];
    (void)conn;

    int n = snprintf(line, sizeof(line), "%s\n", text);
    if (n > 0 && (size_t)n < sizeof(line) && tc->keylog_fd >= 0) {
        /* One write with O_APPEND: lines of concurrent connections never mix. */
        (void)write_all(tc->keylog_fd, line, (size_t)n);
    }
}

/* ---- config --------------------------------------------------------------------------------- */

/* Read up to 1 MiB of a file for a content check; NULL (and a message) when unreadable. */
static char *slurp(const char *path, const char *flag)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        say("cannot read %s file '%s': %s", flag, path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL && len < cap) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            say("cannot read %s file '%s': %s", flag, path, strerror(errno));
            free(buf);
            buf = NULL;
            break;
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
    }
    close(fd);
    if (buf != NULL) {
        buf[len] = '\0';
    }
    return buf;
}

static void list_suites(char *out, size_t cap)
{
    uint16_t all_suites[64];
    size_t n_suites = mtls_supported_suites(all_suites, sizeof(all_suites) / sizeof(all_suites[0]));
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n_suites && i < sizeof(all_suites) / sizeof(all_suites[0]); i++) {
        const char *name = mtls_suite_name(all_suites[i]);
        if (name != NULL && len < cap) {
            int n = snprintf(out + len, cap - len, "%s%s", len ? " " : "", name);
            len += n > 0 ? (size_t)n : 0;
        }
    }
}

/* ---- keys and their passphrases -------------------------------------------------------------- */

/* Set when tool_passphrase said why it gave nothing: the library's sentence that follows
 * ("... the passphrase callback gave no passphrase") would only repeat it, in API words. */
static int pass_said;

/* The passphrase callback of the tool: the first line of --key-pass-file, or the value of the
 * variable --key-pass-env names.  Never an argument: the command line of a running program is
 * visible to every user of the machine (ps, /proc/PID/cmdline) and shells write it to their
 * history; a file can be mode 0600, and /proc/PID/environ is readable by the owner only. */
static int tool_passphrase(void *arg, char *buf, size_t cap, const char *what)
{
    const struct common_opts *o = arg;
    pass_said = 1; /* until it returns a passphrase */
    if (o->key_pass_env != NULL) {
        const char *v = getenv(o->key_pass_env);
        if (v == NULL) {
            say("--key-pass-env %s: the environment variable %s is not set, and %s needs %s: "
                "set %s where mtls is started, or give --key-pass-file FILE",
                o->key_pass_env, o->key_pass_env, what,
                strncmp(what, "pkcs11:", 7) == 0 ? "the token's PIN" : "a passphrase",
                o->key_pass_env);
            return -1;
        }
        size_t n = strlen(v);
        if (n > cap) {
            say("--key-pass-env %s: the value is longer than %zu bytes (wanted for %s)",
                o->key_pass_env, cap, what);
            return -1;
        }
        memcpy(buf, v, n);
        pass_said = 0;
        return (int)n;
    }
    int fd = open(o->key_pass_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        say("cannot read --key-pass-file '%s': %s (wanted for %s)", o->key_pass_file,
            strerror(errno), what);
        return -1;
    }
    /* Read straight into mtls's buffer (which it wipes), one more byte than it holds to tell an
     * overlong line; the first line is the passphrase, without its "\n" or "\r\n". */
    size_t len = 0;
    int too_long = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0 || c == '\n') {
            break;
        }
        if (len == cap) {
            too_long = 1;
            break;
        }
        buf[len++] = c;
        c = 0;
    }
    close(fd);
    if (too_long) {
        say("--key-pass-file '%s': the first line is longer than %zu bytes (wanted for %s)",
            o->key_pass_file, cap, what);
        return -1;
    }
    if (len > 0 && buf[len - 1] == '\r') {
        len--;
    }
    pass_said = 0;
    return (int)len;
}

static void say_load_error(mtls_config *cfg, mtls_err err, const char *what)
{
    if (err == MTLS_ERR_NO_PASSPHRASE && pass_said) {
        return; /* tool_passphrase said why, naming the key */
    }
    const char *why = mtls_config_error_detail(cfg);
    if (why != NULL && why[0] != '\0') {
        say("%s", why);
    } else {
        say("cannot load %s: %s", what, mtls_err_str(err));
    }
}

static int load_cert_key(mtls_config *cfg, const struct common_opts *o)
{
    const char *cert = o->cert, *key = o->key;
    char *c = slurp(cert, "--cert");
    if (c == NULL) {
        return -1;
    }
    int has_cert = strstr(c, "-----BEGIN CERTIFICATE-----") != NULL;
    int key_in_cert = strstr(c, "PRIVATE KEY-----") != NULL;
    free(c);
    if (!has_cert && key_in_cert) {
        say("no certificate in --cert file '%s' (expected PEM '-----BEGIN CERTIFICATE-----'; "
            "it holds a private key: did you swap --cert and --key?)",
            cert);
        return -1;
    }
    mtls_err err;
    if (strncmp(key, "pkcs11:", 7) == 0) {
        /* RFC 7512: the key stays on the token; the library names what went wrong. */
        if (o->pkcs11_module != NULL &&
            (err = mtls_config_set_pkcs11_module(cfg, o->pkcs11_module)) != MTLS_OK) {
            say_load_error(cfg, err, "--pkcs11-module");
            return -1;
        }
        err = mtls_config_set_cert_chain_key_uri(cfg, cert, key);
        if (err != MTLS_OK) {
            say_load_error(cfg, err, key);
            return -1;
        }
        return 0;
    }
    /* Everything else the library judges and explains (an encrypted key without a passphrase, a
     * PKCS#12 file, an Ed25519 key, ...). */
    err = mtls_config_set_cert_chain_file(cfg, cert, key);
    if (err == MTLS_OK) {
        return 0;
    }
    if (err == MTLS_ERR_KEY_MISMATCH) {
        say("the private key in '%s' does not belong to the certificate in '%s'; pass the key "
            "that was generated with that certificate",
            key, cert);
    } else {
        say_load_error(cfg, err, cert);
    }
    return -1;
}

/* Our identity from --cert/--key or --p12, with the passphrase options. */
static int load_identity(mtls_config *cfg, const struct common_opts *o, int server)
{
    if (o->key_pass_file != NULL && o->key_pass_env != NULL) {
        say("--key-pass-file and --key-pass-env: give one of them");
        return -1;
    }
    if (o->p12 != NULL && (o->cert != NULL || o->key != NULL)) {
        say("--p12 holds the certificate chain and the key: give it instead of --cert and --key");
        return -1;
    }
    if ((o->cert == NULL) != (o->key == NULL)) {
        say("--cert and --key go together: give both the certificate and its private key");
        return -1;
    }
    if (o->cert == NULL && o->p12 == NULL) {
        if (server) {
            say("a server needs a certificate: use --cert FILE --key FILE or --p12 FILE ('mtls "
                "demo' shows a working setup)");
            return -1;
        }
        if (o->key_pass_file != NULL || o->key_pass_env != NULL) {
            say("--key-pass-file / --key-pass-env unlock a --key or --p12, and none is given");
            return -1;
        }
        return 0;
    }
    if (o->pkcs11_module != NULL && (o->key == NULL || strncmp(o->key, "pkcs11:", 7) != 0)) {
        say("--pkcs11-module goes with a PKCS#11 key: --key 'pkcs11:token=...;object=...'");
        return -1;
    }
    if (o->key_pass_file != NULL || o->key_pass_env != NULL) {
        (void)mtls_config_set_passphrase_callback(cfg, tool_passphrase, (void *)o);
    }
    pass_said = 0;
    if (o->p12 == NULL) {
        return load_cert_key(cfg, o);
    }
    mtls_err err = mtls_config_set_pkcs12_file(cfg, o->p12);
    if (err != MTLS_OK) {
        say_load_error(cfg, err, o->p12);
        return -1;
    }
    return 0;
}

static int load_ca(mtls_config *cfg, const char *ca)
{
    struct stat st;
    if (stat(ca, &st) != 0) {
        say("cannot read --ca '%s': %s", ca, strerror(errno));
        return -1;
    }
    mtls_err err =
        S_ISDIR(st.st_mode) ? mtls_config_set_ca_dir(cfg, ca) : mtls_config_set_ca_file(cfg, ca);
    if (err != MTLS_OK) {
        /* The library's sentence names what the file holds (a PKCS#12 file, an Ed25519 CA). */
        const char *why = mtls_config_error_detail(cfg);
        if (why != NULL && why[0] != '\0') {
            say("cannot load CA certificates: %s", why);
        } else {
            say("cannot load CA certificates from '%s': %s", ca, mtls_err_str(err));
        }
        return -1;
    }
    return 0;
}

static int load_crls(mtls_config *cfg, const struct common_opts *o, int server);

int tool_config_new(struct tool_cfg *tc, const struct common_opts *o, const char *role)
{
    mtls_err err;
    int server = strcmp(role, "server") == 0;

    memset(tc, 0, sizeof(*tc));
    tc->keylog_fd = -1;
    tc->trace = o->trace;
    tc->cfg = mtls_config_new();
    if (tc->cfg == NULL) {
        say("out of memory");
        return -1;
    }
    if (load_identity(tc->cfg, o, server) != 0) {
        goto fail;
    }
    if (o->ca != NULL && load_ca(tc->cfg, o->ca) != 0) {
        goto fail;
    }
    if (load_crls(tc->cfg, o, server) != 0) {
        goto fail;
    }
    /* Unknown names in a list are skipped by the library (with a detail naming them): say so. */
    if (o->ciphers != NULL && (err = mtls_config_set_ciphers(tc->cfg, o->ciphers)) != MTLS_OK) {
        char names[1024];
        list_suites(names, sizeof(names));
        say("--ciphers '%s': %s; supported: %s", o->ciphers, mtls_config_error_detail(tc->cfg),
            names);
        goto fail;
    }
    if (o->ciphers != NULL && mtls_config_error_detail(tc->cfg)[0] != '\0') {
        say("warning: --ciphers: %s", mtls_config_error_detail(tc->cfg));
    }
    if (o->groups != NULL && (err = mtls_config_set_groups(tc->cfg, o->groups)) != MTLS_OK) {
        say("--groups '%s': %s; supported: x25519 secp256r1 secp384r1", o->groups,
            mtls_config_error_detail(tc->cfg));
        goto fail;
    }
    if (o->groups != NULL && mtls_config_error_detail(tc->cfg)[0] != '\0') {
        say("warning: --groups: %s", mtls_config_error_detail(tc->cfg));
    }
    if (o->alpn != NULL && (err = mtls_config_set_alpn(tc->cfg, o->alpn)) != MTLS_OK) {
        say("--alpn '%s': %s; give protocol names separated by commas (h2,http/1.1)", o->alpn,
            mtls_err_str(err));
        goto fail;
    }
    if (o->version != 0 && mtls_config_set_versions(tc->cfg, o->version, o->version) != MTLS_OK) {
        say("--tls1.2 / --tls1.3: %s", mtls_config_error_detail(tc->cfg));
        goto fail;
    }
    if (o->require_ems) {
        (void)mtls_config_set_require_ems(tc->cfg, 1);
    }
    for (int i = 0; i < o->n_spiffe_ids; i++) {
        if (mtls_config_add_spiffe_id(tc->cfg, o->spiffe_ids[i]) != MTLS_OK) {
            say("--spiffe-id: %s", mtls_config_error_detail(tc->cfg));
            goto fail;
        }
    }
    for (int i = 0; i < o->n_spiffe_tds; i++) {
        if (mtls_config_add_spiffe_trust_domain(tc->cfg, o->spiffe_tds[i]) != MTLS_OK) {
            say("--spiffe-trust-domain: %s", mtls_config_error_detail(tc->cfg));
            goto fail;
        }
    }
    /* A client always listens to the events (the --reconnect report, the demo's summary); a
     * server only with --trace, since every step is formatted for a listener. */
    if (o->trace || !server) {
        (void)mtls_config_set_trace_events(tc->cfg, on_event, tc);
    }
    const char *keylog = o->keylog;
    if (keylog == NULL) {
        keylog = getenv("SSLKEYLOGFILE");
        if (keylog != NULL && keylog[0] == '\0') {
            keylog = NULL;
        }
    }
    if (keylog != NULL) {
        tc->keylog_fd = open(keylog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (tc->keylog_fd < 0) {
            say("cannot open key log file '%s': %s", keylog, strerror(errno));
            goto fail;
        }
        (void)mtls_config_set_keylog(tc->cfg, on_keylog, tc);
    }
    return 0;

fail:
    tool_config_free(tc);
    return -1;
}

int tool_config_rebuild(struct tool_cfg *tc, const struct common_opts *o, const char *role,
                        mtls_config **out)
{
    /* tool_config_new fills a tool_cfg from nothing: let it, then keep its config aside and its
     * key log fd (the file reopened: rotated logs start anew) for every config, old and new,
     * whose callbacks all point at `tc`.  The tool is single-threaded: no callback runs
     * meanwhile. */
    struct tool_cfg running = *tc;
    if (tool_config_new(tc, o, role) != 0) {
        *tc = running;
        return -1;
    }
    *out = tc->cfg;
    tc->cfg = running.cfg;
    if (running.keylog_fd >= 0) {
        close(running.keylog_fd);
    }
    return 0;
}

void tool_config_free(struct tool_cfg *tc)
{
    mtls_config_free(tc->cfg);
    tc->cfg = NULL;
    if (tc->keylog_fd >= 0) {
        close(tc->keylog_fd);
        tc->keylog_fd = -1;
    }
}

/* ---- parsing -------------------------------------------------------------------------------- */

int split_hostport(const char *s, char *host, size_t hostcap, char *port, size_t portcap)
{
    const char *colon;
    const char *h = s;
    size_t hlen;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':') {
            return -1;
        }
        h = s + 1;
        hlen = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) {
            return -1;
        }
        hlen = (size_t)(colon - s);
    }
    if (hlen >= hostcap || strlen(colon + 1) >= portcap || colon[1] == '\0') {
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    strcpy(port, colon + 1);
    for (const char *p = port; *p; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
    }
    return atoi(port) > 65535 ? -1 : 0;
}

int parse_uint(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 1000000000L) {
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* ---- time and sockets ----------------------------------------------------------------------- */

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int wait_fd(int fd, mtls_err want, int64_t deadline_ms)
{
    struct pollfd pfd = {.fd = fd, .events = want == MTLS_ERR_WANT_WRITE ? POLLOUT : POLLIN};
    for (;;) {
        int wait = -1;
        if (deadline_ms >= 0) {
            int64_t left = deadline_ms - now_ms();
            if (left <= 0) {
                return 0;
            }
            wait = left > 60000 ? 60000 : (int)left;
        }
        int r = poll(&pfd, 1, wait);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -1;
        }
        if (r > 0) {
            return 1;
        }
    }
}

int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int tcp_connect(const char *host, const char *port, int timeout_s)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int64_t deadline = timeout_s > 0 ? now_ms() + (int64_t)timeout_s * 1000 : -1;
    int gai = getaddrinfo(host, port, &hints, &res);
    int fd = -1, saved = 0;

    if (gai != 0) {
        say("cannot resolve '%s': %s; check the host name", host, gai_strerror(gai));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        set_nonblocking(fd);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        if (errno == EINPROGRESS) {
            int r = wait_fd(fd, MTLS_ERR_WANT_WRITE, deadline);
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
                break;
            }
            saved = r == 0 ? ETIMEDOUT : soerr != 0 ? soerr : errno;
        } else {
            saved = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        say("cannot connect to %s:%s: %s; %s", host, port, strerror(saved),
            saved == ECONNREFUSED ? "is a server listening on that port?"
            : saved == ETIMEDOUT  ? "the host did not answer (firewall? wrong address?)"
                                  : "check the address and your network");
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int tcp_listen(const char *host, const char *port, int backlog)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host != NULL ? host : "127.0.0.1", port, &hints, &res);
    int fd = -1, saved = 0;

    if (gai != 0) {
        say("cannot resolve listen address '%s': %s", host != NULL ? host : "", gai_strerror(gai));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0) {
            break;
        }
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        say("cannot listen on %s:%s: %s%s", host != NULL ? host : "127.0.0.1", port,
            strerror(saved),
            saved == EADDRINUSE ? "; another program uses that port: choose another one "
                                  "(port 0 picks a free one)"
            : saved == EACCES   ? "; ports below 1024 need root: choose a port above 1024"
                                : "");
        return -1;
    }
    set_nonblocking(fd);
    return fd;
}

void sock_name(int fd, int peer, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char addr[INET6_ADDRSTRLEN] = "?";
    int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
                 : getsockname(fd, (struct sockaddr *)&ss, &sl);

    if (r != 0) {
        snprintf(out, cap, "?");
        return;
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
        snprintf(out, cap, "[%s]:%u", addr, ntohs(s6->sin6_port));
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
        snprintf(out, cap, "%s:%u", addr, ntohs(s4->sin_port));
    }
}

/* ---- explaining ----------------------------------------------------------------------------- */

const char *version_name(uint16_t v)
{
    switch (v) {
    case 0x0303:
        return "TLS 1.2";
    case 0x0304:
        return "TLS 1.3";
    case 0:
        return "none";
    default:
        return "unknown version";
    }
}

void conn_summary(char *out, size_t cap, const mtls_conn *conn)
{
    if (mtls_conn_resumed(conn)) {
        /* An abbreviated handshake has no signature of its own, and in TLS 1.2 no key exchange;
         * TLS 1.3 resumes with a fresh (EC)DHE (psk_dhe_ke) unless psk_ke was allowed. */
        const char *suite = mtls_suite_name(mtls_conn_cipher_suite(conn));
        const char *alpn = mtls_conn_alpn(conn);
        uint16_t group = mtls_conn_group(conn);
        const char *gname = group != 0 ? mtls_group_name(group) : NULL;
        snprintf(out, cap, "%s, %s, resumed session (abbreviated handshake)%s%s%s%s",
                 version_name(mtls_conn_version(conn)), suite != NULL ? suite : "?",
                 gname != NULL ? ", key exchange " : "", gname != NULL ? gname : "",
                 alpn != NULL ? ", ALPN " : "", alpn != NULL ? alpn : "");
        return;
    }
    const char *suite = mtls_suite_name(mtls_conn_cipher_suite(conn));
    uint16_t group = mtls_conn_group(conn);
    const char *gname = group != 0 ? mtls_group_name(group) : NULL;
    const char *sig = mtls_sigalg_name(mtls_conn_server_sigalg(conn));
    const char *alpn = mtls_conn_alpn(conn);

    snprintf(out, cap, "%s, %s, %s%s%s%s%s%s", version_name(mtls_conn_version(conn)),
             suite != NULL ? suite : "?", group != 0 ? "key exchange " : "static RSA key exchange",
             gname != NULL ? gname : "", sig != NULL ? ", signed with " : "",
             sig != NULL ? sig : "", alpn != NULL ? ", ALPN " : "", alpn != NULL ? alpn : "");
}

int crl_opt(struct common_opts *o, int opt, const char *arg)
{
    switch (opt) {
    case OPT_CRL:
        if (o->n_crls >= TOOL_MAX_CRL) {
            say("at most %d --crl options (put several CRLs in one file, or use --crl-dir)",
                TOOL_MAX_CRL);
            return -1;
        }
        o->crls[o->n_crls++] = arg;
        return 0;
    case OPT_CRL_DIR:
        o->crl_dir = arg;
        return 0;
    case OPT_CRL_CHECK:
        if (strcmp(arg, "leaf") == 0) {
            o->crl_check = 1;
        } else if (strcmp(arg, "chain") == 0) {
            o->crl_check = 2;
        } else {
            say("--crl-check wants leaf or chain, not '%s'", arg);
            return -1;
        }
        return 0;
    default:
        o->crl_soft_fail = 1;
        return 0;
    }
}

int crl_opts_check(const struct common_opts *o)
{
    if ((o->crl_check || o->crl_soft_fail) && o->n_crls == 0 && o->crl_dir == NULL) {
        say("%s needs CRLs to check against: add --crl FILE or --crl-dir DIR",
            o->crl_check ? "--crl-check" : "--crl-soft-fail");
        return -1;
    }
    return 0;
}

/* --crl, --crl-dir, --crl-check, --crl-soft-fail into the config. */
/* A CRL that loaded but is not in force (out of date, not valid yet): the library says which,
 * and every peer it covers will be refused until a current one is loaded -- say so now, at
 * startup and on each reload, rather than only in every refused connection's line. */
static void warn_crl(const mtls_config *cfg, const char *opt, int server)
{
    const char *why = mtls_config_error_detail(cfg);
    if (why[0] != '\0') {
        say("warning: %s %s: fetch a current CRL from the CA%s, or check this clock", opt, why,
            server ? " and reload (kill -HUP)" : "");
    }
}

static int load_crls(mtls_config *cfg, const struct common_opts *o, int server)
{
    for (int i = 0; i < o->n_crls; i++) {
        if (mtls_config_set_crl_file(cfg, o->crls[i]) != MTLS_OK) {
            say("--crl %s: %s", o->crls[i], mtls_config_error_detail(cfg));
            return -1;
        }
        warn_crl(cfg, "--crl", server);
    }
    if (o->crl_dir != NULL && mtls_config_set_crl_dir(cfg, o->crl_dir) != MTLS_OK) {
        say("--crl-dir %s: %s", o->crl_dir, mtls_config_error_detail(cfg));
        return -1;
    }
    if (o->crl_dir != NULL) {
        warn_crl(cfg, "--crl-dir", server);
    }
    if (o->crl_check || o->crl_soft_fail) {
        unsigned mode = o->crl_check == 2 ? MTLS_REVOCATION_CHAIN : MTLS_REVOCATION_LEAF;
        if (o->crl_soft_fail) {
            mode |= MTLS_REVOCATION_SOFT_FAIL;
        }
        (void)mtls_config_set_revocation_check(cfg, mode);
    }
    return 0;
}

int add_spiffe_opt(struct common_opts *o, int td, const char *arg)
{
    int *n = td ? &o->n_spiffe_tds : &o->n_spiffe_ids;
    if (*n >= TOOL_MAX_SPIFFE) {
        say("at most %d %s options", TOOL_MAX_SPIFFE, td ? "--spiffe-trust-domain" : "--spiffe-id");
        return -1;
    }
    (td ? o->spiffe_tds : o->spiffe_ids)[(*n)++] = arg;
    return 0;
}

/* "2026-01-02 03:04:05 UTC" */
static void utc_time(char *out, size_t cap, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
        snprintf(out, cap, "?");
    }
}

/* "expires 2027-01-05 (in 29 days)", "EXPIRED 2026-01-05 (3 days ago)" (dates UTC) */
static void expiry(char *out, size_t cap, int64_t not_after)
{
    time_t t = (time_t)not_after;
    struct tm tm;
    char date[32] = "?";
    if (gmtime_r(&t, &tm) != NULL) {
        strftime(date, sizeof(date), "%Y-%m-%d", &tm);
    }
    int64_t left = not_after - (int64_t)time(NULL);
    int64_t a = left < 0 ? -left : left;
    int64_t n = a >= 86400 ? a / 86400 : a >= 3600 ? a / 3600 : a / 60;
    const char *unit = a >= 86400 ? "day" : a >= 3600 ? "hour" : "minute";
    if (left >= 0) {
        snprintf(out, cap, "expires %s (in %lld %s%s)", date, (long long)n, unit,
                 n == 1 ? "" : "s");
    } else {
        snprintf(out, cap, "EXPIRED %s (%lld %s%s ago)", date, (long long)n, unit,
                 n == 1 ? "" : "s");
    }
}

void describe_peer_cert(char *out, size_t cap, const mtls_conn *conn)
{
    mtls_cert_info info = MTLS_CERT_INFO_INIT;
    char when[96];
    out[0] = '\0';
    if (mtls_conn_peer_cert_info(conn, 0, &info) != MTLS_OK) {
        return;
    }
    const char *id = mtls_conn_peer_spiffe_id(conn);
    const char *name = info.subject[0] != '\0' ? info.subject
                       : id != NULL            ? ""
                       : info.san_count > 0    ? info.sans[0].text
                                               : "(no subject, no names)";
    expiry(when, sizeof(when), info.not_after);
    snprintf(out, cap, "%s%s%s%s%s, serial %s, issued by %s, %s", name,
             id != NULL && name[0] != '\0' ? " (" : "", id != NULL ? "SPIFFE ID " : "",
             id != NULL ? id : "", id != NULL && name[0] != '\0' ? ")" : "", info.serial_hex,
             info.issuer[0] != '\0' ? info.issuer : "(empty issuer)", when);
}

void describe_peer_ocsp(char *out, size_t cap, const mtls_conn *conn)
{
    static const char *const names[] = {"none", "good", "revoked", "unknown", "invalid",
                                        "not checked"};
    mtls_ocsp_info info = MTLS_OCSP_INFO_INIT;
    char produced[40], next[40];
    if (mtls_conn_peer_ocsp(conn, &info) != MTLS_OK || info.status == MTLS_OCSP_NONE) {
        snprintf(out, cap, "none (%s)", mtls_conn_resumed(conn)
                                            ? "a resumed session: no certificate, no staple"
                                            : "the server stapled no OCSP response");
        return;
    }
    utc_time(produced, sizeof(produced), info.produced_at);
    utc_time(next, sizeof(next), info.next_update);
    snprintf(out, cap, "%s, produced %s, next update %s (%zu bytes)",
             (unsigned)info.status < sizeof(names) / sizeof(names[0]) ? names[info.status] : "?",
             produced, info.next_update ? next : "(none)", info.response_len);
}

/* What to do about an alert the peer sent us. */
static const char *alert_hint(int alert, const mtls_conn *conn, const struct common_opts *o,
                              int is_server)
{
    int have_cert = o != NULL && o->cert != NULL;

    switch (alert) {
    case 40: /* handshake_failure */
        if (is_server) {
            return "the client found no acceptable parameters (cipher suites, groups, signature "
                   "algorithms); compare with --trace";
        }
        if (!have_cert && conn != NULL && mtls_conn_cert_requested(conn)) {
            return "it requires a client certificate; use --cert and --key";
        }
        if (!have_cert) {
            return "it probably requires a client certificate (use --cert and --key), or shares "
                   "no cipher suite or group with us (see --ciphers, --groups, --trace)";
        }
        return "it accepts none of our parameters (cipher suites, groups, signature algorithms); "
               "see --ciphers, --groups and --trace";
    case 116: /* certificate_required */
        return is_server ? "" : "it requires a client certificate; use --cert and --key";
    case 48: /* unknown_ca */
        return is_server ? "the client does not trust the CA that issued our certificate; give "
                           "the client our CA certificate (its --ca or -CAfile)"
                         : "it does not trust the CA that issued our client certificate (--cert); "
                           "use a certificate from a CA the server trusts";
    case 44: /* certificate_revoked */
        return is_server ? "the client found our certificate (--cert) revoked, by its CRL or our "
                           "stapled OCSP response: get a new certificate"
                         : "it found our client certificate (--cert) revoked by its CRL: get a "
                           "new certificate";
    case 113: /* bad_certificate_status_response */
        if (is_server && (o == NULL || !o->ocsp)) {
            /* Nothing stapled: the client asked and needs one (RFC 7633 must-staple, or its own
             * policy), so no staple of ours can be what it refused. */
            return "the client requires a stapled OCSP response (our certificate is must-staple, "
                   "or the client demands one) and we staple none: staple one with "
                   "--ocsp-staple FILE (openssl ocsp -respout writes it)";
        }
        return is_server ? "the client refused our stapled OCSP response (--ocsp-staple): out of "
                           "date, not about our certificate, or not signed by its CA; fetch a "
                           "new one (openssl ocsp -respout)"
                         : "";
    case 46: /* certificate_unknown: what mtls sends when its own CRL cannot decide */
        return is_server ? "the client rejected our certificate (--cert): check its name, dates "
                           "and that the client trusts its CA; a client that checks revocation "
                           "also sends this when it has no current CRL of our CA"
                         : "it rejected our client certificate (--cert): check its dates, its "
                           "extendedKeyUsage (clientAuth) and that the server trusts its CA; a "
                           "server that checks revocation also sends this when it has no current "
                           "CRL of our CA (an out-of-date --crl: its log says which)";
    case 42:
    case 43:
    case 45: /* bad/unsupported/expired certificate */
        return is_server ? "the client rejected our certificate (--cert): check its name, dates "
                           "and that the client trusts its CA"
                         : "it rejected our client certificate (--cert): check its dates, its "
                           "extendedKeyUsage (clientAuth) and that the server trusts its CA";
    case 49: /* access_denied */
        return is_server ? "the client refused the identity in our certificate (an mtls client "
                           "with --spiffe-id / --spiffe-trust-domain accepts only those IDs)"
                         : "it refused our identity (its access control, such as the SPIFFE IDs "
                           "it accepts, does not admit our --cert)";
    case 70:
        return "it accepts none of the versions we speak (see --tls1.2, --tls1.3)";
    case 71:
        return "it requires stronger parameters (larger keys, other suites)";
    case 112:
        return "it does not serve the name we asked for; use --servername NAME";
    case 120:
        return "no application protocol in common; check --alpn";
    case 20:
    case 51:
        return "the keys or transcript did not agree (a bug on one side, or interference)";
    case 80:
        return "the peer failed internally; see its logs";
    default:
        return "";
    }
}

/* What to do about an error we found ourselves. */
static const char *err_hint(mtls_err err, const struct common_opts *o, int is_server)
{
    switch (err) {
    case MTLS_ERR_CERT_UNKNOWN_CA:
    case MTLS_ERR_CERT_SELF_SIGNED:
        return is_server ? "add the CA that issued the client certificate with --ca"
                         : "use --ca FILE to trust the CA that issued it (or --insecure, for a "
                           "test only)";
    case MTLS_ERR_CERT_HOSTNAME:
        return "use --servername NAME to expect a name the certificate holds";
    case MTLS_ERR_CERT_EXPIRED:
    case MTLS_ERR_CERT_NOT_YET_VALID:
        return is_server ? "the client must renew its certificate (or check this clock)"
                         : "check the clock; use --ca to trust another CA";
    case MTLS_ERR_CERT_EKU:
        return is_server ? "the client certificate needs extendedKeyUsage clientAuth"
                         : "the certificate is not for a TLS server (extendedKeyUsage serverAuth)";
    case MTLS_ERR_CERT_WEAK_KEY:
    case MTLS_ERR_CERT_WEAK_SIGNATURE:
        return "the peer needs a new certificate (RSA >= 2048 bits, SHA-256 or better)";
    case MTLS_ERR_NO_CLIENT_CERT:
    case MTLS_ERR_CERT_REQUIRED:
        return "the client must present one (mtls client --cert FILE --key FILE), or run the "
               "server with --verify-client optional";
    case MTLS_ERR_NO_SHARED_CIPHER:
    case MTLS_ERR_NO_SHARED_GROUP:
    case MTLS_ERR_NO_SHARED_SIGALG:
        return "compare our --ciphers/--groups with what the peer offers (--trace shows both)";
    case MTLS_ERR_CERT_WRONG_TYPE:
        return "the certificate's key type does not fit the suite; use an ECDSA certificate for "
               "ECDHE-ECDSA suites and an RSA one for the others";
    case MTLS_ERR_PROTOCOL_VERSION:
        return "the peer must enable TLS 1.2 or TLS 1.3 (whichever --tls1.2 / --tls1.3 leaves)";
    case MTLS_ERR_DOWNGRADE:
        return "something between us and the server removed our TLS 1.3 offer (an attack, or a "
               "broken middlebox); --tls1.2 connects anyway, without that protection";
    case MTLS_ERR_EMS_REQUIRED:
        return "the peer lacks extended master secret (RFC 7627), which --require-ems demands; "
               "upgrade the peer or drop --require-ems";
    case MTLS_ERR_NO_ALPN:
        return "check --alpn on both sides";
    case MTLS_ERR_CERT_SPIFFE_ID:
        return "--spiffe-id / --spiffe-trust-domain accept only X.509-SVIDs (one valid "
               "spiffe:// URI name, not a CA)";
    case MTLS_ERR_CERT_SPIFFE_DENIED:
        return "accept that ID with --spiffe-id ID or its trust domain with "
               "--spiffe-trust-domain TD";
    case MTLS_ERR_CERT_REVOKED:
        return is_server ? "the client needs a new certificate"
                         : "the server's certificate is revoked: do not trust it";
    case MTLS_ERR_CRL_MISSING:
        return "add the CRL of that issuer (--crl, --crl-dir), check only the leaf (--crl-check "
               "leaf), or accept certificates without one (--crl-soft-fail)";
    case MTLS_ERR_CRL_EXPIRED:
    case MTLS_ERR_CRL_NOT_YET_VALID:
        /* The server refuses every client of that CA until then: say whose fault it is. */
        return is_server ? "the fault is our CRL, not the client's certificate: fetch a current "
                           "CRL from the CA and reload (kill -HUP), or check this clock; until "
                           "then every client certificate it covers is refused"
                         : "fetch a current CRL from the CA (or check this clock)";
    case MTLS_ERR_CRL_BAD_SIGNATURE:
        return "the CRL given with --crl is not signed by that certificate's issuer";
    case MTLS_ERR_OCSP_MISSING:
        /* Without --ocsp-required, only a must-staple certificate (RFC 7633) makes one required. */
        if (o != NULL && o->ocsp == 1) {
            return "the server staples no OCSP response (openssl s_client -status shows it) and "
                   "its certificate is must-staple: the server must staple one (mtls server "
                   "--ocsp-staple FILE)";
        }
        return "the server staples no OCSP response (openssl s_client -status shows it); drop "
               "--ocsp-required, or have the server staple one";
    case MTLS_ERR_OCSP_BAD_RESPONSE:
    case MTLS_ERR_OCSP_NOT_FOR_CERT:
    case MTLS_ERR_OCSP_BAD_SIGNATURE:
    case MTLS_ERR_OCSP_UNAUTHORIZED:
    case MTLS_ERR_OCSP_EXPIRED:
    case MTLS_ERR_OCSP_NOT_YET_VALID:
    case MTLS_ERR_OCSP_CERT_UNKNOWN:
        return "the server's stapled OCSP response is not one we can accept; it must fetch a "
               "current one from its CA (without --ocsp, no staple is asked for)";
    default:
        return "";
    }
}

void explain_failure(char *out, size_t cap, const mtls_conn *conn, mtls_err err, int saved_errno,
                     const char *stage, const char *peer, const struct common_opts *o,
                     int is_server)
{
    const char *other = is_server ? "the client" : "the server";
    const char *detail = conn != NULL ? mtls_conn_error_detail(conn) : "";
    const char *what = detail != NULL && detail[0] != '\0' ? detail : mtls_err_str(err);
    int alert = conn != NULL ? mtls_conn_alert_received(conn) : -1;
    int handshaking = strcmp(stage, "handshake") == 0;

    if (err == MTLS_ERR_IO) {
        snprintf(out, cap, "%s with %s failed: %s%s", stage, peer, strerror(saved_errno),
                 saved_errno == ECONNRESET || saved_errno == EPIPE
                     ? handshaking ? "; the peer dropped the connection (is it a TLS peer "
                                     "on that port?)"
                                   : "; the peer dropped the connection"
                     : "");
        return;
    }
    if (err == MTLS_ERR_EOF) {
        /* Browsers drop the connection after a CertificateRequest to let the user pick a
         * certificate, then reconnect: say so rather than suggest the wrong protocol. */
        if (handshaking && is_server && conn != NULL && mtls_conn_cert_requested(conn)) {
            snprintf(out, cap, "%s with %s ended: %s closed the connection after our "
                     "CertificateRequest (browsers do this to choose a certificate, then "
                     "reconnect)", stage, peer, other);
            return;
        }
        snprintf(out, cap, "%s with %s failed: %s closed the connection %s", stage, peer, other,
                 handshaking ? "during the handshake without an alert; does it speak TLS 1.2 "
                               "or 1.3 on that port?"
                             : "without close_notify; the data may be truncated");
        return;
    }
    if (err == MTLS_ERR_TIMEOUT) {
        snprintf(out, cap, "%s with %s timed out: %s did not answer in time%s", stage, peer, other,
                 handshaking && !is_server ? "; is it a TLS server? (see --timeout)"
                                           : " (see --timeout)");
        return;
    }
    if (alert > 0 || (err == MTLS_ERR_PEER_ALERT && alert >= 0)) {
        const char *hint = alert_hint(alert, conn, o, is_server);
        snprintf(out, cap, "%s with %s failed: %s sent alert %s%s%s", stage, peer, other,
                 mtls_alert_name(alert), hint[0] ? ": " : "", hint);
        return;
    }
    const char *hint = err_hint(err, o, is_server);
    snprintf(out, cap, "%s with %s failed: %s%s%s", stage, peer, what, hint[0] ? "; " : "", hint);
}

/* ---- processes ------------------------------------------------------------------------------ */

int run_program(char *const argv[], const char *log_path)
{
    int pipefd[2];
    if (pipe(pipefd) != 0) {
        return -1;
    }
    (void)fcntl(pipefd[1], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        close(pipefd[0]);
        int nul = open("/dev/null", O_RDONLY);
        int log =
            open(log_path != NULL ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (nul >= 0) {
            dup2(nul, 0);
        }
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        execvp(argv[0], argv);
        int e = errno;
        (void)write(pipefd[1], &e, sizeof(e));
        _exit(127);
    }
    close(pipefd[1]);
    int child_errno = 0;
    ssize_t got;
    do {
        got = read(pipefd[0], &child_errno, sizeof(child_errno));
    } while (got < 0 && errno == EINTR);
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (got == (ssize_t)sizeof(child_errno)) {
        errno = child_errno;
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

mtls_err handshake_until(mtls_conn *conn, int fd, int64_t deadline_ms)
{
    for (;;) {
        mtls_err err = mtls_fd_handshake(conn, fd);
        if (!mtls_err_is_blocked(err)) {
            return err;
        }
        int r = wait_fd(fd, err, deadline_ms);
        if (r == 0) {
            return MTLS_ERR_TIMEOUT;
        }
        if (r < 0) {
            return MTLS_ERR_IO;
        }
    }
}

mtls_err close_until(mtls_conn *conn, int fd, int64_t deadline_ms)
{
    for (;;) {
        mtls_err err = mtls_fd_close(conn, fd);
        if (err != MTLS_ERR_WANT_WRITE) {
            return err;
        }
        int r = wait_fd(fd, err, deadline_ms);
        if (r <= 0) {
            return r == 0 ? MTLS_ERR_TIMEOUT : MTLS_ERR_IO;
        }
    }
}

int export_opt(struct common_opts *o, const char *arg)
{
    const char *colon = strchr(arg, ':');
    if (o->n_exports >= TOOL_MAX_EXPORT) {
        say("at most %d --export options", TOOL_MAX_EXPORT);
        return -1;
    }
    struct tool_export *e = &o->exports[o->n_exports];
    char num[16];
    const char *end = colon != NULL ? strchr(colon + 1, ':') : NULL;
    size_t nl = colon == NULL ? 0 : end != NULL ? (size_t)(end - colon - 1) : strlen(colon + 1);
    if (colon == NULL || colon == arg || nl == 0 || nl >= sizeof(num)) {
        say("--export wants LABEL:LEN[:CONTEXT] (EXPORTER-my-protocol:32), not '%s'", arg);
        return -1;
    }
    memcpy(num, colon + 1, nl);
    num[nl] = '\0';
    if (parse_uint(num, &e->len) != 0 || e->len < 1 || e->len > TOOL_MAX_EXPORT_LEN) {
        say("--export '%s': LEN wants a number of bytes from 1 to %d", arg, TOOL_MAX_EXPORT_LEN);
        return -1;
    }
    e->label = arg;
    e->label_len = (size_t)(colon - arg);
    e->use_context = end != NULL;
    e->context = end != NULL ? end + 1 : NULL;
    o->n_exports++;
    return 0;
}

void report_exports(const mtls_conn *conn, const struct common_opts *o, const char *prefix)
{
    static uint8_t out[TOOL_MAX_EXPORT_LEN];
    static char hex[2 * TOOL_MAX_EXPORT_LEN + 1];
    for (int i = 0; i < o->n_exports; i++) {
        const struct tool_export *e = &o->exports[i];
        size_t cl = e->use_context ? strlen(e->context) : 0;
        mtls_err err = mtls_conn_export_keying_material(
            conn, e->label, e->label_len, (const uint8_t *)e->context, cl, e->use_context, out,
            (size_t)e->len);
        if (err != MTLS_OK) {
            say("%scannot export keying material for '%.*s': %s%s", prefix, (int)e->label_len,
                e->label, mtls_err_str(err),
                err == MTLS_ERR_BAD_STATE && mtls_conn_version(conn) == 0x0303 &&
                        !mtls_conn_ems(conn)
                    ? " (TLS 1.2 without extended master secret: the value would not be bound "
                      "to this connection)"
                : err == MTLS_ERR_INVALID_ARG
                    ? " (a label of TLS 1.2's own PRF, or a label, context or length too long "
                      "for this version)"
                    : "");
            continue;
        }
        for (int j = 0; j < e->len; j++) {
            snprintf(hex + 2 * j, 3, "%02X", out[j]);
        }
        say("%sexported keying material %.*s (%d bytes, %s%s%s): %s", prefix, (int)e->label_len,
            e->label, e->len, !e->use_context ? "no context" : "context \"",
            e->use_context ? e->context : "", e->use_context ? "\"" : "", hex);
    }
}
