"""The app under a busy public link: `python -m genimg.bench load`.

Starts `app.py` on 127.0.0.1 (a fresh temp folder, so its disk use can be measured), then
1. times each endpoint alone (the single-user median),
2. runs `users` gradio_client users, each sending `requests` requests drawn from the app's mix of light
   (generation) and heavy (photo) events, with a person's pause between them,
3. sends a burst of `burst` requests at once,
4. optionally a soak of `soak` more requests (light and heavy, a few users), sampling the server's disk use and
   memory as it goes,
and prints per endpoint: alone median, p50/p95 under load, p95 / alone, failures, the highest queue position
a heavy request was shown; then the burst's answers, peak memory and disk use.
Only a server on this machine is loaded (127.0.0.1), and every count is bounded.
"""
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from .common import ROOT, free_port, speed_photo

LIGHT = ("/generate", "/interpolate", "/manifold", "/step_through", "/likelihood")
HEAVY = ("/compare", "/upscale", "/inpaint", "/stylize")
# How often each endpoint comes up in a visitor's session (generation is what most people do).
MIX = {"/generate": 4, "/interpolate": 2, "/manifold": 1, "/step_through": 1, "/likelihood": 1, "/compare": 1,
       "/upscale": 1, "/inpaint": 1, "/stylize": 1}
MAX_USERS, MAX_REQUESTS, MAX_BURST, MAX_SOAK = 50, 50, 200, 5000


def inputs(folder: Path) -> dict:
    """The files the requests send: a 256 px photo (upscale, stylize), a 512 px photo and mask (inpaint), a digit."""
    folder.mkdir(parents=True, exist_ok=True)
    speed_photo(256).save(folder / "photo256.png")
    speed_photo(512).save(folder / "photo512.png")
    mask = np.zeros((512, 512, 4), np.uint8)
    mask[160:352, 200:312] = 255
    Image.fromarray(mask, "RGBA").save(folder / "mask512.png")
    digit = Image.new("L", (200, 200), 255)
    digit.paste(0, (90, 30, 112, 170))
    digit.save(folder / "digit.png")
    return {name: str(folder / f"{name}.png") for name in ("photo256", "photo512", "mask512", "digit")}


def request_args(endpoint: str, seed: int, files: dict) -> tuple:
    """The arguments of one realistic request (what the tab sends with its defaults, a new seed each time)."""
    from gradio_client import handle_file
    if endpoint == "/generate":
        return ("Conditional GAN", "Fashion-MNIST", "(one of each)", seed, 64, 0, 1, 20, 2.0, "Euler")
    if endpoint == "/interpolate":
        return ("Conditional GAN", "Fashion-MNIST", seed, seed + 1, "Sneaker", "Ankle boot", 16, "Spherical")
    if endpoint == "/manifold":
        return ("MNIST", 20)
    if endpoint == "/compare":
        return ("MNIST", seed)
    if endpoint == "/step_through":
        return ("Flow matching", "MNIST", "3", seed, 20, 2.0, "Euler")
    if endpoint == "/likelihood":
        return ("MNIST", None, handle_file(files["digit"]))
    if endpoint == "/upscale":
        return (handle_file(files["photo256"]), "x4", "Fast (small network)", False)
    if endpoint == "/inpaint":
        value = {"background": handle_file(files["photo512"]), "layers": [handle_file(files["mask512"])],
                 "composite": None, "id": None}
        return (value, "Photo: texture", seed)
    if endpoint == "/stylize":
        return (handle_file(files["photo256"]), "The Starry Night (Vincent van Gogh, 1889)", "(none)", 0.5, 1, False)
    raise ValueError(f"No request for {endpoint}.")


def call(client, endpoint: str, seed: int, files: dict, timeout: float) -> dict:
    """One request: its wall time, outcome ("ok", "busy" for a full queue, "message" for a gr.Error, "failure") and
    the highest queue position the client was shown while it waited."""
    from gradio_client.exceptions import AppError
    start = time.perf_counter()
    rank = 0
    try:
        job = client.submit(*request_args(endpoint, seed, files), api_name=endpoint)
        while not job.done():
            status = job.status()
            if status.rank is not None:  # 0: next in line
                rank = max(rank, status.rank + 1)
            if time.perf_counter() - start > timeout:
                job.cancel()
                raise TimeoutError(f"no answer in {timeout:.0f} s")
            time.sleep(0.01)  # the status is the client's own copy: polling it costs the server nothing
        job.result()
        outcome, detail = "ok", ""
    except AppError as error:
        text = str(error)
        outcome, detail = ("busy" if "busy" in text.lower() or "queue is full" in text.lower() else "message"), text
    except Exception as error:  # noqa: BLE001 - the bench counts whatever went wrong
        text = f"{type(error).__name__}: {error}"
        outcome, detail = ("busy" if "queue is full" in text.lower() else "failure"), text
    return {"endpoint": endpoint, "seconds": time.perf_counter() - start, "outcome": outcome,
            "detail": detail[:200], "rank": rank}


class Server:
    """`python app.py` in a subprocess on a free local port, with its own temp folder."""

    def __init__(self, checkpoints=None, keep_minutes=None, extra_args=()):
        self.temp = Path(tempfile.mkdtemp(prefix="genimg-load-"))
        self.port = free_port()
        env = dict(os.environ, GRADIO_TEMP_DIR=str(self.temp / "gradio"), TMPDIR=str(self.temp),
                   GRADIO_ANALYTICS_ENABLED="False")
        command = [sys.executable, str(ROOT / "app.py"), "--port", str(self.port), "--no-mcp", "--no-vgg-download",
                   *extra_args]
        if checkpoints:
            command += ["--checkpoints", str(checkpoints)]
        if keep_minutes is not None:
            command += ["--keep-minutes", str(keep_minutes)]
        self.log = open(self.temp / "server.log", "w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"app.py exited; see {self.temp / 'server.log'}") from None
                time.sleep(0.2)
        raise RuntimeError("the app did not answer within 180 s")

    def memory_mb(self) -> tuple[float, float]:
        """(resident now, peak resident) of the server process, in MB (Linux /proc)."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def disk_mb(self) -> float:
        total = 0
        for path in self.temp.rglob("*"):
            try:
                if path.is_file() and path.name != "server.log":
                    total += path.stat().st_size
            except OSError:
                pass
        return total / 1e6

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.temp, ignore_errors=True)


def percentile(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def alone_medians(client, files, repeats: int, timeout: float) -> dict:
    medians = {}
    for endpoint in MIX:
        call(client, endpoint, 0, files, timeout)  # warm-up: loads the model
        medians[endpoint] = statistics.median(call(client, endpoint, seed, files, timeout)["seconds"]
                                              for seed in range(1, repeats + 1))
    return medians


def run_users(url, files, users: int, requests: int, think: tuple, timeout: float, seed: int = 0) -> list:
    from gradio_client import Client
    rng = random.Random(seed)
    plans = [[rng.choices(list(MIX), weights=list(MIX.values()))[0] for _ in range(requests)] for _ in range(users)]
    pauses = [[rng.uniform(*think) for _ in range(requests)] for _ in range(users)]
    results, lock = [], threading.Lock()

    def user(index):
        client = Client(url, verbose=False, download_files=False)
        time.sleep(index * 0.1)  # people arrive over a couple of seconds, not in the same millisecond
        for k, endpoint in enumerate(plans[index]):
            record = call(client, endpoint, 1000 * index + k, files, timeout)
            with lock:
                results.append(record)
            time.sleep(pauses[index][k])
        client.close()

    with ThreadPoolExecutor(users) as pool:
        list(pool.map(user, range(users)))
    return results


def burst(url, files, count: int, timeout: float) -> list:
    from gradio_client import Client
    endpoints = [list(MIX)[i % len(MIX)] for i in range(count)]
    client = Client(url, verbose=False, download_files=False)
    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(lambda ie: call(client, ie[1], ie[0], files, timeout), enumerate(endpoints)))
    client.close()
    return results


def soak(server, url, files, total: int, users: int, timeout: float) -> list:
    """`total` requests from `users` users without pauses; (requests done, disk MB, RSS MB) sampled every 50."""
    from gradio_client import Client
    counter, samples, lock = [0], [], threading.Lock()
    endpoints = list(MIX)

    def user(index):
        client = Client(url, verbose=False, download_files=False)
        while True:
            with lock:
                if counter[0] >= total:
                    break
                k = counter[0]
                counter[0] += 1
            call(client, endpoints[k % len(endpoints)], k, files, timeout)
            if k % 50 == 0:
                rss, _ = server.memory_mb()
                with lock:
                    samples.append((k, round(server.disk_mb(), 1), round(rss)))
        client.close()

    with ThreadPoolExecutor(users) as pool:
        list(pool.map(user, range(users)))
    rss, _ = server.memory_mb()
    samples.append((total, round(server.disk_mb(), 1), round(rss)))
    return sorted(samples)


def table(results: list, medians: dict) -> list:
    rows = []
    for endpoint in MIX:
        done = [r for r in results if r["endpoint"] == endpoint]
        ok = [r["seconds"] for r in done if r["outcome"] == "ok"]
        p95 = percentile(ok, 95)
        rows.append({"endpoint": endpoint, "kind": "light" if endpoint in LIGHT else "heavy",
                     "alone_s": round(medians[endpoint], 3), "requests": len(done),
                     "p50_s": round(percentile(ok, 50), 2), "p95_s": round(p95, 2),
                     "p95_over_alone": round(p95 / medians[endpoint], 1),
                     "failures": sum(r["outcome"] == "failure" for r in done),
                     "busy": sum(r["outcome"] == "busy" for r in done),
                     "max_queue_position": max((r["rank"] for r in done), default=0)})
    return rows


def print_table(rows: list) -> None:
    print(f"{'endpoint':14} {'kind':5} {'alone s':>8} {'n':>4} {'p50 s':>7} {'p95 s':>7} {'p95/alone':>9} "
          f"{'fail':>4} {'busy':>4} {'max pos':>7}")
    for r in rows:
        print(f"{r['endpoint']:14} {r['kind']:5} {r['alone_s']:8.3f} {r['requests']:4d} {r['p50_s']:7.2f} "
              f"{r['p95_s']:7.2f} {r['p95_over_alone']:9.1f} {r['failures']:4d} {r['busy']:4d} "
              f"{r['max_queue_position']:7d}")


def load(users=20, requests=10, burst_size=45, soak_requests=0, soak_users=8, think=(1.0, 3.0), repeats=5,
         timeout=180.0, checkpoints=None, keep_minutes=None, json_path=None) -> dict:
    if not (1 <= users <= MAX_USERS and 1 <= requests <= MAX_REQUESTS and 0 <= burst_size <= MAX_BURST
            and 0 <= soak_requests <= MAX_SOAK):
        raise SystemExit(f"error: at most {MAX_USERS} users x {MAX_REQUESTS} requests, a burst of {MAX_BURST} and a "
                         f"soak of {MAX_SOAK} (this bench only loads a server on this machine).")
    from gradio_client import Client
    server = Server(checkpoints, keep_minutes)
    report = {"users": users, "requests_per_user": requests, "think_s": list(think), "keep_minutes": keep_minutes,
              "command": "python -m genimg.bench " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["load"] else None}
    try:
        files = inputs(Path(tempfile.mkdtemp(prefix="genimg-load-inputs-")))
        client = Client(server.url, verbose=False, download_files=False)
        print(f"server {server.url} (pid {server.process.pid}); timing each endpoint alone ({repeats} runs)...")
        medians = alone_medians(client, files, repeats, timeout)
        client.close()
        print(f"{users} users x {requests} requests, {think[0]:g}-{think[1]:g} s between a user's requests...")
        start = time.perf_counter()
        results = run_users(server.url, files, users, requests, think, timeout)
        report["load_wall_s"] = round(time.perf_counter() - start, 1)
        report["table"] = table(results, medians)
        print_table(report["table"])
        failures = [r for r in results if r["outcome"] in ("failure", "message")]
        for r in failures[:10]:
            print(f"  {r['endpoint']}: {r['outcome']}: {r['detail']}")
        if burst_size:
            answers = burst(server.url, files, burst_size, timeout)
            counts = {k: sum(r["outcome"] == k for r in answers) for k in ("ok", "busy", "message", "failure")}
            report["burst"] = {"size": burst_size, **counts,
                               "busy_message": next((r["detail"] for r in answers if r["outcome"] == "busy"), None),
                               "failures": [r["detail"] for r in answers if r["outcome"] == "failure"][:5]}
            print(f"burst of {burst_size}: {counts['ok']} answered, {counts['busy']} told the queue is full, "
                  f"{counts['message']} other messages, {counts['failure']} failures")
            if report["burst"]["busy_message"]:
                print(f"  busy answer: {report['burst']['busy_message']}")
            for detail in report["burst"]["failures"]:
                print(f"  failure: {detail}")
        if soak_requests:
            print(f"soak: {soak_requests} requests from {soak_users} users...")
            report["soak"] = soak(server, server.url, files, soak_requests, soak_users, timeout)
            report["soak_users"] = soak_users
            print("requests  disk MB  RSS MB")
            for k, disk, rss in report["soak"]:
                print(f"{k:8d} {disk:8.1f} {rss:7d}")
        rss, peak = server.memory_mb()
        report.update(rss_mb=round(rss), peak_rss_mb=round(peak), disk_mb=round(server.disk_mb(), 1))
        print(f"server memory now {rss:.0f} MB, peak {peak:.0f} MB; disk in its temp folder {report['disk_mb']} MB")
    finally:
        server.stop()
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=1))
    return report
