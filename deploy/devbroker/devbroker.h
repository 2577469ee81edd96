/*
 * devbroker: ql-devbroker's library (ql_devbroker_core): the mock cluster
 * (db_cluster.c), its control channels, stdin and a Unix socket
 * (db_control.c), and the commands they carry (db_commands.c).  main.c
 * parses the options and owns the signals.
 */
#ifndef QL_DEVBROKER_H
#define QL_DEVBROKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ql_log.h"

#define DB_PROG         "ql-devbroker"
#define DB_MAX_BROKERS  32
#define DB_MAX_CLIENTS  16   /* control-socket connections at once */
#define DB_LINE_MAX     1024 /* longest control line */
#define DB_MAX_ARGS     8    /* words in a control line */
#define DB_MAX_ERRCOUNT 100000

typedef struct {
        int brokers;
        int partitions;
        const char **topics; /* results, dlq, then every --topic */
        size_t topic_cnt;
        const char *control_path; /* NULL = stdin only */
        const char *rdkafka_debug;
        ql_log_level_t log_level;
        ql_log_format_t log_format;
} db_opts_t;

typedef struct {
        const db_opts_t *opts;
        ql_log_t *lg;
        rd_kafka_t *rk; /* owns the cluster's bookkeeping, produces nothing */
        rd_kafka_mock_cluster_t *mcluster;
} devbroker_t;

/* One source of control lines.  Replies go to out_fd: stdout for stdin, the
 * socket itself for a control connection. */
typedef struct {
        int in_fd; /* -1 = slot unused */
        int out_fd;
        const char *name;
        char buf[DB_LINE_MAX];
        size_t len;
        int overlong; /* discarding the rest of a line that did not fit */
} db_chan_t;

/* db_commands.c */
extern const size_t db_cmd_count; /* commands in the table */
/* Command i's usage and description, each line started with prefix. */
void db_cmd_doc(size_t i, const char *prefix, char *buf, size_t size);
/* Run one control line from ch and answer on it. */
void db_handle_line(devbroker_t *db, db_chan_t *ch, char *line);
int db_parse_int(const char *what, const char *s, long min, long max, int *out,
                 char *errstr, size_t errstr_size);
/* A new topic's partition leaders, round-robin over the brokers as Kafka
 * places them (the mock cluster picks them at random, and with every leader
 * on one broker an idempotent producer has a fifth of the requests in
 * flight it would have on a real cluster). */
rd_kafka_resp_err_t db_topic_create(devbroker_t *db, const char *topic,
                                    int partitions, int rf);

/* db_control.c */
/* Read what is available on ch and run every complete line.  -1 at EOF
 * or on an error (the channel is done). */
int db_chan_read(devbroker_t *db, db_chan_t *ch);
/* Take a new control connection into a free slot of clients[0..n-1]. */
void db_control_accept(devbroker_t *db, int lfd, db_chan_t *clients, size_t n);
/* A listening Unix socket at path.  A stale socket file left by a killed
 * devbroker is replaced; a live one (or any other file) is an error. */
int db_control_listen(const char *path, char *errstr, size_t errstr_size);
/* Write all of buf to fd.  0, or -1 (errno). */
int db_write_all(int fd, const char *buf, size_t len);

/* db_cluster.c */
/* Serve control lines until *run is cleared.  SIGINT and SIGTERM are
 * blocked except inside ppoll(), so a signal always ends the wait. */
void db_serve(devbroker_t *db, int lfd, const sigset_t *waitmask,
              const volatile sig_atomic_t *run);
/* Start the mock cluster with the topics of db->opts.  0, or -1 with
 * errstr. */
int db_start(devbroker_t *db, char *errstr, size_t errstr_size);
void db_stop(devbroker_t *db);

#endif
