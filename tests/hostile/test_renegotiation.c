/*
 * test_renegotiation.c -- a refused renegotiation loses no application data (issue 12, item 1).
 *
 * On an established connection the client sends a ClientHello -- secure renegotiation (with
 * renegotiation_info) or legacy (without it or the SCSV) -- and then an HTTP request: whole in the
 * next record, split so that its first part arrives before the ClientHello, in the same flight as
 * the ClientHello, or between two fragments of the ClientHello.  The server declines with a
 * no_renegotiation warning (RFC 5246 7.2.2) and must go on serving the request.  A strict client
 * (tlsfuzzer's test-renegotiation-disabled.py) waits for that warning before it sends the rest, so
 * the warning has to be on the wire before the server waits for input; a warning left in the send
 * buffer while the server blocks in read() is a deadlock that ends only in a timeout.
 *
 * The handshake runs through the in-memory pump (tests/common); the server then serves the
 * request through mtls_fd_read / mtls_fd_write on a socketpair, non-blocking from this thread and
 * blocking in a forked child, while the test plays the client on the other end.  Every wait is
 * bounded (poll with a timeout; the child has an alarm).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testpki.h"
#include "core/internal.h"
#include "handshake/hs.h"
#include "t.h"

static const char REQUEST[] = "GET /?Renegotiation_Test=mtls HTTP/1.0\r\n\r\n";
static const char RESPONSE[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
/* Split: the request line and its CRLF arrive first, the blank line after the refusal. */
#define PART1_LEN (sizeof(REQUEST) - 1 - 2)

typedef enum { SECURE, LEGACY } flavour;
typedef enum { NEXT_RECORD, SPLIT, SAME_FLIGHT, INSIDE_HELLO } order;
static const char *flavour_name[] = {"secure renegotiation", "legacy renegotiation"};
static const char *order_name[] = {
    "request in the next record", "request split around the ClientHello",
    "request in the ClientHello's flight", "request inside the fragmented ClientHello"};
#define HELLO_CUT 30 /* INSIDE_HELLO: the first fragment holds the header and part of the body */

/* ---- the client's view: warnings counted by the trace callback ----------------------------- */

static int warnings_seen;

static void count_warnings(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    (void)arg;
    (void)conn;
    if (ev->kind == MTLS_TRACE_ALERT_RECEIVED && ev->level == 1 &&
        ev->alert == TLS_ALERT_NO_RENEGOTIATION)
        warnings_seen++;
}

static mtls_config *ccfg, *scfg;

static void configs(void)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->server[TP_P256];
    scfg = mtls_config_new();
    ccfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_mem(scfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                             strlen(id->key_pem)),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(ccfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace_events(ccfg, count_warnings, NULL), MTLS_OK);
    /* Renegotiation is TLS 1.2's (TLS 1.3 has none: a ClientHello after its handshake is
     * unexpected_message, test_tls13). */
    CHECK_ERR(mtls_config_set_versions(scfg, MTLS_VERSION_TLS12, MTLS_VERSION_TLS12), MTLS_OK);
}

/* A second ClientHello as a client would send it to renegotiate.  Secure renegotiation carries
 * renegotiation_info with the client's verify_data (RFC 5746 3.5; the server refuses before it
 * reads the body, so any 12 bytes serve); legacy has neither the extension nor the SCSV. */
static size_t renegotiation_hello(flavour f, uint8_t *out, size_t cap)
{
    wr w = wr_fixed(out, cap);
    wr_u8(&w, TLS_HS_CLIENT_HELLO);
    size_t body = wr_open_u24(&w);
    wr_u16(&w, MTLS_VERSION_TLS12);
    for (int i = 0; i < 32; i++)
        wr_u8(&w, (uint8_t)(i * 13));
    wr_u8(&w, 0); /* session_id */
    size_t suites = wr_open_u16(&w);
    wr_u16(&w, 0xc02b); /* TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
    wr_close_u16(&w, suites);
    wr_u8(&w, 1);
    wr_u8(&w, 0); /* null compression */
    size_t exts = wr_open_u16(&w);
    if (f == SECURE) {
        wr_u16(&w, TLS_EXT_RENEGOTIATION_INFO);
        size_t ri = wr_open_u16(&w);
        wr_u8(&w, 12);
        for (int i = 0; i < 12; i++)
            wr_u8(&w, (uint8_t)(0xa0 + i));
        wr_close_u16(&w, ri);
    }
    wr_close_u16(&w, exts);
    wr_close_u24(&w, body);
    CHECK(wr_ok(&w));
    return w.len;
}

static void set_nonblocking(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    CHECK(fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == 0);
}

/* The client queues one record and puts it on the wire. */
static void client_send(mtls_conn *c, int fd, uint8_t type, const void *p, size_t n, int flush)
{
    CHECK_ERR(rec_write(&c->rec, type, p, n), MTLS_OK);
    if (flush)
        CHECK_ERR(mtls_fd_flush(c, fd), MTLS_OK);
}

/* The client takes what the server sent within `ms` milliseconds (raw reads, so that the client
 * side does not depend on the fd helper under test).  Application data goes to `app`. */
static void client_pull(mtls_conn *c, int fd, int ms, char *app, size_t cap, size_t *app_len)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    while (poll(&pfd, 1, ms) == 1) {
        size_t room;
        uint8_t *dst = mtls_recv_buf(c, &room);
        if (!dst || !room)
            break;
        ssize_t r = read(fd, dst, room);
        if (r <= 0)
            break;
        mtls_err err = mtls_recv_ack(c, (size_t)r);
        if (err && err != MTLS_ERR_WANT_READ)
            break;
        size_t got;
        while (*app_len < cap && mtls_read(c, app + *app_len, cap - *app_len, &got) == MTLS_OK)
            *app_len += got;
        if (mtls_conn_close_received(c))
            break;
        ms = ms ? 200 : 0; /* the rest of a burst */
    }
}

/* ---- the server: reads the request, answers once ------------------------------------------- */

struct server {
    mtls_conn *conn;
    int fd;
    char req[256];
    size_t req_len;
    int answered;
    int notify; /* blocking child: one byte here for every read that returned data, or -1 */
    int blocking;
};

/* Read until the fd has nothing more (non-blocking) or the request is answered (blocking), and
 * answer a complete request.  Returns what the last mtls_fd_read said. */
static mtls_err serve(struct server *s)
{
    for (;;) {
        size_t n = 0;
        mtls_err err =
            mtls_fd_read(s->conn, s->fd, s->req + s->req_len, sizeof(s->req) - 1 - s->req_len, &n);
        if (err != MTLS_OK)
            return err;
        s->req_len += n;
        s->req[s->req_len] = 0;
        if (s->notify >= 0 && write(s->notify, "r", 1) != 1)
            return MTLS_ERR_IO;
        if (!s->answered && strstr(s->req, "\r\n\r\n")) {
            size_t w;
            err = mtls_fd_write(s->conn, s->fd, RESPONSE, strlen(RESPONSE), &w);
            if (err != MTLS_OK || w != strlen(RESPONSE))
                return err ? err : MTLS_ERR_INTERNAL;
            s->answered = 1;
            if (s->blocking)
                return MTLS_OK;
        }
    }
}

/* Child: a blocking server.  Exit 0 when it read exactly the request and answered it. */
static int blocking_server(mtls_conn *s, int fd, int notify)
{
    alarm(20); /* never outlive the test */
    set_nonblocking(fd, 0);
    struct server sv = {.conn = s, .fd = fd, .notify = notify, .blocking = 1};
    mtls_err err = serve(&sv);
    if (err != MTLS_OK || !sv.answered)
        return 10;
    if (strcmp(sv.req, REQUEST) != 0)
        return 11;
    return mtls_fd_close(s, fd) == MTLS_OK ? 0 : 12;
}

/* The non-blocking server runs between the client's steps (and then waits for more input); the
 * blocking one runs on its own. */
static void serve_between(struct server *srv, int blocking)
{
    if (!blocking)
        CHECK_ERR(serve(srv), MTLS_ERR_WANT_READ);
}

static void run(flavour f, order o, int blocking)
{
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    int sv[2], note[2] = {-1, -1};
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    set_nonblocking(sv[0], 1);
    set_nonblocking(sv[1], 1);
    pid_t pid = -1;
    if (blocking) {
        CHECK(pipe(note) == 0);
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
            close(sv[0]);
            close(note[0]);
            int rc = blocking_server(s, sv[1], note[1]);
            mtls_conn_free(c); /* the child's copies: a clean exit under valgrind too */
            mtls_conn_free(s);
            mtls_config_free(ccfg);
            mtls_config_free(scfg);
            _exit(rc);
        }
        CHECK(pid > 0);
        close(sv[1]);
        close(note[1]);
    }
    struct server srv = {.conn = s, .fd = sv[1], .notify = -1};

    uint8_t hello[512];
    size_t hello_len = renegotiation_hello(f, hello, sizeof(hello));
    char app[256];
    size_t app_len = 0;
    warnings_seen = 0;
    int wait_ms = blocking ? 3000 : 0;
    const char *in_time = "-"; /* did the warning come before the client sent the rest */
    const char *req = REQUEST;
    size_t req_len = strlen(REQUEST);

    if (o == SPLIT) {
        client_send(c, sv[0], TLS_CT_APPLICATION_DATA, req, PART1_LEN, 1);
        serve_between(&srv, blocking);
        if (blocking) {
            /* The ClientHello comes after the server has taken the first part: apart, they test
             * the refusal of a server that already waits in read(). */
            struct pollfd pfd = {.fd = note[0], .events = POLLIN};
            char b;
            CHECK(poll(&pfd, 1, 3000) == 1 && read(note[0], &b, 1) == 1);
        }
        req += PART1_LEN;
        req_len -= PART1_LEN;
    }
    client_send(c, sv[0], TLS_CT_HANDSHAKE, hello, o == INSIDE_HELLO ? HELLO_CUT : hello_len,
                o != SAME_FLIGHT);
    if (o != SAME_FLIGHT) {
        serve_between(&srv, blocking);
        if (!blocking) {
            /* What the server queued while reading is on the wire when it waits for input. */
            size_t pending;
            mtls_send_buf(s, &pending);
            CHECK_EQ(pending, 0);
        }
        /* Like a strict client: the refusal first, then the rest of the request. */
        client_pull(c, sv[0], wait_ms, app, sizeof(app) - 1, &app_len);
        CHECK_EQ(warnings_seen, 1);
        in_time = warnings_seen == 1 ? "yes" : "NO";
    }
    /* INSIDE_HELLO: the rest of the refused message (skipped, not refused again) goes with the
     * request, before a blocking server can answer and close. */
    client_send(c, sv[0], TLS_CT_APPLICATION_DATA, req, req_len, o != INSIDE_HELLO);
    if (o == INSIDE_HELLO)
        client_send(c, sv[0], TLS_CT_HANDSHAKE, hello + HELLO_CUT, hello_len - HELLO_CUT, 1);
    serve_between(&srv, blocking);
    client_pull(c, sv[0], blocking ? 5000 : 0, app, sizeof(app) - 1, &app_len);
    app[app_len] = 0;
    CHECK_EQ(warnings_seen, 1);
    CHECK(strcmp(app, RESPONSE) == 0);
    if (!blocking) {
        CHECK(strcmp(srv.req, REQUEST) == 0);
        CHECK(mtls_conn_established(s));
        CHECK_EQ(s->hs->renego_refused, 1); /* a fragmented ClientHello is refused once */
    } else {
        int status = 0, done = 0;
        for (int i = 0; i < 100 && !(done = waitpid(pid, &status, WNOHANG) == pid); i++)
            usleep(50 * 1000);
        if (!done) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK(mtls_conn_established(c));
    printf("%s, %s, %s server: warning before the rest %s, warnings %d, answer %s\n",
           flavour_name[f], order_name[o], blocking ? "blocking" : "non-blocking", in_time,
           warnings_seen, strcmp(app, RESPONSE) == 0 ? "received" : "MISSING");
    close(sv[0]);
    close(blocking ? note[0] : sv[1]);
    mtls_conn_free(c);
    mtls_conn_free(s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    configs();
    for (int blocking = 0; blocking <= 1; blocking++)
        for (int f = SECURE; f <= LEGACY; f++)
            for (int o = NEXT_RECORD; o <= INSIDE_HELLO; o++)
                run((flavour)f, (order)o, blocking);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    return t_done();
}
