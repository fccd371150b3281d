"""Loading the shipped models: the released checkpoints, each checked against its card, loaded once.

Also the checks every task applies to what people type (numbers in range, class names).
"""
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import checkpoints, hardware, registry
from ..data import classes_of
from ..family import Family

MAX_SEED = 2**31 - 1

_checkpoint_dir = Path(os.environ.get("GENIMG_CHECKPOINTS", checkpoints.DEFAULT_DIR))
_cache: dict = {}
_lock = threading.Lock()


@dataclass
class Model:
    """A loaded checkpoint: the torch module in eval mode plus its card."""
    name: str
    family: str
    dataset: str
    classes: list
    card: dict
    module: torch.nn.Module = field(repr=False)

    @property
    def record(self) -> Family:
        """The family's registry record (what kind of model it is, its label, its latent knob)."""
        return registry.FAMILIES[self.family]

    @property
    def kind(self) -> str:
        return self.record.kind

    @property
    def conditional(self) -> bool:
        """Takes a class: the conditional family, unless trained without classes (the lab's flow matching)."""
        return self.kind == "conditional-generator" and getattr(self.module, "num_classes", 1) != 0

    @property
    def z_dim(self) -> int:
        return self.module.z_dim

    def net(self) -> torch.nn.Module:
        """The module on the device this call runs on (hardware.inference_device): moved there once, as it is
        the same device for every call of a process (a ZeroGPU worker is a process of its own)."""
        device = hardware.inference_device()
        if next(self.module.parameters()).device != device:
            self.module.to(device)
        return self.module


def set_checkpoint_dir(path) -> None:
    """Load checkpoints from another folder (the app's --checkpoints)."""
    global _checkpoint_dir
    with _lock:
        _checkpoint_dir = Path(path)
        _cache.clear()


def checkpoint_dir() -> Path:
    return _checkpoint_dir


def load(name: str) -> Model:
    """Load (once, then from cache) the checkpoint `name`, or the checkpoint file at a path ending in .safetensors
    (one trained with genimg.train_live); CheckpointError (a ValueError) says what is wrong."""
    if isinstance(name, Model):
        return name
    if isinstance(name, Path):
        name = str(name)
    if not isinstance(name, str) or not name:
        raise ValueError(f"A model name is a string such as 'dcgan-mnist', not {name!r}.")
    folder, stem = _checkpoint_dir, name
    if name.endswith(".safetensors"):
        folder, stem = Path(name).parent, Path(name).stem
        if not Path(name).is_file():
            raise ValueError(f"No checkpoint at {name} (a model trained in the lab is deleted with its session).")
    with _lock:
        if name not in _cache:
            if not (folder / f"{stem}.json").exists() and not (folder / f"{stem}.safetensors").exists():
                raise ValueError(f"No model named {name!r} in {_checkpoint_dir}; the shipped models: "
                                 f"{', '.join(registry.RELEASES)}.")
            state, card = checkpoints.load(folder, stem)
            if card["family"] not in registry.FAMILIES:
                raise checkpoints.CheckpointError(f"{name}: unknown family {card['family']!r} in its card.")
            record = registry.FAMILIES[card["family"]]
            try:
                module = record.build(card["config"])
            except (TypeError, ValueError) as error:
                raise checkpoints.CheckpointError(f"{name}: the card's config is not valid ({error}).") from None
            checkpoints.load_into(module, state, name).eval().requires_grad_(False)
            if record.kind == "inpainter":
                # Its weights in channels-last order: oneDNN's float32 convolutions at 512x512 took 0.84-0.91 s
                # instead of 1.08 (one pass, 2 threads, a CPU without bfloat16; the same output to 3e-7).
                module.to(memory_format=torch.channels_last)
            classes = card.get("classes") or classes_of(card["dataset"])
            _cache[name] = Model(stem, card["family"], card["dataset"], list(classes), card, module)
        return _cache[name]


def forget(name: str) -> None:
    """Drop a loaded checkpoint from the cache (the lab does, when it deletes a session's checkpoint)."""
    with _lock:
        _cache.pop(str(name), None)


def models(check: bool = True) -> dict:
    """Every released model: {name: {family, kind, label, dataset, description, latent_knob, latent_map, ode_sampler,
    available, error, metrics}}.

    Only the releases (registry.RELEASES) are listed; with `check`, each is loaded (checksum and tensors checked)
    and a missing or broken one is reported, not fatal. check=False only describes them (dataset from the name)."""
    result = {}
    for name in registry.RELEASES:
        record = registry.family_of(name)
        entry = {"family": record.name, "kind": record.kind, "label": record.label, "dataset": None,
                 "description": record.description, "latent_knob": record.latent_knob,
                 "latent_map": record.latent_map, "ode_sampler": record.ode_sampler,
                 "default_temperature": record.default_temperature, "available": False, "error": None, "metrics": {}}
        if not check:
            entry["dataset"] = registry.dataset_of(name)
            result[name] = entry
            continue
        try:
            model = load(name)
            entry.update(dataset=model.dataset, available=True, metrics=model.card.get("metrics", {}))
        except ValueError as error:
            entry["error"] = str(error)
        result[name] = entry
    return result


def find(family: str, dataset: str) -> Model:
    """The released model of a family for a dataset, e.g. find("cgan", "mnist")."""
    return load(registry.release_of(family, dataset))


def find_kind(kind: str, dataset: str) -> Model:
    """The released model of a kind for a dataset, e.g. find_kind("classifier", "mnist")."""
    for name in registry.releases(kind, dataset=dataset):
        return load(name)
    raise ValueError(f"No released {kind} for {dataset}.")


# ----------------------------------------------------------------------------------------------
# Checking what people type

def whole_number(value, what: str, low: int, high: int) -> int:
    """An int from an int, an integral float (gradio sends floats) or a numeric string; else a clear ValueError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a whole number from {low} to {high}, got {value!r}.") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{what} must be a whole number from {low} to {high}, got {value!r}.")
    if not low <= number <= high:
        raise ValueError(f"{what} must be from {low} to {high}, got {int(number)}.")
    return int(number)


def real_number(value, what: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number from {low} to {high}, got {value!r}.") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{what} must be from {low} to {high}, got {value!r}.")
    return number


def class_index(model: Model, label) -> int:
    """A class given by index or by name ('Sneaker', '7')."""
    if isinstance(label, str) and label in model.classes:
        return model.classes.index(label)
    if isinstance(label, str) and label.strip().lstrip("-").isdigit():
        label = int(label)
    if isinstance(label, str):
        raise ValueError(f"Unknown class {label!r} for {model.name}; classes: {', '.join(model.classes)}.")
    return whole_number(label, "class", 0, len(model.classes) - 1)
