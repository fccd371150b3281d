"""What every tab shares: choices shown to people, mapped to checkpoint names, and errors shown as toasts."""
import functools
import tempfile
from pathlib import Path

import gradio as gr

FAMILY_CHOICES = {"DCGAN": "dcgan", "Conditional GAN": "cgan", "VAE": "vae", "VAE (2-D latent)": "vae2d"}
DATASET_CHOICES = {"Fashion-MNIST": "fashion-mnist", "MNIST": "mnist"}
EVERY_CLASS = "(one of each)"
OUTPUT_DIR = Path(tempfile.gettempdir()) / "genimg"


def checkpoint_name(family_label: str, dataset_label: str) -> str:
    if family_label not in FAMILY_CHOICES:
        raise gr.Error(f"Unknown model {family_label!r}; choose one of {', '.join(FAMILY_CHOICES)}.")
    if dataset_label not in DATASET_CHOICES:
        raise gr.Error(f"Unknown dataset {dataset_label!r}; choose one of {', '.join(DATASET_CHOICES)}.")
    return f"{FAMILY_CHOICES[family_label]}-{DATASET_CHOICES[dataset_label]}"


def user_errors(fn):
    """Turn the API's ValueErrors (bad input, unavailable model) into a gr.Error the person can read."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except ValueError as error:
            raise gr.Error(str(error)) from None

    return wrapper


def output_path(suffix: str) -> str:
    """A fresh file in the system temp folder (gradio serves files from there)."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=OUTPUT_DIR, suffix=suffix, delete=False)
    handle.close()
    return handle.name


def save_png(image) -> str:
    """Save a PIL image as a lossless PNG in the output folder; returns its path."""
    path = output_path(".png")
    image.save(path, compress_level=1)  # fast compression: a 16-megapixel PNG otherwise takes seconds
    return path


def class_choices(dataset_label: str, classes_of) -> list:
    return [EVERY_CLASS] + list(classes_of(DATASET_CHOICES.get(dataset_label, "fashion-mnist")))
