/* jwks.c — GET /jwks.json (RFC 7517 §5): the public keys gatehouse signs with, serialised once
 * at start-up from keys_ring_jwks() (which emits public members only). The document is
 * refused at build time if it holds no key or any private/symmetric member, so an empty or
 * secret-bearing set can never be served (SECURITY.md J11, F12). Rotation rebuilds it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "core/err.h"
#include "crypto/keys.h"
#include "ep/ep.h"
#include "http/req.h"
#include "http/resp.h"

/* RFC 7518 §6.2.2, §6.3.2, §6.4: members that only private or symmetric keys have. */
static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };

static bool
jwks_public_only(json_t *jwks)
{
    json_t *keys = json_object_get(jwks, "keys"), *k;
    size_t i;

    if (!json_is_array(keys) || json_array_size(keys) == 0)
        return false;
    json_array_foreach(keys, i, k) {
        if (!json_is_object(k))
            return false;
        for (size_t j = 0; j < sizeof(private_members) / sizeof(private_members[0]); j++) {
            if (json_object_get(k, private_members[j]))
                return false;
        }
    }
    return true;
}

int
ep_jwks_build(struct app *app, struct resp_doc **out, char *err, size_t errsz)
{
    json_t *jwks = NULL;
    int rc = GH_EINTERNAL;

    *out = NULL;
    jwks = keys_ring_jwks(app->keys);
    if (!jwks) {
        snprintf(err, errsz, "jwks: cannot build the key set");
        goto out;
    }
    if (!jwks_public_only(jwks)) {
        snprintf(err, errsz, "jwks: the key set is empty or holds private key material");
        rc = GH_EINVAL;
        goto out;
    }
    if ((rc = resp_doc_new_json(jwks, app->cfg->cache_max_age, out)) != GH_OK)
        snprintf(err, errsz, "jwks: cannot build the HTTP response");
out:
    json_decref(jwks);
    return rc;
}

int
ep_jwks(struct req *rq)
{
    return resp_doc_send(rq, rq->app->docs->jwks);
}
