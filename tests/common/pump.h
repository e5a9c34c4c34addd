/*
 * pump.h -- the one in-memory pump of the tests: bytes moved between an mtls client and server
 * as a transport would move them, through mtls_send_buf / mtls_recv_buf alone.  A tp_wire says
 * how: in pieces of at most `chunk` bytes, looked at (watch) or rewritten (edit) on the way.
 * Every handshake test moves bytes with it (or, record by record, with tp_feed).
 */
#ifndef MTLS_TEST_PUMP_H
#define MTLS_TEST_PUMP_H

#include <stddef.h>
#include <stdint.h>

#include "mtls.h"

typedef struct tp_wire {
    size_t chunk; /* at most this many bytes per mtls_recv_ack (0: as many as the buffer takes) */
    /* Called with what one side sent, before it is delivered; to_server says which way. */
    void (*watch)(void *arg, int to_server, const uint8_t *p, size_t n);
    /* Rewrites what one side sent into `out` (room for 6n + 64 bytes) and returns its length. */
    size_t (*edit)(void *arg, int to_server, const uint8_t *in, size_t n, uint8_t *out);
    void *arg;
} tp_wire;

/* Give `n` bytes to `to` as a transport would, `chunk` bytes at a time at most (0: as many as the
 * receive buffer takes).  The first fatal error, MTLS_ERR_WANT_WRITE when `to` takes no more
 * input (application data waits to be read), else what the last mtls_recv_ack returned. */
mtls_err tp_feed(mtls_conn *to, const uint8_t *p, size_t n, size_t chunk);
/* Move whatever is pending from one to the other (one direction, once, as it comes). */
mtls_err tp_transfer(mtls_conn *from, mtls_conn *to);
/* The client's first mtls_handshake, then bytes moved both ways through `w` (NULL: as they are)
 * until nothing moves.  Returns what tp_handshake returns. */
mtls_err tp_pump(mtls_conn *client, mtls_conn *server, const tp_wire *w);
/* tp_pump over a plain wire.  MTLS_OK when both are established; otherwise the client's error or
 * state (MTLS_ERR_WANT_READ) first, then the server's. */
mtls_err tp_handshake(mtls_conn *client, mtls_conn *server);
/* Write `len` bytes on `from`, move them, read them back on `to`; 1 when they arrive intact. */
int tp_send_check(mtls_conn *from, mtls_conn *to, const void *data, size_t len);

#endif
