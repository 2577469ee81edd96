/*
 * db_cluster: the mock cluster: started with its topics, served
 * (the control channels polled until a stop signal), stopped.
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

int db_start(devbroker_t *db, char *errstr, size_t errstr_size)
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

void db_stop(devbroker_t *db)
{
        if (db->mcluster)
                rd_kafka_mock_cluster_destroy(db->mcluster);
        if (db->rk)
                rd_kafka_destroy(db->rk);
        db->mcluster = NULL;
        db->rk = NULL;
}

/* Serve control lines until a signal clears *run.  SIGINT and SIGTERM are
 * blocked except inside ppoll(), so a signal always ends the wait. */
void db_serve(devbroker_t *db, int lfd, const sigset_t *waitmask,
              const volatile sig_atomic_t *run)
{
        db_chan_t chans[1 + DB_MAX_CLIENTS];

        chans[0] = (db_chan_t){
            .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .name = "stdin"};
        for (size_t i = 1; i < 1 + DB_MAX_CLIENTS; i++)
                chans[i].in_fd = -1;

        while (*run) {
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
