/* jwks.c — GET /jwks.json (RFC 7517 §5): the public keys gatehouse signs with, serialised once
 * at start-up from keys_ring_jwks() (which emits public members only). The document is
 * refused at build time if it holds no key or any private/symmetric member, so an empty or
 * secret-bearing set can never be served (SECURITY.md J11, F12). It holds next, active and
 * retired keys (staged rotation, crypto/keys.h); a reload (cli/cli_reload.c) rebuilds it. */
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

int
ep_jwks_build(struct app *app, const struct keyring *kr, struct resp_doc **out, char *err,
    size_t errsz)
{
    json_t *jwks = NULL;
    const char *why = NULL;
    char *text = NULL;
    int rc = GH_EINTERNAL;

    *out = NULL;
    jwks = keys_ring_jwks(kr);
    if (!jwks) {
        snprintf(err, errsz, "jwks: cannot build the key set");
        goto out;
    }
    /* Never publish what a client's JWKS would be refused for (private members, weak keys):
     * the same check, once at start-up. */
    text = json_dumps(jwks, JSON_COMPACT);
    if (!text || keys_jwks_check_public(text, strlen(text), &why) != GH_OK) {
        snprintf(err, errsz, "jwks: refusing to publish the key set: %s",
            why ? why : "cannot serialise it");
        rc = GH_EINVAL;
        goto out;
    }
    if ((rc = resp_doc_new_json(jwks, app->cfg->cache_max_age, out)) != GH_OK)
        snprintf(err, errsz, "jwks: cannot build the HTTP response");
out:
    free(text);
    json_decref(jwks);
    return rc;
}

int
ep_jwks(struct req *rq)
{
    return resp_doc_send(rq, rq->app->docs->jwks);
}
