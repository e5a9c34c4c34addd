/*
 * loadgen.c -- load generator for `mtls server --echo`: keeps N connections open at once on one
 * thread (non-blocking sockets, poll, the mtls_fd_* helpers) until T connections have been made,
 * some of them hostile, and watches the server process from /proc.  It proves, or fails on:
 *
 *   - no good connection fails: every full or resumed handshake completes, echoes a message back
 *     intact and closes cleanly (a failure prints its error and counts against the run);
 *   - the server survives (the process is alive at the end);
 *   - server memory is flat after warm-up: VmRSS at the end (all connections closed) is within
 *     --rss-tolerance percent of VmRSS in the middle of the run (half of the connections made);
 *   - every file descriptor is closed: the server's /proc/PID/fd count at the end equals the count
 *     before the run.
 *
 * Hostile kinds, mixed in at --hostile percent: garbage (random bytes after a TLS-looking
 * header), stall (three bytes of a record header, then silence until the server drops us or
 * --stall-ms passes), half handshake (a real ClientHello, read the server's flight, then vanish).
 * A share of the good connections (--resume percent) offers a session (ticket) from an earlier
 * full handshake, so abbreviated and full handshakes are both exercised.  A share (--tls12
 * percent, default 0) speaks TLS 1.2 only, the others the library's default (TLS 1.3 preferred),
 * each offering a session of its own version; the figures are also given per version.
 *
 * Usage: loadgen --connect HOST:PORT --ca FILE --server-pid PID [--concurrency 1000]
 *                [--total 20000] [--resume 70] [--hostile 5] [--stall-ms 3000]
 *                [--rss-tolerance 5] [--timeout-ms 60000] [--stop-file FILE] [--tls12 0]
 * --stop-file: stop starting connections once FILE exists (looked for every 250 ms), so that a
 * test can keep a steady stream going for as long as it does something else (reloads).
 * Prints the figures and exits 0 when every check holds.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mtls.h"

enum kind { K_FULL, K_RESUME, K_GARBAGE, K_STALL, K_HALF };
enum phase { P_CONNECT, P_HANDSHAKE, P_WRITE, P_READ, P_CLOSE, P_HOSTILE_SEND, P_HOSTILE_WAIT };

typedef struct slot {
    int fd;
    mtls_conn *conn;
    enum kind kind;
    enum phase phase;
    short events;
    int64_t deadline, started;
    size_t got;
    int half_read;
    int v12; /* a TLS 1.2-only connection (--tls12) */
} slot;

static struct {
    const char *host;
    int port;
    const char *ca;
    int pid;
    int conc, total, resume_pct, hostile_pct, stall_ms, timeout_ms, tls12_pct;
    double rss_tol;
    const char *stop_file;
} opt = {"127.0.0.1", 0, NULL, 0, 1000, 20000, 70, 5, 3000, 60000, 0, 5.0, NULL};

static struct {
    long started, good_ok, good_fail, full_ok, resumed_ok, resume_offered, hostile_done,
        hostile_dropped_by_server;
    long max_open;
    /* per client kind ([0] default versions, [1] TLS 1.2 only): good ones, resumed, offers;
     * and how many good ones negotiated TLS 1.3 */
    long v_ok[2], v_resumed[2], v_offered[2], tls13;
} st;

/* [0]: the library's default versions (TLS 1.3 preferred); [1]: TLS 1.2 only (--tls12) */
static mtls_config *cfgs[2];
static mtls_session *sessions[2];
static struct sockaddr_in addr;
static const char msg[] = "hello from loadgen, echo me back\n";

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long proc_rss_kb(const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", opt.pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, strlen(field)) == 0)
            v = strtol(line + strlen(field), NULL, 10);
    fclose(f);
    return v;
}

static long proc_fds(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", opt.pid);
    DIR *d = opendir(path);
    long n = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int first_errors;
static void good_failed(slot *s, const char *why)
{
    st.good_fail++;
    if (first_errors++ < 10)
        fprintf(stderr, "loadgen: good %s connection failed: %s%s%s\n",
                s->kind == K_RESUME ? "resuming" : "full", why, s->conn ? ": " : "",
                s->conn ? mtls_conn_error_detail(s->conn) : "");
}

static void slot_end(slot *s)
{
    if (s->conn)
        mtls_conn_free(s->conn);
    if (s->fd >= 0)
        close(s->fd);
    s->conn = NULL;
    s->fd = -1;
}

static int slot_start(slot *s, long n)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    /* deterministic mix: every 100 connections, hostile_pct hostile ones spread evenly */
    int k = (int)(n % 100);
    s->v12 = (k * 13 + 5) % 100 < opt.tls12_pct;
    mtls_session *session = sessions[s->v12];
    if (k < opt.hostile_pct)
        s->kind = (enum kind)(K_GARBAGE + n % 3);
    else
        s->kind = session && (k * 7 % 100) < opt.resume_pct ? K_RESUME : K_FULL;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        perror("loadgen: socket");
        return -1;
    }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EINPROGRESS) {
        perror("loadgen: connect");
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    s->phase = P_CONNECT;
    s->events = POLLOUT;
    s->started = now_ms();
    s->deadline = s->started + opt.timeout_ms;
    if (s->kind == K_FULL || s->kind == K_RESUME || s->kind == K_HALF) {
        s->conn = mtls_client_new(cfgs[s->v12], "localhost");
        if (!s->conn)
            return -1;
        if (s->kind == K_RESUME) {
            mtls_conn_set_session(s->conn, session);
            st.resume_offered++;
            st.v_offered[s->v12]++;
        }
    }
    st.started++;
    return 0;
}

static void want(slot *s, mtls_err e)
{
    s->events = e == MTLS_ERR_WANT_WRITE ? POLLOUT : POLLIN;
}

/* One step of a good connection; returns 1 when the slot is finished. */
static int step_good(slot *s)
{
    mtls_err e;
    for (;;) {
        switch (s->phase) {
        case P_CONNECT: {
            int err = 0;
            socklen_t len = sizeof(err);
            getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err) {
                good_failed(s, strerror(err));
                return 1;
            }
            s->phase = P_HANDSHAKE;
            break;
        }
        case P_HANDSHAKE:
            e = mtls_fd_handshake(s->conn, s->fd);
            if (e == MTLS_ERR_WANT_READ || e == MTLS_ERR_WANT_WRITE) {
                want(s, e);
                return 0;
            }
            if (e != MTLS_OK) {
                good_failed(s, mtls_err_name(e));
                return 1;
            }
            s->phase = P_WRITE;
            break;
        case P_WRITE: {
            size_t w = 0;
            e = mtls_fd_write(s->conn, s->fd, msg, sizeof(msg) - 1, &w);
            if (e == MTLS_ERR_WANT_WRITE) {
                want(s, e);
                return 0;
            }
            if (e != MTLS_OK || w != sizeof(msg) - 1) {
                good_failed(s, "write");
                return 1;
            }
            s->phase = P_READ;
            break;
        }
        case P_READ: {
            char buf[128];
            size_t got = 0;
            e = mtls_fd_read(s->conn, s->fd, buf, sizeof(buf), &got);
            if (e == MTLS_ERR_WANT_READ || e == MTLS_ERR_WANT_WRITE) {
                want(s, e);
                return 0;
            }
            if (e != MTLS_OK || s->got + got > sizeof(msg) - 1 ||
                memcmp(buf, msg + s->got, got) != 0) {
                good_failed(s, e != MTLS_OK ? mtls_err_name(e) : "echo mismatch");
                return 1;
            }
            s->got += got;
            if (s->got < sizeof(msg) - 1)
                break;
            s->phase = P_CLOSE;
            break;
        }
        case P_CLOSE:
            e = mtls_fd_close(s->conn, s->fd);
            if (e == MTLS_ERR_WANT_WRITE) {
                want(s, e);
                return 0;
            }
            st.good_ok++;
            st.v_ok[s->v12]++;
            st.tls13 += mtls_conn_version(s->conn) == MTLS_VERSION_TLS13;
            if (mtls_conn_resumed(s->conn)) {
                st.resumed_ok++;
                st.v_resumed[s->v12]++;
            } else {
                st.full_ok++;
                /* keep a fresh session to resume from */
                if (!sessions[s->v12] || st.full_ok % 256 == 0) {
                    mtls_session *ns = mtls_conn_get_session(s->conn);
                    if (ns) {
                        mtls_session_free(sessions[s->v12]);
                        sessions[s->v12] = ns;
                    }
                }
            }
            return 1;
        default:
            return 1;
        }
    }
}

/* One step of a hostile connection; returns 1 when finished. */
static int step_hostile(slot *s, short revents)
{
    if (s->phase == P_CONNECT) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err)
            return 1;
        s->phase = P_HOSTILE_SEND;
    }
    if (s->phase == P_HOSTILE_SEND) {
        uint8_t buf[400];
        size_t n = 0;
        if (s->kind == K_GARBAGE) {
            buf[0] = 0x16;
            buf[1] = 3;
            buf[2] = 1;
            buf[3] = 1;
            buf[4] = 0x80;
            for (n = 5; n < sizeof(buf); n++)
                buf[n] = (uint8_t)(rand() & 0xff);
        } else if (s->kind == K_STALL) {
            buf[0] = 0x16;
            buf[1] = 3;
            buf[2] = 1;
            n = 3;
            s->deadline = now_ms() + opt.stall_ms;
        } else {
            mtls_handshake(s->conn); /* the ClientHello */
            const uint8_t *p = mtls_send_buf(s->conn, &n);
            if (n > sizeof(buf))
                n = sizeof(buf);
            memcpy(buf, p, n);
        }
        if (send(s->fd, buf, n, MSG_NOSIGNAL) < 0)
            return 1;
        s->phase = P_HOSTILE_WAIT;
        s->events = POLLIN;
        return 0;
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[4096];
        ssize_t r = recv(s->fd, buf, sizeof(buf), 0);
        if (r > 0 && s->kind == K_HALF) {
            /* got (part of) the server's flight: vanish without answering */
            return 1;
        }
        if (r > 0)
            return 0; /* an alert, probably; the close follows */
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
            st.hostile_dropped_by_server++;
            return 1;
        }
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --connect HOST:PORT --ca FILE --server-pid PID [--concurrency N]"
                    " [--total N] [--resume PCT] [--hostile PCT] [--stall-ms MS]"
                    " [--rss-tolerance PCT] [--timeout-ms MS] [--stop-file FILE] [--tls12 PCT]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"connect", 1, NULL, 'c'},     {"ca", 1, NULL, 'a'},          {"server-pid", 1, NULL, 'p'},
        {"concurrency", 1, NULL, 'n'}, {"total", 1, NULL, 't'},       {"resume", 1, NULL, 'r'},
        {"hostile", 1, NULL, 'h'},     {"stall-ms", 1, NULL, 's'},    {"rss-tolerance", 1, NULL, 'm'},
        {"timeout-ms", 1, NULL, 'o'},  {"stop-file", 1, NULL, 'f'},   {"tls12", 1, NULL, 'v'},
        {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'c': {
            char *colon = strrchr(optarg, ':');
            if (!colon)
                usage();
            *colon = 0;
            opt.host = optarg;
            opt.port = atoi(colon + 1);
            break;
        }
        case 'a': opt.ca = optarg; break;
        case 'p': opt.pid = atoi(optarg); break;
        case 'n': opt.conc = atoi(optarg); break;
        case 't': opt.total = atoi(optarg); break;
        case 'r': opt.resume_pct = atoi(optarg); break;
        case 'h': opt.hostile_pct = atoi(optarg); break;
        case 's': opt.stall_ms = atoi(optarg); break;
        case 'm': opt.rss_tol = atof(optarg); break;
        case 'o': opt.timeout_ms = atoi(optarg); break;
        case 'f': opt.stop_file = optarg; break;
        case 'v': opt.tls12_pct = atoi(optarg); break;
        default: usage();
        }
    }
    if (!opt.port || !opt.ca || !opt.pid || opt.conc < 1 || opt.total < 1)
        usage();
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)opt.conc + 64) {
        fprintf(stderr, "loadgen: RLIMIT_NOFILE %lu is below the concurrency\n",
                (unsigned long)rl.rlim_cur);
        return 2;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1)
        usage();
    for (int i = 0; i < 2; i++) {
        cfgs[i] = mtls_config_new();
        if (!cfgs[i] || mtls_config_set_ca_file(cfgs[i], opt.ca) != MTLS_OK ||
            (i == 1 && mtls_config_set_versions(cfgs[i], MTLS_VERSION_TLS12,
                                                MTLS_VERSION_TLS12) != MTLS_OK)) {
            fprintf(stderr, "loadgen: cannot load %s\n", opt.ca);
            return 2;
        }
    }

    long fds_before = proc_fds(), rss_start = proc_rss_kb("VmRSS:"), rss_mid = -1, rss_peak = 0;
    slot *slots = calloc((size_t)opt.conc, sizeof(slot));
    struct pollfd *pfd = calloc((size_t)opt.conc, sizeof(struct pollfd));
    int *map = calloc((size_t)opt.conc, sizeof(int));
    for (int i = 0; i < opt.conc; i++)
        slots[i].fd = -1;
    int64_t t0 = now_ms(), last_sample = 0;
    long finished = 0, server_fds_max = 0;
    int active = 0, stopping = 0;
    for (;;) {
        for (int i = 0; i < opt.conc && st.started < opt.total && !stopping; i++)
            if (slots[i].fd < 0 && slot_start(&slots[i], st.started) != 0)
                break;
        int n = 0;
        active = 0;
        for (int i = 0; i < opt.conc; i++)
            if (slots[i].fd >= 0) {
                pfd[n].fd = slots[i].fd;
                pfd[n].events = slots[i].events;
                pfd[n].revents = 0;
                map[n++] = i;
                active++;
            }
        if (active > st.max_open)
            st.max_open = active;
        if (active == 0 && (st.started >= opt.total || stopping))
            break;
        poll(pfd, (nfds_t)n, 50);
        int64_t t = now_ms();
        for (int k = 0; k < n; k++) {
            slot *s = &slots[map[k]];
            int done = 0;
            if (t > s->deadline) {
                if (s->kind == K_FULL || s->kind == K_RESUME)
                    good_failed(s, "timed out");
                else
                    st.hostile_done++;
                done = 1;
            } else if (pfd[k].revents) {
                if (s->kind == K_FULL || s->kind == K_RESUME) {
                    done = step_good(s);
                } else {
                    done = step_hostile(s, pfd[k].revents);
                    if (done)
                        st.hostile_done++;
                }
            }
            if (done) {
                slot_end(s);
                finished++;
            }
        }
        if (t - last_sample >= 250) {
            last_sample = t;
            if (opt.stop_file && access(opt.stop_file, F_OK) == 0)
                stopping = 1;
            long rss = proc_rss_kb("VmRSS:"), f = proc_fds();
            if (rss < 0) {
                fprintf(stderr, "loadgen: the server (pid %d) is gone\n", opt.pid);
                return 1;
            }
            if (rss > rss_peak)
                rss_peak = rss;
            if (f > server_fds_max)
                server_fds_max = f;
            if (rss_mid < 0 && finished >= opt.total / 2)
                rss_mid = rss;
            fprintf(stderr, "\rloadgen: %ld/%d done, %d open, server RSS %ld kB, %ld fds   ",
                    finished, opt.total, active, rss, f);
        }
    }
    double secs = (now_ms() - t0) / 1000.0;
    fprintf(stderr, "\n");
    /* let the server notice the last closes */
    long fds_end = -1, rss_end = -1;
    for (int i = 0; i < 100; i++) {
        fds_end = proc_fds();
        if (fds_end == fds_before)
            break;
        usleep(100000);
    }
    rss_end = proc_rss_kb("VmRSS:");
    long hwm = proc_rss_kb("VmHWM:");
    int alive = kill(opt.pid, 0) == 0 && rss_end > 0;
    if (rss_mid < 0)
        rss_mid = rss_end;
    double drift = rss_mid > 0 ? 100.0 * (double)(rss_end - rss_mid) / (double)rss_mid : 0;

    if (stopping)
        opt.total = (int)st.started; /* what was made before the stop file appeared */
    printf("load: %d connections, %d at once (max %ld open here, max %ld server fds), %.1f s\n",
           opt.total, opt.conc, st.max_open, server_fds_max, secs);
    printf("load: good handshakes %ld ok (%ld full, %ld resumed of %ld offered), %ld failed; "
           "%.0f handshakes/s\n",
           st.good_ok, st.full_ok, st.resumed_ok, st.resume_offered, st.good_fail,
           st.good_ok / secs);
    printf("load: by version: default clients %ld ok (%ld resumed of %ld offered), TLS 1.2-only "
           "clients %ld ok (%ld resumed of %ld offered); %ld in TLS 1.3, %ld in TLS 1.2\n",
           st.v_ok[0], st.v_resumed[0], st.v_offered[0], st.v_ok[1], st.v_resumed[1],
           st.v_offered[1], st.tls13, st.good_ok - st.tls13);
    printf("load: hostile connections %ld (garbage, stalls, half handshakes), %ld dropped by the "
           "server before we gave up\n",
           st.hostile_done, st.hostile_dropped_by_server);
    printf("load: server RSS start %ld kB, middle %ld kB, end %ld kB (%+.1f%% vs middle), peak "
           "%ld kB (VmHWM %ld kB)\n",
           rss_start, rss_mid, rss_end, drift, rss_peak, hwm);
    printf("load: server fds before %ld, after %ld; server %s\n", fds_before, fds_end,
           alive ? "alive" : "GONE");
    int ok = 1;
    if (st.good_fail) {
        printf("FAIL: %ld good connections failed\n", st.good_fail);
        ok = 0;
    }
    if (!alive) {
        printf("FAIL: the server died\n");
        ok = 0;
    }
    if (drift > opt.rss_tol || drift < -50) {
        printf("FAIL: server RSS grew %.1f%% from the middle to the end (tolerance %.1f%%)\n",
               drift, opt.rss_tol);
        ok = 0;
    }
    if (fds_end != fds_before) {
        printf("FAIL: the server has %ld fds open after the run, %ld before\n", fds_end, fds_before);
        ok = 0;
    }
    if (st.max_open < opt.conc && opt.total >= 2 * opt.conc) {
        printf("FAIL: only %ld connections were open at once\n", st.max_open);
        ok = 0;
    }
    printf("%s\n", ok ? "load: PASS" : "load: FAIL");
    for (int i = 0; i < 2; i++) {
        mtls_session_free(sessions[i]);
        mtls_config_free(cfgs[i]);
    }
    free(slots);
    free(pfd);
    free(map);
    return ok ? 0 : 1;
}
