"""What every tab shares: choices shown to people, mapped to checkpoint names, and errors shown as toasts."""
import functools
import tempfile
import time
from pathlib import Path

import gradio as gr

import genimg

try:
    # On a ZeroGPU Space, spaces.GPU gives the decorated call a GPU for its length (in a worker process);
    # anywhere else (SPACES_ZERO_GPU unset) it returns the function itself, so the app runs unchanged on a CPU.
    # Put @gpu above @user_errors: a gr.Error raised in the worker reaches the person, other errors do not.
    from spaces import GPU as gpu
except ImportError:  # `spaces` not installed: the same no-op, used as @gpu or @gpu(duration=...)
    def gpu(fn=None, **_):
        return fn if fn is not None else (lambda f: f)

DATASET_CHOICES = {"Fashion-MNIST": "fashion-mnist", "MNIST": "mnist"}
EVERY_CLASS = "(one of each)"
OUTPUT_DIR = Path(tempfile.gettempdir()) / "genimg"
FIGURES_DIR = Path(__file__).resolve().parents[2] / "docs" / "figures"  # `python -m genimg.bench figures` makes them


def tab_figure(tab: str):
    """The annotated example on top of a tab (docs/figures/<tab>.png), served from disk (app.py makes the folder a
    static path, so it is never copied to the cache nor swept); nothing when it has not been made."""
    path = FIGURES_DIR / f"{tab}.png"
    if path.is_file():
        gr.Image(value=str(path), show_label=False, interactive=False, container=False, buttons=[], height=204,
                 elem_classes=["wide-grid"])


def generator_families() -> dict:
    """{menu label: a released generator family's entry in genimg.models()}, in registry order."""
    return {entry["label"]: entry for entry in genimg.models(check=False).values()
            if entry["kind"] in genimg.GENERATOR_KINDS}


def conditional_label() -> str:
    """The menu label of the conditional generator: the tabs open on it (a class per column is the best show)."""
    return next(label for label, entry in generator_families().items() if entry["kind"] == "conditional-generator")


def generator_entry(family_label: str) -> dict:
    families = generator_families()
    if family_label not in families:
        raise gr.Error(f"Unknown model {family_label!r}; choose one of {', '.join(families)}.")
    return families[family_label]


def checkpoint_name(family_label: str, dataset_label: str) -> str:
    entry = generator_entry(family_label)
    if dataset_label not in DATASET_CHOICES:
        raise gr.Error(f"Unknown dataset {dataset_label!r}; choose one of {', '.join(DATASET_CHOICES)}.")
    return genimg.find(entry["family"], DATASET_CHOICES[dataset_label]).name


def user_errors(fn):
    """Turn the API's ValueErrors (bad input, unavailable model) into a gr.Error the person can read. These are
    people's mistakes, not the server's: the log gets no traceback for them (other exceptions keep theirs)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error as error:
            error.print_exception = False
            raise
        except ValueError as error:
            raise gr.Error(str(error), print_exception=False) from None

    return wrapper


def output_path(suffix: str) -> str:
    """A fresh file in the system temp folder (gradio serves files from there). Results older than KEEP_SECONDS
    are deleted as new ones are made, so a server that runs for weeks does not fill its disk."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    sweep_old_outputs()
    handle = tempfile.NamedTemporaryFile(dir=OUTPUT_DIR, suffix=suffix, delete=False)
    handle.close()
    return handle.name


KEEP_SECONDS = 3600  # a result stays downloadable for an hour
_last_sweep = [0.0]


def sweep_old_outputs(now: float | None = None) -> int:
    """Delete results older than KEEP_SECONDS from OUTPUT_DIR (at most once a minute); returns how many."""
    now = time.time() if now is None else now
    if now - _last_sweep[0] < 60:
        return 0
    _last_sweep[0] = now
    removed = 0
    for path in OUTPUT_DIR.glob("tmp*"):
        try:
            if now - path.stat().st_mtime > KEEP_SECONDS:
                path.unlink()
                removed += 1
        except OSError:  # another worker removed it first
            pass
    return removed


def save_png(image) -> str:
    """Save a PIL image as a lossless PNG in the output folder; returns its path."""
    path = output_path(".png")
    image.save(path, compress_level=1)  # fast compression: a 16-megapixel PNG otherwise takes seconds
    return path


def class_choices(dataset_label: str, classes_of) -> list:
    return [EVERY_CLASS] + list(classes_of(DATASET_CHOICES.get(dataset_label, "fashion-mnist")))


def ode_controls():
    """The steps, guidance and sampler controls of a flow-matching model (Generate and Step through share them)."""
    steps = gr.Slider(minimum=1, maximum=genimg.MAX_ODE_STEPS, value=genimg.DEFAULT_ODE_STEPS, step=1,
                      label="Steps (noise to image)")
    guidance = gr.Slider(minimum=0, maximum=genimg.MAX_GUIDANCE, value=genimg.DEFAULT_GUIDANCE, step=0.1,
                         label="Guidance (1 = plain; higher = more typical)")
    sampler = gr.Radio(["Euler", "Heun"], value="Euler", label="Sampler")
    return steps, guidance, sampler
