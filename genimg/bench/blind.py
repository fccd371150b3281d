"""Blind comparisons: pairs of pictures judged by eye with the methods' names hidden.

`write_pairs` saves one PNG per pair: an optional reference panel (what the judge needs to know, such as the photo
with its hole in white), then the two candidates as A and B in an order drawn by a seeded coin. The key (which
side is the new method) goes to a separate file beside the folder, so whoever judges the folder cannot see it.
`score` reads the judge's answers ("pair_07 A", one line per pair) and counts how often the new method won.
"""
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .. import checkpoints
from ..api import checkpoint_dir

INSTRUCTIONS = """# Blind comparison

Each `pair_NN.png` shows {reference}then two results, **A** (left) and **B** (right), made by two methods; which
method is on which side was decided by a coin toss for every pair. Look at each pair at full size and decide
which of A and B {question}. There is no "same" answer: when in doubt, pick the one you would rather keep.

Write one line per pair into a text file: the pair's name and your choice, e.g.

    pair_00 A
    pair_01 B
"""


def labelled(panels: list, titles: list, gap: int = 8) -> Image.Image:
    """Panels (uint8 RGB arrays of one height) side by side on white, each with its title above."""
    height = max(p.shape[0] for p in panels)
    width = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    canvas = Image.new("RGB", (width, height + 22), "white")
    draw = ImageDraw.Draw(canvas)
    x = 0
    for panel, title in zip(panels, titles):
        canvas.paste(Image.fromarray(panel), (x, 22))
        draw.text((x + 4, 4), title, fill="black")
        x += panel.shape[1] + gap
    return canvas


def write_pairs(pairs: list, out_dir, new: str, old: str, question: str, reference_title: str | None = None,
                seed: int = 0) -> Path:
    """pairs: [(name, reference or None, new result, old result)] as uint8 RGB arrays. Returns the key's path
    (`<out_dir>.key.json`, outside the folder)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    key = {"new": new, "old": old, "question": question, "pairs": {}}
    for i, (name, reference, new_result, old_result) in enumerate(pairs):
        new_is_a = bool(rng.integers(0, 2))
        a, b = (new_result, old_result) if new_is_a else (old_result, new_result)
        panels, titles = [a, b], ["A", "B"]
        if reference is not None:
            panels, titles = [reference, *panels], [reference_title or "reference", *titles]
        labelled(panels, titles).save(out / f"pair_{i:02d}.png")
        key["pairs"][f"pair_{i:02d}"] = {"source": name, "new_is": "A" if new_is_a else "B"}
    (out / "INSTRUCTIONS.md").write_text(INSTRUCTIONS.format(
        reference=f"first {reference_title or 'a reference'}, " if any(p[1] is not None for p in pairs) else "",
        question=question))
    key_path = out.parent / f"{out.name}.key.json"
    key_path.write_text(json.dumps(key, indent=1))
    print(f"{len(pairs)} blind pairs in {out} (instructions: {out / 'INSTRUCTIONS.md'}); the key, not to be shown to "
          f"the judge: {key_path}")
    return key_path


def score(pairs_dir, answers, judge: str, model: str | None = None, metric: str | None = None,
          update_cards: bool = False) -> dict:
    """Share of pairs where the judge chose the new method; with update_cards, recorded in `model`'s card under
    `metric`."""
    pairs_dir = Path(pairs_dir)
    key = json.loads((pairs_dir.parent / f"{pairs_dir.name}.key.json").read_text())
    chosen = {}
    for line in Path(answers).read_text().splitlines():
        parts = line.replace(":", " ").split()
        if len(parts) >= 2 and parts[0] in key["pairs"] and parts[1].upper() in ("A", "B"):
            chosen[parts[0]] = parts[1].upper()
    missing = sorted(set(key["pairs"]) - set(chosen))
    if missing:
        raise SystemExit(f"error: no answer for {', '.join(missing)} in {answers}.")
    wins = sum(chosen[p] == k["new_is"] for p, k in key["pairs"].items())
    result = {"pairs": len(key["pairs"]), "new_preferred": wins, "share": round(wins / len(key["pairs"]), 4),
              "new": key["new"], "old": key["old"], "question": key["question"], "judge": judge,
              "lost": sorted(key["pairs"][p]["source"] for p in key["pairs"] if chosen[p] != key["pairs"][p]["new_is"])}
    print(f"{key['new']} preferred over {key['old']} in {wins} of {len(key['pairs'])} pairs "
          f"({wins / len(key['pairs']):.0%}); judged by {judge}")
    if update_cards and model and metric:
        checkpoints.record_metrics(checkpoint_dir(), model, metric, {
            **result, "command": f"python -m genimg.bench blind-score --pairs {pairs_dir} --answers {answers} "
                                 f"--model {model} --metric {metric} --update-cards"})
    return result
