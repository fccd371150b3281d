"""Fashion-MNIST and MNIST: find them on disk (or download them), return uint8 tensors.

Search order for a dataset: the `data` argument (train.py's --data), the GENIMG_DATA environment
variable, the Debian package location under /usr/share/datasets, and last a torchvision download
into ~/.cache/genimg. Each place may hold the original idx `.gz` files (directly, in a folder named
after the dataset, or in torchvision's `<Name>/raw` layout) or an `mnist.npz`-style archive with
x_train, y_train, x_test, y_test.
"""
import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DATASETS = {
    "fashion-mnist": {
        "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        "folders": ["fashion-mnist", "FashionMNIST", "FashionMNIST/raw", "fashion_mnist"],
        "npz": "fashion-mnist.npz",
        "debian": "/usr/share/datasets/fashion-mnist",
        "torchvision": "FashionMNIST",
    },
    "mnist": {
        "classes": [str(d) for d in range(10)],
        "folders": ["mnist", "MNIST", "MNIST/raw"],
        "npz": "mnist.npz",
        "debian": "/usr/share/datasets/mnist",
        "torchvision": "MNIST",
    },
}
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
CACHE_DIR = Path.home() / ".cache" / "genimg"


@dataclass
class Dataset:
    name: str
    classes: list
    train_images: torch.Tensor  # (N, 28, 28) uint8
    train_labels: torch.Tensor  # (N,) int64
    test_images: torch.Tensor
    test_labels: torch.Tensor
    source: str


def class_names(dataset: str) -> list:
    if dataset == "emoji":
        return list(EMOJI_CATEGORIES)
    return DATASETS[check_name(dataset)]["classes"]


def classes_of(dataset: str) -> list:
    """The class names of a data set that has classes (MNIST, Fashion-MNIST, emoji); [] for the others (scenes,
    photos, one's own pictures)."""
    return class_names(dataset) if dataset in (*DATASETS, "emoji") else []


def check_name(dataset: str) -> str:
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}.")
    return dataset


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file (gzipped or not): a big-endian header with the dimensions, then uint8 data."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an idx file of unsigned bytes.")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: header says {dims}, found {data.size} bytes of data.")
    return data.reshape(dims)


def _find_file(folder: Path, stem: str):
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _load_idx_folder(folder: Path):
    arrays = {}
    for split, (images, labels) in IDX_FILES.items():
        image_file, label_file = _find_file(folder, images), _find_file(folder, labels)
        if image_file is None or label_file is None:
            return None
        arrays[split] = (read_idx(image_file), read_idx(label_file))
    return arrays


def _load_npz(path: Path):
    with np.load(path, allow_pickle=False) as archive:
        return {"train": (archive["x_train"], archive["y_train"]), "test": (archive["x_test"], archive["y_test"])}


def _load_from(root: Path, spec: dict):
    """Try every known layout under `root`; return arrays or None."""
    for folder in [root] + [root / sub for sub in spec["folders"]]:
        if not folder.is_dir():
            continue
        arrays = _load_idx_folder(folder)
        if arrays is not None:
            return arrays, str(folder)
        for npz in (folder / spec["npz"], folder / "mnist.npz"):
            # A bare mnist.npz only counts for MNIST, or inside a folder named after the dataset.
            if npz.is_file() and (npz.name == spec["npz"] or folder != root or spec["npz"] == "mnist.npz"):
                return _load_npz(npz), str(npz)
    return None


def _download(name: str, spec: dict):
    import torchvision  # imported here: only the download path needs it

    getattr(torchvision.datasets, spec["torchvision"])(str(CACHE_DIR), train=True, download=True)
    getattr(torchvision.datasets, spec["torchvision"])(str(CACHE_DIR), train=False, download=True)
    return _load_from(CACHE_DIR, spec)


def load(name: str, data: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Load a dataset from the first place that has it; one clear error naming every place looked."""
    if name == "emoji":
        return load_emoji(data)
    spec = DATASETS[check_name(name)]
    places = []
    if data:
        places.append(("--data", Path(data)))
    if os.environ.get("GENIMG_DATA"):
        places.append(("GENIMG_DATA", Path(os.environ["GENIMG_DATA"])))
    places.append(("Debian package", Path(spec["debian"])))
    places.append(("download cache", CACHE_DIR))
    looked = []
    for label, root in places:
        found = _load_from(root, spec)
        if found:
            return _to_dataset(name, spec, *found)
        looked.append(f"{label}: {root}")
    if download:
        try:
            found = _download(name, spec)
            if found:
                return _to_dataset(name, spec, *found)
            looked.append(f"torchvision download into {CACHE_DIR}: finished but the files were not found")
        except Exception as error:  # network down, no torchvision, ...: reported below with the rest
            reason = " ".join(str(error).split())  # torchvision's message spans lines; keep it to one
            looked.append(f"torchvision download into {CACHE_DIR}: failed ({type(error).__name__}: {reason[:160]})")
    raise FileNotFoundError(
        f"Could not find the {name} dataset. Looked in:\n  " + "\n  ".join(looked) +
        f"\nProvide it with --data PATH (or GENIMG_DATA=PATH): a folder with the idx files "
        f"({', '.join(stem + '.gz' for pair in IDX_FILES.values() for stem in pair)}) or an npz with "
        f"x_train, y_train, x_test, y_test; or allow the torchvision download."
    )


def _to_dataset(name, spec, arrays, source) -> Dataset:
    (x_train, y_train), (x_test, y_test) = arrays["train"], arrays["test"]
    for x, y in ((x_train, y_train), (x_test, y_test)):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
            raise ValueError(f"{source}: expected (N, 28, 28) images with N labels, got {x.shape} and {y.shape}.")
    return Dataset(
        name, spec["classes"],
        torch.from_numpy(np.array(x_train, np.uint8)), torch.from_numpy(y_train.astype(np.int64)),
        torch.from_numpy(np.array(x_test, np.uint8)), torch.from_numpy(y_test.astype(np.int64)),
        source,
    )


def to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) float in [0, 1]; colour (N, H, W, 3) -> (N, 3, H, W)."""
    if images_uint8.ndim == 4:
        return images_uint8.permute(0, 3, 1, 2).float().div_(255)
    return images_uint8.unsqueeze(1).float().div_(255)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a gzipped idx file of unsigned bytes (used to make synthetic data for tests and --dry-run)."""
    array = np.ascontiguousarray(array, np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


# ---- a person's own images (the training lab) -------------------------------------------------------------
MIN_OWN_IMAGES, MAX_OWN_IMAGES = 16, 2000
MAX_OWN_BYTES = 200 * 2**20  # all files together, zip contents unpacked
MAX_OWN_PIXELS = 4096 * 4096  # one image: anything bigger is a photo to shrink first
MAX_OWN_TOTAL_PIXELS = 500 * 2**20  # all images together (decoding them is the slow part)
OWN_COLOURS = ("auto", "grayscale", "colour")


def own_images(files, side: int = 28, colour: str = "auto") -> Dataset:
    """Image files (paths; a .zip of them counts as its images) -> a Dataset of side x side images, grey (N, S, S) or
    colour (N, S, S, 3) uint8, each centre-cropped to a square and shrunk; transparency becomes white. colour
    "auto" keeps grey images grey and colour ones colour, and refuses a mix (say which to use).

    ValueError with a message for the person for: no files, too few or too many images, something that is not an
    image, a zip nested in a zip or folders more than one deep, a zip that unpacks to too much (a zip bomb), an
    image over MAX_OWN_PIXELS, animated images."""
    import io
    import zipfile

    from PIL import Image, ImageOps

    from . import photos
    if colour not in OWN_COLOURS:
        raise ValueError(f"Colour is one of {', '.join(OWN_COLOURS)}, not {colour!r}.")
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    if not files:
        raise ValueError(f"Give {MIN_OWN_IMAGES} to {MAX_OWN_IMAGES:,} image files, or a .zip of them.")
    entries, total_bytes = [], 0  # (name, bytes)
    for file in files:
        path = Path(file)
        if not path.is_file():
            raise ValueError(f"No file at {path}.")
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()
                           and not m.filename.startswith("__MACOSX/") and not Path(m.filename).name.startswith(".")]
                if len(members) > MAX_OWN_IMAGES:
                    raise ValueError(f"{path.name} holds {len(members):,} files; at most {MAX_OWN_IMAGES:,} "
                                     f"images.")
                for member in members:
                    depth = len(Path(member.filename).parts) - 1
                    if depth > 1:
                        raise ValueError(f"{path.name}: {member.filename} is {depth} folders deep; put the images "
                                         f"at the top of the zip or in one folder.")
                    if member.filename.lower().endswith(".zip"):
                        raise ValueError(f"{path.name} holds another zip ({member.filename}); unpack it first.")
                    total_bytes += member.file_size
                    if total_bytes > MAX_OWN_BYTES:
                        raise ValueError(f"{path.name} unpacks to more than {MAX_OWN_BYTES / 2**20:.0f} MB; at most "
                                         f"that for all images together.")
                    entries.append((f"{path.name}/{member.filename}", archive.read(member)))
        else:
            total_bytes += path.stat().st_size
            if total_bytes > MAX_OWN_BYTES:
                raise ValueError(f"The files come to more than {MAX_OWN_BYTES / 2**20:.0f} MB; at most that.")
            entries.append((path.name, path.read_bytes()))
        if len(entries) > MAX_OWN_IMAGES:
            raise ValueError(f"{len(entries):,} images or more; at most {MAX_OWN_IMAGES:,}.")
    if len(entries) < MIN_OWN_IMAGES:
        raise ValueError(f"{len(entries)} image{'s' if len(entries) != 1 else ''} given; a model needs at least "
                         f"{MIN_OWN_IMAGES} to learn from (up to {MAX_OWN_IMAGES:,}).")

    images, modes, pixels = [], [], 0
    for name, raw in entries:
        try:
            photos.check_header(raw, f"{name}", task="train on")
            image = Image.open(io.BytesIO(raw))
        except ValueError as error:
            raise ValueError(f"{error} Every file must be an image (PNG, JPEG, ...).") from None
        if image.width * image.height > MAX_OWN_PIXELS:
            raise ValueError(f"{name} is {image.width}x{image.height}; the lab takes images of at most "
                             f"{MAX_OWN_PIXELS / 1e6:.0f} megapixels (shrink it first).")
        pixels += image.width * image.height
        if pixels > MAX_OWN_TOTAL_PIXELS:
            raise ValueError(f"The images come to more than {MAX_OWN_TOTAL_PIXELS / 1e6:.0f} megapixels together; "
                             f"shrink them or give fewer.")
        grey = image.mode in ("1", "L", "LA", "I", "I;16", "F") or (
            image.mode == "P" and all(r == g == b for r, g, b in zip(*[iter(image.getpalette() or [])] * 3)))
        modes.append("grayscale" if grey else "colour")
        try:
            image.draft("RGB", (4 * side, 4 * side))  # a JPEG decodes at a fraction of its size: much faster
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "P", "PA"):
                rgba = image.convert("RGBA")
                image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
            image = ImageOps.fit(image.convert("RGB"), (side, side), Image.LANCZOS)
        except (OSError, SyntaxError, ValueError) as error:
            raise ValueError(f"{name} is truncated or corrupt ({error}).") from None
        images.append(np.asarray(image))
    if colour == "auto":
        if len(set(modes)) > 1:
            raise ValueError(f"{modes.count('colour')} images are in colour and {modes.count('grayscale')} in "
                             f"grayscale: choose Colour or Grayscale, and the lab converts them all.")
        colour = modes[0]
    array = np.stack(images)
    if colour == "grayscale":
        array = np.asarray([np.asarray(Image.fromarray(a).convert("L")) for a in array])
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    labels = torch.zeros(len(tensor), dtype=torch.long)
    return Dataset("your images", [], tensor, labels, tensor[:256], labels[:256],
                   f"{len(tensor)} images of your own ({colour}, {side}x{side})")


# ---- emoji (colour, 32x32, by category) ---------------------------------------------------------------------
EMOJI_CATEGORIES = ["Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
                    "Activities", "Objects", "Symbols", "Flags"]  # emoji.json's, less "Component" (skin swatches)
SKIN_TONES = {"1f3fb", "1f3fc", "1f3fd", "1f3fe", "1f3ff"}


def _emoji_key(codes: list) -> str:
    """Code points (hex, lower case) without variation selectors and skin tones: one key per emoji, whatever the
    set's file naming (Twemoji keeps FE0F, Noto drops it)."""
    return "-".join(c for c in codes if c not in SKIN_TONES and c != "fe0f")


def load_emoji(data=None, side: int = 32) -> Dataset:
    """Twemoji and Noto emoji (from `data`/emoji or `data` itself, or $GENIMG_DATA/emoji) composited on white and
    shrunk to side x side colour images (N, S, S, 3) uint8, labelled by category (EMOJI_CATEGORIES). The test
    split is every emoji whose key hashes to 0 mod 10, in both sets and all skin tones, so no test emoji is seen
    in training under another artist's hand."""
    import json
    import zlib

    from PIL import Image
    roots = [Path(p) for p in (data, os.environ.get("GENIMG_DATA")) if p]
    folder = next((r / sub for r in roots for sub in ("emoji", ".") if (r / sub / "emoji.json").is_file()), None)
    if folder is None:
        raise FileNotFoundError(f"No emoji folder (emoji.json, twemoji/, noto/) under {', '.join(map(str, roots)) or 'nothing given'}; "
                                f"give --data PATH.")
    category = {_emoji_key(e["unified"].lower().split("-")): e["category"]
                for e in json.loads((folder / "emoji.json").read_text())}
    splits = {"train": ([], []), "test": ([], [])}
    for artist, prefix in (("twemoji", ""), ("noto", "emoji_u")):
        for path in sorted((folder / artist).glob("*.png")):
            key = _emoji_key(path.stem[len(prefix):].replace("_", "-").lower().split("-"))
            if category.get(key) not in EMOJI_CATEGORIES:
                continue
            with Image.open(path) as image:
                rgba = image.convert("RGBA")
            white = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
            images, labels = splits["test" if zlib.crc32(key.encode()) % 10 == 0 else "train"]
            images.append(np.asarray(white.convert("RGB").resize((side, side), Image.LANCZOS)))
            labels.append(EMOJI_CATEGORIES.index(category[key]))
    (xtr, ytr), (xte, yte) = ((torch.from_numpy(np.stack(x)), torch.tensor(y)) for x, y in splits.values())
    return Dataset("emoji", EMOJI_CATEGORIES, xtr, ytr, xte, yte,
                   f"{folder}: Twemoji (Twitter, CC BY 4.0) and Noto Color Emoji (Google, Apache 2.0)")
