/*
 * pump.c -- the in-memory pump (pump.h).  Bytes leave a side only through mtls_send_buf /
 * mtls_send_ack and arrive only through mtls_recv_buf / mtls_recv_ack, as over a socket.
 */
#include <stdlib.h>
#include <string.h>

#include "pump.h"

mtls_err tp_feed(mtls_conn *to, const uint8_t *p, size_t n, size_t chunk)
{
    mtls_err err = MTLS_OK;
    while (n) {
        size_t room;
        uint8_t *dst = mtls_recv_buf(to, &room);
        if (!dst || !room)
            return MTLS_ERR_WANT_WRITE;
        size_t k = n < room ? n : room;
        if (chunk && k > chunk)
            k = chunk;
        memcpy(dst, p, k);
        err = mtls_recv_ack(to, k);
        if (err && err != MTLS_ERR_WANT_READ)
            return err;
        p += k;
        n -= k;
    }
    return err;
}

mtls_err tp_transfer(mtls_conn *from, mtls_conn *to)
{
    size_t n;
    const uint8_t *p = mtls_send_buf(from, &n);
    while (p && n) {
        size_t room;
        uint8_t *dst = mtls_recv_buf(to, &room);
        if (!dst || room == 0)
            return MTLS_ERR_WANT_WRITE;
        size_t take = n < room ? n : room;
        memcpy(dst, p, take);
        mtls_send_ack(from, take);
        mtls_err err = mtls_recv_ack(to, take);
        if (err)
            return err;
        p = mtls_send_buf(from, &n);
    }
    return MTLS_OK;
}

mtls_err tp_pump(mtls_conn *client, mtls_conn *server, const tp_wire *w)
{
    mtls_handshake(client);
    for (int round = 0; round < 64; round++) {
        int moved = 0;
        mtls_conn *from[2] = {client, server}, *to[2] = {server, client};
        for (int k = 0; k < 2; k++) {
            size_t n;
            const uint8_t *p = mtls_send_buf(from[k], &n);
            if (!p || !n)
                continue;
            moved = 1;
            uint8_t *copy = malloc(n);
            memcpy(copy, p, n);
            mtls_send_ack(from[k], n);
            if (w && w->watch)
                w->watch(w->arg, k == 0, copy, n);
            if (w && w->edit) {
                uint8_t *out = malloc(6 * n + 64);
                size_t m = w->edit(w->arg, k == 0, copy, n, out);
                tp_feed(to[k], out, m, w->chunk);
                free(out);
            } else {
                tp_feed(to[k], copy, n, w ? w->chunk : 0);
            }
            free(copy);
        }
        if (!moved)
            break;
    }
    mtls_err ce = mtls_handshake(client);
    return ce != MTLS_OK ? ce : mtls_handshake(server);
}

mtls_err tp_handshake(mtls_conn *client, mtls_conn *server)
{
    return tp_pump(client, server, NULL);
}

int tp_send_check(mtls_conn *from, mtls_conn *to, const void *data, size_t len)
{
    size_t sent = 0, got = 0;
    unsigned char *back = malloc(len ? len : 1);
    while (got < len) {
        if (sent < len) {
            size_t w = 0;
            mtls_err err = mtls_write(from, (const char *)data + sent, len - sent, &w);
            if (err && err != MTLS_ERR_WANT_WRITE)
                break;
            sent += w;
        }
        mtls_err te = tp_transfer(from, to);
        if (te != MTLS_OK && te != MTLS_ERR_WANT_WRITE) /* WANT_WRITE: the reader must drain */
            break;
        size_t r = 0;
        mtls_err err = mtls_read(to, back + got, len - got, &r);
        if (err && err != MTLS_ERR_WANT_READ)
            break;
        got += r;
    }
    int ok = got == len && memcmp(back, data, len) == 0;
    free(back);
    return ok;
}
