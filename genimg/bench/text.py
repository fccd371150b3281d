"""Words and pictures on the captioned scenes: how well the captioner describes test scenes and how often the
text-to-image model draws what it is asked, on test scenes and separately on the held-out pairs; and their speed.

Captioning: exact match of the greedy (and beam) caption with the canonical one, and corpus BLEU-4.
Text to image: one picture per test prompt (a random phrasing of a test scene), read back two ways: by the
captioner (the whole caption must equal the prompt's canonical caption: items, order, relation, place and size)
and by the 28x28 classifiers on each item's half of the canvas (the item's class only)."""
import numpy as np
import torch

from .. import api, checkpoints, metrics, registry, scenes
from ..api.generation import ode_precision
from ..api.likelihood import as_digit_image
from ..api.text import scene_image
from ..metrics import bleu4
from .common import ROOT, median_ms, write_results

BENCH_SEED = 2024  # the test scenes (the captioner's training validates on the same draws)
EXAMPLE_SCENES = 6


def captions_of(model, images, beam_width=1):
    net = model.net()
    return [text for batch in images.split(250) for text, _ in net.caption(batch, beam_width)]


def caption_scores(model, images, specs, beam_width=1) -> dict:
    texts = captions_of(model, images, beam_width)
    wanted = [scenes.canonical_caption(s) for s in specs]
    return {"exact": round(float(np.mean([t == w for t, w in zip(texts, wanted)])), 4),
            "bleu4": round(bleu4(texts, wanted), 4)}


def item_regions(scene) -> list:
    """(item, crop box (left, top, right, bottom)) of each item of a scene: its half of the canvas, or the whole."""
    half = scenes.SIDE // 2
    if scene.second is None:
        return [(scene.first, (0, 0, scenes.SIDE, scenes.SIDE))]
    if scene.relation == "left of":
        return [(scene.first, (0, 0, half, scenes.SIDE)), (scene.second, (half, 0, scenes.SIDE, scenes.SIDE))]
    return [(scene.first, (0, 0, scenes.SIDE, half)), (scene.second, (0, half, scenes.SIDE, scenes.SIDE))]


def item_crops(images, specs) -> dict:
    """{dataset: (28x28 crops, the item classes asked for)}: each item cropped to its region and fitted into 28x28
    as MNIST was made (api.as_digit_image); an empty region gives no crop. Also {"missing": count}."""
    crops = {"mnist": ([], []), "fashion-mnist": ([], []), "missing": 0}
    for image, spec in zip(images, specs):
        picture = scene_image(image)
        for item, box in item_regions(spec):
            try:
                crop = as_digit_image(picture.crop(box))
            except ValueError:  # nothing drawn there
                crops["missing"] += 1
                continue
            dataset = "mnist" if item < 10 else "fashion-mnist"
            crops[dataset][0].append(crop)
            crops[dataset][1].append(item % 10)
    return crops


def classifier_agreement(crops) -> float:
    """The share of items the dataset's classifier names as asked (a missing item counts as wrong)."""
    right, total = 0, crops["missing"]
    for dataset in ("mnist", "fashion-mnist"):
        images_of, wanted = crops[dataset]
        if images_of:
            classes = api.class_names(dataset)
            named = [classes.index(name) for name, _ in api.classify(images_of, dataset)]
            right += sum(a == b for a, b in zip(named, wanted))
            total += len(images_of)
    return round(right / max(total, 1), 4)


def item_fd(crops, real_crops) -> dict:
    """Per dataset, the Fréchet distance between the generated items and real items of the same scenes (crops made
    the same way) in its classifier's features, beside the floor: two draws of real scenes."""
    from ..imaging import to_tensor
    out = {}
    for dataset in ("mnist", "fashion-mnist"):
        (fake, _), (real, _) = crops[dataset], real_crops[0][dataset]
        other = real_crops[1][dataset][0]
        if len(fake) < 50 or len(real) < 50:
            continue
        clf = api.find_kind("classifier", dataset).net()
        f_fake, f_real, f_other = (metrics.features(clf, to_tensor(x)) for x in (fake, real, other))
        out[dataset] = {"fd": round(metrics.frechet_distance(f_fake, f_real), 3),
                        "floor": round(metrics.frechet_distance(f_other, f_real), 3), "items": len(fake)}
    return out


@torch.no_grad()
def draw_prompts(model, specs, seed: int, steps=20, guidance=None):
    """One picture per scene, from a random phrasing of it, (N, 1, 32, 32) in [0, 1]."""
    rng = np.random.default_rng(seed)
    ids = torch.stack([scenes.encode(scenes.phrasing(s, rng)) for s in specs])
    net = model.net()
    z = torch.randn(len(specs), net.z_dim, generator=torch.Generator().manual_seed(seed))
    settings = {"steps": steps, "guidance": guidance or model.card["hyperparameters"].get("guidance", 2.0)}
    with ode_precision(model, next(net.parameters()).device):  # as the app draws them
        return torch.cat([net.sample(a, b, **settings) for a, b in zip(z.split(100), ids.split(100))])


def text(data=None, n=2000, n_held_out=500, n_prompts=500, repeats=10, update_cards=False, out=None,
         examples=False):
    test = scenes.load_scene_data(data).test
    results = {}
    command = "python -m genimg.bench text --update-cards"
    captioner = text_model = None
    for kind in ("captioner", "text-to-image"):
        for name in registry.releases(kind):
            try:
                model = api.load(name)
            except ValueError as error:
                print(f"{name}: unavailable ({error})")
                continue
            if kind == "captioner":
                captioner = model
            else:
                text_model = model

    if captioner is not None:
        images, specs = scenes.draw_scenes(test, n, BENCH_SEED, held_out=False)
        held_images, held_specs = scenes.draw_scenes(test, n_held_out, BENCH_SEED, held_out=True)
        greedy, held = caption_scores(captioner, images, specs), caption_scores(captioner, held_images, held_specs)
        beam_n = min(n, 500)  # beam search is a python loop per scene
        beam = caption_scores(captioner, images[:beam_n], specs[:beam_n], beam_width=4)
        one = images[:1]
        ms = median_ms(lambda: api.caption(scene_image(one[0])), repeats) if repeats else None
        row = {"n": n, "exact": greedy["exact"], "bleu4": greedy["bleu4"], "beam4_exact": beam["exact"],
               "beam4_n": beam_n,
               "held_out_n": n_held_out, "held_out_exact": held["exact"], "held_out_bleu4": held["bleu4"],
               "caption_ms": round(ms, 1) if ms else None, "threads": torch.get_num_threads(), "command": command}
        results[captioner.name] = row
        print(f"{captioner.name}: exact caption {row['exact']:.1%} (BLEU-4 {row['bleu4']:.3f}) on {n} test scenes; "
              f"beam 4: {row['beam4_exact']:.1%} of {beam_n}; held-out pairs: {row['held_out_exact']:.1%} "
              f"(BLEU-4 {row['held_out_bleu4']:.3f}) of {n_held_out}; one caption {row['caption_ms']} ms")
        if update_cards:
            checkpoints.record_metrics(api.checkpoint_dir(), captioner.name, "captioning", row)

    if text_model is not None:
        if captioner is None:
            raise ValueError("Measuring text to image needs the captioner (it reads the pictures back).")
        rng = np.random.default_rng(BENCH_SEED)
        specs = [scenes.random_scene(rng, held_out=False) for _ in range(n_prompts)]
        held_specs = [scenes.random_scene(rng, held_out=True) for _ in range(n_prompts)]
        drawn, held_drawn = draw_prompts(text_model, specs, 1), draw_prompts(text_model, held_specs, 2)
        read = captions_of(captioner, drawn)
        held_read = captions_of(captioner, held_drawn)
        correct = np.mean([r == scenes.canonical_caption(s) for r, s in zip(read, specs)])
        held_correct = np.mean([r == scenes.canonical_caption(s) for r, s in zip(held_read, held_specs)])
        # The captioner's own accuracy on real scenes bounds what it can confirm; the classifiers are a second,
        # independent reader of the items alone.
        prompt = scenes.EXAMPLE_PROMPTS[0]
        ms = median_ms(lambda: api.text_to_image(prompt, n=16, seed=0), repeats) if repeats else None
        crops = item_crops(drawn, specs)
        real_crops = [item_crops(scenes.draw_specs(test, specs, seed)[0], specs) for seed in (3, 4)]
        row = {"n_prompts": n_prompts, "correct": round(float(correct), 4),
               "held_out_correct": round(float(held_correct), 4),
               "items_by_classifiers": classifier_agreement(crops),
               "held_out_items_by_classifiers": classifier_agreement(item_crops(held_drawn, held_specs)),
               "item_fd": item_fd(crops, real_crops),
               "steps": 20, "sample_16_ms": round(ms, 1) if ms else None, "threads": torch.get_num_threads(),
               "command": command}
        results[text_model.name] = row
        print(f"{text_model.name}: {row['correct']:.1%} of {n_prompts} test prompts drawn as asked (read by the "
              f"captioner), held-out pairs {row['held_out_correct']:.1%}; items named as asked by the classifiers "
              f"{row['items_by_classifiers']:.1%} (held-out {row['held_out_items_by_classifiers']:.1%}); item "
              f"FD {row['item_fd']}; 16 pictures in {row['sample_16_ms']} ms")
        if update_cards:
            checkpoints.record_metrics(api.checkpoint_dir(), text_model.name, "text_to_image", row)

    if examples:
        folder = ROOT / "examples" / "scenes"
        folder.mkdir(parents=True, exist_ok=True)
        images, specs = scenes.draw_scenes(test, EXAMPLE_SCENES, BENCH_SEED + 1, held_out=None)
        for image, spec in zip(images, specs):
            path = folder / (scenes.canonical_caption(spec).replace(" ", "_") + ".png")
            scene_image(image).resize((128, 128), 0).save(path)
            print(f"wrote {path.relative_to(ROOT)}")
    write_results(out, results)
    return results
