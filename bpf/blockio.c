/* blockio.c — block I/O latency per device: request issued to the driver -> completed.
 *
 * Tracepoints: block:block_rq_issue, block:block_rq_complete.
 * What it computes: per request, complete - issue, into a histogram per device; and per
 * device the number of requests issued and completed and the bytes completed. Requests
 * are matched by (device, sector). A partial completion counts as a completion.
 * Maps:
 *   io_inflight  LRU hash, {dev, sector} -> issue time (ns), MAX_INFLIGHT_IO
 *   io_hist      hash, {dev, slot} -> count, 64 devices x RQ_SLOTS
 *   io_counts    hash, dev -> {issued, completed, bytes}, 256 devices
 * dev is the kernel's internal dev_t: major = dev >> 20, minor = dev & 0xfffff.
 * Keys are u64-only structs: a key with padding holes would not match (ENVIRONMENT.md).
 * Kernel: 5.8+ with the block tracepoints.
 */
struct io_request {
    u64 dev;
    u64 sector;
};

struct io_slot {
    u64 dev;
    u64 slot;
};

struct io_count {
    u64 issued;
    u64 completed;
    u64 bytes;
};

BPF_TABLE("lru_hash", struct io_request, u64, io_inflight, MAX_INFLIGHT_IO);
BPF_HASH(io_hist, struct io_slot, u64, 64 * RQ_SLOTS);
BPF_HASH(io_counts, u64, struct io_count, 256);

static __always_inline struct io_count *io_count_of(u64 dev)
{
    struct io_count *c = io_counts.lookup(&dev);
    if (c)
        return c;
    struct io_count zero = {};
    io_counts.insert(&dev, &zero);
    return io_counts.lookup(&dev);
}

int st_io_issue(struct tracepoint__block__block_rq_issue *args)
{
    struct io_request req = {.dev = args->dev, .sector = args->sector};
    u64 now = bpf_ktime_get_ns();
    io_inflight.update(&req, &now);
    struct io_count *c = io_count_of(req.dev);
    if (c)
        __sync_fetch_and_add(&c->issued, 1);
    return 0;
}

int st_io_complete(struct tracepoint__block__block_rq_complete *args)
{
    struct io_request req = {.dev = args->dev, .sector = args->sector};
    struct io_count *c = io_count_of(req.dev);
    if (c) {
        __sync_fetch_and_add(&c->completed, 1);
        __sync_fetch_and_add(&c->bytes, (u64)args->nr_sector * 512);
    }
    u64 *issued = io_inflight.lookup(&req);
    if (!issued)
        return 0;   /* issued before the probe attached */
    u64 latency = bpf_ktime_get_ns() - *issued;
    io_inflight.delete(&req);
    struct io_slot key = {.dev = req.dev, .slot = latency_slot(latency)};
    u64 zero = 0;
    u64 *count = io_hist.lookup_or_try_init(&key, &zero);
    if (count)
        __sync_fetch_and_add(count, 1);
    return 0;
}
