/*
 * spool_dir: the spool directory of one lab and the moves files make in it.
 *
 *     DIR/incoming/   the lab drops *.csv and *.jsonl here
 *     DIR/done/       files whose good records Kafka acknowledged (kept
 *                     for ever, or removed after a retention period)
 *     DIR/rejected/   unreadable files, and NAME.errors.jsonl lists
 *     DIR/.ql-spool.lock   held (flock) by the one ql-spool serving DIR
 *
 * Every move is one rename(2) within DIR (atomic), and never replaces a file:
 * a name already taken in done/ or rejected/ gets a counter before its
 * extension (export.csv, export.1.csv, export.2.csv, ...).  A file's errors
 * list is named after the file's final name, so done/export.1.csv goes with
 * rejected/export.1.csv.errors.jsonl.
 */
#ifndef SPOOL_DIR_H
#define SPOOL_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "spool_rejects.h"

typedef struct spool_dir_s spool_dir_t;

/* What a name in incoming/ is to the spool. */
typedef enum {
        SPOOL_NAME_CSV,    /* *.csv, any case */
        SPOOL_NAME_JSONL,  /* *.jsonl, any case */
        SPOOL_NAME_HIDDEN, /* .name: a file being written; ignored quietly */
        SPOOL_NAME_OTHER,  /* anything else: left alone (logged once) */
} spool_name_t;

spool_name_t spool_dir_classify(const char *name);

/* Open DIR, creating DIR and its three subdirectories if missing, and take
 * its lock.  NULL with errstr (e.g. another ql-spool holds the lock). */
spool_dir_t *spool_dir_open(const char *path, char *errstr, size_t errstr_size);
void spool_dir_close(spool_dir_t *d); /* releases the lock; accepts NULL */

const char *spool_dir_path(const spool_dir_t *d);
const char *spool_dir_incoming(const spool_dir_t *d); /* DIR/incoming */
int spool_dir_incoming_fd(const spool_dir_t *d);
int spool_dir_rejected_fd(const spool_dir_t *d);

/* The regular files of incoming/ (not dot files), sorted by name.  On
 * success *names (OUT) is a malloc'ed array of *n malloc'ed strings: you own
 * them (spool_dir_names_free).  -1 with errstr. */
int spool_dir_list(const spool_dir_t *d, char ***names, size_t *n, char *errstr,
                   size_t errstr_size);
void spool_dir_names_free(char **names, size_t n);

/* The last modification of incoming/NAME, in milliseconds since the epoch
 * (OUT): how long ago its writer last wrote, when the directory gives no
 * other sign (a network share sends no inotify events).  0, or -1 if it is
 * gone or not a regular file. */
int spool_dir_mtime(const spool_dir_t *d, const char *name,
                    int64_t *mtime_ms /* OUT */);

/* Told about each file spool_dir_expire_done() removed (err 0) or could
 * not remove (err an errno value). */
typedef void (*spool_dir_expired_fn)(void *arg, const char *name,
                                     int64_t mtime_ms, int err);

/* done/'s retention: remove the regular files of done/ last modified before
 * cutoff_ms (milliseconds since the epoch), calling fn for each.  Dot files
 * and anything that is not a regular file are left alone.  Returns the
 * number removed, or -1 with errstr if done/ cannot be listed. */
long spool_dir_expire_done(spool_dir_t *d, int64_t cutoff_ms,
                           spool_dir_expired_fn fn, void *arg, char *errstr,
                           size_t errstr_size);

typedef enum { SPOOL_TO_DONE, SPOOL_TO_REJECTED } spool_dest_t;

/* Finish incoming/NAME: commit its errors list (if rj holds any) as
 * rejected/FINAL.errors.jsonl, then move the file to done/FINAL or
 * rejected/FINAL, FINAL being NAME or NAME with a counter, free in both
 * places.  The errors list goes first so that a crash in between leaves the
 * file in incoming/ (it is read again) rather than a moved file without its
 * errors.  final (OUT) receives FINAL.  0, or -1 with errstr (the file is
 * then still in incoming/). */
int spool_dir_finish(spool_dir_t *d, const char *name, spool_dest_t dest,
                     spool_rejects_t *rj, char *final, size_t final_size,
                     char *errstr, size_t errstr_size);

#endif
