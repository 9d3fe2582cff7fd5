// Unit tests link the whole simulator, and with it libsystemc, whose own
// main() calls sc_main() (extern "C", as SystemC declares it). GoogleTest's
// main() is the one that runs; this definition only satisfies the library's
// reference (the linker refuses an executable whose shared libraries leave
// a symbol undefined, as in the sanitizer build).
extern "C" int sc_main(int, char**) { return 0; }
