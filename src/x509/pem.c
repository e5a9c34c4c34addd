/*
 * pem.c -- PEM (RFC 7468) blocks and certificate chains read from them.
 *
 * A block starts at a line "-----BEGIN <label>-----" and ends at "-----END <label>-----".  Text
 * outside blocks (bundle comments, `openssl x509 -text` output) is ignored, and so are blocks
 * with other labels.  Inside a block only base64 characters and whitespace may appear (RFC 7468
 * 3: no headers in the strict form); padding is "=" or "==" at the very end, and the unused low
 * bits of the last character must be zero, so a block decodes one way only.  A block that breaks
 * these rules, or has no END line, is an error -- not skipped -- so that a damaged CA file is
 * noticed.
 */
#include <stdlib.h>
#include <string.h>

#include "../base/base.h"
#include "x509_int.h"

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Find `needle` in [p+from, p+n); on success *at is its offset. */
static bool find(const uint8_t *p, size_t n, size_t from, const char *needle, size_t *at)
{
    if (from >= n)
        return false;
    size_t k = strlen(needle);
    const uint8_t *q = p + from, *end = p + n;
    while ((size_t)(end - q) >= k) {
        q = memchr(q, needle[0], (size_t)(end - q) - k + 1);
        if (!q)
            return false;
        if (memcmp(q, needle, k) == 0) {
            *at = (size_t)(q - p);
            return true;
        }
        q++;
    }
    return false;
}

/* Base64 of [p, p+n) with whitespace skipped; false on anything else or bad padding. */
static bool b64_decode(const uint8_t *p, size_t n, uint8_t **out, size_t *out_len)
{
    uint8_t *buf = mem_alloc(n / 4 * 3 + 3);
    size_t len = 0, nchars = 0, pad = 0;
    uint32_t acc = 0;
    int last = 0;
    if (!buf)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (is_space(ch))
            continue;
        if (ch == '=') {
            pad++;
            nchars++;
            if (pad > 2)
                goto fail;
            continue;
        }
        int v = b64val(ch);
        if (v < 0 || pad)
            goto fail; /* garbage, or data after padding */
        last = v;
        acc = (acc << 6) | (uint32_t)v;
        nchars++;
        if (nchars % 4 == 0) {
            buf[len++] = (uint8_t)(acc >> 16);
            buf[len++] = (uint8_t)(acc >> 8);
            buf[len++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (nchars % 4 != 0)
        goto fail;
    if (pad == 1) { /* xxx= : 18 bits, 2 bytes, low 2 bits of the last char zero */
        if (last & 0x3)
            goto fail;
        acc <<= 6;
        buf[len++] = (uint8_t)(acc >> 16);
        buf[len++] = (uint8_t)(acc >> 8);
    } else if (pad == 2) { /* xx== : 12 bits, 1 byte, low 4 bits zero */
        if (last & 0xf)
            goto fail;
        acc <<= 12;
        buf[len++] = (uint8_t)(acc >> 16);
    }
    *out = buf;
    *out_len = len;
    return true;
fail:
    cry_wipe(buf, len); /* the block may have been a private key */
    mem_free(buf);
    return false;
}

int x509_pem_next(const uint8_t *pem, size_t len, size_t *pos, const char *label, uint8_t **out,
                  size_t *out_len)
{
    char begin[96], end[96];
    size_t at, body, stop;
    size_t ll = strlen(label);
    if (ll > 64)
        return -1;
    memcpy(begin, "-----BEGIN ", 11);
    memcpy(begin + 11, label, ll);
    memcpy(begin + 11 + ll, "-----", 6);
    memcpy(end, "-----END ", 9);
    memcpy(end + 9, label, ll);
    memcpy(end + 9 + ll, "-----", 6);

    for (size_t from = *pos;; from = at + 1) {
        if (!find(pem, len, from, begin, &at)) {
            *pos = len;
            return 0;
        }
        /* The BEGIN line must start a line ("-----BEGIN X509 CERTIFICATE-----" must not be read
         * as a CERTIFICATE block, nor "...TRUSTED CERTIFICATE"). */
        if (at == 0 || pem[at - 1] == '\n')
            break;
    }
    body = at + strlen(begin);
    if (!find(pem, len, body, end, &stop))
        return -1;
    /* A stray BEGIN inside the block means a missing END. */
    size_t other;
    if (find(pem, stop, body, "-----", &other) && other < stop)
        return -1;
    if (!b64_decode(pem + body, stop - body, out, out_len))
        return -1;
    *pos = stop + strlen(end);
    if (*out_len == 0) {
        mem_free(*out);
        return -1;
    }
    return 1;
}

mtls_err x509_chain_from_pem(const uint8_t *pem, size_t len, x509_cert ***out, size_t *n)
{
    x509_cert **chain = NULL;
    size_t cnt = 0, cap = 0, pos = 0;
    mtls_err err = MTLS_OK;
    if (!out || !n || (!pem && len))
        return MTLS_ERR_INVALID_ARG;
    *out = NULL;
    *n = 0;
    for (;;) {
        uint8_t *der;
        size_t der_len;
        int got = x509_pem_next(pem, len, &pos, "CERTIFICATE", &der, &der_len);
        if (got == 0)
            break;
        if (got < 0) {
            err = MTLS_ERR_BAD_PEM;
            break;
        }
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            x509_cert **q = mem_realloc(chain, ncap * sizeof *q);
            if (!q) {
                mem_free(der);
                err = MTLS_ERR_NO_MEMORY;
                break;
            }
            chain = q;
            cap = ncap;
        }
        err = x509_cert_parse(der, der_len, &chain[cnt]);
        mem_free(der);
        if (err)
            break;
        cnt++;
    }
    if (!err && cnt == 0)
        err = MTLS_ERR_BAD_PEM;
    if (err) {
        x509_chain_free(chain, cnt);
        return err;
    }
    *out = chain;
    *n = cnt;
    return MTLS_OK;
}

void x509_chain_free(x509_cert **chain, size_t n)
{
    if (!chain)
        return;
    for (size_t i = 0; i < n; i++)
        x509_cert_free(chain[i]);
    mem_free(chain);
}
