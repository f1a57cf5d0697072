/* err.h — gatehouse error codes. Fallible functions return GH_OK or a negative code. */
#ifndef GH_CORE_ERR_H
#define GH_CORE_ERR_H

enum gh_err {
    GH_OK = 0,
    GH_EINVAL = -1,     /* malformed or unacceptable input */
    GH_ETOOBIG = -2,    /* input over a bound from limits.h */
    GH_ENOTFOUND = -3,  /* no such record */
    GH_EEXIST = -4,     /* record already exists */
    GH_EDENIED = -5,    /* authentication or authorisation refused */
    GH_EEXPIRED = -6,   /* record exists but is past its lifetime */
    GH_ESTORE = -7,     /* storage failed (I/O, locked, read-only, corrupt) */
    GH_ECRYPTO = -8,    /* a cryptographic operation failed */
    GH_EINTERNAL = -9,  /* a bug or an unexpected library failure */
    GH_EIO = -10,       /* file or socket I/O outside the store */
    GH_ELIMIT = -11,    /* a rate or attempt limit was reached; try again later */
};

/* Static English text for an error code; never NULL. */
const char *gh_strerror(int rc);

#endif
