/* vfs_shim.h — a pass-through SQLite VFS for the unit tests that play tricks on storage
 * (test_store_durable.c: a power cut; test_store_fault.c: failing writes and syncs). Every
 * method forwards to SQLite's default VFS except xWrite and xSync: the including file defines
 *
 *     static int shim_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off);
 *     static int shim_sync(sqlite3_file *f, int flags);
 *
 * before it includes this header, and forwards with REAL(f)->pMethods. Each open file knows its
 * name and open flags (struct shim_file). shim_install(name) registers the shim as the default
 * VFS. Included once per test program; everything is static. */
#ifndef GH_TESTS_VFS_SHIM_H
#define GH_TESTS_VFS_SHIM_H

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

struct shim_file {
    sqlite3_file base;      /* pMethods = shim_io */
    const char *path;       /* SQLite keeps the name alive while the file is open */
    int flags;              /* the xOpen flags: SQLITE_OPEN_WAL, SQLITE_OPEN_MAIN_DB, … */
    sqlite3_file *real;     /* the wrapped VFS's file, allocated right behind this struct */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;

#define REAL(f) (((struct shim_file *)(f))->real)

static int shim_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off);
static int shim_sync(sqlite3_file *f, int flags);

static int
shim_close(sqlite3_file *f)
{
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    return rc;
}

static int
shim_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}

static int
shim_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
shim_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
shim_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int
shim_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int
shim_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
shim_fcntl(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
shim_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
shim_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
shim_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, pp);
}

static int
shim_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void
shim_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
shim_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

/* No memory-mapped reads: iVersion 2 leaves xFetch out. */
static const sqlite3_io_methods shim_io = {
    .iVersion = 2,
    .xClose = shim_close,
    .xRead = shim_read,
    .xWrite = shim_write,
    .xTruncate = shim_truncate,
    .xSync = shim_sync,
    .xFileSize = shim_size,
    .xLock = shim_lock,
    .xUnlock = shim_unlock,
    .xCheckReservedLock = shim_reserved,
    .xFileControl = shim_fcntl,
    .xSectorSize = shim_sector,
    .xDeviceCharacteristics = shim_devchar,
    .xShmMap = shim_shm_map,
    .xShmLock = shim_shm_lock,
    .xShmBarrier = shim_shm_barrier,
    .xShmUnmap = shim_shm_unmap,
};

static int
shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    struct shim_file *s = (struct shim_file *)f;
    int rc;

    (void)vfs;
    s->path = name;
    s->flags = flags;
    s->real = (sqlite3_file *)(s + 1);
    memset(s->real, 0, (size_t)real_vfs->szOsFile);
    rc = real_vfs->xOpen(real_vfs, name, s->real, flags, out_flags);
    /* xClose is called even after a failed open when pMethods is set. */
    s->base.pMethods = s->real->pMethods ? &shim_io : NULL;
    return rc;
}

static int
shim_delete(sqlite3_vfs *v, const char *name, int dirsync)
{
    (void)v;
    return real_vfs->xDelete(real_vfs, name, dirsync);
}

static int
shim_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int
shim_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static int
shim_random(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int
shim_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return real_vfs->xSleep(real_vfs, us);
}

static int
shim_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int
shim_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xGetLastError(real_vfs, n, out);
}

static void
shim_install(const char *name)
{
    real_vfs = sqlite3_vfs_find(NULL);
    shim_vfs = (sqlite3_vfs){ .iVersion = 1, .mxPathname = real_vfs->mxPathname,
        .szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile, .zName = name,
        .xOpen = shim_open, .xDelete = shim_delete, .xAccess = shim_access,
        .xFullPathname = shim_fullpath, .xRandomness = shim_random, .xSleep = shim_sleep,
        .xCurrentTime = shim_time, .xGetLastError = shim_error };
    if (sqlite3_vfs_register(&shim_vfs, 1) != SQLITE_OK)
        abort();
}

#endif
