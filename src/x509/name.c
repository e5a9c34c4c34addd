/*
 * name.c -- X.501 Names as RFC 4514 strings, and the commonName lookup for the CN fallback.
 *
 * Issuer/subject matching never uses these strings: it compares the raw DER (x509_cert keeps
 * it).  The strings are for people and for the application, in the shape OpenSSL prints with
 * XN_FLAG_RFC2253 (without ESC_MSB), so the two can be compared: RDNs last-to-first joined by
 * ",", attributes of one RDN by "+", short names (CN, O, OU, C, ...), dotted OIDs for unknown
 * types with the value as "#" + hex of its DER, every string type converted to UTF-8, and the
 * RFC 4514 2.4 escapes (",+\"\\<>;", a leading "#" or space, a trailing space, control
 * characters as \XX).  Names are parsed strictly: Name ::= SEQUENCE OF SET SIZE(1..MAX) OF
 * SEQUENCE { type OID, value ANY }.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base.h"
#include "x509_int.h"

typedef struct {
    char *p;
    size_t len, cap;
    bool failed;
} sbuf;

static void sb_put(sbuf *b, const void *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *q = mem_realloc(b->p, cap);
        if (!q) {
            b->failed = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_hex(sbuf *b, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        char h[2] = {hx[p[i] >> 4], hx[p[i] & 15]};
        sb_put(b, h, 2);
    }
}

static const struct {
    uint8_t oid[10];
    uint8_t len;
    const char *name;
} attr_names[] = {
    {{0x55, 0x04, 0x03}, 3, "CN"},
    {{0x55, 0x04, 0x04}, 3, "SN"},
    {{0x55, 0x04, 0x05}, 3, "serialNumber"},
    {{0x55, 0x04, 0x06}, 3, "C"},
    {{0x55, 0x04, 0x07}, 3, "L"},
    {{0x55, 0x04, 0x08}, 3, "ST"},
    {{0x55, 0x04, 0x09}, 3, "street"},
    {{0x55, 0x04, 0x0a}, 3, "O"},
    {{0x55, 0x04, 0x0b}, 3, "OU"},
    {{0x55, 0x04, 0x0c}, 3, "title"},
    {{0x55, 0x04, 0x0d}, 3, "description"},
    {{0x55, 0x04, 0x0f}, 3, "businessCategory"},
    {{0x55, 0x04, 0x11}, 3, "postalCode"},
    {{0x55, 0x04, 0x29}, 3, "name"},
    {{0x55, 0x04, 0x2a}, 3, "GN"},
    {{0x55, 0x04, 0x2b}, 3, "initials"},
    {{0x55, 0x04, 0x2c}, 3, "generationQualifier"},
    {{0x55, 0x04, 0x2e}, 3, "dnQualifier"},
    {{0x55, 0x04, 0x41}, 3, "pseudonym"},
    {{0x55, 0x04, 0x61}, 3, "organizationIdentifier"},
    {{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}, 9, "emailAddress"},
    {{0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19}, 10, "DC"},
    {{0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01}, 10, "UID"},
};

static const uint8_t oid_jurisdiction[] = {0x2b, 0x06, 0x01, 0x04, 0x01,
                                           0x82, 0x37, 0x3c, 0x02, 0x01};

static const char *attr_name(const rd *oid)
{
    for (size_t i = 0; i < sizeof attr_names / sizeof attr_names[0]; i++) {
        if (x509_oid_eq(oid, attr_names[i].oid, attr_names[i].len))
            return attr_names[i].name;
    }
    /* jurisdictionOfIncorporation L / ST / C: 1.3.6.1.4.1.311.60.2.1.{1,2,3} */
    if (oid->n == sizeof oid_jurisdiction + 1 &&
        memcmp(oid->p, oid_jurisdiction, sizeof oid_jurisdiction) == 0) {
        switch (oid->p[sizeof oid_jurisdiction]) {
        case 1:
            return "jurisdictionL";
        case 2:
            return "jurisdictionST";
        case 3:
            return "jurisdictionC";
        default:
            return NULL;
        }
    }
    return NULL;
}

/* Dotted decimal form of an OID body already checked by x509_der_oid. */
static void sb_oid(sbuf *b, const rd *oid)
{
    uint64_t v = 0;
    bool first = true;
    char num[48];
    for (size_t i = 0; i < oid->n; i++) {
        if (v > (UINT64_MAX >> 7)) { /* absurd arc: print what we can */
            sb_str(b, "?");
            return;
        }
        v = (v << 7) | (oid->p[i] & 0x7f);
        if (oid->p[i] & 0x80)
            continue;
        if (first) {
            unsigned a = v < 40 ? 0 : v < 80 ? 1 : 2;
            snprintf(num, sizeof num, "%u.%llu", a, (unsigned long long)(v - 40u * a));
            first = false;
        } else {
            snprintf(num, sizeof num, ".%llu", (unsigned long long)v);
        }
        sb_str(b, num);
        v = 0;
    }
}

static void sb_utf8(sbuf *b, uint32_t c)
{
    uint8_t u[4];
    size_t n;
    if (c < 0x80) {
        u[0] = (uint8_t)c;
        n = 1;
    } else if (c < 0x800) {
        u[0] = (uint8_t)(0xc0 | (c >> 6));
        u[1] = (uint8_t)(0x80 | (c & 0x3f));
        n = 2;
    } else if (c < 0x10000) {
        u[0] = (uint8_t)(0xe0 | (c >> 12));
        u[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
        u[2] = (uint8_t)(0x80 | (c & 0x3f));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | ((c >> 18) & 0x07));
        u[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
        u[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
        u[3] = (uint8_t)(0x80 | (c & 0x3f));
        n = 4;
    }
    sb_put(b, u, n);
}

/* One code point of the attribute value with the RFC 4514 2.4 escapes. */
static void sb_escaped(sbuf *b, uint32_t c, bool first, bool last)
{
    char e[4];
    if (c < 0x20 || c == 0x7f) {
        snprintf(e, sizeof e, "\\%02X", (unsigned)c);
        sb_str(b, e);
        return;
    }
    if (c < 0x80 &&
        (strchr(",+\"\\<>;", (int)c) || (first && (c == '#' || c == ' ')) || (last && c == ' '))) {
        e[0] = '\\';
        e[1] = (char)c;
        sb_put(b, e, 2);
        return;
    }
    sb_utf8(b, c);
}

/* Decode one code point of a string value of type `tag`; false on a malformed value. */
static bool next_char(uint8_t tag, const uint8_t *p, size_t n, size_t *i, uint32_t *c)
{
    if (tag == DER_BMPSTRING) {
        if (n - *i < 2)
            return false;
        *c = ((uint32_t)p[*i] << 8) | p[*i + 1];
        *i += 2;
        return *c < 0xd800 || *c > 0xdfff; /* UCS-2 has no surrogates */
    }
    if (tag == DER_UNIVERSALSTRING) {
        if (n - *i < 4)
            return false;
        *c = ((uint32_t)p[*i] << 24) | ((uint32_t)p[*i + 1] << 16) | ((uint32_t)p[*i + 2] << 8) |
             p[*i + 3];
        *i += 4;
        return *c <= 0x10ffff && (*c < 0xd800 || *c > 0xdfff);
    }
    if (tag == DER_UTF8STRING) {
        uint8_t b0 = p[*i];
        size_t len = b0 < 0x80             ? 1
                     : (b0 & 0xe0) == 0xc0 ? 2
                     : (b0 & 0xf0) == 0xe0 ? 3
                     : (b0 & 0xf8) == 0xf0 ? 4
                                           : 0;
        if (len == 0 || n - *i < len)
            return false;
        uint32_t v = len == 1   ? b0
                     : len == 2 ? (b0 & 0x1fu)
                     : len == 3 ? (b0 & 0x0fu)
                                : (b0 & 0x07u);
        for (size_t k = 1; k < len; k++) {
            if ((p[*i + k] & 0xc0) != 0x80)
                return false;
            v = (v << 6) | (p[*i + k] & 0x3f);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
            return false;
        *c = v;
        *i += len;
        return true;
    }
    /* PrintableString, IA5String, T61String, VisibleString: one octet per character (T61 read
     * as Latin-1, as OpenSSL does). */
    *c = p[*i];
    *i += 1;
    return true;
}

static bool is_string_tag(uint8_t t)
{
    return t == DER_UTF8STRING || t == DER_PRINTABLESTRING || t == DER_T61STRING ||
           t == DER_IA5STRING || t == DER_VISIBLESTRING || t == DER_UNIVERSALSTRING ||
           t == DER_BMPSTRING;
}

static void put_value(sbuf *b, uint8_t tag, const rd *v, const uint8_t *tlv, size_t tlv_len,
                      bool known)
{
    if (!known || !is_string_tag(tag)) {
        /* RFC 4514 2.4: "If the AttributeType is in the dotted-decimal form, the AttributeValue
         * is represented by an number sign ('#') character followed by the hexadecimal encoding of
         * each of the octets of the BER encoding of the X.500 AttributeValue." */
        sb_str(b, "#");
        sb_hex(b, tlv, tlv_len);
        return;
    }
    /* Count characters first so the trailing-space rule knows which one is last. */
    size_t i = 0, count = 0;
    uint32_t c;
    while (i < v->n) {
        if (!next_char(tag, v->p, v->n, &i, &c)) {
            sb_str(b, "#");
            sb_hex(b, tlv, tlv_len);
            return;
        }
        count++;
    }
    i = 0;
    for (size_t k = 0; k < count; k++) {
        next_char(tag, v->p, v->n, &i, &c);
        sb_escaped(b, c, k == 0, k + 1 == count);
    }
}

typedef struct {
    uint8_t tag;
    rd oid, value;
    const uint8_t *tlv;
    size_t tlv_len;
    size_t rdn; /* index of the RDN it belongs to */
} ava;

/* A UTF8String, BMPString or UniversalString value must be what its type says (well-formed UTF-8,
 * UCS-2, UCS-4 of Unicode scalar values); other types are taken as they are. */
static bool string_ok(uint8_t tag, const rd *v)
{
    size_t i = 0;
    uint32_t c;
    if (tag != DER_UTF8STRING && tag != DER_BMPSTRING && tag != DER_UNIVERSALSTRING)
        return true;
    while (i < v->n) {
        if (!next_char(tag, v->p, v->n, &i, &c))
            return false;
    }
    return true;
}

/* An AttributeValue is ANY, but still DER: X.690 10.2 "For bitstring, octetstring and
 * restricted character string types, the constructed form of encoding shall not be used" (nor
 * for any other universal type but SEQUENCE and SET), and a constructed value holds well-formed
 * TLVs all the way down (bounded depth). */
static bool der_value(uint8_t tag, rd content, int depth)
{
    if (!(tag & 0x20))
        return true;
    if (((tag & 0xc0) == 0 && tag != DER_SEQUENCE && tag != DER_SET) || depth > 8)
        return false;
    while (!rd_done(&content)) {
        uint8_t t;
        rd c;
        if (!x509_der_any(&content, &t, &c, NULL, NULL) || !der_value(t, c, depth + 1))
            return false;
    }
    return true;
}

/* Parse the Name into a flat list of attributes; false when malformed. */
static bool parse_name(const uint8_t *der, size_t len, ava **out, size_t *n)
{
    rd r = rd_init(der, len), seq;
    ava *list = NULL;
    size_t cnt = 0, cap = 0, rdn = 0;
    if (!x509_der_expect(&r, DER_SEQUENCE, &seq) || !rd_done(&r))
        return false;
    while (!rd_done(&seq)) {
        rd set;
        if (!x509_der_expect(&seq, DER_SET, &set) || rd_done(&set))
            goto fail;
        while (!rd_done(&set)) {
            rd atv;
            ava a;
            if (!x509_der_expect(&set, DER_SEQUENCE, &atv) || !x509_der_oid(&atv, &a.oid) ||
                !x509_der_any(&atv, &a.tag, &a.value, &a.tlv, &a.tlv_len) || !rd_done(&atv) ||
                !der_value(a.tag, a.value, 0) || !string_ok(a.tag, &a.value))
                goto fail;
            a.rdn = rdn;
            if (cnt == cap) {
                cap = cap ? cap * 2 : 8;
                ava *q = mem_realloc(list, cap * sizeof *q);
                if (!q)
                    goto fail;
                list = q;
            }
            list[cnt++] = a;
        }
        rdn++;
    }
    *out = list;
    *n = cnt;
    return true;
fail:
    mem_free(list);
    return false;
}

char *x509_name_to_string(const uint8_t *der, size_t len)
{
    ava *list;
    size_t n;
    sbuf b = {0};
    if (!parse_name(der, len, &list, &n))
        return NULL;
    sb_put(&b, "", 0);
    /* RFC 4514 2.1: "the output consists of the string encodings of each RelativeDistinguished-
     * Name in the RDNSequence (according to Section 2.2), starting with the last element of the
     * sequence and moving backwards toward the first." */
    for (size_t k = n; k-- > 0;) {
        const ava *a = &list[k];
        if (k + 1 < n)
            sb_str(&b, list[k + 1].rdn == a->rdn ? "+" : ",");
        const char *nm = attr_name(&a->oid);
        if (nm)
            sb_str(&b, nm);
        else
            sb_oid(&b, &a->oid);
        sb_str(&b, "=");
        put_value(&b, a->tag, &a->value, a->tlv, a->tlv_len, nm != NULL);
    }
    mem_free(list);
    if (b.failed) {
        mem_free(b.p);
        return NULL;
    }
    return b.p;
}

bool x509_name_last_cn(const uint8_t *der, size_t len, const uint8_t **p, size_t *n)
{
    static const uint8_t cn[] = {0x55, 0x04, 0x03};
    ava *list;
    size_t cnt;
    bool found = false;
    if (!parse_name(der, len, &list, &cnt))
        return false;
    for (size_t k = 0; k < cnt; k++) {
        if (x509_oid_eq(&list[k].oid, cn, sizeof cn) &&
            (list[k].tag == DER_UTF8STRING || list[k].tag == DER_PRINTABLESTRING ||
             list[k].tag == DER_IA5STRING)) {
            *p = list[k].value.p;
            *n = list[k].value.n;
            found = true;
        }
    }
    mem_free(list);
    return found;
}
