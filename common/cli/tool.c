#include "cli/tool.h"

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
	fprintf(stderr, "\nTry '%s --help' for more information.\n", tool_name);
	exit(KVF_EXIT_TROUBLE);
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
