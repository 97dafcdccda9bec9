/* oom.c — OOM kills: which process the kernel chose to kill.
 *
 * Tracepoint: oom:mark_victim (the victim is chosen; it is killed right after).
 * Event EV_OOM: pid, and where this kernel's tracepoint has them (probed at run time from
 * its format file): comm (OOM_HAS_COMM), uid (OOM_HAS_UID), RSS in pages
 * (OOM_HAS_RSS: anon + file + shmem), oom_score_adj (OOM_HAS_SCORE_ADJ). Older kernels
 * give only the pid; user space then reads /proc/<pid> while the victim still exists.
 * Maps: the shared event ring buffer (common.h).
 * Kernel: 5.8+; comm, uid and RSS arrived in the tracepoint in 6.x.
 */

int st_oom_victim(struct tracepoint__oom__mark_victim *args)
{
    struct event *e = event_reserve(EV_OOM, args->pid);
    if (!e)
        return 0;
#ifdef OOM_HAS_COMM
    TP_DATA_LOC_READ_STR(&e->comm, comm, sizeof(e->comm));
#else
    e->comm[0] = 0;
#endif
#ifdef OOM_HAS_UID
    e->uid = args->uid;
#else
    e->uid = (u32)-1;
#endif
#ifdef OOM_HAS_RSS
    e->value = args->anon_rss + args->file_rss + args->shmem_rss;
#endif
#ifdef OOM_HAS_SCORE_ADJ
    e->other = (u32)(args->oom_score_adj + 1000);
#endif
    events.ringbuf_submit(e, 0);
    return 0;
}
