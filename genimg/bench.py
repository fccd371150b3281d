"""Benchmarks: `python -m genimg.bench quality` and `python -m genimg.bench speed`.

quality: Fréchet distance in each dataset's classifier feature space on 10,000 samples, printed
         beside two references computed the same way (real train vs real test: the floor; real test
         images blurred with a 3x3 box filter: a mild, visible degradation), the conditional GAN's
         class agreement, and the share of samples that nearly copy a training image.
speed:   median latency of each app function on this machine, and the app's start-up time.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import torch

from . import api, checkpoints, data as datasets, metrics

GENERATOR_FAMILIES = ("dcgan", "cgan", "vae", "vae2d")
# A sample "nearly copies" a training image when its RMS pixel distance to it is under this
# (0..1 scale; about 10 grey levels): far closer than two different drawings of the same class.
COPY_THRESHOLD = 0.04


@torch.no_grad()
def sample_images(model, n, seed=0, batch=1000):
    """n samples (and, for a conditional model, the labels asked for: an equal share of each class)."""
    z = api.latents(model, n, seed)
    labels = torch.arange(n) % len(model.classes) if model.conditional else None
    images = torch.cat([api.decode(model, z[i:i + batch], None if labels is None else labels[i:i + batch])
                        for i in range(0, n, batch)])
    return images, labels


def quality(n=10_000, data=None, update_cards=False, out=None):
    results = {}
    for dataset in datasets.DATASETS:
        try:
            classifier = api.find("classifier", dataset)
        except ValueError as error:
            print(f"{dataset}: skipped ({error})")
            continue
        real = datasets.load(dataset, data)
        test = datasets.to_float(real.test_images[:n])
        g = torch.Generator().manual_seed(0)
        train = datasets.to_float(real.train_images[torch.randperm(len(real.train_images), generator=g)[:n]])
        clf = classifier.module
        test_features = metrics.features(clf, test)
        accuracy = float((metrics.predictions(clf, datasets.to_float(real.test_images)) == real.test_labels).float().mean())
        floor = metrics.frechet_distance(metrics.features(clf, train), test_features)
        blurred = metrics.frechet_distance(metrics.features(clf, metrics.box_blur(test)), test_features)
        train_all = datasets.to_float(real.train_images)
        copies_real = float((metrics.nearest_distances(test[:2000], train_all) < COPY_THRESHOLD).float().mean())
        rows = {"classifier_test_accuracy": round(accuracy, 4), "fd_floor_train_vs_test": round(floor, 3),
                "fd_blurred_test": round(blurred, 3), "copy_share_real_test": round(copies_real, 4), "models": {}}
        print(f"\n{dataset}: classifier test accuracy {accuracy:.2%}; {n:,} samples per model")
        print(f"  {'':<24}{'FD':>9}{'x floor':>9}  {'class agreement':>16}  {'near-copies':>11}")
        print(f"  {'real train (floor)':<24}{floor:>9.3f}{1:>9.1f}  {accuracy:>15.2%}   {copies_real:>10.2%}")
        print(f"  {'real test, 3x3 blur':<24}{blurred:>9.3f}{blurred / floor:>9.1f}")
        for family in GENERATOR_FAMILIES:
            try:
                model = api.find(family, dataset)
            except ValueError as error:
                print(f"  {family}: unavailable ({error})")
                continue
            images, labels = sample_images(model, n)
            fd = metrics.frechet_distance(metrics.features(clf, images), test_features)
            row = {"fd": round(fd, 3), "fd_ratio_to_floor": round(fd / floor, 2),
                   "fd_ratio_to_blurred": round(fd / blurred, 3),
                   "copy_share": round(float((metrics.nearest_distances(images[:2000], train_all) < COPY_THRESHOLD)
                                             .float().mean()), 4)}
            agreement = ""
            if labels is not None:
                row["class_agreement"] = round(float((metrics.predictions(clf, images) == labels).float().mean()), 4)
                agreement = f"{row['class_agreement']:.2%}"
            print(f"  {model.name:<24}{fd:>9.3f}{fd / floor:>9.1f}  {agreement:>16}  {row['copy_share']:>10.2%}")
            rows["models"][model.name] = row
            if update_cards:
                card = checkpoints.read_card(api.checkpoint_dir(), model.name)
                card["metrics"]["quality"] = {**row, "n_samples": n, "fd_floor_train_vs_test": rows["fd_floor_train_vs_test"],
                                              "fd_blurred_test": rows["fd_blurred_test"],
                                              "command": "python -m genimg.bench quality --update-cards"}
                checkpoints.write_json(api.checkpoint_dir() / f"{model.name}.json", card)
        if update_cards:
            card = checkpoints.read_card(api.checkpoint_dir(), classifier.name)
            card["metrics"]["test_accuracy"] = rows["classifier_test_accuracy"]
            checkpoints.write_json(api.checkpoint_dir() / f"{classifier.name}.json", card)
        results[dataset] = rows
    print(f"\nFD: Fréchet distance in the classifier's 128-D feature space (lower is better); 'x floor' divides by "
          f"the train-vs-test distance.\nnear-copies: share of samples within RMS {COPY_THRESHOLD} of a training image "
          f"(for 'real train' row: real test images).")
    if out:
        Path(out).write_text(json.dumps(results, indent=2))
    return results


# ----------------------------------------------------------------------------------------------


def median_ms(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def app_startup_seconds(checkpoint_dir):
    """Seconds from `python app.py` to the first successful HTTP answer."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parent.parent
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(root / "app.py"), "--port", str(port),
                                "--checkpoints", str(checkpoint_dir)], cwd=root,
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


def speed(repeats=20):
    from .ui import generate as generate_tab, interpolate as interpolate_tab  # the app's own functions

    print(f"torch threads: {torch.get_num_threads()}; median of {repeats} runs after one warm-up")
    cases = {
        "api.generate: 64 samples (cgan-fashion-mnist)": lambda: api.generate("cgan-fashion-mnist", n=64, seed=1),
        "api.generate: 64 samples (vae-mnist)": lambda: api.generate("vae-mnist", n=64, seed=1),
        "app /generate: 64 samples + labels + grid PNG": lambda: generate_tab.generate_grid(
            "Conditional GAN", "Fashion-MNIST", "(one of each)", 1, 64, 0, 1),
        "app /interpolate: 16 frames + strip + GIF": lambda: interpolate_tab.interpolate_frames(
            "Conditional GAN", "MNIST", 1, 2, "3", "8", 16, "Spherical"),
        "app /manifold: 20x20 map": lambda: generate_tab.manifold_map("MNIST", 20),
    }
    results = {}
    for label, fn in cases.items():
        results[label] = median_ms(fn, repeats)
        print(f"  {label:<50} {results[label]:8.1f} ms")
    startups = [app_startup_seconds(api.checkpoint_dir()) for _ in range(3)]
    results["app start-up (s)"] = statistics.median(startups)
    print(f"  {'app start-up: python app.py to first HTTP answer':<50} {results['app start-up (s)']:8.2f} s (median of 3)")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m genimg.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality", help="Fréchet distances, class agreement, near-copies")
    q.add_argument("--n", type=int, default=10_000, help="samples per model (default 10000)")
    q.add_argument("--data", help="dataset folder (as train.py --data)")
    q.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint cards")
    q.add_argument("--json", help="also write the results to this JSON file")
    s = sub.add_parser("speed", help="latency of the app functions and app start-up")
    s.add_argument("--repeats", type=int, default=20)
    for p in (q, s):
        p.add_argument("--checkpoints", help="checkpoint folder (default: the shipped ones)")
    args = parser.parse_args(argv)
    if args.checkpoints:
        api.set_checkpoint_dir(args.checkpoints)
    if args.command == "quality":
        quality(args.n, args.data, args.update_cards, args.json)
    else:
        speed(args.repeats)


if __name__ == "__main__":
    main()
