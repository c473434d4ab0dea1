/* Kubernetes objects in values (encoding/k8s.h, render/render_k8s.h),
 * against what auger (github.com/etcd-io/auger) decoded from the same bytes:
 * testdata/peer-auger/storage/NAME.bin are values a Kubernetes API server
 * stored in etcd, json/NAME.json auger's decoding of them. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding/k8s.h"
#include "render/render_k8s.h"

static kvf_span span(const void *p, size_t n)
{
	kvf_span s = { p, n, 0 };
	return s;
}

static uint8_t *slurp(const char *rel, size_t *n)
{
	char *path;
	cr_assert(asprintf(&path, "%s/%s", getenv("KVF_TESTDATA"), rel) > 0);
	FILE *f = fopen(path, "rb");
	cr_assert(f, "%s", path);
	uint8_t *buf = malloc(1 << 16);
	*n = fread(buf, 1, 1 << 16, f);
	fclose(f);
	/* auger keeps its sample values as text files: a newline follows the
	 * stored bytes and is not part of them */
	if (*n && buf[*n - 1] == '\n' && strstr(rel, ".bin"))
		(*n)--;
	free(path);
	return buf;
}

static char *str(kvf_k8s_str s)
{
	kvf_buf b = KVF_BUF_INIT;
	cr_assert(kvf_k8s_str_decode(s, &b));
	kvf_buf_putc(&b, '\0');
	return kvf_buf_detach(&b, NULL);
}

static void same_string(kvf_k8s_str s, json_t *want, const char *what)
{
	char *got = str(s);
	cr_assert(json_is_string(want), "%s: auger has no string", what);
	cr_assert_str_eq(got, json_string_value(want), "%s", what);
	free(got);
}

/* Every field auger shows of ObjectMeta and TypeMeta, against ours. */
static void matches_auger(const kvf_k8s_object *o, json_t *doc, const char *what)
{
	json_t *md = json_object_get(doc, "metadata");
	same_string(o->kind, json_object_get(doc, "kind"), "kind");
	same_string(o->api_version, json_object_get(doc, "apiVersion"), "apiVersion");
	cr_assert(o->metadata_ok, "%s", what);
	same_string(o->name, json_object_get(md, "name"), "name");
	same_string(o->namespace_, json_object_get(md, "namespace"), "namespace");
	same_string(o->uid, json_object_get(md, "uid"), "uid");
	if (json_object_get(md, "generateName"))
		same_string(o->generate_name, json_object_get(md, "generateName"), "generateName");
	cr_assert(o->creation.present && o->creation.valid, "%s: creationTimestamp", what);
	char t[KVF_K8S_TIME_LEN];
	kvf_k8s_time_format(&o->creation, t);
	cr_assert_str_eq(t, json_string_value(json_object_get(md, "creationTimestamp")), "%s", what);
	cr_assert_eq(o->deletion.present, json_object_get(md, "deletionTimestamp") != NULL, "%s", what);
	cr_assert_eq(o->has_generation, json_object_get(md, "generation") != NULL, "%s", what);

	json_t *labels = json_object_get(md, "labels");
	cr_assert_eq(o->n_labels, json_object_size(labels), "%s: labels", what);
	kvf_k8s_iter it;
	kvf_k8s_str k, v;
	size_t n = 0;
	for (kvf_k8s_labels(o, &it); kvf_k8s_label_next(&it, &k, &v); n++) {
		char *ks = str(k);
		same_string(v, json_object_get(labels, ks), ks);
		free(ks);
	}
	cr_assert_eq(n, json_object_size(labels), "%s: labels iterated", what);

	json_t *owners = json_object_get(md, "ownerReferences");
	cr_assert_eq(o->n_owners, json_array_size(owners), "%s: ownerReferences", what);
	kvf_k8s_owner w;
	n = 0;
	for (kvf_k8s_owners(o, &it); kvf_k8s_owner_next(&it, &w); n++) {
		json_t *a = json_array_get(owners, n);
		same_string(w.api_version, json_object_get(a, "apiVersion"), "owner apiVersion");
		same_string(w.kind, json_object_get(a, "kind"), "owner kind");
		same_string(w.name, json_object_get(a, "name"), "owner name");
		same_string(w.uid, json_object_get(a, "uid"), "owner uid");
		cr_assert_eq(w.controller, json_is_true(json_object_get(a, "controller")));
		cr_assert_eq(w.block_owner_deletion, json_is_true(json_object_get(a, "blockOwnerDeletion")));
	}
	cr_assert_eq(n, json_array_size(owners), "%s: owners iterated", what);
}

static const char *const samples[] = { "pod", "job" };

Test(k8s, protobuf_values_decode_as_auger_decodes_them)
{
	for (size_t i = 0; i < 2; i++) {
		char bin[64], js[64];
		snprintf(bin, sizeof(bin), "peer-auger/storage/%s.bin", samples[i]);
		snprintf(js, sizeof(js), "peer-auger/json/%s.json", samples[i]);
		size_t n, jn;
		uint8_t *v = slurp(bin, &n), *j = slurp(js, &jn);
		json_t *doc = json_loadb((const char *)j, jn, 0, NULL);
		cr_assert(doc, "%s", js);
		kvf_k8s_object o;
		cr_assert(kvf_k8s_decode(span(v, n), &o), "%s", bin);
		cr_assert_eq(o.encoding, KVF_K8S_PROTOBUF);
		matches_auger(&o, doc, bin);
		json_decref(doc);
		free(v);
		free(j);
	}
}

/* The same objects stored as JSON (how custom resources are stored): auger's
 * own JSON output, given as the value. */
Test(k8s, json_values_decode_the_same_fields)
{
	for (size_t i = 0; i < 2; i++) {
		char js[64];
		snprintf(js, sizeof(js), "peer-auger/json/%s.json", samples[i]);
		size_t jn;
		uint8_t *j = slurp(js, &jn);
		json_t *doc = json_loadb((const char *)j, jn, 0, NULL);
		kvf_k8s_object o;
		cr_assert(kvf_k8s_decode(span(j, jn), &o), "%s", js);
		cr_assert_eq(o.encoding, KVF_K8S_JSON);
		matches_auger(&o, doc, js);
		json_decref(doc);
		free(j);
	}
}

Test(k8s, value_after_a_key_line_decodes_too)
{
	size_t n;
	uint8_t *v = slurp("peer-auger/storage/pod-with-key.bin", &n);
	uint8_t *nl = memchr(v, '\n', n);
	cr_assert(nl);
	kvf_k8s_object o;
	cr_assert(kvf_k8s_decode(span(nl + 1, n - (size_t)(nl + 1 - v)), &o));
	cr_assert(kvf_k8s_str_eq(o.kind, "Pod", false));
	cr_assert(kvf_k8s_str_eq(o.name, "pi-dqtsw", false));
	free(v);
}

Test(k8s, encrypted_and_cbor_values_are_named_not_decoded)
{
	const char *enc = "k8s:enc:aescbc:v1:key1:\x8a\x01\x02";
	kvf_k8s_object o;
	cr_assert(kvf_k8s_decode(span(enc, strlen(enc)), &o));
	cr_assert_eq(o.encoding, KVF_K8S_ENCRYPTED);
	cr_assert(kvf_k8s_str_eq(o.provider, "aescbc", false));
	cr_assert(kvf_k8s_str_eq(o.key_name, "key1", false));
	cr_assert_not(kvf_k8s_matches(&o, "Secret", NULL), "no kind to match");
	cr_assert(kvf_k8s_matches(&o, NULL, NULL));
	const char *kms2 = "k8s:enc:kms:v2:vault-kms:\x0a\x03" "xyz";
	cr_assert(kvf_k8s_decode(span(kms2, strlen(kms2) + 1), &o));
	cr_assert(kvf_k8s_str_eq(o.provider, "kms", false) && kvf_k8s_str_eq(o.key_name, "vault-kms", false));
	const uint8_t cbor[] = { 0xd9, 0xd9, 0xf7, 0xa1, 0x64, 'k', 'i', 'n', 'd' };
	cr_assert(kvf_k8s_decode(span(cbor, sizeof(cbor)), &o));
	cr_assert_eq(o.encoding, KVF_K8S_CBOR);
	kvf_buf b = KVF_BUF_INIT;
	kvf_text_k8s(&b, &o);
	cr_assert_str_eq(b.p, "[cbor]");
	kvf_buf_free(&b);
}

Test(k8s, what_is_not_an_object_is_not_claimed)
{
	kvf_k8s_object o;
	const char *no[] = {
		"renew-3", "{}", "{\"spec\":{}}", "{\"kind\":\"Pod\"", "{\"kind\":\"Pod\"} x",
		"{\"kind\":\"Pod\",}", "{\"kind\":\"P\\q\"}", "[1,2]", "{\"kind\":01}",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_not(kvf_k8s_decode(span(no[i], strlen(no[i])), &o), "%s", no[i]);
	cr_assert_eq(o.encoding, KVF_K8S_NONE);
	/* envelopes whose lengths run past the value */
	static const struct { const char *v; size_t n; } bad[] = {
		{ "k8s\0\xff\xff", 6 }, { "k8s\0\x0a\x7f\x0a\x02v1", 10 }, { "k8s\0\x12\x05" "ab", 8 },
		{ "k8s\0\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 15 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(kvf_k8s_decode(span(bad[i].v, bad[i].n), &o), "envelope %zu", i);
	/* an envelope that parses, whose raw object does not: TypeMeta only */
	const char raw_bad[] = "k8s\0\x0a\x09\x0a\x02v1\x12\x03Pod\x12\x03\x0a\x7f\x00";
	cr_assert(kvf_k8s_decode(span(raw_bad, sizeof(raw_bad) - 1), &o));
	cr_assert(kvf_k8s_str_eq(o.kind, "Pod", false));
	cr_assert_not(o.metadata_ok);
}

/* Bounded: nesting deeper than the limit is refused without recursion;
 * every truncation and every bit flip of a real value decodes or not, with
 * every span inside the value (ASan watches the build in CI). */
Test(k8s, hostile_values_stay_inside_their_bytes)
{
	static const char head[] = "{\"kind\":\"Pod\",\"spec\":";
	const size_t n = sizeof(head) - 1;
	kvf_k8s_object o;
	for (size_t deep = 100; deep <= 100000; deep *= 1000) {
		kvf_buf d = KVF_BUF_INIT;
		kvf_buf_append(&d, head, n);
		for (size_t i = 0; i < deep; i++)
			kvf_buf_putc(&d, '[');
		for (size_t i = 0; i < deep; i++)
			kvf_buf_putc(&d, ']');
		kvf_buf_putc(&d, '}');
		cr_assert_eq(kvf_k8s_decode(span(d.p, d.len), &o), deep < KVF_K8S_MAX_DEPTH, "nesting of %zu", deep);
		kvf_buf_free(&d);
	}

	size_t vn;
	uint8_t *v = slurp("peer-auger/storage/pod.bin", &vn);
	for (size_t cut = 0; cut <= vn; cut++) {
		uint8_t *c = malloc(cut ? cut : 1);
		memcpy(c, v, cut);
		if (kvf_k8s_decode(span(c, cut), &o)) {
			kvf_buf b = KVF_BUF_INIT;
			kvf_text_k8s(&b, &o);
			json_decref(kvf_json_k8s(&o));
			kvf_buf_free(&b);
		}
		free(c);
	}
	for (size_t i = 0; i < vn; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			v[i] ^= (uint8_t)(1u << bit);
			if (kvf_k8s_decode(span(v, vn), &o)) {
				kvf_k8s_str ss[] = { o.kind, o.api_version, o.name, o.namespace_, o.uid };
				for (size_t k = 0; k < 5; k++)
					cr_assert(!ss[k].p || (ss[k].p >= v && ss[k].p + ss[k].len <= v + vn));
				kvf_buf b = KVF_BUF_INIT;
				kvf_text_k8s(&b, &o);
				kvf_buf_free(&b);
			}
			v[i] ^= (uint8_t)(1u << bit);
		}
	}
	free(v);
}

Test(k8s, json_escapes_times_and_generation)
{
	const char *pod =
		"{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\\u00e9b\\\"1\","
		"\"namespace\":\"team-a\",\"generation\":42,\"creationTimestamp\":\"2017-06-27T18:35:34+02:00\","
		"\"deletionTimestamp\":\"2024-02-29T23:59:59.125Z\",\"finalizers\":[\"a/b\",\"c\"],"
		"\"labels\":{\"app\":\"web\",\"n\":7,\"tier\":\"\\ud83d\\ude00\"}}}\n";
	kvf_k8s_object o;
	cr_assert(kvf_k8s_decode(span(pod, strlen(pod)), &o));
	cr_assert(o.name.escaped);
	cr_assert(kvf_k8s_str_eq(o.name, "w\xc3\xa9" "b\"1", false));
	cr_assert(o.has_generation && o.generation == 42);
	char t[KVF_K8S_TIME_LEN];
	kvf_k8s_time_format(&o.creation, t);
	cr_assert_str_eq(t, "2017-06-27T16:35:34Z");
	kvf_k8s_time_format(&o.deletion, t);
	cr_assert_str_eq(t, "2024-02-29T23:59:59Z", "whole seconds, as Kubernetes shows it");
	cr_assert_eq(o.deletion.nanos, 125000000);
	cr_assert_eq(o.n_labels, 3, "three members, one of them not a string");
	kvf_k8s_iter it;
	kvf_k8s_str k, v;
	size_t n = 0;
	for (kvf_k8s_labels(&o, &it); kvf_k8s_label_next(&it, &k, &v);)
		n++;
	cr_assert_eq(n, 2, "labels with string values");
	json_t *j = kvf_json_k8s(&o);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "labels"), "tier")), "\xf0\x9f\x98\x80");
	cr_assert_eq(json_array_size(json_object_get(j, "finalizers")), 2);
	json_decref(j);
	cr_assert(kvf_k8s_matches(&o, "widgets", "team-a"));
	cr_assert_not(kvf_k8s_matches(&o, "widgets", "team-b"));
	cr_assert_not(kvf_k8s_matches(&o, "Pod,Job", NULL));
}

Test(k8s, kinds_match_case_and_plural)
{
	kvf_k8s_str pod = { (const uint8_t *)"Pod", 3, false };
	kvf_k8s_str ing = { (const uint8_t *)"Ingress", 7, false };
	kvf_k8s_str ep = { (const uint8_t *)"Endpoints", 9, false };
	cr_assert(kvf_k8s_kind_in(pod, "pod") && kvf_k8s_kind_in(pod, "Pods") && kvf_k8s_kind_in(pod, "job,PODS"));
	cr_assert_not(kvf_k8s_kind_in(pod, "po") || kvf_k8s_kind_in(pod, "podx") || kvf_k8s_kind_in(pod, ","));
	cr_assert(kvf_k8s_kind_in(ing, "ingresses") && kvf_k8s_kind_in(ep, "endpoints"));
}

/* The streamed rendering is the tree's bytes, on auger's values and on the
 * corners (repeated label keys, a label key that is not UTF-8). */
Test(k8s, streamed_json_equals_the_tree)
{
	const char dup[] = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}}}";
	/* protobuf: a Pod whose ObjectMeta holds labels "\xff" = "v" and "a" = "1" */
	const char pb[] = "k8s\0\x0a\x08\x0a\x02v1\x12\x02Po\x12\x15\x0a\x13\x0a\x01x\x5a\x06\x0a\x01\xff\x12\x01v"
	                  "\x5a\x06\x0a\x01" "a\x12\x01" "1";
	struct { const uint8_t *v; size_t n; } cases[4];
	size_t n0, n1;
	cases[0].v = slurp("peer-auger/storage/pod.bin", &n0);
	cases[0].n = n0;
	cases[1].v = slurp("peer-auger/json/job.json", &n1);
	cases[1].n = n1;
	cases[2].v = (const uint8_t *)dup;
	cases[2].n = sizeof(dup) - 1;
	cases[3].v = (const uint8_t *)pb;
	cases[3].n = sizeof(pb) - 1;
	for (size_t i = 0; i < 4; i++) {
		kvf_k8s_object o;
		cr_assert(kvf_k8s_decode(span(cases[i].v, cases[i].n), &o), "case %zu", i);
		json_t *tree = kvf_json_k8s(&o);
		char *want = json_dumps(tree, JSON_COMPACT | JSON_ENCODE_ANY);
		kvf_buf b = KVF_BUF_INIT;
		kvf_jw_k8s(&b, &o);
		cr_assert_str_eq(b.p, want, "case %zu", i);
		if (i == 2)
			cr_assert_str_eq(json_string_value(json_object_get(json_object_get(tree, "labels"), "a")), "3");
		if (i == 3)
			cr_assert_eq(json_object_size(json_object_get(tree, "labels")), 2, "%s", want);
		free(want);
		json_decref(tree);
		kvf_buf_free(&b);
	}
	free((void *)cases[0].v);
	free((void *)cases[1].v);
}

Test(k8s, text_names_the_object)
{
	size_t n;
	uint8_t *v = slurp("peer-auger/storage/pod.bin", &n);
	kvf_k8s_object o;
	cr_assert(kvf_k8s_decode(span(v, n), &o));
	kvf_buf b = KVF_BUF_INIT;
	kvf_text_k8s_ref(&b, &o);
	cr_assert_str_eq(b.p, "Pod default/pi-dqtsw");
	kvf_buf_reset(&b);
	kvf_text_k8s(&b, &o);
	cr_assert(strstr(b.p, "uid=a4adc7ca-5b56-11e7-8d4b-42010a800002"), "%s", b.p);
	cr_assert(strstr(b.p, "created=2017-06-27T16:35:34Z"), "%s", b.p);
	cr_assert(strstr(b.p, "owner=Job/pi"), "%s", b.p);
	cr_assert(strstr(b.p, "job-name=pi"), "%s", b.p);
	kvf_buf_free(&b);
	free(v);
}

/* Keys as the API server lays them out (k8s.h kvf_k8s_key): the keys the
 * evidence fixture's objects were written under (testdata/README.md), and
 * the layouts with a group, the historical names, and what is not read. */
static bool key(const char *k, kvf_k8s_key *out)
{
	return kvf_k8s_key_parse((const uint8_t *)k, strlen(k), out);
}

static bool is(kvf_k8s_str s, const char *c)
{
	return c ? s.p && s.len == strlen(c) && memcmp(s.p, c, s.len) == 0 : !s.p;
}

static void key_is(const char *k, const char *group, const char *resource, const char *ns, const char *name,
                   bool well_known)
{
	kvf_k8s_key o;
	cr_assert(key(k, &o), "%s: not read", k);
	cr_assert(is(o.group, group) && is(o.resource, resource) && is(o.namespace_, ns) && is(o.name, name),
	          "%s: group %.*s resource %.*s namespace %.*s name %.*s", k, (int)o.group.len, o.group.p,
	          (int)o.resource.len, o.resource.p, (int)o.namespace_.len, o.namespace_.p, (int)o.name.len, o.name.p);
	cr_assert_eq(o.well_known, well_known, "%s: well_known %d", k, o.well_known);
}

Test(k8s, keys_give_namespace_and_name_as_the_apiserver_lays_them_out)
{
	/* evidence/truth/k8s-written.json */
	key_is("/registry/namespaces/team-a", NULL, "namespaces", NULL, "team-a", true);
	key_is("/registry/pods/team-a/web-7d9f8c-00", NULL, "pods", "team-a", "web-7d9f8c-00", true);
	key_is("/registry/jobs/default/pi", NULL, "jobs", "default", "pi", true);
	key_is("/registry/stable.example.com/crontabs/team-a/cron-0", "stable.example.com", "crontabs", "team-a",
	       "cron-0", false);
	key_is("/registry/secrets/team-a/db-password", NULL, "secrets", "team-a", "db-password", true);
	/* incident-authskew */
	key_is("/registry/deployments/default/dep-3", NULL, "deployments", "default", "dep-3", true);
	/* groups, historical names, names with ':' */
	key_is("/registry/apiregistration.k8s.io/apiservices/v1.apps", "apiregistration.k8s.io", "apiservices", NULL,
	       "v1.apps", true);
	key_is("/registry/apiextensions.k8s.io/customresourcedefinitions/crontabs.stable.example.com",
	       "apiextensions.k8s.io", "customresourcedefinitions", NULL, "crontabs.stable.example.com", true);
	key_is("/registry/example.com/widgets/w1", "example.com", "widgets", NULL, "w1", false);
	key_is("/registry/minions/node-1", NULL, "minions", NULL, "node-1", true);
	key_is("/registry/clusterroles/system:node", NULL, "clusterroles", NULL, "system:node", true);
	key_is("/registry/services/specs/default/kubernetes", NULL, "services", "default", "kubernetes", true);
	key_is("/registry/services/endpoints/default/kubernetes", NULL, "endpoints", "default", "kubernetes", true);
	key_is("/registry/widgets/ns/w", NULL, "widgets", "ns", "w", false);
}

Test(k8s, keys_of_no_known_layout_are_not_read)
{
	kvf_k8s_key o;
	const char *no[] = {
		"/registry/", "/registry/pods", "/registry/pods/", "/registry/pods//x", "/registry/pods/default/",
		"/registry/pods/default/x/y",       /* too deep for a namespaced resource */
		"/registry/pods/x",                 /* a namespaced resource without its namespace */
		"/registry/namespaces/a/b",         /* a cluster-scoped one with one */
		"/registry/masterleases/10.0.0.1",  /* the apiserver's own, not a listed resource */
		"/registry/ranges/serviceips",
		"/registry/pods/Default/x",         /* a namespace is a DNS label */
		"/registry/pods/default/..", "/registry/Pods/default/x",
		"/registry/a.b/c", "/registry/a..b/c/d", "/registry/a.b/c/d/e/f",
		"/kubernetes.io/pods/default/x",    /* another --etcd-prefix: not guessed */
		"registry/pods/default/x", "/registry/a/b/c/d/e/f/g",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		cr_assert_not(key(no[i], &o), "%s: read", no[i]);
		cr_assert(!o.resource.p && !o.name.p && !o.group.p && !o.namespace_.p, "%s: left fields set", no[i]);
	}
	cr_assert_not(kvf_k8s_key_parse(NULL, 0, &o));
	/* a key exactly as long as the prefix, and one byte of it */
	cr_assert_not(kvf_k8s_key_parse((const uint8_t *)"/registry/x", 10, &o));
	cr_assert_not(kvf_k8s_key_parse((const uint8_t *)"/", 1, &o));
}

Test(k8s, resources_match_kinds_singular_and_plural)
{
	kvf_k8s_str dep = { (const uint8_t *)"deployments", 11, false };
	kvf_k8s_str np = { (const uint8_t *)"networkpolicies", 15, false };
	kvf_k8s_str ing = { (const uint8_t *)"ingress", 7, false };
	cr_assert(kvf_k8s_resource_in(dep, "Deployment") && kvf_k8s_resource_in(dep, "deployments") &&
	          kvf_k8s_resource_in(dep, "pod,DEPLOYMENT"));
	cr_assert(kvf_k8s_resource_in(np, "NetworkPolicy") && kvf_k8s_resource_in(ing, "Ingress"));
	cr_assert_not(kvf_k8s_resource_in(dep, "deploy") || kvf_k8s_resource_in(dep, "Pod") ||
	              kvf_k8s_resource_in(dep, ",") || kvf_k8s_resource_in(np, "y"));
	cr_assert(kvf_k8s_resource_in(dep, NULL));
}
