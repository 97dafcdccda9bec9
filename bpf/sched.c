/* sched.c — run-queue latency and on-CPU time, per process and for the system.
 *
 * Tracepoints: sched:sched_wakeup, sched:sched_wakeup_new, sched:sched_switch,
 *              and sched:sched_process_free through exit.c (frees the entries of
 *              tasks that are gone).
 * What it computes:
 *   - a task becomes runnable at wakeup, or at switch-out when it is still runnable
 *     (prev_state 0, or the preempted bit 0x100: counting only state 0 undercounts);
 *   - at switch-in its wait ends: wait = now - enqueued; the system histogram counts it;
 *   - at switch-out its on-CPU time ends; on-CPU time and the pending wait are added to
 *     its process (tgid). The tgid comes from bpf_get_current_pid_tgid(): sched_switch
 *     runs in the context of the task being switched out, and next_pid is only a thread
 *     id, so figures are settled at switch-out where the tgid is known.
 * Maps:
 *   task_state  LRU hash, tid  -> {enqueued_ns, running_since_ns, pending_wait_ns}, MAX_TASKS
 *   proc_stats  LRU hash, tgid -> {oncpu_ns, wait_ns, waits, hist[RQ_SLOTS]},       MAX_PROCS
 *   runq_hist   per-CPU array of RQ_SLOTS u64: system run-queue latency histogram
 * Cost: two map lookups per context switch and one per wakeup (docs/PERFORMANCE.md).
 * Kernel: 5.8+ (LRU hashes, bpf_ktime_get_ns, tracepoint programs); no kprobes.
 */
#define TASK_PREEMPTED 0x100   /* TASK_REPORT_MAX: "R+" in the trace output */

struct task_state {
    u64 enqueued_ns;
    u64 running_since_ns;
    u64 pending_wait_ns;
};

struct proc_stats {
    u64 oncpu_ns;
    u64 wait_ns;
    u64 waits;
    u32 hist[RQ_SLOTS];
};

BPF_TABLE("lru_hash", u32, struct task_state, task_state, MAX_TASKS);
BPF_TABLE("lru_hash", u32, struct proc_stats, proc_stats, MAX_PROCS);
BPF_PERCPU_ARRAY(runq_hist, u64, RQ_SLOTS);

static __always_inline void mark_enqueued(u32 tid, u64 now)
{
    if (tid == 0)
        return;   /* the idle task */
    struct task_state *t = task_state.lookup(&tid);
    if (t) {
        t->enqueued_ns = now;
        return;
    }
    struct task_state fresh = {.enqueued_ns = now};
    task_state.update(&tid, &fresh);
}

static __always_inline void settle(u32 tgid, u64 ran, u64 wait)
{
    struct proc_stats *s = proc_stats.lookup(&tgid);
    if (!s) {
        struct proc_stats zero = {};
        proc_stats.insert(&tgid, &zero);
        s = proc_stats.lookup(&tgid);
        if (!s)
            return;
    }
    if (ran)
        __sync_fetch_and_add(&s->oncpu_ns, ran);
    if (wait) {
        __sync_fetch_and_add(&s->wait_ns, wait);
        __sync_fetch_and_add(&s->waits, 1);
        __sync_fetch_and_add(&s->hist[latency_slot(wait) & (RQ_SLOTS - 1)], 1);
    }
}

int st_wakeup(struct tracepoint__sched__sched_wakeup *args)
{
    mark_enqueued(args->pid, bpf_ktime_get_ns());
    return 0;
}

int st_wakeup_new(struct tracepoint__sched__sched_wakeup_new *args)
{
    mark_enqueued(args->pid, bpf_ktime_get_ns());
    return 0;
}

int st_switch(struct tracepoint__sched__sched_switch *args)
{
    u64 now = bpf_ktime_get_ns();
    u32 prev = args->prev_pid;
    u32 next = args->next_pid;

    if (prev != 0) {
        long state = args->prev_state;
        int runnable = state == 0 || (state & TASK_PREEMPTED);
        struct task_state *t = task_state.lookup(&prev);
        if (t) {
            u64 ran = t->running_since_ns ? now - t->running_since_ns : 0;
            u64 wait = t->pending_wait_ns;
            t->running_since_ns = 0;
            t->pending_wait_ns = 0;
            if (runnable)
                t->enqueued_ns = now;   /* still runnable: its wait starts now */
            if (ran | wait)
                settle(current_tgid(), ran, wait);
        } else if (runnable) {
            mark_enqueued(prev, now);
        }
    }

    if (next != 0) {
        struct task_state *t = task_state.lookup(&next);
        if (!t) {
            struct task_state fresh = {.running_since_ns = now};
            task_state.update(&next, &fresh);
            return 0;
        }
        if (t->enqueued_ns) {
            u64 wait = now - t->enqueued_ns;
            t->pending_wait_ns = wait;
            t->enqueued_ns = 0;
            u32 slot = latency_slot(wait);
            u64 *count = runq_hist.lookup(&slot);
            if (count)
                (*count)++;   /* per-CPU: no atomic needed */
        }
        t->running_since_ns = now;
    }
    return 0;
}

/* called by st_process_free (exit.c): the task's own entry, and its process's if it
 * was the leader (a process's key is its leader's tid) */
static __always_inline void runqueue_on_free(u32 tid)
{
    task_state.delete(&tid);
    proc_stats.delete(&tid);
}
