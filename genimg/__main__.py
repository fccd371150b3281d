"""genimg's command line: `python -m genimg upscale IN OUT --scale 4 [--model quality|fast|NAME]`.

The output format follows OUT's extension (PNG keeps every pixel exactly; JPEG drops alpha).
"""
import argparse
import sys
import time
from pathlib import Path

from . import api


def upscale_command(args) -> int:
    if args.checkpoints:
        api.set_checkpoint_dir(args.checkpoints)
    out = Path(args.output)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
        print(f"error: {out} needs an image extension (.png is lossless).", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        model = api.upscaler(args.model)
        result = api.upscale(args.input, args.scale, model)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if out.suffix.lower() in (".jpg", ".jpeg") and result.mode in ("RGBA", "LA"):
        result = result.convert(result.mode[:-1])  # JPEG has no alpha
    out.parent.mkdir(parents=True, exist_ok=True)
    result.save(out)
    print(f"{args.input} -> {out}: {result.width}x{result.height} {result.mode}, x{args.scale} with {model.name} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genimg", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upscale", help="upscale a photo x2 or x4 with a super-resolution network")
    up.add_argument("input", help="image file (PNG, JPEG, WebP, BMP, TIFF, GIF)")
    up.add_argument("output", help="where to write the result (.png: lossless)")
    up.add_argument("--scale", type=int, choices=[2, 4], default=4)
    up.add_argument("--model", default=None, help="quality (default), fast, or a checkpoint name")
    up.add_argument("--checkpoints", help="checkpoint folder (default: the shipped ones)")
    args = parser.parse_args(argv)
    return upscale_command(args)


if __name__ == "__main__":
    sys.exit(main())
