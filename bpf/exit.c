/* exit.c — the end of tasks, for every probe, compiled last. (bcc generates a
 * tracepoint's argument struct once per function that takes it, so several handlers of
 * one tracepoint cannot share a module: each probe provides hooks, called from here.)
 *
 * sched:sched_process_free — a task's memory is freed, after it exited and was reaped.
 *   Map entries are freed here, not at exit: an exiting task still runs (it may be
 *   switched out, its sockets close) and would bring them back. A process's per-process
 *   entries are keyed by its tgid, which is its leader's tid, and the leader is freed
 *   last, so "delete key tid" frees a process's entries when its leader goes, and never
 *   touches another process (a live process's tgid is no other task's tid).
 * sched:sched_process_exit — the lifecycle probe's exit event, when the last thread of
 *   a process exits (group_dead where the kernel has it, else "the leader exits").
 * Kernel: any with the sched tracepoints.
 */
#if defined(PROBE_RUNQUEUE) || defined(PROBE_RECLAIM) || defined(PROBE_TCP)
int st_process_free(struct tracepoint__sched__sched_process_free *args)
{
    u32 tid = args->pid;
#ifdef PROBE_RUNQUEUE
    runqueue_on_free(tid);
#endif
#ifdef PROBE_RECLAIM
    reclaim_on_free(tid);
#endif
#ifdef PROBE_TCP
    tcp_on_free(tid);
#endif
    return 0;
}
#endif

#ifdef PROBE_LIFECYCLE
int st_process_exit(struct tracepoint__sched__sched_process_exit *args)
{
#ifdef EXIT_HAS_GROUP_DEAD
    int process_ended = args->group_dead;
#else
    int process_ended = (u32)args->pid == current_tgid();
#endif
    if (process_ended)
        lifecycle_on_exit(current_tgid());
    return 0;
}
#endif
