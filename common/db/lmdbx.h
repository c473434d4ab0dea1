/* The LMDB environment (a directory, or its data.mdb) reader, as a backend (backend.h). Only the dispatch
 * (backend_open.c) and tests call it directly. */
#ifndef KVF_LMDBX_H
#define KVF_LMDBX_H

#include "db/backend.h"

/* *b is allocated here (calloc), ops and info set; kvf_backend_close frees it. */
kvf_status kvf_lmdb_open(kvf_backend **b, const char *path, kvf_err *err);

#endif
