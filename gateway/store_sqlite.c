/*
 * store_sqlite.c - the embedded store (gw_store.h): one SQLite file in
 * write-ahead-log mode, held by one gateway at a time.
 *
 * A file is refused at open, never replaced or rewritten, when it is not
 * a SQLite database, not a coapgw one (PRAGMA application_id), of a newer
 * schema (PRAGMA user_version), corrupt (PRAGMA quick_check), unreadable,
 * or held by another process: locking_mode EXCLUSIVE takes the lock at
 * open and keeps it, so a second gateway on the same file stops at start
 * instead of interleaving its writes (and in WAL mode without a -shm file
 * nobody else can read it while it runs). Until the file passed every
 * check, closing it must not checkpoint a WAL file beside it into it.
 *
 * Every put and delete is one transaction of its own, committed (WAL
 * frame written, and with synchronous=FULL synced) before it returns.
 * Statements are prepared once, at open.
 */
#include "gw_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APP_ID         0x636f6777 /* "cogw" */
#define SCHEMA_VERSION 1

static const char schema[] = "CREATE TABLE registrations ("
                             " id TEXT PRIMARY KEY,"
                             " name TEXT NOT NULL,"
                             " registrant_host TEXT NOT NULL,"
                             " registrant_port INTEGER NOT NULL,"
                             " base TEXT NOT NULL,"
                             " implicit_base INTEGER NOT NULL,"
                             " lifetime_s INTEGER NOT NULL,"
                             " expires_at INTEGER NOT NULL," /* CLOCK_REALTIME seconds */
                             " links BLOB NOT NULL,"
                             " owner TEXT)"; /* NULL: plaintext */

typedef struct {
    gw_store_t base;
    sqlite3 *db;
    sqlite3_stmt *put, *del, *all;
    char path[];
} sq_store_t;

/* The reason of the connection's last failure: SQLite's message, and the
 * system's when an I/O call failed. */
static int sq_fail(sq_store_t *s, const char *what)
{
    int sys = sqlite3_system_errno(s->db);
    if (sys)
        return gw_store_fail(&s->base, "%s: %s: %s (%s)", s->path, what, sqlite3_errmsg(s->db),
                             strerror(sys));
    return gw_store_fail(&s->base, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

/* --- open: the directory, the file, the checks --- */

/* Creates the missing directories of path's parent, each 0700. */
static int make_parent(sq_store_t *s)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", s->path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p && *p != '/') continue;
        char c = *p;
        *p = '\0';
        struct stat st;
        /* EEXIST: another process made it between the stat and the mkdir */
        if (stat(dir, &st) && (errno != ENOENT || (mkdir(dir, 0700) && errno != EEXIST)))
            return gw_store_fail(&s->base, "%s: cannot create the directory %s: %s", s->path, dir,
                                 strerror(errno));
        if (!stat(dir, &st) && !S_ISDIR(st.st_mode))
            return gw_store_fail(&s->base, "%s: %s is not a directory", s->path, dir);
        if (!(*p = c)) return 0;
    }
}

/* Why another local user could change what the gateway reads back (NULL:
 * nobody can): a file must be this user's, a directory this user's or
 * root's, and neither writable by group or others: in a directory such
 * as /tmp anyone could plant the file, or its -wal beside it, before the
 * gateway creates them, and write registrations into it later. */
static const char *others_may_write(const struct stat *st, int is_dir)
{
    if (st->st_uid != geteuid() && !(is_dir && st->st_uid == 0)) return "owned by another user";
    if (st->st_mode & (S_IWGRP | S_IWOTH)) return "group or others may write to it";
    return NULL;
}

/* The directory of the file, and SQLite's files beside it when they exist
 * (a -wal is read back into the database at open). */
static int check_surroundings(sq_store_t *s)
{
    static const char *const beside[] = {"-wal", "-shm", "-journal"};
    char name[4200];
    struct stat st;
    const char *slash = strrchr(s->path, '/');
    snprintf(name, sizeof name, "%.*s", slash ? (int)(slash - s->path) + 1 : 1,
             slash ? s->path : ".");
    const char *why = stat(name, &st) ? strerror(errno) : others_may_write(&st, 1);
    if (why) return gw_store_fail(&s->base, "%s: its directory %s: %s", s->path, name, why);
    for (size_t i = 0; i < sizeof beside / sizeof beside[0]; i++) {
        snprintf(name, sizeof name, "%s%s", s->path, beside[i]);
        if (lstat(name, &st)) continue;
        why = !S_ISREG(st.st_mode) ? "not a regular file" : others_may_write(&st, 0);
        if (why) return gw_store_fail(&s->base, "%s: %s", name, why);
    }
    return 0;
}

/* The file exists (created empty with mode 0600 when it did not), is a
 * regular file, this process may read and write it, and nobody else. */
static int check_file(sq_store_t *s)
{
    int fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return gw_store_fail(&s->base, "%s: cannot open: %s", s->path,
                             errno == ELOOP ? "a symbolic link" : strerror(errno));
    struct stat st;
    int bad = fstat(fd, &st) || !S_ISREG(st.st_mode);
    close(fd);
    if (bad) return gw_store_fail(&s->base, "%s: not a regular file", s->path);
    const char *why = others_may_write(&st, 0);
    if (why) return gw_store_fail(&s->base, "%s: %s", s->path, why);
    return check_surroundings(s);
}

static int exec(sq_store_t *s, const char *sql, const char *what)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : sq_fail(s, what);
}

/* The first column of the first row of sql, as an integer or text. */
static int query(sq_store_t *s, const char *sql, long long *num, char *text, size_t cap)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return sq_fail(s, sql);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (num) *num = sqlite3_column_int64(st, 0);
        if (text) snprintf(text, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sq_fail(s, sql);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

/* The first transaction: takes the lock for good, tells what the file is,
 * and gives an empty one the schema. */
static int check_identity(sq_store_t *s)
{
    int rc = sqlite3_exec(s->db, "BEGIN EXCLUSIVE", NULL, NULL, NULL);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return gw_store_fail(&s->base, "%s: in use by another process (another coapgw?)", s->path);
    if (rc == SQLITE_NOTADB)
        return gw_store_fail(&s->base, "%s: not a SQLite database (refused, left unchanged)",
                             s->path);
    if (rc == SQLITE_CORRUPT)
        return gw_store_fail(&s->base, "%s: corrupt (%s; refused, left unchanged)", s->path,
                             sqlite3_errmsg(s->db));
    if (rc != SQLITE_OK) return sq_fail(s, "cannot read");
    long long app = 0, version = 0, tables = 0;
    if (query(s, "PRAGMA application_id", &app, NULL, 0) ||
        query(s, "PRAGMA user_version", &version, NULL, 0) ||
        query(s, "SELECT count(*) FROM sqlite_schema", &tables, NULL, 0))
        goto fail;
    if (app == 0 && tables == 0 && version == 0) { /* new */
        char stamp[80];
        snprintf(stamp, sizeof stamp, "PRAGMA application_id=%d; PRAGMA user_version=%d", APP_ID,
                 SCHEMA_VERSION);
        if (exec(s, schema, "cannot create the schema") || exec(s, stamp, "cannot write"))
            goto fail;
    } else if (app != APP_ID) {
        gw_store_fail(&s->base, "%s: not a coapgw database (application_id %lld; refused)", s->path,
                      app);
        goto fail;
    } else if (version != SCHEMA_VERSION) {
        gw_store_fail(&s->base,
                      "%s: schema version %lld, this coapgw reads version %d (written by a %s "
                      "coapgw; refused)",
                      s->path, version, SCHEMA_VERSION,
                      version > SCHEMA_VERSION ? "newer" : "different");
        goto fail;
    }
    return exec(s, "COMMIT", "cannot write");
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static int check_integrity(sq_store_t *s)
{
    char verdict[200] = "";
    if (query(s, "PRAGMA quick_check(1)", NULL, verdict, sizeof verdict)) {
        if (sqlite3_errcode(s->db) != SQLITE_CORRUPT) return -1;
        snprintf(verdict, sizeof verdict, "%s", sqlite3_errmsg(s->db));
    }
    if (!strcmp(verdict, "ok")) return 0;
    return gw_store_fail(&s->base, "%s: corrupt (quick_check: %s; refused, left unchanged)",
                         s->path, verdict);
}

static int set_mode(sq_store_t *s, gw_store_sync_t sync)
{
    char mode[16] = "";
    if (query(s, "PRAGMA journal_mode=WAL", NULL, mode, sizeof mode)) return -1;
    if (strcmp(mode, "wal"))
        return gw_store_fail(&s->base, "%s: cannot switch to WAL mode (%s)", s->path, mode);
    return exec(
        s, sync == GW_STORE_SYNC_FULL ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
        "cannot set synchronous");
}

static int prepare(sq_store_t *s)
{
    static const char put[] = "INSERT OR REPLACE INTO registrations VALUES (?,?,?,?,?,?,?,?,?,?)";
    static const char del[] = "DELETE FROM registrations WHERE id = ?";
    static const char all[] = "SELECT id, name, registrant_host, registrant_port, base,"
                              " implicit_base, lifetime_s, expires_at, links, owner"
                              " FROM registrations ORDER BY id";
    if (sqlite3_prepare_v3(s->db, put, -1, SQLITE_PREPARE_PERSISTENT, &s->put, NULL) ||
        sqlite3_prepare_v3(s->db, del, -1, SQLITE_PREPARE_PERSISTENT, &s->del, NULL) ||
        sqlite3_prepare_v3(s->db, all, -1, SQLITE_PREPARE_PERSISTENT, &s->all, NULL))
        return sq_fail(s, "cannot prepare");
    return 0;
}

/* --- operations --- */

static int step_done(sq_store_t *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int bad = rc != SQLITE_DONE ? sq_fail(s, what) : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return bad;
}

static int sq_put(gw_store_t *base, const gw_store_reg_t *r)
{
    sq_store_t *s = (sq_store_t *)base;
    sqlite3_stmt *st = s->put;
    char host[COAP_ADDR_STRLEN];
    coap_addr_host(&r->registrant, host, sizeof host);
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, coap_addr_port(&r->registrant));
    sqlite3_bind_text(st, 5, r->base, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, r->implicit_base != 0);
    sqlite3_bind_int64(st, 7, r->lifetime_s);
    sqlite3_bind_int64(st, 8, r->expires_at);
    sqlite3_bind_blob(st, 9, r->links_len ? r->links : "", (int)r->links_len, SQLITE_STATIC);
    if (r->owner)
        sqlite3_bind_text(st, 10, r->owner, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 10);
    return step_done(s, st, "cannot save a registration");
}

static int sq_del(gw_store_t *base, const char *id)
{
    sq_store_t *s = (sq_store_t *)base;
    sqlite3_bind_text(s->del, 1, id, -1, SQLITE_STATIC);
    return step_done(s, s->del, "cannot delete a registration");
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

/* One row as a record; -1 when a value could not have been written by
 * sq_put (a damaged row). */
static int row_to_reg(sqlite3_stmt *st, gw_store_reg_t *r)
{
    long long port = sqlite3_column_int64(st, 3), lt = sqlite3_column_int64(st, 6);
    memset(r, 0, sizeof *r);
    r->id = col_text(st, 0);
    r->name = col_text(st, 1);
    r->base = col_text(st, 4);
    r->implicit_base = sqlite3_column_int(st, 5) != 0;
    r->lifetime_s = (uint32_t)lt;
    r->expires_at = sqlite3_column_int64(st, 7);
    r->links = sqlite3_column_blob(st, 8);
    r->links_len = (size_t)sqlite3_column_bytes(st, 8);
    r->owner = sqlite3_column_type(st, 9) == SQLITE_NULL ? NULL : col_text(st, 9);
    if (port < 0 || port > 65535 || lt < 1 || lt > UINT32_MAX || !*r->id || !*r->name) return -1;
    return coap_addr_from_host(&r->registrant, col_text(st, 2), (uint16_t)port) ? -1 : 0;
}

static int sq_load(gw_store_t *base, gw_store_each_fn fn, void *arg)
{
    sq_store_t *s = (sq_store_t *)base;
    int rc;
    while ((rc = sqlite3_step(s->all)) == SQLITE_ROW) {
        gw_store_reg_t r;
        if (row_to_reg(s->all, &r)) {
            gw_store_fail(base, "%s: corrupt (registration \"%s\" has bad values; refused)",
                          s->path, col_text(s->all, 0));
            sqlite3_reset(s->all);
            return -1;
        }
        fn(&r, arg);
    }
    int bad = rc != SQLITE_DONE ? sq_fail(s, "cannot read the registrations") : 0;
    sqlite3_reset(s->all);
    return bad;
}

static void sq_close(gw_store_t *base)
{
    sq_store_t *s = (sq_store_t *)base;
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->all);
    sqlite3_close(s->db);
    free(s);
}

static const gw_store_ops_t sq_ops = {"sqlite", sq_load, sq_put, sq_del, sq_close};

gw_store_t *gw_store_sqlite_open(const char *path, gw_store_sync_t sync, char *err, size_t cap)
{
    size_t n = strlen(path);
    sq_store_t *s = calloc(1, sizeof *s + n + 1);
    if (!s) {
        snprintf(err, cap, "%s: out of memory", path);
        return NULL;
    }
    memcpy(s->path, path, n + 1);
    s->base.ops = &sq_ops;
    s->base.path = s->path;
    s->base.persistent = 1;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
    int bad = make_parent(s) || check_file(s);
    if (!bad && sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK)
        bad = sq_fail(s, "cannot open");
    /* a bad file is left as it was: no checkpoint of its WAL on close */
    if (!bad) sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    bad = bad || exec(s, "PRAGMA locking_mode=EXCLUSIVE", "cannot lock") || check_identity(s) ||
          check_integrity(s) || set_mode(s, sync) || prepare(s);
    if (bad) {
        snprintf(err, cap, "%s", s->base.err);
        sq_close(&s->base);
        return NULL;
    }
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
    return &s->base;
}
