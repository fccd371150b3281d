"""The one training loop every family shares, and the pieces its trainers share.

`train()` is the entry point; train.py is a thin command line over it. A family's trainer (a family.Trainer,
in the family's room) brings the data, the modules and one step; the loop does the rest: resume, the progress
bar, fixed-seed sample grids, loss plots, collapse warnings, DDP, and the atomic checkpoint and card. Each step
re-seeds the random generators from (seed, step, rank), so a run is deterministic for a seed on a given
device, and a run resumed from a saved state continues exactly as if it had never stopped.
"""
import json
import math
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors import safe_open
from torch.nn.parallel import DistributedDataParallel

from . import __version__, checkpoints, hardware, imaging
from . import data as datasets
from . import vgg as vgg_lib
from .family import checkpoint_name

DRY_RUN = dict(steps=6, batch_size=16, sample_every=3, save_every=3)
SAMPLE_SEED = 1234  # the fixed noise behind every progress grid
COLLAPSE_CHECK_AFTER = 1000  # steps: before this the EMA generator is still close to its (blurry) start


# ----------------------------------------------------------------------------------------------
# Small pieces: devices, distributed set-up, seeding, data batches, progress


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but no CUDA GPU is available; use --device cpu.")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if device != "cpu":
        raise ValueError(f"--device must be auto, cpu or cuda, not {device!r}.")
    return torch.device("cpu")


def init_distributed(device: torch.device) -> tuple[int, int]:
    """(rank, world size); under torchrun, joins the process group (NCCL on GPUs, gloo on CPUs)."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world == 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return dist.get_rank(), world


def seed_everything(seed: int, step: int, rank: int) -> None:
    torch.manual_seed((seed * 1_000_003 + step) * 64 + rank)


def synthetic_dataset(n_train: int = 256, n_test: int = 64) -> datasets.Dataset:
    """A tiny labelled dataset made on the spot for --dry-run and tests: class k is a bar at angle k*18 degrees."""
    rng = np.random.default_rng(0)
    coords = np.stack(np.meshgrid(np.arange(28) - 13.5, np.arange(28) - 13.5, indexing="xy"))

    def make(n):
        labels = rng.integers(0, 10, n)
        angles = labels * np.pi / 10 + rng.normal(0, 0.05, n)
        normals = np.stack([-np.sin(angles), np.cos(angles)], 1)
        distance = np.abs(np.einsum("nc,chw->nhw", normals, coords))
        images = np.clip(255 * (2.5 - distance), 0, 255) * (np.hypot(*coords) < 12)
        return torch.from_numpy(images.astype(np.uint8)), torch.from_numpy(labels)

    (xtr, ytr), (xte, yte) = make(n_train), make(n_test)
    return datasets.Dataset("synthetic", [f"bar {k * 18} deg" for k in range(10)], xtr, ytr, xte, yte, "synthetic")


def synthetic_colour(side: int, n_train: int = 64, n_test: int = 16) -> datasets.Dataset:
    """Coloured discs (even categories) and squares (odd ones) on white, labelled by the emoji categories, for
    dry runs and tests."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:side, :side] - side / 2 + 0.5

    def make(n):
        labels = rng.integers(0, len(datasets.EMOJI_CATEGORIES), n)
        images = np.full((n, side, side, 3), 255, np.uint8)
        for i, label in enumerate(labels):
            r = side * rng.uniform(0.25, 0.45)
            inside = np.hypot(xx, yy) < r if label % 2 == 0 else np.maximum(abs(xx), abs(yy)) < r
            images[i][inside] = rng.integers(0, 255, 3)
        return torch.from_numpy(images), torch.from_numpy(labels)

    (xtr, ytr), (xte, yte) = make(n_train), make(n_test)
    return datasets.Dataset("synthetic", list(datasets.EMOJI_CATEGORIES), xtr, ytr, xte, yte, "synthetic")


class Batches:
    """Epochs of shuffled indices; batch i of an epoch is a pure function of (seed, step), so resume is exact."""

    def __init__(self, images, labels, batch_size, seed, rank, world, augment=None):
        self.images, self.labels = images, labels
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self.per_epoch = max(1, len(images) // (batch_size * world))
        self.augment = augment
        self._epoch, self._order = None, None

    def __call__(self, step):
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            self._epoch = epoch
            self._order = torch.randperm(len(self.images), generator=torch.Generator().manual_seed(self.seed * 7919 + epoch))
        start = (i * self.world + self.rank) * self.batch_size
        index = self._order[start:start + self.batch_size]
        x = datasets.to_float(self.images[index])
        if self.augment:
            x = self.augment(x)
        return x, self.labels[index]


class Progress:
    """A one-line progress bar with the losses, speed and time left (a plain log line when not on a terminal)."""

    def __init__(self, total, start, enabled=True):
        self.total, self.start_step, self.enabled = total, start, enabled
        self.t0 = self.last = time.time()
        self.tty = sys.stderr.isatty()

    def update(self, step, losses, force=False):
        now = time.time()
        if not self.enabled or (not force and now - self.last < (0.5 if self.tty else 30)):
            return
        self.last = now
        done = step - self.start_step
        rate = done / max(now - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else 0
        bar = "#" * int(30 * step / self.total)
        text = (f"[{bar:<30}] {step}/{self.total} " + " ".join(f"{k} {v:.3f}" for k, v in losses.items()) +
                f" | {rate:.1f} it/s | {eta / 60:.1f} min left")
        print(("\r" + text) if self.tty else text, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def close(self):
        if self.enabled and self.tty:
            print(file=sys.stderr)


def warn(message: str, history: dict, step: int) -> None:
    print(f"\nWARNING (step {step}): {message}", file=sys.stderr, flush=True)
    history.setdefault("warnings", []).append([step, message])


# ----------------------------------------------------------------------------------------------
# Optimiser state in safetensors (no pickles even for the resume state)


def optimizer_tensors(prefix: str, optimizer) -> tuple[dict, list]:
    state = optimizer.state_dict()
    tensors = {f"{prefix}.{index}.{key}": value for index, entry in state["state"].items()
               for key, value in entry.items() if torch.is_tensor(value)}
    return tensors, state["param_groups"]


def restore_optimizer(prefix: str, optimizer, tensors: dict, param_groups: list) -> None:
    state = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": param_groups})


# ----------------------------------------------------------------------------------------------
# Shared by the trainers


def unwrap(module):
    return module.module if isinstance(module, DistributedDataParallel) else module


def network_shape(data_set, family=None) -> dict:
    """The network options a data set decides: channels and side from its images (grey (N, H, W) or colour
    (N, H, W, 3)), and, for a family that takes classes, how many it has."""
    shape = data_set.train_images.shape
    shaped = {"channels": 3 if len(shape) == 4 else 1, "side": shape[1]}
    if family is not None and family.full_config().get("num_classes") and data_set.classes:
        shaped["num_classes"] = len(data_set.classes)
    return shaped


def digit_batches(recipe, family, dataset, data, dry_run, seed, rank, world, augment=None):
    """The data set (MNIST, Fashion-MNIST, emoji; for --dry-run synthetic bars, or coloured shapes for emoji) and
    its shuffled batches."""
    if dry_run:
        data_set = synthetic_colour(32) if dataset == "emoji" else synthetic_dataset()
    else:
        data_set = datasets.load(dataset, data)
    return data_set, Batches(data_set.train_images, data_set.train_labels, recipe["batch_size"], seed, rank, world,
                             augment=augment)


def centre_crop(image: np.ndarray, side: int) -> np.ndarray:
    """The side x side square at the centre of an (H, W, ...) array."""
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    return image[top:top + side, left:left + side]


def loss_vgg(spec, device):
    """The frozen VGG16 of the perceptual and style losses: --vgg-weights, $GENIMG_VGG_WEIGHTS or torchvision's
    download. A dry run (tests, CI) never downloads 500 MB: without weights it gets a fixed random VGG, which
    exercises the same code; weights that were asked for must be there, dry run or not."""
    try:
        return vgg_lib.load_vgg(spec.get("vgg_weights"), download=not spec.get("dry_run")).to(device)
    except vgg_lib.VGGUnavailable:
        if not spec.get("dry_run") or spec.get("vgg_weights") or os.environ.get(vgg_lib.ENV_VAR):
            raise
        vgg = vgg_lib.VGGFeatures().to(device)
        vgg.source = "random weights (--dry-run without VGG weights): not a usable model"
        return vgg


def learning_rate(trainer, step, total):
    """A short warm-up, then cosine decay to zero; constant for trainers that ask for it (GANs: the EMA smooths) and
    for runs whose length is a time, not a number of steps (the training lab's)."""
    lr = trainer.recipe["lr"]
    if trainer.recipe.get("constant_lr", trainer.constant_lr):
        return lr
    warmup = max(1, total // 20)
    if step < warmup:
        return lr * (step + 1) / warmup
    return lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


# ----------------------------------------------------------------------------------------------
# The loop


def run_steps(trainer, batches, start: int, total: int, seed: int, rank: int, autocast, history: dict,
              log_every: int):
    """Steps start .. total-1 of a run, one at a time: the learning rate, the batch (a pure function of the step),
    the trainer's step; every log_every steps the mean losses go into history, with the warning when a GAN's
    discriminator wins outright. Yields (steps done, this step's losses). train() and the training lab
    (genimg.train_live) both run their steps here, and stop by no longer asking."""
    window = {}
    collapse_after = trainer.recipe.get("collapse_check_after", COLLAPSE_CHECK_AFTER)
    for step in range(start, total):
        seed_everything(seed, step, rank)
        lr = learning_rate(trainer, step, total)
        for optimizer in trainer.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
        x, labels = batches(step)
        trainer.current_step = step
        losses = trainer.step(x, labels, autocast)
        for k, v in losses.items():
            window.setdefault(k, []).append(v)
        done = step + 1
        if done % log_every == 0 or done == total:
            for k, values in window.items():
                history.setdefault(k, []).append([done, float(np.mean(values))])
            if trainer.watch_collapse and done >= collapse_after and np.mean(window["loss_d"]) < 0.05:
                warn("discriminator loss has fallen to about 0: it wins outright and the generator gets no "
                     "useful gradient. Training has likely collapsed; resume from an earlier state or lower the lr.",
                     history, done)
            window = {}
        yield done, losses


def progress_samples(trainer, history: dict, real_diversity: float | None, done: int):
    """The fixed-seed progress images (on the CPU, in [0, 1]) or None; for GANs their diversity against the real
    data's goes into history, with the mode-collapse warning when it falls below half."""
    images = trainer.samples()
    if images is None:
        return None
    images = images.float().cpu()
    if real_diversity is not None:
        ratio = diversity(images * 2 - 1) / real_diversity
        history.setdefault("diversity", []).append([done, ratio])
        if done >= trainer.recipe.get("collapse_check_after", COLLAPSE_CHECK_AFTER) and ratio < 0.5:
            warn(f"sample diversity fell to {ratio:.2f} of the real data's: the generator is collapsing "
                 f"onto a few outputs (mode collapse).", history, done)
    return images


def loss_curves(history: dict) -> dict:
    """The logged losses of a run's history (not its warnings, diversity or validation scores)."""
    return {k: v for k, v in history.items() if k not in ("warnings", "diversity") and not k.startswith("val_")}


def diversity(images: torch.Tensor) -> float:
    """Mean pairwise distance between images: falls toward zero when a generator collapses."""
    flat = images.flatten(1).float()
    return torch.pdist(flat).mean().item()


def save_state(path, trainer, step, history, elapsed, meta):
    tensors, groups = {}, {}
    for name, module in trainer.modules.items():
        tensors.update({f"{name}.{k}": v for k, v in unwrap(module).state_dict().items()})
    for name, optimizer in trainer.optimizers.items():
        opt_tensors, groups[name] = optimizer_tensors(name, optimizer)
        tensors.update(opt_tensors)
    info = dict(meta, step=step, history=history, elapsed=elapsed, param_groups=groups)
    checkpoints.save_tensors(path, tensors, metadata={"genimg_state": json.dumps(info)})


def load_state(path, trainer, meta):
    with safe_open(str(path), "pt") as f:
        info = json.loads(f.metadata()["genimg_state"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for key in ("model", "dataset", "seed"):
        if info[key] != meta[key]:
            raise ValueError(f"{path} was saved by a run with {key}={info[key]!r}, not {meta[key]!r}; "
                             f"use another --run-dir or drop --resume.")
    for name, module in trainer.modules.items():
        prefix = name + "."
        unwrap(module).load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    for name, optimizer in trainer.optimizers.items():
        restore_optimizer(name, optimizer, tensors, info["param_groups"][name])
    return info["step"], info["history"], info["elapsed"]


def resolve_recipe(recipe_name: str, dataset: str, out, vgg_weights, dry_run: bool) -> dict:
    """The recipe as this run uses it: a knob given per dataset (a dict) resolved to the one number the card
    records (the network's `config` is a dict of its own, the same for every dataset)."""
    from .registry import RECIPES  # here, not at the top: the family rooms the registry imports import this module
    if recipe_name not in RECIPES:
        raise ValueError(f"Unknown model {recipe_name!r}; train.py can train: {', '.join(RECIPES)}.")
    recipe = {k: (v.get(dataset, v.get("fashion-mnist")) if isinstance(v, dict) and k != "config" else v)
              for k, v in RECIPES[recipe_name].items()}
    if recipe.get("dataset", dataset) != dataset:
        raise ValueError(f"{recipe_name} trains on {recipe['dataset']}, not {dataset}; "
                         f"use --dataset {recipe['dataset']}.")
    recipe["dataset"] = dataset
    if recipe.get("grow_from"):  # a stage reads the checkpoint it starts from in the folder it writes to
        recipe["grow_from_dir"] = str(out)
    if vgg_weights:  # only the families with a perceptual or style loss read it
        recipe["vgg_weights"] = str(vgg_weights)
    if dry_run:
        recipe.update(batch_size=DRY_RUN["batch_size"], dry_run=True)
    return recipe


def stage_record(name: str, card: dict) -> dict:
    """One line of a card's "stages": how a checkpoint in a chain of training stages was made."""
    record = {"checkpoint": name, "command": card.get("command"), "steps": card.get("steps"),
              "wall_time_s": card.get("wall_time_s"), "device": card.get("device"), "sha256": card.get("sha256")}
    return {k: v for k, v in record.items() if v is not None}


def start_from(recipe: dict, family, dry_run_config: dict | None):
    """The trained checkpoint a stage starts from (recipe["grow_from"] in the output folder) as a module, and the
    card's record of it, with the stages that made it; a dry run gets an untrained network of `dry_run_config`
    and needs no file."""
    if recipe.get("dry_run"):
        return family.build(dry_run_config), {"name": "untrained (--dry-run)"}
    name = checkpoint_name(recipe["grow_from"], recipe["dataset"])
    try:
        state, card = checkpoints.load(recipe["grow_from_dir"], name)
    except checkpoints.CheckpointError as error:
        raise ValueError(f"This stage starts from the {name} checkpoint, which is not usable ({error}); "
                         f"train it first: python train.py {recipe['grow_from']} --dataset {recipe['dataset']} "
                         f"--data PATH") from error
    base = checkpoints.load_into(family.build(card["config"]), state, name)
    origin = {"name": name, "sha256": card.get("sha256"), "config": card["config"], "steps": card["steps"],
              "command": card.get("command"), "wall_time_s": card.get("wall_time_s"),
              "benchmark": card.get("metrics", {}).get("benchmark"),
              "stages": card.get("stages") or [stage_record(name, card)]}
    return base, origin


def train(model: str, dataset: str, steps: int | None = None, epochs: float | None = None, device: str = "auto",
          out: str | Path = checkpoints.DEFAULT_DIR, run_dir: str | Path | None = None, resume: bool = False,
          seed: int = 0, data: str | None = None, dry_run: bool = False, sample_every: int = 500,
          save_every: int = 500, log_every: int = 50, command: str = "", quiet: bool = False,
          vgg_weights: str | None = None) -> dict:
    """Train one recipe (`model`) on one dataset; write the run folder (state, grids, loss curve) and the
    checkpoint <model>-<dataset> with its card."""
    from .registry import FAMILIES  # (see resolve_recipe)
    recipe = resolve_recipe(model, dataset, out, vgg_weights, dry_run)
    if dry_run:
        steps = steps or DRY_RUN["steps"]
        sample_every, save_every, log_every = DRY_RUN["sample_every"], DRY_RUN["save_every"], 1
    family = FAMILIES[recipe["family"]]
    device = resolve_device(device)
    rank, world = init_distributed(device)
    is_main = rank == 0
    name = checkpoint_name(model, dataset)
    run_dir = Path(run_dir or Path("runs") / name)
    state_path = run_dir / "state.safetensors"

    data_set, batches = family.trainer.load_data(recipe, family, dataset, data, dry_run, seed, rank, world)
    if epochs is not None and steps is None:
        steps = max(1, round(epochs * batches.per_epoch))
    total = steps or recipe["steps"]
    if "reconstruction_steps" in recipe:  # a short run (--steps, --dry-run) still leaves most steps to the style loss
        recipe["reconstruction_steps"] = min(recipe["reconstruction_steps"], int(0.3 * total))

    seed_everything(seed, -1, 0)  # identical initial weights on every rank
    trainer = family.trainer(recipe, family, data_set, device, world)
    meta = {"model": model, "dataset": dataset, "seed": seed}
    start, history, elapsed = 0, {}, 0.0
    if resume and state_path.is_file():
        start, history, elapsed = load_state(state_path, trainer, meta)
        if is_main and not quiet:
            print(f"Resuming {name} from step {start} ({state_path}).", file=sys.stderr)
    elif resume and is_main and not quiet:
        print(f"No saved state at {state_path}; starting from step 0.", file=sys.stderr)
    if is_main:
        run_dir.mkdir(parents=True, exist_ok=True)

    # cpu_bf16 only where the CPU computes bfloat16 (AVX512-BF16, AMX): elsewhere it is emulated, slower than
    # float32. The card records which one ran (training_dtype).
    bf16 = device.type == "cuda" or (recipe.get("cpu_bf16", False) and hardware.cpu_computes_bf16())
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    real_diversity = (diversity(datasets.to_float(data_set.test_images[:64]) * 2 - 1)
                      if trainer.watch_collapse else None)
    progress = Progress(total, start, enabled=is_main and not quiet)
    t0 = time.time() - elapsed
    for done, losses in run_steps(trainer, batches, start, total, seed, rank, autocast, history, log_every):
        progress.update(done, losses)
        if is_main and (done % sample_every == 0 or done == total):
            images = progress_samples(trainer, history, real_diversity, done)
            if images is not None:
                picture = imaging.grid(imaging.to_pil(images), columns=trainer.sample_columns, scale=2)
                picture.save(run_dir / f"samples_{done:06d}.png")
                picture.save(run_dir / "samples.png")
            for key, value in trainer.validate(data_set, run_dir, done).items():
                history.setdefault(key, []).append([done, value])
            imaging.line_plot(loss_curves(history), title=f"{name}: training losses").save(run_dir / "loss.png")
        if is_main and (done % save_every == 0 or done == total):
            save_state(state_path, trainer, done, history, time.time() - t0, meta)
    progress.close()

    result = {"name": name, "steps": total, "run_dir": str(run_dir)}
    if is_main:
        wall_time = time.time() - t0
        module = trainer.export(quick=dry_run)
        metrics = trainer.evaluate(data_set)
        final = {k: round(v[-1][1], 4) for k, v in history.items() if k not in ("warnings", "diversity") and v}
        card = {
            "family": family.name, "config": dict(module.config),
            "dataset": dataset, "classes": datasets.classes_of(dataset),
            "steps": total, "batch_size": recipe["batch_size"] * world, "wall_time_s": round(wall_time, 1),
            "device": device_description(device, world), "training_dtype": "bfloat16" if bf16 else "float32",
            "command": command, "seed": seed,
            "hyperparameters": {**{k: v for k, v in recipe.items() if k not in ("family", "dry_run", "grow_from_dir")},
                                "steps": total},
            "metrics": {**metrics, "final_losses": final}, "warnings": history.get("warnings", []),
            "genimg_version": __version__, **trainer.card_extras,
            "data_source": "synthetic bars (--dry-run): not a usable model" if dry_run else data_set.source,
        }
        origin = trainer.card_extras.get("grown_from", {})
        card["stages"] = list(origin.get("stages", [])) + [stage_record(name, card)]
        path = checkpoints.save(Path(out), name, module.state_dict(), card)
        result.update(path=str(path), metrics=metrics)
        if not quiet:
            print(f"Saved {path} ({path.stat().st_size / 1e6:.2f} MB) after {total} steps in {wall_time / 60:.1f} min; "
                  f"{metrics}", file=sys.stderr)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return result


def device_description(device: torch.device, world: int) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        threads = torch.get_num_threads()
        name = f"CPU ({threads} thread{'s' if threads > 1 else ''})"
    return f"{world} x {name}" if world > 1 else name
