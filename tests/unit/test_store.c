/*
 * Unit tests for the durable store (gateway/store.c, store_sqlite.c): the
 * SQLite round trip, the mode of what it creates, and every file it must
 * refuse without changing it: garbage, another application's database, a
 * newer schema, a corrupt or truncated database, a file held by another
 * store, an unreadable file or directory, a path through a file.
 */
#include "gw_store.h"

#include "testutil.h"

#include <check.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static char path[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/coapgw-store.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a/b/state.db", dir);
}

static void teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx %s; rm -rf %s", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
}

static gw_store_reg_t reg(const char *id, const char *name, const char *owner)
{
    gw_store_reg_t r = {.id = id,
                        .name = name,
                        .base = "coap://10.0.0.1:5683",
                        .implicit_base = 1,
                        .lifetime_s = 3600,
                        .expires_at = 2000000000,
                        .links = "</t>;rt=\"x\"",
                        .links_len = 11,
                        .owner = owner};
    coap_addr_from_host(&r.registrant, "10.0.0.1", 5683);
    return r;
}

typedef struct {
    int n;
    char ids[8][16], names[8][64], owners[8][32], links[8][64], hosts[8][64];
    int64_t expires[8];
    uint32_t lt[8];
    int implicit[8];
} seen_t;

static void collect(const gw_store_reg_t *r, void *arg)
{
    seen_t *s = arg;
    ck_assert_int_lt(s->n, 8);
    int i = s->n++;
    snprintf(s->ids[i], sizeof s->ids[i], "%s", r->id);
    snprintf(s->names[i], sizeof s->names[i], "%s", r->name);
    snprintf(s->owners[i], sizeof s->owners[i], "%s", r->owner ? r->owner : "-");
    snprintf(s->links[i], sizeof s->links[i], "%.*s", (int)r->links_len, r->links);
    coap_addr_str(&r->registrant, s->hosts[i], sizeof s->hosts[i]);
    s->expires[i] = r->expires_at;
    s->lt[i] = r->lifetime_s;
    s->implicit[i] = r->implicit_base;
}

static gw_store_t *open_ok(void)
{
    char err[400];
    gw_store_t *s = gw_store_sqlite_open(path, GW_STORE_SYNC_FULL, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

/* The error of opening path, which must fail. */
static const char *open_fails(void)
{
    static char err[400];
    gw_store_t *s = gw_store_sqlite_open(path, GW_STORE_SYNC_FULL, err, sizeof err);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, path) != NULL, "names the file: %s", err);
    return err;
}

static void write_file(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static size_t read_file(const char *p, char *buf, size_t cap)
{
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* A real database of several pages at path, closed (WAL checkpointed). */
static void make_real(int n)
{
    gw_store_t *s = open_ok();
    char links[600];
    memset(links, 'l', sizeof links);
    for (int i = 0; i < n; i++) {
        char id[16], name[16];
        snprintf(id, sizeof id, "%08x", i);
        snprintf(name, sizeof name, "dev%d", i);
        gw_store_reg_t r = reg(id, name, NULL);
        r.links = links;
        r.links_len = sizeof links;
        ck_assert_int_eq(gw_store_put(s, &r), 0);
    }
    gw_store_close(s);
}

START_TEST(round_trip)
{
    gw_store_t *s = open_ok();
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600); /* never world-readable */
    char parent[128];
    snprintf(parent, sizeof parent, "%s/a/b", dir);
    ck_assert_int_eq(stat(parent, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
    gw_store_reg_t a = reg("0000000a", "alpha", NULL), b = reg("0000000b", "beta", "psk:beta");
    coap_addr_from_host(&b.registrant, "::ffff:127.0.0.1", 40000);
    b.implicit_base = 0;
    b.lifetime_s = 60;
    b.expires_at = 1900000000;
    gw_store_reg_t c = reg("0000000c", "gamma", NULL);
    c.links = NULL; /* no links at all */
    c.links_len = 0;
    ck_assert_int_eq(gw_store_put(s, &a), 0);
    ck_assert_int_eq(gw_store_put(s, &b), 0);
    ck_assert_int_eq(gw_store_put(s, &c), 0);
    a.name = "ALPHA"; /* replaced by ID */
    ck_assert_int_eq(gw_store_put(s, &a), 0);
    ck_assert_int_eq(gw_store_del(s, "0000000c"), 0);
    ck_assert_int_eq(gw_store_del(s, "ffffffff"), 0); /* absent: fine */
    ck_assert_uint_eq(gw_store_stats(s)->commits, 6);
    ck_assert_uint_eq(gw_store_stats(s)->errors, 0);
    gw_store_close(s);

    s = open_ok();
    seen_t seen = {0};
    ck_assert_int_eq(gw_store_load(s, collect, &seen), 0);
    gw_store_close(s);
    ck_assert_int_eq(seen.n, 2);
    ck_assert_str_eq(seen.names[0], "ALPHA");
    ck_assert_str_eq(seen.owners[0], "-");
    ck_assert_str_eq(seen.links[0], "</t>;rt=\"x\"");
    ck_assert_str_eq(seen.hosts[0], "10.0.0.1:5683");
    ck_assert_int_eq(seen.implicit[0], 1);
    ck_assert_str_eq(seen.names[1], "beta");
    ck_assert_str_eq(seen.owners[1], "psk:beta");
    ck_assert_str_eq(seen.hosts[1], "[::ffff:127.0.0.1]:40000");
    ck_assert_int_eq(seen.implicit[1], 0);
    ck_assert_uint_eq(seen.lt[1], 60);
    ck_assert_int_eq(seen.expires[1], 1900000000); /* wall clock, as written */
    /* closed cleanly: the WAL is checkpointed into the file and gone */
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", path);
    ck_assert_int_ne(access(wal, F_OK), 0);
}
END_TEST

START_TEST(memory_store_keeps_nothing)
{
    char err[64];
    gw_store_t *s = gw_store_open("", err, sizeof err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->persistent, 0);
    gw_store_reg_t a = reg("0000000a", "alpha", NULL);
    ck_assert_int_eq(gw_store_put(s, &a), 0);
    seen_t seen = {0};
    ck_assert_int_eq(gw_store_load(s, collect, &seen), 0);
    ck_assert_int_eq(seen.n, 0);
    ck_assert_uint_eq(gw_store_stats(s)->commits, 0);
    gw_store_close(s);
}
END_TEST

/* path's bytes before and after a refused open are the same */
static void refused_unchanged(const char *expect)
{
    static char before[65536], after[65536];
    size_t n = read_file(path, before, sizeof before);
    const char *err = open_fails();
    ck_assert_msg(strstr(err, expect) != NULL, "%s", err);
    ck_assert_uint_eq(read_file(path, after, sizeof after), n);
    ck_assert(!memcmp(before, after, n));
}

START_TEST(garbage_is_refused)
{
    gw_store_close(open_ok());
    static char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 7 + 3);
    write_file(path, junk, sizeof junk);
    refused_unchanged("not a SQLite database");
}
END_TEST

START_TEST(another_application_is_refused)
{
    gw_store_close(open_ok());
    unlink(path);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)", 0, 0, 0), 0);
    sqlite3_close(db);
    refused_unchanged("not a coapgw database");
}
END_TEST

START_TEST(newer_schema_is_refused)
{
    make_real(1);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version=2", 0, 0, 0), 0);
    sqlite3_close(db);
    refused_unchanged("newer");
}
END_TEST

START_TEST(corrupt_is_refused)
{
    make_real(40);
    char buf[65536];
    size_t n = read_file(path, buf, sizeof buf);
    ck_assert_uint_gt(n, 8 * 4096);
    memset(buf + 3 * 4096, 0x5a, 4096); /* one page of the table overwritten */
    write_file(path, buf, n);
    refused_unchanged("corrupt");
}
END_TEST

START_TEST(truncated_is_refused)
{
    make_real(40);
    char buf[65536];
    size_t n = read_file(path, buf, sizeof buf);
    write_file(path, buf, n / 2 + 100); /* a copy cut short */
    refused_unchanged("corrupt");
}
END_TEST

START_TEST(held_by_another_is_refused)
{
    gw_store_t *s = open_ok();
    const char *err = open_fails();
    ck_assert_msg(strstr(err, "in use by another process") != NULL, "%s", err);
    /* the first one goes on */
    gw_store_reg_t a = reg("0000000a", "alpha", NULL);
    ck_assert_int_eq(gw_store_put(s, &a), 0);
    gw_store_close(s);
    /* and from another process, as a second gateway would */
    s = open_ok();
    pid_t pid = fork();
    if (pid == 0) {
        char e[400];
        _exit(gw_store_sqlite_open(path, GW_STORE_SYNC_FULL, e, sizeof e) == NULL &&
                      strstr(e, "in use by another process")
                  ? 0
                  : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    gw_store_close(s);
}
END_TEST

/* As an unprivileged user (root reads everything): 0 when opening fails
 * naming the file and with `expect` in the message. */
static int open_as_nobody_fails(const char *expect)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) || setuid(65534))) _exit(2);
        char e[400];
        gw_store_t *s = gw_store_sqlite_open(path, GW_STORE_SYNC_FULL, e, sizeof e);
        _exit(!s && strstr(e, path) && strstr(e, expect) ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

START_TEST(unreadable_is_refused)
{
    make_real(1);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    chmod(dir, 0755);
    snprintf(sub, sizeof sub, "%s/a", dir);
    chmod(sub, 0755);
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    chmod(sub, 0777);
    chmod(path, 0);
    ck_assert_int_eq(open_as_nobody_fails("Permission denied"), 0); /* the file */
    chmod(path, 0600);
    chmod(sub, 0);
    ck_assert_int_eq(open_as_nobody_fails("Permission denied"), 0); /* its directory */
}
END_TEST

START_TEST(path_through_a_file_is_refused)
{
    char file[128];
    snprintf(file, sizeof file, "%s/a", dir);
    write_file(file, "x", 1);
    const char *err = open_fails();
    ck_assert_msg(strstr(err, "not a directory") != NULL, "%s", err);
}
END_TEST

START_TEST(symbolic_link_is_refused)
{
    make_real(1);
    char real[160];
    snprintf(real, sizeof real, "%s/real.db", dir);
    ck_assert_int_eq(rename(path, real), 0);
    ck_assert_int_eq(symlink(real, path), 0);
    const char *err = open_fails();
    ck_assert_msg(strstr(err, "a symbolic link") != NULL, "%s", err);
}
END_TEST

/* A state file another local user could write (planted before the
 * gateway made it, in a directory such as /tmp) is refused. */
START_TEST(others_may_write_is_refused)
{
    make_real(1);
    char sub[128], wal[160];
    chmod(path, 0666);
    const char *err = open_fails();
    ck_assert_msg(strstr(err, "group or others may write") != NULL, "%s", err);
    chmod(path, 0600);
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    chmod(sub, 01777); /* as /tmp */
    err = open_fails();
    ck_assert_msg(strstr(err, "its directory") && strstr(err, "others may write"), "%s", err);
    chmod(sub, 0700);
    snprintf(wal, sizeof wal, "%s-wal", path); /* SQLite reads a -wal back at open */
    ck_assert_int_eq(symlink("/nonexistent", wal), 0);
    err = open_fails();
    ck_assert_msg(strstr(err, "-wal: not a regular file") != NULL, "%s", err);
    unlink(wal);
    write_file(wal, "", 0);
    chmod(wal, 0622);
    err = open_fails();
    ck_assert_msg(strstr(err, "-wal: group or others may write") != NULL, "%s", err);
    if (geteuid() == 0) { /* a file of another user: only root can make one here */
        chmod(wal, 0600);
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        err = open_fails();
        ck_assert_msg(strstr(err, "owned by another user") != NULL, "%s", err);
    }
}
END_TEST

START_TEST(a_failed_commit_is_reported)
{
    make_real(1);
    gw_store_t *s = open_ok();
    sqlite3 *db;
    /* another connection cannot even read it while the store holds it */
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_ne(sqlite3_exec(db, "SELECT * FROM registrations", 0, 0, 0), SQLITE_OK);
    sqlite3_close(db);
    gw_store_reg_t a = reg("0000000a", "alpha", NULL);
    a.base = NULL; /* NOT NULL constraint: the commit fails */
    ck_assert_int_eq(gw_store_put(s, &a), -1);
    ck_assert_msg(strstr(gw_store_error(s), path) != NULL, "%s", gw_store_error(s));
    ck_assert_uint_eq(gw_store_stats(s)->errors, 1);
    a.base = "coap://10.0.0.1";
    ck_assert_int_eq(gw_store_put(s, &a), 0); /* and the next one works */
    gw_store_close(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("sqlite");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, memory_store_keeps_nothing);
    tcase_add_test(tc, garbage_is_refused);
    tcase_add_test(tc, another_application_is_refused);
    tcase_add_test(tc, newer_schema_is_refused);
    tcase_add_test(tc, corrupt_is_refused);
    tcase_add_test(tc, truncated_is_refused);
    tcase_add_test(tc, held_by_another_is_refused);
    tcase_add_test(tc, unreadable_is_refused);
    tcase_add_test(tc, path_through_a_file_is_refused);
    tcase_add_test(tc, symbolic_link_is_refused);
    tcase_add_test(tc, others_may_write_is_refused);
    tcase_add_test(tc, a_failed_commit_is_reported);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
