/*
 * resume_client.c -- connect to a TLS echo server COUNT times, resuming the session of the
 * previous connection each time, and report how many connections were resumed.
 *
 *   usage: resume_client HOST PORT COUNT CA_FILE [CERT KEY]
 *     resume_client localhost 4433 5 ca.pem client.pem client.key
 *
 * A resumed connection skips the certificate exchange and the key exchange: the abbreviated
 * handshake (RFC 5246 7.3) costs one round trip and no public-key operation.  The client keeps
 * the session from one connection and offers it on the next; mtls_conn_resumed() tells whether
 * the server took it.  Here the session is kept as bytes, the way a program would save it to disk
 * between runs -- bytes that contain the master secret, to be protected like a private key.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* getaddrinfo */
#endif
#include <mtls.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A blocking TCP connection to host:port, trying every address the resolver returns. */
static int tcp_connect(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* One connection: offer the saved session (if any), handshake, echo a line, save the session
 * the server gave us.  Returns 1 resumed, 0 full handshake, -1 failure. */
static int one_connection(mtls_config *cfg, const char *host, const char *port, uint8_t **saved,
                          size_t *saved_len)
{
    int result = -1, fd = -1;
    mtls_conn *conn = mtls_client_new(cfg, host);
    mtls_err err = conn != NULL ? MTLS_OK : MTLS_ERR_NO_MEMORY;

    if (err == MTLS_OK && *saved != NULL) {
        /* Offer the saved session.  A session the server no longer knows, or one for another
         * server, is not an error: the handshake simply runs in full. */
        mtls_session *sess = mtls_session_from_bytes(*saved, *saved_len);
        if (sess != NULL) {
            err = mtls_conn_set_session(conn, sess);
            mtls_session_free(sess); /* the connection keeps its own reference */
        }
    }
    if (err == MTLS_OK && (fd = tcp_connect(host, port)) < 0) {
        err = MTLS_ERR_IO;
    }
    if (err == MTLS_OK) {
        err = mtls_fd_handshake(conn, fd);
    }
    /* Prove the keys work both ways: send a line, read its echo. */
    char line[] = "ping\n", echo[sizeof(line)];
    size_t n = 0, got = 0;
    if (err == MTLS_OK) {
        err = mtls_fd_write(conn, fd, line, strlen(line), &n);
    }
    while (err == MTLS_OK && got < strlen(line)) {
        err = mtls_fd_read(conn, fd, echo + got, strlen(line) - got, &n);
        got += n;
    }
    if (err == MTLS_OK && memcmp(line, echo, got) == 0) {
        result = mtls_conn_resumed(conn) ? 1 : 0;
        /* Save the session for next time (a resumed connection hands back the same session,
         * or a fresh ticket).  With out == NULL, to_bytes tells the size it needs. */
        mtls_session *sess = mtls_conn_get_session(conn);
        size_t len = 0;
        if (sess != NULL && mtls_session_to_bytes(sess, NULL, 0, &len) == MTLS_OK) {
            uint8_t *buf = malloc(len);
            if (buf != NULL && mtls_session_to_bytes(sess, buf, len, &len) == MTLS_OK) {
                free(*saved);
                *saved = buf;
                *saved_len = len;
            } else {
                free(buf);
            }
        }
        mtls_session_free(sess);
        (void)mtls_fd_close(conn, fd); /* close_notify: a clean end keeps the session valid */
    } else {
        const char *detail = conn != NULL ? mtls_conn_error_detail(conn) : "";
        fprintf(stderr, "connection failed: %s\n",
                err == MTLS_OK    ? "echo mismatch"
                : *detail != '\0' ? detail
                                  : mtls_err_str(err));
    }
    if (fd >= 0) {
        close(fd);
    }
    mtls_conn_free(conn);
    return result;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT COUNT CA_FILE [CERT KEY]\n", argv[0]);
        return 2;
    }
    int count = atoi(argv[3]), resumed = 0, failed = 0;

    /* The client config: whom to trust, and our certificate when the server asks for one. */
    mtls_config *cfg = mtls_config_new();
    mtls_err err = cfg != NULL ? mtls_config_set_ca_file(cfg, argv[4]) : MTLS_ERR_NO_MEMORY;
    if (err == MTLS_OK && argc == 7) {
        err = mtls_config_set_cert_chain_file(cfg, argv[5], argv[6]);
    }
    if (err != MTLS_OK) {
        fprintf(stderr, "config: %s\n", mtls_err_str(err));
        mtls_config_free(cfg);
        return 1;
    }

    uint8_t *saved = NULL; /* the serialized session: a secret */
    size_t saved_len = 0;
    for (int i = 1; i <= count; i++) {
        int r = one_connection(cfg, argv[1], argv[2], &saved, &saved_len);
        printf("connection %d: %s\n", i, r > 0 ? "resumed" : r == 0 ? "full handshake" : "failed");
        resumed += r > 0;
        failed += r < 0;
    }
    printf("%d connections, %d resumed, %d failed\n", count, resumed, failed);

    free(saved); /* a real program would wipe it first */
    mtls_config_free(cfg);
    return failed == 0 ? 0 : 1;
}
