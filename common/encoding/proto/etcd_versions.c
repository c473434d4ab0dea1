#include "encoding/proto/etcd_versions.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding/pbwire.h"

typedef struct annotation {
	const char *name;
	uint8_t major, minor;
} annotation;

static const annotation table[] = {
#include "encoding/proto/etcd_versions.inc"
};

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, ((const annotation *)elem)->name);
}

kvf_etcd_version kvf_etcd_annotation(const char *name)
{
	const annotation *a = bsearch(name, table, sizeof(table) / sizeof(table[0]), sizeof(table[0]), cmp_name);
	return a ? KVF_ETCD_VERSION(a->major, a->minor, 0) : 0;
}

/* Annotations by descriptor, looked up once: the summary of a large WAL
 * asks for them for every entry. A process meets a few dozen descriptors;
 * a direct-mapped cache by address finds one without a search. */
#define MAX_FIELDS 64

typedef kvf_etcd_annotations msg_versions;

typedef struct enum_versions {
	const ProtobufCEnumDescriptor *d;
	kvf_etcd_version enm, value[MAX_FIELDS];
} enum_versions;

static msg_versions msgs[64];
static enum_versions enums[64];
static size_t n_msgs, n_enums;

static kvf_etcd_version lookup2(const char *a, const char *b)
{
	char name[256];
	if ((size_t)snprintf(name, sizeof(name), "%s.%s", a, b) >= sizeof(name))
		return 0;
	return kvf_etcd_annotation(name);
}

static const msg_versions *versions_of(const ProtobufCMessageDescriptor *d)
{
	static const msg_versions *recent[64];
	size_t slot = ((uintptr_t)d >> 4) & 63;
	if (recent[slot] && recent[slot]->d == d)
		return recent[slot];
	msg_versions *m = NULL;
	for (size_t i = 0; i < n_msgs && !m; i++)
		if (msgs[i].d == d)
			m = &msgs[i];
	if (!m) {
		if (n_msgs == sizeof(msgs) / sizeof(msgs[0]) || d->n_fields > MAX_FIELDS)
			return NULL;
		m = &msgs[n_msgs++];
		memset(m, 0, sizeof(*m));
		m->d = d;
		m->msg = kvf_etcd_annotation(d->name);
		for (unsigned i = 0; i < d->n_fields; i++)
			m->field[i] = lookup2(d->name, d->fields[i].name);
	}
	recent[slot] = m;
	return m;
}

const kvf_etcd_annotations *kvf_etcd_annotations_of(const ProtobufCMessageDescriptor *d)
{
	return versions_of(d);
}

static const enum_versions *enum_versions_of(const ProtobufCEnumDescriptor *d)
{
	for (size_t i = 0; i < n_enums; i++)
		if (enums[i].d == d)
			return &enums[i];
	if (n_enums == sizeof(enums) / sizeof(enums[0]) || d->n_values > MAX_FIELDS)
		return NULL;
	enum_versions *e = &enums[n_enums++];
	memset(e, 0, sizeof(*e));
	e->d = d;
	e->enm = kvf_etcd_annotation(d->name);
	for (unsigned i = 0; i < d->n_values; i++)
		e->value[i] = lookup2(d->name, d->values[i].name);
	return e;
}

static void raise_to(kvf_etcd_version *v, kvf_etcd_version w)
{
	if (w > *v)
		*v = w;
}

kvf_etcd_version kvf_etcd_message_annotation(const ProtobufCMessageDescriptor *d)
{
	const msg_versions *mv = versions_of(d);
	return mv ? mv->msg : 0;
}

kvf_etcd_version kvf_etcd_field_annotation(const ProtobufCMessageDescriptor *d, unsigned field_index)
{
	const msg_versions *mv = versions_of(d);
	return mv && field_index < d->n_fields ? mv->field[field_index] : 0;
}

kvf_etcd_version kvf_etcd_enum_annotation(const ProtobufCEnumDescriptor *d, int value)
{
	const enum_versions *ev = enum_versions_of(d);
	if (!ev)
		return 0;
	kvf_etcd_version v = ev->enm;
	const ProtobufCEnumValue *val = protobuf_c_enum_descriptor_get_value(d, value);
	if (val && ev->value[val - d->values] > v)
		v = ev->value[val - d->values];
	return v;
}

bool kvf_etcd_field_set(const ProtobufCFieldDescriptor *fd, const kvf_pb_field *f)
{
	if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || fd->label == PROTOBUF_C_LABEL_REPEATED ||
	    fd->type == PROTOBUF_C_TYPE_MESSAGE || fd->label == PROTOBUF_C_LABEL_OPTIONAL ||
	    fd->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	return f->wire == KVF_PB_LEN ? f->len > 0 : f->u64 != 0;
}

static bool walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, int depth,
                 kvf_etcd_version *v)
{
	if (depth > 64)
		return false;
	raise_to(v, kvf_etcd_message_annotation(d));
	kvf_pb_reader r = kvf_pb_init(p, n);
	kvf_pb_field f;
	int rc;
	while ((rc = kvf_pb_next(&r, &f)) == 1) {
		const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(d, f.num);
		if (!fd)
			continue;   /* unknown fields are not visited */
		bool msg = fd->type == PROTOBUF_C_TYPE_MESSAGE;
		if (msg && f.wire != KVF_PB_LEN)
			return false;
		if (!kvf_etcd_field_set(fd, &f))
			continue;
		raise_to(v, kvf_etcd_field_annotation(d, (unsigned)(fd - d->fields)));
		if (fd->label == PROTOBUF_C_LABEL_REPEATED)
			continue;   /* etcd does not look into lists */
		if (msg) {
			if (!walk(fd->descriptor, f.data, f.len, depth + 1, v))
				return false;
		} else if (fd->type == PROTOBUF_C_TYPE_ENUM && f.wire == KVF_PB_VARINT) {
			raise_to(v, kvf_etcd_enum_annotation(fd->descriptor, (int)f.u64));
		}
	}
	return rc == 0;
}

bool kvf_etcd_message_version(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                              kvf_etcd_version *v)
{
	return walk(d, p, n, 0, v);
}

void kvf_etcd_version_format(kvf_etcd_version v, char out[16])
{
	if (!v)
		out[0] = '\0';
	else
		snprintf(out, 16, "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
}

static bool number(const uint8_t **p, const uint8_t *end, unsigned max, unsigned *out)
{
	const uint8_t *s = *p;
	unsigned x = 0;
	while (*p < end && **p >= '0' && **p <= '9') {
		x = x * 10 + (unsigned)(**p - '0');
		if (x > max)
			return false;
		(*p)++;
	}
	/* semver: no leading zeros */
	if (*p == s || (*p - s > 1 && *s == '0'))
		return false;
	*out = x;
	return true;
}

bool kvf_etcd_version_parse(const uint8_t *s, size_t n, kvf_etcd_version *v)
{
	const uint8_t *p = s, *end = s + n;
	unsigned major, minor, patch;
	if (!n || !number(&p, end, 0xffff, &major) || p == end || *p++ != '.' ||
	    !number(&p, end, 0xff, &minor) || p == end || *p++ != '.' || !number(&p, end, 0xff, &patch))
		return false;
	if (p < end && *p != '-' && *p != '+')
		return false;
	*v = KVF_ETCD_VERSION(major, minor, patch);
	return true;
}
