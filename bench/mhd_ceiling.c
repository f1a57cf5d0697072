/* mhd_ceiling.c — the fastest libmicrohttpd can answer on this machine with gatehouse's thread
 * model: internal thread pool (one per core), epoll, ITC, the same connection limits, timeout
 * and memory limit as src/http/server.c, every request answered with the same bytes from one
 * prebuilt persistent response, queued on the access handler's second call (as gatehouse
 * does: MHD 0.9.75 closes the connection after a response queued on the first call).
 * No routing, no headers beyond Content-Type, no logging. bench/run.sh compares gatehouse
 * against it.
 *
 *   mhd_ceiling BODY_FILE PORT_FILE     listens on 127.0.0.1, any free port, written to
 *                                       PORT_FILE; runs until SIGTERM/SIGINT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

static struct MHD_Response *resp;

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    static int started;

    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    if (!*con_cls) {
        *con_cls = &started;
        return MHD_YES;
    }
    *upload_size = 0;
    return MHD_queue_response(c, MHD_HTTP_OK, resp);
}

int
main(int argc, char **argv)
{
    static char body[1 << 20];
    struct MHD_Daemon *d;
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *di;
    sigset_t set;
    size_t len;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    FILE *f;
    int sig;

    if (argc != 3) {
        fprintf(stderr, "usage: mhd_ceiling BODY_FILE PORT_FILE\n");
        return 2;
    }
    if (!(f = fopen(argv[1], "rb"))) {
        perror(argv[1]);
        return 1;
    }
    len = fread(body, 1, sizeof(body), f);
    fclose(f);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    if (!resp || MHD_add_response_header(resp, "Content-Type", "application/json") != MHD_YES)
        return 1;
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
        fprintf(stderr, "mhd_ceiling: MHD_start_daemon failed\n");
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
    MHD_destroy_response(resp);
    return 0;
}
