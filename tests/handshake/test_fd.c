/*
 * test_fd.c -- the mtls_fd_* helpers of src/io over real descriptors: blocking socketpairs with a
 * forked echo peer, non-blocking socketpairs driven from one thread (WANT_READ / WANT_WRITE with a
 * tiny socket buffer), EOF during the handshake and after it (truncation), the write()
 * fallback for a descriptor that is not a socket (a pipe), and deadlines: a silent or trickling
 * peer, SO_RCVTIMEO / SO_SNDTIMEO on a blocking socket, timeouts of read, write, close and flush,
 * and a connection that goes on after a timeout.  The timeout tests assert the error, never a
 * duration; an alarm() far beyond their deadlines turns a hang into a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testpki.h"
#include "t.h"

static mtls_config *server_cfg(void)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->server[TP_P256];
    mtls_config *cfg = mtls_config_new();
    mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                   strlen(id->key_pem));
    return cfg;
}

static mtls_config *client_cfg(void)
{
    const tp_pki *pki = tp_get();
    mtls_config *cfg = mtls_config_new();
    mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem));
    return cfg;
}

static void fill_pattern(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 7 + (i >> 8));
    }
}

/* Child: blocking echo server until close_notify; exit 0 when all went as documented. */
static int echo_server(int fd)
{
    mtls_config *cfg = server_cfg();
    mtls_conn *conn = mtls_server_new(cfg);
    uint8_t buf[5000];
    size_t n, w;
    mtls_err err;

    if (mtls_fd_handshake(conn, fd) != MTLS_OK) {
        return 10;
    }
    while ((err = mtls_fd_read(conn, fd, buf, sizeof(buf), &n)) == MTLS_OK) {
        if (n == 0 || mtls_fd_write(conn, fd, buf, n, &w) != MTLS_OK || w != n) {
            return 11;
        }
    }
    if (err != MTLS_ERR_CLOSED || mtls_fd_close(conn, fd) != MTLS_OK) {
        return 12;
    }
    mtls_conn_free(conn);
    mtls_config_free(cfg);
    return 0;
}

static void test_blocking_echo(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    tp_get(); /* build the PKI before fork so both sides share it */
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        _exit(echo_server(sv[1]));
    }
    close(sv[1]);
    mtls_config *cfg = client_cfg();
    mtls_conn *conn = mtls_client_new(cfg, "localhost");
    size_t len = 300000, got = 0, n = 0;
    uint8_t *out = malloc(len), *in = malloc(len);
    fill_pattern(out, len);

    CHECK_ERR(mtls_fd_handshake(conn, sv[0]), MTLS_OK);
    CHECK(mtls_conn_established(conn));
    /* Write in pieces and read the echo as we go: the peer echoes, so a blocking client must
     * not write everything first (the socket buffers would fill both ways). */
    for (size_t off = 0; off < len;) {
        size_t chunk = len - off < 40000 ? len - off : 40000;
        CHECK_ERR(mtls_fd_write(conn, sv[0], out + off, chunk, &n), MTLS_OK);
        CHECK_EQ(n, chunk);
        off += chunk;
        while (got < off) {
            mtls_err err = mtls_fd_read(conn, sv[0], in + got, len - got, &n);
            CHECK_ERR(err, MTLS_OK);
            if (err != MTLS_OK) {
                break;
            }
            got += n;
        }
    }
    CHECK_EQ(got, len);
    CHECK(memcmp(in, out, len) == 0);
    CHECK_ERR(mtls_fd_close(conn, sv[0]), MTLS_OK);
    CHECK_ERR(mtls_fd_read(conn, sv[0], in, len, &n), MTLS_ERR_CLOSED);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(sv[0]);
    free(in);
    free(out);
    mtls_conn_free(conn);
    mtls_config_free(cfg);
}

static void set_nb(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
}

static void test_nonblocking(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    set_nb(sv[0]);
    set_nb(sv[1]);
    mtls_config *ccfg = client_cfg(), *scfg = server_cfg();
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    mtls_err ce = MTLS_ERR_WANT_READ, se = MTLS_ERR_WANT_READ;
    int blocked = 0;

    for (int i = 0; i < 1000 && (ce != MTLS_OK || se != MTLS_OK); i++) {
        if (ce != MTLS_OK) {
            ce = mtls_fd_handshake(c, sv[0]);
        }
        if (se != MTLS_OK) {
            se = mtls_fd_handshake(s, sv[1]);
        }
        blocked += mtls_err_is_blocked(ce) || mtls_err_is_blocked(se);
        if (!mtls_err_is_blocked(ce) && ce != MTLS_OK) {
            break;
        }
        if (!mtls_err_is_blocked(se) && se != MTLS_OK) {
            break;
        }
    }
    CHECK_ERR(ce, MTLS_OK);
    CHECK_ERR(se, MTLS_OK);
    CHECK(blocked > 0);

    /* Bulk data through tiny buffers: the writer sees WANT_WRITE, nothing is lost. */
    size_t len = 200000, sent = 0, got = 0;
    uint8_t *out = malloc(len), *in = malloc(len);
    int want_write = 0;
    fill_pattern(out, len);
    for (int i = 0; i < 100000 && got < len; i++) {
        size_t n = 0;
        if (sent < len) {
            mtls_err err = mtls_fd_write(c, sv[0], out + sent, len - sent, &n);
            CHECK(err == MTLS_OK || err == MTLS_ERR_WANT_WRITE);
            want_write += err == MTLS_ERR_WANT_WRITE;
            sent += n;
        } else {
            size_t pending = 0;
            mtls_send_buf(c, &pending);
            if (pending > 0) {
                mtls_err err = mtls_fd_flush(c, sv[0]);
                CHECK(err == MTLS_OK || err == MTLS_ERR_WANT_WRITE);
            }
        }
        mtls_err err = mtls_fd_read(s, sv[1], in + got, len - got, &n);
        CHECK(err == MTLS_OK || err == MTLS_ERR_WANT_READ);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_READ) {
            break;
        }
        got += n;
    }
    CHECK_EQ(got, len);
    CHECK(memcmp(in, out, len) == 0);
    CHECK(want_write > 0);

    /* close_notify one way, then the other; reads see CLOSED. */
    mtls_err err;
    while ((err = mtls_fd_close(c, sv[0])) == MTLS_ERR_WANT_WRITE) {
    }
    CHECK_ERR(err, MTLS_OK);
    size_t n = 0;
    for (int i = 0; i < 100 && (err = mtls_fd_read(s, sv[1], in, len, &n)) == MTLS_ERR_WANT_READ;
         i++) {
    }
    CHECK_ERR(err, MTLS_ERR_CLOSED);
    CHECK_ERR(mtls_fd_close(s, sv[1]), MTLS_OK);
    CHECK_ERR(mtls_fd_read(c, sv[0], in, len, &n), MTLS_ERR_CLOSED);

    free(in);
    free(out);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    close(sv[0]);
    close(sv[1]);
}

static void test_eof(void)
{
    int sv[2];
    mtls_config *ccfg = client_cfg(), *scfg = server_cfg();

    /* The peer vanishes during the handshake: an error, never a hang or WANT_READ. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    mtls_conn *c = mtls_client_new(ccfg, "localhost");
    close(sv[1]);
    mtls_err err = mtls_fd_handshake(c, sv[0]);
    CHECK(err == MTLS_ERR_EOF || err == MTLS_ERR_IO);
    mtls_conn_free(c);
    close(sv[0]);

    /* The transport ends after the handshake without close_notify: MTLS_ERR_EOF. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    set_nb(sv[0]);
    set_nb(sv[1]);
    c = mtls_client_new(ccfg, "localhost");
    mtls_conn *s = mtls_server_new(scfg);
    mtls_err ce = MTLS_ERR_WANT_READ, se = MTLS_ERR_WANT_READ;
    for (int i = 0; i < 1000 && (ce != MTLS_OK || se != MTLS_OK); i++) {
        ce = ce == MTLS_OK ? ce : mtls_fd_handshake(c, sv[0]);
        se = se == MTLS_OK ? se : mtls_fd_handshake(s, sv[1]);
    }
    CHECK_ERR(ce, MTLS_OK);
    CHECK_ERR(se, MTLS_OK);
    /* Drain what the server sent after its Finished (nothing, or a ticket already taken). */
    uint8_t buf[64];
    size_t n = 0;
    CHECK_ERR(mtls_fd_read(c, sv[0], buf, sizeof(buf), &n), MTLS_ERR_WANT_READ);
    close(sv[1]);
    CHECK_ERR(mtls_fd_read(c, sv[0], buf, sizeof(buf), &n), MTLS_ERR_EOF);
    mtls_conn_free(c);
    mtls_conn_free(s);
    close(sv[0]);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
}

static void test_pipe_fallback(void)
{
    int p[2];
    mtls_config *cfg = client_cfg();
    mtls_conn *c = mtls_client_new(cfg, "localhost");
    uint8_t buf[4096];

    CHECK(pipe(p) == 0);
    CHECK_ERR(mtls_handshake(c), MTLS_ERR_WANT_READ); /* queues the ClientHello */
    size_t pending = 0;
    mtls_send_buf(c, &pending);
    CHECK(pending > 5);
    CHECK_ERR(mtls_fd_flush(c, p[1]), MTLS_OK); /* send() says ENOTSOCK; write() is used */
    ssize_t r = read(p[0], buf, sizeof(buf));
    CHECK_EQ(r, (ssize_t)pending);
    CHECK(r > 5 && buf[0] == 22 && buf[1] == 3); /* a handshake record */
    mtls_send_buf(c, &pending);
    CHECK_EQ(pending, 0);
    CHECK_ERR(mtls_fd_flush(c, -1), MTLS_ERR_INVALID_ARG);
    close(p[0]);
    close(p[1]);
    mtls_conn_free(c);
    mtls_config_free(cfg);
}


/* ---- deadlines ------------------------------------------------------------------------------ */

/* Far beyond every deadline below: a hang becomes a failure (SIGALRM), never a stuck test. */
#define GUARD_S 30
static const char *running = "";

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_fd: no answer within the guard time in ";
    (void)!write(2, msg, sizeof(msg) - 1);
    (void)!write(2, running, strlen(running));
    (void)!write(2, "\n", 1);
    _exit(1);
}

static void guard(const char *name)
{
    running = name;
    signal(SIGALRM, on_alarm);
    alarm(GUARD_S);
}

static void set_blocking(int fd, int blocking)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, blocking ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
}

static void set_sock_timeout(int fd, int opt, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    CHECK(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)) == 0);
}

/* Handshake c and s over the socketpair sv from this thread (both fds non-blocking meanwhile),
 * then leave the client's fd blocking and the server's non-blocking. */
static void pair_up(mtls_conn *c, mtls_conn *s, int sv[2])
{
    set_blocking(sv[0], 0);
    set_blocking(sv[1], 0);
    mtls_err ce = MTLS_ERR_WANT_READ, se = MTLS_ERR_WANT_READ;
    for (int i = 0; i < 1000 && (ce != MTLS_OK || se != MTLS_OK); i++) {
        ce = ce == MTLS_OK ? ce : mtls_fd_handshake(c, sv[0]);
        se = se == MTLS_OK ? se : mtls_fd_handshake(s, sv[1]);
    }
    CHECK_ERR(ce, MTLS_OK);
    CHECK_ERR(se, MTLS_OK);
    set_blocking(sv[0], 1);
}

/* A peer that never answers: the handshake ends in MTLS_ERR_TIMEOUT, and is not spoiled by it --
 * once a peer shows up the same connection completes and carries data. */
static void test_timeout_silent_peer(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    guard(__func__);
    mtls_config *cfg = client_cfg();
    mtls_conn *c = mtls_client_new(cfg, "localhost");
    CHECK_ERR(mtls_fd_handshake_timeout(c, sv[0], 200), MTLS_ERR_TIMEOUT);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK(!mtls_conn_established(c));
    CHECK_ERR(mtls_conn_error(c), MTLS_OK);
    /* A deadline of 0 does not wait at all. */
    CHECK_ERR(mtls_fd_handshake_timeout(c, sv[0], 0), MTLS_ERR_TIMEOUT);
    /* A read (which runs the handshake first) is bounded the same way. */
    uint8_t buf[64];
    size_t n = 7;
    CHECK_ERR(mtls_fd_read_timeout(c, sv[0], buf, sizeof(buf), &n, 100), MTLS_ERR_TIMEOUT);
    CHECK_EQ(n, 0);

    /* The peer arrives (the ClientHello waits in its socket): the handshake goes on. */
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        _exit(echo_server(sv[1]));
    }
    close(sv[1]);
    CHECK_ERR(mtls_fd_handshake_timeout(c, sv[0], 10000), MTLS_OK);
    CHECK_ERR(mtls_fd_write_timeout(c, sv[0], "ping", 4, &n, 10000), MTLS_OK);
    CHECK_EQ(n, 4);
    size_t got = 0;
    while (got < 4) {
        mtls_err err = mtls_fd_read_timeout(c, sv[0], buf + got, sizeof(buf) - got, &n, 10000);
        CHECK_ERR(err, MTLS_OK);
        if (err != MTLS_OK) {
            break;
        }
        got += n;
    }
    CHECK(got == 4 && memcmp(buf, "ping", 4) == 0);
    CHECK_ERR(mtls_fd_close_timeout(c, sv[0], 10000), MTLS_OK);
    CHECK_ERR(mtls_fd_read_timeout(c, sv[0], buf, sizeof(buf), &n, 10000), MTLS_ERR_CLOSED);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    alarm(0);
    close(sv[0]);
    mtls_conn_free(c);
    mtls_config_free(cfg);
}

/* A peer that sends a byte now and then: the deadline bounds the call, not each wait, so it
 * still ends in MTLS_ERR_TIMEOUT (SO_RCVTIMEO could not do this). */
static void test_timeout_trickle(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    guard(__func__);
    pid_t pid = fork();
    if (pid == 0) {
        /* A handshake record header announcing 16000 bytes, then one byte every 20 ms. */
        static const uint8_t hdr[5] = {22, 3, 3, 0x3e, 0x80};
        close(sv[0]);
        if (write(sv[1], hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr)) {
            _exit(1);
        }
        for (int i = 0; i < 16000; i++) {
            usleep(20000);
            if (write(sv[1], "\\x01", 1) != 1) {
                _exit(0);
            }
        }
        _exit(0);
    }
    close(sv[1]);
    mtls_config *cfg = client_cfg();
    mtls_conn *c = mtls_client_new(cfg, "localhost");
    CHECK_ERR(mtls_fd_handshake_timeout(c, sv[0], 300), MTLS_ERR_TIMEOUT);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    alarm(0);
    close(sv[0]);
    mtls_conn_free(c);
    mtls_config_free(cfg);
}

/* SO_RCVTIMEO on a blocking socket: the plain helpers report MTLS_ERR_TIMEOUT, not WANT_READ
 * (which means "poll and call again" and is only true of an O_NONBLOCK fd). */
static void test_so_rcvtimeo(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    guard(__func__);
    set_sock_timeout(sv[0], SO_RCVTIMEO, 100);
    mtls_config *ccfg = client_cfg(), *scfg = server_cfg();
    mtls_conn *c = mtls_client_new(ccfg, "localhost");
    CHECK_ERR(mtls_fd_handshake(c, sv[0]), MTLS_ERR_TIMEOUT);
    mtls_conn_free(c);
    close(sv[0]);
    close(sv[1]);

    /* After the handshake: a read that times out. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    set_sock_timeout(sv[0], SO_RCVTIMEO, 100);
    c = mtls_client_new(ccfg, "localhost");
    mtls_conn *s = mtls_server_new(scfg);
    pair_up(c, s, sv);
    uint8_t buf[64];
    size_t n = 0;
    CHECK_ERR(mtls_fd_read(c, sv[0], buf, sizeof(buf), &n), MTLS_ERR_TIMEOUT);
    CHECK_EQ(n, 0);
    alarm(0);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    close(sv[0]);
    close(sv[1]);
}

/* After the handshake, the peer is quiet: read times out, then gets what the peer sends later;
 * without a deadline an O_NONBLOCK fd still answers WANT_READ, with one it waits. */
static void test_read_timeout(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    guard(__func__);
    mtls_config *ccfg = client_cfg(), *scfg = server_cfg();
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    pair_up(c, s, sv);
    uint8_t buf[64];
    size_t n = 0;
    CHECK_ERR(mtls_fd_read_timeout(c, sv[0], buf, sizeof(buf), &n, 200), MTLS_ERR_TIMEOUT);
    CHECK_EQ(n, 0);
    CHECK_ERR(mtls_conn_error(c), MTLS_OK);
    CHECK_ERR(mtls_fd_write(s, sv[1], "late", 4, &n), MTLS_OK);
    CHECK_ERR(mtls_fd_read_timeout(c, sv[0], buf, sizeof(buf), &n, 10000), MTLS_OK);
    CHECK(n == 4 && memcmp(buf, "late", 4) == 0);

    set_blocking(sv[0], 0);
    CHECK_ERR(mtls_fd_read(c, sv[0], buf, sizeof(buf), &n), MTLS_ERR_WANT_READ);
    CHECK_ERR(mtls_fd_read_timeout(c, sv[0], buf, sizeof(buf), &n, 100), MTLS_ERR_TIMEOUT);
    CHECK_ERR(mtls_fd_write(s, sv[1], "more", 4, &n), MTLS_OK);
    CHECK_ERR(mtls_fd_read_timeout(c, sv[0], buf, sizeof(buf), &n, 10000), MTLS_OK);
    CHECK(n == 4 && memcmp(buf, "more", 4) == 0);
    alarm(0);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    close(sv[0]);
    close(sv[1]);
}

/* A peer that does not read: write and close time out (SO_SNDTIMEO too, with the plain call),
 * and once the peer reads again every byte counted in *out_written arrives, then close_notify. */
static void test_write_timeout(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    guard(__func__);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    mtls_config *ccfg = client_cfg(), *scfg = server_cfg();
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    pair_up(c, s, sv);

    size_t len = 1 << 20, n = 0, sent = 0;
    uint8_t *out = malloc(len), *in = malloc(len);
    fill_pattern(out, len);
    CHECK_ERR(mtls_fd_write_timeout(c, sv[0], out, len, &n, 200), MTLS_ERR_TIMEOUT);
    CHECK(n > 0 && n < len);
    sent += n;
    set_sock_timeout(sv[0], SO_SNDTIMEO, 100);
    CHECK_ERR(mtls_fd_write(c, sv[0], out + sent, len - sent, &n), MTLS_ERR_TIMEOUT);
    CHECK(n < len - sent);
    sent += n;
    CHECK_ERR(mtls_fd_close_timeout(c, sv[0], 100), MTLS_ERR_TIMEOUT);
    CHECK_ERR(mtls_fd_flush_timeout(c, sv[0], 0), MTLS_ERR_TIMEOUT);
    CHECK_ERR(mtls_conn_error(c), MTLS_OK);

    /* The peer drains: everything accepted arrives, in order, then close_notify. */
    size_t got = 0;
    mtls_err err = MTLS_ERR_WANT_READ, ferr = MTLS_ERR_TIMEOUT;
    for (int i = 0; i < 200000 && err != MTLS_ERR_CLOSED; i++) {
        if (ferr != MTLS_OK) {
            ferr = mtls_fd_flush_timeout(c, sv[0], 0);
            CHECK(ferr == MTLS_OK || ferr == MTLS_ERR_TIMEOUT);
        }
        err = mtls_fd_read(s, sv[1], in + got, len - got, &n);
        if (err == MTLS_OK) {
            got += n;
        } else if (err != MTLS_ERR_WANT_READ && err != MTLS_ERR_CLOSED) {
            CHECK_ERR(err, MTLS_ERR_CLOSED);
            break;
        }
    }
    CHECK_ERR(err, MTLS_ERR_CLOSED);
    CHECK_EQ(got, sent);
    CHECK(memcmp(in, out, sent) == 0);
    alarm(0);
    free(in);
    free(out);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    close(sv[0]);
    close(sv[1]);
}

/* Descriptors that are not sockets: a full pipe times out a flush, an empty one a handshake. */
static void test_pipe_timeout(void)
{
    int p[2], q[2], r[2];
    uint8_t junk[4096];
    guard(__func__);
    CHECK(pipe(p) == 0 && pipe(q) == 0 && pipe(r) == 0);
    mtls_config *cfg = client_cfg();
    mtls_conn *c = mtls_client_new(cfg, "localhost");
    CHECK_ERR(mtls_handshake(c), MTLS_ERR_WANT_READ); /* queues the ClientHello */
    memset(junk, 0, sizeof(junk));
    set_blocking(p[1], 0);
    while (write(p[1], junk, sizeof(junk)) > 0) {
    }
    set_blocking(p[1], 1);
    CHECK_ERR(mtls_fd_flush_timeout(c, p[1], 100), MTLS_ERR_TIMEOUT);
    CHECK_ERR(mtls_fd_flush_timeout(c, q[1], 100), MTLS_OK); /* empty pipe: it goes out */
    size_t pending = 1;
    mtls_send_buf(c, &pending);
    CHECK_EQ(pending, 0);
    CHECK_ERR(mtls_fd_handshake_timeout(c, r[0], 100), MTLS_ERR_TIMEOUT); /* nothing to read */
    alarm(0);
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    close(r[0]);
    close(r[1]);
    mtls_conn_free(c);
    mtls_config_free(cfg);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_pipe_fallback();
    test_eof();
    test_nonblocking();
    test_blocking_echo();
    test_timeout_silent_peer();
    test_timeout_trickle();
    test_so_rcvtimeo();
    test_read_timeout();
    test_write_timeout();
    test_pipe_timeout();
    return t_done();
}
