/*
 * bd_static: the workbench's static files (its stylesheet and script),
 * read once at start from QL_BOARD_STATIC_DIR and served from memory with
 * an ETag, so a browser revalidates instead of downloading them again.
 */
#ifndef BD_STATIC_H
#define BD_STATIC_H

#include <stddef.h>

typedef struct bd_static_s bd_static_t;

/* Load every *.css, *.js, *.svg and *.png file of dir.  NULL with errstr if
 * the directory cannot be read or holds no board.css. */
bd_static_t *bd_static_load(const char *dir, char *errstr, size_t errstr_size);
void bd_static_destroy(bd_static_t *st); /* accepts NULL */

/* The file called name: its bytes, length, Content-Type and ETag; NULL if
 * there is none.  Owned by st. */
const char *bd_static_get(const bd_static_t *st, const char *name, size_t *len,
                          const char **content_type, const char **etag);

#endif
