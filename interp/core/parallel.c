/* parallel.c — a persistent pool of worker threads for lp_parallel_for.
 *
 * Workers are started on first use and sleep on a condition variable
 * between jobs; the caller runs chunk 0 itself, so one thread costs
 * nothing. The thread count comes from lp_set_threads, else LPACT_THREADS,
 * else the CPUs allotted to the process (core/cpus.c). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cblas.h>

#include "core/cpus.h"
#include "core/parallel.h"

#define LP_MAX_THREADS 64

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */

static int nthreads = 0;          /* 0: not decided yet */
static int nworkers = 0;          /* started worker threads */
static unsigned long generation = 0;
static int pending = 0;           /* chunks not finished */
static struct {
  lp_range_fn fn;
  void *ctx;
  size_t n, chunks;
} job;

static void run_chunk(size_t c) {
  size_t per = job.n / job.chunks, extra = job.n % job.chunks;
  size_t begin = c * per + (c < extra ? c : extra);
  size_t end = begin + per + (c < extra ? 1 : 0);
  if (begin < end) job.fn(job.ctx, begin, end);
}

static void *worker(void *arg) {
  size_t id = (size_t)arg;        /* 1 .. LP_MAX_THREADS-1 */
  unsigned long seen = 0;
  pthread_mutex_lock(&mu);
  for (;;) {
    while (generation == seen) pthread_cond_wait(&work_cv, &mu);
    seen = generation;
    if (id < job.chunks) {
      pthread_mutex_unlock(&mu);
      run_chunk(id);
      pthread_mutex_lock(&mu);
      if (--pending == 0) pthread_cond_signal(&done_cv);
    }
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

void lp_parallel_for(size_t n, size_t grain, lp_range_fn fn, void *ctx) {
  int t = lp_threads();
  size_t chunks = grain > 0 ? n / grain : n;
  if (chunks > (size_t)t) chunks = (size_t)t;
  if (chunks <= 1) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  pthread_mutex_lock(&call_mu);
  pthread_mutex_lock(&mu);
  /* workers start with every signal blocked (they inherit the mask), so
   * that signals sent to the process are handled on the main thread */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  while (nworkers < (int)chunks - 1) {
    pthread_t th;
    if (pthread_create(&th, NULL, worker, (void *)(size_t)(nworkers + 1)) != 0) break;
    pthread_detach(th);
    nworkers++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (chunks > (size_t)nworkers + 1) chunks = (size_t)nworkers + 1;
  job.fn = fn;
  job.ctx = ctx;
  job.n = n;
  job.chunks = chunks;
  pending = (int)chunks - 1;
  generation++;
  pthread_cond_broadcast(&work_cv);
  pthread_mutex_unlock(&mu);

  run_chunk(0);

  pthread_mutex_lock(&mu);
  while (pending > 0) pthread_cond_wait(&done_cv, &mu);
  pthread_mutex_unlock(&mu);
  pthread_mutex_unlock(&call_mu);
}
