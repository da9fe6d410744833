/*
 * atomicfile.h - a small state file replaced whole: a crash leaves the old
 * contents or the new ones, never a torn file.
 */
#ifndef MYSHARD_BASE_ATOMICFILE_H
#define MYSHARD_BASE_ATOMICFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* Writes text[0..len) to path + ".tmp", syncs it, renames it over path and
 * syncs the directory (the rename counts only once it is on disk). False
 * with the reason in err; the temporary file is removed then. */
MUST_CHECK bool file_write_atomic(const char *path, const char *text,
                                  size_t len, char *err, size_t errlen);

#endif
