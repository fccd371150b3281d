"""`docs`: docs/results.md and README's list of models, written from the cards of the released models.

Every number comes from a card (checkpoints/<name>.json): what the benchmarks measured (`--update-cards`) and what
training recorded. Sections are chosen by kind (genimg.family.KINDS), never by a family's name; a release of a
kind with no section is named at the end, so nothing released goes unmentioned.
"""
import json
import math
import re
from pathlib import Path

from .. import api, registry
from ..family import KINDS
from .common import ROOT

COMMAND = "python -m genimg.bench docs"
START, END = "<!-- models:start -->", "<!-- models:end -->"
DATASET_LABELS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST",  # others are shown as named
                  "scenes": "captioned scenes (MNIST + Fashion-MNIST)", "emoji": "Emoji (Twemoji and Noto)"}


# ----------------------------------------------------------------------------------------------
# Reading the cards and formatting what they hold


def load_cards() -> tuple[dict, dict]:
    """({release: card} for those that load, {release: why not} for the others), in RELEASES order."""
    cards, unavailable = {}, {}
    for name in registry.RELEASES:
        try:
            cards[name] = api.load(name).card
        except ValueError as error:
            unavailable[name] = str(error)
    return cards, unavailable


def dataset_label(name: str) -> str:
    dataset = registry.dataset_of(name)
    return DATASET_LABELS.get(dataset, dataset)


def model_cell(name: str) -> str:
    return f"{registry.family_of(name).label} `{name}`"


def num(value, digits: int = 2, suffix: str = "") -> str:
    """A number with `digits` decimals, or an empty cell when the card has none."""
    return "" if value is None else f"{value:,.{digits}f}{suffix}"


def sig(value) -> str:
    """Three significant figures, trailing zeros kept, at most three decimals (as the cards round FD): 0.145, 0.095,
    7.20, 59.0, 406."""
    if value is None:
        return ""
    if value == 0:
        return "0"
    return f"{value:.{min(3, max(0, 2 - math.floor(math.log10(abs(value)))))}f}"


def pct(value, digits: int = 1) -> str:
    return "" if value is None else f"{100 * value:.{digits}f} %"


def signed(value, digits: int = 2) -> str:
    return "" if value is None else f"{value:+.{digits}f}"


def duration(seconds) -> str:
    if seconds is None:
        return ""
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def stages(card: dict) -> list:
    """The training stages that led to this checkpoint (the card's own run when it records none)."""
    return card.get("stages") or [{"checkpoint": card.get("name"), "steps": card.get("steps"),
                                   "wall_time_s": card.get("wall_time_s"), "device": card.get("device"),
                                   "command": card.get("command")}]


def training_cells(card: dict) -> list:
    """[device, steps, wall time] of the card; for a chain of stages, the last one and the whole chain."""
    chain = stages(card)
    steps, wall = card.get("steps"), card.get("wall_time_s")
    devices = sorted({s.get("device") for s in chain if s.get("device")}) or [card.get("device") or ""]
    steps_text, wall_text = num(steps, 0), duration(wall)
    if len(chain) > 1:
        total_steps = sum(s.get("steps") or 0 for s in chain)
        total_wall = sum(s.get("wall_time_s") or 0 for s in chain)
        steps_text += f" (last of {len(chain)} stages; {total_steps:,} in all)"
        wall_text += f" ({duration(total_wall)} in all)"
    return [", ".join(devices), steps_text, wall_text]


def table(header: list, rows: list, align: str | None = None) -> list:
    """Markdown table lines; `align`: one letter per column, l or r (default: first left, the rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |",
            *("| " + " | ".join(str(c) for c in row) + " |" for row in rows)]


def training_table(names: list, cards: dict) -> list:
    rows = [[model_cell(name), *training_cells(cards[name])] for name in names]
    return ["Training (from the cards; the commands and every stage are in each card):", "",
            *table(["model", "trained on", "steps", "wall time"], rows, "llrr"), ""]


def measured_by(*pairs) -> list:
    """A 'Measured by' line from (what, bench command) pairs as the cards record them."""
    found: dict = {}
    for what, command in pairs:
        if command:
            found.setdefault(command, [])
            if what not in found[command]:
                found[command].append(what)
    if not found:
        return ["Measured at the end of training (the cards record no bench command).", ""]
    return ["Measured by " + "; ".join(f"`{c}`" + (f" ({' and '.join(w for w in whats if w)})" if any(whats) else "")
                                       for c, whats in found.items()) + ".", ""]


# ----------------------------------------------------------------------------------------------
# One section per kind of model


def generators_section(names: list, cards: dict, judges: list) -> list:
    lines = ["## Generators", "",
             "Fréchet distance (FD, lower is better) between samples and the real test images, in the 128-D feature "
             "space of the dataset's classifier, beside two references measured the same way: real training vs real "
             "test images (the floor: what a perfect generator would score) and the real test images blurred with a "
             "3x3 box filter (a mild, visible degradation). *Class agreement*: the classifier gives the class that was "
             "asked for (conditional generators; at truncation 1 as well, the app's variety control). *Near-copies*: "
             "share of samples within RMS 0.04 of a training image. *Bits/dim*: the normalizing flows' exact negative "
             "log-likelihood of the test set (bits per pixel, 256 grey levels; `bench likelihood`). *Test −ELBO*: the "
             "VAEs' negative evidence lower bound on the test set, in nats (training's evaluation). *64 samples*: "
             "median time of `genimg.generate(model, 64)` at its defaults on the machine that ran `bench speed` (flow "
             "matching: 20 Euler steps with guidance 2, two network calls per step).", ""]
    datasets = list(dict.fromkeys(registry.dataset_of(n) for n in names))
    for dataset in datasets:
        members = [n for n in names if registry.dataset_of(n) == dataset]
        measured = [cards[n]["metrics"].get("quality") or {} for n in members]
        reference = next((q for q in measured if q.get("fd_floor_train_vs_test")), {})
        floor, blurred = reference.get("fd_floor_train_vs_test"), reference.get("fd_blurred_test")
        judge = next((j for j in judges if registry.dataset_of(j) == dataset), None)
        accuracy = cards[judge]["metrics"].get("test_accuracy") if judge else None
        header = ["model", "FD", "× floor", "× blurred", "class agreement", "at truncation 1", "near-copies",
                  "bits/dim", "test −ELBO", "64 samples"]
        rows = []
        if floor is not None:
            rows.append(["real train vs real test (the floor)", sig(floor), "1", sig(floor / blurred) if blurred else "",
                         pct(accuracy, 2) + " (classifier's test accuracy)" if accuracy is not None else "", "", "",
                         "", "", ""])
        if blurred is not None:
            rows.append(["real test, 3x3 box blur", sig(blurred), sig(blurred / floor) if floor else "", "1", "", "",
                         "", "", "", ""])
        for name, q in zip(members, measured):
            m = cards[name]["metrics"]
            rows.append([model_cell(name), sig(q.get("fd")), sig(q.get("fd_ratio_to_floor")),
                         sig(q.get("fd_ratio_to_blurred")), pct(q.get("class_agreement")),
                         pct(q.get("class_agreement_truncation_1")), pct(q.get("copy_share"), 2),
                         num((m.get("likelihood") or {}).get("test_bits_per_dim"), 3), num(m.get("test_neg_elbo_nats"), 1),
                         num((m.get("sample_64_ms") or {}).get("ms"), 0, " ms")])
        samples = sorted({q.get("n_samples") for q in measured if q.get("n_samples")})
        lines += [f"### {DATASET_LABELS.get(dataset, dataset)}", "", *table(header, rows), ""]
        if samples:
            lines += [f"{' or '.join(f'{s:,}' for s in samples)} samples per model."]
        lines += measured_by(*(("", q.get("command")) for q in measured))
        lines += training_table(members, cards)
    lines += likelihood_section(names, cards)
    return lines


def likelihood_section(names: list, cards: dict) -> list:
    """What does likelihood know? Each flow's bits/dim on its own test set and on the other dataset's."""
    rows = []
    for name in names:
        lk = cards[name].get("metrics", {}).get("likelihood")
        if lk:
            rows.append([model_cell(name), num(lk["test_bits_per_dim"], 3),
                         f"{num(lk['other_test_bits_per_dim'], 3)} ({DATASET_LABELS.get(lk['other_dataset'])})",
                         pct(lk["other_more_likely_share"])])
    if not rows:
        return []
    command = next(cards[n]["metrics"]["likelihood"].get("command") for n in names
                   if cards[n].get("metrics", {}).get("likelihood"))
    return ["### What does likelihood know?", "",
            "Each flow's bits/dim on its own test set and on the other dataset's test set (10,000 images each, one "
            "fixed draw of dequantization noise); the last column is the share of the other dataset's images that the "
            "flow finds more likely than the median image of its own test set (Nalisnick et al. 2019).", "",
            *table(["flow", "own test set", "other test set", "other more likely than own median"], rows), "",
            *measured_by(("", command))]


def classifiers_section(names: list, cards: dict) -> list:
    rows = [[model_cell(n), pct(cards[n]["metrics"].get("test_accuracy"), 2), *training_cells(cards[n])]
            for n in names]
    return ["## Classifiers", "",
            "They label the generators' samples and give the feature space of the Fréchet distances above; their "
            "accuracy on the whole test set:", "",
            *table(["model", "test accuracy", "trained on", "steps", "wall time"], rows, "lrlrr"), "",
            "The cards' test accuracy is written at the end of training and again by "
            "`python -m genimg.bench quality --update-cards`.", ""]


def upscaler_measures(card: dict) -> tuple[dict, str, str | None]:
    """(the x2/x4 results, where they were measured, the command): the bench's, else training's evaluation."""
    m = card["metrics"]
    if m.get("benchmark"):
        b = m["benchmark"]
        return b, f"{b.get('images')} images of `{b.get('data')}`", b.get("command")
    return m, f"`{m.get('val_images')}` at the end of training", None


def upscalers_section(names: list, cards: dict) -> list:
    lines = ["## Upscalers", "",
             "PSNR (dB) and SSIM on the luma (Y) channel with `scale` pixels shaved at each border, the inputs made by "
             "MATLAB-compatible bicubic downscaling of each photo (the super-resolution papers' protocol); the gain "
             "over bicubic in brackets. Speed: `genimg.upscale` of a 256x256 photo, median after a warm-up.", ""]
    header = ["model", "x2 PSNR", "x2 SSIM", "x4 PSNR", "x4 SSIM", "256² → x2", "256² → x4", "inference"]
    rows, places, commands, bicubic = [], [], [], None
    for name in names:
        measures, where, command = upscaler_measures(cards[name])
        places.append(where)
        speed = cards[name]["metrics"].get("speed_256px") or {}
        commands += [("PSNR/SSIM", command), ("speed", speed.get("command"))]
        setup = measures.get("inference") or speed.get("inference") or {}
        inference = ", ".join(filter(None, [
            {1: "one pass", 2: "2 views averaged"}.get(setup.get("views"), ""), setup.get("dtype"),
            f"{speed['threads']} threads" if speed.get("threads") else ""]))
        cells = []
        for scale in ("x2", "x4"):
            r = measures.get(scale) or {}
            if bicubic is None and r.get("bicubic_psnr") is not None:
                bicubic = {s: (measures.get(s) or {}) for s in ("x2", "x4")}
            cells += [f"{num(r.get('psnr'))} ({signed(r.get('gain_db'))})" if r else "", num(r.get("ssim"), 4)]
        times = [f"{num((speed.get(s) or {}).get('median_s'), 3, ' s')} ({num((speed.get(s) or {}).get('images_per_s'), 1)}/s)"
                 if speed.get(s) else "" for s in ("x2", "x4")]
        rows.append([model_cell(name), *cells, *times, inference])
    if bicubic:
        rows.insert(0, ["bicubic", num(bicubic["x2"].get("bicubic_psnr")), num(bicubic["x2"].get("bicubic_ssim"), 4),
                        num(bicubic["x4"].get("bicubic_psnr")), num(bicubic["x4"].get("bicubic_ssim"), 4), "", "", ""])
    lines += table(header, rows, "lrrrrrrl") + [""]
    lines += [f"On {' / '.join(dict.fromkeys(places))}."]
    lines += measured_by(*commands)
    lines += training_table(names, cards)
    return lines


def inpainter_section(names: list, cards: dict) -> list:
    lines = ["## Inpainters", "",
             "Three fills on the same seeded masks, per share of the photo masked: *texture* (the app's default: the "
             "hole rebuilt from the photo's own patches, chosen to agree with the network's fill), *smooth* (the "
             "network alone) and OpenCV's Telea fill. *Texture FD*: Fréchet distance between VGG16 relu3_3 "
             "statistics (mean and spread per channel) of 32x32 patches lying at least 3/4 in the hole, in the fill "
             "and in the original at the same places; lower means textures more like the real ones. *Hole PSNR*: only "
             "the filled pixels, on Y; a fill that guesses the average of what could be there scores best on it. "
             "Speed: `genimg.inpaint` of a 512x512 photo with a 30-40 % mask, median after a warm-up.", ""]
    for name in names:
        m = cards[name]["metrics"]
        b = m.get("benchmark") or {}
        buckets = [k for k in b if isinstance(b[k], dict) and "network" in b[k]]
        lines += [f"### {model_cell(name)}", ""]
        if buckets:
            rows = []
            for bucket in buckets:
                row = b[bucket]
                tex, net, telea = row.get("texture") or {}, row["network"], row.get("telea") or {}
                rows.append([bucket, num(tex.get("texture_fd"), 0), num(net.get("texture_fd"), 0),
                             num(telea.get("texture_fd"), 0), num(tex.get("hole_psnr")), num(net.get("hole_psnr")),
                             num(telea.get("hole_psnr")), signed(row.get("texture_gain_db")),
                             signed(row.get("hole_gain_db")), str(row.get("texture_patches", ""))])
            lines += table(["masked", "texture FD: texture", "smooth", "Telea", "hole PSNR: texture", "smooth",
                            "Telea", "texture − Telea (dB)", "smooth − Telea (dB)", "patches"], rows) + [""]
            passes = (b.get("passes") or {}).get("scale_rim_deep")
            lines += [f"On {b.get('images')} images of `{b.get('data')}`, {b.get('masks_per_image_and_bucket')} "
                      f"seeded mask{'' if b.get('masks_per_image_and_bucket') == 1 else 's'} per image and share" +
                      (f"; the smooth fill runs the network at {' + '.join(f'{p[0]:g}' for p in passes)} of its "
                       f"size, blended" if passes else "") + "."]
        else:
            lines += ["No benchmark in the card."]
        blind = m.get("blind_comparison") or {}
        if blind:
            lines += ["", f"Blind comparison: the {blind.get('new')} was preferred over the {blind.get('old')} in "
                          f"{blind.get('new_preferred')} of {blind.get('pairs')} pairs ({blind.get('share', 0):.0%}), "
                          f"sides hidden and shuffled; judged by {blind.get('judge')}."]
        speeds = [(label, m.get(key) or {}) for label, key in (("texture", "texture_speed_512px"),
                                                                ("smooth", "speed_512px"))]
        speeds = [f"{label} {num(sp.get('median_s'), 2, ' s')}" for label, sp in speeds if sp.get("median_s") is not None]
        if speeds:
            threads = (m.get("texture_speed_512px") or m.get("speed_512px") or {}).get("threads")
            lines += ["", f"Speed per 512x512 photo ({threads} threads): {', '.join(speeds)}."]
        lines += measured_by(("quality", b.get("command")), ("blind comparison", blind.get("command")),
                             ("speed", (m.get("texture_speed_512px") or m.get("speed_512px") or {}).get("command")))
    lines += training_table(names, cards)
    return lines


def translator_section(names: list, cards: dict) -> list:
    lines = ["## Sketch to emoji", "",
             "Each held-out emoji (never seen in training, under either artist) is turned into a drawing by the "
             "trainer's own drawing maker (a fixed seed), and the drawing translated back. *L1* and *PSNR*: against the "
             "real emoji (64x64, colour). *FD*: Fréchet distance of the translations, shrunk to 32x32, to the real test "
             "emoji in the emoji classifier's features, beside the real-vs-real floor and the 3x3-blurred test emoji. "
             "*Category*: the classifier's category of the translation is the real emoji's. *Time*: one 256x256 "
             "drawing read and translated, median.", ""]
    header = ["model", "hint", "L1", "PSNR", "FD", "× floor", "category", "time"]
    for name in names:
        t = cards[name].get("metrics", {}).get("translation")
        if not t:
            lines += [f"{model_cell(name)}: not measured yet.", ""]
            continue
        rows = [["real train vs real test (the floor)", "", "", "", sig(t["floor"]), "1", "", ""],
                ["real test, 3x3 box blur", "", "", "", sig(t["blur"]), sig(t["blur"] / t["floor"]), "", ""]]
        for hint, r in (("none", t), ("the true category", t["hint"])):
            rows.append([model_cell(name), hint, num(r["l1"], 3), num(r["psnr"], 2, " dB"), sig(r["fd"]),
                         sig(r["fd"] / t["floor"]), pct(r["category_agreement"]),
                         num(1000 * t["seconds"], 0, " ms") if t.get("seconds") is not None else ""])
        lines += [*table(header, rows), "", f"{t['n']} held-out emoji.", *measured_by(("", t.get("command")))]
    lines += training_table(names, cards)
    return lines


def scenes_section(names: list, cards: dict) -> list:
    """Text to image and the captioner, on the captioned scenes (genimg/bench/text.py)."""
    lines = ["## Words and pictures (captioned scenes)", "",
             "Scenes of one or two MNIST digits and Fashion-MNIST garments on a 32x32 canvas, captioned from where they "
             "are (genimg/scenes.py); test scenes use the test splits' images. *Held-out pairs*: pairs of items "
             "never shown one above the other in training. *Exact*: the caption equals the canonical one word for "
             "word; BLEU-4 against it. *Drawn as asked*: the captioner's reading of the picture equals the prompt's "
             "canonical caption (items, order, relation, place and size); *items by the classifiers*: each item's "
             "half of the canvas (the whole one for a single item), fitted into 28x28, named as asked by the "
             "MNIST or Fashion-MNIST classifier.", ""]
    rows, commands = [], []
    for name in names:
        m = cards[name].get("metrics", {})
        if (c := m.get("captioning")):
            rows.append([model_cell(name), f"captioning, {c['n']} test scenes: exact {pct(c['exact'])} (beam 4: "
                         f"{pct(c.get('beam4_exact'))} of {c.get('beam4_n')}), BLEU-4 {num(c['bleu4'], 3)}",
                         f"exact {pct(c['held_out_exact'])}, BLEU-4 {num(c['held_out_bleu4'], 3)}",
                         num(c.get("caption_ms"), 0, " ms") + " per caption"])
            commands.append(("captioner", c.get("command")))
        if (t := m.get("text_to_image")):
            rows.append([model_cell(name), f"{t['n_prompts']} test prompts, drawn as asked {pct(t['correct'])}; "
                         f"items by the classifiers {pct(t['items_by_classifiers'])}",
                         f"drawn as asked {pct(t['held_out_correct'])}; items "
                         f"{pct(t['held_out_items_by_classifiers'])}",
                         num(t.get("sample_16_ms"), 0, " ms") + f" for 16 pictures ({t['steps']} steps)"])
            commands.append(("text to image", t.get("command")))
    lines += table(["model", "test", "held-out pairs", "speed"], rows) + [""]
    for name in names:
        fds = (cards[name].get("metrics", {}).get("text_to_image") or {}).get("item_fd") or {}
        if fds:
            lines += ["Items of the drawn test scenes against the same items of real test scenes (each cropped and "
                      "fitted into 28x28 the same way; Fréchet distance in the classifier's features; the floor: "
                      "two draws of real scenes): " + "; ".join(
                          f"{DATASET_LABELS[d]} {num(v['fd'])} (floor {num(v['floor'])}, {v['items']} items)"
                          for d, v in fds.items()) + ".", ""]
    lines += measured_by(*commands)
    lines += training_table(names, cards)
    return lines


def stylizer_section(names: list, cards: dict) -> list:
    lines = ["## Style transfer", ""]
    for name in names:
        card = cards[name]
        m, h = card["metrics"], card.get("hyperparameters", {})
        versus = {k: v for k, v in (m.get("versus_gatys") or {}).items() if isinstance(v, dict)}
        per_style = m.get("per_style") or {}
        any_style = registry.family_of(name).kind == "arbitrary-stylizer"
        lines += [f"### {model_cell(name)}", ""]
        if any_style:
            lines += ["One pass for any style image (`genimg.stylize_any`): each preset's painting, and one painting "
                      "its decoder never saw in training, against Gatys' optimisation toward the same painting.", ""]
        first = next(iter(versus.values()), {})
        weights = (f"{h.get('content_weight'):g} content + {h.get('style_weight'):g} style + "
                   f"{h.get('tv_weight'):g} TV" if not any_style and h.get("style_weight") is not None else
                   "1 content + 600 style + 10 TV (Gatys' weights, as the presets')" if any_style else "")
        lines += ["Per preset, the perceptual losses of the network's output beside those of Gatys' optimisation "
                  "(Adam on the pixels, from the photo) on the same photo"
                  + (f" ({first.get('photo')} at {'x'.join(map(str, first.get('size', [])))})" if first else "")
                  + f". Content: {m.get('content_layer', 'VGG16')} MSE; style: relative Gram error summed over "
                  f"{', '.join(m.get('style_layers', []))}" + (f"; total = {weights}" if weights else "")
                  + ". Lower is better; the optimisation fits one photo at a time, the network paints any photo in "
                    "one pass. The last two columns: the network on the validation photos at the end of training.",
                  ""]
        rows = []
        for preset in dict.fromkeys([*versus, *per_style]):
            net, gatys = (versus.get(preset) or {}).get("network", {}), (versus.get(preset) or {}).get("gatys", {})
            val = per_style.get(preset) or {}
            rows.append([preset, num(net.get("style"), 3), num(net.get("content"), 0), num(net.get("total"), 0),
                         num(net.get("seconds"), 3, " s"), num(gatys.get("style"), 3), num(gatys.get("content"), 0),
                         num(gatys.get("total"), 0),
                         f"{num(gatys.get('seconds'), 1, ' s')} ({gatys.get('steps')} steps)" if gatys else "",
                         num(val.get("style"), 3), num(val.get("content"), 0)])
        lines += table(["painting" if any_style else "preset", "style", "content", "total", "time", "Gatys style",
                        "content", "total", "time", "val. style", "val. content"], rows) + [""]
        speed = m.get("speed") or {}
        sizes = [k for k in speed if k.endswith("px")]
        if sizes:
            lines += [("Speed (`genimg.stylize_any`, a 512x512 style image, median after a warm-up): " if any_style
                       else "Speed (`genimg.stylize`, any preset, median after a warm-up): ") + ", ".join(
                f"{num(speed[k].get('median_s'), 2, ' s')} at {k[:-2]}x{k[:-2]}" for k in sizes)
                + (f" ({speed['threads']} threads)" if speed.get("threads") else "") + "."]
        lines += measured_by(("losses", (m.get("versus_gatys") or {}).get("command")), ("speed", speed.get("command")))
    lines += training_table(names, cards)
    return lines


# ----------------------------------------------------------------------------------------------
# README: one line per released model


def headline(name: str, card: dict) -> str:
    """The model's headline measured figures from its card ("" when it records none)."""
    kind = registry.family_of(name).kind
    m = card.get("metrics", {})
    parts = []
    if kind in api.GENERATOR_KINDS:
        q = m.get("quality") or {}
        if q.get("fd") is not None:
            parts.append(f"FD {sig(q['fd'])} (floor {sig(q.get('fd_floor_train_vs_test'))}, "
                         f"blurred {sig(q.get('fd_blurred_test'))})")
        if q.get("class_agreement") is not None:
            parts.append(f"class agreement {pct(q['class_agreement'])}")
        if (m.get("likelihood") or {}).get("test_bits_per_dim") is not None:
            parts.append(f"{m['likelihood']['test_bits_per_dim']:.3f} bits/dim on the test set")
        if m.get("test_neg_elbo_nats") is not None:
            parts.append(f"test −ELBO {m['test_neg_elbo_nats']:.1f} nats")
    elif kind == "captioner" and (c := m.get("captioning")):
        parts.append(f"exact caption {pct(c['exact'])} of test scenes (BLEU-4 {c['bleu4']:.3f}), "
                     f"{pct(c['held_out_exact'])} on held-out pairs")
    elif kind == "text-to-image" and (t := m.get("text_to_image")):
        parts.append(f"{pct(t['correct'])} of test prompts drawn as asked (read back by the captioner), "
                     f"{pct(t['held_out_correct'])} on held-out pairs")
    elif kind == "translator" and (t := m.get("translation")):
        parts.append(f"PSNR {t['psnr']:.1f} dB and FD {sig(t['fd'])} (floor {sig(t['floor'])}) on the drawings of "
                     f"{t['n']} held-out emoji, category kept {pct(t['category_agreement'])}")
        if t.get("seconds") is not None:
            parts.append(f"{1000 * t['seconds']:.0f} ms per drawing")
    elif kind == "classifier":
        if m.get("test_accuracy") is not None:
            parts.append(f"test accuracy {pct(m['test_accuracy'], 2)}")
    elif kind == "upscaler":
        measures, _, _ = upscaler_measures(card)
        psnr = [f"{r['psnr']:.2f} dB at {scale} (bicubic {num(r.get('bicubic_psnr'))})"
                for scale in ("x4", "x2") if (r := measures.get(scale) or {}).get("psnr") is not None]
        if psnr:
            parts.append("PSNR-Y " + ", ".join(psnr))
        x4 = (m.get("speed_256px") or {}).get("x4") or {}
        if x4.get("median_s") is not None:
            parts.append(f"{x4['median_s']:.2f} s for 256x256 → x4")
    elif kind == "inpainter":
        b = m.get("benchmark") or {}
        rows = [b[k] for k in b if isinstance(b[k], dict) and "texture" in b[k] and "telea" in b[k]]
        if rows and all("texture_fd" in r["texture"] for r in rows):
            parts.append("texture fill: textures "
                         f"{min(r['telea']['texture_fd'] / r['texture']['texture_fd'] for r in rows):.1f}-"
                         f"{max(r['telea']['texture_fd'] / r['texture']['texture_fd'] for r in rows):.1f}x closer to "
                         f"the real ones than OpenCV's Telea (texture FD), hole PSNR "
                         f"{min(r['texture_gain_db'] for r in rows):+.2f} to {max(r['texture_gain_db'] for r in rows):+.2f}"
                         f" dB over Telea on 10-50 % masks")
        blind = m.get("blind_comparison") or {}
        if blind:
            parts.append(f"preferred to the smooth fill in {blind['new_preferred']} of {blind['pairs']} blind pairs")
        speed = m.get("texture_speed_512px") or m.get("speed_512px") or {}
        if speed.get("median_s") is not None:
            parts.append(f"{speed['median_s']:.2f} s per 512x512 photo")
    elif kind in ("stylizer", "arbitrary-stylizer"):
        versus = [v for v in (m.get("versus_gatys") or {}).values() if isinstance(v, dict) and "gatys" in v]
        speed = m.get("speed") or {}
        styles = card.get("config", {}).get("styles")
        if styles:
            parts.append(f"{len(styles)} presets")
        if (speed.get("512px") or {}).get("median_s") is not None:
            parts.append(f"{speed['512px']['median_s']:.2f} s per 512x512 photo")
        if versus:
            ratios = [v["network"]["total"] / v["gatys"]["total"] for v in versus]
            seconds = sorted(v["gatys"]["seconds"] for v in versus)[len(versus) // 2]
            size = "x".join(map(str, versus[0].get("size", [])))
            parts.append(f"perceptual loss {min(ratios):.1f}-{max(ratios):.1f}x that of Gatys' optimisation "
                         f"({versus[0]['gatys'].get('steps')} steps, {seconds:.0f} s at {size})")
    return ", ".join(parts)


def readme_lines(cards: dict, unavailable: dict) -> list:
    lines = [f"<!-- written by `{COMMAND}` from the cards: edit the cards (the benchmarks' --update-cards), "
             f"not these lines -->"]
    for name in registry.RELEASES:
        record = registry.family_of(name)
        what = KINDS[record.kind]
        if name in unavailable:
            lines.append(f"- **{record.label}**, {dataset_label(name)} (`{name}`): {what}. Unavailable here.")
            continue
        figures = headline(name, cards[name])
        lines.append(f"- **{record.label}**, {dataset_label(name)} (`{name}`): {what}"
                     + (f" — {figures}." if figures else "."))
    return lines


def rewrite_readme(path: Path, lines: list) -> bool:
    """Replace what lies between the markers; False (README untouched) when it has no markers."""
    text = path.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        return False
    new = pattern.sub(lambda _: "\n".join([START, *lines, END]), text, count=1)
    if new != text:
        path.write_text(new)
    return True


# ----------------------------------------------------------------------------------------------


LOAD_JSON = ROOT / "docs" / "load.json"  # `python -m genimg.bench load --json docs/load.json` writes it


def load_section(report: dict) -> list:
    """The app under many users (genimg/bench/load.py's report)."""
    lines = ["## The app under load", "",
             f"{report['users']} gradio_client users on this machine, {report['requests_per_user']} requests each "
             f"(the app's mix: generation four times as often as any photo task), {report['think_s'][0]:g}-"
             f"{report['think_s'][1]:g} s between a user's requests; the server on the same 2-core CPU. *p95 / alone*: "
             f"the 95th percentile under load over the median of the same request alone. *max pos*: the highest "
             f"queue position a request was shown.", ""]
    rows = [[f"`{r['endpoint']}`", r["kind"], num(r["alone_s"], 3), str(r["requests"]), num(r["p50_s"]),
             num(r["p95_s"]), num(r["p95_over_alone"], 1), str(r["failures"]), str(r["max_queue_position"])]
            for r in report["table"]]
    lines += table(["endpoint", "group", "alone (s)", "requests", "p50 (s)", "p95 (s)", "p95 / alone", "failures",
                    "max pos"], rows, "llrrrrrrr") + [""]
    if report.get("burst"):
        b = report["burst"]
        lines += [f"A burst of {b['size']} requests at once: {b['ok']} answered, {b['busy']} told "
                  f"\"{b['busy_message'] or 'the queue is full'}\", {b['failure']} failures.", ""]
    if report.get("soak"):
        samples = report["soak"]
        first, last = samples[0], samples[-1]
        second_half = [s for s in samples if s[0] >= last[0] / 2]
        lines += [f"Then {last[0]} more requests from {report.get('soak_users', 8)} users with results kept {report['keep_minutes']:g} minutes "
                  f"(`--keep-minutes`). The server's temp folder held {first[1]:g} MB at the start; over the second "
                  f"half of the requests it stayed between {min(s[1] for s in second_half):g} and "
                  f"{max(s[1] for s in second_half):g} MB (flat: what the last {report['keep_minutes']:g} minutes "
                  f"wrote), and its memory between {min(s[2] for s in second_half)} and "
                  f"{max(s[2] for s in second_half)} MB (started at {first[2]} MB).", ""]
    lines += [f"Peak memory of the server over the whole run: {report['peak_rss_mb']} MB.", "",
              *measured_by(("", report.get("command", "python -m genimg.bench load")))]
    return lines


LAB_JSON = ROOT / "docs" / "lab.json"  # `python -m genimg.bench lab ... --json docs/lab.json` writes it


def lab_section(report: dict) -> list:
    """The training lab (genimg/bench/lab.py's report): what runs of each length reach, and the app meanwhile."""
    quality = report.get("quality") or {}
    lines = ["## The training lab", ""]
    if quality.get("runs"):
        lines += [f"Runs of the Train tab's models on MNIST (`genimg.train_live`, the tab's defaults, "
                  f"{quality['threads']} threads), each scored on {quality['n_samples']:,} samples like the shipped "
                  f"generators: Fréchet distance in the MNIST classifier's features; the floor (real train vs test) "
                  f"is {num(quality['fd_floor_train_vs_test'], 3)}, test images blurred 3x3 "
                  f"{num(quality['fd_blurred_test'], 3)}. The grids: [docs/lab.png](lab.png).", ""]
        rows = [[registry.FAMILIES[family].label, f"{run['seconds']:g} s", f"{run['steps']:,}",
                 num(run["steps_per_second"], 1), num(run["fd"], 3), num(run["fd_ratio_to_floor"], 1),
                 num(run["fd_ratio_to_blurred"], 2)]
                for family, runs in quality["runs"].items() for run in runs]
        lines += table(["model", "time", "steps", "steps/s", "FD", "x floor", "x blurred"], rows, "llrrrrr") + [""]
        lines += [f"Peak memory of the process over all runs: {quality['peak_memory_mb']} MB.", ""]
    responsive = report.get("responsiveness")
    if responsive:
        lines += [f"The rest of the app while a run trains: `/generate` (64 pictures) took a median "
                  f"{num(responsive['generate_alone_median_s'], 3)} s alone and "
                  f"{num(responsive['generate_during_training_median_s'], 3)} s (p95 "
                  f"{num(responsive['generate_during_training_p95_s'], 3)} s, {responsive['calls_during']} calls) "
                  f"during a {responsive['train_seconds']:g} s DCGAN run.", ""]
    lines += measured_by(("", report.get("command", "python -m genimg.bench lab")))
    return lines


def results_markdown(cards: dict, unavailable: dict) -> str:
    shown = lambda *kinds: [n for n in registry.releases(*kinds) if n in cards]  # noqa: E731
    try:
        where = api.checkpoint_dir().resolve().relative_to(ROOT)
    except ValueError:
        where = api.checkpoint_dir()
    lines = ["# Measured results", "",
             f"*Generated by `{COMMAND}` from the cards of the released models (`{where}/<name>.json`): do not edit "
             f"by hand. The benchmarks (`python -m genimg.bench quality|sr|inpaint|style --update-cards`) write "
             f"their figures into the cards; the command that measured each table is under it. Training figures "
             f"(device, steps, wall time) are the cards' own.*", ""]
    if unavailable:
        lines += ["Not available, so not in the tables: "
                  + "; ".join(f"`{n}` ({why})" for n, why in unavailable.items()), ""]
    sections = [  # (kinds, section) in the order shown; every kind in KINDS has one
        (api.GENERATOR_KINDS, lambda names: generators_section(names, cards, shown("classifier"))),
        (("classifier",), lambda names: classifiers_section(names, cards)),
        (("upscaler",), lambda names: upscalers_section(names, cards)),
        (("inpainter",), lambda names: inpainter_section(names, cards)),
        (("stylizer", "arbitrary-stylizer"), lambda names: stylizer_section(names, cards)),
        (("text-to-image", "captioner"), lambda names: scenes_section(names, cards)),
        (("translator",), lambda names: translator_section(names, cards)),
    ]
    for kinds, section in sections:
        names = shown(*kinds)
        if names:
            lines += section(names)
    if LAB_JSON.is_file():
        lines += lab_section(json.loads(LAB_JSON.read_text()))
    if LOAD_JSON.is_file():
        lines += load_section(json.loads(LOAD_JSON.read_text()))
    covered = {k for kinds, _ in sections for k in kinds}
    rest = [n for n in cards if registry.family_of(n).kind not in covered]
    if rest:
        lines += ["## Other models", "", "No table for their kind yet: " + ", ".join(f"`{n}`" for n in rest), ""]
    return "\n".join(lines).rstrip() + "\n"


def docs(readme=None, out=None) -> dict:
    """Write docs/results.md and README's models list from the cards; -> what was written."""
    readme = Path(readme) if readme else ROOT / "README.md"
    out = Path(out) if out else ROOT / "docs" / "results.md"
    cards, unavailable = load_cards()
    for name, why in unavailable.items():
        print(f"{name}: unavailable ({why})")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(results_markdown(cards, unavailable))
    print(f"wrote {out}: {len(cards)} released models' cards")
    lines = readme_lines(cards, unavailable)
    if readme.is_file() and rewrite_readme(readme, lines):
        print(f"wrote {readme}: the models list between {START} and {END} ({len(lines) - 1} models)")
    else:
        print(f"{readme}: no {START} ... {END} markers; left as it is")
    return {"results": str(out), "readme": str(readme), "unavailable": unavailable}
