/*
 * tls.h -- the numbers of the TLS protocol that more than one layer speaks: content types,
 * handshake types, alerts, extensions, record sizes (RFC 5246, RFC 8446 and the extension RFCs).
 * It lives with the record layer, the lowest layer that knows TLS; the handshake and core include
 * it from here.  Policy limits (how large a message we accept) live with the code that applies
 * them.
 */
#ifndef MTLS_TLS_H
#define MTLS_TLS_H

enum {
    TLS_CT_CHANGE_CIPHER_SPEC = 20,
    TLS_CT_ALERT = 21,
    TLS_CT_HANDSHAKE = 22,
    TLS_CT_APPLICATION_DATA = 23,
};

enum {
    TLS_HS_HELLO_REQUEST = 0,
    TLS_HS_CLIENT_HELLO = 1,
    TLS_HS_SERVER_HELLO = 2,
    TLS_HS_NEW_SESSION_TICKET = 4,
    TLS_HS_END_OF_EARLY_DATA = 5,    /* TLS 1.3 */
    TLS_HS_ENCRYPTED_EXTENSIONS = 8, /* TLS 1.3 */
    TLS_HS_CERTIFICATE = 11,
    TLS_HS_SERVER_KEY_EXCHANGE = 12,
    TLS_HS_CERTIFICATE_REQUEST = 13,
    TLS_HS_SERVER_HELLO_DONE = 14,
    TLS_HS_CERTIFICATE_VERIFY = 15,
    TLS_HS_CLIENT_KEY_EXCHANGE = 16,
    TLS_HS_FINISHED = 20,
    TLS_HS_CERTIFICATE_STATUS = 22, /* RFC 6066 8 */
    TLS_HS_KEY_UPDATE = 24,         /* TLS 1.3 */
    TLS_HS_MESSAGE_HASH = 254,      /* TLS 1.3: the synthetic message after a HelloRetryRequest */
};

/* Alerts: the numbers of record/alert.def (TLS_ALERT_CLOSE_NOTIFY ...); NONE for "no alert". */
enum {
    TLS_ALERT_NONE = -1,
#define A(name, number, text) TLS_ALERT_##name = number,
#include "alert.def"
#undef A
};

enum {
    TLS_EXT_SERVER_NAME = 0,
    TLS_EXT_STATUS_REQUEST = 5, /* RFC 6066 8 */
    TLS_EXT_SUPPORTED_GROUPS = 10,
    TLS_EXT_EC_POINT_FORMATS = 11,
    TLS_EXT_SIGNATURE_ALGORITHMS = 13,
    TLS_EXT_ALPN = 16,
    TLS_EXT_EXTENDED_MASTER_SECRET = 23,
    TLS_EXT_RECORD_SIZE_LIMIT = 28, /* RFC 8449 */
    TLS_EXT_SESSION_TICKET = 35,
    /* TLS 1.3 (RFC 8446 4.2) */
    TLS_EXT_PRE_SHARED_KEY = 41,
    TLS_EXT_EARLY_DATA = 42,
    TLS_EXT_SUPPORTED_VERSIONS = 43,
    TLS_EXT_COOKIE = 44,
    TLS_EXT_PSK_KEY_EXCHANGE_MODES = 45,
    TLS_EXT_CERTIFICATE_AUTHORITIES = 47,
    TLS_EXT_POST_HANDSHAKE_AUTH = 49,
    TLS_EXT_SIGNATURE_ALGORITHMS_CERT = 50,
    TLS_EXT_KEY_SHARE = 51,
    TLS_EXT_RENEGOTIATION_INFO = 0xff01,
};

#define TLS_SCSV_EMPTY_RENEGOTIATION_INFO 0x00FF
#define TLS_SCSV_FALLBACK 0x5600

/* Record sizes, RFC 5246 6.2. */
#define TLS_RECORD_HEADER 5
#define TLS_MAX_PLAINTEXT 16384
#define TLS_MAX_CIPHERTEXT (TLS_MAX_PLAINTEXT + 2048)
/* RFC 8446 5.2: a TLS 1.3 TLSCiphertext.length is at most 2^14 + 256; 5.4: its inner plaintext
 * (content, type and padding) at most 2^14 + 1. */
#define TLS13_MAX_CIPHERTEXT (TLS_MAX_PLAINTEXT + 256)
#define TLS13_MAX_INNER_PLAINTEXT (TLS_MAX_PLAINTEXT + 1)
/* Our own records never exceed plaintext + 8-byte explicit nonce + 16-byte tag. */
#define TLS_MAX_OUR_RECORD (TLS_RECORD_HEADER + 8 + TLS_MAX_PLAINTEXT + 16)
#endif
