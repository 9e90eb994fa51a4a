"""keep_freed_memory: large blocks come from the heap and stay there after free (glibc)."""

import json
import subprocess
import sys
import textwrap

import pytest

from dlwild.core import allocator

pytestmark = pytest.mark.skipif(allocator._glibc() is None, reason="needs glibc's mallopt")

PROBE = textwrap.dedent("""
    import ctypes, json, sys
    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
                    "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Info
    if sys.argv[1] == "import":
        import dlwild.core
    import numpy as np
    block = np.ones(100_000_000, dtype=np.uint8)
    during = libc.mallinfo2()
    del block
    after = libc.mallinfo2()
    print(json.dumps({"mmapped_during": during.hblkhd, "heap_after": after.arena}))
""")


def probe(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def test_importing_core_keeps_large_blocks_in_the_heap():
    plain, tuned = probe("plain"), probe("import")
    # glibc's default: the 100 MB block is mmapped and unmapped on free
    assert plain["mmapped_during"] >= 100_000_000
    assert plain["heap_after"] < 100_000_000
    # after `import dlwild.core`: served from the heap, and kept there after free
    assert tuned["mmapped_during"] < 100_000_000
    assert tuned["heap_after"] >= 100_000_000


def test_keep_freed_memory_reports_that_it_applied():
    assert allocator.keep_freed_memory() is True
