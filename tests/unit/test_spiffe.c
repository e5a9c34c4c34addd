/*
 * test_spiffe.c -- URI names, URI name constraints, SPIFFE identities and the certificate-details
 * getters.
 *
 *   - SPIFFE ID syntax (x509_spiffe_id_problem / _td_problem): a table of IDs the SPIFFE-ID rules
 *     accept and refuse, each refusal with the reason it must name.
 *   - URI hosts and URI constraints (uri.c): RFC 3986 authorities, RFC 5280 4.2.1.10 matching.
 *   - The SPIFFE PKI of tests/pki/make-spiffe-pki.sh (made fresh in a mkdtemp directory): every
 *     case of spiffe-cases.txt through x509_verify_chain in both roles, without a SPIFFE policy
 *     (the "chain" column) and with the trust domain example.org accepted (the "SPIFFE" column);
 *     the detail sentences of the interesting ones; exact-ID policies; the SPIFFE ID replacing
 *     the host-name check; x509_cert_spiffe_id on every leaf.
 *   - The config setters (mtls_config_add_spiffe_id / _trust_domain): what they refuse and why.
 *   - Handshakes in memory, both directions: a client accepting the server by SPIFFE ID, a server
 *     accepting the client by ID; refusals with the right error on one side and the right alert
 *     on the other (access_denied for an ID not accepted, bad_certificate for a leaf that is not
 *     an X.509-SVID); mtls_conn_peer_spiffe_id on both; sessions bound to the SPIFFE lists
 *     (resumed under the same lists, a full handshake under others) in both roles.
 *   - mtls_conn_peer_cert_info on RSA and EC certificates, every field compared with what `openssl
 *     x509` prints for the same file (serial, dates, subject, issuer, key, signature algorithm,
 *     basicConstraints, SANs, SHA-256 fingerprint), and the struct_size contract.
 *
 * `test_spiffe --verdicts DIR` prints, for the PKI in DIR, one line "<case> OK|FAIL <error>" per
 * case of spiffe-cases.txt: mtls's chain verdict, which tests/interop/spiffe.test.sh compares with
 * Go's crypto/x509.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/testpki.h"
#include "core/internal.h"
#include "t.h"
#include "x509/x509.h"
#include "x509/x509_int.h"

static char pki[256];
static int64_t now;

static const char *path_of(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", pki, name);
    return buf[k];
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

static mtls_err load_chain(const char *file, x509_cert ***ch, size_t *n)
{
    size_t len;
    uint8_t *pem = read_all(path_of(file), &len);
    if (!pem)
        return MTLS_ERR_FILE;
    mtls_err err = x509_chain_from_pem(pem, len, ch, n);
    free(pem);
    return err;
}

static mtls_err err_by_name(const char *s)
{
    if (strcmp(s, "OK") == 0)
        return MTLS_OK;
    for (int e = 0; e < MTLS_ERR__COUNT; e++) {
        if (strcmp(mtls_err_name((mtls_err)e), s) == 0)
            return (mtls_err)e;
    }
    fprintf(stderr, "unknown error name %s\n", s);
    abort();
}

/* ---- SPIFFE ID syntax ---------------------------------------------------------------------- */

static void test_id_syntax(void)
{
    static const struct {
        const char *id;
        const char *why; /* NULL: valid; else a part of the reason */
    } ids[] = {
        {"spiffe://example.org/ns/prod/sa/web", NULL},
        {"spiffe://example.org/a", NULL},
        {"spiffe://a-b_c.1/A.b-C_d/9", NULL},
        {"spiffe://example.org/..a/a..", NULL}, /* dots inside a segment are fine */
        {"spiffe://example.org", "has no path"},
        {"spiffe://example.org/", "ends with '/'"},
        {"spiffe://example.org/a/", "ends with '/'"},
        {"spiffe://example.org//a", "empty path segment"},
        {"spiffe://example.org/a//b", "empty path segment"},
        {"spiffe://example.org/.", "'.' or '..'"},
        {"spiffe://example.org/a/../b", "'.' or '..'"},
        {"spiffe://example.org/a/./b", "'.' or '..'"},
        {"spiffe://example.org/a%41", "percent-encoded"},
        {"spiffe://ex%41mple.org/a", "percent-encoded"},
        {"spiffe://example.org/a?b", "query"},
        {"spiffe://example.org?b", "query"},
        {"spiffe://example.org/a#b", "fragment"},
        {"spiffe://example.org:443/a", "port"},
        {"spiffe://u@example.org/a", "userinfo"},
        {"spiffe://Example.org/a", "uppercase"},
        {"spiffe://exa*mple.org/a", "outside [a-z0-9.-_] in its trust domain"},
        {"spiffe://[::1]/a", "outside [a-z0-9.-_] in its trust domain"},
        {"spiffe://example.org/a~b", "outside [a-zA-Z0-9.-_] in its path"},
        {"spiffe://example.org/a b", "outside [a-zA-Z0-9.-_] in its path"},
        {"spiffe:///a", "empty trust domain"},
        {"spiffe://", "empty trust domain"},
        {"SPIFFE://example.org/a", "does not start with 'spiffe://'"},
        {"https://example.org/a", "does not start with 'spiffe://'"},
        {"spiffe:/example.org/a", "does not start with 'spiffe://'"},
        {"", "does not start with 'spiffe://'"},
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const char *got =
            x509_spiffe_id_problem((const uint8_t *)ids[i].id, strlen(ids[i].id), true);
        if (ids[i].why == NULL ? got != NULL : got == NULL || !strstr(got, ids[i].why)) {
            fprintf(stderr, "  '%s': got %s, want %s\n", ids[i].id, got ? got : "valid",
                    ids[i].why ? ids[i].why : "valid");
            CHECK(0);
        } else {
            CHECK(1);
        }
    }
    /* An embedded NUL is a character outside the sets, wherever it is. */
    static const uint8_t nul_td[] = "spiffe://exa\0mple.org/a", nul_path[] = "spiffe://e.org/a\0b";
    CHECK(x509_spiffe_id_problem(nul_td, sizeof nul_td - 1, true) != NULL);
    CHECK(x509_spiffe_id_problem(nul_path, sizeof nul_path - 1, true) != NULL);
    /* A trust domain's own ID has no path: refused for a leaf, fine without need_path. */
    CHECK(x509_spiffe_id_problem((const uint8_t *)"spiffe://example.org", 20, false) == NULL);
    /* Lengths: the ID up to 2048 bytes, the trust domain up to 255. */
    char id[2100];
    memcpy(id, "spiffe://example.org/", 21);
    memset(id + 21, 'a', sizeof id - 21);
    CHECK(x509_spiffe_id_problem((const uint8_t *)id, 2048, true) == NULL);
    CHECK(strstr(x509_spiffe_id_problem((const uint8_t *)id, 2049, true), "longer than 2048"));
    char td[300];
    memset(td, 'a', sizeof td);
    CHECK(x509_spiffe_td_problem((const uint8_t *)td, 255) == NULL);
    CHECK(strstr(x509_spiffe_td_problem((const uint8_t *)td, 256), "longer than 255"));
    CHECK(strstr(x509_spiffe_td_problem((const uint8_t *)"", 0), "empty"));
}

/* ---- URI hosts and URI constraints --------------------------------------------------------- */

static void test_uri_hosts(void)
{
    static const struct {
        const char *uri, *host; /* host NULL: none (RFC 5280 says reject under a constraint) */
    } uris[] = {
        {"spiffe://example.org/a", "example.org"},
        {"spiffe://example.org", "example.org"},
        {"https://www.example.org:8443/x?y#z", "www.example.org"},
        {"https://user:pw@www.example.org/", "www.example.org"},
        {"https://a@b@www.example.org/", "www.example.org"},
        {"spiffe://EXAMPLE.org?q", "EXAMPLE.org"},
        {"x+y.z-w://h_1.example#f", "h_1.example"},
        {"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", NULL},
        {"mailto:a@example.org", NULL},
        {"spiffe:/example.org/a", NULL},
        {"spiffe:///a", NULL},
        {"spiffe://192.0.2.1/a", NULL},
        {"spiffe://[2001:db8::1]/a", NULL},
        {"spiffe://ex%41mple.org/a", NULL},
        {"spiffe://example.org:44x3/a", NULL},
        {"spiffe://example.org./a", NULL},
        {"spiffe://.example.org/a", NULL},
        {"://example.org/a", NULL},
        {"1http://example.org/", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        const uint8_t *h = NULL;
        size_t hl = 0;
        bool ok = x509_uri_host((const uint8_t *)uris[i].uri, strlen(uris[i].uri), &h, &hl);
        bool good = uris[i].host
                        ? ok && hl == strlen(uris[i].host) && memcmp(h, uris[i].host, hl) == 0
                        : !ok;
        if (!good)
            fprintf(stderr, "  host of '%s': got %s%.*s, want %s\n", uris[i].uri,
                    ok ? "" : "(none)", ok ? (int)hl : 0, ok ? (const char *)h : "",
                    uris[i].host ? uris[i].host : "(none)");
        CHECK(good);
    }
    static const struct {
        const char *host, *base;
        bool in;
    } subtrees[] = {
        {"example.org", "example.org", true},      {"EXAMPLE.org", "example.ORG", true},
        {"www.example.org", "example.org", false}, /* a host constraint is that host only */
        {"www.example.org", ".example.org", true}, {"a.b.example.org", ".example.org", true},
        {"example.org", ".example.org", false},    {"badexample.org", ".example.org", false},
        {"example.org", "www.example.org", false}, {"org", ".org", false},
    };
    for (size_t i = 0; i < sizeof subtrees / sizeof subtrees[0]; i++) {
        bool in =
            x509_uri_host_in_subtree((const uint8_t *)subtrees[i].host, strlen(subtrees[i].host),
                                     (const uint8_t *)subtrees[i].base, strlen(subtrees[i].base));
        if (in != subtrees[i].in)
            fprintf(stderr, "  '%s' in '%s': got %d\n", subtrees[i].host, subtrees[i].base, in);
        CHECK(in == subtrees[i].in);
    }
    CHECK(x509_uri_constraint_valid((const uint8_t *)"example.org", 11));
    CHECK(x509_uri_constraint_valid((const uint8_t *)".example.org", 12));
    CHECK(!x509_uri_constraint_valid((const uint8_t *)"spiffe://example.org", 20));
    CHECK(!x509_uri_constraint_valid((const uint8_t *)"", 0));
    CHECK(!x509_uri_constraint_valid((const uint8_t *)".", 1));
    CHECK(!x509_uri_constraint_valid((const uint8_t *)"192.0.2.1", 9));
    CHECK(!x509_uri_constraint_valid((const uint8_t *)"example.org:443", 15));
}

/* ---- the SPIFFE PKI at the x509 level ------------------------------------------------------- */

typedef struct {
    char name[64], anchor[64], chain[64], spiffe[64], go[16], ossl[16];
} pki_case;

static size_t read_cases(pki_case *out, size_t cap)
{
    char line[512];
    size_t n = 0;
    FILE *f = fopen(path_of("spiffe-cases.txt"), "r");
    CHECK(f != NULL);
    while (f && n < cap && fgets(line, sizeof line, f)) {
        pki_case *c = &out[n];
        if (sscanf(line, "%63s %63s %63s %63s %15s %15s", c->name, c->anchor, c->chain, c->spiffe,
                   c->go, c->ossl) == 6)
            n++;
    }
    if (f)
        fclose(f);
    return n;
}

static x509_store *anchor_store(const char *anchor)
{
    char file[128];
    x509_store *s = x509_store_new();
    snprintf(file, sizeof file, "%s.crt", anchor);
    CHECK_ERR(x509_store_add_file(s, path_of(file)), MTLS_OK);
    return s;
}

/* Verify case `name` against its anchor; `td` / `id`: the SPIFFE policy (NULL: none). */
static mtls_err verify_case(const char *name, const char *anchor, x509_purpose purpose,
                            const char *host, const char *td, const char *id, char *detail,
                            size_t cap)
{
    x509_cert **ch = NULL;
    size_t n = 0;
    char file[128];
    snprintf(file, sizeof file, "%s.crt", name);
    mtls_err err = load_chain(file, &ch, &n);
    if (err) {
        snprintf(detail, cap, "cannot load %s: %s", file, mtls_err_name(err));
        return err;
    }
    x509_store *s = anchor_store(anchor);
    x509_verify_params vp = {.purpose = purpose, .host = host, .now = now};
    if (td) {
        vp.spiffe_domains = &td;
        vp.n_spiffe_domains = 1;
    }
    if (id) {
        vp.spiffe_ids = &id;
        vp.n_spiffe_ids = 1;
    }
    err = x509_verify_chain(s, ch, n, &vp, detail, cap);
    x509_store_free(s);
    x509_chain_free(ch, n);
    return err;
}

static x509_cert *leaf_of(const char *name)
{
    x509_cert **ch = NULL;
    size_t n = 0;
    char file[128];
    snprintf(file, sizeof file, "%s.leaf.crt", name);
    if (load_chain(file, &ch, &n) != MTLS_OK || n != 1)
        return NULL;
    x509_cert *c = ch[0];
    free(ch);
    return c;
}

static void test_pki_cases(void)
{
    pki_case cases[64];
    size_t n = read_cases(cases, 64);
    CHECK(n >= 29);
    for (size_t i = 0; i < n; i++) {
        const pki_case *c = &cases[i];
        for (int role = 0; role < 2; role++) {
            x509_purpose purpose = role ? X509_PURPOSE_CLIENT : X509_PURPOSE_SERVER;
            char detail[1024];
            mtls_err got =
                verify_case(c->name, c->anchor, purpose, NULL, NULL, NULL, detail, sizeof detail);
            if (role == 0)
                printf("  %-15s chain  %-22s %s\n", c->name, got ? mtls_err_name(got) : "OK",
                       detail);
            CHECK_ERR(got, err_by_name(c->chain));
            CHECK(got == MTLS_OK ? detail[0] == 0 : strlen(detail) > 20);
            got = verify_case(c->name, c->anchor, purpose, NULL, "example.org", NULL, detail,
                              sizeof detail);
            if (role == 0 && strcmp(c->chain, c->spiffe) != 0)
                printf("  %-15s SPIFFE %-22s %s\n", c->name, got ? mtls_err_name(got) : "OK",
                       detail);
            CHECK_ERR(got, err_by_name(c->spiffe));
        }
        /* The getter says what the SPIFFE policy saw: an ID exactly for SVIDs. */
        x509_cert *leaf = leaf_of(c->name);
        CHECK(leaf != NULL);
        mtls_err want = err_by_name(c->spiffe);
        if (leaf && (want == MTLS_OK || want == MTLS_ERR_CERT_SPIFFE_DENIED)) {
            CHECK(x509_cert_spiffe_id(leaf) != NULL);
        } else if (leaf && want == MTLS_ERR_CERT_SPIFFE_ID) {
            CHECK(x509_cert_spiffe_id(leaf) == NULL);
        }
        x509_cert_free(leaf);
    }

    /* What the sentences say. */
    static const struct {
        const char *name, *anchor, *td, *id;
        mtls_err err;
        const char *says;
    } details[] = {
        {"two-uri", "td-ca", "example.org", NULL, MTLS_ERR_CERT_SPIFFE_ID,
         "certificate CN=two-uri (issued by CN=mtls SPIFFE Intermediate) has 2 URI names; an "
         "X.509-SVID has exactly one"},
        {"query", "td-ca", "example.org", NULL, MTLS_ERR_CERT_SPIFFE_ID,
         "has the URI name spiffe://example.org/web?x=1, which is not a valid SPIFFE ID: it has a "
         "query ('?')"},
        {"upper-td", "td-ca", "example.org", NULL, MTLS_ERR_CERT_SPIFFE_ID, "uppercase"},
        {"ca-leaf", "td-ca", "example.org", NULL, MTLS_ERR_CERT_SPIFFE_ID,
         "is a CA certificate (basicConstraints cA TRUE)"},
        {"crlsign", "td-ca", "example.org", NULL, MTLS_ERR_CERT_SPIFFE_ID, "allows cRLSign"},
        {"no-uri", "td-ca", "example.org", NULL, MTLS_ERR_CERT_SPIFFE_ID, "has no URI name"},
        {"plain-other", "plain-ca", "example.org", NULL, MTLS_ERR_CERT_SPIFFE_DENIED,
         "has the SPIFFE ID spiffe://other.org/web, which is not accepted (accepted: trust domain "
         "example.org)"},
        {"api-dns", "td-ca", NULL, "spiffe://example.org/ns/prod/sa/web",
         MTLS_ERR_CERT_SPIFFE_DENIED,
         "has the SPIFFE ID spiffe://example.org/ns/prod/sa/api, which is not accepted "
         "(accepted: spiffe://example.org/ns/prod/sa/web)"},
        {"other-td", "td-ca", NULL, NULL, MTLS_ERR_CERT_NAME_CONSTRAINTS,
         "has the name URI:spiffe://other.org/web, whose host is not within the permitted URI "
         "subtrees of CN=mtls SPIFFE CA example.org"},
        {"literal", "literal-ca", NULL, NULL, MTLS_ERR_CERT_NAME_CONSTRAINTS,
         "its URI constraint 'spiffe://example.org', which is not a host name (RFC 5280 "
         "4.2.1.10 constrains the host of a URI: write 'example.org'"},
        {"urn", "td-ca", NULL, NULL, MTLS_ERR_CERT_NAME_CONSTRAINTS,
         "has the name URI:urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66, which has no host name "
         "to check against the URI name constraints of CN=mtls SPIFFE CA example.org"},
        {"dom-bad", "dom-ca", NULL, NULL, MTLS_ERR_CERT_NAME_CONSTRAINTS,
         "which is in the URI subtree 'bad.example.org' excluded by CN=mtls SPIFFE Domain CA"},
        {"exlit", "exlit-ca", NULL, NULL, MTLS_ERR_CERT_NAME_CONSTRAINTS,
         "has the name URI:spiffe://example.org/web, and CN=mtls SPIFFE Excluding CA excludes the "
         "URI subtree 'spiffe://evil.org', which is not a host name"},
    };
    for (size_t i = 0; i < sizeof details / sizeof details[0]; i++) {
        char detail[1024];
        mtls_err got = verify_case(details[i].name, details[i].anchor, X509_PURPOSE_CLIENT, NULL,
                                   details[i].td, details[i].id, detail, sizeof detail);
        CHECK_ERR(got, details[i].err);
        if (!strstr(detail, details[i].says)) {
            fprintf(stderr, "  %s: detail '%s'\n    lacks '%s'\n", details[i].name, detail,
                    details[i].says);
            CHECK(0);
        }
    }

    /* Exact IDs: the one named passes, another of the same trust domain does not; an ID and a
     * trust domain together accept either. */
    char detail[1024];
    const char *web = "spiffe://example.org/ns/prod/sa/web";
    CHECK_ERR(
        verify_case("web", "td-ca", X509_PURPOSE_CLIENT, NULL, NULL, web, detail, sizeof detail),
        MTLS_OK);
    CHECK_ERR(verify_case("web", "td-ca", X509_PURPOSE_CLIENT, NULL, NULL,
                          "spiffe://example.org/ns/prod/sa/we", detail, sizeof detail),
              MTLS_ERR_CERT_SPIFFE_DENIED);
    CHECK_ERR(verify_case("web", "td-ca", X509_PURPOSE_CLIENT, NULL, NULL,
                          "spiffe://example.org/ns/prod/sa/web/x", detail, sizeof detail),
              MTLS_ERR_CERT_SPIFFE_DENIED);
    CHECK_ERR(verify_case("plain-other", "plain-ca", X509_PURPOSE_CLIENT, NULL, "other.org", web,
                          detail, sizeof detail),
              MTLS_OK);
    /* A trust domain is exact: example.org does not take in prod.example.org. */
    CHECK_ERR(verify_case("dom-sub", "dom-ca", X509_PURPOSE_CLIENT, NULL, "example.org", NULL,
                          detail, sizeof detail),
              MTLS_ERR_CERT_SPIFFE_DENIED);
    CHECK_ERR(verify_case("dom-sub", "dom-ca", X509_PURPOSE_CLIENT, NULL, "prod.example.org", NULL,
                          detail, sizeof detail),
              MTLS_OK);

    /* On a client the SPIFFE ID replaces the host name: web has no DNS name at all. */
    CHECK_ERR(verify_case("web", "td-ca", X509_PURPOSE_SERVER, "web.example.org", NULL, NULL,
                          detail, sizeof detail),
              MTLS_ERR_CERT_HOSTNAME);
    CHECK_ERR(verify_case("web", "td-ca", X509_PURPOSE_SERVER, "web.example.org", "example.org",
                          NULL, detail, sizeof detail),
              MTLS_OK);
    /* ... and the chain is still checked in full: the other checks come first. */
    CHECK_ERR(verify_case("other-td", "td-ca", X509_PURPOSE_SERVER, "web.example.org", "other.org",
                          NULL, detail, sizeof detail),
              MTLS_ERR_CERT_NAME_CONSTRAINTS);
    CHECK_ERR(verify_case("web", "plain-ca", X509_PURPOSE_SERVER, NULL, "example.org", NULL, detail,
                          sizeof detail),
              MTLS_ERR_CERT_UNKNOWN_CA);

    /* The getter's ID is the SAN itself. */
    x509_cert *leaf = leaf_of("web");
    CHECK(leaf && x509_cert_spiffe_id(leaf) && strcmp(x509_cert_spiffe_id(leaf), web) == 0);
    x509_cert_free(leaf);
    /* The URI constraint on the anchor also reaches the intermediate (whose own URI is
     * spiffe://example.org): the td-ca chain verifies at all only because it is within. */
    leaf = leaf_of("web");
    x509_cert **ch = NULL;
    n = 0;
    CHECK_ERR(load_chain("int.crt", &ch, &n), MTLS_OK);
    CHECK(n == 1 && ch[0]->has_nc == false && ch[0]->san_count == 1);
    x509_chain_free(ch, n);
    x509_cert_free(leaf);
    /* A critical constraint on a form mtls does not enforce (rfc822Name) is still refused. */
    CHECK_ERR(load_chain("email-nc-ca.crt", &ch, &n), MTLS_ERR_CERT_UNSUPPORTED);
    /* The CA with the literal constraint parses (it loads), with its URI subtree kept. */
    CHECK_ERR(load_chain("literal-ca.crt", &ch, &n), MTLS_OK);
    CHECK(n == 1 && ch[0]->has_nc && ch[0]->nc_permitted_n == 1 &&
          ch[0]->nc_permitted[0].type == 6);
    x509_chain_free(ch, n);
}

/* ---- the config setters --------------------------------------------------------------------- */

static void test_setters(void)
{
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_add_spiffe_id(cfg, "spiffe://example.org/ns/prod/sa/web"), MTLS_OK);
    CHECK_ERR(mtls_config_add_spiffe_id(cfg, "spiffe://example.org/ns/prod/sa/web"), MTLS_OK);
    CHECK_EQ(cfg->n_spiffe_ids, 1); /* not twice */
    CHECK_ERR(mtls_config_add_spiffe_trust_domain(cfg, "example.org"), MTLS_OK);
    CHECK_ERR(mtls_config_add_spiffe_trust_domain(cfg, "spiffe://example.org"), MTLS_OK);
    CHECK_ERR(mtls_config_add_spiffe_trust_domain(cfg, "prod.example.org"), MTLS_OK);
    CHECK_EQ(cfg->n_spiffe_domains, 2);
    CHECK(strcmp(cfg->spiffe_domains[0], "example.org") == 0);

    static const struct {
        int td;
        const char *arg, *says;
    } bad[] = {
        {0, "spiffe://example.org",
         "'spiffe://example.org' is not a SPIFFE ID: it has no path (a workload's ID has one; "
         "spiffe://<trust domain> alone names the trust domain); to accept a whole trust domain "
         "use mtls_config_add_spiffe_trust_domain"},
        {0, "spiffe://Example.org/a", "uppercase"},
        {0, "spiffe://example.org/a?b", "query"},
        {0, "example.org/a", "does not start with 'spiffe://'"},
        {0, "spiffe://example.org/a/", "ends with '/'"},
        {1, "Example.org", "'Example.org' is not a SPIFFE trust domain: it has an uppercase"},
        {1, "spiffe://example.org/ns", "it has a path"},
        {1, "spiffe://example.org/", "it has a path"},
        {1, "example.org:443", "port"},
        {1, "", "empty trust domain"},
        {1, "spiffe://", "empty trust domain"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mtls_err err = bad[i].td ? mtls_config_add_spiffe_trust_domain(cfg, bad[i].arg)
                                 : mtls_config_add_spiffe_id(cfg, bad[i].arg);
        CHECK_ERR(err, MTLS_ERR_INVALID_ARG);
        if (!strstr(mtls_config_error_detail(cfg), bad[i].says)) {
            fprintf(stderr, "  '%s': detail '%s' lacks '%s'\n", bad[i].arg,
                    mtls_config_error_detail(cfg), bad[i].says);
            CHECK(0);
        }
    }
    CHECK_ERR(mtls_config_add_spiffe_id(cfg, NULL), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_config_add_spiffe_trust_domain(cfg, NULL), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_config_add_spiffe_id(NULL, "spiffe://a/b"), MTLS_ERR_INVALID_ARG);
    /* Nothing refused was added. */
    CHECK_EQ(cfg->n_spiffe_ids, 1);
    CHECK_EQ(cfg->n_spiffe_domains, 2);
    /* The bound per list. */
    char id[64];
    for (int i = 1; i < MTLS_SPIFFE_MAX_ENTRIES; i++) {
        snprintf(id, sizeof id, "spiffe://example.org/w%d", i);
        CHECK_ERR(mtls_config_add_spiffe_id(cfg, id), MTLS_OK);
    }
    CHECK_EQ(cfg->n_spiffe_ids, MTLS_SPIFFE_MAX_ENTRIES);
    CHECK_ERR(mtls_config_add_spiffe_id(cfg, "spiffe://example.org/one-too-many"),
              MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_config_add_spiffe_id(cfg, "spiffe://example.org/w7"), MTLS_OK); /* present */
    /* Frozen: refused, nothing written. */
    CHECK_ERR(mtls_config_set_ca_file(cfg, path_of("td-ca.crt")), MTLS_OK);
    mtls_conn *c = mtls_client_new(cfg, "localhost");
    CHECK(c != NULL);
    CHECK_ERR(mtls_config_add_spiffe_trust_domain(cfg, "other.org"), MTLS_ERR_CONFIG_FROZEN);
    CHECK_ERR(mtls_config_add_spiffe_id(cfg, "spiffe://other.org/a"), MTLS_ERR_CONFIG_FROZEN);
    mtls_conn_free(c);
    mtls_config_free(cfg);
}

/* ---- handshakes ----------------------------------------------------------------------------- */

typedef struct {
    const char *ids[4];
    const char *tds[4];
} policy;

/* A config that presents `chain` (a case name; NULL: none) and trusts `anchor`. */
static mtls_config *make_cfg(const char *chain, const char *anchor, const policy *p, int server)
{
    char crt[128], key[128], ca[128];
    mtls_config *cfg = mtls_config_new();
    if (chain) {
        snprintf(crt, sizeof crt, "%s.crt", chain);
        snprintf(key, sizeof key, "%s.key", chain);
        CHECK_ERR(mtls_config_set_cert_chain_file(cfg, path_of(crt), path_of(key)), MTLS_OK);
    }
    snprintf(ca, sizeof ca, "%s.crt", anchor);
    CHECK_ERR(mtls_config_set_ca_file(cfg, path_of(ca)), MTLS_OK);
    if (server)
        CHECK_ERR(mtls_config_set_verify_client(cfg, MTLS_VERIFY_REQUIRE), MTLS_OK);
    for (int i = 0; p && i < 4 && p->ids[i]; i++)
        CHECK_ERR(mtls_config_add_spiffe_id(cfg, p->ids[i]), MTLS_OK);
    for (int i = 0; p && i < 4 && p->tds[i]; i++)
        CHECK_ERR(mtls_config_add_spiffe_trust_domain(cfg, p->tds[i]), MTLS_OK);
    return cfg;
}

/* One handshake; *cs / *ss receive the connections (caller frees). */
static mtls_err shake(mtls_config *ccfg, mtls_config *scfg, mtls_session *offer, mtls_conn **cs,
                      mtls_conn **ss)
{
    *cs = mtls_client_new(ccfg, "localhost");
    *ss = mtls_server_new(scfg);
    CHECK(*cs && *ss);
    if (!*cs || !*ss)
        return MTLS_ERR_INTERNAL;
    if (offer)
        CHECK_ERR(mtls_conn_set_session(*cs, offer), MTLS_OK);
    return tp_handshake(*cs, *ss);
}

static void test_handshakes(void)
{
    const char *web = "spiffe://example.org/ns/prod/sa/web",
               *api = "spiffe://example.org/ns/prod/sa/api";
    policy by_td = {{NULL}, {"example.org"}}, by_web = {{web}, {NULL}}, by_api = {{api}, {NULL}},
           by_db = {{"spiffe://example.org/ns/prod/sa/db"}, {NULL}},
           by_other = {{NULL}, {"other.org"}};
    mtls_conn *c, *s;

    /* Both sides accept the peer only by SPIFFE ID.  The server presents api-dns (no DNS name
     * "localhost"): the client's SPIFFE ID check replaces the host name. */
    mtls_config *scfg = make_cfg("api-dns", "td-ca", &by_web, 1);
    mtls_config *ccfg = make_cfg("web", "td-ca", &by_td, 0);
    CHECK_ERR(shake(ccfg, scfg, NULL, &c, &s), MTLS_OK);
    CHECK(mtls_conn_peer_spiffe_id(c) && strcmp(mtls_conn_peer_spiffe_id(c), api) == 0);
    CHECK(mtls_conn_peer_spiffe_id(s) && strcmp(mtls_conn_peer_spiffe_id(s), web) == 0);
    CHECK(tp_send_check(c, s, "ping", 4) && tp_send_check(s, c, "pong", 4));
    /* The session, for resumption below. */
    mtls_session *sess = mtls_conn_get_session(c);
    CHECK(sess != NULL);
    mtls_conn_free(c);
    mtls_conn_free(s);

    /* Same lists: resumed, the peer's ID still known. */
    CHECK_ERR(shake(ccfg, scfg, sess, &c, &s), MTLS_OK);
    CHECK(mtls_conn_resumed(c) && mtls_conn_resumed(s));
    CHECK(mtls_conn_peer_spiffe_id(c) && strcmp(mtls_conn_peer_spiffe_id(c), api) == 0);
    CHECK(mtls_conn_peer_spiffe_id(s) && strcmp(mtls_conn_peer_spiffe_id(s), web) == 0);
    mtls_conn_free(c);
    mtls_conn_free(s);

    /* Client: another list (same CA, same certificates) does not take over the session. */
    mtls_config *ccfg2 = make_cfg("web", "td-ca", &by_api, 0);
    CHECK_ERR(shake(ccfg2, scfg, sess, &c, &s), MTLS_OK);
    CHECK(!mtls_conn_resumed(c) && !mtls_conn_resumed(s));
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg2);

    /* Server: two servers share ticket keys; the one with other lists does a full handshake. */
    uint8_t keys[80] = {1, 2, 3};
    mtls_config *sa = make_cfg("api-dns", "td-ca", &by_web, 1);
    mtls_config *sb = make_cfg("api-dns", "td-ca", &by_td, 1);
    mtls_config *sc = make_cfg("api-dns", "td-ca", &by_web, 1);
    CHECK_ERR(mtls_config_set_ticket_keys(sa, keys, 1), MTLS_OK);
    CHECK_ERR(mtls_config_set_ticket_keys(sb, keys, 1), MTLS_OK);
    CHECK_ERR(mtls_config_set_ticket_keys(sc, keys, 1), MTLS_OK);
    CHECK_ERR(shake(ccfg, sa, NULL, &c, &s), MTLS_OK);
    mtls_session *ticket = mtls_conn_get_session(c);
    mtls_conn_free(c);
    mtls_conn_free(s);
    CHECK_ERR(shake(ccfg, sc, ticket, &c, &s), MTLS_OK); /* same lists: resumed */
    CHECK(mtls_conn_resumed(s));
    mtls_conn_free(c);
    mtls_conn_free(s);
    CHECK_ERR(shake(ccfg, sb, ticket, &c, &s), MTLS_OK); /* other lists: full */
    CHECK(!mtls_conn_resumed(s));
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_session_free(ticket);
    mtls_config_free(sa);
    mtls_config_free(sb);
    mtls_config_free(sc);
    mtls_session_free(sess);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);

    /* A client without a server name: mtls_conn_set_insecure_skip_hostname lifts the need for
     * one, and the SPIFFE ID is still checked. */
    scfg = make_cfg("api-dns", "td-ca", NULL, 1);
    for (int k = 0; k < 2; k++) {
        ccfg = make_cfg("web", "td-ca", k ? &by_web : &by_api, 0);
        c = mtls_client_new(ccfg, NULL);
        s = mtls_server_new(scfg);
        CHECK_ERR(mtls_conn_set_insecure_skip_hostname(c), MTLS_OK);
        CHECK_ERR(tp_handshake(c, s), k ? MTLS_ERR_CERT_SPIFFE_DENIED : MTLS_OK);
        CHECK_ERR(mtls_conn_error(c), k ? MTLS_ERR_CERT_SPIFFE_DENIED : MTLS_OK);
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(ccfg);
    }
    /* Without the opt-out too: a client that accepts the server by SPIFFE ID checks that
     * instead of a name, so it needs none (item 10 of issue 12 asks for a name only where the
     * name is what is checked). */
    for (int k = 0; k < 2; k++) {
        ccfg = make_cfg("web", "td-ca", k ? &by_web : &by_api, 0);
        c = mtls_client_new(ccfg, NULL);
        s = mtls_server_new(scfg);
        CHECK_ERR(tp_handshake(c, s), k ? MTLS_ERR_CERT_SPIFFE_DENIED : MTLS_OK);
        CHECK_ERR(mtls_conn_error(c), k ? MTLS_ERR_CERT_SPIFFE_DENIED : MTLS_OK);
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(ccfg);
    }
    mtls_config_free(scfg);

    /* Refusals, each in both directions: the verifier's error and alert, the peer's alert. */
    const struct {
        const char *leaf;
        const policy *p;
        mtls_err err;
        int alert; /* RFC 8446 6 / RFC 5246 7.2 */
    } refusals[] = {
        {"web", &by_db, MTLS_ERR_CERT_SPIFFE_DENIED, 49},    /* access_denied */
        {"web", &by_other, MTLS_ERR_CERT_SPIFFE_DENIED, 49}, /* access_denied */
        {"two-uri", &by_td, MTLS_ERR_CERT_SPIFFE_ID, 42},    /* bad_certificate */
        {"ca-leaf", &by_td, MTLS_ERR_CERT_SPIFFE_ID, 42},
        {"no-uri", &by_td, MTLS_ERR_CERT_SPIFFE_ID, 42},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        for (int dir = 0; dir < 2; dir++) {
            /* dir 0: the server judges the client's leaf; 1: the client judges the server's. */
            scfg = make_cfg(dir ? refusals[i].leaf : "api-dns", "td-ca", dir ? NULL : refusals[i].p,
                            1);
            ccfg =
                make_cfg(dir ? "web" : refusals[i].leaf, "td-ca", dir ? refusals[i].p : &by_td, 0);
            mtls_err err = shake(ccfg, scfg, NULL, &c, &s);
            mtls_conn *judge = dir ? c : s, *peer = dir ? s : c;
            CHECK(err != MTLS_OK);
            CHECK_ERR(mtls_conn_error(judge), refusals[i].err);
            CHECK_EQ(mtls_conn_alert_sent(judge), refusals[i].alert);
            CHECK_EQ(mtls_conn_alert_received(peer), refusals[i].alert);
            CHECK(!mtls_conn_established(judge) && !mtls_conn_established(peer));
            /* The rejected chain is dropped: no identity to read. */
            CHECK(mtls_conn_peer_spiffe_id(judge) == NULL);
            printf("  %-7s %s: %s (alert %d)\n", refusals[i].leaf, dir ? "client" : "server",
                   mtls_conn_error_detail(judge), mtls_conn_alert_sent(judge));
            mtls_conn_free(c);
            mtls_conn_free(s);
            mtls_config_free(scfg);
            mtls_config_free(ccfg);
        }
    }

    /* Without lists nothing changes: a CA with a critical URI constraint loads and its leaves
     * verify by host name as before -- here the client checks "localhost" against api-dns,
     * which lacks it, and only with the SPIFFE ID accepted does it pass. */
    scfg = make_cfg("api-dns", "td-ca", NULL, 1);
    ccfg = make_cfg("web", "td-ca", NULL, 0);
    CHECK_ERR(shake(ccfg, scfg, NULL, &c, &s), MTLS_ERR_CERT_HOSTNAME);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    ccfg = make_cfg("web", "td-ca", NULL, 0);
    c = mtls_client_new(ccfg, "localhost");
    s = mtls_server_new(scfg);
    CHECK_ERR(mtls_conn_set_verify_name(c, "api.example.org"), MTLS_OK);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    /* The getter answers without lists too. */
    CHECK(mtls_conn_peer_spiffe_id(c) && strcmp(mtls_conn_peer_spiffe_id(c), api) == 0);
    CHECK(mtls_conn_peer_spiffe_id(s) && strcmp(mtls_conn_peer_spiffe_id(s), web) == 0);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    /* A peer that is not an SVID has no SPIFFE ID (no lists: accepted by name). */
    scfg = make_cfg("no-uri", "td-ca", NULL, 1);
    ccfg = make_cfg("two-uri", "td-ca", NULL, 0);
    c = mtls_client_new(ccfg, "web.example.org");
    s = mtls_server_new(scfg);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    CHECK(mtls_conn_peer_spiffe_id(c) == NULL && mtls_conn_peer_spiffe_id(s) == NULL);
    CHECK(mtls_conn_peer_spiffe_id(NULL) == NULL);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
}

/* ---- certificate details against `openssl x509` --------------------------------------------- */

/* The first line `openssl x509 -in FILE -noout ARGS` prints that starts with `prefix` (the rest
 * of it, newline dropped), or "" -- in a static buffer. */
static const char *ossl_line(const char *file, const char *args, const char *prefix)
{
    static char out[4][2048];
    static int k;
    char cmd[1024], line[2048];
    k = (k + 1) % 4;
    out[k][0] = 0;
    snprintf(cmd, sizeof cmd, "openssl x509 -in '%s' -noout %s 2>/dev/null", path_of(file), args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return out[k];
    bool next = false; /* the prefix ended its line: the answer is the next line */
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        const char *l = line;
        if (next) {
            while (*l == ' ')
                l++;
            snprintf(out[k], sizeof out[k], "%s", l);
            break;
        }
        while (*l == ' ')
            l++;
        size_t len = strlen(line);
        while (len > 0 && line[len - 1] == ' ')
            line[--len] = 0;
        if (strncmp(l, prefix, strlen(prefix)) == 0) {
            const char *rest = l + strlen(prefix);
            /* "X509v3 Basic Constraints: critical": the value is on the next line */
            if (prefix[strlen(prefix) - 1] == ':' && (!*rest || strcmp(rest, " critical") == 0)) {
                next = true;
                continue;
            }
            snprintf(out[k], sizeof out[k], "%s", rest);
            break;
        }
    }
    pclose(p);
    return out[k];
}

/* "Dec  6 16:51:00 2026 GMT" */
static int64_t ossl_time(const char *s)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4];
    int d, h, mi, sec, y;
    if (sscanf(s, "%3s %d %d:%d:%d %d", mon, &d, &h, &mi, &sec, &y) != 6)
        return -1;
    const char *m = strstr(months, mon);
    if (!m)
        return -1;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = (int)(m - months) / 3,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    return (int64_t)timegm(&tm);
}

/* Compare info (of the certificate in `file`) with openssl's view of it. */
static void compare_with_openssl(const char *file, const mtls_cert_info *info)
{
    char hex[200];
    const char *serial = ossl_line(file, "-serial", "serial=");
    printf("  %s: serial %s (openssl %s), %s .. %s\n", file, info->serial_hex, serial,
           ossl_line(file, "-startdate", "notBefore="), ossl_line(file, "-enddate", "notAfter="));
    CHECK(serial[0] && strcmp(info->serial_hex, serial) == 0);
    CHECK_EQ(info->not_before, ossl_time(ossl_line(file, "-startdate", "notBefore=")));
    CHECK_EQ(info->not_after, ossl_time(ossl_line(file, "-enddate", "notAfter=")));
    CHECK(strcmp(info->subject, ossl_line(file, "-nameopt RFC2253 -subject", "subject=")) == 0);
    CHECK(strcmp(info->issuer, ossl_line(file, "-nameopt RFC2253 -issuer", "issuer=")) == 0);
    /* fingerprint: "AB:CD:..." */
    size_t k = 0;
    for (size_t i = 0; i < 32; i++)
        k += (size_t)snprintf(hex + k, sizeof hex - k, "%s%02X", i ? ":" : "", info->sha256[i]);
    CHECK(strcmp(hex, ossl_line(file, "-fingerprint -sha256", "sha256 Fingerprint=")) == 0);
    /* key and signature */
    char bits[64];
    snprintf(bits, sizeof bits, "(%u bit)", info->key_bits);
    CHECK(strcmp(ossl_line(file, "-text", "Public-Key: "), bits) == 0);
    const char *alg = ossl_line(file, "-text", "Public Key Algorithm: ");
    const char *curve = ossl_line(file, "-text", "NIST CURVE: ");
    CHECK(info->key_type == (strcmp(alg, "rsaEncryption") == 0 ? MTLS_KEY_RSA
                             : strcmp(curve, "P-256") == 0     ? MTLS_KEY_EC_P256
                             : strcmp(curve, "P-384") == 0     ? MTLS_KEY_EC_P384
                                                               : MTLS_KEY_UNKNOWN));
    CHECK(info->key_type != MTLS_KEY_UNKNOWN);
    CHECK(strcmp(info->signature_algorithm, ossl_line(file, "-text", "Signature Algorithm: ")) ==
          0);
    const char *bc = ossl_line(file, "-ext basicConstraints", "X509v3 Basic Constraints:");
    CHECK(info->is_ca == (strncmp(bc, "CA:TRUE", 7) == 0));
    /* SANs: "DNS:a, IP Address:192.0.2.7, email:b, URI:c", in order. */
    char sans[2048];
    snprintf(sans, sizeof sans, "%s",
             ossl_line(file, "-ext subjectAltName", "X509v3 Subject Alternative Name:"));
    size_t count = 0;
    for (char *save = NULL, *t = strtok_r(sans, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        CHECK(count < info->san_count);
        if (count >= info->san_count)
            break;
        const mtls_san *san = &info->sans[count++];
        if (strncmp(t, "IP Address:", 11) == 0) {
            uint8_t ip[16];
            int v6 = strchr(t + 11, ':') != NULL;
            CHECK(san->type == MTLS_SAN_IP);
            CHECK(inet_pton(v6 ? AF_INET6 : AF_INET, t + 11, ip) == 1);
            CHECK(san->len == (v6 ? 16u : 4u) && memcmp(san->data, ip, san->len) == 0);
            continue;
        }
        CHECK(strcmp(san->text, t) == 0);
        const char *colon = strchr(t, ':');
        CHECK(colon && san->len == strlen(colon + 1) &&
              memcmp(san->data, colon + 1, san->len) == 0);
        mtls_san_type want = strncmp(t, "DNS:", 4) == 0     ? MTLS_SAN_DNS
                             : strncmp(t, "URI:", 4) == 0   ? MTLS_SAN_URI
                             : strncmp(t, "email:", 6) == 0 ? MTLS_SAN_EMAIL
                                                            : (mtls_san_type)0;
        CHECK(san->type == want);
    }
    CHECK_EQ(count, info->san_count);
    CHECK(info->san_count ? info->sans != NULL : info->sans == NULL);
}

static void test_cert_info(void)
{
    /* Through connections: a client sees the server's chain, a server the client's. */
    static const struct {
        const char *server, *server_ca, *client;
    } runs[] = {
        {"info", "plain-ca", "web"},     /* RSA, every SAN form, 21-octet serial; EC SVID */
        {"info-neg", "plain-ca", "web"}, /* negative serial */
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        mtls_config *scfg = make_cfg(runs[r].server, "td-ca", NULL, 1);
        mtls_config *ccfg = make_cfg(runs[r].client, runs[r].server_ca, NULL, 0);
        mtls_conn *c = mtls_client_new(ccfg, "info.example.org");
        mtls_conn *s = mtls_server_new(scfg);
        mtls_cert_info info = MTLS_CERT_INFO_INIT;
        /* before the handshake: nothing to describe */
        CHECK_ERR(mtls_conn_peer_cert_info(c, 0, &info), MTLS_ERR_BAD_STATE);
        CHECK_ERR(tp_handshake(c, s), MTLS_OK);
        char file[128];
        snprintf(file, sizeof file, "%s.leaf.crt", runs[r].server);
        CHECK_ERR(mtls_conn_peer_cert_info(c, 0, &info), MTLS_OK);
        CHECK_EQ(info.struct_size, sizeof info);
        compare_with_openssl(file, &info);
        /* the serial octets as encoded */
        x509_cert *leaf = leaf_of(runs[r].server);
        CHECK(leaf && info.serial_len == leaf->serial_len &&
              memcmp(info.serial, leaf->serial, info.serial_len) == 0);
        x509_cert_free(leaf);
        if (r == 0) {
            CHECK_EQ(info.serial_len, 21); /* 00 8A 01 ... 13 */
            CHECK(info.serial[0] == 0x00 && info.serial[1] == 0x8A);
            CHECK_EQ(info.key_type, MTLS_KEY_RSA);
            CHECK_EQ(info.key_bits, 2048);
            CHECK_EQ(info.san_count, 5);
            CHECK(info.sans[2].type == MTLS_SAN_IP && info.sans[2].len == 16 &&
                  strcmp(info.sans[2].text, "IP:2001:db8::1") == 0);
            CHECK(strcmp(info.signature_algorithm, "ecdsa-with-SHA384") == 0); /* plain-ca: EC */
            /* the server's view of the client: the EC SVID, and the client's CA chain */
            CHECK_ERR(mtls_conn_peer_cert_info(s, 0, &info), MTLS_OK);
            compare_with_openssl("web.leaf.crt", &info);
            CHECK_EQ(info.key_type, MTLS_KEY_EC_P256);
            CHECK(info.subject[0] == 0 && info.san_count == 1 && info.sans[0].type == MTLS_SAN_URI);
            CHECK_EQ(mtls_conn_peer_cert_count(s), 2);
            CHECK_ERR(mtls_conn_peer_cert_info(s, 1, &info), MTLS_OK);
            compare_with_openssl("int.crt", &info);
            CHECK(info.is_ca == 1);
            CHECK_ERR(mtls_conn_peer_cert_info(s, 2, &info), MTLS_ERR_INVALID_ARG);
            /* struct_size: an older, shorter struct gets its prefix and nothing past it. */
            union {
                mtls_cert_info info;
                uint8_t bytes[sizeof(mtls_cert_info)];
            } u;
            memset(&u, 0xA5, sizeof u);
            u.info.struct_size = offsetof(mtls_cert_info, not_after);
            CHECK_ERR(mtls_conn_peer_cert_info(c, 0, &u.info), MTLS_OK);
            CHECK_EQ(u.info.struct_size, offsetof(mtls_cert_info, not_after));
            CHECK(u.info.subject && strstr(u.info.subject, "CN=info.example.org"));
            CHECK(u.info.not_before > 0);
            bool untouched = true;
            for (size_t i = offsetof(mtls_cert_info, not_after); i < sizeof u; i++)
                untouched = untouched && u.bytes[i] == 0xA5;
            CHECK(untouched);
            /* too small to hold even the first field */
            u.info.struct_size = sizeof(size_t);
            CHECK_ERR(mtls_conn_peer_cert_info(c, 0, &u.info), MTLS_ERR_INVALID_ARG);
            CHECK_ERR(mtls_conn_peer_cert_info(c, 0, NULL), MTLS_ERR_INVALID_ARG);
            CHECK_ERR(mtls_conn_peer_cert_info(NULL, 0, &info), MTLS_ERR_INVALID_ARG);
            /* a larger struct (a newer caller) is filled up to what this version knows */
            struct {
                mtls_cert_info info;
                uint8_t more[64];
            } big;
            memset(&big, 0xA5, sizeof big);
            big.info.struct_size = sizeof big;
            CHECK_ERR(mtls_conn_peer_cert_info(c, 0, &big.info), MTLS_OK);
            CHECK_EQ(big.info.struct_size, sizeof(mtls_cert_info));
            CHECK(big.more[0] == 0xA5 && big.more[63] == 0xA5);
        } else {
            CHECK(strcmp(info.serial_hex, "-1234") == 0);
            CHECK(info.serial_len == 2 && info.serial[0] == 0xED && info.serial[1] == 0xCC);
        }
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(ccfg);
        mtls_config_free(scfg);
    }
}

/* ---- main ---------------------------------------------------------------------------------- */

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* --verdicts DIR: mtls's chain verdict (no SPIFFE policy, no host name, client role) per case. */
static int print_verdicts(const char *dir)
{
    pki_case cases[64];
    snprintf(pki, sizeof pki, "%s", dir);
    now = (int64_t)time(NULL);
    size_t n = read_cases(cases, 64);
    for (size_t i = 0; i < n; i++) {
        char detail[1024];
        mtls_err err = verify_case(cases[i].name, cases[i].anchor, X509_PURPOSE_CLIENT, NULL, NULL,
                                   NULL, detail, sizeof detail);
        if (err == MTLS_OK)
            printf("%s OK\n", cases[i].name);
        else
            printf("%s FAIL %s: %s\n", cases[i].name, mtls_err_name(err), detail);
    }
    return n > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--verdicts") == 0)
        return print_verdicts(argv[2]);
    const char *src = getenv("MTLS_SRC_DIR");
    char cmd[1024], here[512];
    if (!src) { /* run by hand: the source tree this file was compiled from */
        snprintf(here, sizeof here, "%s", __FILE__);
        char *cut = strstr(here, "/tests/unit/");
        if (cut)
            *cut = 0;
        src = cut ? here : ".";
    }
    test_id_syntax();
    test_uri_hosts();

    snprintf(pki, sizeof pki, "/tmp/mtls-spiffe-XXXXXX");
    if (!mkdtemp(pki)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(cmd, sizeof cmd, "sh '%s/tests/pki/make-spiffe-pki.sh' '%s' >/dev/null", src, pki);
    int rc = system(cmd);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        now = (int64_t)time(NULL);
        test_pki_cases();
        test_setters();
        test_handshakes();
        test_cert_info();
    }
    rm_rf(pki);
    return t_done();
}
