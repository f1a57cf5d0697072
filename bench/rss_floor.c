/* rss_floor.c — the idle resident memory of a process that does only what gatehouse cannot avoid
 * with its fixed dependencies: initialise OpenSSL with the system configuration and load the
 * same private keys, open the same SQLite database in WAL mode and read one table, and run a
 * libmicrohttpd thread pool (one thread per core, epoll) that answers one request. No jansson,
 * argon2 or cjose, no routing, no logging. bench/run.sh reports its RSS beside gatehouse's, so
 * the part of gatehouse's RSS that is gatehouse's own is visible.
 *
 *   rss_floor KEYS_DIR DB_FILE PORT_FILE    listens on 127.0.0.1, any free port, written to
 *                                           PORT_FILE; runs until SIGTERM/SIGINT */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sqlite3.h>

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    static int started;

    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
    if (*con_cls == NULL) {
        *con_cls = &started;
        return MHD_YES;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static int
load_keys(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".pem") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        if (PEM_read_PrivateKey(f, NULL, NULL, NULL) != NULL) /* kept, as gatehouse keeps them */
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

int
main(int argc, char **argv)
{
    sqlite3 *db;
    sigset_t set;
    int sig;

    if (argc != 4) {
        fprintf(stderr, "usage: rss_floor KEYS_DIR DB_FILE PORT_FILE\n");
        return 2;
    }
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
    if (load_keys(argv[1]) <= 0) {
        fprintf(stderr, "rss_floor: no keys loaded from %s\n", argv[1]);
        return 1;
    }
    if (sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "SELECT count(*) FROM signing_keys", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "rss_floor: %s: %s\n", argv[2], sqlite3_errmsg(db));
        return 1;
    }

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC, 0, NULL,
        NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(cores > 0 ? cores : 1), MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "rss_floor: cannot start libmicrohttpd\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    FILE *pf = fopen(argv[3], "w");
    if (info == NULL || pf == NULL) {
        fprintf(stderr, "rss_floor: cannot write %s\n", argv[3]);
        return 1;
    }
    fprintf(pf, "%u\n", (unsigned)info->port);
    fclose(pf);
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    sqlite3_close(db);
    return 0;
}
