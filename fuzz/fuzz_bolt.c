/* A bbolt file (etcd's member/snap/db). See fuzz_db.h. */
#include "fuzz_db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_db(data, size, false);
}
