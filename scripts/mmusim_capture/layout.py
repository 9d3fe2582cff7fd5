"""Start-up layout: the program's initial mappings (executable, ld.so, brk
page, stack) from valgrind's memory map at client start-up, which
`valgrind -d` prints (StartupLayout)."""

import re


# ---------------------------------------------------------------------------
# valgrind's memory map at client start-up (valgrind -d)

# Every line of valgrind's debug log (-d) starts with "--PID:LEVEL:".
DEBUG_RE = re.compile(rb"--\d+:\d+:")
# "--123:1: aspacem   1: file 0000108000-0000109fff    8192 r---- d=... (1,49)"
SEGMENT_RE = re.compile(r"aspacem +\d+: (\w+) +([0-9a-fA-F]+)-([0-9a-fA-F]+) +\S+ +(\S+)(.*)$")


class StartupLayout:
    """Reads the segment table valgrind's address-space manager prints (with
    -d) just before the client's first instruction, "Memory layout at client
    startup".  Lower-case kinds are the client's (file, anon, shm), upper-case
    ones valgrind's own, RSVN reservations.  The client's segments are the
    executable, the dynamic loader, the brk page, the stack and valgrind's
    trampoline page (code the client runs); the stack's reservation below it
    (RSVN ... SmUpper, where valgrind grows the stack on demand, up to the
    stack rlimit) is mapped with it, like a Linux stack VMA grown to its
    limit."""

    def __init__(self):
        self.state = 0          # 0 before the table, 1 inside, 2 done
        self.segments = []      # (kind, start, end_exclusive, prot_text, rest)

    @property
    def done(self):
        return self.state == 2

    def feed(self, line):
        """One debug line (bytes or str)."""
        if self.state == 2:
            return
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        if self.state == 0:
            if "Memory layout at client startup" in text:
                self.state = 1
            return
        if "aspacem >>>" in text:
            self.state = 2
            return
        m = SEGMENT_RE.search(text.rstrip("\n"))
        if m:
            self.segments.append((m.group(1), int(m.group(2), 16), int(m.group(3), 16) + 1,
                                  m.group(4), m.group(5)))

    def mappings(self):
        """[(start, length, prot, file)] of the client's segments."""
        out = []
        prev = None
        for kind, start, end, prot_s, rest in self.segments:
            if kind in ("file", "anon", "shm"):
                prot = (1 if prot_s[:1] == "r" else 0) | (2 if prot_s[1:2] == "w" else 0) \
                    | (4 if prot_s[2:3] == "x" else 0)
                if kind == "anon" and prev is not None and prev[0] == "RSVN" \
                        and "SmUpper" in prev[4] and prev[2] == start:
                    start = prev[1]         # the stack with its growth area
                out.append((start, end - start, prot, kind != "anon"))
            prev = (kind, start, end, prot_s, rest)
        return out


# ---------------------------------------------------------------------------
