/*
 * db_control: the channels control lines arrive on: stdin and
 * the connections to the Unix socket of --control, each read into lines
 * (an over-long line is discarded whole) and answered on its own channel.
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

int db_write_all(int fd, const char *buf, size_t len)
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

/* Read what is available on ch and run every complete line.  -1 at EOF or on
 * a read error (then the channel is done). */
int db_chan_read(devbroker_t *db, db_chan_t *ch)
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
int db_control_listen(const char *path, char *errstr, size_t errstr_size)
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
void db_control_accept(devbroker_t *db, int lfd, db_chan_t *clients, size_t n)
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
