"""What this machine's CPU can do, asked once: whether inference may run in bfloat16."""
import functools
import os
from pathlib import Path


@functools.cache
def cpu_computes_bf16() -> bool:
    """Whether this CPU has bfloat16 arithmetic (AVX512-BF16 or AMX). Elsewhere bfloat16 is emulated and slower
    than float32, so inference stays float32. GENIMG_FLOAT32=1 forces float32 everywhere."""
    if os.environ.get("GENIMG_FLOAT32") == "1":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no way to ask cheaply; float32 is always right
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags
