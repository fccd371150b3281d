"""What every tab shares: choices shown to people, mapped to checkpoint names, and errors shown as toasts."""
import concurrent.futures
import contextlib
import contextvars
import ctypes
import functools
import inspect
import math
import os
import tempfile
import threading
import time
import types
from pathlib import Path

import gradio as gr
import numpy as np
import pydantic
from PIL import Image, ImageDraw

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
GENERATOR_DATASETS = {**DATASET_CHOICES, "Emoji": "emoji"}  # the generators' menus: some also draw colour emoji
EVERY_CLASS = "(one of each)"
OUTPUT_DIR = Path(tempfile.gettempdir()) / "genimg"
LAB_ROOT = Path(tempfile.gettempdir()) / "genimg-lab"  # a folder per browser session, deleted when it closes
LAB_KEEP_SECONDS = 6 * 3600  # and swept after this, should a session end without saying so
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


def lab_checkpoint(dataset_value) -> str | None:
    """The checkpoint a Dataset menu's value names when it is a model trained in the Train tab (a file under
    LAB_ROOT; only that browser's menus offer it), else None."""
    if not isinstance(dataset_value, str) or not dataset_value.endswith(".safetensors"):
        return None
    path = Path(dataset_value).resolve()
    return str(path) if LAB_ROOT.resolve() in path.parents else None


def checkpoint_name(family_label: str, dataset_label: str) -> str:
    """The checkpoint of a (Model, Dataset) choice: a shipped one, or the path of one trained in the Train tab."""
    entry = generator_entry(family_label)
    trained = lab_checkpoint(dataset_label)
    if trained:
        model = genimg.load(trained)
        if model.family != entry["family"]:
            raise gr.Error(f"The model trained in the Train tab is a {model.record.label}: choose that as the Model, "
                           f"or another Dataset.")
        return trained
    return released_generator(entry, dataset_label).name


def released_generator(entry: dict, dataset_label: str):
    """The shipped generator of a family (an entry of generator_families()) for a Dataset menu's label; a message
    naming the models that have it when this family has none."""
    if dataset_label not in GENERATOR_DATASETS:
        raise gr.Error(f"Unknown dataset {dataset_label!r}; choose one of {', '.join(GENERATOR_DATASETS)}.")
    dataset = GENERATOR_DATASETS[dataset_label]
    released = [e for e in genimg.models(check=False).values() if e["kind"] in genimg.GENERATOR_KINDS
                and e["dataset"] == dataset]
    if not any(e["family"] == entry["family"] for e in released):
        raise gr.Error(f"{entry['label']} was not trained on {dataset_label}; the models that were: "
                       f"{', '.join(dict.fromkeys(e['label'] for e in released)) or 'none'}.")
    return genimg.find(entry["family"], dataset)


def user_errors(fn):
    """Turn the API's ValueErrors (bad input, unavailable model) into a gr.Error the person can read. These are
    people's mistakes, not the server's: the log gets no traceback for them (other exceptions keep theirs).
    A generator (a streaming event) stays one, with the same treatment of what it raises while it runs."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def steps(*args, **kwargs):
            with _readable_errors():
                yield from fn(*args, **kwargs)
        return steps

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _readable_errors():
            return fn(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def _readable_errors():
    try:
        yield
    except gr.Error as error:
        error.print_exception = False
        raise
    except ValueError as error:
        raise gr.Error(str(error), print_exception=False) from None


# ---- scheduling ------------------------------------------------------------------------------------------
# Gradio's concurrency groups: events in a group take turns on its workers, and the groups run side by side, so a
# tenth-of-a-second digit grid never waits in line behind a photo (measured with `python -m genimg.bench load`).
# Every event of a tab names its group with **queue("...").
QUEUES = {
    "light": 2,  # digits and garments: generate, interpolate, manifold, step through, likelihood, inpaint samples
    "heavy": 1,  # about a second of both cores each: compare, upscale, inpaint a photo, style presets; in order
    "optimise": 1,  # tens of seconds each: painting in the style of an image of one's own
    # the training lab: a run of seconds to minutes takes both cores; the others wait their turn (app.py --lab-runs)
    "train": int(os.environ.get("GENIMG_LAB_RUNS", 1)),
}


def queue(name: str) -> dict:
    """The event arguments that put an event in the concurrency group `name` of QUEUES."""
    return {"concurrency_id": name, "concurrency_limit": QUEUES[name]}


def share_queues(demo: gr.Blocks) -> None:
    """An example row that runs a tab's function on click is an event of its own (an undocumented endpoint):
    put it in the group of the button that runs the same function."""
    groups = {fn.fn: (fn.concurrency_id, fn.concurrency_limit) for fn in demo.fns.values()
              if fn.concurrency_id in QUEUES}
    for fn in demo.fns.values():
        if fn.fn in groups and fn.concurrency_id not in QUEUES:
            fn.concurrency_id, fn.concurrency_limit = groups[fn.fn]


# Two cores shared by a light event and a heavy one split evenly, which makes a 0.1 s interpolation wait on a
# 1 s inpainting. The heavy and optimise groups run in threads of lower priority (nice 10; their OpenMP workers
# inherit it), so the kernel gives light events the cores first and heavy ones everything that is left.
# A dedicated pool, because a thread cannot take its priority back and gradio reuses its worker threads.
BACKGROUND_NICE = 10
BACKGROUND_QUEUES = ("heavy", "optimise", "train")
_background = None


def _lower_priority():
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: same order, equal shares
        pass


def in_background(fn):
    """fn run in a low-priority thread, with the event's context (progress, request); generators step by step."""
    global _background
    if _background is None:
        _background = concurrent.futures.ThreadPoolExecutor(
            max_workers=sum(QUEUES[name] for name in BACKGROUND_QUEUES), thread_name_prefix="genimg-background",
            initializer=_lower_priority)
    pool = _background
    if inspect.isgeneratorfunction(fn):
        done = object()

        @functools.wraps(fn)
        def run_steps(*args, **kwargs):
            context = contextvars.copy_context()
            steps = pool.submit(context.run, fn, *args, **kwargs).result()
            while (value := pool.submit(context.run, next, steps, done).result()) is not done:
                yield value
        run_steps.in_background = True
        return run_steps

    @functools.wraps(fn)
    def run(*args, **kwargs):
        return pool.submit(contextvars.copy_context().run, fn, *args, **kwargs).result()
    run.in_background = True
    return run


def heavy_in_background(demo: gr.Blocks) -> None:
    """Every event of the heavy, optimise and train groups runs at lower priority (see in_background)."""
    wrapped = {}
    for block_fn in demo.fns.values():
        if block_fn.concurrency_id in BACKGROUND_QUEUES and block_fn.fn is not None:
            if block_fn.fn not in wrapped:
                wrapped[block_fn.fn] = in_background(block_fn.fn)
            block_fn.fn = wrapped[block_fn.fn]


# ---- values from API clients -----------------------------------------------------------------------------
# The browser only sends what a control can hold; an API client can send anything. Gradio answers a value its
# component cannot take with "Could not preprocess input component at index 3 ...". check_inputs gives every
# input control of the app a check in front of gradio's own, which names the control and what it takes.


def shown(value, limit: int = 40) -> str:
    """A value as a message quotes it: short, whatever it is."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _checked_number(self, payload):
    name, low, high = self.label or "This number", self.minimum, self.maximum
    takes = f"a number from {low:g} to {high:g}" if low is not None and high is not None else "a number"
    if isinstance(payload, str):
        try:
            payload = float(payload.strip())
        except ValueError:
            pass
    if isinstance(payload, bool) or not isinstance(payload, (int, float)) or not math.isfinite(payload):
        raise gr.Error(f"{name} must be {takes}; got {shown(payload)}.", print_exception=False)
    if (low is not None and payload < low) or (high is not None and payload > high):
        raise gr.Error(f"{name} must be {takes}; got {payload:g}.", print_exception=False)
    return type(self).preprocess(self, payload)


def _checked_choice(self, payload):
    values = [value for _, value in self.choices]
    if not getattr(self, "allow_custom_value", False) and not getattr(self, "multiselect", False) \
            and payload not in values:
        raise gr.Error(f"{self.label or 'This choice'} must be one of: {', '.join(map(str, values))}; "
                       f"got {shown(payload)}.", print_exception=False)
    return type(self).preprocess(self, payload)


def _checked_checkbox(self, payload):
    if not isinstance(payload, bool):
        raise gr.Error(f"{self.label or 'This box'} must be true or false; got {shown(payload)}.",
                       print_exception=False)
    return type(self).preprocess(self, payload)


def _files_in(payload) -> list:
    """The paths of the files in a file component's value (an ImageEditor's holds several)."""
    if payload is None:
        return []
    if isinstance(payload, (list, tuple)):
        return [path for item in payload for path in _files_in(item)]
    if isinstance(getattr(payload, "path", None), str):
        return [payload.path]
    if hasattr(type(payload), "model_fields"):  # gradio's pydantic data models, e.g. the editor's background, layers
        return [path for name in type(payload).model_fields for path in _files_in(getattr(payload, name))]
    return []


def _image_sources(block, payload) -> list:
    """What an image control's value holds to check: the uploaded files' paths and, for an image pasted into an
    editor in the browser, its bytes (gradio keeps those in the editor's blob storage under the value's id)."""
    sources = _files_in(payload)
    storage = getattr(block, "blob_storage", None)
    if storage is not None and getattr(payload, "id", None) is not None:
        background = getattr(storage.get(payload.id), "background", None)
        if isinstance(background, (bytes, bytearray)):
            sources.append(bytes(background))
    return sources


def _checked_file(self, payload):
    if not isinstance(self, gr.File):  # every other file control here takes images: genimg's image policy first
        for source in _image_sources(self, payload):
            try:
                genimg.check_image_file(source)
            except ValueError as error:
                raise gr.Error(str(error), print_exception=False) from None
    try:
        return type(self).preprocess(self, payload)
    except gr.Error:
        raise
    except Exception as error:  # noqa: BLE001 - whatever a malformed upload breaks, the person gets words
        raise gr.Error(f"{self.label or 'The file'} could not be read: send an image file "
                       f"({type(error).__name__}: {shown(str(error), 120)}).", print_exception=False) from None


CHECKS = ((gr.Slider, _checked_number), (gr.Number, _checked_number), (gr.Dropdown, _checked_choice),
          (gr.Radio, _checked_choice), (gr.Checkbox, _checked_checkbox),
          ((gr.Image, gr.ImageEditor, gr.UploadButton, gr.File), _checked_file))  # a Sketchpad is an ImageEditor


def check_inputs(demo: gr.Blocks) -> None:
    """Put the checks above in front of every input control's preprocess (as a bound method: each reads its own
    control's label, range and choices). A control that a session re-made with gr.update (say, the class menu for
    another dataset) is a new object with gradio's own check only; those come from the browser, not from clients.

    A file control's value is checked against gradio's data model before any preprocess runs (a number where an
    image goes fails there, with pydantic's text): that failure is put in words too."""
    for block in demo.blocks.values():
        for kinds, check in CHECKS:
            if isinstance(block, kinds):
                block.preprocess = types.MethodType(check, block)
                break
    preprocess_data = demo.preprocess_data

    async def checked_preprocess_data(block_fn, inputs, state, *args, **kwargs):
        try:
            return await preprocess_data(block_fn, inputs, state, *args, **kwargs)
        except pydantic.ValidationError:
            for block, value in zip(block_fn.inputs, inputs):
                model = getattr(block, "data_model", None)
                try:
                    if model is not None and value is not None:
                        model.model_validate(value)
                except pydantic.ValidationError:
                    raise gr.Error(f"{getattr(block, 'label', None) or 'A file input'} takes a file (as "
                                   f"gradio_client.handle_file gives it), not {shown(value)}.",
                                   print_exception=False) from None
            raise

    demo.preprocess_data = checked_preprocess_data


def output_path(suffix: str) -> str:
    """A fresh file in the system temp folder (gradio serves files from there). Gradio copies each result into its
    cache as the event returns (that copy is what the page shows and downloads), so ours are only kept for
    OUTPUT_KEEP_SECONDS."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=OUTPUT_DIR, suffix=suffix, delete=False)
    handle.close()
    return handle.name


OUTPUT_KEEP_SECONDS = 120


def sweep(folder: Path, older_than: float, keep: frozenset = frozenset(), now: float | None = None) -> int:
    """Delete the files under `folder` last modified more than `older_than` seconds ago (except the paths in
    `keep`), then the folders left empty; returns how many files went."""
    now = time.time() if now is None else now
    removed = 0
    for path in sorted(Path(folder).rglob("*"), key=lambda p: -len(p.parts)):  # files before their folders
        try:
            if path.is_dir():
                if path != Path(folder) and not any(path.iterdir()):
                    path.rmdir()
            elif str(path) not in keep and now - path.stat().st_mtime > older_than:
                path.unlink()
                removed += 1
        except OSError:  # in use, or another sweep got there first
            pass
    return removed


def release_free_memory() -> None:
    """Hand the memory freed by finished requests back to the system (glibc keeps it in its arenas otherwise, and
    the server's resident size creeps up under load); nothing where glibc is not the C library."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def start_sweeper(demo: gr.Blocks, keep_seconds: float) -> threading.Thread:
    """Every minute (or every quarter of `keep_seconds` if shorter), delete our results after OUTPUT_KEEP_SECONDS
    and uploads and gradio's copies of results after `keep_seconds`, then release freed memory. Gradio's own
    delete_cache misses some copies (the ones no component lists in its temp_files: measured, 3 of 6 after three
    /generate calls), so the whole cache folder is swept, except the files gradio keeps for good (examples,
    initial values)."""
    def keep() -> frozenset:
        return frozenset(path for block in demo.blocks.values() for path in getattr(block, "keep_in_cache", ()))

    def loop():
        while True:
            time.sleep(min(60.0, keep_seconds / 4))
            sweep(OUTPUT_DIR, min(OUTPUT_KEEP_SECONDS, keep_seconds))
            sweep(Path(demo.GRADIO_CACHE), keep_seconds, keep())
            sweep(LAB_ROOT, LAB_KEEP_SECONDS)
            release_free_memory()

    thread = threading.Thread(target=loop, name="genimg-sweeper", daemon=True)
    thread.start()
    return thread


def save_png(image) -> str:
    """Save a PIL image as a lossless PNG in the output folder; returns its path."""
    path = output_path(".png")
    image.save(path, compress_level=1)  # fast compression: a 16-megapixel PNG otherwise takes seconds
    return path


def class_choices(dataset_label: str, classes_of) -> list:
    return [EVERY_CLASS] + list(classes_of(GENERATOR_DATASETS.get(dataset_label, "fashion-mnist")))


def ode_controls():
    """The steps, guidance and sampler controls of a flow-matching model (Generate and Step through share them)."""
    steps = gr.Slider(minimum=1, maximum=genimg.MAX_ODE_STEPS, value=genimg.DEFAULT_ODE_STEPS, step=1,
                      label="Steps (noise to image)")
    guidance = gr.Slider(minimum=0, maximum=genimg.MAX_GUIDANCE, value=genimg.DEFAULT_GUIDANCE, step=0.1,
                         label="Guidance (1 = plain; higher = more typical)")
    sampler = gr.Radio(["Euler", "Heun"], value="Euler", label="Sampler")
    return steps, guidance, sampler


# ---- pictures shared by tabs ---------------------------------------------------------------------------------
STRIP_SIDE = 112  # a 28x28 or 32x32 image in a step-through strip
SNAPSHOTS = 8  # columns of a strip: the steps shown


def labelled_strip(rows: list, times: list, row_names: list) -> Image.Image:
    """Rows of small images (one column per time), zoomed to STRIP_SIDE pixels, with the time above each column and
    a name per row (the Step through and Text to image tabs)."""
    size, gap, left, top = STRIP_SIDE, 4, 96, 18
    columns = len(times)
    canvas = Image.new("RGB", (left + columns * (size + gap), top + len(rows) * (size + gap)), "white")
    draw = ImageDraw.Draw(canvas)
    for c, t in enumerate(times):
        draw.text((left + c * (size + gap) + 4, 3), f"t = {t:.2f}", fill="black")
    for r, (images, name) in enumerate(zip(rows, row_names)):
        y = top + r * (size + gap)
        draw.text((4, y + size // 2 - 12), name, fill="black")
        for c, image in enumerate(images):
            canvas.paste(image.convert("RGB").resize((size, size), Image.NEAREST), (left + c * (size + gap), y))
    return canvas


def picked(count: int, total: int) -> list:
    """`count` indices spread evenly over 0..total-1, first and last included."""
    if total <= count:
        return list(range(total))
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def drawing_pad(label: str, side: int = 256, pen: int = 14) -> gr.Sketchpad:
    """A side x side page with a fixed black pen of `pen` pixels, for the tabs that read drawings (read back with
    drawn_image)."""
    return gr.Sketchpad(label=label, type="numpy", image_mode="RGBA", canvas_size=(side, side),
                        brush=gr.Brush(colors=["#000000"], color_mode="fixed", default_size=pen))


def drawn_image(drawing, upload, what: str = "a digit or a garment"):
    """The picture to read from a Sketchpad or an upload: an upload wins over the drawing; a drawing is its
    composite, or its layers over its background when a client sent no composite. `what`: what to draw, for the
    messages."""
    if upload is not None:
        return upload
    if not isinstance(drawing, dict):
        raise gr.Error(f"Draw {what} in the box, or upload a picture.")
    composite = drawing.get("composite")
    if composite is None:
        parts = [p for p in [drawing.get("background"), *(drawing.get("layers") or [])] if p is not None]
        if not parts:
            raise gr.Error(f"Draw {what} in the box, or upload a picture.")
        composite = np.array(parts[0], dtype=np.float32)
        for layer in parts[1:]:
            layer = np.asarray(layer, dtype=np.float32)
            if layer.shape[-1] == 4 and composite.shape == layer.shape:
                alpha = layer[..., 3:] / 255
                composite = composite * (1 - alpha) + layer * alpha
                composite[..., 3:] = np.maximum(composite[..., 3:], layer[..., 3:])
    composite = np.asarray(composite)
    if composite.ndim == 3 and composite.shape[-1] == 4 and composite[..., 3].max() == 0:
        raise gr.Error(f"The drawing is empty: draw {what} first.")
    return composite.astype(np.uint8)


def step_through_pictures(path: list, gif_zoom: int = 8) -> tuple:
    """A path from noise (genimg.trajectory, genimg.text_trajectory) as (the strip of SNAPSHOTS steps, image above
    and the guess of the end below, as a PNG file; an animation of every step, image and guess side by side, as a
    GIF file)."""
    shown = picked(SNAPSHOTS, len(path))
    strip = labelled_strip([[path[i][1][0] for i in shown], [path[i][2][0] for i in shown]],
                           [path[i][0] for i in shown], ["image x_t", "guess of the end"])
    mode = path[-1][1][0].mode  # grey digits, colour emoji
    frames = [Image.fromarray(np.hstack([np.asarray(x[0].convert(mode)), np.asarray(g[0].convert(mode))]))
              for _, x, g in path]
    gif_path = output_path(".gif")
    genimg.save_gif(frames + [frames[-1]] * 6, gif_path, duration_ms=max(60, 1600 // len(frames)), scale=gif_zoom,
                    bounce=False)
    return save_png(strip), gif_path
