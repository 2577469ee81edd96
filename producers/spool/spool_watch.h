/*
 * spool_watch: inotify on DIR/incoming/.  A file is announced when it is
 * closed after writing (IN_CLOSE_WRITE) or moved in (IN_MOVED_TO); a name
 * that leaves (deleted or moved out) is announced as gone, so the queue can
 * forget it.  The descriptor is non-blocking, for poll(2) in the daemon loop.
 */
#ifndef SPOOL_WATCH_H
#define SPOOL_WATCH_H

#include <stddef.h>

typedef struct spool_watch_s spool_watch_t;

typedef enum {
        SPOOL_WATCH_READY, /* written and closed, or moved in */
        SPOOL_WATCH_GONE,  /* deleted or moved out */
} spool_watch_event_t;

typedef void (*spool_watch_fn)(void *arg, const char *name,
                               spool_watch_event_t ev);

spool_watch_t *spool_watch_new(const char *dir, char *errstr,
                               size_t errstr_size);
void spool_watch_destroy(spool_watch_t *w); /* accepts NULL */

int spool_watch_fd(const spool_watch_t *w);

/* Read every pending event and call fn for each.  Returns 0; 1 if the
 * kernel's event queue overflowed (events were lost: rescan the directory);
 * -1 with errstr if the directory itself went away or reading failed. */
int spool_watch_read(spool_watch_t *w, spool_watch_fn fn, void *arg,
                     char *errstr, size_t errstr_size);

#endif
