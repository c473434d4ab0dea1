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

/* "3.5.0"; "" for 0. */
void kvf_etcd_version_format(kvf_etcd_version v, char out[16]);
/* Parse a semantic version as github.com/coreos/go-semver does for
 * DowngradeVersionTestRequest.ver: "MAJOR.MINOR.PATCH", optionally followed
 * by "-prerelease" and "+build" (kept out of the value); false otherwise. */
bool kvf_etcd_version_parse(const uint8_t *s, size_t n, kvf_etcd_version *v);

#endif
