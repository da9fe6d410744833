/*
 * crc32.c - table-driven IEEE CRC-32 (reflected polynomial 0xEDB88320).
 */
#include "base/crc32.h"

static uint32_t table[256];
static int table_ready; /* benign race: every thread writes the same values */

static void
table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t
crc32_ieee(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;

    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
        table_init();
    while (len--)
        c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}
