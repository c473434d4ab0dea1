/* What the three command-line tools share: one message style
 * ("tool: file: offset N: what"), colour and progress decisions, output
 * format parsing. This is the only part of common/ that writes to stderr;
 * it is built as its own library (libkvftool) and the decoders never use it. */
#ifndef KVF_TOOL_H
#define KVF_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "io/err.h"

/* Exit codes, as diff(1): 0 clean/identical, 1 findings, 2 could not run. */
enum { KVF_EXIT_CLEAN = 0, KVF_EXIT_FINDINGS = 1, KVF_EXIT_TROUBLE = 2 };

typedef enum kvf_format { KVF_FORMAT_TEXT, KVF_FORMAT_JSON } kvf_format;

void kvf_tool_init(const char *name);
const char *kvf_tool_name(void);

/* "tool: message" on stderr. */
void kvf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The error, formatted as "tool: file: offset N: message". */
void kvf_report(const kvf_err *e);
/* A usage mistake: one line, the message and a pointer to --help; exit 2. */
void kvf_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

struct option;
/* What getopt_long returned '?' or ':' for, as one usage error naming the
 * option ("unknown option '--bogus'", "option '--rev' needs an argument").
 * kvf_tool_init sets opterr = 0, so getopt prints nothing of its own (it
 * would print a second line, with the full argv[0]). shortopts and longopts
 * are what getopt_long was given. */
void kvf_option_error(int c, char *const argv[], const char *shortopts,
                      const struct option *longopts) __attribute__((noreturn));

bool kvf_parse_format(const char *arg, kvf_format *f);
/* --color=auto|always|never; auto: stdout is a terminal and NO_COLOR is unset. */
bool kvf_parse_color(const char *arg, bool *color);
bool kvf_color_default(void);

/* Progress on stderr for long scans: shown only on a terminal and only once
 * a scan has run for a second. */
typedef struct kvf_progress {
	bool enabled, shown;
	double start, last;
	const char *what;
} kvf_progress;

void kvf_progress_start(kvf_progress *p, const char *what);
void kvf_progress_update(kvf_progress *p, uint64_t done, uint64_t total, const char *unit);
void kvf_progress_end(kvf_progress *p);

/* Version line for --version. */
void kvf_print_version(void);

#endif
