"""Inpaint tab: paint over part of a photo (or of a digit or garment) and have it filled in."""
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

import genimg

from .common import tab_figure, gpu, save_png, queue, user_errors

EXAMPLES_DIR = Path(__file__).resolve().parent.parent.parent / "examples"
PRIOR_SUBJECT = {"mnist": "MNIST digit", "fashion-mnist": "Fashion-MNIST garment"}


PHOTO_CHOICES = {"Photo: texture": "texture", "Photo: smooth": "smooth"}  # label -> genimg.inpaint's method


def model_choices() -> dict:
    """{menu label: 'texture' / 'smooth' (the photo fills) or an unconditional generator's checkpoint}: the photo
    fills, then each prior (not the 2-D-latent ones: a plane of codes is too coarse a prior to match what is left
    of an image)."""
    choices = dict(PHOTO_CHOICES)
    priors = genimg.inpaint_priors()
    for name, entry in genimg.models(check=False).items():
        if name in priors and not entry["latent_map"]:
            choices[f"{entry['label']} prior ({PRIOR_SUBJECT.get(entry['dataset'], entry['dataset'])})"] = name
    return choices


MODEL_CHOICES = model_choices()
SAMPLE_ZOOM = 10  # 28x28 samples are shown (and painted on) at 280x280

SUMMARY = """Paint over something in a photo and it is filled from what is around it: a network, trained by filling holes cut
into thousands of photos, decides what goes where, and the texture (grass, brick, leaves) is copied in from the
rest of your photo. *Photo: smooth* shows the network's own fill: its best guess, which is smooth."""  # on top of the tab, for a school class

HOW_IT_WORKS = r"""
**Photos, texture (the default): the network's fill, rebuilt from the photo's own patches.** A network trained
to be *right on average* (below) paints the average of everything that could be in the hole: where that is
uncertain, a smooth smear. The texture that should continue is already in the photo. So the hole is rebuilt from
7x7 patches of the known pixels (Wexler, Shechtman & Irani 2007; the search is PatchMatch, Barnes et al. 2009,
the idea behind Content-Aware Fill): every patch touching the hole looks for the known patch that best matches
both what the hole holds so far *and* the network's fill at that place (blurred against blurred, so a textured
patch is not penalised for not being smooth), then each hole pixel takes the mean of what the patches over it
say. This runs on a pyramid, from about 64 pixels up: the coarse levels settle what goes where, the finer ones
the detail, and at full size each 2x2 block of the hole copies a 2x2 block of your photo. The network decides
what goes where; the photo supplies how it looks. A different *seed* gives a different fill. The price: where
the hole hid something the photo shows nowhere else, the copied texture is wrong in detail, and the measured
error per pixel is higher than the smooth fill's (see the README's table).

**Photos, smooth: a learned fill.** First a classical fill: *push-pull* (Gortler et al. 1996) averages the known pixels
in a pyramid of ever coarser grids until no cell is empty, then comes back up, each pixel taking the coarser
level's colour where its own pixels were painted over. That gives smooth colours that meet the hole's edges.
A network then adds a correction to it: a U-Net of *gated convolutions* (DeepFill v2, Yu et al. 2019) that sees
the smooth fill and the mask. Every layer computes features and, from the same input, a *gate* between 0 and 1
for each pixel and channel, and passes on features $\times$ gate: it learns which pixels to trust. The encoder
halves the resolution three times and dilated convolutions at the bottom widen its view, so the centre of a
large hole still sees the hole's edges; skip connections bring the sharp detail of the known pixels back. Its
last layer starts at zero, so before training the network *is* the smooth fill; training teaches it what that
fill gets wrong: edges and lines carried on into the hole, shading.

It was trained on crops of 423 photos (128 pixels, then 256 so that it also sees large holes) with random brush
strokes and boxes covering 5 to 50 % of each crop, to minimise $6\,\lVert M \odot (\hat y - y)\rVert_1 + \lVert (1-M) \odot (\hat y - y)\rVert_1$ (the error inside
the hole $M$ counts six times the error elsewhere), then the same with squared errors, whose best guess is
the mean of what could be there, the guess PSNR rewards, and last on each crop's PSNR in the hole, averaged over
the crops, the measure its benchmark reports. So large holes come out soft rather than with invented texture.

The network runs three times, on the photo and on half- and quarter-size copies, and each painted pixel gets a
mix of the three that depends on how deep inside the hole it lies: near the hole's rim mostly the full-size
fill, which keeps the detail of the edge it continues; from 32 pixels in, the mean of the two smaller ones,
which see a large hole's far edges closer together. **Only the painted pixels change**: the result is that fill inside the mask
and your photo, exactly, everywhere else. Large photos are filled at 768 pixels on the longer side and the fill
is enlarged into the full-size photo.

**Digits and garments: a generative prior** (Yeh et al. 2017). A VAE decoder or a GAN generator turns a 16- or
64-number code $z$ into a 28x28 image. To fill a hole, search for the code whose image best matches the pixels
you did *not* paint: minimise $\lVert (1-M) \odot (G(z) - x)\rVert^2 + 0.01\,\lVert z\rVert^2/2$ by gradient
descent on $z$ (the model stays fixed), from 8 random starts, and keep the best. The hole is then taken from
$G(z)$. What appears there is what the model believes goes with the rest: paint over the bottom of a 7 and see
whether it becomes a 7, a 9 or a 4. The seed picks the random starts.

**Controls.** The brush's size is in the editor's toolbar. *Model*: the photo network, or a prior; for a prior,
*New sample* puts a digit or garment drawn by the conditional GAN on the canvas, another one at each click
(upload your own 28x28 image if you prefer; other sizes are shrunk to 28x28 for the search). The photo network
fills at 768 pixels at most and enlarges its fill into your photo.
"""


def model_of(label) -> str:
    if label not in MODEL_CHOICES:
        raise gr.Error(f"Choose a model: {', '.join(MODEL_CHOICES)}.")
    return MODEL_CHOICES[label]


def editor_image_and_mask(value) -> tuple[Image.Image, np.ndarray]:
    """The ImageEditor's value -> (the uploaded image as RGB, the painted mask as bool): paint = alpha of the layers."""
    if not isinstance(value, dict) or value.get("background") is None:
        raise gr.Error("Open a photo (or pick an example or a sample) first, then paint over what should go.")
    background = np.asarray(value["background"])
    if background.ndim != 3 or background.shape[2] not in (3, 4):
        raise gr.Error("The canvas did not hold a colour image; upload the photo again.")
    mask = np.zeros(background.shape[:2], bool)
    for layer in value.get("layers") or []:
        layer = np.asarray(layer)
        if layer.shape[:2] != mask.shape:
            raise gr.Error(f"A paint layer is {layer.shape[1]}x{layer.shape[0]} but the photo is "
                           f"{mask.shape[1]}x{mask.shape[0]}; clear the canvas and paint again.")
        if layer.ndim == 3 and layer.shape[2] == 4:
            mask |= layer[..., 3] > 0
    return Image.fromarray(np.ascontiguousarray(background[..., :3])), mask


@gpu
@user_errors
def inpaint_image(value, model_label, seed, progress=gr.Progress()):
    """Fill in the painted part of an image: a photo with the photo network, or a 28x28 digit or garment by searching a
    generator's latent space for the image that best matches the unpainted pixels. Only painted pixels change.

    Args:
        value: the editor value {"background": the image, "layers": [RGBA images of its size whose opaque pixels mark what to fill], "composite": null}.
        model_label: "Photo: texture" (texture continued from the photo's own patches) or "Photo: smooth" (the network alone) for photos, or a generator prior (e.g. a VAE prior) for MNIST or Fashion-MNIST images.
        seed: the random tries of the texture fill's patch search, or of a prior's latent search (a whole number >= 0).
    Returns:
        the original, the mask (white = filled) and the filled image as PNG files, the filled PNG for download, and a markdown note.
    """
    image, mask = editor_image_and_mask(value)
    model = model_of(model_label)
    original, mask_png = save_png(image), save_png(Image.fromarray(mask.astype(np.uint8) * 255))
    if not mask.any():
        gr.Warning("Nothing is painted: the image is returned unchanged. Paint over what should go with the brush.")
        return original, mask_png, original, original, "The mask is empty: nothing was filled."
    share = mask.mean()
    if model in PHOTO_CHOICES.values():
        filled = genimg.inpaint(image, mask, None, seed=int(seed), method=model)
        name = (f"{genimg.photo_inpainter()} guiding a patch synthesis (seed {int(seed)})" if model == "texture"
                else f"{genimg.photo_inpainter()} (smooth)")
    else:
        filled = genimg.inpaint(image, mask, model, seed=int(seed), progress=lambda f: progress(f, desc="Searching the latent space"))
        name = f"{model} (latent search, seed {int(seed)})"
    result = save_png(filled)
    info = (f"**{name}** filled {share:.1%} of the {image.width}x{image.height} image; every unpainted pixel is "
            f"unchanged. The download is a lossless PNG.")
    return original, mask_png, result, result, info


@user_errors
def new_sample(model_label, seed, drawn=0):
    """Put a digit or garment drawn by the conditional GAN on the inpainting canvas (enlarged 10x to 280x280), to paint
    over and fill with a prior.

    Args:
        model_label: a generator prior (not a "Photo: ..." fill); the sample comes from its dataset.
        seed: picks the sample and its class (a whole number >= 0).
    Returns:
        the editor value with the sample as background and no paint.
    """
    model = model_of(model_label)
    if model in PHOTO_CHOICES.values():
        raise gr.Error("Samples are for the VAE and GAN priors; for photos, upload a photo or pick an example.")
    conditional = genimg.find_kind("conditional-generator", genimg.load(model).dataset)
    index = int(seed) + int(drawn or 0)  # each click of the tab's button draws the next one
    sample = genimg.generate(conditional, n=1, seed=index, label=index % len(conditional.classes))[0]
    big = sample.convert("RGB").resize((28 * SAMPLE_ZOOM, 28 * SAMPLE_ZOOM), Image.Resampling.NEAREST)
    return {"background": np.asarray(big), "layers": [], "composite": np.asarray(big)}


def next_sample(model_label, seed, drawn):
    """The tab's New sample button: the next sample each click (a counter kept per browser session)."""
    return new_sample(model_label, seed, drawn), int(drawn or 0) + 1


EDITOR_SIDE = 1536  # the longest side a photo keeps in the editor: bigger ones are shrunk on the server first


@user_errors
def open_photo(path):
    """Open an uploaded photo for painting: checked (not an image, truncated, animated, over the size limit: a
    message) and shrunk on the server to at most EDITOR_SIDE pixels on its longer side, so the browser's editor
    never decodes a huge original (a 6000x6000 JPEG froze the tab for half a minute at a time).

    Args:
        path: the uploaded image file.
    Returns:
        the editor value with the photo as background and no paint, and a markdown note.
    """
    if path is None:
        raise gr.Error("Choose a photo to open.")
    image = genimg.load_image(path, task="inpaint")
    note = ""
    if max(image.size) > EDITOR_SIDE:
        original = image.size
        image = image.copy()
        image.thumbnail((EDITOR_SIDE, EDITOR_SIDE), Image.Resampling.LANCZOS)
        note = (f"The photo was {original[0]}x{original[1]}; it is shown and filled at {image.width}x{image.height} "
                f"(at most {EDITOR_SIDE} pixels a side here).")
    return editor_value(image), note


MAX_UNDO = 20  # earlier pictures kept per browser tab for Undo (paths of PNG results, swept with the other results)


def editor_value(image) -> dict:
    array = np.asarray(image.convert("RGBA"))
    return {"background": array, "layers": [], "composite": array}


@user_errors
def paint_on_result(result, before, history):
    """Put the filled image into the editor to paint and fill again; the picture it was filled from goes on the
    Undo list.

    Args:
        result: the filled image (PNG path) of the last Fill.
        before: the image (PNG path) that Fill started from.
        history: the Undo list of this browser tab (paths), oldest first.
    Returns:
        the editor value, the Undo list, and a markdown note.
    """
    if result is None:
        raise gr.Error("Fill something first: then the result can be painted on again.")
    history = ([*(history or []), before] if before else list(history or []))[-MAX_UNDO:]
    return (editor_value(genimg.load_image(result, task="inpaint")), history,
            f"Painting on the filled image; Undo goes back one fill ({len(history)} kept).")


@user_errors
def undo_fill(history):
    """Back to the picture before the last fill that was painted on (Undo, as many times as fills were kept).

    Args:
        history: the Undo list of this browser tab (paths), oldest first.
    Returns:
        the editor value, the shorter Undo list, and a markdown note.
    """
    if not history:
        raise gr.Error("Nothing to undo: Undo goes back past fills you went on painting on.")
    *rest, last = history
    try:
        image = genimg.load_image(last, task="inpaint")
    except ValueError:
        raise gr.Error("That earlier picture is gone (results are kept for a limited time): open the photo again.") \
            from None
    return editor_value(image), rest, f"Back one fill ({len(rest)} more to undo)."


def prior_controls(model_label):
    """New sample only for the priors; switching model clears the last result (it belonged to the other model)."""
    cleared = (None, None, None, None, "")
    return (gr.update(visible=MODEL_CHOICES.get(model_label) not in PHOTO_CHOICES.values()), *cleared)


def example_rows() -> list:
    names = ["chelsea.png", "rocket.jpg", "coffee.png"]
    return [[str(EXAMPLES_DIR / name)] for name in names if (EXAMPLES_DIR / name).is_file()]


def brush(size) -> gr.Brush:
    return gr.Brush(default_size=int(size), colors=["#ffffff"], color_mode="fixed")


def build_tab():
    with gr.Tab("Inpaint", id="inpaint"):
        gr.Markdown(SUMMARY)
        tab_figure("inpaint")
        with gr.Row():
            with gr.Column(scale=1):
                # Photos come in through the Open button, shrunk on the server; the editor's own upload would
                # make the browser decode the full-size file into a canvas first.
                editor = gr.ImageEditor(
                    # PNG: the photo reaches the browser and comes back without the lossy WebP of gradio's default.
                    label="Paint over what should go", type="numpy", image_mode="RGBA", sources=["clipboard"],
                    format="png",
                    layers=False, transforms=(), brush=brush(24), eraser=gr.Eraser(default_size=24),
                    elem_id="inpaint_in")
                opener = gr.UploadButton("Open a photo...", file_types=["image"], type="filepath",
                                         elem_id="inpaint_open")
                opened_note = gr.Markdown()
                model = gr.Radio(choices=list(MODEL_CHOICES), value="Photo: texture", label="Model")
                seed = gr.Number(value=0, precision=0, minimum=0, maximum=genimg.MAX_SEED,
                                 label="Seed (another texture fill, or a prior's random starts)")
                with gr.Row():
                    sample_button = gr.Button("New sample", visible=False)
                    drawn = gr.State(0)
                    button = gr.Button("Fill", variant="primary")
                rows = example_rows()
                if rows:
                    example_photo = gr.Image(visible=False, type="numpy")
                    gr.Examples(rows, inputs=[example_photo], label="Example photos")
                    example_photo.change(lambda x: x, example_photo, editor, api_name=False)
            with gr.Column(scale=1):
                with gr.Row():
                    original_out = gr.Image(label="Original", format="png", type="filepath")
                    mask_out = gr.Image(label="Mask", format="png", type="filepath", image_mode="L")
                result_out = gr.Image(label="Filled", format="png", type="filepath")
                with gr.Row():
                    again = gr.Button("Paint on the result")
                    undo = gr.Button("Undo a fill")
                history = gr.State([])
                download = gr.File(label="Filled image (PNG)")
                info = gr.Markdown()
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS, latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                        {"left": "$", "right": "$", "display": False}])
        opener.upload(open_photo, opener, [editor, opened_note], api_name="inpaint_open", **queue("light")).then(
            lambda: [], None, history, api_visibility="private", queue=False)  # a new photo: nothing to undo
        again.click(paint_on_result, [result_out, original_out, history], [editor, history, opened_note],
                    api_name="inpaint_again", **queue("light"), show_progress="hidden")
        undo.click(undo_fill, history, [editor, history, opened_note], api_name="inpaint_undo", **queue("light"),
                   show_progress="hidden")
        # No progress overlay on the editor: with one, the canvas sometimes stayed under a spinner after the sample
        # had arrived (seen in headless Chromium), and strokes painted meanwhile were lost.
        sample_button.click(next_sample, [model, seed, drawn], [editor, drawn], api_name="inpaint_sample",
                            **queue("light"), show_progress="hidden")
        model.change(prior_controls, model, [sample_button, original_out, mask_out, result_out, download, info],
                     api_visibility="private", queue=False)
        button.click(inpaint_image, [editor, model, seed], [original_out, mask_out, result_out, download, info],
                     api_name="inpaint", **queue("heavy"), show_progress="minimal", scroll_to_output=True)
