/*
 * revoc.c -- what CRLs (crl.c) and OCSP responses (ocsp.c) share: the verdict on one certificate
 * (x509_revocation), the error it stands for, and the sentence that tells a person which
 * certificate, which serial, when and why it was revoked, and which CRL or response said so.
 *
 * A verdict is a plain value: it copies what it reports (serial, issuer text, times, cRLNumber)
 * so that it outlives the CRL set or the response it came from.
 */
#include <stdio.h>
#include <string.h>

#include "x509_int.h"

const char *x509_reason_name(int reason)
{
    switch (reason) {
    case X509_REASON_NONE:
        return "no reason given";
    case X509_REASON_UNSPECIFIED:
        return "unspecified";
    case X509_REASON_KEY_COMPROMISE:
        return "keyCompromise";
    case X509_REASON_CA_COMPROMISE:
        return "cACompromise";
    case X509_REASON_AFFILIATION_CHANGED:
        return "affiliationChanged";
    case X509_REASON_SUPERSEDED:
        return "superseded";
    case X509_REASON_CESSATION_OF_OPERATION:
        return "cessationOfOperation";
    case X509_REASON_CERTIFICATE_HOLD:
        return "certificateHold";
    case X509_REASON_REMOVE_FROM_CRL:
        return "removeFromCRL";
    case X509_REASON_PRIVILEGE_WITHDRAWN:
        return "privilegeWithdrawn";
    case X509_REASON_AA_COMPROMISE:
        return "aACompromise";
    default:
        return "unknown reason";
    }
}

mtls_err x509_revocation_err(const x509_revocation *r)
{
    bool crl = r->source == X509_REVOC_SRC_CRL;
    switch (r->status) {
    case X509_REVOC_GOOD:
        return MTLS_OK;
    case X509_REVOC_REVOKED:
        return MTLS_ERR_CERT_REVOKED;
    case X509_REVOC_UNKNOWN:
        return MTLS_ERR_OCSP_CERT_UNKNOWN;
    case X509_REVOC_NO_INFO:
        return crl ? MTLS_ERR_CRL_MISSING : MTLS_ERR_OCSP_NOT_FOR_CERT;
    case X509_REVOC_EXPIRED:
        return crl ? MTLS_ERR_CRL_EXPIRED : MTLS_ERR_OCSP_EXPIRED;
    case X509_REVOC_NOT_YET_VALID:
        return crl ? MTLS_ERR_CRL_NOT_YET_VALID : MTLS_ERR_OCSP_NOT_YET_VALID;
    case X509_REVOC_BAD_SIGNATURE:
        return crl ? MTLS_ERR_CRL_BAD_SIGNATURE : MTLS_ERR_OCSP_BAD_SIGNATURE;
    case X509_REVOC_NOT_AUTHORIZED:
        return crl ? MTLS_ERR_CERT_KEY_USAGE : MTLS_ERR_OCSP_UNAUTHORIZED;
    case X509_REVOC_RESPONDER_ERROR:
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    }
    return MTLS_ERR_INTERNAL;
}

/* "0x" and the serial's octets in hex ("0x1003"), as `openssl x509 -serial` prints them. */
static void hex(const uint8_t *p, size_t n, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "0x");
    for (size_t i = 0; i < n && k + 3 <= cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%02X", p[i]);
}

static const char *responder_status_name(int s)
{
    switch (s) {
    case 1:
        return "malformedRequest";
    case 2:
        return "internalError";
    case 3:
        return "tryLater";
    case 5:
        return "sigRequired";
    case 6:
        return "unauthorized";
    default:
        return "an undefined status";
    }
}

/* "the CRL of CN=x (thisUpdate T, cRLNumber 0x2A)" / "the OCSP response signed by S (...)" */
static void source_text(const x509_revocation *r, char *buf, size_t cap)
{
    char t[40], num[64] = "";
    x509_format_time(r->this_update, t, sizeof t);
    if (r->source == X509_REVOC_SRC_CRL) {
        if (r->crl_number_len) {
            char h[46];
            hex(r->crl_number, r->crl_number_len, h, sizeof h);
            snprintf(num, sizeof num, ", cRLNumber %s", h);
        }
        snprintf(buf, cap, "the CRL of %s (thisUpdate %s%s)", r->issuer, t, num);
    } else {
        /* thisUpdate belongs to the SingleResponse that was found, if one was */
        char pa[40], tu[60] = "";
        bool single = r->status == X509_REVOC_GOOD || r->status == X509_REVOC_REVOKED ||
                      r->status == X509_REVOC_UNKNOWN || r->status == X509_REVOC_EXPIRED ||
                      r->status == X509_REVOC_NOT_YET_VALID;
        x509_format_time(r->produced_at, pa, sizeof pa);
        if (single)
            snprintf(tu, sizeof tu, ", thisUpdate %s", t);
        snprintf(buf, cap, "the OCSP response signed by %s (producedAt %s%s)", r->issuer, pa, tu);
    }
}

void x509_revocation_describe(const x509_revocation *r, const x509_cert *cert, char *buf,
                              size_t cap)
{
    char who[600], serial[48], src[700], t[40], t2[40];
    if (!buf || cap == 0)
        return;
    x509_describe(cert, who, sizeof who);
    hex(r->serial, r->serial_len, serial, sizeof serial);
    source_text(r, src, sizeof src);
    const char *what = r->source == X509_REVOC_SRC_CRL ? "CRL" : "OCSP response";
    switch (r->status) {
    case X509_REVOC_GOOD:
        snprintf(buf, cap, "certificate %s, serial %s, is not revoked according to %s", who, serial,
                 src);
        return;
    case X509_REVOC_REVOKED: {
        char inv[80] = "";
        x509_format_time(r->revocation_time, t, sizeof t);
        if (r->has_invalidity) {
            x509_format_time(r->invalidity_date, t2, sizeof t2);
            snprintf(inv, sizeof inv, ", invalid since %s", t2);
        }
        snprintf(buf, cap,
                 "certificate %s, serial %s, was revoked at %s (reason: %s%s) according "
                 "to %s",
                 who, serial, t, x509_reason_name(r->reason), inv, src);
        return;
    }
    case X509_REVOC_UNKNOWN:
        snprintf(buf, cap,
                 "certificate %s, serial %s, is unknown to its OCSP responder (status "
                 "unknown in %s)",
                 who, serial, src);
        return;
    case X509_REVOC_NO_INFO:
        if (r->source == X509_REVOC_SRC_CRL) {
            snprintf(buf, cap,
                     "no CRL from %s covers certificate %s, serial %s, and revocation "
                     "checking requires one",
                     cert->issuer_str, who, serial);
            return;
        }
        x509_format_time(r->produced_at, t, sizeof t);
        snprintf(buf, cap,
                 "the OCSP response signed by %s (producedAt %s) is not about "
                 "certificate %s, serial %s: none of its CertIDs names it",
                 r->issuer, t, who, serial);
        return;
    case X509_REVOC_EXPIRED:
        if (r->has_next_update) {
            x509_format_time(r->next_update, t, sizeof t);
            snprintf(buf, cap,
                     "%s is out of date: its nextUpdate %s has passed, so certificate "
                     "%s, serial %s, cannot be checked",
                     src, t, who, serial);
        } else {
            snprintf(buf, cap,
                     "%s has no nextUpdate and is older than %d days, so certificate "
                     "%s, serial %s, cannot be checked",
                     src, X509_OCSP_MAX_AGE / 86400, who, serial);
        }
        return;
    case X509_REVOC_NOT_YET_VALID:
        snprintf(buf, cap,
                 "%s is not valid yet (its thisUpdate is in the future), so certificate "
                 "%s, serial %s, cannot be checked",
                 src, who, serial);
        return;
    case X509_REVOC_BAD_SIGNATURE:
        snprintf(buf, cap, "%s cannot be trusted for certificate %s, serial %s: %s", src, who,
                 serial, r->why && r->why[0] ? r->why : "its signature does not verify");
        return;
    case X509_REVOC_NOT_AUTHORIZED:
        snprintf(buf, cap, "%s cannot be trusted for certificate %s, serial %s: %s", src, who,
                 serial, r->why && r->why[0] ? r->why : "its signer is not authorized");
        return;
    case X509_REVOC_RESPONDER_ERROR:
        snprintf(buf, cap,
                 "the OCSP responder answered %s (responseStatus %d) instead of a "
                 "status for certificate %s, serial %s",
                 responder_status_name(r->responder_status), r->responder_status, who, serial);
        return;
    }
    snprintf(buf, cap, "certificate %s: %s %s", who, what, "verdict unknown");
}
