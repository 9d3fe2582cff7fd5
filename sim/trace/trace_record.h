// One decoded trace record: an access or an event (traces/FORMAT.md).
//
// Readers fill a caller-owned record in place (no allocation per record);
// fields a kind does not use are left unspecified.
#pragma once

#include <cstdint>
#include <string>

#include "models/common/prot.h"
#include "models/common/types.h"

namespace mmusim {

enum class RecordKind : std::uint8_t {
  Access,       // access, addr = vaddr, size = bytes
  Proc,         // @proc PID               pid
  Mmap,         // @mmap START LEN PROT [anon|file|file=ID [off=OFFSET] [shared]] [huge] [hugetlb]
                //   addr, len, prot, file, file_id, file_offset, shared, huge, hugetlb
  Munmap,       // @munmap START LEN       addr, len
  Mprotect,     // @mprotect START LEN PROT  addr, len, prot
  Brk,          // @brk END                addr
  Fork,         // @fork CHILD             pid
  Exit,         // @exit
  Invlpg,       // @invlpg VADDR           addr
  Mark,         // @mark NAME              name
  Invpcid,      // @invpcid TYPE PCID [ADDR]  invpcid_type, pcid, addr (type 0 only, else 0)
  OomScoreAdj,  // @oom_score_adj VALUE  value (-1000..1000)
  Cr4Pge,       // @cr4_pge 0|1  value: a MOV to CR4 writing PGE (a change flushes everything)
  Clone,        // @clone TID              pid: a thread sharing the current process's mm (CLONE_VM)
  Thread,       // @thread TID             pid: the stream switches to that thread
};

const char* record_kind_name(RecordKind k);

struct TraceRecord {
  RecordKind kind = RecordKind::Access;
  AccessKind access = AccessKind::Load;
  std::uint32_t size = 8;  // access size in bytes
  std::uint64_t addr = 0;
  std::uint64_t len = 0;
  std::uint32_t pid = 0;
  std::uint8_t prot = 0;  // kProt* bits (models/common/prot.h)
  bool file = false;
  bool huge = false;
  bool hugetlb = false;  // MAP_HUGETLB | MAP_HUGE_1GB: backed by the os.hugetlb_1g pool
  // @mmap of a file with an identity (file=ID): the file (a path or
  // "inode:..." as the trace names it, compared byte for byte), the offset
  // in the file of START (a multiple of 4096), MAP_SHARED. file_id is empty
  // for a file mapping without identity (plain "file"), which is then its
  // own file, as before identities existed.
  std::string file_id;
  std::uint64_t file_offset = 0;
  bool shared = false;
  std::string name;
  std::int32_t value = 0;         // @oom_score_adj, @cr4_pge
  std::uint8_t invpcid_type = 0;  // @invpcid: 0 address, 1 single context, 2 all with globals, 3 all but globals
  std::uint16_t pcid = 0;         // @invpcid: 0..4095
};

}  // namespace mmusim
