/* lifecycle.c — process exec, fork and exit, as events, so that a new process is seen
 * (and classified) at once instead of at the next /proc scan.
 *
 * Tracepoints: sched:sched_process_exec, sched:sched_process_fork,
 *              sched:sched_process_exit (through exit.c).
 * Events (ring buffer "events", common.h):
 *   EV_EXEC  pid = the process (tgid), comm = its new name
 *   EV_FORK  pid = the child (a thread id: threads are clones too), other = parent tgid
 *   EV_EXIT  pid = the process, sent once, when its last thread exits
 * Maps: events (ring buffer, RINGBUF_PAGES pages), lost_events (per-CPU counter).
 * Kernel: 5.8+ (BPF ring buffer).
 */

int st_exec(struct tracepoint__sched__sched_process_exec *args)
{
    struct event *e = event_reserve(EV_EXEC, current_tgid());
    if (!e)
        return 0;
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    events.ringbuf_submit(e, 0);
    return 0;
}

int st_fork(struct tracepoint__sched__sched_process_fork *args)
{
    struct event *e = event_reserve(EV_FORK, args->child_pid);
    if (!e)
        return 0;
    e->other = current_tgid();
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    events.ringbuf_submit(e, 0);
    return 0;
}

/* called by st_process_exit (exit.c) when the last thread of a process exits */
static __always_inline void lifecycle_on_exit(u32 tgid)
{
    struct event *e = event_reserve(EV_EXIT, tgid);
    if (!e)
        return;
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    events.ringbuf_submit(e, 0);
}
