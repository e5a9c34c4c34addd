/*
 * https_get.c -- a blocking HTTPS client: connect, verify the server, send one GET request and
 * print the response on standard output.
 *
 *   usage: https_get HOST [PORT [PATH [CA_FILE]]]
 *     https_get example.org
 *     https_get localhost 8443 /index.html ca.pem
 *
 * The socket is an ordinary blocking TCP socket; the mtls_fd_*() helpers run the handshake and
 * carry records over it.  The server's certificate must chain to CA_FILE (default: the system
 * trust store) and name HOST.  Exit status 0 means a verified connection and a complete response.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* getaddrinfo */
#endif
#include <mtls.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A blocking TCP connection to host:port, trying every address the resolver returns. */
static int tcp_connect(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", host, gai_strerror(rc));
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
    if (fd < 0) {
        fprintf(stderr, "cannot connect to %s port %s\n", host, port);
    }
    return fd;
}

/* Print why something failed: the connection's own account when it has one (it names the
 * certificate, host or alert involved), else the error's generic sentence. */
static void report(const char *what, const mtls_conn *conn, mtls_err err)
{
    const char *detail = conn != NULL ? mtls_conn_error_detail(conn) : "";
    fprintf(stderr, "%s: %s\n", what, *detail != '\0' ? detail : mtls_err_str(err));
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: %s HOST [PORT [PATH [CA_FILE]]]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    const char *port = argc > 2 ? argv[2] : "443";
    const char *path = argc > 3 ? argv[3] : "/";
    const char *ca_file = argc > 4 ? argv[4] : NULL;
    int status = 1, fd = -1;
    mtls_conn *conn = NULL;
    mtls_err err;

    /* The config holds what connections share.  Its defaults are the safe ones: TLS 1.2 with
     * forward-secret AEAD suites, and the server's certificate verified against the system trust
     * store -- or only against CA_FILE when one is given. */
    mtls_config *cfg = mtls_config_new();
    if (cfg == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (ca_file != NULL && (err = mtls_config_set_ca_file(cfg, ca_file)) != MTLS_OK) {
        report(ca_file, NULL, err);
        goto out;
    }
    (void)mtls_config_set_alpn(cfg, "http/1.1"); /* optional; servers may ignore it */

    /* HOST is sent as SNI and is the name the server's certificate must carry. */
    conn = mtls_client_new(cfg, host);
    if (conn == NULL) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    fd = tcp_connect(host, port);
    if (fd < 0) {
        goto out;
    }
    /* On a blocking socket this returns once the handshake is done or has failed.  A failure
     * (bad certificate, no shared cipher, ...) has already sent the matching alert. */
    err = mtls_fd_handshake(conn, fd);
    if (err != MTLS_OK) {
        report("handshake", conn, err);
        goto out;
    }
    fprintf(stderr, "connected to %s: %s\n", host, mtls_suite_name(mtls_conn_cipher_suite(conn)));

    char req[1024];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     path, host);
    if (n < 0 || (size_t)n >= sizeof(req)) {
        fprintf(stderr, "request too long\n");
        goto out;
    }
    size_t written = 0;
    err = mtls_fd_write(conn, fd, req, (size_t)n, &written); /* blocking: writes all of it */
    if (err != MTLS_OK) {
        report("write", conn, err);
        goto out;
    }

    /* Print the response until the server closes the TLS session. */
    for (;;) {
        char buf[4096];
        size_t got = 0;
        err = mtls_fd_read(conn, fd, buf, sizeof(buf), &got);
        if (err != MTLS_OK) {
            break;
        }
        fwrite(buf, 1, got, stdout);
    }
    fflush(stdout);
    if (err == MTLS_ERR_CLOSED) {
        /* close_notify received: the response is complete.  Answer with ours. */
        (void)mtls_fd_close(conn, fd);
        status = 0;
    } else if (err == MTLS_ERR_EOF) {
        /* TCP ended without close_notify: an attacker could have cut the response short.  HTTP's
         * Content-Length would tell; this example only warns. */
        fprintf(stderr, "warning: connection ended without close_notify\n");
        status = 0;
    } else {
        report("read", conn, err);
    }

out:
    mtls_conn_free(conn); /* NULL-safe, wipes the connection's secrets */
    mtls_config_free(cfg);
    if (fd >= 0) {
        close(fd);
    }
    return status;
}
