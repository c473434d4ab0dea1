/* Kubernetes values: the decoder of a value under /registry/ (JSON, protobuf
 * behind "k8s\0", encrypted "k8s:enc:...", CBOR) and its renderings. Every
 * string it returns must lie inside the value, and the streamed JSON must
 * be the tree's bytes. */
#include "fuzz_common.h"

#include "encoding/k8s.h"
#include "render/render_k8s.h"

static void inside(const uint8_t *data, size_t size, kvf_k8s_str s)
{
	if (s.p && (s.p < data || s.len > size || s.p + s.len > data + size))
		fuzz_fail("k8s string outside the value");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kvf_span v = { .p = data, .len = size, .file_offset = 0 };
	kvf_k8s_object o;
	if (!kvf_k8s_decode(v, &o))
		return 0;
	kvf_k8s_str ss[] = { o.api_version, o.kind, o.name, o.generate_name, o.namespace_, o.uid,
	                     o.provider, o.key_name, o.creation.text, o.deletion.text };
	for (size_t i = 0; i < sizeof(ss) / sizeof(ss[0]); i++)
		inside(data, size, ss[i]);
	kvf_k8s_iter it;
	kvf_k8s_str k, val;
	for (kvf_k8s_labels(&o, &it); kvf_k8s_label_next(&it, &k, &val);) {
		inside(data, size, k);
		inside(data, size, val);
	}
	kvf_k8s_owner w;
	for (kvf_k8s_owners(&o, &it); kvf_k8s_owner_next(&it, &w);) {
		inside(data, size, w.kind);
		inside(data, size, w.name);
		inside(data, size, w.uid);
		inside(data, size, w.api_version);
	}
	for (kvf_k8s_finalizers(&o, &it); kvf_k8s_finalizer_next(&it, &k);)
		inside(data, size, k);
	kvf_k8s_matches(&o, "pod,Jobs", "default");
	kvf_buf b = KVF_BUF_INIT;
	kvf_text_k8s(&b, &o);
	kvf_buf_reset(&b);
	kvf_text_k8s_ref(&b, &o);
	kvf_buf_reset(&b);
	json_t *tree = kvf_json_k8s(&o);
	char *want = json_dumps(tree, JSON_COMPACT | JSON_ENCODE_ANY);
	kvf_jw_k8s(&b, &o);
	if (!want || strcmp(want, b.p ? b.p : "") != 0)
		fuzz_fail("streamed k8s JSON differs from the tree");
	free(want);
	json_decref(tree);
	kvf_buf_free(&b);
	return 0;
}
