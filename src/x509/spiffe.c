/*
 * spiffe.c -- SPIFFE IDs and X.509-SVIDs: what a SPIFFE ID may look like, and when a leaf
 * certificate is an X.509-SVID (the SPIFFE specifications SPIFFE-ID.md and X509-SVID.md, quoted
 * where a MUST is enforced).
 *
 * A SPIFFE ID is "spiffe://" trust-domain path.  The trust domain is 1..255 octets of [a-z0-9.-_]
 * (lowercase, no userinfo, no port, no percent-encoding); the path is empty or "/" segments of
 * [a-zA-Z0-9.-_], none empty, none "." or "..", no trailing "/"; no query, no fragment; 2048
 * octets at most in all.  IDs are compared octet for octet: the rules leave one spelling per ID
 * (SPIFFE-ID 4.2 forbids what makes comparison ambiguous), so nothing is normalised.
 *
 * A leaf is an X.509-SVID when it has exactly one URI subjectAltName, that name is a SPIFFE ID
 * with a path, the certificate is not a CA and its keyUsage (when present) allows neither
 * keyCertSign nor cRLSign.  The checks are pure functions of the certificate; verify.c applies
 * them when the application accepts peers by SPIFFE ID.
 */
#include <stdio.h>
#include <string.h>

#include "x509_int.h"

#define SPIFFE_PREFIX "spiffe://"
#define SPIFFE_PREFIX_LEN 9
/* SPIFFE-ID 2.3: "SPIFFE implementations MUST support SPIFFE URIs up to 2048 bytes in length and
 * SHOULD NOT generate URIs of length greater than 2048 bytes"; "a maximum length of a trust
 * domain name is 255 bytes". */
#define SPIFFE_MAX_ID 2048
#define SPIFFE_MAX_TD 255

static bool td_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool path_char(uint8_t c)
{
    return td_char(c) || (c >= 'A' && c <= 'Z');
}

/* Why the character c cannot appear where it is, in words. */
static const char *bad_char(uint8_t c, bool in_td)
{
    switch (c) {
    case '%':
        /* SPIFFE-ID 2.1 / 2.2: "MUST NOT contain percent-encoded characters" */
        return "holds a percent-encoded character";
    case '?':
        /* SPIFFE-ID 2: "MUST NOT include a query or fragment component" */
        return "has a query ('?')";
    case '#':
        return "has a fragment ('#')";
    default:
        break;
    }
    if (in_td) {
        /* SPIFFE-ID 2.1: "The userinfo and port parts of the authority component MUST be empty";
         * "The host part of the authority MUST be lowercase." */
        if (c == ':')
            return "has a port (':') after its trust domain";
        if (c == '@')
            return "has userinfo ('@') in its authority";
        if (c >= 'A' && c <= 'Z')
            return "has an uppercase letter in its trust domain (trust domains are lowercase)";
        return "has a character outside [a-z0-9.-_] in its trust domain";
    }
    return "has a character outside [a-zA-Z0-9.-_] in its path";
}

const char *x509_spiffe_td_problem(const uint8_t *p, size_t n)
{
    /* SPIFFE-ID 2.1: "The host part of the authority MUST NOT be empty." */
    if (n == 0)
        return "has an empty trust domain";
    if (n > SPIFFE_MAX_TD)
        return "has a trust domain longer than 255 bytes";
    for (size_t i = 0; i < n; i++) {
        if (!td_char(p[i]))
            return bad_char(p[i], true);
    }
    return NULL;
}

const char *x509_spiffe_id_problem(const uint8_t *p, size_t n, bool need_path)
{
    if (n < SPIFFE_PREFIX_LEN || memcmp(p, SPIFFE_PREFIX, SPIFFE_PREFIX_LEN) != 0)
        return "does not start with 'spiffe://'";
    if (n > SPIFFE_MAX_ID)
        return "is longer than 2048 bytes";
    size_t i = SPIFFE_PREFIX_LEN, td = i;
    while (i < n && p[i] != '/')
        i++;
    const char *why = x509_spiffe_td_problem(p + td, i - td);
    if (why)
        return why;
    if (i == n)
        /* X509-SVID 3.1: "Leaf certificate SPIFFE IDs MUST have a non-root path component." */
        return need_path ? "has no path (a workload's ID has one; spiffe://<trust domain> alone "
                           "names the trust domain)"
                         : NULL;
    /* SPIFFE-ID 2.2: "The path component MUST NOT include segments that are empty or are relative
     * path modifiers (i.e. `.`, `..`)"; "MUST NOT include a trailing `/`"; "Individual path
     * segments MUST contain only letters, numbers, dots, dashes, and underscores". */
    while (i < n) {
        size_t s = ++i; /* past the '/' */
        while (i < n && p[i] != '/') {
            if (!path_char(p[i]))
                return bad_char(p[i], false);
            i++;
        }
        size_t len = i - s;
        if (len == 0)
            return i == n ? "ends with '/'" : "has an empty path segment ('//')";
        if ((len == 1 && p[s] == '.') || (len == 2 && p[s] == '.' && p[s + 1] == '.'))
            return "has a '.' or '..' path segment";
    }
    return NULL;
}

mtls_err x509_spiffe_svid(const x509_cert *c, const char **id, char *why, size_t cap)
{
    size_t uris = 0, at = 0;
    char dummy[1];
    if (!why || cap == 0) {
        why = dummy;
        cap = sizeof dummy;
    }
    *id = NULL;
    why[0] = 0;
    for (size_t i = 0; i < c->san_count; i++) {
        if (c->sans[i].type == 6) {
            uris++;
            at = i;
        }
    }
    /* X509-SVID 2: "An X.509 SVID MUST contain exactly one URI SAN ... Validators encountering an
     * SVID containing more than one URI SAN MUST reject the SVID." */
    if (uris == 0) {
        snprintf(why, cap,
                 "has no URI name, so no SPIFFE ID (an X.509-SVID carries its ID as its "
                 "one URI subjectAltName)");
        return MTLS_ERR_CERT_SPIFFE_ID;
    }
    if (uris > 1) {
        snprintf(why, cap, "has %zu URI names; an X.509-SVID has exactly one", uris);
        return MTLS_ERR_CERT_SPIFFE_ID;
    }
    const x509_gname *g = &c->sans[at];
    const char *problem = x509_spiffe_id_problem(g->p, g->len, true);
    if (problem) {
        snprintf(why, cap, "has the URI name %.300s, which is not a valid SPIFFE ID: it %s",
                 c->san_strs[at] + 4, problem);
        return MTLS_ERR_CERT_SPIFFE_ID;
    }
    /* X509-SVID 5.2: "the validator MUST ensure that the `CA` field in the basic constraints
     * extension is set to `false`, and that `keyCertSign` and `cRLSign` are not set in the key
     * usage extension." */
    if (c->is_ca) {
        snprintf(why, cap,
                 "is a CA certificate (basicConstraints cA TRUE), which an X.509-SVID "
                 "leaf must not be");
        return MTLS_ERR_CERT_SPIFFE_ID;
    }
    if (c->has_ku && (c->ku & (X509_KU_KEY_CERT_SIGN | X509_KU_CRL_SIGN))) {
        snprintf(why, cap, "has a keyUsage that allows %s, which an X.509-SVID leaf must not",
                 (c->ku & X509_KU_KEY_CERT_SIGN) ? "keyCertSign" : "cRLSign");
        return MTLS_ERR_CERT_SPIFFE_ID;
    }
    /* A valid ID is printable ASCII, so the SAN string (after "URI:") is the ID itself. */
    *id = c->san_strs[at] + 4;
    return MTLS_OK;
}

const char *x509_cert_spiffe_id(const x509_cert *c)
{
    const char *id;
    return c && x509_spiffe_svid(c, &id, NULL, 0) == MTLS_OK ? id : NULL;
}

/* The trust domain of a valid ID: the octets after "spiffe://" up to the path. */
static size_t td_len(const char *id)
{
    const char *td = id + SPIFFE_PREFIX_LEN, *slash = strchr(td, '/');
    return slash ? (size_t)(slash - td) : strlen(td);
}

bool x509_spiffe_accepts(const x509_verify_params *p, const char *id)
{
    size_t tl = td_len(id);
    for (size_t i = 0; i < p->n_spiffe_ids; i++) {
        if (strcmp(p->spiffe_ids[i], id) == 0)
            return true;
    }
    for (size_t i = 0; i < p->n_spiffe_domains; i++) {
        if (strlen(p->spiffe_domains[i]) == tl &&
            memcmp(p->spiffe_domains[i], id + SPIFFE_PREFIX_LEN, tl) == 0)
            return true;
    }
    return false;
}
