/* An LMDB data.mdb, rendered as fuzz_bolt_render renders a bbolt file: the
 * slow harness of the renderers (fuzz_lmdb, decode only, is the one CI
 * runs). Same corpus (fuzz/corpus/lmdb). See fuzz_db.h. */
#include "fuzz_db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_db(data, size, true);
}
