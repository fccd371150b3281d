"""The generators: `quality` (Fréchet distance against two references, class agreement, near-copies) and
`speed` (latency of the app's generation functions and its start-up time).

Fréchet distances are taken in each dataset's classifier feature space on n samples, beside two references
computed the same way: real train vs real test (the floor) and real test images blurred with a 3x3 box filter
(a mild, visible degradation). Class agreement applies to conditional generators."""
import statistics
from pathlib import Path

import torch

from .. import api, checkpoints, data as datasets, metrics, registry
from ..api.generation import decode, latents
from ..imaging import grid, to_pil
from .common import app_startup_seconds, median_ms, speed_photo, write_results

# A sample "nearly copies" a training image when its RMS pixel distance to it is under this
# (0..1 scale; about 10 grey levels): far closer than two different drawings of the same class.
COPY_THRESHOLD = 0.04


@torch.no_grad()
def sample_images(model, n, seed=0, batch=1000, truncation=None):
    """n samples (and, for a conditional model, the labels asked for: an equal share of each class), at the
    family's default temperature, as the app and generate() draw them."""
    z = latents(model, n, seed, truncation)
    if model.record.latent_knob == "temperature":
        z = z * model.record.default_temperature
    labels = torch.arange(n) % len(model.classes) if model.conditional else None
    images = torch.cat([decode(model, z[i:i + batch], None if labels is None else labels[i:i + batch])
                        for i in range(0, n, batch)])
    return images, labels


def references(clf, real, n: int) -> tuple:
    """(test images, their features, the floor FD, the blurred FD) of a data set in classifier `clf`'s features, on
    n images: the floor is n random training images against the test images, the blur a 3x3 box filter."""
    test = datasets.to_float(real.test_images[:n])
    g = torch.Generator().manual_seed(0)
    train = datasets.to_float(real.train_images[torch.randperm(len(real.train_images), generator=g)[:n]])
    test_features = metrics.features(clf, test)
    floor = metrics.frechet_distance(metrics.features(clf, train), test_features)
    blurred = metrics.frechet_distance(metrics.features(clf, metrics.box_blur(test)), test_features)
    return test, test_features, floor, blurred


def quality(n=10_000, data=None, update_cards=False, out=None, only=None, data_sets=None, grids=None):
    """only: checkpoint names to measure (default: every released generator); the references are measured anyway.
    data_sets: the data sets to measure on (default: MNIST, Fashion-MNIST and emoji). The emoji have 760 test
    images: their floor and blur references, and the samples' distance, are taken against those.
    grids: a folder for each measured model's first samples as <name>.png (conditional models: a column per
    class)."""
    results = {}
    command = ("python -m genimg.bench quality --update-cards" + (f" --n {n}" if n != 10_000 else "")
               + (f" --datasets {' '.join(data_sets)}" if data_sets else ""))
    for dataset in data_sets or (*datasets.DATASETS, "emoji"):
        try:
            classifier = api.find_kind("classifier", dataset)
        except ValueError as error:
            print(f"{dataset}: skipped ({error})")
            continue
        real = datasets.load(dataset, data)
        clf = classifier.module
        test, test_features, floor, blurred = references(clf, real, min(n, len(real.test_images)))
        accuracy = float((metrics.predictions(clf, datasets.to_float(real.test_images)) == real.test_labels).float().mean())
        train_all = datasets.to_float(real.train_images)
        copies_real = float((metrics.nearest_distances(test[:2000], train_all) < COPY_THRESHOLD).float().mean())
        rows = {"classifier_test_accuracy": round(accuracy, 4), "fd_floor_train_vs_test": round(floor, 3),
                "fd_blurred_test": round(blurred, 3), "copy_share_real_test": round(copies_real, 4), "models": {}}
        print(f"\n{dataset}: classifier test accuracy {accuracy:.2%}; {n:,} samples per model against {len(test):,} "
              f"test images")
        print(f"  {'':<24}{'FD':>9}{'x floor':>9}  {'class agreement':>38}  {'near-copies':>11}")
        print(f"  {'real train vs test':<24}{floor:>9.3f}{1:>9.1f}  {accuracy:>37.2%}   {copies_real:>10.2%}")
        print(f"  {'real test, 3x3 blur':<24}{blurred:>9.3f}{blurred / floor:>9.1f}")
        for name in registry.releases(*api.GENERATOR_KINDS, dataset=dataset):
            if only and name not in only:
                continue
            try:
                model = api.load(name)
            except ValueError as error:
                print(f"  {name}: unavailable ({error})")
                continue
            images, labels = sample_images(model, n)
            if grids:
                Path(grids).mkdir(parents=True, exist_ok=True)
                columns = len(model.classes) if model.conditional else 10
                grid(to_pil(images[:8 * columns]), columns=columns, scale=2, background=255).save(
                    Path(grids) / f"{model.name}.png")
            fd = metrics.frechet_distance(metrics.features(clf, images), test_features)
            row = {"fd": round(fd, 3), "fd_ratio_to_floor": round(fd / floor, 2),
                   "fd_ratio_to_blurred": round(fd / blurred, 3),
                   "copy_share": round(float((metrics.nearest_distances(images[:2000], train_all) < COPY_THRESHOLD)
                                             .float().mean()), 4)}
            agreement = ""
            if model.conditional:
                row["class_agreement"] = round(float((metrics.predictions(clf, images) == labels).float().mean()), 4)
                agreement = f"{row['class_agreement']:.2%}"
            if model.conditional and model.record.latent_knob == "truncation":
                # The app's truncation control trades variety for typical samples; report what it buys.
                truncated, _ = sample_images(model, n, truncation=1.0)
                row["class_agreement_truncation_1"] = round(
                    float((metrics.predictions(clf, truncated) == labels).float().mean()), 4)
                agreement += f" ({row['class_agreement_truncation_1']:.2%} at truncation 1)"
            print(f"  {model.name:<24}{fd:>9.3f}{fd / floor:>9.1f}  {agreement:>38}  {row['copy_share']:>10.2%}")
            rows["models"][model.name] = row
            if update_cards:
                checkpoints.record_metrics(api.checkpoint_dir(), model.name, "quality", {
                    **row, "n_samples": n, "fd_floor_train_vs_test": rows["fd_floor_train_vs_test"],
                    "fd_blurred_test": rows["fd_blurred_test"],
                    "command": command})
        if update_cards:
            checkpoints.record_metrics(api.checkpoint_dir(), classifier.name, "test_accuracy",
                                       rows["classifier_test_accuracy"])
        results[dataset] = rows
    print(f"\nFD: Fréchet distance in the classifier's 128-D feature space (lower is better); 'x floor' divides by "
          f"the train-vs-test distance (the floor).\nclass agreement: the classifier's label equals the class asked for "
          f"(real test images: its test accuracy, the ceiling).\nnear-copies: share of samples within RMS "
          f"{COPY_THRESHOLD} of a training image (for the first row: of real test images).")
    write_results(out, results)
    return results


def speed(repeats=20, update_cards=False, only=None):
    """Median latency of the API's and the app's generation functions, of each upscaler on a 256x256 photo, and
    the app's start-up time (median of 3). With update_cards, each generator's time for 64 samples at its defaults
    goes into its card (the Compare tab shows it); run it on a quiet machine. only: just these generators' time
    for 64 samples."""
    from ..ui import generate as generate_tab, interpolate as interpolate_tab  # the app's own functions
    from ..ui.common import DATASET_CHOICES, EVERY_CLASS

    shown = {dataset: label for label, dataset in DATASET_CHOICES.items()}  # "mnist" -> "MNIST"
    conditional = registry.families("conditional-generator")[0]
    # An unconditional generator with a temperature knob and no 2-D map: the app's typical VAE.
    plain = next(f for f in registry.families("generator") if f.latent_knob == "temperature" and not f.latent_map)
    conditional_name = registry.release_of(conditional.name, "fashion-mnist")
    plain_name = registry.release_of(plain.name, "mnist")
    print(f"torch threads: {torch.get_num_threads()}; median of {repeats} runs after one warm-up")
    cases = {
        f"api.generate: 64 samples ({conditional_name})": lambda: api.generate(conditional_name, n=64, seed=1),
        f"api.generate: 64 samples ({plain_name})": lambda: api.generate(plain_name, n=64, seed=1),
        "app /generate: 64 samples + labels + grid PNG": lambda: generate_tab.generate_grid(
            conditional.label, shown["fashion-mnist"], EVERY_CLASS, 1, 64, 0, 1),
        "app /interpolate: 16 frames + strip + GIF": lambda: interpolate_tab.interpolate_frames(
            conditional.label, shown["mnist"], 1, 2, "3", "8", 16, "Spherical"),
        "app /manifold: 20x20 map": lambda: generate_tab.manifold_map(shown["mnist"], 20),
    }
    for family in registry.families(*api.GENERATOR_KINDS):
        if family.ode_sampler:
            name = registry.release_of(family.name, "mnist")
            cases[f"api.generate: 64 samples ({name}, 20 Euler steps, guidance 2)"] = lambda name=name: api.generate(
                name, n=64, seed=1, steps=20, guidance=2.0)
            cases[f"api.generate: 64 samples ({name}, 20 Euler steps, guidance 1)"] = lambda name=name: api.generate(
                name, n=64, seed=1, steps=20, guidance=1.0)
    photo = speed_photo()
    for name in api.upscaler_names().values():
        try:
            api.upscaler(name)
        except ValueError:
            continue
        cases[f"api.upscale: 256x256 -> x4 ({name})"] = lambda name=name: api.upscale(photo, 4, name)
    results = {}
    for label, fn in ({} if only else cases).items():
        results[label] = median_ms(fn, repeats)
        print(f"  {label:<50} {results[label]:8.1f} ms")
    for name in registry.releases(*api.GENERATOR_KINDS):
        if only and name not in only:
            continue
        try:
            model = api.load(name)
        except ValueError:
            continue
        ms = round(median_ms(lambda: api.generate(model, n=64, seed=1), repeats), 1)
        results[f"api.generate: 64 samples at the defaults ({name})"] = ms
        print(f"  {'api.generate: 64 samples, defaults (' + name + ')':<50} {ms:8.1f} ms")
        if update_cards:
            checkpoints.record_metrics(api.checkpoint_dir(), name, "sample_64_ms", {
                "ms": ms, "threads": torch.get_num_threads(), "repeats": repeats,
                "command": "python -m genimg.bench speed --update-cards" + (f" --models {name}" if only else "")})
    if only:
        return results
    startups = [app_startup_seconds(api.checkpoint_dir()) for _ in range(3)]
    results["app start-up (s)"] = statistics.median(startups)
    print(f"  {'app start-up: python app.py to first HTTP answer':<50} {results['app start-up (s)']:8.2f} s (median of 3)")
    return results
