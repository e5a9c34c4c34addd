/*
 * test_fleet.c -- sessions shared between servers and across reloads, in memory:
 *
 *   - the ticket key file (mtls_config_set_ticket_key_file): its format, every malformed line
 *     refused with the line named and the keys in use kept; two servers with the same file resume
 *     each other's tickets; a rotation (new key first, old one kept) still opens the old ticket
 *     and seals new ones under the new key; a key removed from the file opens nothing (a full
 *     handshake, not an error); a not-before time delays sealing; the file is re-read when it
 *     changes, after MTLS_TICKET_KEY_FILE_CHECK seconds or at once with
 *     mtls_config_reload_ticket_keys, and a file that no longer parses leaves the keys in use;
 *   - mtls_config_share_sessions: a new config (a reload) resumes the sessions of the old one, by
 *     id and by ticket, when its client CAs are the same, and not when they changed; connections
 *     keep the config they started with after the application dropped it;
 *   - many threads resuming under one key file while it is rotated and reloaded (the periodic
 *     look and explicit reloads racing with seals and opens);
 *   - mtls_config_cert_subject / _not_after / _serial (the serial as OpenSSL prints it).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/testpki.h"
#include "core/internal.h"
#include "t.h"

static int64_t fake_now;
static int64_t clock_fn(void *arg)
{
    (void)arg;
    return fake_now;
}

static char dir[64];

static mtls_config *server_cfg(int tickets, size_t cache, mtls_verify_mode mode)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->server[TP_P256];
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                             strlen(id->key_pem)),
              MTLS_OK);
    mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem));
    mtls_config_set_verify_client(cfg, mode);
    mtls_config_set_tickets(cfg, tickets);
    mtls_config_set_session_cache(cfg, cache, 0);
    mtls_config_set_time(cfg, clock_fn, NULL);
    /* Without tickets, sessions are TLS 1.2's, by id (TLS 1.3 resumes by ticket only); with
     * them, the default versions: TLS 1.3 tickets under the same keys. */
    if (!tickets)
        mtls_config_set_versions(cfg, MTLS_VERSION_TLS12, MTLS_VERSION_TLS12);
    return cfg;
}

static mtls_config *client_cfg(void)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->client[TP_P256];
    mtls_config *cfg = mtls_config_new();
    mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem));
    mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                   strlen(id->key_pem));
    mtls_config_set_time(cfg, clock_fn, NULL);
    return cfg;
}

/* One connection; its client session (new reference), whether it resumed, its error. */
static mtls_session *connect_once(mtls_config *ccfg, mtls_config *scfg, mtls_session *offer,
                                  int *resumed)
{
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    if (offer)
        CHECK_ERR(mtls_conn_set_session(c, offer), MTLS_OK);
    mtls_err err = tp_handshake(c, s);
    CHECK_ERR(err, MTLS_OK); /* never an error: at worst a full handshake */
    mtls_session *sess = NULL;
    *resumed = -1;
    if (err == MTLS_OK) {
        CHECK_EQ(mtls_conn_resumed(c), mtls_conn_resumed(s));
        *resumed = mtls_conn_resumed(c);
        static const char msg[] = "data flows";
        CHECK(tp_send_check(c, s, msg, sizeof(msg)));
        sess = mtls_conn_get_session(c);
    }
    mtls_conn_free(c);
    mtls_conn_free(s);
    return sess;
}

/* A key line: name = 16 bytes of `tag`, key = 32 bytes of tag ^ 0xa5 (nonzero). */
static void key_line(char *out, size_t cap, uint8_t tag, const char *suffix)
{
    size_t at = 0;
    for (int i = 0; i < 16; i++)
        at += (size_t)snprintf(out + at, cap - at, "%02x", tag);
    for (int i = 0; i < 32; i++)
        at += (size_t)snprintf(out + at, cap - at, "%02X", tag ^ 0xa5);
    snprintf(out + at, cap - at, "%s\n", suffix);
}

/* Write `text` to dir/name through a temporary file and rename(2), as an operator's script
 * does: readers see the old file or the new one, never half of one. */
static const char *put(const char *name, const char *text)
{
    static char path[128];
    char tmp[160];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    CHECK(rename(tmp, path) == 0);
    return path;
}

/* The name tag of the key that sealed a session's ticket (0 when it has none). */
static int ticket_tag(const mtls_session *s)
{
    return s && s->ticket_len > 16 ? s->ticket[0] : 0;
}

static void describe(mtls_config *cfg, char *out, size_t cap)
{
    CHECK_ERR(mtls_config_describe_ticket_keys(cfg, out, cap), MTLS_OK);
}

static void test_file_format(void)
{
    char k1[128], k2[128], text[8192], d[512];
    key_line(k1, sizeof(k1), 0x11, "");
    key_line(k2, sizeof(k2), 0x22, "   # the previous key");
    mtls_config *cfg = server_cfg(1, 0, MTLS_VERIFY_NONE);

    /* comments, blank lines, CRLF, upper- and lower-case hex */
    snprintf(text, sizeof(text), "# mtls ticket keys\n\n  %s\r\n%s", k1, k2);
    text[strlen(text) - 1] = 0; /* no newline at the end */
    CHECK_ERR(mtls_config_set_ticket_key_file(cfg, put("good", text)), MTLS_OK);
    describe(cfg, d, sizeof(d));
    CHECK(strstr(d, "2 keys from ") != NULL && strstr(d, "sealing with 11111111") != NULL);
    printf("key file: %s\n", d);

    struct {
        const char *name, *text, *want_err_text;
        mtls_err want;
    } bad[] = {
        {"short", "# one digit short\n0123456789abcdef0123456789abcdef0123456789abcdef"
                  "0123456789abcdef0123456789abcdef0123456789abcde\n",
         "line 2: 95 characters", MTLS_ERR_INVALID_ARG},
        {"nonhex", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                   "0123456789abcdef0123456789abcdeg\n",
         "'g' is not a hex digit", MTLS_ERR_INVALID_ARG},
        {"junk", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                 "0123456789abcdef0123456789abcdef tomorrow\n",
         "not-before time in Unix seconds", MTLS_ERR_INVALID_ARG},
        {"zero", "0123456789abcdef0123456789abcdef0000000000000000000000000000000000000000"
                 "000000000000000000000000\n",
         "all zeros", MTLS_ERR_INVALID_ARG},
        {"empty", "# nothing but comments\n\n", "no key in the file", MTLS_ERR_INVALID_ARG},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mtls_err err = mtls_config_set_ticket_key_file(cfg, put(bad[i].name, bad[i].text));
        CHECK_ERR(err, bad[i].want);
        const char *why = mtls_config_error_detail(cfg);
        if (!strstr(why, bad[i].want_err_text))
            fprintf(stderr, "%s: detail '%s' lacks '%s'\n", bad[i].name, why,
                    bad[i].want_err_text);
        CHECK(strstr(why, bad[i].want_err_text) != NULL);
        printf("%s: %s\n", bad[i].name, why);
    }
    /* the same name twice */
    snprintf(text, sizeof(text), "%s%s", k1, k1);
    CHECK_ERR(mtls_config_set_ticket_key_file(cfg, put("twice", text)), MTLS_ERR_INVALID_ARG);
    CHECK(strstr(mtls_config_error_detail(cfg), "line 2: the key name 11111111... appears twice"));
    /* 17 keys */
    size_t at = 0;
    for (int i = 1; i <= 17; i++) {
        char k[128];
        key_line(k, sizeof(k), (uint8_t)i, "");
        at += (size_t)snprintf(text + at, sizeof(text) - at, "%s", k);
    }
    CHECK_ERR(mtls_config_set_ticket_key_file(cfg, put("many", text)), MTLS_ERR_INVALID_ARG);
    CHECK(strstr(mtls_config_error_detail(cfg), "line 17: more than 16 keys"));
    /* no such file, a directory */
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/missing", dir);
    CHECK_ERR(mtls_config_set_ticket_key_file(cfg, missing), MTLS_ERR_FILE);
    CHECK(strstr(mtls_config_error_detail(cfg), "cannot read the ticket key file"));
    CHECK_ERR(mtls_config_set_ticket_key_file(cfg, dir), MTLS_ERR_FILE);
    CHECK(strstr(mtls_config_error_detail(cfg), "not a regular file"));
    CHECK_ERR(mtls_config_set_ticket_key_file(cfg, NULL), MTLS_ERR_INVALID_ARG);

    /* none of the failures touched the keys of the good file */
    char d2[512];
    describe(cfg, d2, sizeof(d2));
    CHECK(strcmp(d, d2) == 0);

    /* application keys replace the file; without a file there is nothing to reload */
    uint8_t keys[80];
    memset(keys, 0x33, sizeof(keys));
    CHECK_ERR(mtls_config_set_ticket_keys(cfg, keys, 1), MTLS_OK);
    describe(cfg, d, sizeof(d));
    CHECK(strstr(d, "1 key set by the application, sealing with 33333333") != NULL);
    CHECK_ERR(mtls_config_reload_ticket_keys(cfg, d, sizeof(d)), MTLS_ERR_BAD_STATE);
    CHECK(strstr(d, "no ticket key file is set") != NULL);
    mtls_config_free(cfg);

    cfg = server_cfg(1, 0, MTLS_VERIFY_NONE);
    describe(cfg, d, sizeof(d));
    CHECK(strstr(d, "automatic") != NULL);
    CHECK_ERR(mtls_config_describe_ticket_keys(cfg, NULL, 10), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_config_describe_ticket_keys(NULL, d, sizeof(d)), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_config_reload_ticket_keys(NULL, NULL, 0), MTLS_ERR_INVALID_ARG);
    /* a frozen config takes no new file, but reloads the one it has */
    snprintf(text, sizeof(text), "%s", k1);
    CHECK_ERR(mtls_config_set_ticket_key_file(cfg, put("keys", text)), MTLS_OK);
    mtls_conn *s = mtls_server_new(cfg);
    CHECK_ERR(mtls_config_set_ticket_key_file(cfg, put("keys", text)), MTLS_ERR_CONFIG_FROZEN);
    CHECK_ERR(mtls_config_reload_ticket_keys(cfg, NULL, 0), MTLS_OK);
    mtls_conn_free(s);
    mtls_config_free(cfg);
}

/* Two servers of a fleet, one key file: rotation, removal, not-before, re-reading. */
static void test_fleet_rotation(void)
{
    char k1[128], k2[128], k3[128], text[1024], d[512];
    int resumed;
    int64_t start = fake_now;
    key_line(k1, sizeof(k1), 0x11, "");
    key_line(k2, sizeof(k2), 0x22, "");
    const char *path = put("fleet", k1);
    mtls_config *a = server_cfg(1, 0, MTLS_VERIFY_REQUIRE), *b = server_cfg(1, 0, MTLS_VERIFY_REQUIRE);
    mtls_config *ccfg = client_cfg();
    CHECK_ERR(mtls_config_set_ticket_key_file(a, path), MTLS_OK);
    CHECK_ERR(mtls_config_set_ticket_key_file(b, path), MTLS_OK);

    /* a ticket from server A resumes on server B: the same file, no shared store */
    mtls_session *t1 = connect_once(ccfg, a, NULL, &resumed);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(ticket_tag(t1), 0x11);
    mtls_session *r = connect_once(ccfg, b, t1, &resumed);
    CHECK_EQ(resumed, 1);
    mtls_session_free(r);
    /* a server with automatic keys does not */
    mtls_config *lone = server_cfg(1, 0, MTLS_VERIFY_REQUIRE);
    r = connect_once(ccfg, lone, t1, &resumed);
    CHECK_EQ(resumed, 0);
    mtls_session_free(r);

    /* rotation: the new key first, the old one kept for opening */
    snprintf(text, sizeof(text), "# rotated\n%s%s", k2, k1);
    put("fleet", text);
    /* A is told at once; B still uses what it read until its next look at the file */
    CHECK_ERR(mtls_config_reload_ticket_keys(a, d, sizeof(d)), MTLS_OK);
    CHECK_EQ(d[0], 0);
    mtls_session *t2 = connect_once(ccfg, a, NULL, &resumed);
    CHECK_EQ(ticket_tag(t2), 0x22);
    fake_now = start + MTLS_TICKET_KEY_FILE_CHECK - 1;
    mtls_session *tb = connect_once(ccfg, b, NULL, &resumed);
    CHECK_EQ(ticket_tag(tb), 0x11);
    mtls_session_free(tb);
    fake_now = start + MTLS_TICKET_KEY_FILE_CHECK;
    tb = connect_once(ccfg, b, NULL, &resumed);
    CHECK_EQ(ticket_tag(tb), 0x22); /* B looked at the file: it changed, so B read it */
    /* the old ticket still resumes on both; the new ones on both */
    r = connect_once(ccfg, a, t1, &resumed);
    CHECK_EQ(resumed, 1);
    mtls_session_free(r);
    r = connect_once(ccfg, b, t1, &resumed);
    CHECK_EQ(resumed, 1);
    mtls_session_free(r);
    r = connect_once(ccfg, a, tb, &resumed);
    CHECK_EQ(resumed, 1);
    mtls_session_free(r);
    r = connect_once(ccfg, b, t2, &resumed);
    CHECK_EQ(resumed, 1);
    mtls_session_free(r);

    /* the old key removed: its ticket gets a full handshake, not an error */
    put("fleet", k2);
    CHECK_ERR(mtls_config_reload_ticket_keys(a, NULL, 0), MTLS_OK);
    r = connect_once(ccfg, a, t1, &resumed);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(ticket_tag(r), 0x22); /* and a new ticket under the current key */
    mtls_session_free(r);
    r = connect_once(ccfg, a, t2, &resumed);
    CHECK_EQ(resumed, 1);
    mtls_session_free(r);

    /* a file that no longer parses: the keys in use stay, and the failure is told */
    put("fleet", "not a key\n");
    CHECK_ERR(mtls_config_reload_ticket_keys(a, d, sizeof(d)), MTLS_ERR_INVALID_ARG);
    CHECK(strstr(d, "line 1") != NULL);
    r = connect_once(ccfg, a, t2, &resumed);
    CHECK_EQ(resumed, 1);
    mtls_session_free(r);
    fake_now += MTLS_TICKET_KEY_FILE_CHECK; /* B finds it at its periodic look */
    r = connect_once(ccfg, b, t2, &resumed);
    CHECK_EQ(resumed, 1);
    mtls_session_free(r);
    describe(b, d, sizeof(d));
    CHECK(strstr(d, "sealing with 22222222; the last re-read failed: ticket key file ") != NULL);
    printf("after a bad file: %s\n", d);
    /* a file that is gone: the same */
    unlink(path);
    fake_now += MTLS_TICKET_KEY_FILE_CHECK;
    r = connect_once(ccfg, b, t2, &resumed);
    CHECK_EQ(resumed, 1);
    mtls_session_free(r);
    describe(b, d, sizeof(d));
    CHECK(strstr(d, "cannot read the ticket key file") != NULL);

    /* not-before: a new key distributed first, sealing only from its time on */
    key_line(k3, sizeof(k3), 0x33, "");
    k3[strlen(k3) - 1] = 0;
    snprintf(text, sizeof(text), "%s %lld\n%s", k3, (long long)(fake_now + 600), k2);
    put("fleet", text);
    CHECK_ERR(mtls_config_reload_ticket_keys(a, NULL, 0), MTLS_OK);
    CHECK_ERR(mtls_config_reload_ticket_keys(b, NULL, 0), MTLS_OK);
    describe(a, d, sizeof(d));
    CHECK(strstr(d, "2 keys from ") && strstr(d, "sealing with 22222222; 33333333 seals from "));
    printf("staged: %s\n", d);
    mtls_session *t3 = connect_once(ccfg, a, NULL, &resumed);
    CHECK_EQ(ticket_tag(t3), 0x22);
    fake_now += 600;
    mtls_session *t4 = connect_once(ccfg, a, NULL, &resumed);
    CHECK_EQ(ticket_tag(t4), 0x33);
    r = connect_once(ccfg, b, t4, &resumed);
    CHECK_EQ(resumed, 1);
    mtls_session_free(r);
    /* every key in the future: no ticket (an empty one), the handshake still works */
    snprintf(text, sizeof(text), "%s %lld\n", k3, (long long)(fake_now + 600));
    put("fleet", text);
    CHECK_ERR(mtls_config_reload_ticket_keys(a, NULL, 0), MTLS_OK);
    describe(a, d, sizeof(d));
    CHECK(strstr(d, "none may seal yet") != NULL);
    r = connect_once(ccfg, a, NULL, &resumed);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(ticket_tag(r), 0);
    mtls_session_free(r);

    fake_now = start;
    mtls_session *all[] = {t1, t2, tb, t3, t4};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        mtls_session_free(all[i]);
    mtls_config_free(a);
    mtls_config_free(b);
    mtls_config_free(lone);
    mtls_config_free(ccfg);
}

/* A reload: a new config sharing the old one's cache and ticket keys. */
static void test_share_sessions(void)
{
    const tp_pki *pki = tp_get();
    mtls_config *ccfg = client_cfg();
    int resumed;
    for (int tickets = 0; tickets <= 1; tickets++) {
        mtls_config *old = server_cfg(tickets, tickets ? 0 : 64, MTLS_VERIFY_REQUIRE);
        mtls_session *s1 = connect_once(ccfg, old, NULL, &resumed);
        CHECK(s1 && (tickets ? s1->ticket_len > 0 : s1->id_len == 32));
        /* a connection that started under the old config... */
        mtls_conn *oc = mtls_client_new(ccfg, "localhost"), *os = mtls_server_new(old);

        /* the new config: same anchors, shares the sessions */
        mtls_config *fresh = server_cfg(tickets, tickets ? 0 : 64, MTLS_VERIFY_REQUIRE);
        CHECK_ERR(mtls_config_share_sessions(fresh, old), MTLS_OK);
        /* control: the same settings without sharing do not resume */
        mtls_config *alone = server_cfg(tickets, tickets ? 0 : 64, MTLS_VERIFY_REQUIRE);
        mtls_session *r = connect_once(ccfg, alone, s1, &resumed);
        CHECK_EQ(resumed, 0);
        mtls_session_free(r);
        /* other client CAs (one more anchor): the session is not resumed under them */
        mtls_config *other = server_cfg(tickets, tickets ? 0 : 64, MTLS_VERIFY_REQUIRE);
        CHECK_ERR(mtls_config_set_client_ca_mem(other, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
        CHECK_ERR(mtls_config_set_client_ca_mem(other, pki->other_ca_pem,
                                                strlen(pki->other_ca_pem)),
                  MTLS_OK);
        CHECK_ERR(mtls_config_share_sessions(other, old), MTLS_OK);

        /* the application drops the old config (the reload is done) */
        mtls_config_free(old);
        r = connect_once(ccfg, fresh, s1, &resumed);
        CHECK_EQ(resumed, 1);
        mtls_session_free(r);
        r = connect_once(ccfg, other, s1, &resumed);
        CHECK_EQ(resumed, 0);
        mtls_session_free(r);
        /* ...finishes on the old config, which it still holds */
        CHECK_ERR(tp_handshake(oc, os), MTLS_OK);
        CHECK(tp_send_check(oc, os, "old", 3));
        mtls_session *s2 = mtls_conn_get_session(oc);
        mtls_conn_free(oc);
        mtls_conn_free(os);
        /* and its session resumes on the new config too */
        r = connect_once(ccfg, fresh, s2, &resumed);
        CHECK_EQ(resumed, 1);
        mtls_session_free(r);

        CHECK_ERR(mtls_config_share_sessions(fresh, fresh), MTLS_ERR_CONFIG_FROZEN);
        mtls_config *x = mtls_config_new();
        CHECK_ERR(mtls_config_share_sessions(x, x), MTLS_ERR_INVALID_ARG);
        CHECK_ERR(mtls_config_share_sessions(x, NULL), MTLS_ERR_INVALID_ARG);
        CHECK_ERR(mtls_config_share_sessions(NULL, x), MTLS_ERR_INVALID_ARG);
        mtls_config_free(x);
        mtls_session_free(s1);
        mtls_session_free(s2);
        mtls_config_free(fresh);
        mtls_config_free(alone);
        mtls_config_free(other);
    }
    /* shared key files: a reload of the keys on the new config is seen by the old one */
    char k1[128], k2[128], text[512];
    key_line(k1, sizeof(k1), 0x44, "");
    key_line(k2, sizeof(k2), 0x55, "");
    const char *path = put("shared", k1);
    mtls_config *old = server_cfg(1, 0, MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_ticket_key_file(old, path), MTLS_OK);
    mtls_session *s1 = connect_once(ccfg, old, NULL, &resumed);
    mtls_config *fresh = server_cfg(1, 0, MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_share_sessions(fresh, old), MTLS_OK);
    snprintf(text, sizeof(text), "%s%s", k2, k1);
    put("shared", text);
    CHECK_ERR(mtls_config_reload_ticket_keys(fresh, NULL, 0), MTLS_OK);
    mtls_session *s2 = connect_once(ccfg, old, NULL, &resumed);
    CHECK_EQ(ticket_tag(s2), 0x55);
    mtls_session *r = connect_once(ccfg, fresh, s1, &resumed);
    CHECK_EQ(resumed, 1);
    mtls_session_free(r);
    mtls_session_free(s1);
    mtls_session_free(s2);
    mtls_config_free(old);
    mtls_config_free(fresh);
    mtls_config_free(ccfg);
}

/* ---- threads: seals and opens while the file rotates ---------------------------------------- */

static atomic_llong shared_now;
static int64_t atomic_clock(void *arg)
{
    (void)arg;
    return (int64_t)atomic_load(&shared_now);
}

struct worker {
    mtls_config *ccfg, *scfg;
    mtls_session *sess;
    int failed, resumed, fresh_tickets;
};

static void *worker(void *p)
{
    struct worker *w = p;
    for (int i = 0; i < 60; i++) {
        mtls_conn *c = mtls_client_new(w->ccfg, "localhost"), *s = mtls_server_new(w->scfg);
        if (i % 2)
            mtls_conn_set_session(c, w->sess);
        if (tp_handshake(c, s) != MTLS_OK) {
            w->failed++;
        } else if (i % 2) {
            w->resumed += mtls_conn_resumed(s);
        } else {
            mtls_session *t = mtls_conn_get_session(c);
            w->fresh_tickets += t && t->ticket_len > 0;
            mtls_session_free(t);
        }
        mtls_conn_free(c);
        mtls_conn_free(s);
    }
    return NULL;
}

static void test_threads(void)
{
    char k1[128], kn[128], text[512];
    key_line(k1, sizeof(k1), 0x61, "");
    const char *path = put("threads", k1);
    atomic_store(&shared_now, (long long)fake_now);
    mtls_config *scfg = server_cfg(1, 0, MTLS_VERIFY_NONE), *ccfg = client_cfg();
    mtls_config_set_time(scfg, atomic_clock, NULL);
    mtls_config_set_time(ccfg, atomic_clock, NULL);
    CHECK_ERR(mtls_config_set_ticket_key_file(scfg, path), MTLS_OK);
    int resumed;
    mtls_session *sess = connect_once(ccfg, scfg, NULL, &resumed); /* sealed under 0x61 */
    CHECK_EQ(ticket_tag(sess), 0x61);
    struct worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.ccfg = ccfg, .scfg = scfg, .sess = sess};
        pthread_create(&th[i], NULL, worker, &w[i]);
    }
    /* rotate 20 times, the first key always kept for opening; half of the rotations are found by
     * the periodic look (the clock moves past the interval), half by an explicit reload */
    for (int r = 0; r < 20; r++) {
        key_line(kn, sizeof(kn), (uint8_t)(0x70 + r), "");
        snprintf(text, sizeof(text), "%s%s", kn, k1);
        put("threads", text);
        if (r % 2)
            CHECK_ERR(mtls_config_reload_ticket_keys(scfg, NULL, 0), MTLS_OK);
        else
            atomic_fetch_add(&shared_now, MTLS_TICKET_KEY_FILE_CHECK);
        usleep(2000);
    }
    int failed = 0, resumed_all = 0, fresh = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        failed += w[i].failed;
        resumed_all += w[i].resumed;
        fresh += w[i].fresh_tickets;
    }
    CHECK_EQ(failed, 0);
    CHECK_EQ(resumed_all, 4 * 30); /* the first key never left the file */
    CHECK_EQ(fresh, 4 * 30);
    printf("threads: 240 handshakes during 20 rotations, %d failed, %d of 120 resumed\n", failed,
           resumed_all);
    mtls_session_free(sess);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
}

static void test_cert_getters(void)
{
    mtls_config *cfg = mtls_config_new();
    CHECK(mtls_config_cert_subject(cfg) == NULL);
    CHECK_EQ(mtls_config_cert_not_after(cfg), 0);
    CHECK(mtls_config_cert_subject(NULL) == NULL);
    CHECK(mtls_config_cert_serial(cfg) == NULL);
    CHECK(mtls_config_cert_serial(NULL) == NULL);
    mtls_config_free(cfg);
    cfg = server_cfg(1, 16, MTLS_VERIFY_NONE);
    const char *subject = mtls_config_cert_subject(cfg);
    CHECK(subject && strstr(subject, "CN=") != NULL);
    CHECK(mtls_config_cert_not_after(cfg) > (int64_t)time(NULL));
    /* The serial as `openssl x509 -serial` prints it: OpenSSL's own hex of the same certificate. */
    const char *serial = mtls_config_cert_serial(cfg);
    char want[64] = "";
    BIO *bio = BIO_new_mem_buf(tp_get()->server[TP_P256].cert_pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIGNUM *bn = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(want, sizeof(want), "%s", hex ? hex : "?");
    CHECK(serial != NULL && strcmp(serial, want) == 0);
    printf("our certificate: %s, notAfter %lld, serial %s (openssl: %s)\n",
           subject ? subject : "(none)", (long long)mtls_config_cert_not_after(cfg),
           serial ? serial : "(none)", want);
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
    BIO_free(bio);
    mtls_config_free(cfg);
}

int main(void)
{
    fake_now = (int64_t)time(NULL);
    snprintf(dir, sizeof(dir), "/tmp/mtls-fleet.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_file_format();
    test_fleet_rotation();
    test_share_sessions();
    test_threads();
    test_cert_getters();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return t_done();
}
