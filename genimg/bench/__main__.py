"""Benchmarks: `python -m genimg.bench quality|speed|likelihood|sr|inpaint|style|text|translate|lab|load|figures|docs`.

quality: Fréchet distance in each dataset's classifier feature space on 10,000 samples, printed
         beside two references computed the same way (real train vs real test: the floor; real test
         images blurred with a 3x3 box filter: a mild, visible degradation), the conditional generators'
         class agreement, and the share of samples that nearly copy a training image.
speed:   median latency of each app function on this machine, and the app's start-up time.
sr:      super-resolution: PSNR/SSIM on Y of every shipped upscaler at x2 and x4 beside bicubic, on any
         folder of high-resolution images (the paper protocol, see genimg/photos.py), and the upscaling
         speed (256x256 to x4, median and images per second).
inpaint: inpainting: PSNR/SSIM/L1 on the filled region and the whole image, per mask-ratio bucket, for the photo
         network and OpenCV's Telea fill (optional: pip install opencv-python-headless), on fixed seeded masks;
         the 512x512 fill time; and a comparison grid (input with mask, Telea, network, original).
style:   style transfer: for each preset, the style and content losses (genimg/families/style/losses.py) of the
         network's output beside those of Gatys' optimisation on the same photo, with the time each took; the
         median time of a preset on a 512x512 photo; and the README grid (rows: photos, columns: presets).
likelihood: the normalizing flows' bits/dim on both test sets (their own and the other one, with histograms),
         and the VAEs' ELBO bound in bits/dim.
text:    words and pictures on the captioned scenes: the captioner's exact-match and BLEU-4 on test scenes and on
         held-out pairs; the share of test prompts the text-to-image model draws as asked (read back by the
         captioner, and item by item by the classifiers); one caption's and 16 pictures' time.
translate: sketch to emoji: L1, PSNR, Fréchet distance and category agreement of the translations of held-out
         emoji's drawings (with and without the category hint), one translation's time, and a figure.
lab:     the training lab: runs of 30, 60 and 120 s of each lab family on MNIST, scored by Fréchet distance beside
         the floor and the blurred reference, with their grids in one figure; and /generate's latency while a run
         trains in the app.
load:    the app under a busy public link (127.0.0.1 only): each endpoint alone, then users x requests of the
         app's mix, a burst, and optionally a soak; latency per endpoint, failures, queue positions, memory, disk.
figures: the annotated example on top of each tab, made by the shipped models (docs/figures/<tab>.png).
docs:    docs/results.md (every measured figure, per kind of model) and README's list of models, written from
         the cards of the released models (what the other commands' --update-cards put there).
"""
import argparse
import os
import sys
from pathlib import Path

from .. import api, photos
from ..vgg import ENV_VAR, load_vgg
from .common import ROOT, write_results
from .docs import docs
from .figures import figures
from .generation import quality, speed
from .likelihood import likelihood
from .load import load
from .lab import quality as lab_quality, responsiveness as lab_responsiveness
from . import blind
from .inpaint import inpaint_blind_pairs, inpaint_quality, inpaint_speed
from .style import any_style_grid, style_blind_pairs, style_grid, style_quality, style_speed
from .text import text
from .translate import translate_quality
from .upscale import sr_figure, sr_quality, sr_speed


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="python -m genimg.bench", description=__doc__,
                                          formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = main_parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality", help="Fréchet distances, class agreement, near-copies")
    q.add_argument("--n", type=int, default=10_000, help="samples per model (default 10000)")
    q.add_argument("--data", help="dataset folder (as train.py --data)")
    q.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint cards")
    q.add_argument("--json", help="also write the results to this JSON file")
    q.add_argument("--models", nargs="*", help="only these checkpoints (default: every released generator)")
    q.add_argument("--datasets", nargs="*", choices=["mnist", "fashion-mnist", "emoji"],
                   help="only these data sets (default: all three)")
    q.add_argument("--grids", help="also write each model's first samples to <name>.png in this folder")
    lk = sub.add_parser("likelihood", help="the flows' bits/dim on both test sets, histograms; the VAEs' bound")
    lk.add_argument("--data", help="dataset folder (as train.py --data)")
    lk.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint cards")
    lk.add_argument("--json", help="also write the results to this JSON file")
    s = sub.add_parser("speed", help="latency of the app functions and app start-up")
    s.add_argument("--repeats", type=int, default=20)
    s.add_argument("--update-cards", action="store_true", help="write each generator's 64-sample time into its card")
    s.add_argument("--models", nargs="*", help="only these generators' 64-sample time (nothing else)")
    r = sub.add_parser("sr", help="super-resolution: PSNR/SSIM-Y vs bicubic on a folder of photos, and speed")
    r.add_argument("--data", help="folder of high-resolution images, e.g. ../shared/datasets/photos/val (Kodak24)")
    r.add_argument("--models", nargs="*", help="checkpoint names or quality/fast (default: every upscaler)")
    r.add_argument("--repeats", type=int, default=10, help="timed runs per speed case (0: skip the speed part)")
    r.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint cards")
    r.add_argument("--json", help="also write the results to this JSON file")
    r.add_argument("--figure", help="also write a PNG comparing crops (bicubic, each model, original) to this path")
    r.add_argument("--figure-image", help="the photo for --figure (default: the first image in --data)")
    n = sub.add_parser("inpaint", help="inpainting: network vs Telea per mask-ratio bucket, speed, comparison grid")
    n.add_argument("--data", help="folder of photos, e.g. ../shared/datasets/photos/val (Kodak24)")
    default_inpainter = api.photo_inpainter()
    n.add_argument("--model", default=default_inpainter,
                   help=f"the photo inpainter to measure (default {default_inpainter}, the release; or any other "
                        f"checkpoint in --checkpoints, such as an earlier training stage)")
    n.add_argument("--masks-per-image", type=int, default=1, help="seeded masks per image and bucket (default 1)")
    n.add_argument("--repeats", type=int, default=10, help="timed runs of the 512x512 case (0: skip)")
    n.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint card")
    n.add_argument("--json", help="also write the results to this JSON file")
    n.add_argument("--figure", default="bench_out/inpaint.png", help="where the comparison grid goes")
    n.add_argument("--vgg-weights", help="VGG16 features (safetensors) for the texture FD; default "
                                          "$GENIMG_VGG_WEIGHTS or the download (none: no texture FD)")
    n.add_argument("--blind-pairs", help="also write a blind comparison (texture vs smooth fills, order hidden) to "
                                         "this folder; score it with `bench blind-score`")
    n.add_argument("--blind-extra", help="a second folder of photos for the blind pairs (e.g. photos/samples), "
                                         "drawn from up to 48 pairs in all")
    t = sub.add_parser("style", help="style transfer: losses and time per preset vs Gatys' optimisation; speed; grid")
    t.add_argument("--data", help="folder with paintings/ (and photos/samples/), e.g. ../shared/datasets")
    t.add_argument("--vgg-weights", help="VGG16 features (safetensors); default $GENIMG_VGG_WEIGHTS or the download")
    t.add_argument("--photo", help="the photo for the loss comparison (default: chelsea.png in examples/)")
    t.add_argument("--size", type=int, default=192, help="long side of the photo for the loss comparison")
    t.add_argument("--gatys-steps", type=int, default=80, help="steps of Gatys' optimisation per preset")
    t.add_argument("--repeats", type=int, default=10, help="timed runs per speed case (0: skip the speed part)")
    t.add_argument("--grid", help="also write the grid of photos x presets to this PNG (e.g. docs/style_grid.png)")
    t.add_argument("--grid-photos", nargs="*", help="photos for the grid's rows (default: a few in --data "
                                                    "photos/samples)")
    t.add_argument("--model", help="the preset network to measure (default: the release)")
    t.add_argument("--any-style", action="store_true", help="measure the one-pass network for any style image "
                                                           "(genimg.stylize_any) instead of the presets")
    t.add_argument("--any-style-grid", help="write a grid of photos x paintings (one never seen) painted by the "
                                            "one-pass network to this PNG (needs --data)")
    t.add_argument("--blind-pairs", help="also write a blind comparison of --model against --blind-old to this "
                                         "folder (every preset on 8 sample photos); score it with `bench blind-score`")
    t.add_argument("--blind-old", help="the preset network --blind-pairs compares with")
    t.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint card")
    t.add_argument("--json", help="also write the results to this JSON file")
    tx = sub.add_parser("text", help="captioner and text to image on test scenes and held-out pairs, and speed")
    tx.add_argument("--data", help="folder with MNIST and Fashion-MNIST (as train.py --data)")
    tx.add_argument("--n", type=int, default=2000, help="test scenes captioned (default 2000)")
    tx.add_argument("--prompts", type=int, default=500, help="test prompts drawn, and as many held-out ones")
    tx.add_argument("--repeats", type=int, default=10, help="timed runs per speed case (0: skip)")
    tx.add_argument("--examples", action="store_true", help="also write a few real test scenes to examples/scenes")
    tx.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint cards")
    tx.add_argument("--json", help="also write the results to this JSON file")
    tr = sub.add_parser("translate", help="sketch to emoji: L1, PSNR, FD, category agreement on held-out emoji; speed")
    tr.add_argument("--data", help="folder with emoji/ (as train.py --data)")
    tr.add_argument("--repeats", type=int, default=20, help="timed translations (0: skip)")
    tr.add_argument("--figure", help="also write drawings, translations and real emoji per category to this PNG")
    tr.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint card")
    tr.add_argument("--json", help="also write the results to this JSON file")
    ld = sub.add_parser("load", help="the app under many users: latency per endpoint, queue, memory, disk")
    ld.add_argument("--users", type=int, default=20)
    ld.add_argument("--requests", type=int, default=10, help="requests per user")
    ld.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"),
                    help="seconds a user pauses between requests (default 1 3)")
    ld.add_argument("--burst", type=int, default=45, help="requests sent at once after the users (0: none)")
    ld.add_argument("--soak", type=int, default=0, help="then this many requests, sampling disk and memory")
    ld.add_argument("--keep-minutes", type=float, help="the app's --keep-minutes (how long results are kept)")
    ld.add_argument("--repeats", type=int, default=5, help="timed runs of each endpoint alone")
    ld.add_argument("--json", help="also write the results to this JSON file")
    lb = sub.add_parser("lab", help="the training lab: FD of runs of 30, 60, 120 s; /generate's latency during one")
    lb.add_argument("--data", help="folder with MNIST (as train.py --data)")
    lb.add_argument("--families", nargs="+", help="lab families to run (default: all)")
    lb.add_argument("--seconds", type=float, nargs="+", default=[30, 60, 120], help="time budgets (default 30 60 120)")
    lb.add_argument("--n", type=int, default=5000, help="samples per run scored (default 5000)")
    lb.add_argument("--figure", help="write the grids of every run as one PNG here")
    lb.add_argument("--responsiveness", action="store_true",
                    help="also /generate's latency alone and during a 60 s run (the app in a subprocess)")
    lb.add_argument("--json", help="also write the results to this JSON file")
    bs = sub.add_parser("blind-score", help="score a blind comparison (bench inpaint --blind-pairs, bench style "
                                            "--blind-pairs) from a judge's answers")
    bs.add_argument("--pairs", required=True, help="the folder of pairs (its key is <folder>.key.json beside it)")
    bs.add_argument("--answers", required=True, help="the judge's answers: lines 'pair_00 A'")
    bs.add_argument("--judge", required=True, help="who judged, for the card (e.g. 'a helper agent shown only the pairs')")
    bs.add_argument("--model", help="the checkpoint whose card records the result")
    bs.add_argument("--metric", default="blind_comparison", help="the card's metrics key (default blind_comparison)")
    bs.add_argument("--update-cards", action="store_true", help="write the result into --model's card")
    f = sub.add_parser("figures", help="the annotated example on top of each tab (docs/figures/<tab>.png)")
    f.add_argument("--out", help="folder to write to (default docs/figures)")
    d = sub.add_parser("docs", help="write docs/results.md and README's models list from the released models' cards")
    d.add_argument("--readme", help="the README whose <!-- models:start --> ... <!-- models:end --> block is "
                                    "rewritten (default: README.md of the repository; left alone without markers)")
    d.add_argument("--out", help="the results page to write (default: docs/results.md of the repository)")
    for p in (q, lk, s, r, n, t, tx, tr, lb, ld, bs, f, d):
        p.add_argument("--checkpoints", help="checkpoint folder (default: the shipped ones)")
    return main_parser


def main(argv=None):
    args = parser().parse_args(argv)
    if args.checkpoints:
        api.set_checkpoint_dir(args.checkpoints)
    if args.command == "quality":
        quality(args.n, args.data, args.update_cards, args.json, args.models, args.datasets, args.grids)
    elif args.command == "likelihood":
        likelihood(args.data, args.update_cards, args.json)
    elif args.command == "speed":
        speed(args.repeats, args.update_cards, args.models)
    elif args.command == "sr":
        results = {"quality": sr_quality(args.data, args.models, args.update_cards) if args.data else None}
        if args.repeats > 0:
            results["speed"] = sr_speed(args.models, args.repeats, args.update_cards)
        if args.figure:
            image = args.figure_image or (photos.list_images(args.data)[0] if args.data else None)
            if image is None:
                raise SystemExit("error: --figure needs --figure-image or --data.")
            sr_figure(image, args.figure, args.models)
        write_results(args.json, results)
    elif args.command == "inpaint":
        vgg = None
        if args.data and (args.vgg_weights or os.environ.get(ENV_VAR)):
            vgg = load_vgg(args.vgg_weights)
        results = {"quality": inpaint_quality(args.data, args.masks_per_image, args.update_cards, args.figure,
                                              args.model, vgg) if args.data else None}
        if args.blind_pairs:
            inpaint_blind_pairs(args.data, args.blind_pairs, args.model, args.blind_extra)
        if args.repeats > 0:
            results["speed"] = inpaint_speed(args.repeats, args.update_cards, args.model)
        write_results(args.json, results)
    elif args.command == "blind-score":
        blind.score(args.pairs, args.answers, args.judge, args.model, args.metric, args.update_cards)
    elif args.command == "style":
        if args.vgg_weights:
            api.set_vgg_weights(args.vgg_weights)
        results = {}
        if args.data:
            results["quality"] = style_quality(args.data, args.photo or ROOT / "examples" / "chelsea.png", args.size,
                                               args.gatys_steps, args.update_cards, args.model, args.any_style)
        if args.repeats > 0:
            results["speed"] = style_speed(args.repeats, args.update_cards, args.model, args.any_style)
        samples = Path(args.data or ".") / "photos" / "samples"
        grid_photos = args.grid_photos or [samples / name for name in ("chelsea.png", "astronaut.png",
                                                                       "coffee.png", "rocket.jpg")
                                           if (samples / name).is_file()]
        if args.grid and not args.any_style:
            style_grid(grid_photos, args.grid, model_name=args.model)
        if args.any_style_grid:
            any_style_grid(args.data, grid_photos, args.any_style_grid, model_name=args.model)
        if args.blind_pairs:
            if not (args.data and args.blind_old):
                raise SystemExit("error: --blind-pairs needs --data (the paintings) and --blind-old (the network to "
                                 "compare with).")
            blind_photos = [samples / name for name in ("chelsea.png", "astronaut.png", "coffee.png", "rocket.jpg",
                                                        "brick.png", "camera.png", "coins.png", "grass.png")
                            if (samples / name).is_file()]
            style_blind_pairs(args.data, blind_photos, args.blind_pairs, args.model, args.blind_old)
        write_results(args.json, results)
    elif args.command == "text":
        text(args.data, args.n, n_prompts=args.prompts, repeats=args.repeats, update_cards=args.update_cards,
             out=args.json, examples=args.examples)
    elif args.command == "translate":
        translate_quality(args.data, args.update_cards, args.json, args.figure, args.repeats)
    elif args.command == "lab":
        results = {"quality": lab_quality(args.families, args.seconds, args.n, args.data, figure=args.figure),
                   "command": " ".join(["python -m genimg.bench", *(argv or sys.argv[1:])])}
        if args.responsiveness:
            results["responsiveness"] = lab_responsiveness(args.data)
        write_results(args.json, results)
    elif args.command == "load":
        load(args.users, args.requests, args.burst, args.soak, think=tuple(args.think), repeats=args.repeats,
             checkpoints=args.checkpoints, keep_minutes=args.keep_minutes, json_path=args.json)
    elif args.command == "figures":
        figures(args.out)
    elif args.command == "docs":
        docs(args.readme, args.out)


if __name__ == "__main__":
    main()
