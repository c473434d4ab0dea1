/* A bbolt file, every pair, the status, the live keys and the findings
 * rendered in text and JSON: the slow harness of the renderers (fuzz_bolt,
 * decode only, is the one CI runs). Same corpus (fuzz/corpus/bolt). See
 * fuzz_db.h. */
#include "fuzz_db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_db(data, size, true);
}
