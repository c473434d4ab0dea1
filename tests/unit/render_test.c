#include <criterion/criterion.h>
#include <string.h>

#include "render.h"
#include "etcdserverpb.pb-c.h"

static char *dump(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	return s;
}

Test(render, printable_utf8_stays_a_string)
{
	cr_assert_str_eq(dump(kvf_json_bytes((const uint8_t *)"/registry/pods/é", 17)),
	                 "\"/registry/pods/\xc3\xa9\"");
}

Test(render, other_bytes_become_base64_losslessly)
{
	cr_assert_str_eq(dump(kvf_json_bytes((const uint8_t *)"k8s\0\x0a", 5)), "{\"base64\":\"azhzAAo=\"}");
	cr_assert_str_eq(dump(kvf_json_bytes((const uint8_t *)"\xff", 1)), "{\"base64\":\"/w==\"}");
	/* overlong encoding of '/' is not valid UTF-8 */
	cr_assert_str_eq(dump(kvf_json_bytes((const uint8_t *)"\xc0\xaf", 2)), "{\"base64\":\"wK8=\"}");
}

Test(render, large_integers_become_strings)
{
	cr_assert_str_eq(dump(kvf_json_u64(1ull << 53)), "9007199254740992");
	cr_assert_str_eq(dump(kvf_json_u64((1ull << 53) + 1)), "\"9007199254740993\"");
	cr_assert_str_eq(dump(kvf_json_i64(-5)), "-5");
	cr_assert_str_eq(dump(kvf_json_hex(0x67a7e86946704e5aull)), "\"67a7e86946704e5a\"");
}

Test(render, text_quotes_only_when_needed)
{
	kvf_buf b = KVF_BUF_INIT;
	kvf_text_bytes(&b, (const uint8_t *)"/a/b", 4);
	cr_assert_str_eq(b.p, "/a/b");
	kvf_buf_reset(&b);
	kvf_text_bytes(&b, (const uint8_t *)"a b\x01\"", 5);
	cr_assert_str_eq(b.p, "\"a b\\x01\\\"\"");
	kvf_buf_reset(&b);
	kvf_text_bytes(&b, (const uint8_t *)"", 0);
	cr_assert_str_eq(b.p, "\"\"");
	kvf_buf_free(&b);
}

Test(render, messages_render_every_set_field_and_hide_secrets)
{
	Etcdserverpb__AuthUserAddRequest u = ETCDSERVERPB__AUTH_USER_ADD_REQUEST__INIT;
	u.name.data = (uint8_t *)"bob";
	u.name.len = 3;
	u.password.data = (uint8_t *)"hunter2";
	u.password.len = 7;
	kvf_render_opts o = { 0 };
	char *s = dump(kvf_json_message(&u.base, &o));
	cr_assert_str_eq(s, "{\"name\":\"bob\",\"password\":{\"redacted_bytes\":7}}");
	o.show_secrets = true;
	s = dump(kvf_json_message(&u.base, &o));
	cr_assert_str_eq(s, "{\"name\":\"bob\",\"password\":\"hunter2\"}");
}

Test(render, enums_render_by_name)
{
	Etcdserverpb__AlarmRequest a = ETCDSERVERPB__ALARM_REQUEST__INIT;
	a.action = ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__ACTIVATE;
	a.alarm = ETCDSERVERPB__ALARM_TYPE__NOSPACE;
	a.memberid = 5;
	cr_assert_str_eq(dump(kvf_json_message(&a.base, NULL)),
	                 "{\"action\":\"ACTIVATE\",\"memberID\":5,\"alarm\":\"NOSPACE\"}");
}
