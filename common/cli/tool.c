#include "cli/tool.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *tool_name = "kvforensics";

void kvf_tool_init(const char *name)
{
	tool_name = name;
	/* getopt's own message would come first, with the full argv[0]:
	 * kvf_option_error says it once, in our words */
	opterr = 0;
}

const char *kvf_tool_name(void)
{
	return tool_name;
}

void kvf_warn(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void kvf_report(const kvf_err *e)
{
	char msg[1024];
	kvf_err_format(e, msg, sizeof(msg));
	fflush(stdout);
	fprintf(stderr, "%s: %s\n", tool_name, msg);
}

void kvf_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	/* one line: scripts and people read the first line of an error */
	fprintf(stderr, " (see %s --help)\n", tool_name);
	exit(KVF_EXIT_TROUBLE);
}

/* The long option an argument names ("--rev" or "--rev=5"), or NULL. */
static const struct option *long_option(const char *arg, const struct option *longopts)
{
	if (!arg || strncmp(arg, "--", 2) != 0)
		return NULL;
	const char *name = arg + 2;
	size_t n = strcspn(name, "=");
	for (const struct option *o = longopts; o && o->name; o++)
		if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
			return o;
	return NULL;
}

void kvf_option_error(int c, char *const argv[], const char *shortopts, const struct option *longopts)
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	const struct option *lo = long_option(arg, longopts);
	if (lo && lo->has_arg == required_argument && (c == ':' || !strchr(arg, '=')))
		kvf_usage_error("option '--%s' needs an argument", lo->name);
	if (lo && lo->has_arg == no_argument)
		kvf_usage_error("option '--%s' takes no argument", lo->name);
	if (arg && strncmp(arg, "--", 2) == 0)
		kvf_usage_error("unknown or ambiguous option '%s'", arg);
	/* a short option: optopt is the character */
	const char *s = optopt > 0 && optopt < 256 && optopt != ':' ? strchr(shortopts, optopt) : NULL;
	if (s && s[1] == ':')
		kvf_usage_error("option '-%c' needs an argument", optopt);
	if (optopt > 0 && optopt < 256)
		kvf_usage_error("unknown option '-%c'", optopt);
	kvf_usage_error("unknown option '%s'", arg ? arg : "?");
}

bool kvf_parse_format(const char *arg, kvf_format *f)
{
	if (strcmp(arg, "text") == 0)
		*f = KVF_FORMAT_TEXT;
	else if (strcmp(arg, "json") == 0)
		*f = KVF_FORMAT_JSON;
	else
		return false;
	return true;
}

bool kvf_color_default(void)
{
	const char *nc = getenv("NO_COLOR");
	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

bool kvf_parse_color(const char *arg, bool *color)
{
	if (!arg || strcmp(arg, "auto") == 0)
		*color = kvf_color_default();
	else if (strcmp(arg, "always") == 0)
		*color = true;
	else if (strcmp(arg, "never") == 0)
		*color = false;
	else
		return false;
	return true;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void kvf_progress_start(kvf_progress *p, const char *what)
{
	memset(p, 0, sizeof(*p));
	p->enabled = isatty(STDERR_FILENO);
	p->start = p->last = now();
	p->what = what;
}

void kvf_progress_update(kvf_progress *p, uint64_t done, uint64_t total, const char *unit)
{
	if (!p->enabled)
		return;
	double t = now();
	if (t - p->start < 1.0 || t - p->last < 0.2)
		return;
	p->last = t;
	p->shown = true;
	if (total)
		fprintf(stderr, "\r%s: %s %" PRIu64 "/%" PRIu64 " %s (%.0f%%)  ", tool_name, p->what,
		        done, total, unit, 100.0 * (double)done / (double)total);
	else
		fprintf(stderr, "\r%s: %s %" PRIu64 " %s  ", tool_name, p->what, done, unit);
}

void kvf_progress_end(kvf_progress *p)
{
	if (p->shown)
		fprintf(stderr, "\r\033[K");
	p->shown = false;
}

void kvf_print_version(void)
{
	printf("%s (kvforensics) %s\n", tool_name, KVF_VERSION);
}
