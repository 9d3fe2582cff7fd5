/* Threads that touch known, disjoint buffers, for the thread attribution of
 * scripts/capture-trace (tests/capture/test_capture.py, CaptureThreads).
 *
 * The main thread starts NTHREADS - 1 threads with pthread_create; thread k
 * (the main thread is k = 0, the k-th created thread is k) is the only one
 * that reads or writes buffer k, a page-aligned static array of PAGES pages
 * (in .bss: the kernel zero-fills it, no libc code touches it).  All threads
 * wait at a barrier, then each makes ROUNDS passes over its buffer, loading
 * and storing every STRIDE-th byte, and calls sched_yield() after every pass,
 * so that valgrind hands its lock from thread to thread many times while all
 * of them are alive; a pass is long enough (PAGES * 4096 / STRIDE
 * iterations) that some switches also come from valgrind's time slice rather
 * than from a system call.  Then the main thread joins the threads and prints
 * each buffer's address and size, "buf K 0xADDR 0xLEN", on stdout (no access
 * to the buffers: the address is taken, not read).
 *
 * Build: gcc -O1 -pthread -o thread_buffers thread_buffers.c */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#define NTHREADS 4
#define PAGES 8
#define STRIDE 16
#define ROUNDS 16
#define LONG_PASSES 150
#define LEN (PAGES * 4096)

static char buf[NTHREADS][LEN] __attribute__((aligned(4096)));
static pthread_barrier_t start;
static volatile unsigned long sums[NTHREADS];

static void *work(void *arg) {
  long k = (long)arg;
  volatile char *b = buf[k];
  unsigned long sum = 0;
  pthread_barrier_wait(&start);
  for (int r = 0; r < ROUNDS; ++r) {
    /* The last thread's first round: LONG_PASSES passes with no system
       call, longer than valgrind's time slice (100,000 blocks). */
    int passes = (k == NTHREADS - 1 && r == 0) ? LONG_PASSES : 1;
    for (int p = 0; p < passes; ++p)
      for (long i = 0; i < LEN; i += STRIDE) {
        sum += (unsigned char)b[i];
        b[i] = (char)(k + r);
      }
    sched_yield();
  }
  sums[k] = sum;
  return NULL;
}

int main(void) {
  pthread_t t[NTHREADS];
  pthread_barrier_init(&start, NULL, NTHREADS);
  for (long k = 1; k < NTHREADS; ++k)
    if (pthread_create(&t[k], NULL, work, (void *)k) != 0) return 1;
  work((void *)0);
  for (long k = 1; k < NTHREADS; ++k) pthread_join(t[k], NULL);
  for (int k = 0; k < NTHREADS; ++k) printf("buf %d %p 0x%x\n", k, (void *)buf[k], LEN);
  return 0;
}
