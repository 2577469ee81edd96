/*
 * gw_config: the table of ql-gateway's own settings and their checks
 * (gw_config.h).  ql_config parses them.
 */
#include "gw_config.h"

#include <stddef.h>
#include <stdio.h>

#define OFF(f) offsetof(gw_config_t, f)

static const ql_setting_t settings[] = {
    QL_SHARED("brokers"),
    QL_SHARED("topic"),
    QL_SHARED("schema_dir"),
    QL_SHARED("metrics_addr"),
    QL_SHARED("log_level"),
    QL_SHARED("log_format"),
    QL_SHARED("uscc_check"),
    QL_SHARED("kafka_timeout_ms"),
    {"gateway_addr", "QL_GATEWAY_ADDR", QL_SETTING_STR, OFF(gateway_addr),
     "127.0.0.1:8080", 0, 0, 0, "HOST:PORT", "listen address"},
    {"gateway_tokens", "QL_GATEWAY_TOKENS", QL_SETTING_STR, OFF(gateway_tokens),
     NULL, 1, 0, 0, "FILE",
     "token file: lines 'LAB_CODE SHA256_HEX' (required)"},
    {"tls_cert", "QL_TLS_CERT", QL_SETTING_STR, OFF(tls_cert), NULL, 1, 0, 0,
     "FILE", "serve HTTPS with this PEM certificate (chain)"},
    {"tls_key", "QL_TLS_KEY", QL_SETTING_STR, OFF(tls_key), NULL, 1, 0, 0,
     "FILE", "PEM private key for --tls-cert"},
    {"tls_priorities", "QL_TLS_PRIORITIES", QL_SETTING_STR, OFF(tls_priorities),
     "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:"
     "+AES-256-GCM:+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA",
     0, 0, 0, "PRIORITIES",
     "GnuTLS priority string: TLS versions, ciphers, key exchanges"},
    {"allow_plain_http", "QL_GATEWAY_ALLOW_PLAIN", QL_SETTING_FLAG,
     OFF(allow_plain_http), "0", 0, 0, 0, NULL,
     "serve plain HTTP on a non-loopback gateway_addr (behind a "
     "TLS-terminating proxy)"},
    {"max_body", "QL_MAX_BODY", QL_SETTING_LONG, OFF(max_body), "1048576", 0,
     1024, 1073741824, "BYTES", "largest request body"},
    {"max_records", "QL_MAX_RECORDS", QL_SETTING_INT, OFF(max_records), "1000",
     0, 1, 100000, "N", "most records in one request"},
    {"ack_timeout_ms", "QL_ACK_TIMEOUT_MS", QL_SETTING_INT, OFF(ack_timeout_ms),
     "10000", 0, 100, 600000, "MS",
     "answer 503 if Kafka has not acknowledged a request by then"},
    {"threads", "QL_THREADS", QL_SETTING_INT, OFF(threads), "4", 0, 1, 256, "N",
     "HTTP threads, and as many threads judging and encoding request bodies"},
    {"client_timeout", "QL_CLIENT_TIMEOUT", QL_SETTING_INT, OFF(client_timeout),
     "30", 0, 1, 3600, "SECONDS",
     "close a connection that sent nothing for this long (slow clients)"},
    {"request_timeout", "QL_REQUEST_TIMEOUT", QL_SETTING_INT,
     OFF(request_timeout), "60", 0, 1, 3600, "SECONDS",
     "close a connection whose request (headers and body) is not in by "
     "then"},
    {"max_connections", "QL_MAX_CONNECTIONS", QL_SETTING_INT,
     OFF(max_connections), "1000", 0, 1, 65535, "N",
     "most connections open at once"},
    {"max_connections_per_address", "QL_MAX_CONNECTIONS_PER_ADDRESS",
     QL_SETTING_INT, OFF(max_connections_per_address), "32", 0, 0, 65535, "N",
     "most connections open at once from one client address (0: no "
     "limit)"},
};

static int validate(const void *pcfg, char *errstr, size_t errstr_size)
{
        const gw_config_t *cfg = pcfg;
        char host[256];
        int port;
        if (ql_config_split_addr(cfg->gateway_addr, host, sizeof(host),
                                 &port)) {
                snprintf(errstr, errstr_size,
                         "gateway_addr: '%s' is not HOST:PORT",
                         cfg->gateway_addr ? cfg->gateway_addr : "");
                return -1;
        }
        if (!cfg->gateway_tokens || !*cfg->gateway_tokens) {
                snprintf(errstr, errstr_size,
                         "gateway_tokens: required (QL_GATEWAY_TOKENS or "
                         "--gateway-tokens FILE)");
                return -1;
        }
        if (!cfg->tls_priorities || !*cfg->tls_priorities) {
                snprintf(errstr, errstr_size,
                         "tls_priorities: must not be empty");
                return -1;
        }
        if (!cfg->tls_cert != !cfg->tls_key) {
                snprintf(errstr, errstr_size,
                         "%s: TLS needs both tls_cert and tls_key",
                         cfg->tls_cert ? "tls_key" : "tls_cert");
                return -1;
        }
        return 0;
}

const ql_program_t gw_config_program = {
    .section = "gateway",
    .settings = settings,
    .n_settings = sizeof(settings) / sizeof(settings[0]),
    .size = sizeof(gw_config_t),
    .validate = validate,
};
