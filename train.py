"""Train genimg's models: `python train.py MODEL --dataset NAME`; `python train.py --list` shows what it can train.

Runs on the GPU when there is one (bf16 autocast), on the CPU otherwise. Under torchrun it trains
with DistributedDataParallel: `torchrun --nproc_per_node 2 train.py dcgan --dataset mnist`.
"""
import argparse
import shlex
import sys

import torch

from genimg import checkpoints
from genimg.data import DATASETS
from genimg.registry import FAMILIES, RECIPES, RELEASES
from genimg.training import train


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", choices=list(RECIPES), help="the recipe to train (see --list)")
    parser.add_argument("--dataset", choices=sorted(DATASETS) + ["emoji", "photos", "scenes"], default=None,
                        help="default: the recipe's own (photos, scenes), else fashion-mnist")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="optimiser steps (default: the model's own, see --list)")
    length.add_argument("--epochs", type=float, help="passes over the training set instead of --steps")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--out", default=str(checkpoints.DEFAULT_DIR), help="where the checkpoint and card go")
    parser.add_argument("--run-dir", help="state, sample grids and loss curve (default runs/MODEL-DATASET)")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's last saved state")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", help="folder with the dataset (idx .gz files or mnist.npz; for photos a folder "
                                       "with train/ and val/, e.g. ../shared/datasets/photos)")
    parser.add_argument("--sample-every", type=int, default=500, help="steps between sample grids and loss plots")
    parser.add_argument("--save-every", type=int, default=500, help="steps between resumable saved states")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: all cores)")
    parser.add_argument("--vgg-weights", help="VGG16 features (safetensors) for perceptual/style losses; default "
                                              "$GENIMG_VGG_WEIGHTS or torchvision's download")
    parser.add_argument("--dry-run", action="store_true", help="a few steps on tiny synthetic data, in seconds")
    parser.add_argument("--list", action="store_true", help="list what train.py can train and exit")
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)

    if args.list:
        print(f"{'recipe':<16} {'steps':>6} {'batch':>5}  {'starts from':<16} description")
        for name, recipe in RECIPES.items():
            family = FAMILIES[recipe["family"]]
            batch = recipe["batch_size"]
            batch = "/".join(map(str, sorted(set(batch.values())))) if isinstance(batch, dict) else batch
            print(f"{name:<16} {recipe['steps']:>6} {batch:>5}  {recipe.get('grow_from', '-'):<16} "
                  f"{family.description}")
        print(f"datasets: {', '.join(DATASETS)}; photos (a folder with train/ and val/ photos) for the photo models; "
              f"scenes (made from MNIST and Fashion-MNIST) for text to image and the captioner")
        print(f"released (checkpoints/): {', '.join(RELEASES)}")
        return 0
    if args.model is None:
        parser.error("name a MODEL to train, or use --list")
    for option in ("steps", "epochs", "sample_every", "save_every", "threads"):
        value = getattr(args, option)
        if value is not None and value <= 0:
            parser.error(f"--{option.replace('_', '-')} must be positive, got {value}")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.dataset is None:  # each model's own dataset if it has one (the sr- models train on photos)
        args.dataset = RECIPES[args.model].get("dataset", "fashion-mnist")
    try:
        train(args.model, args.dataset, steps=args.steps, epochs=args.epochs, device=args.device, out=args.out,
              run_dir=args.run_dir, resume=args.resume, seed=args.seed, data=args.data, dry_run=args.dry_run,
              sample_every=args.sample_every, save_every=args.save_every,
              vgg_weights=args.vgg_weights, command="python train.py " + shlex.join(argv))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
