/*
 * crc32.h - IEEE CRC-32, the same function as MySQL's CRC32() and zlib's
 * crc32(): shard placement must be checkable in SQL on any server.
 */
#ifndef MYSHARD_BASE_CRC32_H
#define MYSHARD_BASE_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32_ieee(const void *data, size_t len);

#endif
