/*
 * bd_db: ql-board's side of PostgreSQL.  It holds no connection of its own:
 * each officer's sign-in opens one as that officer (QL_BOARD_PG plus the
 * login and the password typed, which is not kept), and every page and form
 * runs on that connection, so row-level security and the officer functions'
 * checks decide what each officer sees and may do.
 *
 * Statements are prepared on a connection the first time it needs them
 * (bd_sql.h).  A database error becomes a plain Chinese sentence for the
 * officer; the details (SQLSTATE, the server's message) go to the log only.
 */
#ifndef BD_DB_H
#define BD_DB_H

#include <libpq-fe.h>
#include <stddef.h>

#include "bd_session.h"
#include "bd_sql.h"
#include "ql_log.h"

/* Check QL_BOARD_PG at start: it must parse, and must not name a user or a
 * password (each officer brings their own).  0, or -1 with errstr. */
int bd_db_check_conninfo(const char *conninfo, char *errstr,
                         size_t errstr_size);

typedef enum {
        BD_LOGIN_OK = 0,
        BD_LOGIN_DENIED,      /* wrong login or password */
        BD_LOGIN_NOT_OFFICER, /* connected, but not a ql_officer member, or
                                 a superuser */
        BD_LOGIN_UNAVAILABLE, /* the database could not be reached */
} bd_login_rc_t;

/* Connect as `login` with `password`.  On BD_LOGIN_OK *conn is the ready
 * connection (time zone China, statement timeout set) and *caps its
 * BD_CAP_* bits.  errstr gets the reason for the log (never the
 * password). */
bd_login_rc_t bd_db_login(const char *conninfo, const char *login,
                          const char *password, PGconn **conn /* OUT */,
                          unsigned *caps /* OUT */, char *errstr,
                          size_t errstr_size);

typedef enum {
        BD_DB_OK = 0,
        BD_DB_ERROR, /* the statement failed; msg says why, in Chinese */
        BD_DB_LOST,  /* the connection is gone: end the session */
} bd_db_rc_t;

/* Run statement q with nparams text parameters (NULL = SQL NULL) on the
 * session's connection.  BD_DB_OK with *res (PQclear it), or an error with
 * msg (a sentence for the officer) filled and details logged. */
bd_db_rc_t bd_db_run(bd_session_t *s, ql_log_t *lg, bd_query_t q,
                     const char *const *params, PGresult **res /* OUT */,
                     char *msg, size_t msg_size);

/* The Chinese sentence for a failed result's SQLSTATE. */
const char *bd_db_message(const char *sqlstate);

/* The ping behind /readyz: does the server accept connections?  (No
 * credentials needed: PQping.) */
int bd_db_ping(const char *conninfo);

#endif
