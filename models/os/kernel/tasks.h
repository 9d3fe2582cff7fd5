// The processes, after kernel/fork.c and kernel/exit.c:
//  - the process table and the current task; a pid is created on first use
//    (copy_process -> mm_alloc -> pgd_alloc); out of memory for its
//    task_struct, mm_struct or page directory leaves it dead (its records
//    are skipped), reported in kills() and counted in os.enomem.processes;
//  - task_struct and mm_struct come from their slab caches;
//  - fork (dup_mmap -> copy_page_range, fork.cpp): the current process is
//    duplicated copy-on-write; copy_present_pte write-protects a private
//    writable page in both and makes the child's copy old; swap entries are
//    duplicated (swap_duplicate); only VMAs with an anon_vma are copied
//    (vma_needs_copy); 2 MiB pages are split at fork (Linux shares the huge
//    PMD and splits at the first write); the parent's mm is flushed
//    (flush_tlb_mm). Out of memory fails the fork (-ENOMEM): no child;
//  - exit and kill (exit_mmap): every mapping and table freed, the
//    kernel objects returned, and every CPU that ran the mm flushed and
//    moved to init_mm (AsidManager::exit_mmap_flush); SIGSEGV and the OOM killer kill through it.
//    @exit is exit_group(): the process and every thread of it end;
//  - threads (@clone, clone(CLONE_VM | CLONE_THREAD)): a new task with its
//    own task_struct sharing the current process's mm (no mm_struct, no page
//    tables, no copy); switching between tasks of one mm loads no CR3
//    (switch_mm_irqs_off: prev == next). Task ids and pids are one space, as
//    in Linux: a process's own pid names its main thread.
// Left out: copy_pte_range's re-mapping after a resched.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/mmu/mmu_control.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class PageTables;
class AddressSpace;
class AsidManager;
class KernelSpace;
class SlabAllocator;
struct KmemCache;
class Rmap;
class SwapSpace;
class Hugetlb;
class Thp;

class Tasks {
 public:
  // Test-only: puts back a fixed bug, so that a test can show the
  // TLB-transparency check catches it. Never set outside tests.
  struct TestHooks {
    // fork reloads the parent's CR3 without its PCID and leaves its TLB
    // generation alone (the pre-fix dup_mmap, missing flush_tlb_mm).
    bool fork_without_flush_tlb_mm = false;
    // flush_tlb_mm_range() flushes only the CPU that makes it, sending no
    // IPI (the model before TLB shootdowns; AsidManager).
    bool flush_without_ipis = false;
  };

  Tasks(const OsParams& p, MmuControl& mmu, PageTables& pt, AddressSpace& as, AsidManager& asids, KernelSpace& kspace,
        SlabAllocator& slab, Rmap& rmap, SwapSpace& swap, Hugetlb& hugetlb, Thp& thp);

  // os.processes; os.forks; os.enomem.processes and forks.
  void register_processes_counter(StatGroup& os);
  void register_forks_counter(StatGroup& os);
  void register_enomem(StatGroup& enomem);
  // The task_struct and mm_struct slab caches.
  void create_caches();

  // Makes pid current (created on first use) and loads its CR3. A creation
  // that finds no memory leaves pid dead and the current process unchanged.
  void switch_to(std::uint32_t pid);
  // The CPU the kernel runs on (OsModel::set_cpu): each CPU has its own
  // current task; this saves the one of the CPU left and loads cpu's.
  void set_cpu(unsigned cpu);
  // The current process (process 1 is created if none runs).
  Process& cur();
  std::uint32_t current_pid() const { return m_current; }
  bool is_current(std::uint32_t pid) const { return m_has_current && m_current == pid; }
  // Unknown pids count as alive: they are created on first use.
  bool alive(std::uint32_t pid) const;
  const Process* process(std::uint32_t pid) const;
  Process* find(std::uint32_t pid);
  const std::map<std::uint32_t, std::unique_ptr<Process>>& all() const { return m_procs; }

  // @clone TID: a thread of the current process (its task_struct from the
  // slab; out of memory leaves it dead, its records skipped, reported in
  // kills()). Throws OsError if TID names a task already.
  void clone(std::uint32_t tid);
  // @thread TID: makes TID's process current (its CR3, unless it is the
  // current one). Throws OsError for an unknown or dead TID.
  void switch_to_thread(std::uint32_t tid);
  // The process whose mm task tid runs in (tid for a process); 0 if no task
  // has that id.
  std::uint32_t thread_group(std::uint32_t tid) const;
  // Threads made by @clone: tid -> its process.
  bool is_thread(std::uint32_t tid) const { return m_threads.count(tid) != 0; }
  // A thread is alive while it and its process are.
  bool thread_alive(std::uint32_t tid) const;

  // @fork CHILD (fork.cpp). Throws OsError if CHILD exists.
  void fork(std::uint32_t child);
  // Frees p's memory and marks it dead, reported in kills() with why.
  void kill(Process& p, const std::string& why);
  void exit_current();
  // Messages of processes killed so far ("process 3 killed: ...").
  const std::vector<std::string>& kills() const { return m_kills; }
  // The parent while fork copies its mm: no OOM victim.
  const Process* forking() const { return m_forking; }
  // The child while fork copies the mm into it: copy_process() links it
  // into the task list (and so into select_bad_process()'s view) only
  // after copy_mm() succeeds, so it is never an OOM victim meanwhile.
  const Process* forked_child() const { return m_forked_child; }
  void set_test_hooks(const TestHooks& h) { m_test_hooks = h; }

 private:
  // A new process; nullptr when out of memory (the pid is then kept dead).
  Process* create(std::uint32_t pid);
  void free_kernel_objects(Process& p);
  // copy_page_range() of parent into child; false when out of memory.
  bool copy_mm(Process& parent, Process& child);

  const OsParams& m_p;
  MmuControl& m_mmu;
  PageTables& m_pt;
  AddressSpace& m_as;
  AsidManager& m_asids;
  KernelSpace& m_kspace;
  SlabAllocator& m_slab;
  Rmap& m_rmap;
  SwapSpace& m_swap;
  Hugetlb& m_hugetlb;
  Thp& m_thp;
  KmemCache* m_task_cache = nullptr;
  KmemCache* m_mm_cache = nullptr;
  std::map<std::uint32_t, std::unique_ptr<Process>> m_procs;
  struct Thread {
    std::uint32_t pid = 0;  // its process (thread group)
    PAddr task_obj = 0;
    bool alive = true;
  };
  std::map<std::uint32_t, Thread> m_threads;  // @clone's tasks by tid
  std::uint32_t m_current = 0;
  bool m_has_current = false;
  struct CpuCurrent {
    std::uint32_t pid = 0;
    bool has = false;
  };
  std::vector<CpuCurrent> m_cpu_current{1};  // the other CPUs' current task (set_cpu)
  unsigned m_cpu = 0;
  std::vector<std::string> m_kills;
  const Process* m_forking = nullptr;
  const Process* m_forked_child = nullptr;
  TestHooks m_test_hooks;
  Counter* m_processes = nullptr;
  Counter* m_forks = nullptr;
  Counter* m_enomem_processes = nullptr;
  Counter* m_enomem_forks = nullptr;
};

}  // namespace mmusim
