/*
 * fd.c -- drive an mtls connection over a file descriptor, blocking or O_NONBLOCK.
 *
 * This file owns the mtls_fd_*() helpers and nothing else.  It is written against the public,
 * sans-I/O calls of include/mtls.h only (recv_buf/ack, send_buf/ack, handshake, read, write,
 * close), which is the proof that the core is enough for a real transport.  It keeps no state of
 * its own: everything lives in the connection or on the stack.
 *
 * Invariants:
 *  - EINTR is retried; EAGAIN/EWOULDBLOCK becomes MTLS_ERR_WANT_READ / MTLS_ERR_WANT_WRITE and
 *    nothing is lost: bytes read are always acknowledged, bytes written always retired.
 *  - read() returning 0 is announced as mtls_recv_ack(conn, 0), the transport's EOF.
 *  - Sockets are written with send(MSG_NOSIGNAL) so a closed peer gives EPIPE, not SIGPIPE;
 *    other descriptors (pipes in tests) fall back to write().
 *  - Before a fatal error is returned, pending output (the alert the core queued) is flushed
 *    when the fd takes it; a flush failure never hides the first error.
 *  - Before we wait for input, pending output is flushed: input can queue some after the
 *    handshake (a no_renegotiation warning), and the peer may wait for it.
 */
#include "mtls.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* Whether an error ends the connection (anything but OK and the two "blocked" answers). */
static int is_fatal(mtls_err err)
{
    return err != MTLS_OK && !mtls_err_is_blocked(err);
}

/* Write once to fd; *not_socket remembers (for this call chain only) that send() refused it. */
static ssize_t put(int fd, const uint8_t *p, size_t n, int *not_socket)
{
    if (!*not_socket) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w >= 0 || errno != ENOTSOCK) {
            return w;
        }
        *not_socket = 1;
    }
    return write(fd, p, n);
}

mtls_err mtls_fd_flush(mtls_conn *conn, int fd)
{
    int not_socket = 0;

    if (conn == NULL || fd < 0) {
        return MTLS_ERR_INVALID_ARG;
    }
    for (;;) {
        size_t len = 0;
        const uint8_t *p = mtls_send_buf(conn, &len);
        if (p == NULL || len == 0) {
            return MTLS_OK;
        }
        ssize_t w = put(fd, p, len, &not_socket);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return MTLS_ERR_WANT_WRITE;
            }
            return MTLS_ERR_IO;
        }
        mtls_send_ack(conn, (size_t)w);
    }
}

/* Best-effort flush before returning `err`; errno is kept for the caller of a failed read. */
static mtls_err fail(mtls_conn *conn, int fd, mtls_err err)
{
    int saved = errno;
    (void)mtls_fd_flush(conn, fd);
    errno = saved;
    return err;
}

/* Read once from fd into the connection.  *eof is set when the transport ended (read() == 0). */
static mtls_err fill(mtls_conn *conn, int fd, int *eof)
{
    size_t room = 0;
    uint8_t *buf = mtls_recv_buf(conn, &room);

    if (buf == NULL || room == 0) {
        /* The core takes no input until the application reads; asking for more is our bug. */
        return mtls_conn_error(conn) != MTLS_OK ? mtls_conn_error(conn) : MTLS_ERR_BAD_STATE;
    }
    for (;;) {
        ssize_t r = read(fd, buf, room);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return MTLS_ERR_WANT_READ;
            }
            return MTLS_ERR_IO;
        }
        if (r == 0) {
            *eof = 1;
        }
        mtls_err err = mtls_recv_ack(conn, (size_t)r);
        return is_fatal(err) ? err : MTLS_OK;
    }
}

mtls_err mtls_fd_handshake(mtls_conn *conn, int fd)
{
    int eof = 0;

    if (conn == NULL || fd < 0) {
        return MTLS_ERR_INVALID_ARG;
    }
    for (;;) {
        mtls_err err = mtls_handshake(conn);
        if (is_fatal(err)) {
            return fail(conn, fd, err);
        }
        /* Our flight goes out before we wait for the peer's, and before we report success. */
        mtls_err ferr = mtls_fd_flush(conn, fd);
        if (ferr != MTLS_OK) {
            return ferr;
        }
        if (err == MTLS_OK) {
            return MTLS_OK;
        }
        if (err == MTLS_ERR_WANT_WRITE) {
            continue; /* the send buffer was full and is now empty */
        }
        if (eof) {
            /* The core should have failed on EOF; never spin on a dead transport. */
            return fail(conn, fd, MTLS_ERR_EOF);
        }
        ferr = fill(conn, fd, &eof);
        if (ferr == MTLS_ERR_WANT_READ) {
            return ferr;
        }
        if (ferr != MTLS_OK) {
            return fail(conn, fd, ferr);
        }
    }
}

/* A connection whose handshake has not run yet (and that has not failed or closed). */
static int needs_handshake(const mtls_conn *conn)
{
    return !mtls_conn_established(conn) && mtls_conn_error(conn) == MTLS_OK &&
           !mtls_conn_close_sent(conn) && !mtls_conn_close_received(conn);
}

mtls_err mtls_fd_read(mtls_conn *conn, int fd, void *out, size_t cap, size_t *out_len)
{
    int eof = 0;

    if (out_len != NULL) {
        *out_len = 0;
    }
    if (conn == NULL || fd < 0 || out == NULL || out_len == NULL) {
        return MTLS_ERR_INVALID_ARG;
    }
    if (needs_handshake(conn)) {
        mtls_err err = mtls_fd_handshake(conn, fd);
        if (err != MTLS_OK) {
            return err;
        }
    }
    /* Output left over (an earlier non-blocking write) goes first, but a full socket must not
     * stop us reading: that is how two peers deadlock. */
    mtls_err ferr = mtls_fd_flush(conn, fd);
    if (ferr == MTLS_ERR_IO) {
        return ferr;
    }
    for (;;) {
        mtls_err err = mtls_read(conn, out, cap, out_len);
        if (err == MTLS_OK || err == MTLS_ERR_CLOSED) {
            return err;
        }
        if (err == MTLS_ERR_WANT_WRITE) {
            ferr = mtls_fd_flush(conn, fd);
            if (ferr != MTLS_OK) {
                return ferr;
            }
            continue;
        }
        if (err != MTLS_ERR_WANT_READ) {
            return fail(conn, fd, err);
        }
        if (eof) {
            return fail(conn, fd, MTLS_ERR_EOF);
        }
        /* Reading may have queued output -- the no_renegotiation warning that refuses a
         * ClientHello or HelloRequest -- and the peer may wait for it before it sends what we
         * are about to wait for: it goes out first.  A full socket (WANT_WRITE) must not stop
         * the read; the caller sees the output still pending in mtls_send_buf. */
        ferr = mtls_fd_flush(conn, fd);
        if (ferr == MTLS_ERR_IO) {
            return ferr;
        }
        err = fill(conn, fd, &eof);
        if (err == MTLS_ERR_WANT_READ) {
            return err;
        }
        if (err != MTLS_OK) {
            return fail(conn, fd, err);
        }
    }
}

mtls_err mtls_fd_write(mtls_conn *conn, int fd, const void *in, size_t len, size_t *out_written)
{
    const uint8_t *p = in;
    size_t total = 0;

    if (out_written != NULL) {
        *out_written = 0;
    }
    if (conn == NULL || fd < 0 || (in == NULL && len > 0) || out_written == NULL) {
        return MTLS_ERR_INVALID_ARG;
    }
    if (needs_handshake(conn)) {
        mtls_err err = mtls_fd_handshake(conn, fd);
        if (err != MTLS_OK) {
            return err;
        }
    }
    for (;;) {
        size_t n = 0;
        mtls_err err = total < len ? mtls_write(conn, p + total, len - total, &n) : MTLS_OK;
        if (is_fatal(err)) {
            *out_written = total;
            return fail(conn, fd, err);
        }
        total += n;
        size_t pending = 0;
        (void)mtls_send_buf(conn, &pending);
        mtls_err ferr = mtls_fd_flush(conn, fd);
        *out_written = total;
        if (ferr == MTLS_ERR_WANT_WRITE) {
            /* Non-blocking: what the core accepted stays in its send buffer for the next flush. */
            return total > 0 ? MTLS_OK : MTLS_ERR_WANT_WRITE;
        }
        if (ferr != MTLS_OK) {
            return ferr;
        }
        if (total == len) {
            return MTLS_OK;
        }
        if (n == 0 && pending == 0) {
            return MTLS_ERR_INTERNAL; /* no progress and nothing to flush: never spin */
        }
    }
}

mtls_err mtls_fd_close(mtls_conn *conn, int fd)
{
    if (conn == NULL || fd < 0) {
        return MTLS_ERR_INVALID_ARG;
    }
    if (!mtls_conn_close_sent(conn)) {
        mtls_err err = mtls_close(conn);
        if (is_fatal(err)) {
            return fail(conn, fd, err);
        }
    }
    return mtls_fd_flush(conn, fd);
}
