/* tcp.c — TCP connections per process: established now, opened, closed.
 *
 * Tracepoint: sock:inet_sock_set_state (TCP only).
 * Whose socket is it? The tracepoint often runs in softirq context, where "current" is
 * whatever task was interrupted, so ownership is recorded where it is certain:
 *   - connect(): the CLOSE -> SYN_SENT change runs in the caller's context;
 *   - listen(): CLOSE -> LISTEN likewise; a passive open (SYN_RECV -> ESTABLISHED) then
 *     belongs to the listener's process, found by (family, local port);
 *   - a socket with no recorded owner (opened before the probe attached) is settled when
 *     its owner closes it: ESTABLISHED -> FIN_WAIT1 and CLOSE_WAIT -> LAST_ACK run in the
 *     closing process's context. User space adds a baseline of connections that existed
 *     when the probe attached (from /proc, via psutil) and seeds the listener map.
 * Counts are deltas since attach; established may go negative for a process whose
 * pre-existing connections close (user space adds the baseline and clamps at 0).
 * A process's entry is freed when its leader task is freed (exit.c), after its sockets
 * closed; user space also sweeps entries of processes that no longer exist.
 * Maps:
 *   sock_owner    LRU hash, socket address -> tgid, MAX_SOCKETS
 *   listen_owner  LRU hash, family << 16 | port -> tgid, 4096
 *   tcp_stats     LRU hash, tgid -> {established, opened, closed}, MAX_PROCS
 *   tcp_totals    per-CPU array: connections opened and closed, whole system
 * Kernel: 4.16+ for the tracepoint; 5.8+ as for the rest.
 */
#include <uapi/linux/in.h>

#define ST_TCP_ESTABLISHED 1
#define ST_TCP_SYN_SENT 2
#define ST_TCP_SYN_RECV 3
#define ST_TCP_FIN_WAIT1 4
#define ST_TCP_CLOSE 7
#define ST_TCP_CLOSE_WAIT 8
#define ST_TCP_LAST_ACK 9
#define ST_TCP_LISTEN 10
#define SETTLED 0x80000000u

struct tcp_stats {
    s64 established;
    u64 opened;
    u64 closed;
};

BPF_TABLE("lru_hash", u64, u32, sock_owner, MAX_SOCKETS);
BPF_TABLE("lru_hash", u32, u32, listen_owner, 4096);
BPF_TABLE("lru_hash", u32, struct tcp_stats, tcp_stats, MAX_PROCS);
BPF_PERCPU_ARRAY(tcp_totals, u64, 2);   /* [0] opened, [1] closed: for the whole system */

static __always_inline void count_total(u32 which)
{
    u64 *total = tcp_totals.lookup(&which);
    if (total)
        (*total)++;
}

static __always_inline struct tcp_stats *tcp_stats_of(u32 tgid)
{
    struct tcp_stats *s = tcp_stats.lookup(&tgid);
    if (s)
        return s;
    struct tcp_stats zero = {};
    tcp_stats.insert(&tgid, &zero);
    return tcp_stats.lookup(&tgid);
}

int st_tcp_state(struct tracepoint__sock__inet_sock_set_state *args)
{
    if (args->protocol != IPPROTO_TCP)
        return 0;
    u64 sk = (u64)args->skaddr;
    int old = args->oldstate;
    int new = args->newstate;

    if (new == ST_TCP_SYN_SENT) {
        u32 tgid = current_tgid();
        sock_owner.update(&sk, &tgid);
        return 0;
    }
    if (new == ST_TCP_LISTEN) {
        u32 port = ((u32)args->family << 16) | args->sport;
        u32 tgid = current_tgid();
        listen_owner.update(&port, &tgid);
        return 0;
    }

    u32 *known = sock_owner.lookup(&sk);
    u32 owner = known ? *known : 0;

    if (new == ST_TCP_ESTABLISHED) {
        count_total(0);
        if (!owner && old == ST_TCP_SYN_RECV) {
            u32 port = ((u32)args->family << 16) | args->sport;
            u32 *listener = listen_owner.lookup(&port);
            if (!listener)
                return 0;
            owner = *listener;
            sock_owner.update(&sk, &owner);
        }
        if (!owner)
            return 0;
        struct tcp_stats *s = tcp_stats_of(owner);
        if (s) {
            __sync_fetch_and_add(&s->established, 1);
            __sync_fetch_and_add(&s->opened, 1);
        }
        return 0;
    }

    if (old == ST_TCP_ESTABLISHED) {
        count_total(1);
        /* leaving ESTABLISHED; an unknown owner is knowable only on an active close */
        if (!owner && new == ST_TCP_FIN_WAIT1)
            owner = current_tgid();
        if (owner) {
            struct tcp_stats *s = tcp_stats_of(owner);
            if (s) {
                __sync_fetch_and_add(&s->established, -1);
                __sync_fetch_and_add(&s->closed, 1);
            }
            /* settled: the high bit keeps CLOSE_WAIT -> LAST_ACK from counting it again */
            u32 settled = owner | SETTLED;
            sock_owner.update(&sk, &settled);
        }
    } else if (old == ST_TCP_CLOSE_WAIT && new == ST_TCP_LAST_ACK && !owner) {
        /* the peer closed a connection of unknown owner; the owner closes it now */
        struct tcp_stats *s = tcp_stats_of(current_tgid());
        if (s) {
            __sync_fetch_and_add(&s->established, -1);
            __sync_fetch_and_add(&s->closed, 1);
        }
    }
    if (new == ST_TCP_CLOSE)
        sock_owner.delete(&sk);
    return 0;
}

/* called by st_process_free (exit.c); see there why "tid" frees a process */
static __always_inline void tcp_on_free(u32 tid)
{
    tcp_stats.delete(&tid);
}
