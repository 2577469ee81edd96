/*
 * ql-gateway: the HTTP push gateway for inspection labs (docs/labs.md, "Pushing
 * over HTTP").  main() builds the configuration, loads the token file, the
 * record schemas and the idempotent Kafka producer, starts the server
 * (gw_server.h) and the metrics endpoint (QL_METRICS_ADDR: /metrics, /healthz,
 * /readyz, never on the labs' port) and then only waits for signals: SIGHUP
 * reloads the reloadable settings, the token file and the TLS certificate (each
 * keeps the running version if its new one is bad), SIGTERM and SIGINT stop
 * accepting, let the requests in flight finish (bounded by the ack timeout),
 * flush the producer (bounded) and exit 0.  Signals are blocked in every
 * thread and taken here with sigwaitinfo(), so no handler runs anywhere.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_config.h"
#include "gw_server.h"
#include "gw_tokens.h"
#include "ql_codec.h"
#include "ql_kafka.h"
#include "ql_log.h"
#include "ql_metrics.h"

#define PROG         "ql-gateway"
#define FLUSH_MAX_MS 10000

static const char summary[] =
    "Lab HTTP push gateway: POST /v1/results with 'Authorization: Bearer "
    "TOKEN'\n"
    "and a JSON body (one result document or an array of them) publishes "
    "every\n"
    "record to Kafka and answers 202 {\"accepted\": [result_id, ...]} once "
    "Kafka\n"
    "acknowledged all of them; nothing is published unless every record is "
    "valid\n"
    "and the token lab's.  Other answers: 400 invalid records (each problem "
    "with\n"
    "its index and field), 401 missing or unknown token, 403 a record of "
    "another\n"
    "lab, 413 body or record count over the limit, 415 not JSON, 503 Kafka "
    "did\n"
    "not acknowledge in time (retry the same request).\n\n"
    "GET /healthz, /readyz and /metrics are served on --metrics-addr only, "
    "never\n"
    "on the labs' port.  Plain HTTP is served on a loopback address only: "
    "elsewhere\n"
    "give --tls-cert and --tls-key, or --allow-plain-http behind a "
    "TLS-terminating\n"
    "proxy.  Each client address may hold --max-connections-per-address "
    "connections,\n"
    "and each request (headers and body) must arrive within "
    "--request-timeout.\n\n"
    "Token file: one 'LAB_CODE SHA256_HEX' line per token, where SHA256_HEX "
    "is\n"
    "the SHA-256 of the token (printf %s \"$TOKEN\" | sha256sum); '#' "
    "comments.\n"
    "SIGHUP reloads it, the TLS certificate and key (for new connections) "
    "and the\n"
    "log settings; SIGTERM drains and exits.";

/* SIGHUP: re-read configuration and token file; keep what is running
 * whenever the new version is bad. */
static void reload(int argc, char **argv, ql_log_t *lg, ql_metrics_t *m,
                   gw_server_t *srv)
{
        gw_config_t ncfg;
        char errstr[512], warn[512];
        if (ql_config_build(&gw_config_program, &ncfg, summary, argc, argv,
                            errstr, sizeof(errstr)) != QL_CONFIG_OK) {
                ql_error(lg, "reload: %s; the running configuration stays",
                         errstr);
                ql_config_free(&gw_config_program, &ncfg);
                return;
        }
        ql_log_configure(lg, ncfg.base.log_level, ncfg.base.log_format);
        gw_server_set_uscc_mode(srv, ncfg.base.uscc_check);
        gw_tokens_t *t = gw_tokens_load(ncfg.gateway_tokens, m, warn,
                                        sizeof(warn), errstr, sizeof(errstr));
        if (!t) {
                ql_error(lg, "reload: %s; the tokens loaded before stay",
                         errstr);
        } else {
                if (warn[0])
                        ql_warn(lg, "%s", warn);
                ql_info(lg, "reload: %zu tokens for %zu labs from %s",
                        gw_tokens_count(t), gw_tokens_labs(t),
                        ncfg.gateway_tokens);
                gw_server_set_tokens(srv, t);
        }
        char about[600];
        if (gw_server_reload_tls(srv, ncfg.tls_cert, ncfg.tls_key, about,
                                 sizeof(about), errstr, sizeof(errstr)))
                ql_error(lg, "reload: %s; the running certificate stays",
                         errstr);
        else if (ncfg.tls_cert)
                ql_info(lg, "reload: tls: new connections get the %s", about);
        ql_config_free(&gw_config_program, &ncfg);
}

int main(int argc, char **argv)
{
        gw_config_t cfg;
        char errstr[512], warn[512];
        ql_config_rc_t crc =
            ql_config_build(&gw_config_program, &cfg, summary, argc, argv,
                            errstr, sizeof(errstr));
        if (crc != QL_CONFIG_OK) {
                if (crc == QL_CONFIG_ERROR)
                        fprintf(stderr, PROG ": %s\n", errstr);
                ql_config_free(&gw_config_program, &cfg);
                return crc == QL_CONFIG_HELP ? 0 : 1;
        }
        ql_log_t *lg =
            ql_log_new(PROG, cfg.base.log_level, cfg.base.log_format);

        /* Before any thread exists: every thread inherits the mask, so the
         * signals wait for sigwaitinfo() below. */
        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
        signal(SIGPIPE, SIG_IGN);

        int status = 1;
        ql_metrics_t *metrics = ql_metrics_new(PROG);
        ql_codec_t *codec = NULL;
        rd_kafka_t *rk = NULL;
        gw_server_t *srv = NULL;
        if (gw_server_check_config(&cfg, errstr, sizeof(errstr))) {
                ql_error(lg, "%s", errstr);
                goto out;
        }
        gw_tokens_t *tokens =
            gw_tokens_load(cfg.gateway_tokens, metrics, warn, sizeof(warn),
                           errstr, sizeof(errstr));
        if (!tokens) {
                ql_error(lg, "gateway_tokens: %s", errstr);
                goto out;
        }
        if (warn[0])
                ql_warn(lg, "%s", warn);
        size_t ntokens = gw_tokens_count(tokens),
               nlabs = gw_tokens_labs(tokens);
        if (!(codec =
                  ql_codec_new(cfg.base.schema_dir, errstr, sizeof(errstr)))) {
                ql_error(lg, "schema_dir: %s", errstr);
                gw_tokens_destroy(tokens);
                goto out;
        }
        if (!(rk = ql_kafka_producer_new(&cfg.base, lg, errstr,
                                         sizeof(errstr)))) {
                ql_error(lg, "%s", errstr);
                gw_tokens_destroy(tokens);
                goto out;
        }
        gw_server_opts_t so = {&cfg, lg, metrics, codec, rk, tokens};
        srv = gw_server_new(&so, errstr, sizeof(errstr));
        tokens = NULL; /* the server owns it now, or destroyed it */
        if (!srv) {
                ql_error(lg, "%s", errstr);
                goto out;
        }
        if (cfg.base.metrics_addr && *cfg.base.metrics_addr &&
            ql_metrics_serve(metrics, cfg.base.metrics_addr, errstr,
                             sizeof(errstr))) {
                ql_error(lg, "%s", errstr);
                goto out;
        }
        ql_info(lg,
                "serving %s://%s (%d threads): %zu tokens for %zu labs, "
                "topic %s on %s; metrics %s",
                cfg.tls_cert ? "https" : "http", cfg.gateway_addr, cfg.threads,
                ntokens, nlabs, cfg.base.topic, cfg.base.brokers,
                cfg.base.metrics_addr && *cfg.base.metrics_addr
                    ? cfg.base.metrics_addr
                    : "off");
        if (cfg.tls_cert) {
                char about[600];
                gw_server_describe_tls(srv, about, sizeof(about));
                ql_info(lg, "tls: %s; priorities %s", about,
                        cfg.tls_priorities);
        }

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&sigs, &si);
                if (sig == SIGHUP)
                        reload(argc, argv, lg, metrics, srv);
                else if (sig == SIGTERM || sig == SIGINT)
                        break;
        }
        int drain_ms = cfg.ack_timeout_ms + 1000;
        ql_info(lg,
                "stopping: no new connections; waiting up to %d ms for "
                "requests in flight",
                drain_ms);
        size_t left = gw_server_drain(srv, drain_ms);
        if (left)
                ql_warn(lg,
                        "%zu requests still unanswered; answering them "
                        "503",
                        left);
        status = 0;

out:
        /* The readiness answer reads the server: stop asking first. */
        ql_metrics_stop(metrics);
        gw_server_destroy(srv);
        if (rk) {
                int flush_ms = cfg.base.kafka_timeout_ms < FLUSH_MAX_MS
                                   ? cfg.base.kafka_timeout_ms
                                   : FLUSH_MAX_MS;
                rd_kafka_flush(rk, flush_ms);
                int undelivered = rd_kafka_outq_len(rk);
                if (undelivered > 0)
                        ql_warn(lg,
                                "%d Kafka messages undelivered after %d ms "
                                "(their requests were answered 503)",
                                undelivered, flush_ms);
                rd_kafka_destroy(rk);
        }
        ql_codec_destroy(codec);
        ql_metrics_destroy(metrics);
        if (status == 0)
                ql_info(lg, "stopped");
        ql_log_destroy(lg);
        ql_config_free(&gw_config_program, &cfg);
        return status;
}
