/*
 * spool_watch: the inotify watch on incoming/ and the decoding of its event
 * stream into "ready" and "gone" names.
 */
#include "spool_watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

struct spool_watch_s {
        int fd, wd;
};

spool_watch_t *spool_watch_new(const char *dir, char *errstr,
                               size_t errstr_size)
{
        spool_watch_t *w = calloc(1, sizeof(*w));
        if (!w) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0) {
                snprintf(errstr, errstr_size, "inotify: %s", strerror(errno));
                free(w);
                return NULL;
        }
        w->wd = inotify_add_watch(w->fd, dir,
                                  IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                                      IN_DELETE | IN_DELETE_SELF |
                                      IN_MOVE_SELF | IN_ONLYDIR);
        if (w->wd < 0) {
                snprintf(errstr, errstr_size, "inotify %s: %s", dir,
                         strerror(errno));
                spool_watch_destroy(w);
                return NULL;
        }
        return w;
}

void spool_watch_destroy(spool_watch_t *w)
{
        if (!w)
                return;
        if (w->fd >= 0)
                close(w->fd);
        free(w);
}

int spool_watch_fd(const spool_watch_t *w)
{
        return w->fd;
}

int spool_watch_read(spool_watch_t *w, spool_watch_fn fn, void *arg,
                     char *errstr, size_t errstr_size)
{
        char buf[16384]
            __attribute__((aligned(__alignof__(struct inotify_event))));
        int overflow = 0;
        for (;;) {
                ssize_t n = read(w->fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return overflow;
                        if (errno == EINTR)
                                continue;
                        snprintf(errstr, errstr_size, "inotify: %s",
                                 strerror(errno));
                        return -1;
                }
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const void *)p;
                        p += sizeof(*e) + e->len;
                        if (e->mask & IN_Q_OVERFLOW) {
                                overflow = 1;
                                continue;
                        }
                        if (e->mask &
                            (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                                snprintf(errstr, errstr_size,
                                         "the incoming directory was "
                                         "removed or moved");
                                return -1;
                        }
                        if (!e->len || (e->mask & IN_ISDIR))
                                continue;
                        if (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
                                fn(arg, e->name, SPOOL_WATCH_READY);
                        else if (e->mask & (IN_MOVED_FROM | IN_DELETE))
                                fn(arg, e->name, SPOOL_WATCH_GONE);
                }
        }
}
