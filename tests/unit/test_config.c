/* Unit tests for ql_config: precedence (option > environment > file >
 * default), the [kafka] pass-through, and one clear line per bad key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ql_config.h"

static char ini_path[64];

static void write_ini(const char *text)
{
        strcpy(ini_path, "/tmp/ql_test_config_XXXXXX");
        int fd = mkstemp(ini_path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
}

static ql_config_rc_t build(ql_config_t *cfg, int prog, char *err, size_t errsz,
                            int argc, char **argv)
{
        return ql_config_build(cfg, prog, "test", argc, argv, err, errsz);
}

static void test_defaults(void **state)
{
        unsetenv("QL_BROKERS");
        unsetenv("QL_TOPIC");
        ql_config_t cfg;
        char err[256] = "";
        char *argv[] = {"ql-triage", NULL};
        assert_int_equal(build(&cfg, QL_PROG_TRIAGE, err, sizeof(err), 1, argv),
                         QL_CONFIG_OK);
        assert_string_equal(cfg.brokers, "127.0.0.1:9092");
        assert_string_equal(cfg.topic, "inspection.results");
        assert_string_equal(cfg.dlq_topic, "inspection.results.dlq");
        assert_string_equal(cfg.pg, "dbname=qingling");
        assert_string_equal(cfg.group, "ql-triage");
        assert_int_equal(cfg.log_level, QL_LOG_INFO);
        assert_int_equal(cfg.uscc_check, QL_USCC_STRICT);
        ql_config_free(&cfg);
}

static void test_precedence(void **state)
{
        write_ini("[qingling]\nbrokers = file:1\ntopic = file.topic\n"
                  "log_level = debug\n[triage]\ngroup = file-group\n"
                  "[spool]\nlab = IGNORED\n"
                  "[kafka]\nsocket.timeout.ms = 1234\nclient.id = x\n");
        setenv("QL_TOPIC", "env.topic", 1);
        setenv("QL_GROUP", "env-group", 1);
        ql_config_t cfg;
        char err[256] = "";
        char *argv[] = {"ql-triage", "-c",          ini_path, "--group",
                        "cli-group", "--idle-exit", "5",      NULL};
        assert_int_equal(build(&cfg, QL_PROG_TRIAGE, err, sizeof(err), 7, argv),
                         QL_CONFIG_OK);
        assert_string_equal(cfg.brokers, "file:1");  /* file > default */
        assert_string_equal(cfg.topic, "env.topic"); /* env > file */
        assert_string_equal(cfg.group, "cli-group"); /* option > env */
        assert_int_equal(cfg.idle_exit, 5);
        assert_int_equal(cfg.log_level, QL_LOG_DEBUG);
        assert_int_equal(cfg.kafka_n, 2);
        assert_string_equal(cfg.kafka[0].key, "socket.timeout.ms");
        assert_string_equal(cfg.kafka[0].value, "1234");
        ql_config_free(&cfg);
        unsetenv("QL_TOPIC");
        unsetenv("QL_GROUP");
        unlink(ini_path);
}

static void test_errors_name_the_key(void **state)
{
        ql_config_t cfg;
        char err[256] = "";
        write_ini("[qingling]\nbrokerz = x\n");
        char *argv1[] = {"ql-triage", "-c", ini_path, NULL};
        assert_int_equal(
            build(&cfg, QL_PROG_TRIAGE, err, sizeof(err), 3, argv1),
            QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "brokerz"));
        ql_config_free(&cfg);
        unlink(ini_path);

        setenv("QL_LOG_LEVEL", "loud", 1);
        char *argv2[] = {"ql-triage", NULL};
        assert_int_equal(
            build(&cfg, QL_PROG_TRIAGE, err, sizeof(err), 1, argv2),
            QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "QL_LOG_LEVEL"));
        ql_config_free(&cfg);
        unsetenv("QL_LOG_LEVEL");

        char *argv3[] = {"ql-triage", "--batch-size", "0", NULL};
        assert_int_equal(
            build(&cfg, QL_PROG_TRIAGE, err, sizeof(err), 3, argv3),
            QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "batch_size"));
        ql_config_free(&cfg);

        /* A spool-only option is unknown to the triage. */
        char *argv4[] = {"ql-triage", "--lab", "X", NULL};
        assert_int_equal(
            build(&cfg, QL_PROG_TRIAGE, err, sizeof(err), 3, argv4),
            QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "--lab"));
        ql_config_free(&cfg);

        /* The gateway refuses to start without a token file. */
        unsetenv("QL_GATEWAY_TOKENS");
        char *argv5[] = {"ql-gateway", NULL};
        assert_int_equal(
            build(&cfg, QL_PROG_GATEWAY, err, sizeof(err), 1, argv5),
            QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "gateway_tokens"));
        ql_config_free(&cfg);

        char *argv6[] = {"ql-spool", "--dir", "/tmp", "--metrics-addr",
                         "nocolon",  "--lab", "L1",   NULL};
        assert_int_equal(build(&cfg, QL_PROG_SPOOL, err, sizeof(err), 7, argv6),
                         QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "metrics_addr"));
        ql_config_free(&cfg);
}

static void test_split_addr(void **state)
{
        char host[64];
        int port;
        assert_int_equal(
            ql_config_split_addr("127.0.0.1:8080", host, sizeof(host), &port),
            0);
        assert_string_equal(host, "127.0.0.1");
        assert_int_equal(port, 8080);
        assert_int_equal(
            ql_config_split_addr("[::1]:9", host, sizeof(host), &port), 0);
        assert_string_equal(host, "::1");
        assert_int_equal(ql_config_split_addr(":80", host, sizeof(host), &port),
                         0);
        assert_string_equal(host, "");
        assert_int_equal(
            ql_config_split_addr("h:70000", host, sizeof(host), &port), -1);
        assert_int_equal(ql_config_split_addr("h", host, sizeof(host), &port),
                         -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults),
            cmocka_unit_test(test_precedence),
            cmocka_unit_test(test_errors_name_the_key),
            cmocka_unit_test(test_split_addr),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
