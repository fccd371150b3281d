"""One room per model family: each module or folder holds a family's network, trainer and recipes together,
and describes itself with `FAMILIES` (Family records) and `RECIPES`; genimg/registry.py lists the rooms."""
