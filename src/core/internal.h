/*
 * internal.h -- struct mtls_conn and what the files of src/core share about it.  Only src/core
 * includes this header (tests may, to reach a connection's record layer); the handshake sees the
 * connection through hs_env and hs_info alone (src/handshake/handshake.h), and the objects core
 * shares with it through config.h.
 *
 * Invariants: a connection owns its buffers (the record layer's) and its handshake; secrets live
 * in the handshake and the record layer and are wiped when no longer needed and on free.  Only
 * src/core makes an error sticky and sends alerts (conn_fail).
 */
#ifndef MTLS_INTERNAL_H
#define MTLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls.h"
#include "../base/base.h"
#include "../handshake/handshake.h"
#include "../record/record.h"
#include "config.h"

/* Bounded tolerance for empty records and warning alerts in a row. */
#define MTLS_MAX_EMPTY_RECORDS 32
#define MTLS_MAX_WARNING_ALERTS 8

struct mtls_conn {
    mtls_config *cfg;
    bool is_server;
    bool established;
    mtls_err error; /* first fatal error */
    char *error_detail; /* allocated on the first failure only */
    int alert_sent;
    int alert_received;
    bool close_sent;
    bool close_received;
    bool eof;
    void *userdata;

    rec_layer rec; /* records in and out, their buffers and protection */
    unsigned empty_records;
    unsigned warning_alerts;

    hs_handle *hs;     /* the handshake; after it, what answers post-handshake messages */
    hs_env env;        /* what the handshake may use of this connection (points into it) */
    hs_info info;      /* what was negotiated, kept after the handshake: the getters read it */
    char *verify_name; /* client: the name the certificate must match, when not server_name */
    mtls_session *offer_session; /* client: the session to offer */
};

/* Fatal error: remember the first one, queue its alert (once), return it. */
mtls_err conn_fail(mtls_conn *c, mtls_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
mtls_err conn_send_alert(mtls_conn *c, int level, int alert);

int err_alert(mtls_err e);

#endif
