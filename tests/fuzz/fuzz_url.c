/* fuzz_url.c — url_parse (util/url.c) and the redirect URI rules built on it
 * (model/client.c: client_redirect_uri_check, client_redirect_ok). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "fuzz.h"
#include "model/client.h"
#include "util/url.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *uris[2];
    const char *why = NULL;
    struct url u;
    struct client c;
    int rc;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    rc = url_parse(s, &u, &why);
    FUZZ_CHECK(rc == GH_OK || (rc == GH_EINVAL && why != NULL));
    if (rc == GH_OK) {
        FUZZ_CHECK(memchr(u.scheme, '\0', sizeof(u.scheme)) != NULL);
        FUZZ_CHECK(memchr(u.host, '\0', sizeof(u.host)) != NULL);
        FUZZ_CHECK(u.port <= 65535);
        (void)url_host_is_loopback(u.host);
    }
    (void)url_host_is_loopback(s);

    for (int pub = 0; pub < 2; pub++) {
        why = NULL;
        rc = client_redirect_uri_check(s, pub != 0, &why);
        FUZZ_CHECK(rc == GH_OK || (rc == GH_EINVAL && why != NULL));
        /* anything the rules accept is a URI url_parse accepts */
        if (rc == GH_OK)
            FUZZ_CHECK(url_parse(s, &u, &why) == GH_OK);
    }

    memset(&c, 0, sizeof(c));
    uris[0] = s;
    uris[1] = NULL;
    c.redirect_uris = uris;
    c.post_logout_redirect_uris = uris;
    FUZZ_CHECK(client_redirect_ok(&c, s));
    FUZZ_CHECK(client_post_logout_redirect_ok(&c, s));
    free(s);
    return 0;
}
