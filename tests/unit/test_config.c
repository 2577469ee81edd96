/* Unit tests for ql_config and the programs' tables of settings: precedence
 * (option > environment > file > default), the [kafka] pass-through, one
 * clear line per bad key, the sections of the other programs, and the list
 * of every program's keys kept in step with their tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bd_config.h"
#include "gw_config.h"
#include "ql_config.h"
#include "spool_config.h"
#include "triage_config.h"

static char ini_path[64];

static void write_ini(const char *text)
{
        strcpy(ini_path, "/tmp/ql_test_config_XXXXXX");
        int fd = mkstemp(ini_path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
}

static ql_config_rc_t build(const ql_program_t *prog, void *cfg, char *err,
                            size_t errsz, int argc, char **argv)
{
        return ql_config_build(prog, cfg, "test", argc, argv, err, errsz);
}

static void test_defaults(void **state)
{
        unsetenv("QL_BROKERS");
        unsetenv("QL_TOPIC");
        triage_config_t cfg;
        char err[256] = "";
        char *argv[] = {"ql-triage", NULL};
        assert_int_equal(
            build(&triage_config_program, &cfg, err, sizeof(err), 1, argv),
            QL_CONFIG_OK);
        assert_string_equal(cfg.base.brokers, "127.0.0.1:9092");
        assert_string_equal(cfg.base.topic, "inspection.results");
        assert_string_equal(cfg.dlq_topic, "inspection.results.dlq");
        assert_string_equal(cfg.pg, "dbname=qingling");
        assert_string_equal(cfg.group, "ql-triage");
        assert_int_equal(cfg.base.log_level, QL_LOG_INFO);
        assert_int_equal(cfg.base.uscc_check, QL_USCC_STRICT);
        /* A shared setting the triage does not take keeps its default. */
        assert_int_equal(cfg.base.kafka_timeout_ms, 30000);
        /* The defaults found at run time. */
        assert_non_null(cfg.sql_dir);
        assert_non_null(cfg.base.schema_dir);
        ql_config_free(&triage_config_program, &cfg);

        bd_config_t bd;
        char *argv2[] = {"ql-board", NULL};
        assert_int_equal(
            build(&bd_config_program, &bd, err, sizeof(err), 1, argv2),
            QL_CONFIG_OK);
        assert_string_equal(bd.board_addr, "127.0.0.1:8090");
        assert_string_equal(bd.bureau_name, "市场监督管理局");
        assert_int_equal(bd.board_max_body, 65536);
        assert_non_null(bd.board_static_dir);
        ql_config_free(&bd_config_program, &bd);
}

static void test_precedence(void **state)
{
        write_ini("[qingling]\nbrokers = file:1\ntopic = file.topic\n"
                  "log_level = debug\n[triage]\ngroup = file-group\n"
                  "[spool]\nlab = IGNORED\n"
                  "[kafka]\nsocket.timeout.ms = 1234\nclient.id = x\n");
        setenv("QL_TOPIC", "env.topic", 1);
        setenv("QL_GROUP", "env-group", 1);
        triage_config_t cfg;
        char err[256] = "";
        char *argv[] = {"ql-triage", "-c",          ini_path, "--group",
                        "cli-group", "--idle-exit", "5",      NULL};
        assert_int_equal(
            build(&triage_config_program, &cfg, err, sizeof(err), 7, argv),
            QL_CONFIG_OK);
        assert_string_equal(cfg.base.brokers, "file:1");  /* file > default */
        assert_string_equal(cfg.base.topic, "env.topic"); /* env > file */
        assert_string_equal(cfg.group, "cli-group");      /* option > env */
        assert_int_equal(cfg.idle_exit, 5);
        assert_int_equal(cfg.base.log_level, QL_LOG_DEBUG);
        assert_string_equal(cfg.base.config_file, ini_path);
        assert_int_equal(cfg.base.kafka_n, 2);
        assert_string_equal(cfg.base.kafka[0].key, "socket.timeout.ms");
        assert_string_equal(cfg.base.kafka[0].value, "1234");
        ql_config_free(&triage_config_program, &cfg);
        unsetenv("QL_TOPIC");
        unsetenv("QL_GROUP");
        unlink(ini_path);
}

/* One file for the whole deployment: each program takes its own section
 * and the shared one, and skips the others' settings wherever they are. */
static void test_one_file_for_all(void **state)
{
        write_ini("[qingling]\nbrokers = k:9092\ndlq_topic = d\nlab = L0\n"
                  "bureau_name = 局\n"
                  "[spool]\nlab = L1\ndir = /tmp\n"
                  "[gateway]\ngateway_tokens = /dev/null\nthreads = 2\n"
                  "[triage]\ngroup = g\n[board]\nboard_threads = 3\n");
        char err[256] = "";
        char *argv[] = {"ql-x", "-c", ini_path, NULL};

        spool_config_t sp;
        assert_int_equal(
            build(&spool_config_program, &sp, err, sizeof(err), 3, argv),
            QL_CONFIG_OK);
        assert_string_equal(sp.base.brokers, "k:9092");
        assert_string_equal(sp.lab, "L1"); /* [spool] after [qingling] */
        assert_string_equal(sp.dir, "/tmp");
        ql_config_free(&spool_config_program, &sp);

        gw_config_t gw;
        assert_int_equal(
            build(&gw_config_program, &gw, err, sizeof(err), 3, argv),
            QL_CONFIG_OK);
        assert_string_equal(gw.gateway_tokens, "/dev/null");
        assert_int_equal(gw.threads, 2);
        ql_config_free(&gw_config_program, &gw);

        triage_config_t tr;
        assert_int_equal(
            build(&triage_config_program, &tr, err, sizeof(err), 3, argv),
            QL_CONFIG_OK);
        assert_string_equal(tr.dlq_topic, "d");
        assert_string_equal(tr.group, "g");
        ql_config_free(&triage_config_program, &tr);

        bd_config_t bd;
        assert_int_equal(
            build(&bd_config_program, &bd, err, sizeof(err), 3, argv),
            QL_CONFIG_OK);
        assert_string_equal(bd.bureau_name, "局");
        assert_int_equal(bd.board_threads, 3);
        /* brokers is not ql-board's: its default stays. */
        assert_string_equal(bd.base.brokers, "127.0.0.1:9092");
        ql_config_free(&bd_config_program, &bd);
        unlink(ini_path);
}

static void expect_file_error(const ql_program_t *prog, void *cfg,
                              const char *ini, const char *want)
{
        char err[256] = "";
        char *argv[] = {"ql-x", "-c", ini_path, NULL};
        write_ini(ini);
        assert_int_equal(build(prog, cfg, err, sizeof(err), 3, argv),
                         QL_CONFIG_ERROR);
        if (!strstr(err, want))
                fail_msg("'%s' does not say '%s'", err, want);
        ql_config_free(prog, cfg);
        unlink(ini_path);
}

static void test_errors_name_the_key(void **state)
{
        triage_config_t cfg;
        char err[256] = "";
        expect_file_error(&triage_config_program, &cfg,
                          "[qingling]\nbrokerz = x\n",
                          "[qingling] unknown key 'brokerz'");
        /* A key no program takes is an error in any section. */
        expect_file_error(&triage_config_program, &cfg, "[spool]\nlabb = x\n",
                          "[spool] unknown key 'labb'");
        /* Another program's key, or a shared one the program does not
         * take, in the program's own section. */
        expect_file_error(&triage_config_program, &cfg, "[triage]\nlab = x\n",
                          "[triage] key 'lab' does not apply to [triage]");
        bd_config_t bd;
        expect_file_error(&bd_config_program, &bd, "[board]\nbrokers = x\n",
                          "[board] key 'brokers' does not apply to [board]");
        expect_file_error(&triage_config_program, &cfg, "[triag]\ngroup = x\n",
                          "unknown section [triag]");
        expect_file_error(&triage_config_program, &cfg,
                          "[triage]\nbatch_ms = 0\n",
                          "[triage] batch_ms: '0' is not a whole number from "
                          "1 to 60000");

        setenv("QL_LOG_LEVEL", "loud", 1);
        char *argv2[] = {"ql-triage", NULL};
        assert_int_equal(
            build(&triage_config_program, &cfg, err, sizeof(err), 1, argv2),
            QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "QL_LOG_LEVEL"));
        ql_config_free(&triage_config_program, &cfg);
        unsetenv("QL_LOG_LEVEL");

        char *argv3[] = {"ql-triage", "--batch-size", "0", NULL};
        assert_int_equal(
            build(&triage_config_program, &cfg, err, sizeof(err), 3, argv3),
            QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "batch_size"));
        ql_config_free(&triage_config_program, &cfg);

        /* A spool-only option is unknown to the triage. */
        char *argv4[] = {"ql-triage", "--lab", "X", NULL};
        assert_int_equal(
            build(&triage_config_program, &cfg, err, sizeof(err), 3, argv4),
            QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "--lab"));
        ql_config_free(&triage_config_program, &cfg);

        char *argv5b[] = {"ql-triage", "--bureau-region", "35a", NULL};
        assert_int_equal(
            build(&triage_config_program, &cfg, err, sizeof(err), 3, argv5b),
            QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "bureau_region: '35a'"));
        ql_config_free(&triage_config_program, &cfg);

        /* The gateway refuses to start without a token file. */
        unsetenv("QL_GATEWAY_TOKENS");
        gw_config_t gw;
        char *argv5[] = {"ql-gateway", NULL};
        assert_int_equal(
            build(&gw_config_program, &gw, err, sizeof(err), 1, argv5),
            QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "gateway_tokens"));
        ql_config_free(&gw_config_program, &gw);

        /* The shared settings are checked before the program's own. */
        spool_config_t sp;
        char *argv6[] = {"ql-spool", "--dir", "/tmp", "--metrics-addr",
                         "nocolon",  "--lab", "L1",   NULL};
        assert_int_equal(
            build(&spool_config_program, &sp, err, sizeof(err), 7, argv6),
            QL_CONFIG_ERROR);
        assert_non_null(strstr(err, "metrics_addr"));
        ql_config_free(&spool_config_program, &sp);
        char *argv7[] = {"ql-spool", "--dir", "/tmp", NULL};
        assert_int_equal(
            build(&spool_config_program, &sp, err, sizeof(err), 3, argv7),
            QL_CONFIG_ERROR);
        assert_string_equal(err, "lab: required (--lab CODE)");
        ql_config_free(&spool_config_program, &sp);

        char *argv8[] = {"ql-board", "--board-tls-cert", "c.pem", NULL};
        assert_int_equal(
            build(&bd_config_program, &bd, err, sizeof(err), 3, argv8),
            QL_CONFIG_ERROR);
        assert_string_equal(err, "board_tls_key: TLS needs both "
                                 "board_tls_cert and board_tls_key");
        ql_config_free(&bd_config_program, &bd);
}

static void test_set(void **state)
{
        spool_config_t sp;
        char err[256] = "";
        char *argv[] = {"ql-spool", "--lab", "L", "--check", "f", NULL};
        assert_int_equal(
            build(&spool_config_program, &sp, err, sizeof(err), 5, argv),
            QL_CONFIG_OK);
        assert_int_equal(ql_config_set(&spool_config_program, &sp, "rescan",
                                       "7", err, sizeof(err)),
                         0);
        assert_int_equal(sp.rescan, 7);
        assert_int_equal(ql_config_set(&spool_config_program, &sp, "topic", "t",
                                       err, sizeof(err)),
                         0);
        assert_string_equal(sp.base.topic, "t");
        assert_int_equal(ql_config_set(&spool_config_program, &sp, "group", "g",
                                       err, sizeof(err)),
                         -1);
        assert_string_equal(err, "group: unknown setting");
        ql_config_free(&spool_config_program, &sp);
}

/* A program of the test's own: the engine alone. */
typedef struct {
        ql_config_t base;
        char *name;
        long size;
} toy_config_t;

static const ql_setting_t toy_settings[] = {
    QL_SHARED("log_level"),
    {"name", "QL_TOY_NAME", QL_SETTING_STR, offsetof(toy_config_t, name), "x",
     1, 0, 0, "NAME", "a name"},
    QL_SHARED("topic"),
    {"size", NULL, QL_SETTING_LONG, offsetof(toy_config_t, size), "5", 0, 1, 9,
     "N", "a size"},
};

static const ql_program_t toy = {"toy", toy_settings, 4, sizeof(toy_config_t),
                                 NULL,  NULL};

static void test_usage_follows_the_table(void **state)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        assert_non_null(f);
        ql_config_usage(f, &toy);
        fclose(f);
        const char *level = strstr(text, "--log-level LEVEL");
        const char *name = strstr(text, "--name NAME ");
        const char *topic = strstr(text, "--topic NAME");
        const char *size = strstr(text, "--size N ");
        assert_true(level && name && topic && size);
        assert_true(level < name && name < topic && topic < size);
        assert_non_null(strstr(text, "[qingling] or [toy] settings"));
        assert_non_null(
            strstr(text, "a name [x] (QL_TOY_NAME) (SIGHUP reloads)\n"));
        assert_null(strstr(text, "--brokers"));
        free(text);

        toy_config_t cfg;
        char err[256] = "";
        char *argv[] = {"toy", "--size", "9", "--topic", "t", NULL};
        assert_int_equal(build(&toy, &cfg, err, sizeof(err), 5, argv),
                         QL_CONFIG_OK);
        assert_int_equal(cfg.size, 9);
        assert_string_equal(cfg.base.topic, "t");
        assert_string_equal(cfg.name, "x");
        ql_config_free(&toy, &cfg);

        /* A QL_SHARED row must name a shared setting. */
        static const ql_setting_t bad_settings[] = {QL_SHARED("brokerz")};
        static const ql_program_t bad = {
            "bad", bad_settings, 1, sizeof(toy_config_t), NULL, NULL};
        char *argv2[] = {"bad", NULL};
        assert_int_equal(build(&bad, &cfg, err, sizeof(err), 1, argv2),
                         QL_CONFIG_ERROR);
        assert_string_equal(err, "[bad]: brokerz is not a shared setting");
        ql_config_free(&bad, &cfg);
}

static int listed(const char *name)
{
        for (const char *const *k = ql_config_program_keys; *k; k++)
                if (!strcmp(*k, name))
                        return 1;
        return 0;
}

/* ql_config_program_keys holds exactly the programs' own keys: what tells
 * another program's key from a typo. */
static void test_program_keys_match_the_tables(void **state)
{
        const ql_program_t *progs[] = {
            &spool_config_program, &gw_config_program, &triage_config_program,
            &bd_config_program};
        size_t own = 0;
        for (size_t p = 0; p < 4; p++)
                for (size_t i = 0; i < progs[p]->n_settings; i++) {
                        const ql_setting_t *s = &progs[p]->settings[i];
                        if (s->type == QL_SETTING_SHARED)
                                continue;
                        if (!listed(s->name))
                                fail_msg("[%s] %s is not in "
                                         "ql_config_program_keys",
                                         progs[p]->section, s->name);
                        own++;
                }
        size_t n = 0;
        for (const char *const *k = ql_config_program_keys; *k; k++)
                n++;
        assert_int_equal(n, own); /* none listed twice, none stale */
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
            cmocka_unit_test(test_one_file_for_all),
            cmocka_unit_test(test_errors_name_the_key),
            cmocka_unit_test(test_set),
            cmocka_unit_test(test_usage_follows_the_table),
            cmocka_unit_test(test_program_keys_match_the_tables),
            cmocka_unit_test(test_split_addr),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
