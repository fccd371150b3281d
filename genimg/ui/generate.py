"""Generate tab: sample a grid from any generator, labelled by the dataset's classifier; the VAE manifold map."""
import gradio as gr

import genimg

from .common import (ode_controls, tab_figure, DATASET_CHOICES, GENERATOR_DATASETS, EVERY_CLASS, checkpoint_name, class_choices, conditional_label,
                     generator_entry, generator_families, gpu, lab_checkpoint, output_path, queue, user_errors)

SUMMARY = """A network learned from thousands of pictures of clothes or handwritten digits how such pictures look, and now
draws new ones from random numbers (the seed). Pick a model and press Generate: a second network says under each
picture what it thinks it shows."""  # on top of the tab, for a school class

HOW_IT_WORKS = r"""
**DCGAN.** A generator $G$ turns a random code $z \sim \mathcal N(0, I)$ into an image; a discriminator $D$
scores images as real or generated. They are trained against each other with the hinge loss:
$$L_D = \mathbb E_x[\max(0, 1 - D(x))] + \mathbb E_z[\max(0, 1 + D(G(z)))], \qquad L_G = -\mathbb E_z[D(G(z))]$$
Spectral normalisation keeps $D$ smooth, and the app uses an exponential moving average of $G$'s weights,
which gives cleaner samples than the last training step.

**Conditional GAN.** The same game with a class label $y$ given to both networks: $G(z, y)$ uses a scale and
shift per class in its batch norm; $D$ adds a *projection* term $\langle \mathrm{embed}(y), \phi(x) \rangle$.
Choose the class and the generator must draw that class.

**VAE.** An encoder maps an image to a Gaussian $q(z|x)$, a decoder maps $z$ back to pixel probabilities.
It maximises the evidence lower bound:
$$\mathcal L = \mathbb E_{q(z|x)}[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,\mathcal N(0, I))$$
Sampling decodes $z \sim \mathcal N(0, I)$. VAE samples are smoother (blurrier) than GAN samples: the
reconstruction term averages over what the code leaves uncertain. With a **2-D latent** every code is a point
on a plane; the **manifold map** decodes a grid of such points, showing how the model lays out the dataset.

**Normalizing flow.** An invertible network $f$ maps an image to a code of the same size, built from layers
whose Jacobian determinant is cheap (affine couplings, invertible 1x1 convolutions, actnorm), so it is trained on
the exact likelihood $\log p(x) = \log \mathcal N(f(x); 0, I) + \log|\det \partial f / \partial x|$ and draws
by running $f$ backwards from a Gaussian code. See the *Likelihood* tab.

**Flow matching.** A U-Net learns the velocity that carries noise to images along straight lines
($x_t = (1-t)\,x_0 + t\,x_1$, target $x_1 - x_0$); drawing integrates it in *steps* (Euler or Heun), with
*guidance* pushing each step towards the chosen class. The idea behind today's diffusion models; see the
*Step through* tab.

**Controls.** *Seed*: the same seed always gives the same images. *Truncation* (GANs): redraw code values
beyond $\pm t$, then rescale the codes to the spread the generator was trained on; smaller $t$ leaves out the
codes' outlying values (0 = off). Without the rescaling the codes would shrink, and the generator's batch norm
(its statistics measured on full-size codes) would turn them into dim, faded images. Our small generators
change little otherwise, which is itself a lesson: truncation pays off in big GANs whose rare codes draw broken
images. *Temperature* (VAEs, flows): the standard deviation of the codes; below 1 gives safer, plainer images, above 1
stranger ones. *Steps, guidance, sampler* (flow matching): see the *Step through* tab.
Under each image: the label and confidence of a separate CNN classifier trained on the same dataset.
"""


@gpu
@user_errors
def generate_grid(family_label, dataset_label, class_label, seed, count, truncation, temperature,
                  steps=genimg.DEFAULT_ODE_STEPS, guidance=genimg.DEFAULT_GUIDANCE, sampler="Euler"):
    """Draw a grid of 28x28 grayscale images from one of the shipped generators (GAN or VAE, trained on MNIST digits
    or Fashion-MNIST clothes), each captioned with the label and confidence of a separate classifier.

    Args:
        family_label: the generator, by its menu name (the conditional GAN is the one that takes a class).
        dataset_label: what it was trained on: "Fashion-MNIST" (clothes) or "MNIST" (handwritten digits).
        class_label: conditional GAN only: the class to draw ("Sneaker", "7", ...) or "(one of each)"; other models ignore it.
        seed: a whole number >= 0; the same seed and settings always give the same images.
        count: how many images, 1 to 64.
        truncation: GANs only: redraw latent values beyond +-t (then rescaled to unit variance), 0 = off.
        temperature: VAEs and flows only: the spread of the latent codes, 1 = as trained; lower is safer and
            plainer (0 to 2).
        steps: flow matching only: ODE steps from noise to image, 1 to 100 (more: more accurate, slower).
        guidance: flow matching only: classifier-free guidance scale, 0 to 8 (1 = plain conditional model;
            higher = more typical of the class, less varied).
        sampler: flow matching only: "Euler" (one network call per step) or "Heun" (two, more accurate).
    Returns:
        the grid as a PNG file, the same PNG for download, and a markdown line naming the model, seed and training.
    """
    model = genimg.load(checkpoint_name(family_label, dataset_label))
    label = class_label if model.conditional and class_label not in (None, "", EVERY_CLASS) else None
    knob = model.record.latent_knob
    ode = dict(steps=steps, guidance=guidance, sampler=sampler) if model.record.ode_sampler else {}
    images = genimg.generate(model, n=count, seed=seed, label=label,
                             truncation=(truncation or None) if knob == "truncation" else None,
                             temperature=temperature if knob == "temperature" else None, **ode)
    try:
        captions = [f"{name} {confidence:.0%}" for name, confidence in genimg.classify(images, model.dataset)]
        note = "Under each image: the classifier's label and confidence."
    except ValueError as error:  # the classifier is unavailable: show the samples without labels
        captions, note = None, f"Labels unavailable: {error}"
    picture = genimg.grid(images, columns=min(8, len(images)), scale=4, captions=captions)
    path = output_path(".png")
    picture.save(path)
    card = model.card
    settings = f" {int(steps)} {sampler} steps, guidance {float(guidance):g}." if ode else ""
    info = (f"**{model.name}**: {len(images)} images, seed {int(seed)}.{settings} Trained {card['steps']:,} steps in "
            f"{card['wall_time_s'] / 60:.0f} min on {card['device']}. {note}")
    return path, path, info


@user_errors
def manifold_map(dataset_label, size):
    """Map the 2-D latent space of the VAE with a 2-number code: decode a size x size grid of codes spread over the
    plane into one image, showing how the model lays out the dataset's classes.

    Args:
        dataset_label: "Fashion-MNIST" (clothes) or "MNIST" (handwritten digits).
        size: the number of codes along each side of the grid, 4 to 30.
    Returns:
        the map as a PNG file.
    """
    with_map = next(label for label, entry in generator_families().items() if entry["latent_map"])
    picture = genimg.manifold(checkpoint_name(with_map, dataset_label), size=size, scale=2)
    path = output_path(".png")
    picture.save(path)
    return path


def controls_for(family_label, dataset_label):
    """Show the controls that apply to the chosen model (class, truncation, temperature, ODE steps, manifold map);
    emoji come 18 at a time (two of each category), as a colour network takes longer per picture."""
    entry = generator_entry(family_label)
    conditional = entry["kind"] == "conditional-generator" and not lab_checkpoint(dataset_label)
    return (gr.update(visible=conditional, choices=class_choices(dataset_label, genimg.class_names), value=EVERY_CLASS),
            gr.update(visible=entry["latent_knob"] == "truncation"),
            gr.update(visible=entry["latent_knob"] == "temperature", value=entry["default_temperature"]),
            gr.update(visible=entry["ode_sampler"]),
            gr.update(visible=entry["latent_map"]),
            gr.update(value=EMOJI_COUNT) if dataset_label == "Emoji" else gr.update())


EMOJI_COUNT = 18


def example_rows() -> list:
    """One click each: every generator on one of the digit datasets, with a seed that shows it well, and each that
    draws emoji on emoji."""
    rows = []
    emoji = {e["label"] for e in genimg.models(check=False).values() if e["dataset"] == "emoji"}
    for k, (label, entry) in enumerate(generator_families().items()):
        for dataset in [list(DATASET_CHOICES)[k % len(DATASET_CHOICES)]] + (["Emoji"] if label in emoji else []):
            rows.append([label, dataset, EVERY_CLASS, k + 1, EMOJI_COUNT if dataset == "Emoji" else 32, 0,
                         entry["default_temperature"], genimg.DEFAULT_ODE_STEPS, genimg.DEFAULT_GUIDANCE, "Euler"])
    return rows


def build_tab():
    with gr.Tab("Generate", id="generate"):
        gr.Markdown(SUMMARY)
        tab_figure("generate")
        with gr.Row():
            with gr.Column(scale=1):
                family = gr.Dropdown(choices=list(generator_families()), value=conditional_label(), label="Model")
                dataset = gr.Dropdown(choices=list(GENERATOR_DATASETS), value="Fashion-MNIST", label="Dataset")
                # allow_custom_value: the choices shown are Fashion-MNIST's until the dataset changes, but an API
                # call names MNIST's classes directly; genimg checks the class and explains a wrong one.
                label = gr.Dropdown(choices=class_choices("Fashion-MNIST", genimg.class_names), value=EVERY_CLASS,
                                    label="Class", visible=True, allow_custom_value=True)
                seed = gr.Number(value=0, precision=0, label="Seed", minimum=0, maximum=genimg.MAX_SEED)
                count = gr.Slider(minimum=1, maximum=genimg.MAX_IMAGES, value=32, step=1, label="Number of images")
                truncation = gr.Slider(minimum=0, maximum=genimg.MAX_TRUNCATION, value=0, step=0.1,
                                       label="Truncation (0 = off)")
                temperature = gr.Slider(minimum=0, maximum=genimg.MAX_TEMPERATURE, value=1, step=0.05,
                                        label="Temperature", visible=False)
                with gr.Group(visible=False) as ode_box:
                    steps, guidance, sampler = ode_controls()
                button = gr.Button("Generate", variant="primary")
            with gr.Column(scale=2):
                picture = gr.Image(label="Samples", format="png", type="filepath", buttons=["download", "fullscreen"],
                                   elem_classes=["wide-grid"])
                download = gr.File(label="Download PNG")
                info = gr.Markdown()
        with gr.Accordion("Manifold map (VAE with a 2-D latent)", open=False, visible=False) as manifold_box:
            size = gr.Slider(minimum=genimg.MIN_GRID, maximum=genimg.MAX_GRID, value=20, step=1, label="Grid size")
            manifold_button = gr.Button("Draw the manifold map")
            manifold_image = gr.Image(label="Decoded latent grid", format="png", type="filepath")
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS, latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                        {"left": "$", "right": "$", "display": False}])
        inputs = [family, dataset, label, seed, count, truncation, temperature, steps, guidance, sampler]
        button.click(generate_grid, inputs, [picture, download, info], api_name="generate", **queue("light"),
                     show_progress="minimal", scroll_to_output=True)
        gr.Examples(example_rows(), inputs=inputs, outputs=[picture, download, info], fn=generate_grid,
                    run_on_click=True, cache_examples=False, label="Examples (one click)")
        manifold_button.click(manifold_map, [dataset, size], manifold_image, api_name="manifold", **queue("light"),
                              show_progress="minimal", scroll_to_output=True)
        for control in (family, dataset):
            control.change(controls_for, [family, dataset],
                           [label, truncation, temperature, ode_box, manifold_box, count], api_visibility="private")
    return family, dataset
