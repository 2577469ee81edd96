/*
 * gw_config: ql-gateway's settings, the shared ones (ql_config.h) and its
 * own: the listen address, the token file, TLS, and the limits on requests
 * and connections.  Built with ql_config_build(&gw_config_program, &cfg,
 * ...); SIGHUP builds a new one and takes the token file and the
 * certificate from it.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include "ql_config.h"

typedef struct {
        ql_config_t base;     /* first: the shared table's offsets apply */
        char *gateway_addr;   /* QL_GATEWAY_ADDR */
        char *gateway_tokens; /* QL_GATEWAY_TOKENS */
        char *tls_cert;
        char *tls_key;
        char *tls_priorities; /* GnuTLS priority string */
        int allow_plain_http; /* plain HTTP on a non-loopback address */
        long max_body;
        int max_records;
        int ack_timeout_ms;
        int threads;
        int client_timeout;  /* seconds a connection may stay idle */
        int request_timeout; /* seconds for a whole request to arrive */
        int max_connections;
        int max_connections_per_address; /* 0: no limit */
} gw_config_t;

extern const ql_program_t gw_config_program;

#endif
