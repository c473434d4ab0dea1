/* Which etcd version introduced each message, field and enum value of the
 * requests etcd replicates, and the highest of them over what a message's
 * bytes use: etcd's own rule for the lowest etcd that can read a WAL
 * (server/storage/wal/version.go MinimalEtcdVersion, etcd 3.6+). The
 * annotations are read from etcd's .proto files (etcd_version_msg, _field,
 * _enum, _enum_value) into etcd_versions.inc by gen-etcd-versions.py. */
#ifndef KVF_ETCD_VERSIONS_H
#define KVF_ETCD_VERSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* major.minor.patch as major << 16 | minor << 8 | patch; 0 is "none". */
typedef uint32_t kvf_etcd_version;
#define KVF_ETCD_VERSION(major, minor, patch) \
	((kvf_etcd_version)(major) << 16 | (kvf_etcd_version)(minor) << 8 | (kvf_etcd_version)(patch))

/* The annotation of one name ("etcdserverpb.PutRequest.ignore_value",
 * "etcdserverpb.AlarmType.CORRUPT"), 0 when etcd gives it none. */
kvf_etcd_version kvf_etcd_annotation(const char *name);

/* Raise *v to the highest annotation that etcd's visitMessage meets on these
 * bytes read as d: d itself, every field set (proto3: a non-zero scalar, a
 * message even when empty, a oneof member even when zero, a non-empty list),
 * and, for singular fields only, the message inside (recursively) and the
 * enum and its value. Lists are not looked into, as etcd does not. false
 * when the bytes are not a well-formed message (v then holds what was met
 * before the damage). */
bool kvf_etcd_message_version(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                              kvf_etcd_version *v);

/* The same annotations, looked up once per descriptor, for a caller that
 * walks the wire itself (wal/request.c's kind scan does, and accumulates
 * the version on the way): a message's own, its field i's, and an enum's
 * with the value's. */
kvf_etcd_version kvf_etcd_message_annotation(const ProtobufCMessageDescriptor *d);
kvf_etcd_version kvf_etcd_field_annotation(const ProtobufCMessageDescriptor *d, unsigned field_index);
/* All of one message's at once: looked up once per message, indexed per
 * field (fields in d->fields order); NULL for a message of more than 64
 * fields, which etcd has none of. */
typedef struct kvf_etcd_annotations {
	const ProtobufCMessageDescriptor *d;
	kvf_etcd_version msg, field[64];
} kvf_etcd_annotations;
const kvf_etcd_annotations *kvf_etcd_annotations_of(const ProtobufCMessageDescriptor *d);
kvf_etcd_version kvf_etcd_enum_annotation(const ProtobufCEnumDescriptor *d, int value);
/* Whether etcd's visitor counts a field found on the wire as set (protoreflect
 * Range: a proto3 scalar only when it is not zero or empty; a message, a
 * oneof member, a list entry, a proto2 field always). f is kvf_pb_next's. */
struct kvf_pb_field;
bool kvf_etcd_field_set(const ProtobufCFieldDescriptor *fd, const struct kvf_pb_field *f);

/* "3.5.0"; "" for 0. */
void kvf_etcd_version_format(kvf_etcd_version v, char out[16]);
/* Parse a semantic version as github.com/coreos/go-semver does for
 * DowngradeVersionTestRequest.ver: "MAJOR.MINOR.PATCH", optionally followed
 * by "-prerelease" and "+build" (kept out of the value); false otherwise. */
bool kvf_etcd_version_parse(const uint8_t *s, size_t n, kvf_etcd_version *v);

#endif
