"""What every bench shares: timing, the fixed photo the speed cases run on, the app's start-up time, a release's
dataset, and writing results."""
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]  # the repository: app.py, examples/, README.md, docs/


def median_ms(fn, repeats):
    """Median milliseconds of `repeats` calls of fn after one warm-up call."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_startup_seconds(checkpoint_dir):
    """Seconds from `python app.py` to the first successful HTTP answer."""
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port),
                                "--checkpoints", str(checkpoint_dir)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the app did not answer within 120 s")
    finally:
        process.terminate()
        process.wait(timeout=30)


def speed_photo(size: int = 256) -> Image.Image:
    """A fixed size x size photo for timing (a crop of an example when present; timing does not depend on content)."""
    example = ROOT / "examples" / "chelsea.png"
    if example.is_file():
        with Image.open(example) as image:
            return image.convert("RGB").crop((0, 0, size, size))
    return Image.effect_noise((size, size), 64).convert("RGB")


def write_results(path, results) -> None:
    """--json: the results as indented JSON (nothing when no path was given)."""
    if path:
        Path(path).write_text(json.dumps(results, indent=2))
