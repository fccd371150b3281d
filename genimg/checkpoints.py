"""Checkpoints: `<name>.safetensors` (weights, never pickled) plus `<name>.json` (the card).

The card records what the model is (family, config, dataset), how it was made (steps, wall time,
device, the exact train.py command) and what it scores (metrics). Writes are atomic: a temporary
file in the same folder, then a rename, so an interrupted write never leaves a half file.
"""
import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

MAX_BYTES = 10 * 1024 * 1024
CARD_KEYS = ("name", "family", "config", "dataset", "steps", "wall_time_s", "device", "command",
             "metrics", "genimg_version", "sha256")
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or does not match its card."""


def atomic_write(path: Path, write) -> None:
    """Call write(temporary_path), then move the result over `path` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2) + "\n"))


def save_tensors(path: Path, tensors: dict, metadata: dict | None = None) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save(directory: Path, name: str, state_dict: dict, card: dict) -> Path:
    """Write weights then card; refuse a file over 10 MB (a Space would need git-lfs)."""
    directory = Path(directory)
    weights = directory / f"{name}.safetensors"
    save_tensors(weights, state_dict)
    size = weights.stat().st_size
    if size > MAX_BYTES:
        weights.unlink()
        raise CheckpointError(f"{name}: checkpoint is {size / 2**20:.1f} MB, over the 10 MB limit; make the model smaller.")
    card = dict(card, name=name, sha256=sha256(weights), size_bytes=size)
    write_json(directory / f"{name}.json", card)
    return weights


def read_card(directory: Path, name: str) -> dict:
    path = Path(directory) / f"{name}.json"
    if not path.is_file():
        raise CheckpointError(f"{name}: card {path} is missing.")
    try:
        card = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{name}: card {path} is not valid JSON ({error}).") from None
    missing = [key for key in CARD_KEYS if key not in card] if isinstance(card, dict) else list(CARD_KEYS)
    if missing:
        raise CheckpointError(f"{name}: card {path} lacks {', '.join(missing)}.")
    return card


def load(directory: Path, name: str) -> tuple[dict, dict]:
    """Return (state_dict, card) after checking that the weights exist, are intact and match the card."""
    directory = Path(directory)
    card = read_card(directory, name)
    weights = directory / f"{name}.safetensors"
    if not weights.is_file():
        raise CheckpointError(f"{name}: weights {weights} are missing (the card is there).")
    if sha256(weights) != card["sha256"]:
        raise CheckpointError(f"{name}: weights {weights} are corrupt or were replaced (checksum differs from the card).")
    try:
        state = load_file(weights)  # safetensors: plain tensors, no code runs on load
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{name}: cannot read {weights} ({error}).") from None
    return state, card


def list_names(directory: Path) -> list:
    """Every checkpoint name with a card in `directory` (for tools; the app lists only the releases)."""
    return sorted(p.stem for p in Path(directory).glob("*.json"))


def load_into(module: torch.nn.Module, state: dict, name: str) -> torch.nn.Module:
    """load_state_dict with an error that says which tensors do not match the card's config."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0:4]
        raise CheckpointError(f"{name}: tensors do not match the card's model config: {' '.join(first)}") from None
    return module


def record_metrics(directory: Path, name: str, key: str, value) -> dict:
    """Write one measured result into a card's metrics (card["metrics"][key] = value): the one way the bench
    updates cards. The weights and their checksum are untouched."""
    card = read_card(directory, name)
    card.setdefault("metrics", {})[key] = value
    write_json(Path(directory) / f"{name}.json", card)
    return card
