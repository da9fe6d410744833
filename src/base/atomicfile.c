/*
 * atomicfile.c - replacing a state file whole (atomicfile.h).
 */
#include "base/atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The directory of path ("." for a bare name) into buf. */
static void
dir_of(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        snprintf(buf, len, ".");
    else if (slash == path)
        snprintf(buf, len, "/");
    else
        snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

bool
file_write_atomic(const char *path, const char *text, size_t len, char *err,
                  size_t errlen)
{
    char tmp[4096], dir[4096];
    size_t off = 0;
    int fd, dfd;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        snprintf(err, errlen, "the path '%s' is too long", path);
        return false;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return false;
    }
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "cannot write %s: %s", tmp,
                     w < 0 ? strerror(errno) : "short write");
            goto fail;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        snprintf(err, errlen, "cannot fsync %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(err, errlen, "cannot close %s: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path,
                 strerror(errno));
        goto fail;
    }
    dir_of(path, dir, sizeof(dir));
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        snprintf(err, errlen, "cannot fsync the directory %s: %s", dir,
                 strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return false;
    }
    close(dfd);
    return true;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return false;
}
