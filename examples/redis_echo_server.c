/*
 * redis_echo_server.c -- a TLS echo server whose sessions live in Redis, so that several of them
 * behind a balancer resume each other's sessions by session id.
 *
 *   usage: redis_echo_server CERT KEY REDIS_URL [PORT [COUNT]]
 *     redis_echo_server server.pem server.key redis://127.0.0.1:6379 4433
 *
 * Listens on 127.0.0.1:PORT (default 4433; 0 picks a free port), prints "listening on
 * 127.0.0.1:N", then serves one connection at a time: handshake, echo one message, close; it
 * prints "connection N: resumed" or "connection N: full handshake".  With COUNT it exits after
 * that many connections.
 *
 * The session store is redis_store.c (beside this file): every new session goes to Redis under
 * its id, and a client offering an id this process has never seen is resumed when another server
 * put it there.  The in-memory cache is off and so are tickets, so every resumption here comes
 * from Redis.  If Redis is down or slow, the store gives up within the timeout (100 ms here) and
 * the handshake is a full one: Redis is an optimisation, never a dependency.
 *
 * Build: cc redis_echo_server.c redis_store.c $(pkg-config --cflags --libs mtls hiredis) -lpthread
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <mtls.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redis_store.h"

static void log_line(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "%s\n", line);
}

/* One client: handshake, echo what it sends first, close.  Returns 1 resumed, 0 full, -1 failed. */
static int serve_one(mtls_config *cfg, int fd)
{
    char buf[4096];
    size_t n = 0, written = 0;
    int result = -1;
    mtls_conn *conn = mtls_server_new(cfg);
    if (conn == NULL)
        return -1;
    mtls_err err = mtls_fd_handshake_timeout(conn, fd, 10000);
    if (err == MTLS_OK)
        err = mtls_fd_read_timeout(conn, fd, buf, sizeof(buf), &n, 10000);
    if (err == MTLS_OK)
        err = mtls_fd_write_timeout(conn, fd, buf, n, &written, 10000);
    if (err == MTLS_OK || err == MTLS_ERR_CLOSED) {
        result = mtls_conn_resumed(conn) ? 1 : 0;
        (void)mtls_fd_close_timeout(conn, fd, 1000);
    } else {
        const char *why = mtls_conn_error_detail(conn);
        fprintf(stderr, "connection failed: %s\n", why[0] ? why : mtls_err_str(err));
        (void)mtls_fd_flush_timeout(conn, fd, 1000); /* the alert */
    }
    mtls_conn_free(conn);
    return result;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: %s CERT KEY REDIS_URL [PORT [COUNT]]\n", argv[0]);
        return 2;
    }
    int port = argc > 4 ? atoi(argv[4]) : 4433;
    long count = argc > 5 ? atol(argv[5]) : -1;
    char err[256];
    redis_store *store = redis_store_new(argv[3], 100, err, sizeof(err));
    if (store == NULL) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    redis_store_set_log(store, log_line, NULL);

    mtls_config *cfg = mtls_config_new();
    if (cfg == NULL || mtls_config_set_cert_chain_file(cfg, argv[1], argv[2]) != MTLS_OK) {
        fprintf(stderr, "cannot load %s / %s: %s\n", argv[1], argv[2],
                cfg != NULL ? mtls_config_error_detail(cfg) : "out of memory");
        return 2;
    }
    /* Sessions by id, from Redis only: no tickets, no in-memory cache. */
    if (mtls_config_set_tickets(cfg, 0) != MTLS_OK ||
        mtls_config_set_session_cache(cfg, 0, 0) != MTLS_OK ||
        redis_store_attach(store, cfg) != MTLS_OK) {
        fprintf(stderr, "cannot set up the session store\n");
        return 2;
    }

    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof(addr);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 64) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &len) != 0) {
        perror("listen");
        return 2;
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);

    for (long i = 1; count < 0 || i <= count; i++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int r = serve_one(cfg, fd);
        close(fd);
        printf("connection %ld: %s\n", i, r > 0 ? "resumed" : r == 0 ? "full handshake" : "failed");
        fflush(stdout);
    }
    struct redis_store_stats s;
    redis_store_get_stats(store, &s);
    printf("session store: %lu stored, %lu found, %lu not found, %lu errors\n", s.stored, s.hits,
           s.misses, s.errors);
    close(lfd);
    mtls_config_free(cfg);
    redis_store_free(store);
    return 0;
}
