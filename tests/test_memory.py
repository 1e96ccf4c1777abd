"""nnviz.memory: glibc's malloc keeps freed memory, set once per process."""
import subprocess
import sys

from nnviz import memory


def test_settings_apply_once_on_glibc_and_never_fail_elsewhere():
    code = ("import nnviz.memory as m, ctypes\n"
            "calls = []\n"
            "real = ctypes.CDLL\n"
            "ctypes.CDLL = lambda *a, **k: calls.append(a) or real(*a, **k)\n"
            "first, second = m.keep_freed_memory(), m.keep_freed_memory()\n"
            "print(first, second, len(calls))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    if sys.platform.startswith("linux"):
        assert out == ["True", "True", "1"]  # applied, and libc opened once
    else:
        assert out[:2] == ["False", "False"]


def test_values_are_within_glibc_limits():
    # glibc refuses an mmap threshold above 32 MB on 64-bit (mallopt returns 0): keep it at the cap
    assert memory.MMAP_THRESHOLD <= 32 * 2**20 and memory.TRIM_THRESHOLD >= memory.MMAP_THRESHOLD
