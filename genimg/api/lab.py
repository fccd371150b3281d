"""The training lab: train a small generator for seconds to minutes and watch it learn.

    for update in genimg.train_live("dcgan", "mnist", seconds=60):
        update.grid.save("now.png")                  # the fixed-seed samples, every few seconds
    update.checkpoint                                # the last update's: safetensors + card, loads with genimg.load

The steps are train.py's: the family's own trainer (genimg/families/) run by the shared loop's run_steps
(genimg/training.py), with a recipe built from the family's shipped one and the knobs given here. What differs
is that a run lasts a time, not a number of steps, so its learning rate stays constant after the start (no
schedule can know when it ends), and the EMA average warms up as it does for the flow-matching model.
"""
import json
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from .. import __version__, checkpoints, imaging, registry
from .. import data as datasets
from ..families.gan import GAN_LOSSES
from ..training import (Batches, device_description, diversity, loss_curves, progress_samples,
                        network_shape, run_steps, seed_everything)
from .models import MAX_SEED, real_number, whole_number

LAB_DATASETS = ("mnist", "fashion-mnist")  # or a person's own images (files, a zip)
LAB_SIDES = (28, 32)
MIN_SECONDS, MAX_SECONDS = 10, 600
MIN_LR, MAX_LR = 1e-5, 1e-1
BATCH_SIZES = (16, 32, 64, 128, 256)
MIN_UPDATE_SECONDS = 0.5

# Per family: the network's size (small enough to learn visibly in a minute on two CPU cores), and the recipe's
# knobs on top of the shipped recipe. The GAN is half the shipped width: after 400 steps on MNIST (docs/history.md)
# width 16 at lr 1e-3, batch 32 reached FD 29.6 at 12.7 steps/s, the shipped width 32 at lr 5e-4, batch 64 32.9 at
# 3.8 steps/s. A run lasts a time, so the learning rate is constant. The GAN's EMA warms up
# (a minute is a few hundred steps: a 0.999 average from the start would still be mostly the random start) and its
# collapse checks start after 200 steps instead of train.py's 1,000.
LAB = {
    "dcgan": dict(recipe="dcgan", config={"z_dim": 64, "width": 16, "num_classes": 0},
                  knobs=dict(lr=1e-3, batch_size=32, disc_width=16, ema_warmup=True, collapse_check_after=200)),
    "vae": dict(recipe="vae", config={"z_dim": 16, "width": 32}, knobs=dict(lr=2e-3, batch_size=64)),
    "flowmatch": dict(recipe="flowmatch", config={"width": 16, "num_classes": 0, "emb": 128},
                      knobs=dict(lr=2e-3, batch_size=64, label_dropout=0.0, guidance=1.0, sample_steps=10)),
}
GAN_KNOBS = ("ema", "spectral_norm", "loss")


@dataclass
class LiveUpdate:
    """What a run shows now: steps done, seconds trained, the progress grid (PIL), the loss curves
    ({name: [[step, value], ...]}), the warnings ([[step, text], ...]) and, in the last update, the checkpoint."""
    step: int
    seconds: float
    grid: Image.Image
    losses: dict
    warnings: list = field(default_factory=list)
    steps_per_second: float = 0.0
    done: bool = False
    stopped: bool = False  # ended by `stop`, before its time
    checkpoint: Path | None = None

    def loss_plot(self) -> Image.Image:
        return imaging.line_plot(self.losses, title=f"losses after {self.step:,} steps")


def lab_recipe(family: str, lr=None, batch_size=None, ema: bool = True, spectral_norm: bool = True,
               loss: str = "hinge") -> dict:
    """The recipe a lab run trains with: the family's shipped recipe, the lab's knobs, then the person's."""
    from ..registry import RECIPES
    if family not in LAB:
        raise ValueError(f"The lab trains {', '.join(LAB)}; not {family!r}.")
    lab = LAB[family]
    recipe = dict(RECIPES[lab["recipe"]], **lab["knobs"], constant_lr=True)
    # Knobs the shipped recipes give per dataset (aux_class_weight, width) are for its data sets; the lab's
    # config sets what it needs for any picture.
    recipe = {k: v for k, v in recipe.items() if k == "config" or not isinstance(v, dict)}
    if lr is not None:
        recipe["lr"] = real_number(lr, "learning rate", MIN_LR, MAX_LR)
    if batch_size is not None:
        size = whole_number(batch_size, "batch size", BATCH_SIZES[0], BATCH_SIZES[-1])
        if size not in BATCH_SIZES:
            raise ValueError(f"batch size is one of {', '.join(map(str, BATCH_SIZES))}, not {size}.")
        recipe["batch_size"] = size
    if recipe["family"] == "dcgan":
        for what, value in (("ema", ema), ("spectral_norm", spectral_norm)):
            if not isinstance(value, bool):
                raise ValueError(f"{what} is True or False, not {value!r}.")
        if loss not in GAN_LOSSES:
            raise ValueError(f"The GAN loss is one of {', '.join(GAN_LOSSES)}, not {loss!r}.")
        recipe.update(spectral_norm=spectral_norm, loss=loss, ema_decay=recipe["ema_decay"] if ema else 0.0)
    elif not (ema is True and spectral_norm is True and loss == "hinge"):
        raise ValueError(f"EMA, spectral norm and the loss are knobs of the GAN; {family} has none of them.")
    return recipe


def lab_data(data, side=None, colour: str = "auto", data_root=None) -> datasets.Dataset:
    """MNIST or Fashion-MNIST (28x28 grey), or a person's images (paths or a zip) at side 28 or 32 px."""
    if isinstance(data, str) and data in LAB_DATASETS:
        if side not in (None, 28) or colour not in ("auto", "grayscale"):
            raise ValueError(f"{data} is 28x28 grayscale; size and colour are for your own images.")
        return datasets.load(data, data_root)
    if isinstance(data, str) and not Path(data).exists():
        raise ValueError(f"Data is {' or '.join(LAB_DATASETS)}, or your own image files (or a zip of them); "
                         f"not {data!r}.")
    side = 28 if side is None else whole_number(side, "image size", min(LAB_SIDES), max(LAB_SIDES))
    if side not in LAB_SIDES:
        raise ValueError(f"Image size is {' or '.join(map(str, LAB_SIDES))} pixels, not {side}.")
    if isinstance(data, (str, Path)) and Path(data).is_dir():
        data = sorted(p for p in Path(data).iterdir() if p.is_file())
    return datasets.own_images(data, side, colour)


def train_live(family: str = "dcgan", data="mnist", seconds: float = 60, *, lr=None, batch_size=None,
               ema: bool = True, spectral_norm: bool = True, loss: str = "hinge", side=None, colour: str = "auto",
               seed: int = 0, max_steps: int | None = None, update_seconds: float = 3.0, out=None, stop=None,
               data_root=None):
    """Train `family` ("dcgan", "vae" or "flowmatch") on `data` for `seconds` and yield a LiveUpdate every
    `update_seconds` or so (less often when drawing the grid would take over a fifth of the time), then a last one
    with the checkpoint (saved in `out`, safetensors + card), which is also the generator's return value.

    data: "mnist", "fashion-mnist", image files or a zip of 16 to 2,000 images, or a folder of them (side 28 or
    32, colour "auto", "grayscale" or "colour"). GAN knobs: ema, spectral_norm, loss (hinge, non-saturating,
    minimax). stop: a threading.Event (or anything with is_set()) that ends the run early, still saving it.
    max_steps: end after this many steps even if time is left (tests, benches). The run takes the process's
    torch threads; closing the generator abandons the run without a checkpoint."""
    recipe = lab_recipe(family, lr, batch_size, ema, spectral_norm, loss)
    seconds = real_number(seconds, "time budget (seconds)", MIN_SECONDS, MAX_SECONDS)
    update_seconds = real_number(update_seconds, "seconds between updates", MIN_UPDATE_SECONDS, MAX_SECONDS)
    seed = whole_number(seed, "seed", 0, MAX_SEED)
    if max_steps is not None:
        max_steps = whole_number(max_steps, "max steps", 1, 10**7)
    data_set = lab_data(data, side, colour, data_root)
    record = registry.FAMILIES[recipe["family"]]
    recipe["config"] = dict(LAB[family]["config"], **network_shape(data_set))
    recipe["dataset"] = data_set.name
    device = torch.device("cpu")  # a lab run is a lesson on the machine it runs on, not a GPU job

    seed_everything(seed, -1, 0)
    trainer = record.trainer(recipe, record, data_set, device, 1)
    batches = Batches(data_set.train_images, data_set.train_labels, recipe["batch_size"], seed, 0, 1)
    history: dict = {}
    real_diversity = (diversity(datasets.to_float(data_set.test_images[:64]) * 2 - 1)
                      if trainer.watch_collapse else None)
    start = time.time()
    gap, last_update = update_seconds, 0.0
    update = None
    # Losses logged every 5 steps: a short run on a busy machine may make only a few dozen.
    for done, _ in run_steps(trainer, batches, 0, max_steps or 10**9, seed, 0, nullcontext(), history, 5):
        elapsed = time.time() - start
        stopped = stop is not None and stop.is_set()
        finished = elapsed >= seconds or done == max_steps or stopped
        if finished or elapsed - last_update >= gap:
            drawing = time.time()
            images = progress_samples(trainer, history, real_diversity, done)
            gap = max(update_seconds, 4 * (time.time() - drawing))  # the grid takes at most a fifth of the time
            update = LiveUpdate(done, round(elapsed, 1), _grid(images, trainer), loss_curves(history),
                                list(history.get("warnings", [])), round(done / max(elapsed, 1e-9), 2),
                                stopped=stopped)
            last_update = time.time() - start
            if not finished:
                yield update
        if finished:
            break
    path = _save(trainer, record, recipe, data_set, history, update, out, seed)
    update.done, update.checkpoint = True, path
    yield update
    return path


def _grid(images, trainer) -> Image.Image:
    """Grey digits sit on black as in the data sets; colour images (composited on white) on white."""
    background = 255 if images.shape[1] == 3 else 0
    return imaging.grid(imaging.to_pil(images), columns=trainer.sample_columns, scale=3, background=background)


def _save(trainer, record, recipe, data_set, history, update, out, seed) -> Path:
    """The trained network as a checkpoint `lab-<family>-<data>` in `out` (a new temporary folder if None)."""
    import tempfile
    out = Path(out) if out else Path(tempfile.mkdtemp(prefix="genimg-lab-"))
    out.mkdir(parents=True, exist_ok=True)
    module = trainer.export(quick=True)
    dataset = data_set.name if data_set.name in LAB_DATASETS else "own"
    name = f"lab-{record.name}-{dataset}"
    knobs = {k: v for k, v in recipe.items() if k not in ("family", "config", "dataset")}
    card = {
        "family": record.name, "config": dict(module.config), "dataset": data_set.name,
        "classes": [], "steps": update.step, "batch_size": recipe["batch_size"],
        "wall_time_s": update.seconds, "device": device_description(torch.device("cpu"), 1),
        "training_dtype": "float32", "seed": seed,
        "command": f"genimg.train_live({record.name!r}, ...) (the Train tab)",
        "hyperparameters": json.loads(json.dumps(knobs, default=str)),
        "metrics": {"final_losses": {k: round(v[-1][1], 4) for k, v in update.losses.items() if v}},
        "warnings": update.warnings, "data_source": data_set.source, "trained_in": "the training lab",
        "genimg_version": __version__,
    }
    return checkpoints.save(out, name, module.state_dict(), card)

