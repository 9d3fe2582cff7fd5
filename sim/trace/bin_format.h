// The "bin" trace format, version 1: mmusim's own compact binary traces.
//
// Carries exactly what the text format carries (every access and every
// RecordKind event), so `mmusim convert` goes text -> bin -> text and
// bin -> text -> bin without loss. Designed for decoding speed first and size
// second: one tag byte says what the record is, how big the access is and how
// many address bytes follow, so the common access is decoded by one table
// lookup and one unaligned 8-byte load, without a loop or a data-dependent
// branch. Compression (zstd, gzip, xz) is left to a wrapper around the whole
// file and recognised by its magic bytes, as for every format.
//
// All multi-byte integers are little-endian. Offsets in error messages count
// bytes of the decompressed stream from 0.
//
// File = header, records, end tag:
//
//   offset 0   8 bytes  magic "MMUSIMTR"
//   offset 8   u16      version, 1
//   offset 10  u16      flags, 0 (none defined in version 1; others rejected)
//   offset 12  4 bytes  reserved, 0 (rejected otherwise)
//   offset 16  records, each starting with a tag byte
//   last byte  0xff, the end tag; nothing may follow it. A file that stops
//              without it was cut short, even at a record boundary.
//
// Access records, tags 0x00..0xef:  tag = op << 3 | width_class
//
//   op (tag bits 7..3) is the access kind and size:
//     op  0.. 6  R (load)    size 1, 2, 4, 8, 16, 32, 64     op  7  R, size escape
//     op  8..14  W (store)   size 1, 2, 4, 8, 16, 32, 64     op 15  W, size escape
//     op 16..23  X (ifetch)  size 1, 2, 3, 4, 5, 6, 7, 8     op 24  X, size escape
//     op 25..28  M (modify)  size 1, 2, 4, 8                 op 29  M, size escape
//   ("size escape": an unsigned LEB128 varint with the size, 1..4096, follows
//   the tag.) The sizes chosen are what x86 programs do: data accesses are
//   powers of two, instruction fetches 1 to 8 bytes long in 99.7 % of a
//   lackey trace of xz.
//
//   width_class (tag bits 2..0) is the number of address bytes that follow
//   (after the escaped size, if any): 0, 1, 2, 3, 4, 5, 6 or 8 bytes for
//   classes 0..7. Those bytes are a two's-complement delta, sign-extended
//   from their width to 64 bits (class 7: the full 64-bit delta; class 0: a
//   delta of 0), and
//
//     vaddr = predicted[kind] + delta            (mod 2^64)
//     predicted[kind] = vaddr + size             (mod 2^64), afterwards
//
//   i.e. each of the four kinds predicts that its next access starts where
//   its last one ended (sequential code, array walks: delta 0, no address
//   byte at all). predicted[] starts at 0 for every kind and is not touched
//   by events. Measured on a 26 M-access lackey trace of `xz -3`: 68 % of
//   accesses need no address byte, 14 % one, 0.65 address bytes and 1.7
//   bytes per access in all.
//
// Event records, tags 0xf0..0xfd, then 0xff (the end); 0xfe is not
// defined (0xf9 to 0xfd were added after the first files were written;
// files without them read as before, and the version stays 1). Addresses,
// lengths and pids are unsigned LEB128 varints, absolute:
//
//   0xf0  @proc      varint pid (at most 2^32 - 1)
//   0xf1  @mmap      u8 flags, varint start, varint len
//                    flags: bits 0..2 prot (kProtRead 1, kProtWrite 2,
//                    kProtExec 4), bit 3 file-backed, bit 4 huge, bit 5
//                    hugetlb (not with bit 3), bit 6 file identity
//                    (with bit 3), bit 7 shared (MAP_SHARED, with bit 6)
//                    with bit 6, after len: varint file offset (a multiple
//                    of 4096, offset + len - 1 within 64 bits), varint
//                    identity length (1..4096), the identity's bytes
//                    (is_file_id_char, as in the text format's file=ID).
//                    Bits 6 and 7 came later without a version change:
//                    files without them read as before.
//   0xf2  @munmap    varint start, varint len
//   0xf3  @mprotect  u8 prot (0..7), varint start, varint len
//   0xf4  @brk       varint end
//   0xf5  @fork      varint child pid (at most 2^32 - 1)
//   0xf6  @exit
//   0xf7  @invlpg    varint vaddr
//   0xf8  @mark      varint name length (1..65530), then the name's bytes:
//                    letters, digits, '_', '.', '-' as in the text format
//   0xf9  @invpcid   u8 type (0..3), varint PCID (at most 4095), then
//                    varint vaddr for type 0 only
//   0xfa  @oom_score_adj  varint value + 1000 (0..2000 for -1000..1000)
//   0xfb  @cr4_pge   u8 value (0 or 1)
//   0xfc  @clone     varint thread id (at most 2^32 - 1)
//   0xfd  @thread    varint thread id (at most 2^32 - 1)
//   0xff  end of trace
//
//   Lengths are at least 1 and start + len - 1 must not pass 2^64 - 1, the
//   rules of the text format, so every bin file converts to valid text.
//
// Varints: 7 bits per byte, least significant group first, bit 7 set on all
// but the last byte; at most 10 bytes, and the 10th may only be 0 or 1. The
// reader accepts over-long forms (0x80 0x00 for 0) and size escapes of sizes
// that have their own op; the writer never produces them, so its output is
// canonical: the same records always give the same bytes.
//
// Worked example (the unit test spells these out by hand):
//   "R 0x1000 8" first  -> op 3, delta 0x1000 needs 2 bytes: 1a 00 10
//   "R 0x1008 8" next   -> predicted 0x1008, delta 0: 18
//   "X 0x400000 15"     -> op 24 (escape), class 3: c3 0f 00 00 40
//   "@proc 300"         -> f0 ac 02
//
// Left out of version 1: per-record process ids (use @proc), timestamps,
// a record count or index in the header (the writer streams), seeking.
#pragma once

#include <cstddef>
#include <cstdint>

#include "models/common/prot.h"
#include "models/common/types.h"

namespace mmusim {
namespace bin {

inline constexpr char kMagic[8] = {'M', 'M', 'U', 'S', 'I', 'M', 'T', 'R'};
inline constexpr std::uint16_t kVersion = 1;
inline constexpr std::size_t kHeaderBytes = 16;

inline constexpr std::uint32_t kMaxAccessBytes = 4096;
inline constexpr std::size_t kMaxVarintBytes = 10;
// "@mark " plus the name fills a text line of LineReader::kMaxLineBytes.
inline constexpr std::size_t kMaxMarkBytes = 65530;

// Access tags: op << kWidthBits | width class.
inline constexpr unsigned kWidthBits = 3;
inline constexpr unsigned kWidthBytes[8] = {0, 1, 2, 3, 4, 5, 6, 8};
inline constexpr unsigned kNumAccessOps = 30;
inline constexpr std::uint8_t kFirstEventTag = 0xf0;  // == kNumAccessOps << kWidthBits

struct AccessOp {
  AccessKind kind;
  std::uint16_t size;  // 0: escape, the size follows the tag as a varint
};
inline constexpr AccessOp kAccessOps[kNumAccessOps] = {
    {AccessKind::Load, 1},   {AccessKind::Load, 2},   {AccessKind::Load, 4},   {AccessKind::Load, 8},
    {AccessKind::Load, 16},  {AccessKind::Load, 32},  {AccessKind::Load, 64},  {AccessKind::Load, 0},
    {AccessKind::Store, 1},  {AccessKind::Store, 2},  {AccessKind::Store, 4},  {AccessKind::Store, 8},
    {AccessKind::Store, 16}, {AccessKind::Store, 32}, {AccessKind::Store, 64}, {AccessKind::Store, 0},
    {AccessKind::IFetch, 1}, {AccessKind::IFetch, 2}, {AccessKind::IFetch, 3}, {AccessKind::IFetch, 4},
    {AccessKind::IFetch, 5}, {AccessKind::IFetch, 6}, {AccessKind::IFetch, 7}, {AccessKind::IFetch, 8},
    {AccessKind::IFetch, 0}, {AccessKind::Modify, 1}, {AccessKind::Modify, 2}, {AccessKind::Modify, 4},
    {AccessKind::Modify, 8}, {AccessKind::Modify, 0},
};

// Event tags.
inline constexpr std::uint8_t kTagProc = 0xf0;
inline constexpr std::uint8_t kTagMmap = 0xf1;
inline constexpr std::uint8_t kTagMunmap = 0xf2;
inline constexpr std::uint8_t kTagMprotect = 0xf3;
inline constexpr std::uint8_t kTagBrk = 0xf4;
inline constexpr std::uint8_t kTagFork = 0xf5;
inline constexpr std::uint8_t kTagExit = 0xf6;
inline constexpr std::uint8_t kTagInvlpg = 0xf7;
inline constexpr std::uint8_t kTagMark = 0xf8;
inline constexpr std::uint8_t kTagInvpcid = 0xf9;
inline constexpr std::uint8_t kTagOomScoreAdj = 0xfa;
inline constexpr std::uint8_t kTagCr4Pge = 0xfb;
inline constexpr std::uint8_t kTagClone = 0xfc;
inline constexpr std::uint8_t kTagThread = 0xfd;
inline constexpr std::uint8_t kLastEventTag = kTagThread;
inline constexpr std::uint8_t kTagEnd = 0xff;

// The @mmap flags byte.
inline constexpr std::uint8_t kMmapProtMask = 0x07;
inline constexpr std::uint8_t kMmapFile = 0x08;
inline constexpr std::uint8_t kMmapHuge = 0x10;
inline constexpr std::uint8_t kMmapHugetlb = 0x20;  // MAP_HUGETLB | MAP_HUGE_1GB, never with file
inline constexpr std::uint8_t kMmapFileId = 0x40;   // a file identity and offset follow; with kMmapFile
inline constexpr std::uint8_t kMmapShared = 0x80;   // MAP_SHARED; with kMmapFileId
static_assert(kMmapProtMask == kProtMask, "the prot bits of @mmap are models/common/prot.h's");

// A file identity (text "file=ID"): 1 to kMaxFileIdBytes bytes, each
// printable ASCII other than blank and '#' (which would end the text
// token), or a byte of 0x80 and above (UTF-8 paths); compared byte for byte.
inline constexpr std::size_t kMaxFileIdBytes = 4096;
inline constexpr bool is_file_id_char(unsigned char c) { return (c > 0x20 && c < 0x7f && c != '#') || c >= 0x80; }

}  // namespace bin
}  // namespace mmusim
