/* test_cfg.c — settings: bounds, precedence of file < environment < flag, config-file syntax,
 * issuer rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/err.h"
#include "t.h"

static char dir[] = "/tmp/gh-test-cfg-XXXXXX";

static const char *
write_file(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void
test_defaults_match_the_documented_ones(void)
{
    struct cfg c;

    cfg_defaults(&c);
    T_EQ_STR(c.db, "./gatehouse.db");
    T_EQ_STR(c.keys_dir, "./keys");
    T_EQ_STR(c.listen, "127.0.0.1:8080");
    T_EQ_INT(c.argon2_memory_kib, 65536);
    T_EQ_INT(c.argon2_iterations, 3);
    T_EQ_INT(c.argon2_parallelism, 1);
    T_EQ_INT(c.password_min_length, 15);
    T_EQ_INT(c.connection_timeout, 15);
    T_ASSERT(c.issuer == NULL);
    cfg_free(&c);
}

static void
test_set_enforces_bounds_and_floors(void)
{
    struct cfg c;
    char err[256];

    cfg_defaults(&c);
    T_EQ_INT(cfg_set(&c, "argon2_memory_kib", "19455", err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "19456") != NULL);
    T_EQ_INT(c.argon2_memory_kib, 65536); /* unchanged */
    T_EQ_INT(cfg_set(&c, "argon2_iterations", "1", err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(cfg_set(&c, "password_min_length", "7", err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(cfg_set(&c, "password_min_length", "8", err, sizeof(err)), GH_OK);
    T_EQ_INT(cfg_set(&c, "access_log", "maybe", err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(cfg_set(&c, "access_log", "off", err, sizeof(err)), GH_OK);
    T_ASSERT(!c.access_log);
    T_EQ_INT(cfg_set(&c, "log_level", "debug", err, sizeof(err)), GH_OK);
    T_EQ_INT(c.log_level, LOG_DEBUG);
    T_EQ_INT(cfg_set(&c, "no_such", "1", err, sizeof(err)), GH_ENOTFOUND);
    T_EQ_INT(cfg_set(&c, "db", "", err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(cfg_set(&c, "db", "a\nb", err, sizeof(err)), GH_EINVAL);
    cfg_free(&c);
}

static void
test_precedence_file_env_flag(void)
{
    struct cfg c;
    char err[256];
    const char *path = write_file("p.conf", "# comment\n\npassword_min_length = 20\n"
                                            "  threads=3  \n");

    cfg_defaults(&c);
    T_EQ_INT(cfg_load_file(&c, path, err, sizeof(err)), GH_OK);
    T_EQ_INT(c.password_min_length, 20);
    T_EQ_INT(c.threads, 3);
    setenv("GATEHOUSE_PASSWORD_MIN_LENGTH", "18", 1);
    T_EQ_INT(cfg_load_env(&c, CFG_G_DATA | CFG_G_PW, err, sizeof(err)), GH_OK);
    T_EQ_INT(c.password_min_length, 18);
    T_EQ_STR(cfg_key_for_flag("password-min-length", CFG_G_PW), "password_min_length");
    T_EQ_INT(cfg_set(&c, "password_min_length", "16", err, sizeof(err)), GH_OK);
    T_EQ_INT(c.password_min_length, 16);
    unsetenv("GATEHOUSE_PASSWORD_MIN_LENGTH");
    cfg_free(&c);
}

static void
test_env_only_for_the_commands_groups(void)
{
    struct cfg c;
    char err[256];

    cfg_defaults(&c);
    setenv("GATEHOUSE_LISTEN", "127.0.0.1:9999", 1);
    T_EQ_INT(cfg_load_env(&c, CFG_G_DATA, err, sizeof(err)), GH_OK);
    T_EQ_STR(c.listen, "127.0.0.1:8080");
    T_EQ_INT(cfg_load_env(&c, CFG_G_HTTP, err, sizeof(err)), GH_OK);
    T_EQ_STR(c.listen, "127.0.0.1:9999");
    setenv("GATEHOUSE_ARGON2_MEMORY_KIB", "1024", 1);
    T_EQ_INT(cfg_load_env(&c, CFG_G_PW, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "GATEHOUSE_ARGON2_MEMORY_KIB") != NULL);
    unsetenv("GATEHOUSE_LISTEN");
    unsetenv("GATEHOUSE_ARGON2_MEMORY_KIB");
    T_ASSERT(cfg_key_for_flag("listen", CFG_G_DATA | CFG_G_PW) == NULL);
    T_ASSERT(cfg_key_for_flag("password_min_length", CFG_G_PW) == NULL); /* dashes only */
    cfg_free(&c);
}

static void
test_config_file_errors_name_the_line(void)
{
    struct cfg c;
    char err[256];

    cfg_defaults(&c);
    T_EQ_INT(cfg_load_file(&c, write_file("a.conf", "threads = 2\nbogus = 1\n"), err,
                 sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, ":2:") != NULL && strstr(err, "bogus") != NULL);
    T_EQ_INT(cfg_load_file(&c, write_file("b.conf", "threads = 2\nthreads = 3\n"), err,
                 sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "twice") != NULL);
    T_EQ_INT(cfg_load_file(&c, write_file("c.conf", "just words\n"), err, sizeof(err)),
        GH_EINVAL);
    T_EQ_INT(cfg_load_file(&c, write_file("d.conf", "config = x\n"), err, sizeof(err)),
        GH_EINVAL);
    T_EQ_INT(cfg_load_file(&c, "/nonexistent/gh.conf", err, sizeof(err)), GH_EIO);
    T_ASSERT(strstr(err, "/nonexistent/gh.conf") != NULL);
    cfg_free(&c);
}

static void
test_issuer_rules(void)
{
    const char *why;

    T_EQ_INT(cfg_issuer_check("https://id.example.com", &why), GH_OK);
    T_EQ_INT(cfg_issuer_check("https://id.example.com/realm", &why), GH_OK);
    T_EQ_INT(cfg_issuer_check("http://127.0.0.1:8080", &why), GH_OK);
    T_EQ_INT(cfg_issuer_check("http://localhost:8080", &why), GH_OK);
    T_EQ_INT(cfg_issuer_check("http://id.example.com", &why), GH_EINVAL);
    T_EQ_INT(cfg_issuer_check("https://id.example.com/?x=1", &why), GH_EINVAL);
    T_EQ_INT(cfg_issuer_check("https://id.example.com/#f", &why), GH_EINVAL);
    T_EQ_INT(cfg_issuer_check("https://id.example.com/", &why), GH_EINVAL);
    T_EQ_INT(cfg_issuer_check("HTTPS://id.example.com", &why), GH_EINVAL);
    T_EQ_INT(cfg_issuer_check("id.example.com", &why), GH_EINVAL);
    T_EQ_INT(cfg_issuer_check("https://user@id.example.com", &why), GH_EINVAL);
}

static void
test_tls_files_go_together_and_need_an_https_issuer(void)
{
    struct cfg c;
    char err[256];

    cfg_defaults(&c);
    T_EQ_INT(cfg_validate(&c, err, sizeof(err)), GH_OK);
    T_EQ_INT(cfg_set(&c, "tls_cert", "/etc/gh/cert.pem", err, sizeof(err)), GH_OK);
    T_EQ_INT(cfg_validate(&c, err, sizeof(err)), GH_EINVAL);   /* a certificate, no key */
    T_ASSERT(strstr(err, "tls_cert and tls_key") != NULL);
    T_EQ_INT(cfg_set(&c, "tls_key", "/etc/gh/key.pem", err, sizeof(err)), GH_OK);
    T_EQ_INT(cfg_validate(&c, err, sizeof(err)), GH_OK);
    T_EQ_INT(cfg_set(&c, "issuer", "http://127.0.0.1:8443", err, sizeof(err)), GH_OK);
    T_EQ_INT(cfg_validate(&c, err, sizeof(err)), GH_EINVAL);   /* loopback http, but TLS on */
    T_ASSERT(strstr(err, "https") != NULL);
    T_EQ_INT(cfg_set(&c, "issuer", "https://127.0.0.1:8443", err, sizeof(err)), GH_OK);
    T_EQ_INT(cfg_validate(&c, err, sizeof(err)), GH_OK);
    free(c.tls_cert);
    c.tls_cert = NULL;                                          /* a key, no certificate */
    T_EQ_INT(cfg_validate(&c, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(cfg_key_for_flag("tls-cert", CFG_G_HTTP) != NULL);
    T_ASSERT(cfg_key_for_flag("tls-key", CFG_G_PW) == NULL);     /* serve only */
    cfg_free(&c);
}

int
main(void)
{
    t_init("cfg");
    if (!mkdtemp(dir))
        return 2;
    T_RUN(test_defaults_match_the_documented_ones);
    T_RUN(test_set_enforces_bounds_and_floors);
    T_RUN(test_precedence_file_env_flag);
    T_RUN(test_env_only_for_the_commands_groups);
    T_RUN(test_config_file_errors_name_the_line);
    T_RUN(test_issuer_rules);
    T_RUN(test_tls_files_go_together_and_need_an_https_issuer);
    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return t_done();
}
