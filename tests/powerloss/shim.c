/*
 * A power cut, simulated for one process: LD_PRELOAD this library, and every write to a file
 * whose path contains $POWERLOSS_MATCH first saves the bytes it overwrites to an undo log in
 * $POWERLOSS_DIR; fsync/fdatasync on the file (the moment a disk would have it) empties the
 * log. After the process is killed, applying the logs (tests/crash.rs, `apply_undo_logs`)
 * leaves each file as the disk would hold it had the power gone at that instant, with every
 * write not yet synced lost — the worst a volatile write cache can do.
 *
 * Log records, appended: 'S' <u64 size> (the file's size when last synced) and
 * 'W' <u64 offset> <u64 length> <bytes> (what a write overwrote, within the synced size).
 * Only what SQLite's unix VFS calls on Linux is covered: open/open64/openat, pwrite/pwrite64,
 * write (at the current offset), ftruncate/ftruncate64, fsync/fdatasync, close.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FDS 4096
#define MAX_FILES 32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* The tracked files, by path: the undo log's fd and the size when last synced. Every fd open on
 * a file shares its entry (an fsync through one syncs them all). */
static struct {
    char path[PATH_MAX];
    int log;
    int64_t synced;
} files[MAX_FILES];
static int file_count;
/* For each fd: its file's index + 1 (0: untracked). */
static int file_of[MAX_FDS];

static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_ftruncate)(int, off_t);
static int (*real_close)(int);

static void init(void) {
    if (real_pwrite) return;
    real_pwrite = dlsym(RTLD_NEXT, "pwrite64");
    real_pread = dlsym(RTLD_NEXT, "pread64");
    real_write = dlsym(RTLD_NEXT, "write");
    real_open = dlsym(RTLD_NEXT, "open64");
    real_openat = dlsym(RTLD_NEXT, "openat64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate64");
    real_close = dlsym(RTLD_NEXT, "close");
}

static void log_all(int log, const void *data, size_t length) {
    const char *p = data;
    while (length > 0) {
        ssize_t n = real_write(log, p, length);
        if (n <= 0) abort();
        p += n;
        length -= (size_t)n;
    }
}

static void log_size(int log, int64_t size) {
    char tag = 'S';
    log_all(log, &tag, 1);
    log_all(log, &size, 8);
}

static int64_t size_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (int64_t)st.st_size : 0;
}

static void track(int fd, const char *path) {
    const char *match = getenv("POWERLOSS_MATCH"), *dir = getenv("POWERLOSS_DIR");
    if (fd < 0 || fd >= MAX_FDS || !match || !dir || !strstr(path, match)) return;
    /* The -shm file is memory-mapped and rebuilt from the WAL after a crash: not tracked. */
    if (strstr(path, "-shm")) return;
    pthread_mutex_lock(&lock);
    int found = -1;
    for (int i = 0; i < file_count; i++)
        if (strcmp(files[i].path, path) == 0) found = i;
    if (found < 0 && file_count < MAX_FILES) {
        const char *base = strrchr(path, '/');
        char name[PATH_MAX];
        snprintf(name, sizeof name, "%s/%s.undo", dir, base ? base + 1 : path);
        int log = real_open(name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
        if (log >= 0) {
            found = file_count++;
            snprintf(files[found].path, PATH_MAX, "%s", path);
            files[found].log = log;
            files[found].synced = size_of(fd);
            log_size(log, files[found].synced);
        }
    }
    if (found >= 0) file_of[fd] = found + 1;
    pthread_mutex_unlock(&lock);
}

/* Saves what a write of `length` bytes at `offset` will overwrite (within the synced size). */
static void before_write(int fd, size_t length, off_t offset) {
    if (fd < 0 || fd >= MAX_FDS || !file_of[fd]) return;
    pthread_mutex_lock(&lock);
    int f = file_of[fd] - 1;
    int64_t end = (int64_t)offset + (int64_t)length;
    if (end > files[f].synced) end = files[f].synced;
    if (end > (int64_t)offset) {
        uint64_t at = (uint64_t)offset, n = (uint64_t)(end - (int64_t)offset);
        char *old = malloc(n);
        ssize_t got = real_pread(fd, old, n, offset);
        if (got < 0) got = 0;
        n = (uint64_t)got;
        char tag = 'W';
        log_all(files[f].log, &tag, 1);
        log_all(files[f].log, &at, 8);
        log_all(files[f].log, &n, 8);
        log_all(files[f].log, old, n);
        free(old);
    }
    pthread_mutex_unlock(&lock);
}

static void synced(int fd) {
    if (fd < 0 || fd >= MAX_FDS || !file_of[fd]) return;
    pthread_mutex_lock(&lock);
    int f = file_of[fd] - 1;
    if (real_ftruncate(files[f].log, 0) == 0) {
        files[f].synced = size_of(fd);
        log_size(files[f].log, files[f].synced);
    }
    pthread_mutex_unlock(&lock);
}

static int opened(int fd, const char *path) {
    track(fd, path);
    return fd;
}

int open(const char *path, int flags, ...) {
    init();
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & O_CREAT) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    return opened(real_open(path, flags, mode), path);
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...) {
    init();
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & O_CREAT) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    return opened(real_openat(dirfd, path, flags, mode), path);
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

ssize_t pwrite(int fd, const void *data, size_t length, off_t offset) {
    init();
    before_write(fd, length, offset);
    return real_pwrite(fd, data, length, offset);
}
ssize_t pwrite64(int fd, const void *data, size_t length, off_t offset)
    __attribute__((alias("pwrite")));

ssize_t write(int fd, const void *data, size_t length) {
    init();
    if (fd >= 0 && fd < MAX_FDS && file_of[fd]) before_write(fd, length, lseek(fd, 0, SEEK_CUR));
    return real_write(fd, data, length);
}

int ftruncate(int fd, off_t length) {
    init();
    if (fd >= 0 && fd < MAX_FDS && file_of[fd]) {
        int64_t synced = files[file_of[fd] - 1].synced;
        if ((int64_t)length < synced) before_write(fd, (size_t)(synced - (int64_t)length), length);
    }
    return real_ftruncate(fd, length);
}
int ftruncate64(int fd, off_t length) __attribute__((alias("ftruncate")));

int fsync(int fd) {
    init();
    int rc = real_fsync(fd);
    if (rc == 0) synced(fd);
    return rc;
}

int fdatasync(int fd) {
    init();
    int rc = real_fdatasync(fd);
    if (rc == 0) synced(fd);
    return rc;
}

int close(int fd) {
    init();
    if (fd >= 0 && fd < MAX_FDS) file_of[fd] = 0;
    return real_close(fd);
}
