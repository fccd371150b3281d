"""Captioned scenes: MNIST digits and Fashion-MNIST garments placed on a 32x32 canvas, with captions made from the
placement (after Mansimov et al. 2016, who built captioned data this way for alignDRAW).

A scene is one item at a place and size ("a small 4 in the centre") or two items in a relation ("the digit 3 above
a sneaker"). Scenes are pure functions of their spec and a seed, drawn from the training split's images for
training and from the test split's for measuring. Some pairs in one relation never appear in training
(`is_held_out`), so the models can be tested on combinations they have not seen.

Each scene has one canonical caption (what the captioner learns to write: the left or upper item first) and many
phrasings (what the text encoder learns to read: synonyms, either order, "the digit 3" or "a 3").
"""
import re
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from . import data as datasets

SIDE = 32  # canvas pixels
ITEM_PIXELS = {"small": 11, "medium": 16, "large": 22}
DIGITS = [str(d) for d in range(10)]
GARMENTS = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
ITEMS = DIGITS + GARMENTS  # item k < 10: MNIST class k; item k >= 10: Fashion-MNIST class k - 10
PLACES = ["left", "right", "top", "bottom", "centre"]
RELATIONS = ["left of", "above"]  # canonical: the first item is the left (upper) one
SIZES = ["small", "medium", "large"]

# Where an item's centre goes (x, y), before a jitter of up to JITTER pixels.
PLACE_CENTRES = {"left": (9, 16), "right": (23, 16), "top": (16, 9), "bottom": (16, 23), "centre": (16, 16)}
JITTER = 2

# Words the text encoder knows; PAD ends short captions, BOS/EOS frame the captioner's output.
PAD, BOS, EOS = "<pad>", "<s>", "</s>"
SYNONYMS = {"center": "centre", "middle": "centre", "trousers": "trouser", "pants": "trouser", "tshirt": "t-shirt",
            "tee": "t-shirt", "sweater": "pullover", "jacket": "coat", "shoe": "sneaker", "handbag": "bag",
            "boot": "ankle boot", "beneath": "below", "under": "below", "over": "above"}
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
WORDS = sorted(set(
    DIGITS + [w for g in GARMENTS for w in g.split()] + NUMBER_WORDS +
    "a an the digit number of to at on in is left right top bottom centre above below small large big tiny "
    "medium sized".split()))
VOCAB = [PAD, BOS, EOS] + WORDS
WORD_ID = {w: i for i, w in enumerate(VOCAB)}
MAX_WORDS = 12  # the longest phrasing is 11 words ("the digit 3 to the left of an ankle boot")


@dataclass(frozen=True)
class Scene:
    """One item (`second` None): `place` and `size`. Two items: `first` `relation` `second`, canonical order."""
    first: int
    place: str = "centre"
    size: str = "medium"
    relation: str | None = None
    second: int | None = None

    def __post_init__(self):
        if not 0 <= self.first < len(ITEMS) or (self.second is not None and not 0 <= self.second < len(ITEMS)):
            raise ValueError(f"Items are numbered 0-{len(ITEMS) - 1}.")
        if (self.second is None) != (self.relation is None) or (self.relation and self.relation not in RELATIONS):
            raise ValueError(f"A two-item scene needs a relation ({', '.join(RELATIONS)}); one item, none.")
        if self.place not in PLACES or self.size not in SIZES:
            raise ValueError(f"Places: {', '.join(PLACES)}; sizes: {', '.join(SIZES)}.")

    @property
    def items(self) -> tuple:
        return (self.first,) if self.second is None else (self.first, self.second)


def is_held_out(scene: Scene) -> bool:
    """Pairs never shown above each other in training (about one ordered pair in eleven); they appear side by
    side, and each item appears everywhere, so a model that composes can still draw and describe them."""
    return scene.relation == "above" and (3 * scene.first + scene.second) % 11 == 0


# ---- captions ---------------------------------------------------------------------------------------------

def _noun(item: int, rng=None) -> str:
    """An item as words: canonical "a 3" / "a sneaker" / "an ankle boot"; phrasings vary it."""
    name = ITEMS[item]
    if rng is not None and item < 10:
        name = [name, f"digit {name}", f"number {name}", NUMBER_WORDS[item]][rng.integers(4)]
        the = rng.random() < 0.4 or name.startswith(("digit", "number"))
        return ("the " if the else ("an " if name[0] in "e8" else "a ")) + name
    if rng is not None and rng.random() < 0.3:
        return "the " + name
    return ("an " if name[0] in "aeiou8" else "a ") + name


def canonical_caption(scene: Scene) -> str:
    """The one caption the captioner learns: "a 3 to the left of a bag", "a small 4 on the left"."""
    if scene.second is None:
        noun = _noun(scene.first) if scene.size == "medium" else f"a {scene.size} {ITEMS[scene.first]}"
        where = {"centre": "in the centre", "left": "on the left", "right": "on the right", "top": "at the top",
                 "bottom": "at the bottom"}[scene.place]
        return f"{noun} {where}"
    relation = "to the left of" if scene.relation == "left of" else "above"
    return f"{_noun(scene.first)} {relation} {_noun(scene.second)}"


def phrasing(scene: Scene, rng: np.random.Generator) -> str:
    """One of the many ways to ask for a scene (what the text encoder is trained on)."""
    if scene.second is None:
        size = {"small": ["small", "tiny", "small"], "large": ["large", "big", "large"],
                "medium": ["", "", "medium sized"]}[scene.size][rng.integers(3)]
        noun = _noun(scene.first, rng)
        if size:
            words = noun.split(" ")
            noun = " ".join(["a" if words[0] == "an" else words[0], size] + words[1:])
        where = {"centre": ["in the centre", "at the centre", "in the centre"],
                 "left": ["on the left", "at the left", "on the left"],
                 "right": ["on the right", "at the right", "on the right"],
                 "top": ["at the top", "on the top", "at the top"],
                 "bottom": ["at the bottom", "on the bottom", "at the bottom"]}[scene.place][rng.integers(3)]
        return f"{noun} {where}"
    a, b = _noun(scene.first, rng), _noun(scene.second, rng)
    if scene.relation == "left of":
        return f"{a} to the left of {b}" if rng.random() < 0.5 else f"{b} to the right of {a}"
    return f"{a} above {b}" if rng.random() < 0.5 else f"{b} below {a}"


EXAMPLE_PROMPTS = ["a 3 to the left of a sneaker", "the digit 7 above a bag", "a small 4 in the centre",
                   "a dress to the right of a 1", "a large ankle boot in the centre", "a coat below a 9"]


def _words(text: str) -> list:
    if not isinstance(text, str):
        raise ValueError(f"A prompt is text, not {type(text).__name__}.")
    words = re.findall(r"[a-z0-9]+(?:-[a-z]+)?", text.lower().replace("t shirt", "t-shirt"))
    out = []
    for w in words:
        if not (w == "boot" and out and out[-1] == "ankle"):
            w = SYNONYMS.get(w, w)
        out.extend(w.split())
    return out


def parse(text: str) -> Scene:
    """The scene a prompt asks for. Unknown words or a sentence outside the grammar: ValueError naming them, with
    the vocabulary and an example."""
    words = _words(text)
    help_text = (f"Write one item and a place (\"a small 4 in the centre\") or two items and a relation "
                 f"(\"a 3 to the left of a sneaker\", \"a bag above the digit 7\"). Items: {', '.join(ITEMS)}; "
                 f"places: {', '.join(PLACES)}; relations: left of, right of, above, below; sizes: small, large.")
    if not words:
        raise ValueError("The prompt is empty. " + help_text)
    unknown = [w for w in words if w not in WORD_ID]
    if unknown:
        raise ValueError(f"Unknown word{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(set(unknown)))}. "
                         + help_text)
    items, i, relation, place, size = [], 0, None, None, "medium"
    while i < len(words):
        w = words[i]
        if w in ("digit", "number") and i + 1 < len(words) and words[i + 1] in DIGITS:
            i += 1
            continue
        if w in DIGITS:
            items.append(DIGITS.index(w))
        elif w in NUMBER_WORDS:
            items.append(NUMBER_WORDS.index(w))
        elif w == "ankle" and i + 1 < len(words) and words[i + 1] == "boot":
            items.append(ITEMS.index("ankle boot"))
            i += 1
        elif w in GARMENTS:
            items.append(ITEMS.index(w))
        elif w in ("small", "tiny"):
            size = "small"
        elif w in ("large", "big"):
            size = "large"
        elif w in ("above", "below") or (w in ("left", "right") and words[i + 1:i + 2] == ["of"]):
            relation = w
        elif w in PLACES and len(items) == 1 and relation is None:
            place = w
        i += 1
    if len(items) == 2 and relation:
        first, second = items
        if relation in ("right", "below"):
            first, second = second, first
        return Scene(first, relation="left of" if relation in ("left", "right") else "above", second=second)
    if len(items) == 1 and relation is None:
        return Scene(items[0], place=place or "centre", size=size)
    raise ValueError(f"Could not read a scene from {text.strip()[:80]!r}. " + help_text)


def encode(text: str, length: int = MAX_WORDS) -> torch.Tensor:
    """Word ids (length,), padded with PAD: what the text encoder reads. The words must be in VOCAB."""
    words = _words(text)
    unknown = [w for w in words if w not in WORD_ID]
    if unknown:
        raise ValueError(f"Unknown words: {', '.join(sorted(set(unknown)))}; known: {', '.join(WORDS)}.")
    if len(words) > length:
        raise ValueError(f"At most {length} words; got {len(words)}.")
    return torch.tensor([WORD_ID[w] for w in words] + [0] * (length - len(words)))


def decode(ids) -> str:
    """Word ids -> text, stopping at EOS and skipping PAD and BOS."""
    words = []
    for i in (ids.tolist() if torch.is_tensor(ids) else ids):
        if VOCAB[i] == EOS:
            break
        if VOCAB[i] not in (PAD, BOS):
            words.append(VOCAB[i])
    return " ".join(words)


# ---- drawing ----------------------------------------------------------------------------------------------

class ItemImages:
    """Every item image of one split, resized once for each size: (N, s, s) float in [0, 1] per size."""

    def __init__(self, images_by_item: list):
        self.by_size = {}
        for size, pixels in ITEM_PIXELS.items():
            self.by_size[size] = [F.interpolate(datasets.to_float(x), size=(pixels, pixels), mode="bilinear",
                                                antialias=True, align_corners=False)[:, 0].clamp(0, 1)
                                  for x in images_by_item]

    def pick(self, item: int, size: str, rng) -> torch.Tensor:
        pool = self.by_size[size][item]
        return pool[rng.integers(len(pool))]


def item_images(mnist: datasets.Dataset, fashion: datasets.Dataset, split: str) -> ItemImages:
    groups = []
    for data_set in (mnist, fashion):
        images, labels = ((data_set.train_images, data_set.train_labels) if split == "train"
                          else (data_set.test_images, data_set.test_labels))
        groups += [images[labels == k] for k in range(10)]
    return ItemImages(groups)


def _paste(canvas: torch.Tensor, image: torch.Tensor, cx: int, cy: int) -> None:
    s = image.shape[0]
    x0 = min(max(cx - s // 2, 0), SIDE - s)
    y0 = min(max(cy - s // 2, 0), SIDE - s)
    region = canvas[y0:y0 + s, x0:x0 + s]
    torch.maximum(region, image, out=region)


def render(scene: Scene, items: ItemImages, rng: np.random.Generator) -> torch.Tensor:
    """The scene as a (32, 32) float image in [0, 1], white items on black like the data sets."""
    canvas = torch.zeros(SIDE, SIDE)
    jitter = lambda: int(rng.integers(-JITTER, JITTER + 1))  # noqa: E731
    if scene.second is None:
        cx, cy = PLACE_CENTRES[scene.place]
        _paste(canvas, items.pick(scene.first, scene.size, rng), cx + jitter(), cy + jitter())
        return canvas
    along, across = int(rng.integers(8, 11)), jitter()
    first, second = items.pick(scene.first, "medium", rng), items.pick(scene.second, "medium", rng)
    if scene.relation == "left of":
        _paste(canvas, first, 16 - along + jitter(), 16 + across)
        _paste(canvas, second, 16 + along + jitter(), 16 + across + jitter())
    else:
        _paste(canvas, first, 16 + across, 16 - along + jitter())
        _paste(canvas, second, 16 + across + jitter(), 16 + along + jitter())
    return canvas


def random_scene(rng: np.random.Generator, held_out: bool | None = False) -> Scene:
    """A scene drawn uniformly: a third with one item, two thirds with two. held_out: False never gives a
    held-out pair (training), True only held-out pairs, None either."""
    while True:
        if held_out is not True and rng.random() < 1 / 3:
            return Scene(int(rng.integers(len(ITEMS))), place=PLACES[rng.integers(len(PLACES))],
                         size=SIZES[rng.integers(len(SIZES))])
        scene = Scene(int(rng.integers(len(ITEMS))), relation=RELATIONS[rng.integers(2)],
                      second=int(rng.integers(len(ITEMS))))
        if held_out is None or is_held_out(scene) == held_out:
            return scene


def draw_scenes(items: ItemImages, n: int, seed: int, held_out: bool | None = False):
    """n scenes from one seed: (images (n, 1, 32, 32) in [0, 1], their Scene specs)."""
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng, held_out) for _ in range(n)]
    return torch.stack([render(s, items, rng) for s in scenes])[:, None], scenes


def draw_specs(items: ItemImages, specs: list, seed: int):
    """These scenes drawn from one seed: (images (n, 1, 32, 32) in [0, 1], the specs)."""
    rng = np.random.default_rng(seed)
    return torch.stack([render(s, items, rng) for s in specs])[:, None], specs


class SceneBatches:
    """Training batches of fresh scenes, a pure function of (seed, step, rank): images (B, 1, 32, 32) in [0, 1]
    and, per scene, the word ids of a random phrasing (text_to_image) or of its canonical caption (captioner)."""

    def __init__(self, items: ItemImages, batch_size: int, seed: int, rank: int, captions: str):
        self.items, self.batch_size, self.seed, self.rank, self.captions = items, batch_size, seed, rank, captions

    def __call__(self, step):
        rng = np.random.default_rng([self.seed, step, self.rank])
        images, scenes = [], []
        for _ in range(self.batch_size):
            scene = random_scene(rng)
            scenes.append(scene)
            images.append(render(scene, self.items, rng))
        if self.captions == "canonical":
            text = torch.stack([caption_ids(s) for s in scenes])
        else:
            text = torch.stack([encode(phrasing(s, rng)) for s in scenes])
        return torch.stack(images)[:, None], text


def caption_ids(scene: Scene) -> torch.Tensor:
    """BOS, the canonical caption's words, EOS, PAD...: the captioner's target, (MAX_WORDS + 2,)."""
    words = [WORD_ID[w] for w in canonical_caption(scene).split()]
    return torch.tensor([WORD_ID[BOS]] + words + [WORD_ID[EOS]] + [0] * (MAX_WORDS - len(words)))


@dataclass
class SceneData:
    """What the scene families train and are measured on: item images of both splits."""
    train: ItemImages
    test: ItemImages
    source: str


def load_scene_data(data=None, dry_run: bool = False) -> SceneData:
    """MNIST and Fashion-MNIST item images (synthetic bars for a dry run, standing in for both)."""
    if dry_run:
        from .training import synthetic_dataset
        bars = synthetic_dataset()
        mnist = fashion = bars
    else:
        mnist, fashion = datasets.load("mnist", data), datasets.load("fashion-mnist", data)
    return SceneData(item_images(mnist, fashion, "train"), item_images(mnist, fashion, "test"),
                     f"MNIST ({mnist.source}) and Fashion-MNIST ({fashion.source})")
