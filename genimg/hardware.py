"""What this machine's CPU can do, asked once: whether inference may run in bfloat16, and the autocast that
runs a network that way (the upscalers and the inpainter share it)."""
import functools
import os
from pathlib import Path

import torch


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


def inference_dtype() -> str:
    """The number format networks run in here, for benchmark reports and cards."""
    return "bfloat16" if cpu_computes_bf16() else "float32"


def inference_autocast(device: torch.device):
    """bfloat16 autocast for a network's forward pass on a CPU that computes it; a no-op on other CPUs and GPUs.
    Only the layers autocast lists (convolutions, matrix products) change format; the rest stays float32."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=device.type == "cpu" and cpu_computes_bf16())
