#include "models/os/kernel/tasks.h"

#include "models/os/arch/kernel_space.h"
#include "models/os/arch/tlb.h"
#include "models/os/mm/address_space.h"
#include "models/os/mm/page_tables.h"
#include "models/os/slab.h"

namespace mmusim {
namespace {

// Approximate object sizes of a 6.x x86-64 distribution kernel, as
// /proc/slabinfo shows them; the exact figures depend on the kernel config.
constexpr unsigned kTaskStructBytes = 9984;
constexpr unsigned kMmStructBytes = 1344;

}  // namespace

Tasks::Tasks(const OsParams& p, MmuControl& mmu, PageTables& pt, AddressSpace& as, AsidManager& asids,
             KernelSpace& kspace, SlabAllocator& slab, Rmap& rmap, SwapSpace& swap, Hugetlb& hugetlb, Thp& thp)
    : m_p(p),
      m_mmu(mmu),
      m_pt(pt),
      m_as(as),
      m_asids(asids),
      m_kspace(kspace),
      m_slab(slab),
      m_rmap(rmap),
      m_swap(swap),
      m_hugetlb(hugetlb),
      m_thp(thp) {}

void Tasks::register_processes_counter(StatGroup& os) { m_processes = &os.counter("processes", "processes created"); }

void Tasks::register_forks_counter(StatGroup& os) { m_forks = &os.counter("forks", "processes created by @fork"); }

void Tasks::register_enomem(StatGroup& en) {
  m_enomem_processes =
      &en.counter("processes", "process creations that found no memory (ENOMEM): their records are skipped");
  m_enomem_forks =
      &en.counter("forks", "@fork calls that found no memory (ENOMEM to the parent): the child's records are skipped");
}

void Tasks::create_caches() {
  m_task_cache = m_slab.create("task_struct", kTaskStructBytes, 64);
  m_mm_cache = m_slab.create("mm_struct", kMmStructBytes, 64);
}

bool Tasks::alive(std::uint32_t pid) const {
  if (!m_threads.empty() && m_threads.count(pid)) return thread_alive(pid);
  auto it = m_procs.find(pid);
  return it == m_procs.end() || it->second->alive;  // unknown pids are created on first use
}

const Process* Tasks::process(std::uint32_t pid) const {
  auto it = m_procs.find(pid);
  return it == m_procs.end() ? nullptr : it->second.get();
}

Process* Tasks::find(std::uint32_t pid) {
  auto it = m_procs.find(pid);
  return it == m_procs.end() ? nullptr : it->second.get();
}

Process& Tasks::cur() {
  if (!m_has_current) switch_to(1);
  if (!m_has_current) throw OsError("no process to run: process 1 could not be created (out of memory)");
  return *m_procs.at(m_current);
}

Process* Tasks::create(std::uint32_t pid) {
  // copy_process() / mm_alloc() / pgd_alloc(): out of memory for any of the
  // task_struct, the mm_struct or the PGD is -ENOMEM to the caller, and no
  // process exists. It is kept as a dead entry, so that its records are
  // skipped, and reported (m_kills) and counted.
  // (Linux allocates the task_struct, then the mm_struct, then the PGD; the
  // PGD comes first here, which only changes which frames each one gets.)
  auto proc = std::make_unique<Process>();
  proc->pid = pid;
  const PAddr root = m_pt.alloc_root(*proc);
  auto task = root ? m_slab.alloc(m_task_cache) : std::nullopt;
  auto mm = task ? m_slab.alloc(m_mm_cache) : std::nullopt;
  if (!mm) {
    if (task) m_slab.free(m_task_cache, *task);
    if (root) m_pt.free_tables(*proc, root, m_pt.levels());
    proc->alive = false;
    m_procs[pid] = std::move(proc);
    return nullptr;
  }
  proc->root = root;
  proc->task_obj = *task;
  proc->mm_obj = *mm;
  ++*m_processes;
  return (m_procs[pid] = std::move(proc)).get();
}

void Tasks::clone(std::uint32_t tid) {
  Process& p = cur();
  if (m_procs.count(tid) || m_threads.count(tid))
    throw OsError("@clone " + std::to_string(tid) + ": a task with that id exists");
  // copy_process() with CLONE_VM: a task_struct, the mm shared (mmget).
  Thread t;
  t.pid = p.pid;
  auto task = m_slab.alloc(m_task_cache);
  if (!task) {
    t.alive = false;
    m_kills.push_back("@clone " + std::to_string(tid) +
                      " failed: out of memory for the task_struct (ENOMEM to process " + std::to_string(p.pid) +
                      "); thread " + std::to_string(tid) + "'s records are skipped");
  } else {
    t.task_obj = *task;
  }
  m_threads[tid] = t;
}

std::uint32_t Tasks::thread_group(std::uint32_t tid) const {
  auto t = m_threads.find(tid);
  if (t != m_threads.end()) return t->second.pid;
  return m_procs.count(tid) ? tid : 0;
}

bool Tasks::thread_alive(std::uint32_t tid) const {
  auto t = m_threads.find(tid);
  if (t == m_threads.end()) return alive(tid);
  const Process* p = process(t->second.pid);
  return t->second.alive && p && p->alive;
}

void Tasks::switch_to_thread(std::uint32_t tid) {
  const std::uint32_t pid = thread_group(tid);
  if (pid == 0)
    throw OsError("@thread " + std::to_string(tid) + ": no task with that id (create it with @clone " +
                  std::to_string(tid) + ", or name a process with @proc)");
  if (!thread_alive(tid)) throw OsError("@thread " + std::to_string(tid) + ": the thread has exited or was killed");
  switch_to(pid);
}

void Tasks::switch_to(std::uint32_t pid) {
  if (!m_threads.empty() && m_threads.count(pid))
    throw OsError("@proc " + std::to_string(pid) + ": " + std::to_string(pid) +
                  " is a thread (made by @clone): switch to it with @thread " + std::to_string(pid));
  auto it = m_procs.find(pid);
  Process* created = nullptr;
  if (it == m_procs.end() && !(created = create(pid))) {
    ++*m_enomem_processes;
    m_kills.push_back("process " + std::to_string(pid) +
                      " not created: out of memory (ENOMEM: task_struct, mm_struct or page directory); its "
                      "records are skipped");
    return;  // the CPU stays with the task it ran
  }
  Process& p = created ? *created : *it->second;
  if (!p.alive) throw OsError("@proc " + std::to_string(pid) + ": the process was killed or has exited");
  m_current = pid;
  m_has_current = true;
  // switch_mm_irqs_off(): to the mm the CPU has loaded, no CR3 write (unless
  // it was lazy and the mm's generation moved); to another, a CR3 write.
  m_asids.switch_mm(p);
}

void Tasks::set_cpu(unsigned cpu) {
  if (cpu >= m_cpu_current.size()) m_cpu_current.resize(cpu + 1);
  m_cpu_current[m_cpu] = CpuCurrent{m_current, m_has_current};
  m_cpu = cpu;
  m_current = m_cpu_current[cpu].pid;
  m_has_current = m_cpu_current[cpu].has;
}

void Tasks::free_kernel_objects(Process& p) {
  m_as.free_vma_objects(p);
  if (p.mm_obj) m_slab.free(m_mm_cache, p.mm_obj);
  if (p.task_obj) m_slab.free(m_task_cache, p.task_obj);
  p.mm_obj = p.task_obj = 0;
}

void Tasks::kill(Process& p, const std::string& why) {
  // Every thread of the process ends with it (exit_group, or the signal
  // that kills the whole thread group).
  for (auto& kv : m_threads)
    if (kv.second.pid == p.pid && kv.second.alive) {
      if (kv.second.task_obj) m_slab.free(m_task_cache, kv.second.task_obj);
      kv.second = Thread{p.pid, 0, false};
    }
  m_as.zap(p, 0, m_pt.user_top());
  m_pt.free_tables(p, p.root, m_pt.levels());
  // exit_mmap()'s tlb_finish_mmu(): every CPU that ran the mm (lazy now,
  // its task gone) is flushed and moves to init_mm, the idle root.
  m_asids.exit_mmap_flush(p);
  m_asids.release(p.pid);
  p.vmas.clear();
  free_kernel_objects(p);
  p.alive = false;
  p.huge_zero = false;  // __mmput -> mm_put_huge_zero_page
  m_kills.push_back("process " + std::to_string(p.pid) + " killed: " + why);
  if (m_has_current && m_current == p.pid) {
    m_has_current = false;
    m_asids.switch_to_init_mm();  // done by exit_mmap_flush already
  }
  // Another CPU that runs it (the OOM killer chose a process running
  // elsewhere, or a thread of it runs there) has no task now; exit_mmap_flush
  // moved its MMU to the idle root already (the flush IPI with
  // freed_tables), before its page tables could be walked again. Linux
  // sends the victim a signal; the CPU switches away at once.
  for (std::size_t c = 0; c < m_cpu_current.size(); ++c)
    if (c != m_cpu && m_cpu_current[c].has && m_cpu_current[c].pid == p.pid) m_cpu_current[c] = CpuCurrent{};
}

void Tasks::exit_current() {
  Process& p = cur();
  kill(p, "exited");
  m_kills.pop_back();  // a normal exit is not a kill
}

}  // namespace mmusim
