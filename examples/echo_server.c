/*
 * echo_server.c -- a non-blocking mutual-TLS echo server on epoll.
 *
 *   usage: echo_server CERT KEY CLIENT_CA [PORT [MAX_CONNS]]
 *
 * Listens on 127.0.0.1:PORT (default 4433; 0 picks a free port) and prints "listening on
 * 127.0.0.1:N".  Every client must present a certificate that chains to CLIENT_CA; whatever it
 * sends comes back.  With MAX_CONNS the server exits once it has served that many connections.
 *
 * One thread, one level-triggered epoll set, every socket O_NONBLOCK.  The mtls_fd_*() helpers
 * return MTLS_ERR_WANT_READ or MTLS_ERR_WANT_WRITE when the socket would block; we then wait for
 * that event and call again.  A production server would also bound each connection's idle time.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <mtls.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct client {
    int fd;
    mtls_conn *conn;
    unsigned char buf[16384]; /* read from the client, not yet taken by mtls_fd_write */
    size_t off, len;
};

/* Push a connection as far as it goes without blocking.  Returns 0 while it lives (its epoll
 * interest updated), -1 once it is over. */
static int serve(int ep, struct client *c)
{
    mtls_err err = MTLS_OK;

    if (!mtls_conn_established(c->conn)) {
        err = mtls_fd_handshake(c->conn, c->fd);
        if (err == MTLS_OK) { /* the client's certificate is verified: say who it is */
            const char *who = mtls_conn_peer_subject(c->conn);
            printf("client \"%s\" connected (%s)\n", who != NULL ? who : "?",
                   mtls_suite_name(mtls_conn_cipher_suite(c->conn)));
        }
    }
    while (err == MTLS_OK) {
        size_t n = 0;
        err = mtls_fd_flush(c->conn, c->fd); /* 1. send what the connection has queued */
        if (err == MTLS_OK && c->len > 0) {  /* 2. then echo what we hold */
            err = mtls_fd_write(c->conn, c->fd, c->buf + c->off, c->len, &n);
            c->off += n;
            c->len -= n;
        } else if (err == MTLS_OK) { /* 3. then read more (only when the echo buffer is empty) */
            err = mtls_fd_read(c->conn, c->fd, c->buf, sizeof(c->buf), &n);
            c->off = 0;
            c->len = n;
        }
    }
    if (mtls_err_is_blocked(err)) {
        /* Wait for what was asked for, and for writability while output is queued. */
        size_t pending = 0;
        (void)mtls_send_buf(c->conn, &pending);
        struct epoll_event ev = {.data.ptr = c};
        ev.events = (err == MTLS_ERR_WANT_READ ? EPOLLIN : 0) | (pending > 0 ? EPOLLOUT : 0);
        return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0 ? 0 : -1;
    }
    if (err == MTLS_ERR_CLOSED) { /* the client's close_notify: answer with ours, best effort */
        (void)mtls_fd_close(c->conn, c->fd);
        printf("client closed\n");
    } else if (err == MTLS_ERR_EOF) {
        printf("client went away without close_notify\n");
    } else { /* a failed handshake lands here too: say why (no certificate, unknown CA, ...) */
        const char *detail = mtls_conn_error_detail(c->conn);
        printf("connection failed: %s\n", *detail != '\0' ? detail : mtls_err_str(err));
    }
    return -1;
}

static void drop(struct client *c)
{
    close(c->fd); /* also removes it from the epoll set */
    mtls_conn_free(c->conn);
    free(c);
}

/* A non-blocking listening socket on 127.0.0.1:port; prints the address it got. */
static int listen_on(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof(sa);
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        perror("listen");
        return -1;
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: %s CERT KEY CLIENT_CA [PORT [MAX_CONNS]]\n", argv[0]);
        return 2;
    }
    int port = argc > 4 ? atoi(argv[4]) : 4433;
    long max_conns = argc > 5 ? atol(argv[5]) : 0; /* 0: serve forever */
    setvbuf(stdout, NULL, _IOLBF, 0);              /* one line at a time, even into a pipe */

    /* One config for every connection: our certificate, the CA that client certificates must
     * chain to, and the demand for one.  Sessions are cached so clients can resume. */
    mtls_config *cfg = mtls_config_new();
    mtls_err err =
        cfg == NULL ? MTLS_ERR_NO_MEMORY : mtls_config_set_cert_chain_file(cfg, argv[1], argv[2]);
    if (err == MTLS_OK) {
        err = mtls_config_set_ca_file(cfg, argv[3]);
    }
    if (err == MTLS_OK) {
        err = mtls_config_set_verify_client(cfg, MTLS_VERIFY_REQUIRE);
    }
    if (err != MTLS_OK) {
        fprintf(stderr, "config: %s\n", mtls_err_str(err));
        mtls_config_free(cfg);
        return 1;
    }
    int lfd = listen_on(port), ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL marks the listener */
    if (lfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) != 0) {
        mtls_config_free(cfg);
        return 1;
    }

    long accepted = 0, live = 0;
    while (max_conns == 0 || accepted < max_conns || live > 0) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            struct client *c = evs[i].data.ptr;
            if (c != NULL) { /* a client's socket is ready */
                if (serve(ep, c) != 0) {
                    drop(c);
                    live--;
                }
                continue;
            }
            int fd = accept(lfd, NULL, NULL);
            if (fd < 0) {
                continue; /* the client left already, or EMFILE: try again on the next event */
            }
            c = calloc(1, sizeof(*c));
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            if (c == NULL || fcntl(fd, F_SETFL, O_NONBLOCK) != 0 ||
                (c->conn = mtls_server_new(cfg)) == NULL ||
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
                close(fd);
                if (c != NULL) {
                    mtls_conn_free(c->conn);
                    free(c);
                }
                continue;
            }
            c->fd = fd;
            live++;
            if (++accepted == max_conns) {
                epoll_ctl(ep, EPOLL_CTL_DEL, lfd, NULL); /* served enough: accept no more */
            }
        }
    }
    close(ep);
    close(lfd);
    mtls_config_free(cfg); /* the connections held references; all are gone now */
    return 0;
}
