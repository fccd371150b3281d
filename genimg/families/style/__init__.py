"""Style transfer: one feed-forward network for every preset painting, its losses (and Gatys' optimisation for
any style image, losses.py), its trainer and recipe."""
from ...family import Family
from .network import StyleNetwork
from .trainer import RECIPES, StyleTrainer

FAMILIES = [
    Family("style", "stylizer", StyleNetwork,
           {"styles": ["style"], "width": 32, "blocks": 5, "body": 96, "layout": "half", "norm": "instance"},
           StyleTrainer, label="Style presets",
           description="Fast style transfer: Johnson et al.'s network with a conditional instance norm per preset"),
]
__all__ = ["FAMILIES", "RECIPES"]
