/*
 * ql-devbroker: a throwaway Kafka cluster for the demo and the tests.  It runs
 * librdkafka's in-memory mock cluster, which speaks the real Kafka protocol on
 * loopback ports to client processes (idempotent producers, consumer groups
 * with offset commits), pre-creates the results and dead-letter topics,
 * prints the bootstrap list as the first line on stdout and serves until
 * SIGTERM or SIGINT.  Nothing is durable.  Tests inject faults through a
 * line-oriented control channel -- stdin, and a Unix socket with --control --
 * taking brokers down, slowing them, pushing request errors per API and moving
 * partition leaders and coordinators; every command is answered with "ok" or
 * "error: ..." on the channel it came from.  Never for production: the compose
 * file runs real Kafka.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ql_log.h"

#define DB_PROG         "ql-devbroker"
#define DB_MAX_BROKERS  32
#define DB_MAX_CLIENTS  16   /* control-socket connections at once */
#define DB_LINE_MAX     1024 /* longest control line */
#define DB_MAX_ARGS     8    /* words in a control line */
#define DB_MAX_ERRCOUNT 100000

static volatile sig_atomic_t run = 1;

static void on_signal(int sig)
{
        (void)sig;
        run = 0;
}

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

/*
 * Kafka protocol API keys by name.  librdkafka keeps its RD_KAFKAP_*
 * constants private, so the numbers (fixed by the Kafka protocol) are listed
 * here; any other key can be given as a number.
 */
static const struct {
        const char *name;
        int16_t key;
} db_apis[] = {
    {"Produce", 0},
    {"Fetch", 1},
    {"ListOffsets", 2},
    {"Metadata", 3},
    {"OffsetCommit", 8},
    {"OffsetFetch", 9},
    {"FindCoordinator", 10},
    {"JoinGroup", 11},
    {"Heartbeat", 12},
    {"LeaveGroup", 13},
    {"SyncGroup", 14},
    {"DescribeGroups", 15},
    {"ListGroups", 16},
    {"SaslHandshake", 17},
    {"ApiVersions", 18},
    {"CreateTopics", 19},
    {"DeleteTopics", 20},
    {"DeleteRecords", 21},
    {"InitProducerId", 22},
    {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25},
    {"EndTxn", 26},
    {"TxnOffsetCommit", 28},
    {"SaslAuthenticate", 36},
};

/* ---------------------------------------------------------------- parsing */

/* Whole-string decimal in [min, max]; 0 on success. */
static int db_parse_long(const char *s, long min, long max, long *out)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

static int db_parse_int(const char *what, const char *s, long min, long max,
                        int *out, char *errstr, size_t errstr_size)
{
        long v;
        if (db_parse_long(s, min, max, &v)) {
                snprintf(errstr, errstr_size,
                         "%s must be a whole number from %ld to %ld, not "
                         "\"%s\"",
                         what, min, max, s);
                return -1;
        }
        *out = (int)v;
        return 0;
}

static int db_parse_api(const char *s, int16_t *out, char *errstr,
                        size_t errstr_size)
{
        long v;
        for (size_t i = 0; i < sizeof(db_apis) / sizeof(db_apis[0]); i++) {
                if (!strcasecmp(s, db_apis[i].name)) {
                        *out = db_apis[i].key;
                        return 0;
                }
        }
        if (!db_parse_long(s, 0, INT16_MAX, &v)) {
                *out = (int16_t)v;
                return 0;
        }
        snprintf(errstr, errstr_size,
                 "unknown API \"%s\" (a name such as Produce, Fetch, "
                 "OffsetCommit, or an API key number)",
                 s);
        return -1;
}

/* An error name as rd_kafka_err2name() spells it (NOT_LEADER_FOR_PARTITION,
 * _TRANSPORT), optionally with the RD_KAFKA_RESP_ERR_ prefix, or a number. */
static int db_parse_error(const char *s, rd_kafka_resp_err_t *out, char *errstr,
                          size_t errstr_size)
{
        static const char prefix[] = "RD_KAFKA_RESP_ERR_";
        const struct rd_kafka_err_desc *descs;
        size_t cnt;
        long v;

        if (!strncasecmp(s, prefix, sizeof(prefix) - 1))
                s += sizeof(prefix) - 1;
        rd_kafka_get_err_descs(&descs, &cnt);
        for (size_t i = 0; i < cnt; i++) {
                if (descs[i].name && !strcasecmp(s, descs[i].name)) {
                        *out = descs[i].code;
                        return 0;
                }
        }
        if (!db_parse_long(s, INT_MIN, INT_MAX, &v)) {
                for (size_t i = 0; i < cnt; i++) {
                        if (descs[i].name && descs[i].code == v) {
                                *out = descs[i].code;
                                return 0;
                        }
                }
        }
        snprintf(errstr, errstr_size,
                 "unknown error \"%s\" (a name such as "
                 "NOT_LEADER_FOR_PARTITION or REQUEST_TIMED_OUT, or its "
                 "number)",
                 s);
        return -1;
}

/* A broker id of this cluster (1..N); with allow_all, -1 means every one. */
static int db_parse_broker(const devbroker_t *db, const char *s, int allow_all,
                           int32_t *out, char *errstr, size_t errstr_size)
{
        long v;
        if (allow_all && !strcmp(s, "-1")) {
                *out = -1;
                return 0;
        }
        if (db_parse_long(s, 1, db->opts->brokers, &v)) {
                snprintf(errstr, errstr_size,
                         "broker id must be 1..%d%s, not \"%s\"",
                         db->opts->brokers, allow_all ? " or -1 (all)" : "", s);
                return -1;
        }
        *out = (int32_t)v;
        return 0;
}

static int db_mock_result(rd_kafka_resp_err_t err, char *errstr,
                          size_t errstr_size)
{
        if (!err)
                return 0;
        snprintf(errstr, errstr_size, "%s: %s", rd_kafka_err2name(err),
                 rd_kafka_err2str(err));
        return -1;
}

/* --------------------------------------------------------------- commands */

typedef int (*db_cmd_fn)(devbroker_t *db, char **arg, int argc, int out_fd,
                         char *errstr, size_t errstr_size);

static int db_write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

static int cmd_broker_down(devbroker_t *db, char **arg, int argc, int out_fd,
                           char *errstr, size_t errstr_size)
{
        int32_t id;
        if (db_parse_broker(db, arg[0], 1, &id, errstr, errstr_size))
                return -1;
        return db_mock_result(rd_kafka_mock_broker_set_down(db->mcluster, id),
                              errstr, errstr_size);
}

static int cmd_broker_up(devbroker_t *db, char **arg, int argc, int out_fd,
                         char *errstr, size_t errstr_size)
{
        int32_t id;
        if (db_parse_broker(db, arg[0], 1, &id, errstr, errstr_size))
                return -1;
        return db_mock_result(rd_kafka_mock_broker_set_up(db->mcluster, id),
                              errstr, errstr_size);
}

static int cmd_broker_rtt(devbroker_t *db, char **arg, int argc, int out_fd,
                          char *errstr, size_t errstr_size)
{
        int32_t id;
        int ms;
        if (db_parse_broker(db, arg[0], 1, &id, errstr, errstr_size) ||
            db_parse_int("MS", arg[1], 0, 600000, &ms, errstr, errstr_size))
                return -1;
        return db_mock_result(
            rd_kafka_mock_broker_set_rtt(db->mcluster, id, ms), errstr,
            errstr_size);
}

static int cmd_broker_error(devbroker_t *db, char **arg, int argc, int out_fd,
                            char *errstr, size_t errstr_size)
{
        int32_t id;
        int16_t api;
        rd_kafka_resp_err_t err;
        int rtt;
        if (db_parse_broker(db, arg[0], 0, &id, errstr, errstr_size) ||
            db_parse_api(arg[1], &api, errstr, errstr_size) ||
            db_parse_error(arg[2], &err, errstr, errstr_size) ||
            db_parse_int("RTT_MS", arg[3], 0, 600000, &rtt, errstr,
                         errstr_size))
                return -1;
        return db_mock_result(rd_kafka_mock_broker_push_request_error_rtts(
                                  db->mcluster, id, api, 1, err, rtt),
                              errstr, errstr_size);
}

static int cmd_error(devbroker_t *db, char **arg, int argc, int out_fd,
                     char *errstr, size_t errstr_size)
{
        int16_t api;
        rd_kafka_resp_err_t err;
        int count = 1;
        if (db_parse_api(arg[0], &api, errstr, errstr_size) ||
            db_parse_error(arg[1], &err, errstr, errstr_size) ||
            (argc > 2 && db_parse_int("COUNT", arg[2], 1, DB_MAX_ERRCOUNT,
                                      &count, errstr, errstr_size)))
                return -1;
        rd_kafka_resp_err_t *errs = malloc(sizeof(*errs) * (size_t)count);
        if (!errs) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (int i = 0; i < count; i++)
                errs[i] = err;
        rd_kafka_mock_push_request_errors_array(db->mcluster, api,
                                                (size_t)count, errs);
        free(errs);
        return 0;
}

static int cmd_clear(devbroker_t *db, char **arg, int argc, int out_fd,
                     char *errstr, size_t errstr_size)
{
        int16_t api;
        if (db_parse_api(arg[0], &api, errstr, errstr_size))
                return -1;
        rd_kafka_mock_clear_request_errors(db->mcluster, api);
        return 0;
}

static int cmd_leader(devbroker_t *db, char **arg, int argc, int out_fd,
                      char *errstr, size_t errstr_size)
{
        int partition;
        int32_t id;
        if (db_parse_int("PARTITION", arg[1], 0, INT32_MAX, &partition, errstr,
                         errstr_size) ||
            db_parse_broker(db, arg[2], 1, &id, errstr, errstr_size))
                return -1;
        return db_mock_result(rd_kafka_mock_partition_set_leader(
                                  db->mcluster, arg[0], partition, id),
                              errstr, errstr_size);
}

static int cmd_coordinator(devbroker_t *db, char **arg, int argc, int out_fd,
                           char *errstr, size_t errstr_size)
{
        int32_t id;
        if (strcmp(arg[0], "group") && strcmp(arg[0], "transaction")) {
                snprintf(errstr, errstr_size,
                         "coordinator type must be group or transaction, "
                         "not \"%s\"",
                         arg[0]);
                return -1;
        }
        if (db_parse_broker(db, arg[2], 0, &id, errstr, errstr_size))
                return -1;
        return db_mock_result(
            rd_kafka_mock_coordinator_set(db->mcluster, arg[0], arg[1], id),
            errstr, errstr_size);
}

/* A new topic's partition leaders, round-robin over the brokers as Kafka
 * places them (the mock cluster picks them at random, and with every leader
 * on one broker an idempotent producer has a fifth of the requests in
 * flight it would have on a real cluster). */
static rd_kafka_resp_err_t db_topic_create(devbroker_t *db, const char *topic,
                                           int partitions, int rf)
{
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(db->mcluster, topic, partitions, rf);
        for (int p = 0; !err && p < partitions; p++)
                err = rd_kafka_mock_partition_set_leader(
                    db->mcluster, topic, p,
                    (int32_t)(p % db->opts->brokers) + 1);
        return err;
}

static int cmd_topic_create(devbroker_t *db, char **arg, int argc, int out_fd,
                            char *errstr, size_t errstr_size)
{
        int partitions, rf;
        if (db_parse_int("PARTITIONS", arg[1], 1, 10000, &partitions, errstr,
                         errstr_size) ||
            db_parse_int("RF", arg[2], 1, db->opts->brokers, &rf, errstr,
                         errstr_size))
                return -1;
        return db_mock_result(db_topic_create(db, arg[0], partitions, rf),
                              errstr, errstr_size);
}

static int cmd_help(devbroker_t *db, char **arg, int argc, int out_fd,
                    char *errstr, size_t errstr_size);

/* The control commands: words, then argument counts after them. */
static const struct db_cmd {
        const char *verb;
        const char *sub; /* second word, or NULL */
        const char *args;
        int min_args, max_args;
        db_cmd_fn fn;
        const char *help;
} db_cmds[] = {
    {"broker", "down", "ID", 1, 1, cmd_broker_down,
     "close broker ID's connections and refuse new ones (-1: every\n"
     "broker); its partitions keep it as leader"},
    {"broker", "up", "ID", 1, 1, cmd_broker_up,
     "let broker ID (-1: every broker) accept connections again"},
    {"broker", "rtt", "ID MS", 2, 2, cmd_broker_rtt,
     "delay broker ID's responses by MS milliseconds (-1: every broker)"},
    {"broker", "error", "ID API CODE RTT_MS", 4, 4, cmd_broker_error,
     "the next API request to broker ID fails with CODE after RTT_MS\n"
     "(CODE NO_ERROR: it is only delayed)"},
    {"error", NULL, "API CODE [COUNT]", 2, 3, cmd_error,
     "the next COUNT (default 1) API requests fail with CODE"},
    {"clear", NULL, "API", 1, 1, cmd_clear,
     "forget the errors still queued for API by \"error\""},
    {"leader", NULL, "TOPIC PARTITION ID", 3, 3, cmd_leader,
     "make broker ID the partition's leader (-1: no leader); creates\n"
     "TOPIC if it does not exist"},
    {"coordinator", NULL, "group|transaction KEY ID", 3, 3, cmd_coordinator,
     "make broker ID the coordinator of group (transactional id) KEY"},
    {"topic", "create", "NAME PARTITIONS RF", 3, 3, cmd_topic_create,
     "create a topic (librdkafka 2.0.2's mock ignores RF: every\n"
     "partition gets min(3, brokers) replicas)"},
    {"help", NULL, "", 0, 0, cmd_help,
     "list the commands, as lines starting with #"},
};

#define DB_CMD_CNT (sizeof(db_cmds) / sizeof(db_cmds[0]))

/* Command i's usage and description, each line started with prefix. */
static void db_cmd_doc(size_t i, const char *prefix, char *buf, size_t size)
{
        const struct db_cmd *c = &db_cmds[i];
        size_t n = 0;
        int w = snprintf(buf, size, "%s%s%s%s%s%s\n%s    ", prefix, c->verb,
                         c->sub ? " " : "", c->sub ? c->sub : "",
                         *c->args ? " " : "", c->args, prefix);
        if (w < 0 || (size_t)w >= size)
                return;
        n = (size_t)w;
        for (const char *p = c->help; *p && n + 1 < size; p++) {
                buf[n++] = *p;
                if (*p == '\n') {
                        w = snprintf(buf + n, size - n, "%s    ", prefix);
                        if (w < 0 || (size_t)w >= size - n)
                                break;
                        n += (size_t)w;
                }
        }
        if (n + 1 < size)
                buf[n++] = '\n';
        buf[n] = '\0';
}

static int cmd_help(devbroker_t *db, char **arg, int argc, int out_fd,
                    char *errstr, size_t errstr_size)
{
        char doc[512];
        for (size_t i = 0; i < DB_CMD_CNT; i++) {
                db_cmd_doc(i, "# ", doc, sizeof(doc));
                if (db_write_all(out_fd, doc, strlen(doc)))
                        break;
        }
        return 0;
}

/* Run one control line; 1 if it was a command (reply owed), 0 if it was
 * blank or a comment.  On failure errstr says why. */
static int db_run_line(devbroker_t *db, char *line, int out_fd, int *failed,
                       char *errstr, size_t errstr_size)
{
        char *word[DB_MAX_ARGS + 1], *save = NULL;
        int n = 0;

        *failed = 0;
        line += strspn(line, " \t\r");
        if (!*line || *line == '#')
                return 0;
        for (char *w = strtok_r(line, " \t\r", &save); w;
             w = strtok_r(NULL, " \t\r", &save)) {
                if (n == DB_MAX_ARGS + 1) {
                        snprintf(errstr, errstr_size, "too many words");
                        *failed = 1;
                        return 1;
                }
                word[n++] = w;
        }

        const struct db_cmd *verb_match = NULL;
        for (size_t i = 0; i < DB_CMD_CNT; i++) {
                const struct db_cmd *c = &db_cmds[i];
                if (strcmp(c->verb, word[0]))
                        continue;
                verb_match = c;
                if (c->sub && (n < 2 || strcmp(c->sub, word[1])))
                        continue;
                int skip = c->sub ? 2 : 1;
                int argc = n - skip;
                if (argc < c->min_args || argc > c->max_args) {
                        snprintf(errstr, errstr_size, "usage: %s%s%s%s%s",
                                 c->verb, c->sub ? " " : "",
                                 c->sub ? c->sub : "", *c->args ? " " : "",
                                 c->args);
                        *failed = 1;
                        return 1;
                }
                *failed = c->fn(db, word + skip, argc, out_fd, errstr,
                                errstr_size) != 0;
                return 1;
        }
        snprintf(errstr, errstr_size, "unknown command \"%s%s%s\" (try help)",
                 word[0], verb_match && n > 1 ? " " : "",
                 verb_match && n > 1 ? word[1] : "");
        *failed = 1;
        return 1;
}

static void db_handle_line(devbroker_t *db, db_chan_t *ch, char *line)
{
        char text[DB_LINE_MAX], errstr[512], reply[600];
        int failed;

        line[strcspn(line, "\r")] = '\0';
        snprintf(text, sizeof(text), "%s", line);
        if (!db_run_line(db, line, ch->out_fd, &failed, errstr, sizeof(errstr)))
                return;
        if (failed) {
                ql_warn(db->lg, "%s: %s: error: %s", ch->name, text, errstr);
                snprintf(reply, sizeof(reply), "error: %s\n", errstr);
        } else {
                ql_info(db->lg, "%s: %s: ok", ch->name, text);
                snprintf(reply, sizeof(reply), "ok\n");
        }
        if (db_write_all(ch->out_fd, reply, strlen(reply)))
                ql_debug(db->lg, "%s: reply not delivered: %s", ch->name,
                         strerror(errno));
}

/* Read what is available on ch and run every complete line.  -1 at EOF or on
 * a read error (then the channel is done). */
static int db_chan_read(devbroker_t *db, db_chan_t *ch)
{
        ssize_t n =
            read(ch->in_fd, ch->buf + ch->len, sizeof(ch->buf) - 1 - ch->len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (n <= 0) {
                if (n < 0)
                        ql_warn(db->lg, "%s: read: %s", ch->name,
                                strerror(errno));
                if (ch->len > 0 && !ch->overlong) { /* last line, no \n */
                        ch->buf[ch->len] = '\0';
                        db_handle_line(db, ch, ch->buf);
                }
                return -1;
        }
        ch->len += (size_t)n;

        char *start = ch->buf, *nl;
        while (
            (nl = memchr(start, '\n', ch->len - (size_t)(start - ch->buf)))) {
                *nl = '\0';
                if (ch->overlong) {
                        static const char msg[] = "error: line too long\n";
                        ql_warn(db->lg, "%s: line over %d bytes ignored",
                                ch->name, DB_LINE_MAX - 2);
                        db_write_all(ch->out_fd, msg, sizeof(msg) - 1);
                        ch->overlong = 0;
                } else {
                        db_handle_line(db, ch, start);
                }
                start = nl + 1;
        }
        ch->len -= (size_t)(start - ch->buf);
        memmove(ch->buf, start, ch->len);
        if (ch->len == sizeof(ch->buf) - 1) { /* full, no newline */
                ch->overlong = 1;
                ch->len = 0;
        }
        return 0;
}

/* ---------------------------------------------------------- control socket */

/* A listening Unix socket at path.  A stale socket file left by a killed
 * devbroker is replaced; a live one (or any other file) is an error. */
static int db_control_listen(const char *path, char *errstr, size_t errstr_size)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat st;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                snprintf(errstr, errstr_size, "--control %s: path too long",
                         path);
                return -1;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);

        if (lstat(path, &st) == 0) {
                int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                int live =
                    probe >= 0 && S_ISSOCK(st.st_mode) &&
                    connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
                if (probe >= 0)
                        close(probe);
                if (!S_ISSOCK(st.st_mode) || live) {
                        snprintf(errstr, errstr_size, "--control %s: %s", path,
                                 live ? "another process listens there"
                                      : "exists and is not a socket");
                        return -1;
                }
                unlink(path);
        }

        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
            listen(fd, 8)) {
                snprintf(errstr, errstr_size, "--control %s: %s", path,
                         strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        return fd;
}

/* Take a new control connection into a free slot of clients[0..n-1]. */
static void db_control_accept(devbroker_t *db, int lfd, db_chan_t *clients,
                              size_t n)
{
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
                ql_warn(db->lg, "control: accept: %s", strerror(errno));
                return;
        }
        /* A client that stops reading must not stall the loop for good:
         * its answers are dropped after a while instead. */
        struct timeval tv = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        for (size_t i = 0; i < n; i++) {
                if (clients[i].in_fd < 0) {
                        clients[i] = (db_chan_t){
                            .in_fd = fd, .out_fd = fd, .name = "control"};
                        ql_debug(db->lg, "control: client connected");
                        return;
                }
        }
        static const char msg[] = "error: too many control connections\n";
        db_write_all(fd, msg, sizeof(msg) - 1);
        close(fd);
        ql_warn(db->lg, "control: connection refused: %d already open",
                DB_MAX_CLIENTS);
}

/* ------------------------------------------------------------ the cluster */

static void db_on_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac,
                              const char *buf)
{
        devbroker_t *db = rd_kafka_opaque(rk);
        /* The cluster's own handle has no bootstrap.servers, by design;
         * librdkafka's warning about it would only mislead. */
        if (!strcmp(fac, "CONFWARN")) {
                ql_debug(db->lg, "librdkafka %s: %s", fac, buf);
                return;
        }
        ql_log_level_t l = level <= 3   ? QL_LOG_ERROR
                           : level == 4 ? QL_LOG_WARN
                           : level <= 6 ? QL_LOG_INFO
                                        : QL_LOG_DEBUG;
        ql_log(db->lg, l, "librdkafka %s: %s", fac, buf);
}

static int db_start(devbroker_t *db, char *errstr, size_t errstr_size)
{
        const db_opts_t *o = db->opts;
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        rd_kafka_conf_set_opaque(conf, db);
        rd_kafka_conf_set_log_cb(conf, db_on_rdkafka_log);
        if (rd_kafka_conf_set(conf, "client.id", DB_PROG, errstr,
                              errstr_size) != RD_KAFKA_CONF_OK ||
            (o->rdkafka_debug &&
             rd_kafka_conf_set(conf, "debug", o->rdkafka_debug, errstr,
                               errstr_size) != RD_KAFKA_CONF_OK)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        db->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
        if (!db->rk) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        conf = NULL; /* rd_kafka_new() owns it now */

        db->mcluster = rd_kafka_mock_cluster_new(db->rk, o->brokers);
        if (!db->mcluster) {
                snprintf(errstr, errstr_size,
                         "could not start a mock cluster of %d brokers "
                         "(see the librdkafka lines above)",
                         o->brokers);
                return -1;
        }

        int rf = o->brokers < 3 ? o->brokers : 3;
        for (size_t i = 0; i < o->topic_cnt; i++) {
                rd_kafka_resp_err_t err =
                    db_topic_create(db, o->topics[i], o->partitions, rf);
                if (err) {
                        snprintf(errstr, errstr_size, "topic %s: %s",
                                 o->topics[i], rd_kafka_err2str(err));
                        return -1;
                }
                ql_info(db->lg,
                        "topic %s: %d partitions, replication factor %d",
                        o->topics[i], o->partitions, rf);
        }
        return 0;
}

static void db_stop(devbroker_t *db)
{
        if (db->mcluster)
                rd_kafka_mock_cluster_destroy(db->mcluster);
        if (db->rk)
                rd_kafka_destroy(db->rk);
        db->mcluster = NULL;
        db->rk = NULL;
}

/* Serve control lines until a signal clears `run`.  SIGINT and SIGTERM are
 * blocked except inside ppoll(), so a signal always ends the wait. */
static void db_serve(devbroker_t *db, int lfd, const sigset_t *waitmask)
{
        db_chan_t chans[1 + DB_MAX_CLIENTS];

        chans[0] = (db_chan_t){
            .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .name = "stdin"};
        for (size_t i = 1; i < 1 + DB_MAX_CLIENTS; i++)
                chans[i].in_fd = -1;

        while (run) {
                struct pollfd pfd[2 + DB_MAX_CLIENTS];
                db_chan_t *owner[2 + DB_MAX_CLIENTS];
                nfds_t n = 0;

                if (lfd >= 0) {
                        pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
                        owner[n++] = NULL;
                }
                for (size_t i = 0; i < 1 + DB_MAX_CLIENTS; i++) {
                        if (chans[i].in_fd < 0)
                                continue;
                        pfd[n] = (struct pollfd){.fd = chans[i].in_fd,
                                                 .events = POLLIN};
                        owner[n++] = &chans[i];
                }

                if (ppoll(pfd, n, NULL, waitmask) < 0) {
                        if (errno != EINTR) {
                                ql_error(db->lg, "poll: %s", strerror(errno));
                                break;
                        }
                        continue;
                }
                for (nfds_t i = 0; i < n; i++) {
                        if (!pfd[i].revents)
                                continue;
                        if (!owner[i]) {
                                db_control_accept(db, lfd, chans + 1,
                                                  DB_MAX_CLIENTS);
                                continue;
                        }
                        db_chan_t *ch = owner[i];
                        if (pfd[i].revents & POLLNVAL ||
                            db_chan_read(db, ch) < 0) {
                                if (ch == &chans[0])
                                        ql_info(db->lg,
                                                "stdin closed; serving until "
                                                "SIGTERM or SIGINT");
                                else
                                        close(ch->in_fd);
                                ch->in_fd = -1;
                        }
                }
        }
        for (size_t i = 1; i < 1 + DB_MAX_CLIENTS; i++)
                if (chans[i].in_fd >= 0)
                        close(chans[i].in_fd);
}

/* ------------------------------------------------------------------- main */

static void db_usage(FILE *out)
{
        fprintf(out,
                "Usage: " DB_PROG " [OPTION]...\n"
                "A Kafka cluster for the demo and the tests: librdkafka's "
                "in-memory mock\ncluster serving the Kafka protocol on "
                "loopback (no durability; never for\nproduction).  Prints "
                "its bootstrap list (127.0.0.1:PORT,...) as the first line\n"
                "on stdout, then serves until SIGTERM or SIGINT and exits "
                "0.\n\n"
                "Options:\n"
                "  -b, --brokers N        brokers, ids 1..N (default 3, at "
                "most %d)\n"
                "  -p, --partitions N     partitions of each topic created "
                "at start (default 6)\n"
                "  -t, --topic NAME       also create topic NAME at start "
                "(repeatable)\n"
                "  -s, --control PATH     also take control commands on "
                "Unix socket PATH\n"
                "      --log-level LEVEL  debug, info, warn or error "
                "(QL_LOG_LEVEL; info)\n"
                "      --log-format FMT   text or json (QL_LOG_FORMAT; "
                "text)\n"
                "      --rdkafka-debug CONTEXTS\n"
                "                         librdkafka debug contexts for the "
                "cluster, e.g. mock\n"
                "  -h, --help             print this text\n"
                "  -V, --version          print the version\n\n"
                "Topics created at start: inspection.results and "
                "inspection.results.dlq\n(and $QL_TOPIC, $QL_DLQ_TOPIC when "
                "set), with the partitions above and\nreplication factor "
                "min(3, brokers).\n\n"
                "Control commands, one a line, on stdin and on the --control "
                "socket.  Each\nis answered on the channel it came from, "
                "after the bootstrap line on\nstdout: \"ok\" once it is in "
                "force, or \"error: REASON\".  Blank lines and\nlines "
                "starting with # are ignored.  At the end of stdin the "
                "cluster keeps\nserving.\n\n",
                DB_MAX_BROKERS);
        for (size_t i = 0; i < DB_CMD_CNT; i++) {
                char doc[512];
                db_cmd_doc(i, "  ", doc, sizeof(doc));
                fputs(doc, out);
        }
        fprintf(
            out,
            "\nAPI is a Kafka request type: Produce, Fetch, ListOffsets, "
            "Metadata,\nOffsetCommit, OffsetFetch, FindCoordinator, "
            "JoinGroup, Heartbeat, LeaveGroup,\nSyncGroup, "
            "InitProducerId, ... or its API key number.  CODE is an "
            "error\nname as librdkafka spells it (NOT_LEADER_FOR_PARTITION, "
            "REQUEST_TIMED_OUT,\n_TRANSPORT to drop the connection) or "
            "its number.  (librdkafka 2.0.2's mock ignores errors pushed for "
            "Metadata.)\nExamples:\n"
            "  error Produce NOT_LEADER_FOR_PARTITION 3\n"
            "  broker down 1\n");
}

static int db_add_topic(db_opts_t *o, const char *name)
{
        if (!name || !*name)
                return 0;
        for (size_t i = 0; i < o->topic_cnt; i++)
                if (!strcmp(o->topics[i], name))
                        return 0;
        const char **t = realloc(o->topics, sizeof(*t) * (o->topic_cnt + 1));
        if (!t)
                return -1;
        t[o->topic_cnt++] = name;
        o->topics = t;
        return 0;
}

/* 0 to run, 1 after --help/--version, 2 on a usage error (message printed). */
static int db_parse_opts(db_opts_t *o, int argc, char **argv)
{
        static const struct option longopts[] = {
            {"brokers", required_argument, NULL, 'b'},
            {"partitions", required_argument, NULL, 'p'},
            {"topic", required_argument, NULL, 't'},
            {"control", required_argument, NULL, 's'},
            {"log-level", required_argument, NULL, 'L'},
            {"log-format", required_argument, NULL, 'F'},
            {"rdkafka-debug", required_argument, NULL, 'D'},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {NULL, 0, NULL, 0},
        };
        const char *level = getenv("QL_LOG_LEVEL");
        const char *format = getenv("QL_LOG_FORMAT");
        char errstr[256];
        int c;

        *o = (db_opts_t){.brokers = 3, .partitions = 6};
        if (db_add_topic(o, "inspection.results") ||
            db_add_topic(o, "inspection.results.dlq") ||
            db_add_topic(o, getenv("QL_TOPIC")) ||
            db_add_topic(o, getenv("QL_DLQ_TOPIC")))
                goto nomem;

        while ((c = getopt_long(argc, argv, "b:p:t:s:hV", longopts, NULL)) !=
               -1) {
                switch (c) {
                case 'b':
                        if (db_parse_int("--brokers", optarg, 1, DB_MAX_BROKERS,
                                         &o->brokers, errstr, sizeof(errstr)))
                                goto bad;
                        break;
                case 'p':
                        if (db_parse_int("--partitions", optarg, 1, 10000,
                                         &o->partitions, errstr,
                                         sizeof(errstr)))
                                goto bad;
                        break;
                case 't':
                        if (db_add_topic(o, optarg))
                                goto nomem;
                        break;
                case 's':
                        o->control_path = optarg;
                        break;
                case 'L':
                        level = optarg;
                        break;
                case 'F':
                        format = optarg;
                        break;
                case 'D':
                        o->rdkafka_debug = optarg;
                        break;
                case 'h':
                        db_usage(stdout);
                        return 1;
                case 'V':
                        printf(DB_PROG " %s (librdkafka %s)\n", QL_VERSION,
                               rd_kafka_version_str());
                        return 1;
                default:
                        fprintf(stderr, "Try '" DB_PROG " --help'.\n");
                        return 2;
                }
        }
        if (optind < argc) {
                snprintf(errstr, sizeof(errstr), "unexpected argument \"%s\"",
                         argv[optind]);
                goto bad;
        }
        int l = level && *level ? ql_log_level_parse(level) : QL_LOG_INFO;
        int f = format && *format ? ql_log_format_parse(format) : QL_LOG_TEXT;
        if (l < 0 || f < 0) {
                snprintf(errstr, sizeof(errstr), "%s: unknown value \"%s\"",
                         l < 0 ? "log level" : "log format",
                         l < 0 ? level : format);
                goto bad;
        }
        o->log_level = (ql_log_level_t)l;
        o->log_format = (ql_log_format_t)f;
        return 0;

bad:
        fprintf(stderr, DB_PROG ": %s\n", errstr);
        return 2;
nomem:
        fprintf(stderr, DB_PROG ": out of memory\n");
        return 2;
}

int main(int argc, char **argv)
{
        db_opts_t opts;
        devbroker_t db = {.opts = &opts};
        char errstr[512];
        int lfd = -1, rc = 1;

        int prc = db_parse_opts(&opts, argc, argv);
        if (prc) {
                free(opts.topics);
                return prc == 1 ? 0 : 2;
        }
        db.lg = ql_log_new(DB_PROG, opts.log_level, opts.log_format);
        if (!db.lg) {
                fprintf(stderr, DB_PROG ": out of memory\n");
                free(opts.topics);
                return 1;
        }

        /* Block the stop signals before librdkafka starts its threads, so
         * they inherit the mask and only ppoll() in this thread sees them. */
        sigset_t stop, waitmask;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop, &waitmask);
        sigdelset(&waitmask, SIGINT);
        sigdelset(&waitmask, SIGTERM);
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN); /* a reader gone is a failed write */

        if (db_start(&db, errstr, sizeof(errstr))) {
                ql_error(db.lg, "%s", errstr);
                goto out;
        }
        if (opts.control_path) {
                lfd = db_control_listen(opts.control_path, errstr,
                                        sizeof(errstr));
                if (lfd < 0) {
                        ql_error(db.lg, "%s", errstr);
                        goto out;
                }
                ql_info(db.lg, "control socket %s", opts.control_path);
        }

        const char *bootstraps = rd_kafka_mock_cluster_bootstraps(db.mcluster);
        printf("%s\n", bootstraps);
        if (fflush(stdout)) {
                ql_error(db.lg, "stdout: %s", strerror(errno));
                goto out;
        }
        ql_info(db.lg, "serving %d brokers at %s (librdkafka %s)", opts.brokers,
                bootstraps, rd_kafka_version_str());

        db_serve(&db, lfd, &waitmask);
        ql_info(db.lg, "stopping");
        rc = 0;

out:
        if (lfd >= 0) {
                close(lfd);
                unlink(opts.control_path);
        }
        db_stop(&db);
        ql_log_destroy(db.lg);
        free(opts.topics);
        return rc;
}
