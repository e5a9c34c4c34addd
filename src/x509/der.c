/*
 * der.c -- the DER primitives the certificate parser is built from (X.690 section 10).
 *
 * Only the distinguished encoding is accepted: low tag numbers, definite lengths in the fewest
 * octets, every length bounded by what its container has left, minimal INTEGERs, BOOLEAN 0x00 or
 * 0xFF, BIT STRINGs whose unused bits are zero.  Invariant: every function either succeeds or
 * leaves its reader exactly where it was, and never reads outside the reader's view.
 */
#include <string.h>

#include "x509_int.h"

bool x509_der_any(rd *r, uint8_t *tag, rd *content, const uint8_t **tlv, size_t *tlv_len)
{
    rd save = *r;
    uint8_t t, l0;
    size_t len = 0;
    const uint8_t *p;

    if (!rd_u8(r, &t) || !rd_u8(r, &l0))
        goto fail;
    /* X.509 uses no tag number above 30; 0x1f would start the high-tag-number form. */
    if ((t & 0x1f) == 0x1f)
        goto fail;
    if (l0 < 0x80) {
        len = l0;
    } else {
        /* X.690 10.1: "The definite form of length encoding shall be used ... in the minimum
         * number of octets."  0x80 (indefinite) is refused, and so is a long form that a
         * shorter one could carry. */
        unsigned nb = l0 & 0x7f;
        if (nb == 0 || nb > 4)
            goto fail;
        for (unsigned i = 0; i < nb; i++) {
            uint8_t b;
            if (!rd_u8(r, &b))
                goto fail;
            if (i == 0 && b == 0)
                goto fail;
            len = (len << 8) | b;
        }
        if (len < 0x80)
            goto fail;
    }
    if (!rd_bytes(r, &p, len))
        goto fail;
    *tag = t;
    *content = rd_init(p, len);
    if (tlv) {
        *tlv = save.p;
        *tlv_len = (size_t)(p + len - save.p);
    }
    return true;
fail:
    *r = save;
    return false;
}

bool x509_der_expect_tlv(rd *r, uint8_t tag, rd *content, const uint8_t **tlv, size_t *tlv_len)
{
    rd save = *r;
    uint8_t t;
    if (!x509_der_any(r, &t, content, tlv, tlv_len))
        return false;
    if (t != tag) {
        *r = save;
        return false;
    }
    return true;
}

bool x509_der_expect(rd *r, uint8_t tag, rd *content)
{
    return x509_der_expect_tlv(r, tag, content, NULL, NULL);
}

bool x509_der_peek(const rd *r, uint8_t tag)
{
    return r->n > 0 && r->p[0] == tag;
}

/* The content of an INTEGER or ENUMERATED: X.690 8.3.2 / 8.4, "the bits of the first octet and
 * bit 8 of the second octet shall not all be ones; and shall not all be zero". */
static bool minimal_int(const rd *c)
{
    return c->n > 0 && !(c->n > 1 && ((c->p[0] == 0x00 && !(c->p[1] & 0x80)) ||
                                      (c->p[0] == 0xff && (c->p[1] & 0x80))));
}

bool x509_der_integer(rd *r, const uint8_t **p, size_t *len)
{
    rd save = *r, c;
    if (!x509_der_expect(r, DER_INTEGER, &c))
        return false;
    /* X.690 8.3.2: the first nine bits shall not be all ones or all zeros. */
    if (!minimal_int(&c)) {
        *r = save;
        return false;
    }
    *p = c.p;
    *len = c.n;
    return true;
}

bool x509_der_enumerated(rd *r, uint32_t *v)
{
    rd save = *r, c;
    uint32_t x = 0;
    if (!x509_der_expect(r, DER_ENUMERATED, &c) || !minimal_int(&c) || (c.p[0] & 0x80) || c.n > 4)
        goto fail;
    for (size_t i = 0; i < c.n; i++)
        x = (x << 8) | c.p[i];
    if (x > 0x7fffffff)
        goto fail;
    *v = x;
    return true;
fail:
    *r = save;
    return false;
}

bool x509_der_uint(rd *r, uint32_t *v)
{
    rd save = *r;
    const uint8_t *p;
    size_t n;
    if (!x509_der_integer(r, &p, &n))
        return false;
    if ((p[0] & 0x80) || n > 5 || (n == 5 && p[0] != 0) || (n == 4 && (p[0] & 0x80))) {
        *r = save;
        return false;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = (x << 8) | p[i];
    if (x > 0x7fffffff) {
        *r = save;
        return false;
    }
    *v = (uint32_t)x;
    return true;
}

bool x509_der_boolean(rd *r, bool *v)
{
    rd save = *r, c;
    if (!x509_der_expect(r, DER_BOOLEAN, &c))
        return false;
    /* X.690 11.1: "If the encoding represents the boolean value TRUE, its single contents octet
     * shall have all eight bits set to one." */
    if (c.n != 1 || (c.p[0] != 0x00 && c.p[0] != 0xff)) {
        *r = save;
        return false;
    }
    *v = c.p[0] == 0xff;
    return true;
}

bool x509_der_bitstring(rd *r, const uint8_t **p, size_t *len, unsigned *unused)
{
    rd save = *r, c;
    if (!x509_der_expect(r, DER_BIT_STRING, &c) || c.n == 0)
        goto fail;
    unsigned u = c.p[0];
    /* X.690 11.2.1: "each unused bit in the final octet of the encoding of a bit-string value
     * shall be set to zero"; an empty string has no unused bits. */
    if (u > 7 || (c.n == 1 && u != 0) || (u && (c.p[c.n - 1] & ((1u << u) - 1))))
        goto fail;
    *p = c.p + 1;
    *len = c.n - 1;
    *unused = u;
    return true;
fail:
    *r = save;
    return false;
}

bool x509_der_oid(rd *r, rd *oid)
{
    rd save = *r, c;
    if (!x509_der_expect(r, DER_OID, &c) || c.n == 0 || (c.p[c.n - 1] & 0x80))
        goto fail;
    for (size_t i = 0; i < c.n; i++) {
        /* X.690 8.19.2: a sub-identifier's first octet shall not be 0x80. */
        if (c.p[i] == 0x80 && (i == 0 || !(c.p[i - 1] & 0x80)))
            goto fail;
    }
    *oid = c;
    return true;
fail:
    *r = save;
    return false;
}

bool x509_oid_eq(const rd *oid, const uint8_t *want, size_t n)
{
    return oid->n == n && memcmp(oid->p, want, n) == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const uint8_t *p, size_t n, unsigned *v)
{
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        x = x * 10 + (unsigned)(p[i] - '0');
    }
    *v = x;
    return true;
}

bool x509_der_time(rd *r, int64_t *t)
{
    rd save = *r, c;
    uint8_t tag;
    unsigned year, mon, day, hour, min, sec;
    const uint8_t *p;

    if (!x509_der_any(r, &tag, &c, NULL, NULL))
        return false;
    p = c.p;
    if (tag == DER_UTCTIME) {
        /* RFC 5280 4.1.2.5.1: "UTCTime values MUST be expressed in Greenwich Mean Time (Zulu) and
         * MUST include seconds (i.e., times are YYMMDDHHMMSSZ)"; "Where YY is greater than or
         * equal to 50, the year SHALL be interpreted as 19YY; and Where YY is less than 50, the
         * year SHALL be interpreted as 20YY." */
        if (c.n != 13 || p[12] != 'Z' || !digits(p, 2, &year))
            goto fail;
        year += year >= 50 ? 1900 : 2000;
        p += 2;
    } else if (tag == DER_GENERALIZEDTIME) {
        /* RFC 5280 4.1.2.5.2: "GeneralizedTime values MUST be expressed in Greenwich Mean Time
         * (Zulu) and MUST include seconds ... MUST NOT include fractional seconds." */
        if (c.n != 15 || p[14] != 'Z' || !digits(p, 4, &year))
            goto fail;
        p += 4;
    } else {
        goto fail;
    }
    if (!digits(p, 2, &mon) || !digits(p + 2, 2, &day) || !digits(p + 4, 2, &hour) ||
        !digits(p + 6, 2, &min) || !digits(p + 8, 2, &sec))
        goto fail;
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] ||
        (mon == 2 && day == 29 && !leap) || hour > 23 || min > 59 || sec > 59)
        goto fail;
    *t = days_from_civil(year, mon, day) * 86400 + (int64_t)hour * 3600 + min * 60 + sec;
    return true;
fail:
    *r = save;
    return false;
}

bool x509_der_extension(rd *r, rd *oid, bool *critical, rd *value)
{
    rd save = *r, ext;
    /* Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
     *                          extnValue OCTET STRING } */
    *critical = false;
    if (!x509_der_expect(r, DER_SEQUENCE, &ext) || !x509_der_oid(&ext, oid) ||
        (x509_der_peek(&ext, DER_BOOLEAN) && !x509_der_boolean(&ext, critical)) ||
        !x509_der_expect(&ext, DER_OCTET_STRING, value) || !rd_done(&ext)) {
        *r = save;
        return false;
    }
    return true;
}
