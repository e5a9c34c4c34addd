/*
 * fd.c -- drive an mtls connection over a file descriptor, blocking or O_NONBLOCK, with or
 * without a deadline.
 *
 * This file owns the mtls_fd_*() helpers and nothing else.  It is written against the public,
 * sans-I/O calls of include/mtls.h only (recv_buf/ack, send_buf/ack, handshake, read, write,
 * close), which is the proof that the core is enough for a real transport.  It keeps no state of
 * its own: everything lives in the connection or on the stack (struct io, one per public call).
 *
 * Invariants:
 *  - EINTR is retried; nothing is lost: bytes read are always acknowledged, bytes written always
 *    retired, whether the call ends in success, WANT_*, a timeout or an error.
 *  - Without a deadline (the plain calls) the fd's own mode decides.  EAGAIN/EWOULDBLOCK on an
 *    O_NONBLOCK fd becomes MTLS_ERR_WANT_READ / MTLS_ERR_WANT_WRITE; on a blocking fd it can only
 *    mean that SO_RCVTIMEO / SO_SNDTIMEO expired, and becomes MTLS_ERR_TIMEOUT (a caller looping
 *    on WANT_READ over a blocking socket would otherwise spin or misread the socket's mode).
 *  - With a deadline (the _timeout calls) every wait is a poll() bounded by what is left of the
 *    one deadline of the call, so the call as a whole -- the handshake a read or write runs
 *    first included -- ends by then: a peer that trickles a byte at a time cannot stretch it.
 *    No system call may block past the deadline: sockets are read and written with
 *    MSG_DONTWAIT (the fd's flags are shared with other users of it and are never changed);
 *    other descriptors (pipes) are read after poll() says POLLIN and written at most PIPE_BUF
 *    bytes at a time after POLLOUT.  A deadline works the same on an O_NONBLOCK fd: the call
 *    waits, it never answers WANT_*.
 *  - read() returning 0 is announced as mtls_recv_ack(conn, 0), the transport's EOF.
 *  - Sockets are written with send(MSG_NOSIGNAL) so a closed peer gives EPIPE, not SIGPIPE;
 *    other descriptors (pipes in tests) fall back to write().
 *  - Before a fatal error is returned, pending output (the alert the core queued) is flushed
 *    when the fd takes it without waiting past the deadline; a flush failure never hides the
 *    first error.  A timeout is not fatal: the connection is as it was, and may be driven on.
 *  - Before we wait for input, pending output is flushed: input can queue some after the
 *    handshake (a no_renegotiation warning), and the peer may wait for it.
 *  - MTLS_ERR_WANT_KEY_OP (the handshake waits for the application's private-key operation) is
 *    returned as soon as the output is flushed, with or without a deadline: no fd can end it.
 */
#include "mtls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* One public call's view of the fd. */
struct io {
    int fd;
    int not_socket;      /* send()/recv() said ENOTSOCK: use write()/read() */
    int timed;           /* a deadline applies */
    int64_t deadline_ns; /* CLOCK_MONOTONIC */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* timeout_ms < 0: no deadline. */
static struct io io_start(int fd, int timeout_ms)
{
    struct io io = {fd, 0, timeout_ms >= 0, 0};
    if (io.timed) {
        io.deadline_ns = now_ns() + (int64_t)timeout_ms * 1000000;
    }
    return io;
}

/* Whether an error ends the connection (anything but OK and the two "blocked" answers). */
static int is_fatal(mtls_err err)
{
    return err != MTLS_OK && !mtls_err_is_blocked(err);
}

/* EAGAIN without a deadline: WANT_* on an O_NONBLOCK fd; on a blocking fd only a socket timeout
 * (SO_RCVTIMEO / SO_SNDTIMEO) can have ended the wait. */
static mtls_err would_block(const struct io *io, mtls_err want)
{
    int flags = fcntl(io->fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK)) {
        return want;
    }
    errno = ETIMEDOUT;
    return MTLS_ERR_TIMEOUT;
}

/* Wait until the fd is ready for `events` (POLLIN / POLLOUT) or the deadline passes. */
static mtls_err wait_ready(const struct io *io, short events)
{
    for (;;) {
        int64_t left_ns = io->deadline_ns - now_ns();
        if (left_ns < 0) {
            left_ns = 0;
        }
        /* Rounded up, so that when poll() times out the deadline has passed. */
        int64_t left_ms = (left_ns + 999999) / 1000000;
        struct pollfd p = {io->fd, events, 0};
        int r = poll(&p, 1, left_ms > INT_MAX ? INT_MAX : (int)left_ms);
        if (r > 0) {
            return MTLS_OK; /* ready, or POLLERR / POLLHUP: the next read or write says which */
        }
        if (r == 0) {
            if (left_ms < INT_MAX) {
                errno = ETIMEDOUT;
                return MTLS_ERR_TIMEOUT;
            }
            continue; /* a deadline beyond INT_MAX ms: wait again */
        }
        if (errno != EINTR) {
            return MTLS_ERR_IO;
        }
    }
}

/* Read once into p (*got = 0 at the transport's end). */
static mtls_err get(struct io *io, uint8_t *p, size_t n, size_t *got)
{
    for (;;) {
        ssize_t r;
        if (io->timed && !io->not_socket) {
            r = recv(io->fd, p, n, MSG_DONTWAIT);
            if (r < 0 && errno == ENOTSOCK) {
                io->not_socket = 1;
                continue;
            }
        } else if (io->timed) {
            /* Not a socket: read only what poll() has announced. */
            mtls_err err = wait_ready(io, POLLIN);
            if (err != MTLS_OK) {
                return err;
            }
            r = read(io->fd, p, n);
        } else {
            r = read(io->fd, p, n);
        }
        if (r >= 0) {
            *got = (size_t)r;
            return MTLS_OK;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return MTLS_ERR_IO;
        }
        if (!io->timed) {
            return would_block(io, MTLS_ERR_WANT_READ);
        }
        mtls_err err = wait_ready(io, POLLIN);
        if (err != MTLS_OK) {
            return err;
        }
    }
}

/* Write once from p (*put bytes taken, at least one on MTLS_OK). */
static mtls_err put(struct io *io, const uint8_t *p, size_t n, size_t *put_len)
{
    for (;;) {
        ssize_t w;
        if (!io->not_socket) {
            w = send(io->fd, p, n, MSG_NOSIGNAL | (io->timed ? MSG_DONTWAIT : 0));
            if (w < 0 && errno == ENOTSOCK) {
                io->not_socket = 1;
                continue;
            }
        } else if (io->timed) {
            /* Not a socket: a pipe that polls POLLOUT has room for PIPE_BUF bytes (Linux: a free
             * page-sized slot; the BSDs: PIPE_BUF bytes free), so this write does not block. */
            mtls_err err = wait_ready(io, POLLOUT);
            if (err != MTLS_OK) {
                return err;
            }
            w = write(io->fd, p, n < PIPE_BUF ? n : PIPE_BUF);
        } else {
            w = write(io->fd, p, n);
        }
        if (w >= 0) {
            *put_len = (size_t)w;
            return MTLS_OK;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return MTLS_ERR_IO;
        }
        if (!io->timed) {
            return would_block(io, MTLS_ERR_WANT_WRITE);
        }
        mtls_err err = wait_ready(io, POLLOUT);
        if (err != MTLS_OK) {
            return err;
        }
    }
}

static mtls_err flush(mtls_conn *conn, struct io *io)
{
    for (;;) {
        size_t len = 0, w = 0;
        const uint8_t *p = mtls_send_buf(conn, &len);
        if (p == NULL || len == 0) {
            return MTLS_OK;
        }
        mtls_err err = put(io, p, len, &w);
        if (err != MTLS_OK) {
            return err;
        }
        mtls_send_ack(conn, w);
    }
}

/* Best-effort flush before returning `err`; errno is kept for the caller of a failed read. */
static mtls_err fail(mtls_conn *conn, struct io *io, mtls_err err)
{
    int saved = errno;
    (void)flush(conn, io);
    errno = saved;
    return err;
}

/* Read once from fd into the connection.  *eof is set when the transport ended (read() == 0). */
static mtls_err fill(mtls_conn *conn, struct io *io, int *eof)
{
    size_t room = 0, got = 0;
    uint8_t *buf = mtls_recv_buf(conn, &room);

    if (buf == NULL || room == 0) {
        /* The core takes no input until the application reads; asking for more is our bug. */
        return mtls_conn_error(conn) != MTLS_OK ? mtls_conn_error(conn) : MTLS_ERR_BAD_STATE;
    }
    mtls_err err = get(io, buf, room, &got);
    if (err != MTLS_OK) {
        return err;
    }
    if (got == 0) {
        *eof = 1;
    }
    err = mtls_recv_ack(conn, got);
    return is_fatal(err) ? err : MTLS_OK;
}

/* Neither fatal nor a reason to flush: the call may simply be repeated. */
static int is_retry(mtls_err err)
{
    return mtls_err_is_blocked(err) || err == MTLS_ERR_TIMEOUT;
}

static mtls_err handshake(mtls_conn *conn, struct io *io)
{
    int eof = 0;

    for (;;) {
        mtls_err err = mtls_handshake(conn);
        if (is_fatal(err)) {
            return fail(conn, io, err);
        }
        /* Our flight goes out before we wait for the peer's, and before we report success. */
        mtls_err ferr = flush(conn, io);
        if (ferr != MTLS_OK) {
            return ferr;
        }
        if (err == MTLS_OK || err == MTLS_ERR_WANT_KEY_OP) {
            return err; /* the key operation's result comes from the application, not the fd */
        }
        if (err == MTLS_ERR_WANT_WRITE) {
            continue; /* the send buffer was full and is now empty */
        }
        if (eof) {
            /* The core should have failed on EOF; never spin on a dead transport. */
            return fail(conn, io, MTLS_ERR_EOF);
        }
        ferr = fill(conn, io, &eof);
        if (is_retry(ferr)) {
            return ferr;
        }
        if (ferr != MTLS_OK) {
            return fail(conn, io, ferr);
        }
    }
}

/* A connection whose handshake has not run yet (and that has not failed or closed). */
static int needs_handshake(const mtls_conn *conn)
{
    return !mtls_conn_established(conn) && mtls_conn_error(conn) == MTLS_OK &&
           !mtls_conn_close_sent(conn) && !mtls_conn_close_received(conn);
}

static mtls_err read_app(mtls_conn *conn, struct io *io, void *out, size_t cap, size_t *out_len)
{
    int eof = 0;

    if (needs_handshake(conn)) {
        mtls_err err = handshake(conn, io);
        if (err != MTLS_OK) {
            return err;
        }
    }
    /* Output left over (an earlier non-blocking write) goes first, but a full socket must not
     * stop us reading: that is how two peers deadlock.  So no waiting for it here either. */
    struct io now = *io;
    if (now.timed) {
        now.deadline_ns = 0;
    }
    mtls_err ferr = flush(conn, &now);
    io->not_socket = now.not_socket;
    if (ferr == MTLS_ERR_IO) {
        return ferr;
    }
    for (;;) {
        mtls_err err = mtls_read(conn, out, cap, out_len);
        if (err == MTLS_OK || err == MTLS_ERR_CLOSED) {
            return err;
        }
        if (err == MTLS_ERR_WANT_WRITE) {
            ferr = flush(conn, io);
            if (ferr != MTLS_OK) {
                return ferr;
            }
            continue;
        }
        if (err != MTLS_ERR_WANT_READ) {
            return fail(conn, io, err);
        }
        if (eof) {
            return fail(conn, io, MTLS_ERR_EOF);
        }
        /* Reading may have queued output -- the no_renegotiation warning that refuses a
         * ClientHello or HelloRequest -- and the peer may wait for it before it sends what we
         * are about to wait for: it goes out first.  As above, no waiting for room: a full
         * socket must not stop the read; the output stays pending in mtls_send_buf. */
        now = *io;
        if (now.timed) {
            now.deadline_ns = 0;
        }
        ferr = flush(conn, &now);
        io->not_socket = now.not_socket;
        if (ferr == MTLS_ERR_IO) {
            return ferr;
        }
        err = fill(conn, io, &eof);
        if (is_retry(err)) {
            return err;
        }
        if (err != MTLS_OK) {
            return fail(conn, io, err);
        }
    }
}

static mtls_err write_app(mtls_conn *conn, struct io *io, const void *in, size_t len,
                          size_t *out_written)
{
    const uint8_t *p = in;
    size_t total = 0;

    if (needs_handshake(conn)) {
        mtls_err err = handshake(conn, io);
        if (err != MTLS_OK) {
            return err;
        }
    }
    for (;;) {
        size_t n = 0;
        mtls_err err = total < len ? mtls_write(conn, p + total, len - total, &n) : MTLS_OK;
        if (is_fatal(err)) {
            *out_written = total;
            return fail(conn, io, err);
        }
        total += n;
        size_t pending = 0;
        (void)mtls_send_buf(conn, &pending);
        mtls_err ferr = flush(conn, io);
        *out_written = total;
        if (ferr == MTLS_ERR_WANT_WRITE) {
            /* Non-blocking: what the core accepted stays in its send buffer for the next flush. */
            return total > 0 ? MTLS_OK : MTLS_ERR_WANT_WRITE;
        }
        if (ferr != MTLS_OK) {
            return ferr; /* a timeout too: what was accepted goes out with a later flush */
        }
        if (total == len) {
            return MTLS_OK;
        }
        if (n == 0 && pending == 0) {
            return MTLS_ERR_INTERNAL; /* no progress and nothing to flush: never spin */
        }
    }
}

static mtls_err close_conn(mtls_conn *conn, struct io *io)
{
    if (!mtls_conn_close_sent(conn)) {
        mtls_err err = mtls_close(conn);
        if (is_fatal(err)) {
            return fail(conn, io, err);
        }
    }
    return flush(conn, io);
}

/* ---- the public calls: argument checks, then one struct io for the whole call ------------- */

mtls_err mtls_fd_flush_timeout(mtls_conn *conn, int fd, int timeout_ms)
{
    if (conn == NULL || fd < 0) {
        return MTLS_ERR_INVALID_ARG;
    }
    struct io io = io_start(fd, timeout_ms);
    return flush(conn, &io);
}

mtls_err mtls_fd_handshake_timeout(mtls_conn *conn, int fd, int timeout_ms)
{
    if (conn == NULL || fd < 0) {
        return MTLS_ERR_INVALID_ARG;
    }
    struct io io = io_start(fd, timeout_ms);
    return handshake(conn, &io);
}

mtls_err mtls_fd_read_timeout(mtls_conn *conn, int fd, void *out, size_t cap, size_t *out_len,
                              int timeout_ms)
{
    if (out_len != NULL) {
        *out_len = 0;
    }
    if (conn == NULL || fd < 0 || out == NULL || out_len == NULL) {
        return MTLS_ERR_INVALID_ARG;
    }
    struct io io = io_start(fd, timeout_ms);
    return read_app(conn, &io, out, cap, out_len);
}

mtls_err mtls_fd_write_timeout(mtls_conn *conn, int fd, const void *in, size_t len,
                               size_t *out_written, int timeout_ms)
{
    if (out_written != NULL) {
        *out_written = 0;
    }
    if (conn == NULL || fd < 0 || (in == NULL && len > 0) || out_written == NULL) {
        return MTLS_ERR_INVALID_ARG;
    }
    struct io io = io_start(fd, timeout_ms);
    return write_app(conn, &io, in, len, out_written);
}

mtls_err mtls_fd_close_timeout(mtls_conn *conn, int fd, int timeout_ms)
{
    if (conn == NULL || fd < 0) {
        return MTLS_ERR_INVALID_ARG;
    }
    struct io io = io_start(fd, timeout_ms);
    return close_conn(conn, &io);
}

mtls_err mtls_fd_flush(mtls_conn *conn, int fd)
{
    return mtls_fd_flush_timeout(conn, fd, -1);
}

mtls_err mtls_fd_handshake(mtls_conn *conn, int fd)
{
    return mtls_fd_handshake_timeout(conn, fd, -1);
}

mtls_err mtls_fd_read(mtls_conn *conn, int fd, void *out, size_t cap, size_t *out_len)
{
    return mtls_fd_read_timeout(conn, fd, out, cap, out_len, -1);
}

mtls_err mtls_fd_write(mtls_conn *conn, int fd, const void *in, size_t len, size_t *out_written)
{
    return mtls_fd_write_timeout(conn, fd, in, len, out_written, -1);
}

mtls_err mtls_fd_close(mtls_conn *conn, int fd)
{
    return mtls_fd_close_timeout(conn, fd, -1);
}
