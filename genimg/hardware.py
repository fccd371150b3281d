"""What this machine can do: where a call's networks run (inference_device), whether its CPU may run inference
in bfloat16, and the autocast that runs a network that way (the upscalers and the inpainter share it)."""
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


def inference_device() -> torch.device:
    """Where the API's networks run for this call: the GPU when there is one this process may use, else the CPU.

    On a ZeroGPU Space (SPACES_ZERO_GPU set) the main process reports a GPU it cannot use; only inside a
    @spaces.GPU call, which runs in a worker that has initialised CUDA, is the GPU real."""
    if os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true"):
        return torch.device("cuda" if torch.cuda.is_initialized() else "cpu")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
