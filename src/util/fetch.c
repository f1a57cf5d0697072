/* fetch.c — the one bounded HTTP GET gatehouse makes (see fetch.h), with libcurl. Every bound
 * is set explicitly and each setopt is checked, so a libcurl without one of them fails closed
 * instead of fetching unbounded. What is fetched is a key set that decides which tokens are
 * trusted, and its URL may point anywhere the operator wrote; so nothing here follows a
 * redirect, uses a proxy (one on the path of a plain-http loopback fetch would decide which
 * keys we trust), or speaks anything but the URL's own scheme. It does not cache (callers do:
 * oidc/issuer_keys.c) and does not parse what it fetched. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "core/err.h"
#include "core/limits.h"
#include "util/buf.h"
#include "util/fetch.h"
#include "util/str.h"
#include "util/url.h"

const char *
fetch_url_refusal(const char *url, bool *https)
{
    struct url u;
    const char *why = NULL;

    *https = false;
    if (!url || strnlen(url, GH_MAX_URI + 1) > GH_MAX_URI)
        return "URL too long";
    if (url_parse(url, &u, &why) != GH_OK)
        return why;
    if (!u.has_authority || !u.host[0])
        return "URL has no host";
    if (str_eq(u.scheme, "https")) {
        *https = true;
        return NULL;
    }
    if (!str_eq(u.scheme, "http"))
        return "only https URLs (or http to a loopback host) can be fetched";
    if (!url_host_is_loopback(u.host))
        return "plain http is allowed only to a loopback host; use https";
    return NULL;
}

/* curl_global_init is not thread-safe in every libcurl; run it once per process, never undo it */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    struct buf *body;
    bool too_big;
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct sink *f = ud;
    size_t n = size * nmemb; /* size is always 1 (libcurl) */

    if (buf_add(f->body, p, n) != GH_OK) {
        f->too_big = true;
        return 0; /* a short count makes libcurl stop with CURLE_WRITE_ERROR */
    }
    return n;
}

int
fetch_get(const char *url, long timeout_ms, const char *agent, struct buf *body, char *why,
    size_t whysz)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    struct sink f = { .body = body, .too_big = false };
    const char *refusal;
    CURL *c = NULL;
    CURLcode cc;
    long status = 0;
    bool https = false;
    int rc = GH_EIO;

    if ((refusal = fetch_url_refusal(url, &https))) {
        snprintf(why, whysz, "will not fetch that URL: %s", refusal);
        return GH_EIO;
    }
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK || !(c = curl_easy_init()) ||
        !(hdrs = curl_slist_append(NULL, "Accept: application/jwk-set+json, application/json"))) {
        snprintf(why, whysz, "cannot initialise libcurl");
        goto out;
    }
    if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, https ? "https" : "http") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body->max) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_USERAGENT, agent) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &f) != CURLE_OK) {
        snprintf(why, whysz, "this libcurl lacks an option the fetch needs");
        goto out;
    }
    cc = curl_easy_perform(c);
    if (f.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(why, whysz, "%s: the key set is larger than %zu bytes", url, body->max);
        rc = GH_ETOOBIG;
        goto out;
    }
    if (cc != CURLE_OK) {
        snprintf(why, whysz, "cannot fetch %s: %s", url, errbuf[0] ? errbuf :
            curl_easy_strerror(cc));
        goto out;
    }
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
        snprintf(why, whysz, "%s answered HTTP %ld%s", url, status,
            status >= 300 && status < 400 ? " (redirects are not followed)" : ", not 200");
        goto out;
    }
    rc = GH_OK;
out:
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}
