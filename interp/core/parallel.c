/* parallel.c — a persistent pool of worker threads for lp_parallel_for.
 *
 * Workers are started on first use and sleep on a condition variable
 * between jobs. A job is cut into pieces whose boundaries depend only on
 * n, the grain and the thread count; the calling thread and the workers
 * that are awake claim pieces one at a time from an atomic counter. So a
 * worker that the operating system has not scheduled yet (the machine is
 * shared) never holds the call up: the caller takes its pieces, and the
 * call costs at most its own one-thread time plus the wake-up. Each piece
 * is computed the same whoever runs it, so results do not depend on which
 * thread ran what. The thread count comes from lp_set_threads, else
 * LPACT_THREADS, else the CPUs allotted to the process (core/cpus.c). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cblas.h>

#include "core/cpus.h"
#include "core/parallel.h"

#define LP_MAX_THREADS 64
/* pieces per thread: small enough that a late thread loses little, large
 * enough that claiming one (an atomic add) is noise */
#define PIECES_PER_THREAD 4
/* how long the caller waits awake for the workers' last pieces before
 * it sleeps */
#define SPIN_SECONDS 50e-6

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */

static int nthreads = 0;          /* 0: not decided yet */
static int nworkers = 0;          /* started worker threads */
static atomic_ulong generation;   /* jobs posted (changed under mu) */
static int sleepers = 0;          /* workers asleep on work_cv (under mu) */
static int open_job = 0;          /* 1 while workers may join the job (under mu) */
static atomic_int active;         /* workers inside the job (changed under mu) */
static struct {
  lp_range_fn fn;
  void *ctx;
  size_t n, pieces;
  int threads;                    /* the call's thread count, the caller included */
} job;                            /* written under mu before open_job is set */
static atomic_size_t next_piece;

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__SSE2__)
  _mm_pause();
#endif
}

/* Runs pieces until none is left. */
static void claim_pieces(void) {
  for (;;) {
    size_t c = atomic_fetch_add_explicit(&next_piece, 1, memory_order_relaxed);
    if (c >= job.pieces) return;
    size_t per = job.n / job.pieces, extra = job.n % job.pieces;
    size_t begin = c * per + (c < extra ? c : extra);
    size_t end = begin + per + (c < extra ? 1 : 0);
    if (begin < end) job.fn(job.ctx, begin, end);
  }
}

static void *worker(void *arg) {
  (void)arg;
  unsigned long seen = 0;
  for (;;) {
    pthread_mutex_lock(&mu);
    while (atomic_load(&generation) == seen) {
      sleepers++;
      pthread_cond_wait(&work_cv, &mu);
      sleepers--;
    }
    seen = atomic_load(&generation);
    /* came after the caller had finished, or the job has its threads (a
     * worker still awake from an earlier call with more threads would be
     * one too many: kernels size per-thread buffers by lp_threads_for) */
    if (!open_job || atomic_load(&active) >= job.threads - 1) {
      pthread_mutex_unlock(&mu);
      continue;
    }
    atomic_fetch_add(&active, 1);
    pthread_mutex_unlock(&mu);
    claim_pieces();
    pthread_mutex_lock(&mu);
    if (atomic_fetch_sub(&active, 1) == 1) pthread_cond_signal(&done_cv);
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

static int default_threads(void) {
  const char *env = getenv("LPACT_THREADS");
  if (env != NULL && atoi(env) > 0) return atoi(env);
  return lp_alloc_cpus();
}

int lp_set_threads(int n) {
  if (n <= 0) n = default_threads();
  if (n > LP_MAX_THREADS) n = LP_MAX_THREADS;
  pthread_mutex_lock(&call_mu);
  nthreads = n;
  pthread_mutex_unlock(&call_mu);
  openblas_set_num_threads(n);
  return n;
}

int lp_threads(void) {
  if (nthreads == 0) lp_set_threads(0);
  return nthreads;
}

/* lpact bench threads: every call's grain times this (0: every call is
 * split across all threads), to measure each kernel's break-even. */
static double grain_scale = 1.0;

void lp_set_grain_scale(double s) {
  grain_scale = s >= 0 ? s : 1.0;
}

int lp_threads_for(size_t n, size_t grain) {
  int t = lp_threads();
  if (grain_scale != 1.0) {
    double g = (double)grain * grain_scale;
    grain = g < 1.0 ? 1 : (size_t)g;
  }
  size_t most = grain > 0 ? n / grain : n;
  if (most < (size_t)t) t = most > 0 ? (int)most : 1;
  return t;
}

void lp_parallel_for(size_t n, size_t grain, lp_range_fn fn, void *ctx) {
  int t = lp_threads_for(n, grain);
  if (t <= 1) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  size_t pieces = (size_t)t * PIECES_PER_THREAD;
  if (pieces > n) pieces = n;
  pthread_mutex_lock(&call_mu);
  pthread_mutex_lock(&mu);
  /* workers start with every signal blocked (they inherit the mask), so
   * that signals sent to the process are handled on the main thread */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  while (nworkers < t - 1) {
    pthread_t th;
    if (pthread_create(&th, NULL, worker, NULL) != 0) break;
    pthread_detach(th);
    nworkers++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  job.fn = fn;
  job.ctx = ctx;
  job.n = n;
  job.pieces = pieces;
  job.threads = t;
  atomic_store(&next_piece, 0);
  open_job = 1;
  atomic_fetch_add(&generation, 1);
  /* the pool may hold more workers than this call wants (an earlier call
   * with more threads): waking them all only lets them race for pieces,
   * so wake as many as asked for (workers still awake join by themselves,
   * up to the call's thread count) */
  for (int w = 0; w < t - 1 && w < sleepers; w++) pthread_cond_signal(&work_cv);
  pthread_mutex_unlock(&mu);

  claim_pieces();

  pthread_mutex_lock(&mu);
  open_job = 0;                   /* late wakers go back to sleep */
  pthread_mutex_unlock(&mu);
  /* A worker still inside holds at most the piece it claimed last. Wait
   * for it awake for a while first: going to sleep on done_cv costs a
   * wake-up of this thread later, tens of microseconds on a virtual
   * machine, more than most pieces take. */
  if (atomic_load(&active) > 0) {
    double t0 = seconds();
    int spins = 0;
    while (atomic_load(&active) > 0) {
      cpu_relax();
      if (++spins % 64 == 0 && seconds() - t0 > SPIN_SECONDS) break;
    }
  }
  pthread_mutex_lock(&mu);
  while (atomic_load(&active) > 0) pthread_cond_wait(&done_cv, &mu);
  pthread_mutex_unlock(&mu);
  pthread_mutex_unlock(&call_mu);
}
