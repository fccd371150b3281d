"""The training lab: is a run worth watching, and does the app stay responsive while one trains?

`quality`: for each lab family, runs of each time budget on MNIST (genimg.train_live, as the Train tab runs them),
each scored like the shipped generators: Fréchet distance in the MNIST classifier's features on n samples, beside
the floor (real train vs real test) and the blurred reference; the steps done and the process's peak memory; the
grids side by side in one figure (docs/lab.png).
`responsiveness`: the app in a subprocess; /generate's latency alone, then while a /train run of DCGAN on MNIST
runs, through gradio_client.
"""
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from .. import api, data as datasets, metrics, registry
from .common import write_results
from .generation import references, sample_images

ROOT = Path(__file__).resolve().parents[2]


def quality(families=None, budgets=(30, 60, 120), n=5000, data=None, out=None, figure=None) -> dict:
    classifier = api.find_kind("classifier", "mnist").module
    _, test_features, floor, blurred = references(classifier, datasets.load("mnist", data), n)
    print(f"MNIST references ({n:,} images): floor (train vs test) FD {floor:.3f}; 3x3 blur {blurred:.3f} "
          f"({blurred / floor:.1f}x floor)")
    results = {"fd_floor_train_vs_test": round(floor, 3), "fd_blurred_test": round(blurred, 3), "n_samples": n,
               "threads": torch.get_num_threads(), "runs": {}}
    grids = {}
    folder = Path(tempfile.mkdtemp(prefix="genimg-lab-bench-"))
    print(f"  {'family':<12}{'budget':>7}{'steps':>7}{'FD':>9}{'x floor':>9}{'x blur':>8}")
    for family in families or list(api.LAB):
        for seconds in budgets:
            *_, last = api.train_live(family, "mnist", seconds=seconds, data_root=data, out=folder / f"{family}-{seconds}")
            model = api.load(str(last.checkpoint))
            images, _ = sample_images(model, n)
            fd = metrics.frechet_distance(metrics.features(classifier, images), test_features)
            row = {"seconds": seconds, "steps": last.step, "steps_per_second": last.steps_per_second,
                   "fd": round(fd, 3), "fd_ratio_to_floor": round(fd / floor, 1),
                   "fd_ratio_to_blurred": round(fd / blurred, 2), "warnings": len(last.warnings)}
            results["runs"].setdefault(family, []).append(row)
            grids[(family, seconds)] = last.grid
            api.forget(str(last.checkpoint))
            print(f"  {family:<12}{seconds:>6}s{last.step:>7}{fd:>9.3f}{fd / floor:>9.1f}{fd / blurred:>8.2f}",
                  flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    results["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(f"peak memory of this process: {results['peak_memory_mb']} MB")
    if figure:
        lab_figure(grids, budgets).save(figure)
        print(f"wrote {figure}")
    if out:
        write_results(out, results)
    return results


def lab_figure(grids: dict, budgets) -> Image.Image:
    """One row per family, one column per time budget: what each run drew last."""
    families = list(dict.fromkeys(family for family, _ in grids))
    tile = max(g.width for g in grids.values())
    label_w, head_h = 110, 24
    sheet = Image.new("RGB", (label_w + len(budgets) * (tile + 8), head_h + len(families) * (tile + 8)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, seconds in enumerate(budgets):
        draw.text((label_w + j * (tile + 8) + tile // 2 - 20, 6), f"after {seconds} s", fill="black")
    for i, family in enumerate(families):
        draw.text((6, head_h + i * (tile + 8) + tile // 2), registry.FAMILIES[family].label, fill="black")
        for j, seconds in enumerate(budgets):
            if (family, seconds) in grids:
                sheet.paste(grids[(family, seconds)].convert("RGB"), (label_w + j * (tile + 8), head_h + i * (tile + 8)))
    return sheet


def responsiveness(data=None, seconds=60, repeats=10, out=None) -> dict:
    """/generate's latency alone and during a DCGAN run in the Train tab (the app in a subprocess)."""
    from gradio_client import Client

    from .load import Server
    server = Server(extra_args=["--data", str(data)] if data else ())
    try:
        client = Client(server.url, verbose=False)
        args = ("Conditional GAN", "Fashion-MNIST", "(one of each)", 0, 64, 0, 1, 20, 2.0, "Euler")

        def timed():
            start = time.perf_counter()
            client.predict(*args, api_name="/generate")
            return time.perf_counter() - start

        timed()  # warm
        alone = [timed() for _ in range(repeats)]
        trainer = Client(server.url, verbose=False)
        job = trainer.submit("dcgan", "MNIST", [], 28, "Automatic", seconds, 5e-4, 64, True, True, "hinge", 0,
                             api_name="/train")
        while not job.outputs() and not job.done():  # the run has started (MNIST loaded) when its first grid comes
            time.sleep(0.2)
        during = []
        while not job.done():
            during.append(timed())
            time.sleep(0.5)
        status = job.result()[0]
    finally:
        server.stop()
    result = {"generate_alone_median_s": round(statistics.median(alone), 3),
              "generate_during_training_median_s": round(statistics.median(during), 3) if during else None,
              "generate_during_training_p95_s": round(sorted(during)[int(0.95 * (len(during) - 1))], 3)
              if during else None, "calls_during": len(during), "train_seconds": seconds,
              "train_status": status.split("\n")[0]}
    print(f"/generate (64 images): alone median {result['generate_alone_median_s']} s; during a {seconds} s DCGAN "
          f"run median {result['generate_during_training_median_s']} s, p95 {result['generate_during_training_p95_s']}"
          f" s ({len(during)} calls); the run: {result['train_status']}")
    if out:
        write_results(out, result)
    return result

