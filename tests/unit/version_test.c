/* The lowest etcd that can read a WAL (etcd's MinimalEtcdVersion) and the
 * schema that wrote a db (UnsafeDetectSchemaVersion), on messages built
 * here; tests/integration holds both to etcd's own answers on real files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/schema.h"
#include "db/version.h"
#include "encoding/proto/etcd_versions.h"
#include "encoding/proto/etcdserverpb.pb-c.h"
#include "encoding/proto/raftpb.pb-c.h"
#include "wal/request.h"
#include "wal/walversion.h"

#define V(a, b, c) KVF_ETCD_VERSION(a, b, c)

static kvf_arena arena;
static void setup(void) { kvf_arena_init(&arena); }
static void teardown(void) { kvf_arena_free(&arena); }
TestSuite(version, .init = setup, .fini = teardown);

static uint8_t buf[4096];

static kvf_etcd_version entry_version(uint64_t type, const uint8_t *p, size_t n, uint8_t *flags)
{
	kvf_raft_entry e = { .type = type, .term = 1, .index = 1, .data = n ? p : NULL, .len = n };
	const char *kind = kvf_request_kind(&e, &arena);
	kvf_etcd_version walked = kvf_entry_version(&e, kind, &arena, flags, NULL);
	/* the kind scan finds the same version on its way, when it names a kind */
	kvf_etcd_version scanned;
	uint8_t flags2;
	if (kvf_request_kind_scan_version(&e, &scanned))
		cr_assert_eq(kvf_entry_version(&e, kind, &arena, &flags2, &scanned), walked,
		             "scan %x, walk %x", scanned, walked);
	return walked;
}

static kvf_etcd_version irr_version(const Etcdserverpb__InternalRaftRequest *irr, uint8_t *flags)
{
	size_t n = etcdserverpb__internal_raft_request__pack(irr, buf);
	return entry_version(0, buf, n, flags);
}

Test(version, annotations_come_from_etcds_protos)
{
	cr_assert_eq(kvf_etcd_annotation("etcdserverpb.InternalRaftRequest"), V(3, 0, 0));
	cr_assert_eq(kvf_etcd_annotation("etcdserverpb.RequestHeader.auth_revision"), V(3, 1, 0));
	cr_assert_eq(kvf_etcd_annotation("etcdserverpb.PutRequest.ignore_value"), V(3, 2, 0));
	cr_assert_eq(kvf_etcd_annotation("etcdserverpb.AlarmType.CORRUPT"), V(3, 3, 0));
	cr_assert_eq(kvf_etcd_annotation("etcdserverpb.InternalRaftRequest.cluster_version_set"), V(3, 5, 0));
	cr_assert_eq(kvf_etcd_annotation("etcdserverpb.DowngradeVersionTestRequest"), V(3, 6, 0));
	cr_assert_eq(kvf_etcd_annotation("etcdserverpb.PutRequest.key"), 0);
	cr_assert_eq(kvf_etcd_annotation("no.such.Thing"), 0);
}

/* Every name of the table is a message, field, enum or enum value of our
 * own .proto files, or of etcd's responses and other messages a WAL never
 * holds: the names line up, so no annotation is lost to a spelling. */
Test(version, the_table_names_our_descriptors)
{
	static const struct { const char *name; const ProtobufCMessageDescriptor *d; } ours[] = {
		{ "etcdserverpb.InternalRaftRequest", &etcdserverpb__internal_raft_request__descriptor },
		{ "etcdserverpb.RequestHeader", &etcdserverpb__request_header__descriptor },
		{ "etcdserverpb.PutRequest", &etcdserverpb__put_request__descriptor },
		{ "etcdserverpb.RangeRequest", &etcdserverpb__range_request__descriptor },
		{ "etcdserverpb.DeleteRangeRequest", &etcdserverpb__delete_range_request__descriptor },
		{ "etcdserverpb.RequestOp", &etcdserverpb__request_op__descriptor },
		{ "etcdserverpb.Compare", &etcdserverpb__compare__descriptor },
		{ "etcdserverpb.AuthUserAddRequest", &etcdserverpb__auth_user_add_request__descriptor },
		{ "etcdserverpb.AuthUserChangePasswordRequest", &etcdserverpb__auth_user_change_password_request__descriptor },
		{ "etcdserverpb.LeaseCheckpointRequest", &etcdserverpb__lease_checkpoint_request__descriptor },
	};
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		const ProtobufCMessageDescriptor *d = ours[i].d;
		cr_assert_str_eq(d->name, ours[i].name);
		cr_assert_neq(kvf_etcd_annotation(d->name), 0, "%s has a message annotation", d->name);
	}
	/* the fields etcd annotates exist in ours, under the same names */
	static const char *const fields[][2] = {
		{ "etcdserverpb.InternalRaftRequest", "auth_status" },
		{ "etcdserverpb.InternalRaftRequest", "cluster_member_attr_set" },
		{ "etcdserverpb.InternalRaftRequest", "downgrade_info_set" },
		{ "etcdserverpb.InternalRaftRequest", "downgrade_version_test" },
		{ "etcdserverpb.InternalRaftRequest", "lease_checkpoint" },
		{ "etcdserverpb.AuthUserAddRequest", "hashedPassword" },
		{ "etcdserverpb.AuthUserAddRequest", "options" },
		{ "etcdserverpb.AuthUserChangePasswordRequest", "hashedPassword" },
		{ "etcdserverpb.RangeRequest", "min_mod_revision" },
		{ "etcdserverpb.Compare", "range_end" },
		{ "etcdserverpb.RequestOp", "request_txn" },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char name[160];
		snprintf(name, sizeof(name), "%s.%s", fields[i][0], fields[i][1]);
		cr_assert_neq(kvf_etcd_annotation(name), 0, "%s", name);
	}
	cr_assert_not_null(protobuf_c_message_descriptor_get_field_by_name(
		&etcdserverpb__auth_user_add_request__descriptor, "hashedPassword"));
	cr_assert_not_null(protobuf_c_message_descriptor_get_field_by_name(
		&etcdserverpb__request_op__descriptor, "request_txn"));
}

/* What etcd's visitMessage meets: set fields (proto3: non-zero), singular
 * messages and enums inside, never the contents of a list. */
Test(version, an_entry_needs_what_it_uses)
{
	uint8_t flags;
	cr_assert_eq(entry_version(0, NULL, 0, &flags), V(3, 0, 0), "an empty entry is an empty IRR");
	cr_assert_eq(flags, 0);

	Etcdserverpb__InternalRaftRequest irr = ETCDSERVERPB__INTERNAL_RAFT_REQUEST__INIT;
	Etcdserverpb__RequestHeader hdr = ETCDSERVERPB__REQUEST_HEADER__INIT;
	Etcdserverpb__PutRequest put = ETCDSERVERPB__PUT_REQUEST__INIT;
	put.key.data = (uint8_t *)"k";
	put.key.len = 1;
	irr.header = &hdr;
	hdr.id = 1;
	irr.put = &put;
	cr_assert_eq(irr_version(&irr, &flags), V(3, 0, 0));
	hdr.auth_revision = 5;
	cr_assert_eq(irr_version(&irr, &flags), V(3, 1, 0), "auth_revision is 3.1");
	put.prev_kv = true;
	cr_assert_eq(irr_version(&irr, &flags), V(3, 1, 0));
	put.ignore_value = true;
	cr_assert_eq(irr_version(&irr, &flags), V(3, 2, 0), "ignore_value is 3.2");

	/* a txn: its compares and ops are lists, which etcd does not look into */
	Etcdserverpb__InternalRaftRequest t = ETCDSERVERPB__INTERNAL_RAFT_REQUEST__INIT;
	Etcdserverpb__TxnRequest txn = ETCDSERVERPB__TXN_REQUEST__INIT;
	Etcdserverpb__Compare cmp = ETCDSERVERPB__COMPARE__INIT, *cmps[1] = { &cmp };
	cmp.target = ETCDSERVERPB__COMPARE__COMPARE_TARGET__LEASE;   /* 3.3 */
	txn.n_compare = 1;
	txn.compare = cmps;
	t.txn = &txn;
	t.header = &hdr;
	hdr.auth_revision = 0;
	cr_assert_eq(irr_version(&t, &flags), V(3, 0, 0));

	/* a singular enum: AlarmRequest.alarm = CORRUPT is 3.3 */
	Etcdserverpb__InternalRaftRequest a = ETCDSERVERPB__INTERNAL_RAFT_REQUEST__INIT;
	Etcdserverpb__AlarmRequest alarm = ETCDSERVERPB__ALARM_REQUEST__INIT;
	alarm.action = ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__ACTIVATE;
	alarm.alarm = ETCDSERVERPB__ALARM_TYPE__CORRUPT;
	a.alarm = &alarm;
	cr_assert_eq(irr_version(&a, &flags), V(3, 3, 0));

	Etcdserverpb__InternalRaftRequest c = ETCDSERVERPB__INTERNAL_RAFT_REQUEST__INIT;
	Membershippb__ClusterVersionSetRequest cv = MEMBERSHIPPB__CLUSTER_VERSION_SET_REQUEST__INIT;
	cv.ver.data = (uint8_t *)"3.6.0";
	cv.ver.len = 5;
	c.cluster_version_set = &cv;
	cr_assert_eq(irr_version(&c, &flags), V(3, 5, 0), "the 3.5 field and message");

	/* downgrade_version_test: the version it names, when higher */
	Etcdserverpb__InternalRaftRequest d = ETCDSERVERPB__INTERNAL_RAFT_REQUEST__INIT;
	Etcdserverpb__DowngradeVersionTestRequest dv = ETCDSERVERPB__DOWNGRADE_VERSION_TEST_REQUEST__INIT;
	dv.ver.data = (uint8_t *)"3.9.2";
	dv.ver.len = 5;
	d.downgrade_version_test = &dv;
	cr_assert_eq(irr_version(&d, &flags), V(3, 9, 2));
	cr_assert_eq(flags, 0);
	dv.ver.data = (uint8_t *)"3.9";   /* not semver: etcd's visitor errors */
	dv.ver.len = 3;
	irr_version(&d, &flags);
	cr_assert(flags & KVF_VER_UNREADABLE);

	/* conf changes: 3.0 and 3.4; garbage: unreadable */
	Raftpb__ConfChange cc = RAFTPB__CONF_CHANGE__INIT;
	cc.has_node_id = 1;
	cc.node_id = 9;
	size_t n = raftpb__conf_change__pack(&cc, buf);
	cr_assert_eq(entry_version(1, buf, n, &flags), V(3, 0, 0));
	Raftpb__ConfChangeV2 cc2 = RAFTPB__CONF_CHANGE_V2__INIT;
	n = raftpb__conf_change_v2__pack(&cc2, buf);
	cr_assert_eq(entry_version(2, buf, n, &flags), V(3, 4, 0));
	static const uint8_t junk[] = { 0xff, 0xff, 0xff };
	cr_assert_eq(entry_version(0, junk, sizeof(junk), &flags), 0);
	cr_assert_eq(flags, KVF_VER_UNREADABLE);
	cr_assert_eq(entry_version(7, junk, sizeof(junk), &flags), 0);
	cr_assert_eq(flags, KVF_VER_UNREADABLE, "an unknown entry type");
}

static uint8_t v2_flags(const char *method, const char *path)
{
	Etcdserverpb__Request v2 = ETCDSERVERPB__REQUEST__INIT;
	v2.has_method = v2.has_path = 1;
	v2.method.data = (uint8_t *)method;
	v2.method.len = strlen(method);
	v2.path.data = (uint8_t *)path;
	v2.path.len = strlen(path);
	size_t n = etcdserverpb__request__pack(&v2, buf);
	uint8_t flags;
	cr_assert_eq(entry_version(0, buf, n, &flags), 0, "a v2 Request carries no annotation");
	return flags;
}

Test(version, v2_requests_are_flagged_and_3_6_refuses_all_but_two)
{
	cr_assert_eq(v2_flags("PUT", "/0/members/1/attributes"), KVF_VER_V2);
	cr_assert_eq(v2_flags("PUT", "/0/version"), KVF_VER_V2);
	cr_assert_eq(v2_flags("SYNC", ""), KVF_VER_V2 | KVF_VER_V2_REFUSED_36);
	cr_assert_eq(v2_flags("PUT", "/1/k"), KVF_VER_V2 | KVF_VER_V2_REFUSED_36);
}

Test(version, only_entries_after_the_newest_valid_snapshot_count)
{
	kvf_wal_version w = { 0 };
	kvf_wal_version_result r;
	for (uint64_t i = 1; i <= 10; i++)
		kvf_wal_version_entry(&w, i, i == 3 ? V(3, 6, 0) : V(3, 0, 0), i == 4 ? KVF_VER_V2 : 0);
	kvf_wal_version_state(&w, 10);
	kvf_wal_version_result_of(&w, &r);
	cr_assert(r.known);
	cr_assert_eq(r.after_index, 0);
	cr_assert_eq(r.entries, 10);
	cr_assert_eq(r.min, V(3, 6, 0));
	cr_assert_eq(r.v2, 1);
	cr_assert_eq(r.first_v2, 4);
	/* a snapshot at 4 is written after the entries it covers */
	kvf_wal_version_snapshot(&w, 4);
	kvf_wal_version_result_of(&w, &r);
	cr_assert_eq(r.after_index, 4);
	cr_assert_eq(r.entries, 6);
	cr_assert_eq(r.min, V(3, 0, 0));
	cr_assert_eq(r.v2, 0);
	/* a snapshot past the last commit is not valid (ValidSnapshotEntries) */
	kvf_wal_version_snapshot(&w, 12);
	for (uint64_t i = 11; i <= 14; i++)
		kvf_wal_version_entry(&w, i, V(3, 5, 0), 0);
	kvf_wal_version_result_of(&w, &r);
	cr_assert_eq(r.after_index, 4, "the commit is still 10");
	cr_assert_eq(r.min, V(3, 5, 0));
	/* a new leader's entries replace 13 and 14 */
	kvf_wal_version_entry(&w, 13, V(3, 0, 0), KVF_VER_V2 | KVF_VER_V2_REFUSED_36);
	kvf_wal_version_state(&w, 13);
	kvf_wal_version_result_of(&w, &r);
	cr_assert_eq(r.after_index, 12);
	cr_assert_eq(r.entries, 1, "only 13 after 12: 14 was replaced");
	cr_assert_eq(r.min, V(3, 0, 0));
	cr_assert_eq(r.v2, 1);
	cr_assert_eq(r.v2_refused_36, 1);
	cr_assert_lt(w.n, 4, "runs a valid snapshot covers are dropped");
	kvf_wal_version_free(&w);
}

Test(version, semantic_versions_parse_as_go_semver_does)
{
	kvf_etcd_version v;
	cr_assert(kvf_etcd_version_parse((const uint8_t *)"3.6.0", 5, &v) && v == V(3, 6, 0));
	cr_assert(kvf_etcd_version_parse((const uint8_t *)"3.10.2-rc.1", 11, &v) && v == V(3, 10, 2));
	cr_assert(!kvf_etcd_version_parse((const uint8_t *)"3.6", 3, &v));
	cr_assert(!kvf_etcd_version_parse((const uint8_t *)"v3.6.0", 6, &v));
	cr_assert(!kvf_etcd_version_parse((const uint8_t *)"3.06.0", 6, &v));
	cr_assert(!kvf_etcd_version_parse((const uint8_t *)"3.6.0x", 6, &v));
	char s[16];
	kvf_etcd_version_format(V(3, 7, 0), s);
	cr_assert_str_eq(s, "3.7.0");
}

static kvf_span sp(const char *s)
{
	return (kvf_span){ (const uint8_t *)s, strlen(s), KVF_NO_OFFSET };
}

Test(version, conf_state_json_with_ids_above_int64)
{
	kvf_conf_state cs;
	cr_assert(kvf_conf_state_parse(sp("{\"voters\":[14231116965617537522,8128970992751170325],"
	                                  "\"learners\":[18446744073709551615],\"auto_leave\":false}"), &cs));
	cr_assert_eq(cs.n_voters, 2);
	cr_assert_eq(cs.voters[0], 14231116965617537522ull);
	cr_assert_eq(cs.n_learners, 1);
	cr_assert_eq(cs.learners[0], UINT64_MAX);
	cr_assert(!cs.auto_leave);
	cr_assert(kvf_conf_state_parse(sp(" { \"Voters\" : [ 1 ] , \"x\":{\"y\":[1,\"}\"]}, \"auto_leave\":true } "), &cs));
	cr_assert(cs.n_voters == 1 && cs.auto_leave);
	cr_assert(kvf_conf_state_parse(sp("{}"), &cs) && cs.n_voters == 0);
	static const char *const bad[] = {
		"", "[]", "{\"voters\":[18446744073709551616]}", "{\"voters\":[-1]}", "{\"voters\":[1,]}",
		"{\"voters\":[01]}", "{\"voters\":[1]", "{\"voters\":[1]}x", "{\"auto_leave\":1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!kvf_conf_state_parse(sp(bad[i]), &cs), "%s", bad[i]);
	char many[2048] = "{\"voters\":[1";
	for (int i = 0; i < KVF_CONF_STATE_MAX; i++)
		strcat(many, ",1");
	strcat(many, "]}");
	cr_assert(!kvf_conf_state_parse(sp(many), &cs), "more ids than fit");
}

Test(version, schema_by_etcds_rule)
{
	kvf_etcd_state st;
	kvf_db_schema s;
	memset(&st, 0, sizeof(st));
	kvf_db_schema_detect(&st, &s);
	cr_assert_eq(s.source, KVF_SCHEMA_NONE);
	cr_assert(!kvf_hashkv_at_compaction_ok(&s));
	st.has_consistent_index = st.has_term = true;
	st.consistent_index = 10;
	st.term = 0;
	kvf_db_schema_detect(&st, &s);
	cr_assert_eq(s.source, KVF_SCHEMA_NONE, "term 0 is etcd's missing term");
	st.term = 2;
	kvf_db_schema_detect(&st, &s);
	cr_assert_eq(s.source, KVF_SCHEMA_FROM_TERM);
	cr_assert_eq(s.version, V(3, 5, 0));
	cr_assert(kvf_hashkv_at_compaction_ok(&s));
	st.storage_version = sp("3.7.0");
	kvf_db_schema_detect(&st, &s);
	cr_assert_eq(s.source, KVF_SCHEMA_FROM_STORAGE_VERSION);
	cr_assert_eq(s.version, V(3, 7, 0));
	st.storage_version = sp("3.7");   /* not semver: etcd reads it as absent */
	kvf_db_schema_detect(&st, &s);
	cr_assert_eq(s.source, KVF_SCHEMA_FROM_TERM);
	cr_assert(s.storage_version_ignored);
	cr_assert(kvf_meta_key_version_dependent(sp("storageVersion")));
	cr_assert(!kvf_meta_key_version_dependent(sp("consistent_index")));
}
