/* An LMDB data.mdb, opened through liblmdb after lmdbx.c vetted its pages.
 * The same walk as the bbolt harness (fuzz_db.h); a separate harness so
 * that its corpus stays LMDB files. */
#include "fuzz_db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_db(data, size, false);
}
