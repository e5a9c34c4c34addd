/* placeholder, filled in below */
#include "cry_internal.h"
cry_pkey *cry_pkey_load_uri(const char *uri, const char *module, cry_load *ld)
{
    (void)uri, (void)module;
    ld->status = CRY_LOAD_UNSUPPORTED;
    return NULL;
}
