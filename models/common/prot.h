// Protection bits of a mapping: the PROT of @mmap/@mprotect records and of a
// VMA. The values are Linux's PROT_READ, PROT_WRITE and PROT_EXEC
// (include/uapi/asm-generic/mman-common.h); PROT_NONE is 0.
#pragma once

#include <cstdint>

namespace mmusim {

enum : std::uint8_t { kProtRead = 1, kProtWrite = 2, kProtExec = 4 };
constexpr std::uint8_t kProtMask = kProtRead | kProtWrite | kProtExec;

}  // namespace mmusim
