/* sched.c — run-queue latency and on-CPU time, per process and for the system.
 *
 * Tracepoints: sched:sched_wakeup, sched:sched_wakeup_new, sched:sched_switch,
 *              and sched:sched_process_free through exit.c (frees the entries of
 *              tasks that are gone).
 * What it computes:
 *   - a task becomes runnable at wakeup, or at switch-out when it is still runnable
 *     (prev_state 0, or the preempted bit 0x100: counting only state 0 undercounts);
 *   - at switch-in its wait ends: wait = now - enqueued; the system histogram counts it;
 *   - the task now on a CPU is tracked per CPU (when it came on, the wait before that),
 *     so a switch-out needs no lookup of the task: its on-CPU time is now minus its
 *     switch-in on this CPU (a running task does not migrate);
 *   - at switch-out, on-CPU time and the wait are added to its process (tgid). The tgid
 *     comes from bpf_get_current_pid_tgid(): sched_switch runs in the context of the task
 *     being switched out, and next_pid is only a thread id.
 * Maps:
 *   enqueued    LRU hash, tid -> when it became runnable (0: not waiting), MAX_TASKS
 *   proc_stats  LRU hash, tgid -> {oncpu_ns, wait_ns, hist[RQ_SLOTS]}, MAX_PROCS
 *   cpu_state   per-CPU array, 1 entry: {since, pending_wait, hist[RQ_SLOTS]}, the system
 *               run-queue latency histogram being that CPU's share
 * Cost: per context switch one per-CPU array lookup and two hash lookups (the process,
 * the next task), one more if the previous task was preempted; per wakeup one hash
 * lookup. Measured in docs/PERFORMANCE.md.
 * Kernel: 5.8+ (LRU hashes, bpf_ktime_get_ns, tracepoint programs); no kprobes.
 */
#define TASK_PREEMPTED 0x100   /* TASK_REPORT_MAX: "R+" in the trace output */

struct proc_stats {
    u64 oncpu_ns;
    u64 wait_ns;
    u32 hist[RQ_SLOTS];   /* the number of waits is its sum: one atomic add fewer */
};

struct cpu_state {
    u64 since;          /* when the task on this CPU was switched in; 0 = idle */
    u64 pending_wait;   /* how long it waited for this CPU before that */
    u64 hist[RQ_SLOTS]; /* run-queue latency histogram: this CPU's share */
};

BPF_TABLE("lru_hash", u32, u64, enqueued, MAX_TASKS);
BPF_TABLE("lru_hash", u32, struct proc_stats, proc_stats, MAX_PROCS);
BPF_PERCPU_ARRAY(cpu_state, struct cpu_state, 1);

static __always_inline void mark_enqueued(u32 tid, u64 now)
{
    if (tid == 0)
        return;   /* the idle task */
    u64 *at = enqueued.lookup(&tid);
    if (at) {
        *at = now;   /* in place: an LRU update would allocate a new element */
        return;
    }
    enqueued.update(&tid, &now);
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
    u32 zero = 0;
    struct cpu_state *cpu = cpu_state.lookup(&zero);
    if (!cpu)
        return 0;

    if (prev != 0) {
        u64 ran = cpu->since ? now - cpu->since : 0;
        if (ran | cpu->pending_wait)
            settle(current_tgid(), ran, cpu->pending_wait);
        long state = args->prev_state;
        if (state == 0 || (state & TASK_PREEMPTED))
            mark_enqueued(prev, now);   /* still runnable: its wait starts now */
    }

    cpu->since = 0;
    cpu->pending_wait = 0;
    if (next != 0) {
        u64 *at = enqueued.lookup(&next);
        if (at && *at) {
            u64 wait = now - *at;
            *at = 0;
            cpu->pending_wait = wait;
            cpu->hist[latency_slot(wait) & (RQ_SLOTS - 1)]++;   /* per-CPU: no atomic */
        }
        cpu->since = now;
    }
    return 0;
}

/* called by st_process_free (exit.c): the task's own entry, and its process's if it
 * was the leader (a process's key is its leader's tid) */
static __always_inline void runqueue_on_free(u32 tid)
{
    enqueued.delete(&tid);
    proc_stats.delete(&tid);
}
