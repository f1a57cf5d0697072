/* sign_probe.c — the ceiling for a token endpoint on this machine: gatehouse's thread model
 * (bench/mhd_ceiling.c: MHD internal thread pool one per core, epoll, ITC, the same connection
 * limits; the response queued on the access handler's final call, after the POST body has been
 * read) plus one JWT signed with OpenSSL per request, and nothing else: no routing, no parsing
 * of the form, no client authentication, no storage, no logging. bench/cc.sh compares gatehouse's
 * client_credentials grant against it.
 *
 * The JWT has the shape of a gatehouse access token (RFC 9068 header and claims, a fresh
 * 16-byte jti per token) so that hashing and base64url cost the same; the key is generated at
 * start: EC P-256 for ES256 (the DER signature converted to r||s, RFC 7518 §3.4), RSA 2048
 * for RS256 (the size gatehouse generates).
 *
 *   sign_probe ES256|RS256 PORT_FILE    listens on 127.0.0.1, any free port, written to
 *                                       PORT_FILE; runs until SIGTERM/SIGINT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

static EVP_PKEY *key;
static int is_es256;
static const char *hdr_b64; /* base64url of the protected header */

static size_t
b64url(char *out, const unsigned char *in, size_t n)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        out[o++] = a[in[i] >> 2];
        out[o++] = a[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        out[o++] = a[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
        out[o++] = a[in[i + 2] & 63];
    }
    if (n - i == 1) {
        out[o++] = a[in[i] >> 2];
        out[o++] = a[(in[i] & 3) << 4];
    } else if (n - i == 2) {
        out[o++] = a[in[i] >> 2];
        out[o++] = a[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        out[o++] = a[(in[i + 1] & 15) << 2];
    }
    out[o] = '\0';
    return o;
}

/* one signed JWT into out (size 2048 is plenty); 0 on success */
static int
sign_jwt(char *out, size_t cap)
{
    unsigned char rnd[16], sig[512], raw[64];
    char jti[32], claims[512], cb64[700];
    size_t siglen = sizeof(sig), len, slen;
    const unsigned char *p;
    EVP_MD_CTX *md;
    ECDSA_SIG *es;
    const BIGNUM *r, *s;
    long now = (long)time(NULL);
    int n;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    b64url(jti, rnd, sizeof(rnd));
    n = snprintf(claims, sizeof(claims),
        "{\"iss\":\"https://id.example\",\"sub\":\"svc-basic\",\"aud\":\"https://api.example/\","
        "\"client_id\":\"svc-basic\",\"iat\":%ld,\"exp\":%ld,\"jti\":\"%s\",\"scope\":\"read\"}",
        now, now + 3600, jti);
    if (n < 0 || (size_t)n >= sizeof(claims))
        return -1;
    b64url(cb64, (const unsigned char *)claims, (size_t)n);
    n = snprintf(out, cap, "%s.%s", hdr_b64, cb64);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    len = (size_t)n;
    if (!(md = EVP_MD_CTX_new()))
        return -1;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, sig, &siglen, (unsigned char *)out, len) != 1) {
        EVP_MD_CTX_free(md);
        return -1;
    }
    EVP_MD_CTX_free(md);
    slen = siglen;
    if (is_es256) {
        p = sig;
        if (!(es = d2i_ECDSA_SIG(NULL, &p, (long)siglen)))
            return -1;
        ECDSA_SIG_get0(es, &r, &s);
        if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32) {
            ECDSA_SIG_free(es);
            return -1;
        }
        ECDSA_SIG_free(es);
        memcpy(sig, raw, 64);
        slen = 64;
    }
    if (len + 2 + (slen * 4 + 2) / 3 >= cap)
        return -1;
    out[len++] = '.';
    b64url(out + len, sig, slen);
    return 0;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    static int started;
    char jwt[2048], body[2400];
    struct MHD_Response *resp;
    enum MHD_Result ret;
    int n;

    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    if (!*con_cls) {
        *con_cls = &started;
        return MHD_YES;
    }
    if (*upload_size) { /* read (and drop) the form body */
        *upload_size = 0;
        return MHD_YES;
    }
    if (sign_jwt(jwt, sizeof(jwt)) != 0)
        return MHD_NO;
    n = snprintf(body, sizeof(body),
        "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
        "\"scope\":\"read\"}", jwt);
    if (n < 0 || (size_t)n >= sizeof(body))
        return MHD_NO;
    resp = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

int
main(int argc, char **argv)
{
    static char hdr[128];
    static const char h_es[] = "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"probe-es256-key\"}";
    static const char h_rs[] = "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"probe-rs256-key\"}";
    struct MHD_Daemon *d;
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *di;
    sigset_t set;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    FILE *f;
    int sig;

    if (argc != 3 || (strcmp(argv[1], "ES256") != 0 && strcmp(argv[1], "RS256") != 0)) {
        fprintf(stderr, "usage: sign_probe ES256|RS256 PORT_FILE\n");
        return 2;
    }
    is_es256 = strcmp(argv[1], "ES256") == 0;
    key = is_es256 ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
    if (!key) {
        fprintf(stderr, "sign_probe: key generation failed\n");
        return 1;
    }
    b64url(hdr, (const unsigned char *)(is_es256 ? h_es : h_rs),
        strlen(is_es256 ? h_es : h_rs));
    hdr_b64 = hdr;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
            MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cores > 0 ? cores : 1),
        MHD_OPTION_CONNECTION_LIMIT, 1024u,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, 32u,
        MHD_OPTION_CONNECTION_TIMEOUT, 15u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 511u,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "sign_probe: MHD_start_daemon failed\n");
        return 1;
    }
    di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (!di || !(f = fopen(argv[2], "w")) || fprintf(f, "%u\n", (unsigned)di->port) < 0 ||
        fclose(f) != 0) {
        MHD_stop_daemon(d);
        return 1;
    }
    while (sigwait(&set, &sig) != 0)
        ;
    MHD_stop_daemon(d);
    EVP_PKEY_free(key);
    return 0;
}
