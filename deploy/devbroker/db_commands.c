/*
 * db_commands: the control commands: a line split into words,
 * matched against the command table, its arguments parsed (broker ids, API
 * names or keys, error codes by name) and applied to the mock cluster;
 * "help" lists the table.
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

#include "devbroker.h"
#include "ql_log.h"

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

int db_parse_int(const char *what, const char *s, long min, long max, int *out,
                 char *errstr, size_t errstr_size)
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
rd_kafka_resp_err_t db_topic_create(devbroker_t *db, const char *topic,
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

const size_t db_cmd_count = DB_CMD_CNT;

/* Command i's usage and description, each line started with prefix. */
void db_cmd_doc(size_t i, const char *prefix, char *buf, size_t size)
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

void db_handle_line(devbroker_t *db, db_chan_t *ch, char *line)
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
