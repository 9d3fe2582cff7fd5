// One decoded trace record: an access or an event (DESIGN.md section 7).
//
// Readers fill a caller-owned record in place (no allocation per record);
// fields a kind does not use are left unspecified.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "models/common/types.h"

namespace mmusim {

enum class RecordKind : std::uint8_t {
  Access,    // access, addr = vaddr, size = bytes
  Proc,      // @proc PID               pid
  Mmap,      // @mmap START LEN PROT [anon|file] [huge] [hugetlb]   addr, len, prot, file, huge, hugetlb
  Munmap,    // @munmap START LEN       addr, len
  Mprotect,  // @mprotect START LEN PROT  addr, len, prot
  Brk,       // @brk END                addr
  Fork,      // @fork CHILD             pid
  Exit,      // @exit
  Invlpg,    // @invlpg VADDR           addr
  Mark,      // @mark NAME              name
  Invpcid,   // @invpcid TYPE PCID [ADDR]  prot = type (0..3), pid = PCID (0..4095), addr (type 0 only, else 0)
  OomScoreAdj,  // @oom_score_adj VALUE  value (-1000..1000)
  Cr4Pge,       // @cr4_pge 0|1  value: a MOV to CR4 writing PGE (a change flushes everything)
};

const char* record_kind_name(RecordKind k);

// Protection bits of @mmap/@mprotect.
enum : std::uint8_t { kProtRead = 1, kProtWrite = 2, kProtExec = 4 };

struct TraceRecord {
  RecordKind kind = RecordKind::Access;
  AccessKind access = AccessKind::Load;
  std::uint32_t size = 8;  // access size in bytes
  std::uint64_t addr = 0;
  std::uint64_t len = 0;
  std::uint32_t pid = 0;
  std::uint8_t prot = 0;
  bool file = false;
  bool huge = false;
  bool hugetlb = false;  // MAP_HUGETLB | MAP_HUGE_1GB: backed by the os.hugetlb_1g pool
  std::string name;
  std::int32_t value = 0;  // @oom_score_adj, @cr4_pge
};

// Malformed trace input. what() reads "FILE:LINE: expected ..., got '...'"
// (or "FILE: byte OFFSET: ..." for binary formats). Maps to exit code 3.
class TraceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TraceReader {
 public:
  virtual ~TraceReader() = default;
  // Fills rec with the next record; false at the clean end of the trace.
  // Throws TraceError on malformed input.
  virtual bool next(TraceRecord& rec) = 0;
  // Fraction of the input consumed so far in [0, 1], from compressed bytes
  // read vs file size; negative when the size is unknown (a pipe).
  virtual double progress() const = 0;
  virtual const std::string& path() const = 0;
  virtual const char* format_name() const = 0;
  // Where the last record came from, for error messages: "FILE:LINE" for
  // line formats, "FILE: byte OFFSET" for binary ones.
  virtual std::string location() const { return path(); }
};

}  // namespace mmusim
