/*
 * uri.c -- the host of a URI name, and URI name constraints (RFC 5280 4.2.1.10).
 *
 * RFC 5280 constrains a uniformResourceIdentifier by the host part of its authority only: "For
 * URIs, the constraint applies to the host part of the name.  The constraint MUST be specified as
 * a fully qualified domain name and MAY specify a host or a domain."  A constraint ".example.com"
 * holds every host with at least one label before example.com (not example.com itself); a
 * constraint "example.com" holds exactly that host -- not its subdomains (OpenSSL reads it the same
 * way; Go's crypto/x509 lets it hold subdomains too, docs/x509.md).  Comparison is ASCII
 * case-insensitive.
 *
 * The host is read as RFC 3986 3.2 defines the authority: scheme ":" "//" [userinfo "@"] host
 * [":" port], ended by "/", "?", "#" or the end.  Only a registered name that is a DNS name
 * (labels of letters, digits, '-' and '_', 1..63 octets, 253 in all, no trailing dot) counts as a
 * host: RFC 5280 "If a constraint is applied to the uniformResourceIdentifier name form and a
 * subsequent certificate includes a subjectAltName extension with a uniformResourceIdentifier
 * that does not include an authority component with a host name specified as a fully qualified
 * domain name (e.g., if the URI either does not include an authority component or includes an
 * authority component in which the host name is specified as an IP address), then the
 * application MUST reject the certificate."  So URNs, IP hosts (dotted quads and "[...]"
 * literals), percent-encoded hosts and empty hosts have no host here.
 *
 * A constraint that is not a DNS name (optionally after one leading '.') -- "spiffe://example.org",
 * as `openssl x509` writes `permitted;URI:spiffe://example.org` -- cannot name a host: it
 * permits nothing and, excluded, is taken to exclude everything (it is the CA's intent we cannot
 * read, so no URI name passes it).  verify.c names the mistake in its message.
 */
#include <arpa/inet.h>
#include <string.h>

#include "x509_int.h"

static bool alpha(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Labels of letters, digits, '-', '_' (1..63 octets), at most 253 octets, no empty label. */
static bool dns_name(const uint8_t *p, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((alpha(p[i]) || digit(p[i]) || p[i] == '-' || p[i] == '_') && ++label <= 63) {
            continue;
        } else {
            return false;
        }
    }
    return label > 0;
}

/* A dotted quad is an IP address, not a host name (RFC 3986 3.2.2: IPv4address is tried first). */
static bool ipv4_literal(const uint8_t *p, size_t n)
{
    char buf[16];
    struct in_addr a;
    if (n >= sizeof buf)
        return false;
    memcpy(buf, p, n);
    buf[n] = 0;
    return inet_pton(AF_INET, buf, &a) == 1;
}

bool x509_uri_host(const uint8_t *uri, size_t len, const uint8_t **host, size_t *host_len)
{
    size_t i = 0;
    /* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    if (len == 0 || !alpha(uri[0]))
        return false;
    while (i < len &&
           (alpha(uri[i]) || digit(uri[i]) || uri[i] == '+' || uri[i] == '-' || uri[i] == '.'))
        i++;
    /* RFC 3986 3: hier-part = "//" authority path-abempty / ... -- no "//", no authority. */
    if (len - i < 3 || uri[i] != ':' || uri[i + 1] != '/' || uri[i + 2] != '/')
        return false;
    size_t a = i + 3, end = a;
    while (end < len && uri[end] != '/' && uri[end] != '?' && uri[end] != '#')
        end++;
    /* authority = [ userinfo "@" ] host [ ":" port ]; userinfo may not hold '@' unencoded, so the
     * host starts after the last one. */
    size_t h = a;
    for (size_t k = a; k < end; k++) {
        if (uri[k] == '@')
            h = k + 1;
    }
    if (h < end && uri[h] == '[')
        return false; /* IP-literal */
    size_t he = h;
    while (he < end && uri[he] != ':')
        he++;
    /* port = *DIGIT */
    for (size_t k = he + 1; k < end; k++) {
        if (!digit(uri[k]))
            return false;
    }
    if (!dns_name(uri + h, he - h) || ipv4_literal(uri + h, he - h))
        return false;
    *host = uri + h;
    *host_len = he - h;
    return true;
}

bool x509_uri_constraint_valid(const uint8_t *base, size_t n)
{
    if (n > 0 && base[0] == '.') {
        base++;
        n--;
    }
    return dns_name(base, n) && !ipv4_literal(base, n);
}

bool x509_uri_host_in_subtree(const uint8_t *host, size_t host_len, const uint8_t *base,
                              size_t base_len)
{
    /* ".example.com": one or more labels, then example.com.  Since both are DNS names, a match
     * of the suffix ".example.com" leaves a non-empty label before it. */
    if (base_len > 0 && base[0] == '.') {
        if (host_len <= base_len)
            return false;
        host += host_len - base_len;
    } else if (host_len != base_len) {
        return false;
    }
    for (size_t i = 0; i < base_len; i++) {
        if (lower(host[i]) != lower(base[i]))
            return false;
    }
    return true;
}
