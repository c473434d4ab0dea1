/* The bbolt file reader, as a backend (backend.h). Only the dispatch
 * (backend_open.c) and tests call it directly. */
#ifndef KVF_BOLT_H
#define KVF_BOLT_H

#include "db/backend.h"

/* *b is allocated here (calloc), ops and info set; kvf_backend_close frees it. */
kvf_status kvf_bolt_open(kvf_backend **b, const char *path, kvf_err *err);

#endif
