"""Likelihood tab: how likely a normalizing flow finds any drawing or picture, among its test set's; and what
likelihood does (not) know: the other dataset's images under the same flow."""
import gradio as gr

import genimg

from .common import DATASET_CHOICES, drawing_pad, drawn_image, gpu, queue, save_png, tab_figure, user_errors

SUMMARY = """A normalizing flow can say exactly how likely a picture is under what it learned: fewer bits per pixel means
"this looks like my training pictures". Draw a digit or upload a picture and see where it falls among real test
pictures; then see the surprise below: a flow trained on clothes may find handwritten digits *more* likely."""

HOW_IT_WORKS = r"""
A **normalizing flow** is an invertible network $f$ that turns an image $x$ into a code $z = f(x)$ of the same
size. Because it is invertible, the change of variables gives the exact density:
$$\log p(x) = \log \mathcal N(f(x); 0, I) + \log \left|\det \frac{\partial f}{\partial x}\right|$$
Each layer is built so that its determinant is cheap: an **affine coupling** layer leaves half the channels
unchanged and uses them to scale and shift the other half (its Jacobian is triangular: the log-determinant is the
sum of the log scales); an **invertible 1x1 convolution** mixes the channels; **actnorm** normalises them.
**Squeeze** turns each 2x2 block of pixels into 4 channels, and half the channels are *factored out* halfway
(multi-scale, as RealNVP and Glow do). Training maximises $\log p(x)$ of the training images; sampling runs $f$
backwards from Gaussian codes (the *temperature* scales the codes).

**Bits per dimension** $= -\log_2 p(x) / 784$ for a 28x28 image with 256 grey levels (pixels get uniform
noise within their grey level, *dequantization*, so that a density makes sense). Published flows reach about
1.0 on MNIST (RealNVP 1.06, Glow 1.05); 8 bits would be a model that knows nothing.

**What does likelihood know?** Likelihood rewards images that are *easy to compress*, not only images that look
like the training set. Digits are mostly black background, which any flow finds cheap; so a flow trained on
clothes can give digits more likelihood than clothes (Nalisnick et al. 2019, "Do deep generative models know
what they don't know?"). Likelihood alone is a poor detector of "this is not what I was trained on".

A drawing is read the way MNIST was made: dark strokes on a light page are inverted, the drawing is cropped,
fitted into 20x20 and centred by its centre of mass on a 28x28 canvas (the small picture shows what the flow sees).
"""


def flow_name(dataset_label) -> str:
    if dataset_label not in DATASET_CHOICES:
        raise gr.Error(f"Unknown dataset {dataset_label!r}; choose one of {', '.join(DATASET_CHOICES)}.")
    dataset = DATASET_CHOICES[dataset_label]
    names = [n for n in genimg.likelihood_models() if genimg.models(check=False)[n]["dataset"] == dataset]
    if not names:
        raise gr.Error(f"No normalizing flow is shipped for {dataset_label}.")
    return names[0]


def comparison_figure(name, marker=None):
    model = genimg.load(name)
    metrics = model.card.get("metrics", {}).get("likelihood")
    if not metrics:
        return None
    dataset = model.dataset
    labels = {v: k for k, v in DATASET_CHOICES.items()}
    histogram = metrics["histogram"]
    return genimg.histogram_plot(
        histogram["edges"],
        {f"{labels[dataset]} test (trained on)": histogram["own"],
         f"{labels[metrics['other_dataset']]} test (never seen)": histogram["other"]},
        marker=marker, title=f"{name}: bits per pixel of 10,000 test images of each dataset")


@gpu
@user_errors
def score(dataset_label, drawing, upload):
    """The exact likelihood, in bits per pixel, of a drawn or uploaded picture under the normalizing flow trained
    on a dataset, and where it falls among that dataset's test images.

    Args:
        dataset_label: the flow to ask, by the dataset it learned: "MNIST" (digits) or "Fashion-MNIST" (clothes).
        drawing: a sketchpad value (a dict with "composite", or "background" and "layers"); ignored when an upload
            is given.
        upload: an image file (any size: it is read as a 28x28 digit), or None.
    Returns:
        the histogram with the picture's value marked (PNG), what the flow sees (a 28x28 PNG), and a markdown
        sentence.
    """
    name = flow_name(dataset_label)
    image = drawn_image(drawing, upload)
    seen = genimg.as_digit_image(image)
    bits = genimg.log_likelihood(name, [seen])[0]
    share = genimg.test_percentile(name, bits)
    figure = comparison_figure(name, (bits, f"your picture: {bits:.2f}"))
    where = (f" The flow finds it more likely than {share:.0%} of the real {dataset_label} test images."
             if share is not None else "")
    text = f"**{bits:.3f} bits per pixel** under `{name}` (lower = more likely).{where}"
    return (save_png(figure) if figure else None), save_png(seen.resize((112, 112), 0)), text


def knows_text() -> str:
    """The measured answer to "what does likelihood know?", from the flows' cards."""
    lines = []
    labels = {v: k for k, v in DATASET_CHOICES.items()}
    for name in genimg.likelihood_models():
        try:
            model = genimg.load(name)
        except ValueError:
            continue
        m = model.card.get("metrics", {}).get("likelihood")
        if not m:
            continue
        lines.append(f"- `{name}` (trained on {labels[model.dataset]}): {m['test_bits_per_dim']:.2f} bits/pixel on "
                     f"its own test images, **{m['other_test_bits_per_dim']:.2f}** on {labels[m['other_dataset']]} "
                     f"test images; {m['other_more_likely_share']:.0%} of those are more likely to it than its median "
                     f"own test image.")
    return "\n".join(lines) or "Not measured yet: `python -m genimg.bench likelihood --update-cards`."


def build_tab():
    with gr.Tab("Likelihood", id="likelihood") as tab:
        gr.Markdown(SUMMARY)
        tab_figure("likelihood")
        with gr.Row():
            with gr.Column(scale=1):
                dataset = gr.Dropdown(choices=list(DATASET_CHOICES), value="MNIST", label="Flow trained on")
                drawing = drawing_pad("Draw here (a digit or a garment)", side=280, pen=20)
                upload = gr.Image(label="...or upload a picture", type="pil", sources=["upload", "clipboard"],
                                  height=160)
                button = gr.Button("How likely?", variant="primary")
            with gr.Column(scale=2):
                figure = gr.Image(label="Where it falls among the test images", format="png", type="filepath")
                with gr.Row():
                    seen = gr.Image(label="What the flow sees (28x28)", format="png", type="filepath", height=150)
                    info = gr.Markdown()
        gr.Markdown("### What does likelihood know?\n" + knows_text())
        with gr.Row():
            # Drawn when the tab opens (a file made at start-up would be swept from the output folder an hour later).
            figures = [gr.Image(label=name, format="png", type="filepath", interactive=False)
                       for name in genimg.likelihood_models()]
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS, latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                        {"left": "$", "right": "$", "display": False}])
        button.click(score, [dataset, drawing, upload], [figure, seen, info], api_name="likelihood",
                     **queue("light"), show_progress="minimal", scroll_to_output=True)
        tab.select(comparison_figures, None, figures, api_visibility="private")


def comparison_figures() -> list:
    paths = []
    for name in genimg.likelihood_models():
        try:
            picture = comparison_figure(name)
        except ValueError:  # the flow is unavailable
            picture = None
        paths.append(save_png(picture) if picture is not None else None)
    return paths
