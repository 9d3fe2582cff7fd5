// Moved to tests/support/pt_builder.h; this include keeps the OS tests that
// still name the old path compiling until they switch.
#pragma once
#include "tests/support/pt_builder.h"
