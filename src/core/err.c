/* err.c — text for enum gh_err. */
#include "core/err.h"

const char *
gh_strerror(int rc)
{
    switch (rc) {
    case GH_OK:        return "success";
    case GH_EINVAL:    return "invalid input";
    case GH_ETOOBIG:   return "input too large";
    case GH_ENOTFOUND: return "not found";
    case GH_EEXIST:    return "already exists";
    case GH_EDENIED:   return "denied";
    case GH_EEXPIRED:  return "expired";
    case GH_ESTORE:    return "storage error";
    case GH_ECRYPTO:   return "cryptographic error";
    case GH_EINTERNAL: return "internal error";
    case GH_EIO:       return "I/O error";
    case GH_ELIMIT:    return "limit reached, try again later";
    default:           return "unknown error";
    }
}
