"""Compare tab: every generator family on one dataset and one seed, side by side, with its measured numbers."""
import gradio as gr

import genimg

from .common import DATASET_CHOICES, gpu, save_png, queue, user_errors

COUNT = 20  # images per family: two of each class for the conditional models

SUMMARY = """Five ways to teach a computer to draw, trained on the same pictures, each drawing 20 new ones from the same seed.
Under each grid: how close its pictures are to real ones, how often they show the class asked for, and how fast
and big the model is."""

GUIDE = """
**What to look for.**
- **Sharpness vs coverage.** GANs draw sharp images, because their discriminator punishes anything blurry, but
  nothing forces them to cover every kind of image (mode collapse). VAEs cover the data (every training image must
  be reconstructable) but average what they are unsure of: blur.
- **Likelihood.** Only the **normalizing flow** gives the exact probability of an image (bits per pixel; see the
  Likelihood tab), at the cost of an architecture that must stay invertible; its samples are the least
  convincing here. The VAE gives a bound on it; GANs and flow matching give none.
- **Quality vs speed.** **Flow matching** (the idea behind today's diffusion models) is at or near the lowest
  FD here and obeys the class best (see the table), but needs many network calls per image (steps x 2 with
  guidance), where a GAN, a VAE or a flow needs one.
- **FD** is the Fréchet distance between the generated and the real test images in a classifier's features
  (lower is better; "x floor" divides by the distance between two real halves, so 1 is as good as real data).
"""


def comparison_families() -> list:
    """The generator families to compare, one entry each (the 2-D-latent VAE is the VAE's map, not a family of its
    own here)."""
    seen, entries = set(), []
    for name, entry in genimg.models(check=False).items():
        if entry["kind"] in genimg.GENERATOR_KINDS and not entry["latent_map"] and entry["family"] not in seen:
            seen.add(entry["family"])
            entries.append(entry)
    return entries


def measured(model) -> dict:
    """The numbers under a grid, from the model's card (None where not measured); the parameter count is read off
    the loaded network itself."""
    card = model.card
    metrics = card.get("metrics", {})
    quality = metrics.get("quality", {})
    likelihood = metrics.get("likelihood", {})
    return {
        "fd_ratio": quality.get("fd_ratio_to_floor"), "agreement": quality.get("class_agreement"),
        "bits": likelihood.get("test_bits_per_dim"), "elbo_bits": metrics.get("neg_elbo_bits_per_dim_bernoulli"),
        "ms_64": (metrics.get("sample_64_ms") or {}).get("ms"),
        "parameters": sum(p.numel() for p in model.module.parameters()),
        "minutes": card.get("wall_time_s", 0) / 60, "device": card.get("device", "?"),
    }


def caption(label: str, numbers: dict) -> str:
    parts = [label]
    if numbers["fd_ratio"] is not None:
        parts.append(f"FD {numbers['fd_ratio']:.1f}x floor")
    if numbers["agreement"] is not None:
        parts.append(f"class {numbers['agreement']:.0%}")
    if numbers["bits"] is not None:
        parts.append(f"{numbers['bits']:.2f} bits/px")
    if numbers["ms_64"] is not None:
        parts.append(f"64 in {numbers['ms_64']:.0f} ms")
    return " · ".join(parts)


def table(rows: list) -> str:
    def show(value, fmt):
        return "not measured" if value is None else format(value, fmt)
    lines = ["| model | FD (x floor) | class agreement | likelihood (bits/pixel) | 64 samples | parameters | "
             "training |", "|---|---|---|---|---|---|---|"]
    for label, name, n in rows:
        likelihood = (f"{n['bits']:.3f} (exact)" if n["bits"] is not None else
                      f"≤ {n['elbo_bits']:.3f} (ELBO bound, Bernoulli pixels)" if n["elbo_bits"] is not None else "none")
        lines.append(f"| {label} (`{name}`) | {show(n['fd_ratio'], '.2f')} | "
                     f"{'-' if n['agreement'] is None else format(n['agreement'], '.1%')} | {likelihood} | "
                     f"{'not measured' if n['ms_64'] is None else format(n['ms_64'], '.0f') + ' ms'} | "
                     f"{show(n['parameters'], ',')} | {n['minutes']:.0f} min, {n['device']} |")
    return "\n".join(lines)


@gpu
@user_errors
def compare(dataset_label, seed):
    """Draw 20 images from every generator family (DCGAN, conditional GAN, VAE, normalizing flow, flow matching)
    trained on one dataset, from the same seed, each captioned with its measured quality read from its card.

    Args:
        dataset_label: "MNIST" (digits) or "Fashion-MNIST" (clothes).
        seed: a whole number >= 0.
    Returns:
        a gallery of (PNG file, caption) per family, and a markdown table of the measured numbers.
    """
    if dataset_label not in DATASET_CHOICES:
        raise gr.Error(f"Unknown dataset {dataset_label!r}; choose one of {', '.join(DATASET_CHOICES)}.")
    seed = genimg.whole_number(seed, "seed", 0, genimg.MAX_SEED)
    gallery, rows = [], []
    for entry in comparison_families():
        try:
            model = genimg.find(entry["family"], DATASET_CHOICES[dataset_label])
        except ValueError:  # unavailable: the rest are still compared
            continue
        images = genimg.generate(model, n=COUNT, seed=seed)
        numbers = measured(model)
        gallery.append((save_png(genimg.grid(images, columns=5, scale=3)), caption(entry["label"], numbers)))
        rows.append((entry["label"], model.name, numbers))
    if not gallery:
        raise gr.Error("No generator is available for this dataset.")
    return gallery, table(rows)


def build_tab():
    with gr.Tab("Compare", id="compare"):
        gr.Markdown(SUMMARY)
        with gr.Row():
            dataset = gr.Dropdown(choices=list(DATASET_CHOICES), value="MNIST", label="Dataset", scale=2)
            seed = gr.Number(value=0, precision=0, label="Seed", minimum=0, maximum=genimg.MAX_SEED, scale=1)
            button = gr.Button("Compare", variant="primary", scale=1)
        gallery = gr.Gallery(label="Same seed, every family", columns=5, height=300, object_fit="contain",
                             allow_preview=True)
        numbers = gr.Markdown()
        gr.Markdown(GUIDE)
        button.click(compare, [dataset, seed], [gallery, numbers], api_name="compare", **queue("heavy"),
                     show_progress="minimal", scroll_to_output=True)
        gr.Examples([["MNIST", 0], ["Fashion-MNIST", 0]], inputs=[dataset, seed], outputs=[gallery, numbers],
                    fn=compare, run_on_click=True, cache_examples=False, label="Examples (one click)")
