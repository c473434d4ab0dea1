/* Kubernetes values: the summary of a value under /registry/ (JSON,
 * protobuf behind "k8s\0", encrypted "k8s:enc:...") and its renderings. */
#include "fuzz_common.h"

#include "encoding/k8s.h"
#include "render/render_db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kvf_span v = { .p = data, .len = size, .file_offset = 0 };
	kvf_k8s_summary s;
	if (kvf_k8s_summarize(v, &s)) {
		/* the fields are C strings the renderers print as they are */
		if (!memchr(s.api_version, 0, sizeof(s.api_version)) || !memchr(s.kind, 0, sizeof(s.kind)) ||
		    !memchr(s.name, 0, sizeof(s.name)) || !memchr(s.namespace_, 0, sizeof(s.namespace_)) ||
		    !memchr(s.provider, 0, sizeof(s.provider)) || !memchr(s.key_name, 0, sizeof(s.key_name)))
			fuzz_fail("k8s summary field without its terminating NUL");
		kvf_buf b = KVF_BUF_INIT;
		kvf_text_k8s(&b, &s);
		kvf_buf_free(&b);
		fuzz_dump(kvf_json_k8s(&s));
		kvf_k8s_encoding_name(s.encoding);
	}
	return 0;
}
