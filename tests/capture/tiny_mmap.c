/* tiny_mmap: a freestanding x86-64 Linux program (no libc) whose address-space
 * changes are all known in advance, for the test of scripts/capture-trace's
 * syscall-to-event conversion (tests/capture/test_capture.py).  How it was
 * built and captured: tests/capture/README.md.
 *
 * Every memory access the test looks at is a volatile access of a distinct
 * size or address inside the regions below, so the test can check where it
 * falls relative to the events.  Loads are compared with 0 (fresh pages read
 * as zero): valgrind's IR optimiser drops a load whose value is unused, so
 * lackey would not report a bare `(void)*p`.  Each step's expected events
 * are spelled out in the comments; the test writes them out again by hand.
 */
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MADV_HUGEPAGE 14

#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_brk 12
#define SYS_mremap 25
#define SYS_madvise 28
#define SYS_exit_group 231
#define SYS_memfd_create 319
#define SYS_ftruncate 77

static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

#define A 0x10000000UL /* anonymous region, 4 pages */
#define F 0x10100000UL /* shared memfd mapping, 2 pages */
#define M 0x10200000UL /* mremap destination */
#define H 0x10400000UL /* 2 MiB-aligned region for MADV_HUGEPAGE, 2 MiB */
#define PAGE 4096UL

static void fail(void) { sys6(SYS_exit_group, 1, 0, 0, 0, 0, 0); }

void _start(void) {
  long r;

  /* 1. @mmap 0x10000000 0x4000 rw- anon */
  r = sys6(SYS_mmap, A, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (r != (long)A) fail();
  *(volatile u32 *)(A + 0x10) = 1;           /* W 0x10000010 4 */
  *(volatile u64 *)(A + 3 * PAGE + 8) = 2;   /* W 0x10003008 8 */
  __asm__ volatile("addl $7, (%0)" : : "r"(A + 0x20) : "memory"); /* M 0x10000020 4 */

  /* 2. A failing call gives no event: an unaligned start (EINVAL).
   *    (Not MAP_FIXED_NOREPLACE on a taken range: valgrind 3.19 treats that
   *    flag as a mere hint and maps elsewhere.) */
  r = sys6(SYS_mprotect, A + 1, PAGE, PROT_READ, 0, 0, 0);
  if (r != -22) fail();

  /* 3. @mprotect 0x10001000 0x1000 r-- (length 100 is rounded up to a page) */
  r = sys6(SYS_mprotect, A + PAGE, 100, PROT_READ, 0, 0, 0);
  if (r != 0) fail();
  if (*(volatile u16 *)(A + PAGE + 0x20) != 0) fail();  /* R 0x10001020 2 */

  /* 4. @munmap 0x10003000 0x1000 (the last page) */
  r = sys6(SYS_munmap, A + 3 * PAGE, PAGE, 0, 0, 0, 0);
  if (r != 0) fail();

  /* 5. a file mapping: memfd (not MAP_ANONYMOUS), shared, read-only + exec:
   *    @mmap 0x10100000 0x2000 r-x file   (length 5000 rounds up to 2 pages) */
  long fd = sys6(SYS_memfd_create, (long)"tiny", 0, 0, 0, 0, 0);
  if (fd < 0) fail();
  if (sys6(SYS_ftruncate, fd, 2 * PAGE, 0, 0, 0, 0) != 0) fail();
  r = sys6(SYS_mmap, F, 5000, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
  if (r != (long)F) fail();
  if (*(volatile u8 *)(F + PAGE + 1) != 0) fail();      /* R 0x10101001 1 */

  /* 6. mremap moving the read-only page A+0x1000 to M, growing it to 3 pages:
   *    @munmap 0x10001000 0x1000, @mmap 0x10200000 0x3000 r-- anon
   *    (the old range's protection and kind, from the events so far) */
  r = sys6(SYS_mremap, A + PAGE, PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, M, 0);
  if (r != (long)M) fail();
  if (*(volatile u16 *)(M + 2 * PAGE + 2) != 0) fail(); /* R 0x10202002 2 */

  /* 7. mremap growing in place (A+2 pages, 1 page -> 2 pages):
   *    @mmap 0x10003000 0x1000 rw- anon (only the new tail) */
  r = sys6(SYS_mremap, A + 2 * PAGE, PAGE, 2 * PAGE, 0, 0, 0);
  if (r != (long)(A + 2 * PAGE)) fail();
  *(volatile u64 *)(A + 3 * PAGE + 0x40) = 4; /* W 0x10003040 8 */

  /* 8. mremap shrinking in place: @munmap 0x10003000 0x1000 */
  r = sys6(SYS_mremap, A + 2 * PAGE, 2 * PAGE, PAGE, 0, 0, 0);
  if (r != (long)(A + 2 * PAGE)) fail();

  /* 9. 2 MiB anonymous mapping, then MADV_HUGEPAGE:
   *    @mmap 0x10400000 0x200000 rw- anon, then
   *    @mmap 0x10400000 0x200000 rw- anon huge (re-issued with the flag) */
  r = sys6(SYS_mmap, H, 2 * 1024 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
           -1, 0);
  if (r != (long)H) fail();
  r = sys6(SYS_madvise, H, 2 * 1024 * 1024, MADV_HUGEPAGE, 0, 0, 0);
  /* (no check: a kernel without THP says EINVAL, and then there is no event) */
  *(volatile u32 *)(H + 0x1234) = 5;         /* W 0x10401234 4 */

  /* 10. brk: the first brk(0) gives the initial break B: @brk B.
   *     Growing by 3 pages: @brk B+0x3000; shrinking by one: @brk B+0x2000.
   *     A second brk(0) returns B+0x2000 again: no event (unchanged). */
  long b = sys6(SYS_brk, 0, 0, 0, 0, 0, 0);
  r = sys6(SYS_brk, b + 3 * PAGE, 0, 0, 0, 0, 0);
  if (r != b + 3 * (long)PAGE) fail();
  *(volatile u64 *)(b + 2 * PAGE + 0x18) = 6; /* W B+0x2018 8 */
  r = sys6(SYS_brk, b + 2 * PAGE, 0, 0, 0, 0, 0);
  if (r != b + 2 * (long)PAGE) fail();
  r = sys6(SYS_brk, 0, 0, 0, 0, 0, 0);
  if (*(volatile u64 *)(b + PAGE + 0x30) != 0) fail();   /* R B+0x1030 8 */

  /* 11. munmap of F: @munmap 0x10100000 0x2000 */
  r = sys6(SYS_munmap, F, 2 * PAGE, 0, 0, 0, 0);
  if (r != 0) fail();

  /* 12. exit_group(0): @exit */
  sys6(SYS_exit_group, 0, 0, 0, 0, 0, 0);
  for (;;) {
  }
}
