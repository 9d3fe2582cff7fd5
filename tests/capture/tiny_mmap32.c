/* tiny_mmap32: a freestanding i386 Linux program (no libc, `int $0x80`)
 * whose address-space changes are all known in advance, for the test of
 * scripts/capture-trace's conversion of 32-bit (x86-linux) valgrind logs
 * (tests/capture/test_capture.py).  How it was built and captured:
 * tests/capture/README.md.  The i386 system call numbers differ from
 * x86-64's (mmap2 192 with its offset in 4 KiB pages, the old mmap 90 with
 * its arguments in a memory block, brk 45, ...), which is what is tested.
 *
 * As in tiny_mmap.c, loads are compared with 0 so that valgrind keeps them,
 * and each step's expected events are in the comments; the test writes them
 * out again by hand.
 */
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2

#define SYS_exit 1
#define SYS_fork 2
#define SYS_waitpid 7
#define SYS_brk 45
#define SYS_old_mmap 90
#define SYS_munmap 91
#define SYS_ftruncate 93
#define SYS_mprotect 125
#define SYS_mremap 163
#define SYS_mmap2 192
#define SYS_exit_group 252
#define SYS_memfd_create 356

static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  /* the sixth argument goes in ebp, the frame pointer: push it (its
   * operand may be %esp-relative, so before %esp moves), save ebp, load it */
  __asm__ volatile("push %7\n\tpush %%ebp\n\tmov 4(%%esp), %%ebp\n\tint $0x80\n\t"
                   "pop %%ebp\n\tadd $4, %%esp"
                   : "=a"(ret)
                   : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), "m"(f)
                   : "memory");
  return ret;
}

#define A 0x10000000UL /* anonymous region, 4 pages (mmap2) */
#define O 0x10100000UL /* anonymous read-only region, 2 pages (old mmap) */
#define F 0x10200000UL /* shared memfd mapping, 2 pages (mmap2, offset 1 page) */
#define M 0x10300000UL /* mremap destination */
#define PAGE 4096UL

static void fail(void) { sys6(SYS_exit_group, 1, 0, 0, 0, 0, 0); }

void _start(void) {
  long r;

  /* 1. mmap2: @mmap 0x10000000 0x4000 rw- anon */
  r = sys6(SYS_mmap2, A, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (r != (long)A) fail();
  *(volatile u32 *)(A + 0x10) = 1;           /* W 0x10000010 4 */
  *(volatile u16 *)(A + 3 * PAGE + 6) = 2;   /* W 0x10003006 2 */

  /* 2. the old mmap (arguments in a block): @mmap 0x10100000 0x2000 r-- anon
   *    (length 5000 rounds up to 2 pages) */
  static u32 block[6] = {O, 5000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (u32)-1, 0};
  r = sys6(SYS_old_mmap, (long)block, 0, 0, 0, 0, 0);
  if (r != (long)O) fail();
  if (*(volatile u8 *)(O + PAGE + 1) != 0) fail();      /* R 0x10101001 1 */

  /* 3. mmap2 of a file at an offset of one page (mmap2 counts it in pages):
   *    @mmap 0x10200000 0x2000 r-x file */
  long fd = sys6(SYS_memfd_create, (long)"tiny32", 0, 0, 0, 0, 0);
  if (fd < 0) fail();
  if (sys6(SYS_ftruncate, fd, 3 * PAGE, 0, 0, 0, 0) != 0) fail();
  r = sys6(SYS_mmap2, F, 2 * PAGE, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 1);
  if (r != (long)F) fail();
  if (*(volatile u16 *)(F + PAGE + 2) != 0) fail();     /* R 0x10201002 2 */

  /* 4. a failing call gives no event: mprotect of an unaligned start */
  r = sys6(SYS_mprotect, A + 1, PAGE, PROT_READ, 0, 0, 0);
  if (r != -22) fail();

  /* 5. @mprotect 0x10001000 0x1000 r-- (length 100 rounds up to a page) */
  r = sys6(SYS_mprotect, A + PAGE, 100, PROT_READ, 0, 0, 0);
  if (r != 0) fail();

  /* 6. @munmap 0x10003000 0x1000 (the last page of A) */
  r = sys6(SYS_munmap, A + 3 * PAGE, PAGE, 0, 0, 0, 0);
  if (r != 0) fail();

  /* 7. mremap moving the read-only page A+0x1000 to M, growing it to 2
   *    pages: @munmap 0x10001000 0x1000, @mmap 0x10300000 0x2000 r-- anon */
  r = sys6(SYS_mremap, A + PAGE, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, M, 0);
  if (r != (long)M) fail();
  if (*(volatile u32 *)(M + PAGE + 4) != 0) fail();     /* R 0x10301004 4 */

  /* 8. brk: brk(0) gives the initial break B: @brk B; growing by 2 pages:
   *    @brk B+0x2000 */
  long b = sys6(SYS_brk, 0, 0, 0, 0, 0, 0);
  r = sys6(SYS_brk, b + 2 * PAGE, 0, 0, 0, 0, 0);
  if (r != b + 2 * (long)PAGE) fail();
  *(volatile u32 *)(b + PAGE + 0x10) = 3;    /* W B+0x1010 4 */

  /* 9. munmap of O: @munmap 0x10100000 0x2000 */
  r = sys6(SYS_munmap, O, 2 * PAGE, 0, 0, 0, 0);
  if (r != 0) fail();

  /* 10. fork: @fork CHILD (the parent's result); the child exits at once
   *     with exit(0), whose syscall is another process's and gives no event;
   *     the parent waits for it. */
  long child = sys6(SYS_fork, 0, 0, 0, 0, 0, 0);
  if (child == 0) sys6(SYS_exit, 0, 0, 0, 0, 0, 0);
  if (child < 0) fail();
  sys6(SYS_waitpid, child, 0, 0, 0, 0, 0);

  /* 11. exit_group(0): @exit */
  sys6(SYS_exit_group, 0, 0, 0, 0, 0, 0);
  for (;;) {
  }
}
