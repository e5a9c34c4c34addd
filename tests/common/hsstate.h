/*
 * hsstate.h -- the handshake's states by name, for the tests that stop a connection in each of
 * them (test_states, test_negative, test_hostile).  Each role and version file owns its state
 * enum (src/handshake/client12.c, server12.c), so tests know a state by the name
 * hs_state_name() reports; test_states checks that these names and the roles' tables agree.
 */
#ifndef MTLS_TEST_HSSTATE_H
#define MTLS_TEST_HSSTATE_H

#include <stdbool.h>
#include <string.h>

#include "core/internal.h"
#include "handshake/hs.h"

typedef const char *hs_state;

#define HS_DONE "HS_DONE"
#define C12_SEND_CLIENT_HELLO "C12_SEND_CLIENT_HELLO"
#define C12_READ_SERVER_HELLO "C12_READ_SERVER_HELLO"
#define C12_READ_SERVER_CERT "C12_READ_SERVER_CERT"
#define C12_READ_CERT_STATUS "C12_READ_CERT_STATUS"
#define C12_READ_SERVER_KEY_EXCHANGE "C12_READ_SERVER_KEY_EXCHANGE"
#define C12_READ_CERT_REQUEST_OR_SERVER_DONE "C12_READ_CERT_REQUEST_OR_SERVER_DONE"
#define C12_READ_SERVER_DONE "C12_READ_SERVER_DONE"
#define C12_SEND_CLIENT_FLIGHT "C12_SEND_CLIENT_FLIGHT"
#define C12_SEND_CERT_VERIFY "C12_SEND_CERT_VERIFY"
#define C12_READ_NEW_SESSION_TICKET "C12_READ_NEW_SESSION_TICKET"
#define C12_READ_CCS "C12_READ_CCS"
#define C12_READ_FINISHED "C12_READ_FINISHED"
#define C12_SEND_FINISHED_RESUMED "C12_SEND_FINISHED_RESUMED"
#define S12_READ_CLIENT_HELLO "S12_READ_CLIENT_HELLO"
#define S12_SEND_SERVER_FLIGHT "S12_SEND_SERVER_FLIGHT"
#define S12_SEND_SERVER_KEY_EXCHANGE "S12_SEND_SERVER_KEY_EXCHANGE"
#define S12_SEND_RESUMED_FLIGHT "S12_SEND_RESUMED_FLIGHT"
#define S12_READ_CLIENT_CERT "S12_READ_CLIENT_CERT"
#define S12_READ_CLIENT_KEY_EXCHANGE "S12_READ_CLIENT_KEY_EXCHANGE"
#define S12_DECRYPT_PREMASTER "S12_DECRYPT_PREMASTER"
#define S12_READ_CERT_VERIFY "S12_READ_CERT_VERIFY"
#define S12_READ_CCS "S12_READ_CCS"
#define S12_READ_FINISHED "S12_READ_FINISHED"
#define S12_SEND_FINISHED "S12_SEND_FINISHED"

/* The state a connection's handshake waits in ("HS_DONE" once established). */
static inline hs_state state_of(const mtls_conn *c)
{
    return hs_state_name(c->hs);
}

static inline bool st_eq(hs_state a, hs_state b)
{
    return strcmp(a, b) == 0;
}

/* The reassembly buffer's capacity (0 once the negotiation is gone). */
static inline size_t hs_in_cap(const mtls_conn *c)
{
    return c->hs && c->hs->run ? c->hs->run->in.cap : 0;
}

#endif
