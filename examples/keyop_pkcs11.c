/*
 * keyop_pkcs11.c -- an echo server whose private key stays on a PKCS#11 token and is used from a
 * worker thread, through mtls's key method (mtls_config_set_cert_chain_key_method).
 *
 *   usage: keyop_pkcs11 CHAIN KEY_URI MODULE [PORT [MAX_CONNS]]
 *          the PIN: the URI's pin-value, else the environment variable PKCS11_PIN
 *   e.g.   PKCS11_PIN=4321 keyop_pkcs11 server.crt \
 *              'pkcs11:token=mtls;object=server-key;type=private' /usr/lib/softhsm/libsofthsm2.so
 *
 * Listens on 127.0.0.1:PORT (default 4433; 0 picks a free port), prints "listening on
 * 127.0.0.1:N", and echoes what each client sends; with MAX_CONNS it exits after that many
 * connections.  After each handshake it prints how many operations the token did.
 *
 * mtls_config_set_cert_chain_key_uri gives the same key in one call, but synchronously: each
 * signature then runs on the thread that drives the handshake, and a network HSM's milliseconds
 * hold that thread up.  Here the callbacks only hand the operation to a worker thread and answer
 * MTLS_KEY_OP_PENDING; the connection's loop, told MTLS_ERR_WANT_KEY_OP, waits for the worker's
 * pipe (a server with many connections polls it with all its sockets), takes the result and hands
 * it back with mtls_conn_key_op_done, on its own thread, then drives the handshake on.  The token
 * is reached through OpenSSL's engine "pkcs11" (libp11, Debian's libengine-pkcs11-openssl); a KMS
 * client or an RPC to a signing service fits the same two callbacks.
 *
 * The callbacks' contract (mtls.h, docs/SECURITY.md): sign gets the data to sign, not its digest,
 * and signs it with the TLS scheme's hash and padding; decrypt (static RSA) returns the raw RSA
 * result and never looks at the padding -- mtls checks it, in constant time.  mtls verifies each
 * signature with the certificate's key before sending it, so a token key that is not the
 * certificate's fails the first handshake with MTLS_ERR_KEY_OP_BAD_RESULT.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define OPENSSL_SUPPRESS_DEPRECATED /* ENGINE_*: libp11's engine, what Debian 12 packages */
#include <mtls.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/engine.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

/* ---- the worker: one operation at a time on the token ------------------------------------- */

enum { JOB_IDLE, JOB_QUEUED, JOB_DONE };

struct job {
    pthread_mutex_t lock;
    pthread_cond_t queued;
    int state, quit;
    int decrypt;
    uint16_t sigalg;
    unsigned char *in; /* a copy: mtls's `in` is valid only during the callback */
    size_t in_len;
    unsigned char out[1024];
    size_t out_len;
    int ok;
    int wake[2]; /* the worker writes a byte when a result is ready */
    EVP_PKEY *key;
    unsigned signs, decrypts;
};

static const EVP_MD *scheme_md(uint16_t sigalg, int *pss)
{
    *pss = (sigalg >> 8) == 0x08; /* rsa_pss_rsae_* */
    switch (sigalg & 0xff00) {
    case 0x0400:
        return EVP_sha256(); /* rsa_pkcs1_sha256, ecdsa_secp256r1_sha256 */
    case 0x0500:
        return EVP_sha384();
    case 0x0600:
        return EVP_sha512();
    case 0x0800:
        return sigalg == MTLS_SIG_RSA_PSS_RSAE_SHA256   ? EVP_sha256()
               : sigalg == MTLS_SIG_RSA_PSS_RSAE_SHA384 ? EVP_sha384()
               : sigalg == MTLS_SIG_RSA_PSS_RSAE_SHA512 ? EVP_sha512()
                                                        : NULL;
    default:
        return NULL;
    }
}

/* The TLS signature scheme on the token: hash the data, then PKCS #1 v1.5, PSS (salt as long as
 * the hash, MGF1 with it) or ECDSA (DER). */
static int token_sign(struct job *j)
{
    int pss;
    const EVP_MD *md = scheme_md(j->sigalg, &pss);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t len = sizeof(j->out);
    int ok = md != NULL && m != NULL && EVP_DigestSignInit(m, &pctx, md, NULL, j->key) > 0 &&
             (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
                       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0)) &&
             EVP_DigestSign(m, j->out, &len, j->in, j->in_len) > 0;
    EVP_MD_CTX_free(m);
    j->out_len = ok ? len : 0;
    return ok;
}

/* Raw RSA on the token (CKM_RSA_X_509): the padding is mtls's to check, never ours. */
static int token_decrypt(struct job *j)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(j->key, NULL);
    size_t len = sizeof(j->out);
    int ok = ctx != NULL && EVP_PKEY_decrypt_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) > 0 &&
             EVP_PKEY_decrypt(ctx, j->out, &len, j->in, j->in_len) > 0;
    EVP_PKEY_CTX_free(ctx);
    j->out_len = ok ? len : 0;
    return ok;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    pthread_mutex_lock(&j->lock);
    for (;;) {
        while (j->state != JOB_QUEUED && !j->quit)
            pthread_cond_wait(&j->queued, &j->lock);
        if (j->quit)
            break;
        pthread_mutex_unlock(&j->lock); /* the token's time is spent outside the lock */
        int ok = j->decrypt ? token_decrypt(j) : token_sign(j);
        pthread_mutex_lock(&j->lock);
        j->ok = ok;
        j->state = JOB_DONE;
        if (write(j->wake[1], "x", 1) != 1)
            perror("write");
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* ---- the key method: hand the operation over, answer "later" ------------------------------- */

static mtls_key_op_status queue(struct job *j, int decrypt, uint16_t sigalg, const uint8_t *in,
                                size_t in_len)
{
    unsigned char *copy = malloc(in_len ? in_len : 1);
    if (copy == NULL)
        return MTLS_KEY_OP_FAILED;
    memcpy(copy, in, in_len);
    pthread_mutex_lock(&j->lock);
    free(j->in);
    j->in = copy;
    j->in_len = in_len;
    j->decrypt = decrypt;
    j->sigalg = sigalg;
    j->state = JOB_QUEUED;
    if (decrypt)
        j->decrypts++;
    else
        j->signs++;
    pthread_cond_signal(&j->queued);
    pthread_mutex_unlock(&j->lock);
    return MTLS_KEY_OP_PENDING;
}

static mtls_key_op_status sign_cb(void *arg, const mtls_conn *conn, uint16_t sigalg,
                                  const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                                  size_t *out_len)
{
    (void)conn, (void)out, (void)cap, (void)out_len;
    return queue(arg, 0, sigalg, in, in_len);
}

static mtls_key_op_status decrypt_cb(void *arg, const mtls_conn *conn, const uint8_t *in,
                                     size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
    (void)conn, (void)out, (void)cap, (void)out_len;
    return queue(arg, 1, 0, in, in_len);
}

/* MTLS_ERR_WANT_KEY_OP: wait for the worker (at most 30 s) and hand its result over. */
static mtls_err finish_key_op(mtls_conn *conn, struct job *j)
{
    struct pollfd p = {j->wake[0], POLLIN, 0};
    char byte;
    if (poll(&p, 1, 30000) != 1 || read(j->wake[0], &byte, 1) != 1) {
        fprintf(stderr, "the token did not answer\n");
        return mtls_conn_key_op_done(conn, NULL, 0);
    }
    pthread_mutex_lock(&j->lock);
    mtls_err err = mtls_conn_key_op_done(conn, j->ok ? j->out : NULL, j->out_len);
    j->state = JOB_IDLE;
    pthread_mutex_unlock(&j->lock);
    return err;
}

/* ---- one connection ------------------------------------------------------------------------ */

static int wait_fd(int fd, mtls_err want)
{
    struct pollfd p = {fd, want == MTLS_ERR_WANT_WRITE ? POLLOUT : POLLIN, 0};
    return poll(&p, 1, 30000) == 1;
}

static void serve(mtls_config *cfg, int fd, struct job *j)
{
    mtls_conn *conn = mtls_server_new(cfg);
    unsigned signs = j->signs, decrypts = j->decrypts;
    mtls_err err = conn ? MTLS_ERR_WANT_READ : MTLS_ERR_NO_MEMORY;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    while (conn != NULL) {
        err = mtls_fd_handshake(conn, fd);
        if (err == MTLS_ERR_WANT_KEY_OP)
            err = finish_key_op(conn, j);
        else if ((err == MTLS_ERR_WANT_READ || err == MTLS_ERR_WANT_WRITE) && !wait_fd(fd, err))
            err = MTLS_ERR_TIMEOUT;
        if (err != MTLS_OK && !mtls_err_is_blocked(err))
            break;
        if (mtls_conn_established(conn)) {
            err = MTLS_OK;
            break;
        }
    }
    if (err != MTLS_OK) {
        fprintf(stderr, "handshake failed: %s (%s)\n", conn ? mtls_conn_error_detail(conn) : "",
                mtls_err_name(err));
        mtls_conn_free(conn);
        return;
    }
    uint16_t sigalg = mtls_conn_server_sigalg(conn);
    printf("client connected (%s, %s); key operations on the token, from the worker thread: "
           "%u sign(s), %u decrypt(s)\n",
           mtls_suite_name(mtls_conn_cipher_suite(conn)),
           sigalg ? mtls_sigalg_name(sigalg) : "static RSA", j->signs - signs,
           j->decrypts - decrypts);
    fflush(stdout);
    /* The echo: each read and write bounded by 30 s. */
    for (;;) {
        unsigned char buf[16384];
        size_t n = 0, w = 0;
        err = mtls_fd_read_timeout(conn, fd, buf, sizeof(buf), &n, 30000);
        if (err != MTLS_OK)
            break;
        err = mtls_fd_write_timeout(conn, fd, buf, n, &w, 30000);
        if (err != MTLS_OK)
            break;
    }
    printf("connection %s (%s)\n", err == MTLS_ERR_CLOSED ? "closed cleanly" : "ended",
           mtls_err_name(err));
    fflush(stdout);
    mtls_fd_close_timeout(conn, fd, 1000);
    mtls_conn_free(conn);
}

/* ---- set-up -------------------------------------------------------------------------------- */

static EVP_PKEY *load_token_key(const char *uri, const char *module, ENGINE **out)
{
    const char *pin = getenv("PKCS11_PIN");
    ENGINE *e = ENGINE_by_id("pkcs11");
    EVP_PKEY *key = NULL;
    if (e == NULL) {
        fprintf(stderr, "OpenSSL's engine \"pkcs11\" is missing (libengine-pkcs11-openssl)\n");
        return NULL;
    }
    if (ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0) &&
        (pin == NULL || ENGINE_ctrl_cmd_string(e, "PIN", pin, 0)) && ENGINE_init(e)) {
        key = ENGINE_load_private_key(e, uri, NULL, NULL);
        if (key == NULL)
            ENGINE_finish(e);
    }
    if (key == NULL) {
        fprintf(stderr, "cannot load %s from the token (module %s)\n", uri, module);
        ENGINE_free(e);
        return NULL;
    }
    *out = e;
    return key;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = -1;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    if (f != NULL)
        fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s CHAIN KEY_URI MODULE [PORT [MAX_CONNS]]\n", argv[0]);
        return 2;
    }
    int port = argc > 4 ? atoi(argv[4]) : 4433, max_conns = argc > 5 ? atoi(argv[5]) : 0;
    size_t chain_len = 0;
    char *chain = read_file(argv[1], &chain_len);
    if (chain == NULL) {
        fprintf(stderr, "cannot read %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    static struct job job = {.lock = PTHREAD_MUTEX_INITIALIZER, .queued = PTHREAD_COND_INITIALIZER};
    ENGINE *engine = NULL;
    if ((job.key = load_token_key(argv[2], argv[3], &engine)) == NULL || pipe(job.wake) != 0)
        return 1;

    /* The chain from the file, the key on the token: mtls sees only the callbacks. */
    static const mtls_key_method method = {sign_cb, decrypt_cb};
    mtls_config *cfg = mtls_config_new();
    if (cfg == NULL ||
        mtls_config_set_cert_chain_key_method(cfg, chain, chain_len, &method, &job) != MTLS_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], cfg ? mtls_config_error_detail(cfg) : "no memory");
        return 1;
    }
    free(chain);

    pthread_t tid;
    if (pthread_create(&tid, NULL, worker, &job) != 0)
        return 1;
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t alen = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 16) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &alen) != 0) {
        perror("listen");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", ntohs(a.sin_port));
    fflush(stdout);
    for (int served = 0; max_conns == 0 || served < max_conns; served++) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue;
        serve(cfg, fd, &job);
        close(fd);
    }

    pthread_mutex_lock(&job.lock);
    job.quit = 1;
    pthread_cond_signal(&job.queued);
    pthread_mutex_unlock(&job.lock);
    pthread_join(tid, NULL);
    close(ls);
    mtls_config_free(cfg);
    free(job.in);
    EVP_PKEY_free(job.key);
    ENGINE_finish(engine);
    ENGINE_free(engine);
    return 0;
}
