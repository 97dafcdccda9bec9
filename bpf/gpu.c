/* gpu.c — how long GPU jobs take, from the kernel's fence and GPU-scheduler tracepoints.
 *
 * Tracepoints: dma_fence:dma_fence_emit (a driver hands a job's fence to the hardware:
 * i915, msm, virtio-gpu, qxl, ...) and dma_fence:dma_fence_signaled (a fence signals: its
 * job is done). Where the DRM GPU scheduler is loaded (amdgpu, xe, nouveau, panfrost, v3d,
 * etnaviv, ... use it) also its job tracepoints, which exist only while such a driver is
 * loaded; probes.py picks them from tracefs at load time and says which with -D flags:
 *   GPU_SCHED            compile the scheduler programs at all
 *   GPU_SCHED_NEW_NAMES  gpu_scheduler:drm_sched_job_queue / _run / _done (Linux 6.17+)
 *                        else drm_sched_job / drm_run_job / drm_sched_process_job
 *   GPU_SCHED_KEYED      the tracepoints carry fence_context and fence_seqno (6.17+);
 *                        else the finished fence's address, "fence" (older kernels)
 * What it computes, per job: signaled - emit into a histogram; for scheduled jobs the time
 * queued before the hardware took it (queue -> run) and the time it ran (run -> done).
 * Fences are matched by (context, seqno). Most fences that signal were never emitted
 * through this tracepoint (sync files, jobs emitted before the probe attached, drivers
 * that only use the scheduler); they find no entry and are ignored.
 * Maps:
 *   gpu_fences      LRU hash, {context, seqno} -> emit time (ns), MAX_GPU_JOBS
 *   gpu_sched_jobs  LRU hash, {fence id, seqno} -> {queued, run} times (ns), MAX_GPU_JOBS
 *   gpu_hist        per-CPU array, 3 * RQ_SLOTS: fence, scheduler wait, scheduler run
 *   gpu_counts      per-CPU array: fences emitted, scheduler jobs queued
 * Keys are u64-only structs: a key with padding holes would not match (ENVIRONMENT.md).
 * Nothing here is per process: the maps are bounded by their LRU size, no free hook.
 * Kernel: 5.8+ with the dma_fence tracepoints (built in wherever dma-buf is).
 */
#define GPU_HIST_FENCE 0
#define GPU_HIST_SCHED_WAIT 1
#define GPU_HIST_SCHED_RUN 2
#define GPU_COUNT_EMITTED 0
#define GPU_COUNT_QUEUED 1

struct gpu_fence_key {
    u64 context;
    u64 seqno;
};

BPF_TABLE("lru_hash", struct gpu_fence_key, u64, gpu_fences, MAX_GPU_JOBS);
BPF_PERCPU_ARRAY(gpu_hist, u64, 3 * RQ_SLOTS);
BPF_PERCPU_ARRAY(gpu_counts, u64, 2);

static __always_inline void gpu_count(u32 index)
{
    u64 *count = gpu_counts.lookup(&index);
    if (count)
        (*count)++;   /* per CPU, and programs do not nest on a CPU: no atomics */
}

static __always_inline void gpu_record(u32 kind, u64 ns)
{
    u32 index = kind * RQ_SLOTS + latency_slot(ns);
    u64 *count = gpu_hist.lookup(&index);
    if (count)
        (*count)++;
}

int st_gpu_fence_emit(struct tracepoint__dma_fence__dma_fence_emit *args)
{
    struct gpu_fence_key key = {.context = args->context, .seqno = args->seqno};
    u64 now = bpf_ktime_get_ns();
    gpu_fences.update(&key, &now);
    gpu_count(GPU_COUNT_EMITTED);
    return 0;
}

int st_gpu_fence_signaled(struct tracepoint__dma_fence__dma_fence_signaled *args)
{
    struct gpu_fence_key key = {.context = args->context, .seqno = args->seqno};
    u64 *emitted = gpu_fences.lookup(&key);
    if (!emitted)
        return 0;
    u64 took = bpf_ktime_get_ns() - *emitted;
    gpu_fences.delete(&key);
    gpu_record(GPU_HIST_FENCE, took);
    return 0;
}

#ifdef GPU_SCHED
struct gpu_sched_job {
    u64 queued_ns;
    u64 run_ns;
};

BPF_TABLE("lru_hash", struct gpu_fence_key, struct gpu_sched_job, gpu_sched_jobs, MAX_GPU_JOBS);

#ifdef GPU_SCHED_NEW_NAMES
#define GPU_SCHED_QUEUE_ARGS struct tracepoint__gpu_scheduler__drm_sched_job_queue
#define GPU_SCHED_RUN_ARGS struct tracepoint__gpu_scheduler__drm_sched_job_run
#define GPU_SCHED_DONE_ARGS struct tracepoint__gpu_scheduler__drm_sched_job_done
#else
#define GPU_SCHED_QUEUE_ARGS struct tracepoint__gpu_scheduler__drm_sched_job
#define GPU_SCHED_RUN_ARGS struct tracepoint__gpu_scheduler__drm_run_job
#define GPU_SCHED_DONE_ARGS struct tracepoint__gpu_scheduler__drm_sched_process_job
#endif

/* The job's finished fence, the same in all three tracepoints of one job. */
#ifdef GPU_SCHED_KEYED
#define GPU_SCHED_KEY(args) {.context = (args)->fence_context, .seqno = (args)->fence_seqno}
#else
#define GPU_SCHED_KEY(args) {.context = (u64)(args)->fence, .seqno = 0}
#endif

int st_gpu_sched_queue(GPU_SCHED_QUEUE_ARGS *args)
{
    struct gpu_fence_key key = GPU_SCHED_KEY(args);
    struct gpu_sched_job job = {.queued_ns = bpf_ktime_get_ns(), .run_ns = 0};
    gpu_sched_jobs.update(&key, &job);
    gpu_count(GPU_COUNT_QUEUED);
    return 0;
}

int st_gpu_sched_run(GPU_SCHED_RUN_ARGS *args)
{
    struct gpu_fence_key key = GPU_SCHED_KEY(args);
    u64 now = bpf_ktime_get_ns();
    struct gpu_sched_job *job = gpu_sched_jobs.lookup(&key);
    if (!job) {   /* queued before the probe attached: its run time still counts */
        struct gpu_sched_job fresh = {.queued_ns = 0, .run_ns = now};
        gpu_sched_jobs.update(&key, &fresh);
        return 0;
    }
    if (job->queued_ns)
        gpu_record(GPU_HIST_SCHED_WAIT, now - job->queued_ns);
    job->run_ns = now;
    return 0;
}

int st_gpu_sched_done(GPU_SCHED_DONE_ARGS *args)
{
    struct gpu_fence_key key = GPU_SCHED_KEY(args);
    struct gpu_sched_job *job = gpu_sched_jobs.lookup(&key);
    if (!job)
        return 0;
    if (job->run_ns)
        gpu_record(GPU_HIST_SCHED_RUN, bpf_ktime_get_ns() - job->run_ns);
    gpu_sched_jobs.delete(&key);
    return 0;
}
#endif
