/*
 * host.c -- does a certificate name the host we meant to reach?  (RFC 9525, which obsoletes
 * RFC 6125, and RFC 5280 4.2.1.10 for dNSName name constraints.)
 *
 * Policy, strictest reading of the RFCs:
 *   - An IP literal (inet_pton: dotted quad or IPv6) matches only iPAddress SANs, byte for byte.
 *   - A DNS name matches dNSName SANs.  The subject CN is consulted only when the certificate has
 *     no subjectAltName extension at all (RFC 9525 6.3: "a client MUST NOT seek a match for a
 *     reference identifier of CN-ID if the presented identifiers include a DNS-ID ...").
 *   - ASCII case-insensitive; one trailing dot of the reference name is ignored.  Names are
 *     compared in their A-label form (xn--...), never decoded.
 *   - A wildcard is only the whole left-most label ("*.example.com"); it matches exactly one
 *     non-empty label, never one that is an A-label (RFC 6125 6.4.3: a client "SHOULD NOT
 *     attempt to match a presented identifier where the wildcard character is embedded within an
 *     A-label or U-label"), and never sits directly on a two-label name ("*.com", "*.co.uk" is
 *     allowed: we carry no public-suffix list).  "f*.example.com", "a.*.example.com" and "*" never
 *     match (RFC 9525 6.3: wildcard "only as the complete content of the left-most label").
 *   - A presented name containing NUL or any byte outside letters, digits, '-', '_', '.' and a
 *     left-most '*' never matches.
 *   - Under name constraints a wildcard stands for every name it can match (see below).
 */
#include <arpa/inet.h>
#include <string.h>

#include "x509_int.h"

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool ieq(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

static bool ldh(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* A DNS name of LDH labels (1..63 octets each), at most 253 octets, no empty label. */
static bool valid_dns(const uint8_t *p, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (ldh(p[i]) && ++label <= 63) {
            continue;
        } else {
            return false;
        }
    }
    return label > 0;
}

static size_t count_labels(const uint8_t *p, size_t n)
{
    size_t k = 1;
    for (size_t i = 0; i < n; i++)
        k += p[i] == '.';
    return k;
}

bool x509_dns_match(const uint8_t *pat, size_t pat_len, const char *host_s, size_t host_len)
{
    const uint8_t *host = (const uint8_t *)host_s;
    if (pat_len > 0 && pat[pat_len - 1] == '.')
        pat_len--; /* an absolute presented name */
    if (!valid_dns(host, host_len))
        return false;
    if (pat_len >= 2 && pat[0] == '*' && pat[1] == '.') {
        const uint8_t *rest = pat + 2;
        size_t rest_len = pat_len - 2;
        if (!valid_dns(rest, rest_len) || count_labels(rest, rest_len) < 2)
            return false;
        const uint8_t *dot = memchr(host, '.', host_len);
        if (!dot || dot == host)
            return false;
        size_t first = (size_t)(dot - host);
        if (first >= 4 && ieq(host, (const uint8_t *)"xn--", 4))
            return false;
        size_t hrest = host_len - first - 1;
        return hrest == rest_len && ieq(dot + 1, rest, rest_len);
    }
    /* No wildcard: every byte must be a plain LDH or dot, so '*' elsewhere and NUL fail here. */
    if (!valid_dns(pat, pat_len))
        return false;
    return pat_len == host_len && ieq(pat, host, host_len);
}

bool x509_dns_in_subtree(const uint8_t *name, size_t name_len, const uint8_t *base, size_t base_len)
{
    /* RFC 5280 4.2.1.10: "Any DNS name that can be constructed by simply adding zero or more
     * labels to the left-hand side of the name satisfies the name constraint."  A base with a
     * leading period (a common variant) admits only names below it. */
    if (base_len == 0)
        return true;
    if (name_len > 0 && name[name_len - 1] == '.')
        name_len--;
    if (base[0] == '.')
        return name_len > base_len && ieq(name + name_len - base_len, base, base_len);
    if (name_len == base_len)
        return ieq(name, base, base_len);
    return name_len > base_len && name[name_len - base_len - 1] == '.' &&
           ieq(name + name_len - base_len, base, base_len);
}

/* Wildcards under name constraints.  RFC 5280 4.2.1.10 defines subtrees for names, not for
 * patterns, and is silent on "*.example.com"; we read a wildcard as the set of names it can
 * match -- one label L followed by the rest S, as x509_dns_match does -- so that a constraint
 * holds for every host the certificate can be used for (BoringSSL, rustls-webpki and Go after
 * CVE-2025-61727 do the same):
 *   - permitted: every L.S must be within the subtree.  L ranges over labels the subtree cannot
 *     name one by one, so this holds exactly when a name "L.S" with a label L found nowhere in
 *     the base is within it: S equal to or below a base "example.com", S equal to or below F for
 *     a base ".F".  "*.example.com" is not within "www.example.com".
 *   - excluded: some L.S is within the subtree, that is the rule above, or the base is itself
 *     one label followed by S (base "bad.example.com" is what "*.example.com" matches with
 *     L = "bad").  Only these: "*.example.org" can match nothing below an excluded "com", so a
 *     single-label exclusion does not refuse every wildcard (golang/go#76935), nor does
 *     "blocked.example" refuse "*.x.example".
 * L is taken as any label here, even an A-label that x509_dns_match would not let '*' stand for:
 * an exclusion must hold whatever the host matcher accepts. */

/* "*.S" with S non-empty: S, else false.  One trailing dot of the presented name is ignored. */
static bool wildcard_rest(const uint8_t *name, size_t n, const uint8_t **rest, size_t *rest_len)
{
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n < 3 || name[0] != '*' || name[1] != '.')
        return false;
    *rest = name + 2;
    *rest_len = n - 2;
    return true;
}

/* Is "L.S", for a label L that appears nowhere in `base`, within the subtree `base`? */
static bool any_label_in_subtree(const uint8_t *s, size_t s_len, const uint8_t *base,
                                 size_t base_len)
{
    if (base_len > 0 && base[0] == '.') /* ".F": L.S is below F when S is F or below F */
        return (base_len == s_len + 1 && ieq(s, base + 1, s_len)) ||
               (base_len <= s_len && ieq(s + s_len - base_len, base, base_len));
    return x509_dns_in_subtree(s, s_len, base, base_len);
}

bool x509_dns_permitted_by(const uint8_t *name, size_t name_len, const uint8_t *base,
                           size_t base_len)
{
    const uint8_t *s;
    size_t s_len;
    if (!wildcard_rest(name, name_len, &s, &s_len))
        return x509_dns_in_subtree(name, name_len, base, base_len);
    return any_label_in_subtree(s, s_len, base, base_len);
}

bool x509_dns_excluded_by(const uint8_t *name, size_t name_len, const uint8_t *base,
                          size_t base_len)
{
    const uint8_t *s;
    size_t s_len;
    if (!wildcard_rest(name, name_len, &s, &s_len))
        return x509_dns_in_subtree(name, name_len, base, base_len);
    if (any_label_in_subtree(s, s_len, base, base_len))
        return true;
    /* The base is "L.S" itself: one non-empty label, a dot, then S. */
    if (base_len <= s_len + 1 || base[0] == '.')
        return false;
    size_t label = base_len - s_len - 1;
    return base[label] == '.' && ieq(base + label + 1, s, s_len) && !memchr(base, '.', label);
}

/* The reference name as an IP address: 4 or 16 bytes, 0 when it is not an IP literal. */
static size_t parse_ip(const char *host, size_t len, uint8_t out[16])
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, host, len);
    buf[len] = 0;
    if (inet_pton(AF_INET, buf, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, buf, out) == 1)
        return 16;
    return 0;
}

int x509_host_matches(const x509_cert *c, const char *host)
{
    uint8_t ip[16];
    size_t len, ip_len;
    if (!c || !host)
        return 0;
    len = strlen(host);
    if (len > 0 && host[len - 1] == '.')
        len--;
    if (len == 0)
        return 0;
    ip_len = parse_ip(host, len, ip);
    if (ip_len) {
        /* RFC 9525 6.2: an IP-ID matches "if the reference identity octet string is identical
         * to the presented identity octet string". */
        for (size_t i = 0; i < c->san_count; i++) {
            const x509_gname *g = &c->sans[i];
            if (g->type == 7 && g->len == ip_len && memcmp(g->p, ip, ip_len) == 0)
                return 1;
        }
        return 0;
    }
    if (c->has_san) {
        for (size_t i = 0; i < c->san_count; i++) {
            const x509_gname *g = &c->sans[i];
            if (g->type == 2 && x509_dns_match(g->p, g->len, host, len))
                return 1;
        }
        return 0;
    }
    const uint8_t *cn;
    size_t cn_len;
    if (x509_name_last_cn(c->subject_der, c->subject_len, &cn, &cn_len))
        return x509_dns_match(cn, cn_len, host, len);
    return 0;
}
