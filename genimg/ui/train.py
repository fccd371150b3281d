"""Train tab (the training lab): train a small GAN, VAE or flow-matching model in the browser, on MNIST,
Fashion-MNIST or one's own images, and watch its samples and losses change every few seconds."""
import shutil
import threading
from pathlib import Path

import gradio as gr

import genimg

from .common import DATASET_CHOICES, LAB_ROOT, output_path, queue, user_errors

SUMMARY = """Watch a network learn to draw. Pick a model and the pictures to learn from (digits, clothes, or your own),
press Train, and every few seconds see what it draws now from the same random numbers, and how its losses move.
Try to break a GAN: a high learning rate, no spectral norm, the minimax loss."""

HOW_IT_WORKS = r"""
**What runs.** The same code as `train.py`: the family's trainer, one optimiser step at a time, in the shared
training loop. A run here lasts a time, not a number of steps, so its learning rate stays constant, and the
models are the small ones that fit two CPU cores. Every few seconds the grid shows what the model draws from the
*same* 64 random codes, so you watch the same pictures take shape.

**Losses.** *GAN*: the discriminator's loss (`loss_d`) and the generator's (`loss_g`) pull against each other;
neither should win. `d_real` and `d_fake` are its mean scores for real and drawn images. *VAE*: the
reconstruction error (`recon`) and the KL term (`kl`) that keeps codes near a Gaussian. *Flow matching*: the
error of the velocity the network guesses, which falls slowly while the pictures improve.

**Breaking a GAN on purpose.** *Mode collapse*: the generator finds a few pictures that fool the discriminator and
draws only those. *The discriminator wins*: it rejects every drawing and the generator gets no useful signal.
The lab watches for both, as `train.py` does, and says so. What prevents them in the shipped models:
**spectral norm** (keeps the discriminator's judgements smooth), the **hinge loss**, a moderate learning rate,
and an **EMA** (average) of the generator's weights, which draws cleaner than the last step. The *minimax* loss is
the original game $\min_G \max_D\, \mathbb E[\log D(x)] + \mathbb E[\log(1 - D(G(z)))]$: while $D$ easily
rejects the drawings, $\log(1 - D(G(z)))$ is flat and the generator barely moves; the *non-saturating* loss
($-\log D(G(z))$) is the usual fix.

**Your images.** 16 to 2,000 pictures (or a zip of them), shrunk to 28 or 32 pixels. A few dozen pictures
teach a model to copy them; a few hundred of one kind (faces, logos, leaves) teach it their style. Your pictures
and model stay on this server for this browser only and are deleted when you close the tab.
"""

OWN = "My images"
DATA_CHOICES = {"MNIST": "mnist", "Fashion-MNIST": "fashion-mnist", OWN: None}
COLOUR_CHOICES = {"Automatic": "auto", "Grayscale": "grayscale", "Colour": "colour"}

# One Stop flag per browser session (its session hash): the Stop button sets it and the run ends at its next
# step, still saving the checkpoint. Closing the tab cancels the run outright (gradio stops asking for updates).
_stops: dict = {}
_forgotten: set = set()  # sessions whose tab closed while their run was still saving: delete what it leaves
_stops_lock = threading.Lock()


def family_choices() -> list:
    from genimg.registry import FAMILIES
    return [(FAMILIES[name].label, name) for name in genimg.LAB]


def session_folder(request: gr.Request | None, create: bool = True) -> Path:
    """This browser session's own folder for its uploads' checkpoints (deleted when the session ends)."""
    session = getattr(request, "session_hash", None) or "no-session"
    folder = LAB_ROOT / "".join(c for c in session if c.isalnum())[:64]
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def _status(update, seconds, family_label) -> str:
    lines = [f"**{family_label}**: {update.step:,} steps in {update.seconds:.0f} of {seconds:.0f} s "
             f"({update.steps_per_second:.1f} steps/s)."]
    if update.done:
        ending = "stopped" if update.stopped else "done"
        lines.append(f"Training {ending}. Download the checkpoint, or use it in Generate and Interpolate.")
    for step, message in update.warnings[-3:]:
        lines.append(f"⚠️ Step {step:,}: {message}")
    return "\n\n".join(lines)


@user_errors
def train_model(family, data_label, files, side, colour_label, seconds, lr, batch_size, ema, spectral_norm, loss,
                seed, request: gr.Request = None):
    """Train a small generator for a time budget and stream what it draws: every few seconds the fixed-seed sample
    grid, the loss curves and a status line (steps, speed, collapse warnings); at the end the checkpoint
    (safetensors + JSON card). One run at a time per server; the others wait in the queue.

    Args:
        family: "dcgan" (a GAN), "vae" or "flowmatch" (flow matching, the idea behind diffusion models).
        data_label: "MNIST", "Fashion-MNIST" or "My images" (then give files).
        files: with "My images": 16 to 2,000 image files, or a zip of them.
        side: with "My images": the size to shrink them to, 28 or 32 pixels.
        colour_label: with "My images": "Automatic", "Grayscale" or "Colour".
        seconds: the time budget, 10 to 600 seconds.
        lr: the learning rate (1e-5 to 0.1).
        batch_size: images per step: 16, 32, 64, 128 or 256.
        ema: GAN only: draw with an exponential moving average of the generator's weights.
        spectral_norm: GAN only: spectral normalisation in the discriminator.
        loss: GAN only: "hinge", "non-saturating" or "minimax".
        seed: a whole number >= 0 (the same seed and settings start the same way).
    Yields:
        the status (markdown), the sample grid (PNG), the loss curves (PNG), the checkpoint (at the end), the
        "use it" button's visibility, and two notes the tab clears (the last "use it" and "stop" messages).
    """
    if data_label not in DATA_CHOICES:
        raise gr.Error(f"Data is one of {', '.join(DATA_CHOICES)}; got {data_label!r}.")
    data = DATA_CHOICES[data_label]
    own = data is None
    if own:
        data = [getattr(f, "name", f) for f in (files or [])]
        if not data:
            raise gr.Error(f"Choose {OWN}, then add 16 to 2,000 pictures (or a zip of them) to learn from.")
        if colour_label not in COLOUR_CHOICES:
            raise gr.Error(f"Colour is one of {', '.join(COLOUR_CHOICES)}; got {colour_label!r}.")
    gan = family == "dcgan"
    knobs = dict(ema=bool(ema), spectral_norm=bool(spectral_norm), loss=loss) if gan else {}
    folder = session_folder(request)
    stop = threading.Event()
    with _stops_lock:
        _stops[folder.name] = stop
    labels = dict((name, label) for label, name in family_choices())
    try:
        run = genimg.train_live(family, data, seconds, lr=lr, batch_size=batch_size, seed=seed, out=folder,
                                side=int(side) if own else None, colour=COLOUR_CHOICES[colour_label] if own else "auto",
                                stop=stop, **knobs)
        for k, update in enumerate(run):
            grid, plot = output_path(".png"), output_path(".png")
            update.grid.save(grid)
            update.loss_plot().save(plot)
            checkpoint = str(update.checkpoint) if update.done else None
            yield (_status(update, float(seconds), labels.get(family, family)), grid, plot, checkpoint,
                   gr.update(visible=update.done), checkpoint, "", "" if k == 0 else gr.update())
    finally:
        with _stops_lock:
            if _stops.get(folder.name) is stop:
                del _stops[folder.name]
            forgotten = folder.name in _forgotten
            _forgotten.discard(folder.name)
        if forgotten:
            _delete(folder)


def stop_training(request: gr.Request = None) -> str:
    """Stop this browser's training run after its current step; it still saves and returns the checkpoint.

    Returns:
        a line saying whether a run was stopped.
    """
    folder = session_folder(request, create=False)
    with _stops_lock:
        stop = _stops.get(folder.name)
    if stop is None:
        return "No run of yours is training."
    stop.set()
    return "Stopping after this step…"


@user_errors
def use_trained(checkpoint, tabs: int = 2):
    """Offer the checkpoint just trained in the Model and Dataset menus of Generate and Interpolate (of `tabs`
    tabs; this browser only)."""
    if not checkpoint:
        raise gr.Error("Train a model first.")
    model = genimg.load(checkpoint)
    label = dict((name, label) for label, name in family_choices()).get(model.family, model.family)
    data = next((k for k, v in DATA_CHOICES.items() if v == model.dataset), "your images")
    mine = (f"Trained here: {label} on {data}, {model.card['steps']:,} steps", checkpoint)
    choices = [(name, name) for name in DATASET_CHOICES] + [mine]
    updates = []
    for _ in range(tabs):  # fresh updates per tab: gradio takes the value out of each one it applies
        updates += [gr.update(value=model.record.label), gr.update(choices=choices, value=checkpoint)]
    return (*updates, f"Open **Generate** or **Interpolate**: *{mine[0]}* is in their Dataset menus.")


def forget_session(request: gr.Request):
    """When a browser tab closes: stop its run and delete its uploads' models and checkpoints."""
    folder = session_folder(request, create=False)  # a session that never trained has none to delete
    with _stops_lock:
        stop = _stops.pop(folder.name, None)
        if stop is not None:  # the run ends at its next step and saves; train_model then deletes that too
            _forgotten.add(folder.name)
            stop.set()
    _delete(folder)


def _delete(folder: Path):
    for path in folder.glob("*.safetensors"):
        genimg.forget(str(path))
    shutil.rmtree(folder, ignore_errors=True)


def controls_for(family, data_label):
    """The GAN's knobs for the GAN only, the upload for one's own images; the family's own learning rate and
    batch size (a changed family starts from what suits it)."""
    recipe = genimg.lab_recipe(family) if family in genimg.LAB else {}
    return (gr.update(visible=family == "dcgan"), gr.update(visible=data_label == OWN),
            gr.update(value=recipe.get("lr")), gr.update(value=recipe.get("batch_size")))


def build_tab(targets: list):
    """targets: the (Model, Dataset) menus of the tabs a trained model can be used in."""
    with gr.Tab("Train", id="train"):
        gr.Markdown(SUMMARY)
        with gr.Row():
            with gr.Column(scale=1):
                family = gr.Radio(choices=family_choices(), value="dcgan", label="Model")
                data = gr.Radio(choices=list(DATA_CHOICES), value="MNIST", label="Learn from")
                with gr.Group(visible=False) as own_box:
                    files = gr.File(file_count="multiple", file_types=["image", ".zip"], height=180,
                                    label="Your pictures: 16 to 2,000 images, or a zip of them")
                    with gr.Row():
                        side = gr.Radio(choices=[28, 32], value=32, label="Size (pixels)")
                        colour = gr.Radio(choices=list(COLOUR_CHOICES), value="Automatic", label="Colour")
                seconds = gr.Slider(minimum=genimg.LAB_MIN_SECONDS, maximum=genimg.LAB_MAX_SECONDS, value=60, step=10,
                                    label="Time budget (seconds)")
                with gr.Row():
                    lr = gr.Number(value=genimg.lab_recipe("dcgan")["lr"], label="Learning rate",
                                   minimum=genimg.LAB_MIN_LR, maximum=genimg.LAB_MAX_LR)
                    batch_size = gr.Dropdown(choices=list(genimg.LAB_BATCH_SIZES),
                                             value=genimg.lab_recipe("dcgan")["batch_size"], label="Batch size")
                with gr.Group() as gan_box:
                    with gr.Row():
                        ema = gr.Checkbox(value=True, label="EMA of the weights")
                        spectral_norm = gr.Checkbox(value=True, label="Spectral norm")
                    loss = gr.Radio(choices=["hinge", "non-saturating", "minimax"], value="hinge", label="GAN loss")
                seed = gr.Number(value=0, precision=0, label="Seed", minimum=0, maximum=genimg.MAX_SEED)
                with gr.Row():
                    train = gr.Button("Train", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
                stop_note = gr.Markdown()
            with gr.Column(scale=2):
                status = gr.Markdown("Press **Train**: the grid below changes every few seconds.")
                grid = gr.Image(label="What it draws now (the same 64 codes each time)", format="png",
                                type="filepath", elem_classes=["wide-grid"])
                losses = gr.Image(label="Losses", format="png", type="filepath")
                checkpoint_file = gr.File(label="Checkpoint (safetensors; the JSON card beside it on the server)")
                use = gr.Button("Use it in Generate and Interpolate", visible=False)
                use_note = gr.Markdown()
        checkpoint = gr.State(None)
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS, latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                        {"left": "$", "right": "$", "display": False}])
        inputs = [family, data, files, side, colour, seconds, lr, batch_size, ema, spectral_norm, loss, seed]
        train.click(train_model, inputs, [status, grid, losses, checkpoint_file, use, checkpoint, use_note, stop_note],
                    api_name="train", **queue("train"), show_progress="minimal")
        stop.click(stop_training, None, stop_note, api_name="stop_training", **queue("light"))
        outputs = [menu for pair in targets for menu in pair] + [use_note]
        def use_here(checkpoint_path):
            return use_trained(checkpoint_path, len(targets))

        use.click(use_here, checkpoint, outputs, api_visibility="private", **queue("light"))
        family.change(controls_for, [family, data], [gan_box, own_box, lr, batch_size], api_visibility="private")
        data.change(lambda f, d: controls_for(f, d)[:2], [family, data], [gan_box, own_box], api_visibility="private")
