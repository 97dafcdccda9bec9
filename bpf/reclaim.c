/* reclaim.c — direct-reclaim stalls: time a task spent reclaiming memory itself because
 * an allocation could not be met, the stall users feel as a frozen app.
 *
 * Tracepoints: vmscan:mm_vmscan_direct_reclaim_begin, vmscan:mm_vmscan_direct_reclaim_end.
 * What it computes: per stall, end - begin, in the system histogram and added to the
 * stalled process (tgid; both tracepoints run in the stalled task's context).
 * Maps:
 *   reclaim_start  LRU hash, tid -> begin time (ns), MAX_TASKS
 *   reclaim_stats  LRU hash, tgid -> {stall_ns, stalls}, MAX_PROCS
 *   reclaim_hist   per-CPU array of RQ_SLOTS u64
 * Entries are freed with their task (sched:sched_process_free, exit.c).
 * Kernel: 5.8+ with the vmscan tracepoints.
 */
struct reclaim_stats {
    u64 stall_ns;
    u64 stalls;
};

BPF_TABLE("lru_hash", u32, u64, reclaim_start, MAX_TASKS);
BPF_TABLE("lru_hash", u32, struct reclaim_stats, reclaim_stats, MAX_PROCS);
BPF_PERCPU_ARRAY(reclaim_hist, u64, RQ_SLOTS);

int st_reclaim_begin(struct tracepoint__vmscan__mm_vmscan_direct_reclaim_begin *args)
{
    u32 tid = (u32)bpf_get_current_pid_tgid();
    u64 now = bpf_ktime_get_ns();
    reclaim_start.update(&tid, &now);
    return 0;
}

int st_reclaim_end(struct tracepoint__vmscan__mm_vmscan_direct_reclaim_end *args)
{
    u32 tid = (u32)bpf_get_current_pid_tgid();
    u64 *begin = reclaim_start.lookup(&tid);
    if (!begin)
        return 0;
    u64 stall = bpf_ktime_get_ns() - *begin;
    reclaim_start.delete(&tid);

    u32 slot = latency_slot(stall);
    u64 *count = reclaim_hist.lookup(&slot);
    if (count)
        (*count)++;

    u32 tgid = current_tgid();
    struct reclaim_stats *s = reclaim_stats.lookup(&tgid);
    if (!s) {
        struct reclaim_stats zero = {};
        reclaim_stats.insert(&tgid, &zero);
        s = reclaim_stats.lookup(&tgid);
        if (!s)
            return 0;
    }
    __sync_fetch_and_add(&s->stall_ns, stall);
    __sync_fetch_and_add(&s->stalls, 1);
    return 0;
}

/* called by st_process_free (exit.c); see there why "tid" frees a process too */
static __always_inline void reclaim_on_free(u32 tid)
{
    reclaim_start.delete(&tid);
    reclaim_stats.delete(&tid);
}
