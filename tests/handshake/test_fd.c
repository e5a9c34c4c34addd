/*
 * test_fd.c -- the mtls_fd_* helpers of src/io over real descriptors: blocking socketpairs with a
 * forked echo peer, non-blocking socketpairs driven from one thread (WANT_READ / WANT_WRITE with a
 * tiny socket buffer), EOF during the handshake and after it (truncation), and the write()
 * fallback for a descriptor that is not a socket (a pipe).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_pipe_fallback();
    test_eof();
    test_nonblocking();
    test_blocking_echo();
    return t_done();
}
