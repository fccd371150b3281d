"""What a model family is: its record (`Family`) and what the training loop asks of its trainer (`Trainer`).

Each family's room (genimg/families/) defines its network, a Trainer subclass and its recipes, and describes
itself with Family records; genimg/registry.py collects them. Nothing here knows any family by name.
"""
from dataclasses import dataclass

import torch

# What a family is for; the API, the app's menus and the bench pick families by kind, never by name.
KINDS = {
    "generator": "draws images from random codes",
    "conditional-generator": "draws images of a chosen class",
    "classifier": "labels images; its features score the generators",
    "upscaler": "enlarges photos x2 or x4",
    "inpainter": "fills holes in photos",
    "stylizer": "paints photos in the manner of paintings",
    "arbitrary-stylizer": "paints photos in the manner of any painting given",
    "text-to-image": "draws 32x32 scenes of digits and garments from a sentence",
    "captioner": "describes a 32x32 scene of digits and garments in a sentence",
    "translator": "paints a 64x64 colour emoji from a line drawing",
}


@dataclass(frozen=True)
class Family:
    name: str
    kind: str
    network: type  # the torch module the checkpoint holds
    config: dict  # the network's constructor arguments as shipped (a card's config goes on top)
    trainer: type
    label: str  # what menus and tables show
    description: str
    latent_knob: str | None = None  # generators: "truncation" (GANs) or "temperature" (VAEs, flows)
    ode_sampler: bool = False  # generators that integrate an ODE: they take steps, guidance and a sampler
    default_temperature: float = 1.0  # temperature-knob generators: what generate() uses when given none
    latent_map: bool = False  # a 2-D latent whose plane can be drawn as a map
    short_name: str | None = None  # what people may type instead of a checkpoint name ("fast", "quality")

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Family {self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}.")

    def full_config(self, config: dict | None = None) -> dict:
        """The shipped configuration with `config` on top: every constructor argument `build` passes."""
        unknown = set(config or {}) - set(self.config)
        if unknown:
            raise ValueError(f"Config keys {sorted(unknown)} are not options of {self.name} ({sorted(self.config)}).")
        return {**self.config, **(config or {})}

    def build(self, config: dict | None = None) -> torch.nn.Module:
        return self.network(**self.full_config(config))


class Trainer:
    """One family's training: its modules and optimisers, and one step. The shared loop (genimg/training.py)
    calls exactly these; a family overrides what differs from the defaults below.

    Constructed as Trainer(recipe, family, data_set, device, world) after load_data() has made the data set and
    its batches. `modules` and `optimizers` are what a resumable state saves; `card_extras` goes into the card.
    """
    watch_collapse = False  # GANs: the loop warns when the discriminator wins outright or the samples collapse
    constant_lr = False  # True: no warm-up and cosine decay (GANs, whose EMA smooths them)
    sample_count, sample_columns = 64, 8  # the fixed-seed progress grid

    def __init__(self, recipe: dict, family: Family, data_set, device: torch.device, world: int):
        self.recipe, self.family, self.device, self.world = recipe, family, device, world
        self.modules: dict = {}
        self.optimizers: dict = {}
        self.card_extras: dict = {}
        self.current_step = 0  # set by the loop before each step

    @staticmethod
    def load_data(recipe: dict, family: Family, dataset: str, data, dry_run: bool, seed: int, rank: int, world: int):
        """(data set, batches): batches(step) -> (inputs, labels), a pure function of (seed, step, rank)."""
        raise NotImplementedError

    def step(self, batch, labels, autocast) -> dict:
        """One optimiser step; returns the losses to log."""
        raise NotImplementedError

    def samples(self):
        """Images in [0, 1] for the progress grid, or None when the family draws none."""
        return None

    def validate(self, data_set, run_dir, step) -> dict:
        """Held-out scores while training (and a picture in run_dir); {} when the family has none."""
        return {}

    def export(self, quick: bool = False) -> torch.nn.Module:
        """The module the checkpoint saves. quick: a dry run, where slow finishing touches may be cut short."""
        return self.modules["model"].eval()

    def evaluate(self, data_set) -> dict:
        """The card's metrics at the end of a run."""
        return {}


def checkpoint_name(recipe: str, dataset: str) -> str:
    return f"{recipe}-{dataset}"
