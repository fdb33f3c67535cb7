/*
 * oom_score: sets a process's oom_score_adj (/proc/PID/oom_score_adj, through procfs' root) — the one writer for
 * the controller (-900), the worker (1000, or -1000 when pinned) and whoever else needs it.
 * Return contract: 0 / -errno (-EINVAL for a value outside -1000..1000, nothing written); nothing here logs.
 */
#ifndef USBD_SYS_OOM_SCORE_H
#define USBD_SYS_OOM_SCORE_H

#include <sys/types.h>

#define OOM_SCORE_ADJ_MIN (-1000)
#define OOM_SCORE_ADJ_MAX 1000

/* pid 0: the calling process. Lowering the value needs CAP_SYS_RESOURCE (else -EACCES). */
int oom_score_set(pid_t pid, int value);

#endif
