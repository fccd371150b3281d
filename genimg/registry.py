"""Every model family, every recipe and every release, in one place.

A family lives in its own room under genimg/families/ (network, trainer, recipes, Family records); adding one
is that room plus one line in ROOMS. train.py --list, the API's checks, the app's menus and the bench all read
what they need from here, by kind (see family.KINDS), never by a family's name.
"""
from .families import adain, captioner, classifier, flow, flowmatch, gan, inpaint, pix2pix, sr, style, textflow, vae
from .family import KINDS, Family, checkpoint_name

ROOMS = [
    gan,  # dcgan, cgan
    vae,  # vae, vae2d
    flow,
    flowmatch,
    textflow,  # text to image on captioned scenes
    captioner,  # image to text on the same scenes
    classifier,
    pix2pix,  # sketch to emoji
    sr,  # espcn (fast), edsr (quality)
    inpaint,
    style,
    adain,  # any painting
]

FAMILIES: dict[str, Family] = {family.name: family for room in ROOMS for family in room.FAMILIES}
RECIPES: dict[str, dict] = {name: recipe for room in ROOMS for name, recipe in room.RECIPES.items()}

# What checkpoints/ ships and the app serves: (recipe, dataset) -> checkpoint <recipe>-<dataset>. Stages that only
# lead to these (inpaint-base, sr-quality-base, ...) are recorded in each release card's "stages", not shipped.
RELEASES = [checkpoint_name(recipe, dataset) for recipe, dataset in [
    ("dcgan", "mnist"), ("dcgan", "fashion-mnist"),
    ("cgan", "mnist"), ("cgan", "fashion-mnist"),
    ("vae", "mnist"), ("vae", "fashion-mnist"),
    ("vae2d", "mnist"), ("vae2d", "fashion-mnist"),
    ("flow", "mnist"), ("flow", "fashion-mnist"),
    ("flowmatch", "mnist"), ("flowmatch", "fashion-mnist"),
    ("flowmatch", "emoji"),  # colour emoji by category
    ("textflow", "scenes"), ("captioner", "scenes"),
    ("classifier", "mnist"), ("classifier", "fashion-mnist"), ("classifier", "emoji"),
    ("pix2pix", "emoji"),
    ("sr-quality", "photos"), ("sr-fast", "photos"),  # the first upscaler is the API's default
    ("inpaint-psnr", "photos"),
    ("style", "photos"),
    ("adain", "photos"),  # any style image in one pass
]]


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"Unknown model family {name!r}; known: {', '.join(FAMILIES)}.")
    return FAMILIES[name]


def families(*kinds: str) -> list[Family]:
    """The families of these kinds, in registry order."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"Unknown kinds {sorted(unknown)}; kinds: {', '.join(KINDS)}.")
    return [f for f in FAMILIES.values() if f.kind in kinds]


def full_config(name: str, config: dict | None = None) -> dict:
    return family(name).full_config(config)


def build(name: str, config: dict | None = None):
    return family(name).build(config)


def release_of(family_name: str, dataset: str) -> str:
    """The released checkpoint of a family for a dataset (e.g. "cgan", "mnist" -> "cgan-mnist")."""
    for name in releases(dataset=dataset):
        if family_of(name).name == family_name:
            return name
    raise ValueError(f"No released {family_name} model for {dataset}.")


def releases(*kinds: str, dataset: str | None = None) -> list[str]:
    """The released checkpoints whose family is of one of these kinds (any kind when none is named), trained on
    `dataset` when one is named, in RELEASES order."""
    wanted = {f.name for f in families(*kinds)} if kinds else set(FAMILIES)
    return [name for name in RELEASES
            if family_of(name).name in wanted and (dataset is None or dataset_of(name) == dataset)]


def recipe_of(checkpoint: str) -> str:
    """The recipe a checkpoint name was made by: the longest recipe name it starts with."""
    for recipe in sorted(RECIPES, key=len, reverse=True):
        if checkpoint.startswith(recipe + "-"):
            return recipe
    raise ValueError(f"{checkpoint!r} is not named <recipe>-<dataset> after any recipe ({', '.join(RECIPES)}).")


def family_of(checkpoint: str) -> Family:
    """The family record of a checkpoint named <recipe>-<dataset>."""
    return FAMILIES[RECIPES[recipe_of(checkpoint)]["family"]]


def dataset_of(checkpoint: str) -> str:
    """The dataset of a checkpoint named <recipe>-<dataset> ("cgan-fashion-mnist" -> "fashion-mnist")."""
    return checkpoint[len(recipe_of(checkpoint)) + 1:]
