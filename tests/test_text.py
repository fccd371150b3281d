"""Words and pictures: the captioned scenes, the text-to-image model, the captioner, their API and BLEU-4."""
from contextlib import nullcontext

import numpy as np
import pytest
import torch
from PIL import Image

import genimg
from genimg import registry, scenes
from genimg.metrics import bleu4
from genimg.training import synthetic_dataset


@pytest.fixture(scope="module")
def items():
    bars = synthetic_dataset()
    return scenes.item_images(bars, bars, "train")


# ---- scenes and captions -------------------------------------------------------------------------------------

def test_every_phrasing_and_the_canonical_caption_read_back_as_their_scene():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        scene = scenes.random_scene(rng, held_out=None)
        assert scenes.parse(scenes.canonical_caption(scene)) == scene
        text = scenes.phrasing(scene, rng)
        assert scenes.parse(text) == scene, text
        assert scenes.decode(scenes.encode(text)) == " ".join(text.replace("  ", " ").split())


def test_relations_read_either_way_round():
    left = scenes.parse("a 3 to the left of a sneaker")
    assert scenes.parse("a sneaker to the right of the digit 3") == left
    assert scenes.canonical_caption(left) == "a 3 to the left of a sneaker"
    assert scenes.parse("a bag below a seven") == scenes.parse("the number 7 above a bag")
    assert scenes.parse("a tiny 8 at the center") == scenes.Scene(8, place="centre", size="small")
    assert scenes.canonical_caption(scenes.Scene(19, place="top")) == "an ankle boot at the top"


@pytest.mark.parametrize("prompt, message", [
    ("a cat on the left", "Unknown word: cat"), ("", "empty"), ("3 3 3", "Could not read a scene"),
    ("a 3 above", "Could not read a scene")])
def test_prompts_outside_the_grammar_get_the_vocabulary_and_an_example(prompt, message):
    with pytest.raises(ValueError, match=message) as error:
        scenes.parse(prompt)
    assert "ankle boot" in str(error.value) and "a 3 to the left of a sneaker" in str(error.value)


def test_held_out_pairs_never_appear_in_training_batches(items):
    batches = scenes.SceneBatches(items, 64, seed=0, rank=0, captions="phrasings")
    rng = np.random.default_rng(5)
    assert not any(scenes.is_held_out(scenes.random_scene(rng)) for _ in range(3000))
    held = [scenes.random_scene(rng, held_out=True) for _ in range(50)]
    assert all(scenes.is_held_out(s) and s.relation == "above" for s in held)
    x, ids = batches(3)
    assert x.shape == (64, 1, 32, 32) and ids.shape == (64, scenes.MAX_WORDS) and 0 <= x.min() and x.max() <= 1
    again_x, again_ids = batches(3)
    assert torch.equal(x, again_x) and torch.equal(ids, again_ids)  # a pure function of (seed, step): exact resume


def test_scenes_put_items_where_their_caption_says(items):
    rng = np.random.default_rng(1)
    left = scenes.render(scenes.Scene(0, relation="left of", second=5), items, rng)
    ink_x = (left.sum(0) * torch.arange(32)).sum() / left.sum()
    first_only = scenes.render(scenes.Scene(0, place="left"), items, rng)
    assert (first_only.sum(0) * torch.arange(32)).sum() / first_only.sum() < 14 < ink_x + 8
    top = scenes.render(scenes.Scene(4, place="top"), items, rng)
    assert (top.sum(1) * torch.arange(32)).sum() / top.sum() < 13
    small, large = (scenes.render(scenes.Scene(4, size=s), items, np.random.default_rng(2)) for s in ("small", "large"))
    assert (small > 0.3).sum() < (large > 0.3).sum()


def test_captioner_targets_are_framed_and_padded():
    ids = scenes.caption_ids(scenes.Scene(3, relation="above", second=17))
    words = [scenes.VOCAB[i] for i in ids.tolist()]
    assert words[0] == scenes.BOS and scenes.EOS in words and len(ids) == scenes.MAX_WORDS + 2
    assert scenes.decode(ids) == "a 3 above a sneaker"


def test_bleu4():
    assert bleu4(["a 3 above a bag"], ["a 3 above a bag"]) == 1.0
    assert 0 < bleu4(["a 3 above a coat"], ["a 3 above a bag"]) < 1
    assert bleu4(["a bag"], ["a 3 above a bag"]) == 0.0  # no 4-gram can match
    assert bleu4(["a 3 to the left of a bag", "x"], ["a 3 to the left of a bag", "a 3 to the left of a bag"]) < 1


# ---- the networks ----------------------------------------------------------------------------------------

def one_family(name, items, steps=8):
    """A trainer of the family on a fixed batch of bar scenes: the loss before and after a few steps."""
    family = registry.family(name)
    recipe = {**registry.RECIPES[name], "batch_size": 16, "dry_run": True}
    captions = "canonical" if family.kind == "captioner" else "phrasings"
    data_set = scenes.SceneData(items, items, "bars")
    trainer = family.trainer(recipe, family, data_set, torch.device("cpu"), 1)
    x, text = scenes.SceneBatches(items, 16, 0, 0, captions)(0)
    losses = []
    for step in range(steps):
        torch.manual_seed(step % 2)  # the same noise and times every other step: a fair before and after
        trainer.current_step = step
        losses.append(trainer.step(x, text, nullcontext())["loss"])
    return trainer, losses


@pytest.mark.parametrize("name", ["textflow", "captioner"])
def test_a_few_optimiser_steps_lower_the_loss(name, items):
    _, losses = one_family(name, items)
    assert losses[-2] < losses[0], losses


def test_text_flow_draws_scenes_of_the_canvas_size_and_guidance_uses_the_empty_sentence(items):
    trainer, _ = one_family("textflow", items, steps=1)
    net = trainer.ema
    ids = torch.stack([scenes.encode("a 3 above a bag"), scenes.encode("a small 4 in the centre")])
    assert torch.equal(net.null_condition(ids), torch.zeros_like(ids))
    z = torch.randn(2, net.z_dim, generator=torch.Generator().manual_seed(0))
    a, b = net.sample(z, ids, steps=2, guidance=2.0), net.sample(z, ids, steps=2, guidance=2.0)
    assert a.shape == (2, 1, 32, 32) and torch.equal(a, b)
    # guidance 0 ignores the words: the same noise gives the same picture whatever they say
    assert torch.allclose(net.sample(z, ids, steps=2, guidance=0.0), net.sample(z, ids.flip(0), steps=2, guidance=0.0))


def test_captioner_attention_is_a_distribution_over_the_8x8_grid_per_word(items):
    trainer, _ = one_family("captioner", items, steps=1)
    images, _ = scenes.draw_scenes(items, 3, seed=0)
    for beam_width in (1, 3):
        for text, maps in trainer.model.caption(images, beam_width):
            assert maps.shape == (len(text.split()), 8, 8)
            assert torch.allclose(maps.sum((1, 2)), torch.ones(len(maps)), atol=1e-5)


# ---- the API, on dry-run checkpoints -----------------------------------------------------------------------

def test_text_to_image_is_deterministic_and_reads_the_prompt(checkpoint_dir):
    images, scene = genimg.text_to_image("a 3 to the left of a sneaker", n=3, seed=4, steps=2)
    again, _ = genimg.text_to_image("a sneaker to the right of a 3", n=5, seed=4, steps=2)
    assert len(images) == 3 and images[0].size == (32, 32) and images[0].mode == "L"
    assert scene == scenes.Scene(3, relation="left of", second=17)
    other, _ = genimg.text_to_image("a 3 to the left of a sneaker", n=1, seed=5, steps=2)
    assert np.array_equal(np.asarray(images[0]), np.asarray(genimg.text_to_image(
        "a 3 to the left of a sneaker", n=1, seed=4, steps=2)[0][0]))
    assert not np.array_equal(np.asarray(images[0]), np.asarray(other[0]))
    path = genimg.text_trajectory("a 3 to the left of a sneaker", seed=4, steps=2)
    assert len(path) == 3 and np.array_equal(np.asarray(path[-1][1][0]), np.asarray(images[0]))
    assert again[0].size == (32, 32)


@pytest.mark.parametrize("prompt, message", [
    (None, "A prompt is a sentence .* got nothing"), (7, "A prompt is a sentence .* got 7"), ("a dog above a 3", "Unknown word: dog"),
    ("a 3 " * 60, "characters long"), ("   ", "empty")])
def test_bad_prompts_get_a_clear_message(checkpoint_dir, prompt, message):
    with pytest.raises(ValueError, match=message):
        genimg.text_to_image(prompt, n=1, steps=1)


def test_caption_of_any_picture_with_a_map_per_word(checkpoint_dir, tmp_path):
    drawing = np.full((256, 256, 4), 255, np.uint8)
    drawing[100:150, 30:60, :3] = 0  # a dark stroke on white, as a Sketchpad sends it
    text, attention = genimg.caption(drawing)
    assert isinstance(text, str) and all(m.shape == (8, 8) for _, m in attention)
    assert [w for w, _ in attention] == text.split()
    seen = genimg.as_scene(drawing)
    assert seen.shape == (1, 32, 32) and seen[0, 14, 5] > 0.9 and seen[0, 2, 2] == 0  # inverted, kept in place
    Image.new("L", (64, 64)).save(tmp_path / "black.png")
    with pytest.raises(ValueError, match="blank"):
        genimg.caption(tmp_path / "black.png")
    with pytest.raises(ValueError, match="beam width"):
        genimg.caption(drawing, beam_width=0)
    (tmp_path / "text.png").write_text("not a picture")
    with pytest.raises(ValueError, match="not an image"):
        genimg.caption(tmp_path / "text.png")
    strip = genimg.attention_strip(Image.fromarray((seen[0].numpy() * 255).astype(np.uint8)), attention)
    assert strip.mode == "RGB" and strip.width > 32 * 4 * max(1, len(attention)) - 1


def test_the_models_are_registered_and_released():
    assert [f.name for f in registry.families("text-to-image")] == ["textflow"]
    assert [f.name for f in registry.families("captioner")] == ["captioner"]
    assert {"textflow-scenes", "captioner-scenes"} <= set(registry.RELEASES)

