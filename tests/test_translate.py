"""Sketch to emoji: the training drawings, the networks, one step of each loss, the API's reading of drawings and
pictures, and its messages for what is not a drawing."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from torch.nn import functional as F

import genimg
from genimg.families.pix2pix import PatchDiscriminator, SketchUNet, edge_strength, line_drawing
from genimg.training import synthetic_colour


@pytest.fixture
def translator(checkpoint_dir):
    """The dry-run sketch-to-emoji checkpoint (6 steps on coloured discs and squares)."""
    return genimg.translator()


def drawn_circle(size=300, width=8, mode="RGBA", box=(40, 40, 260, 260)):
    """A circle drawn in black on a transparent (RGBA) or white page, as the Sketchpad sends it."""
    page = Image.new(mode, (size, size), (0, 0, 0, 0) if mode == "RGBA" else "white")
    ImageDraw.Draw(page).ellipse(box, outline=(0, 0, 0, 255) if mode == "RGBA" else "black", width=width)
    return page


def emoji_like(n=4):
    return synthetic_colour(64, n_train=n, n_test=1).train_images.permute(0, 3, 1, 2).float() / 255


def test_edges_are_thin_and_follow_colour_changes():
    x = torch.ones(1, 3, 64, 64)
    x[:, :, 16:48, 16:48] = torch.tensor([0.9, 0.2, 0.2])[:, None, None]  # a red square on white
    strength = edge_strength(x)[0, 0]
    assert strength[:, 8].max() < 1e-6 and strength[32, 32] < 1e-6  # paper and flat colour: no line
    across = (strength[32] > 0.2).nonzero().flatten().tolist()  # a row through the square: its two sides,
    assert across == [15, 16, 47, 48]  # each the two pixels of the step (a soft edge keeps its one crest)
    soft = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
    assert (edge_strength(soft)[0, 0, 32] > 0.1).sum() <= 4


def test_line_drawings_vary_with_the_generator_and_repeat_with_its_seed():
    x = emoji_like()
    a = line_drawing(x, torch.Generator().manual_seed(3))
    b = line_drawing(x, torch.Generator().manual_seed(3))
    c = line_drawing(x, torch.Generator().manual_seed(4))
    assert a.shape == (4, 1, 64, 64) and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)
    ink_share = a.mean().item()
    assert 0.01 < ink_share < 0.3  # lines, not filled shapes


def test_networks_shapes_and_the_category_hint():
    torch.manual_seed(0)
    net = SketchUNet(width=8, num_classes=9).eval()
    ink = line_drawing(emoji_like(2), torch.Generator().manual_seed(0))
    out = net(ink)
    assert out.shape == (2, 3, 64, 64) and 0 <= out.min() and out.max() <= 1
    torch.nn.init.normal_(net.category.weight)  # zero at the start of training; a trained hint changes the colours
    assert not torch.allclose(net(ink, torch.tensor([0, 0])), net(ink, torch.tensor([5, 5])))
    assert PatchDiscriminator(width=8)(ink, out).shape == (2, 1, 8, 8)


def test_one_step_lowers_the_l1_and_each_gan_loss():
    torch.manual_seed(0)
    x = emoji_like(8)
    ink = line_drawing(x, torch.Generator().manual_seed(0))
    g, d = SketchUNet(width=8), PatchDiscriminator(width=8)

    def lowered(module, loss_fn, lr=1e-3):
        opt = torch.optim.Adam(module.parameters(), lr)
        before = loss_fn()
        opt.zero_grad()
        before.backward()
        opt.step()
        return loss_fn().item() < before.item()

    assert lowered(g, lambda: (g(ink) - x).abs().mean())
    fake = g(ink).detach()

    def d_loss():
        d.eval()  # spectral norm: the same estimate before and after the step
        return F.relu(1 - d(ink, x)).mean() + F.relu(1 + d(ink, fake)).mean()

    assert lowered(d, d_loss)
    assert lowered(g, lambda: -d(ink, g(ink)).mean())


def test_a_drawing_is_read_wherever_and_however_it_is_drawn():
    """A transparent Sketchpad page and a white one, the drawing anywhere on it, dark on light or light on dark:
    the same ink, filling the page with a small margin."""
    centred = genimg.drawing_ink(drawn_circle())
    corner = genimg.drawing_ink(drawn_circle(size=600, width=16, mode="RGB", box=(10, 10, 450, 450)))
    inverted = Image.fromarray(255 - np.asarray(drawn_circle(mode="RGB")))
    assert centred.shape == (1, 1, 64, 64) and centred.max() == 1
    assert F.l1_loss(centred, corner) < 0.03
    assert torch.allclose(genimg.drawing_ink(inverted), genimg.drawing_ink(drawn_circle(mode="RGB")))
    rows = centred[0, 0].amax(1).nonzero().flatten()
    assert rows.min() <= 4 and rows.max() >= 59  # the drawing spans the page, as an emoji does


def test_translate_gives_a_colour_emoji_the_same_each_time(translator):
    a = genimg.translate(drawn_circle())
    assert a.size == (64, 64) and a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(genimg.translate(drawn_circle())))
    hinted = genimg.translate(drawn_circle(), category=genimg.translation_categories()[2])
    assert hinted.size == (64, 64)


def test_the_edges_of_a_picture_are_a_drawing_to_translate(translator, tmp_path):
    photo = Image.open(genimg.__path__[0] + "/../examples/chelsea.png").convert("RGB")
    sketch = genimg.sketch_of(photo)
    assert sketch.size == (64, 64) and sketch.mode == "L"
    ink_share = (np.asarray(sketch) < 128).mean()
    assert 0.03 < ink_share < 0.25
    assert genimg.translate(sketch).size == (64, 64)


@pytest.mark.parametrize("bad, message", [
    (Image.new("RGBA", (200, 200), (0, 0, 0, 0)), "The drawing is empty"),
    (Image.new("RGB", (200, 200), "white"), "The drawing is empty"),
    ("photo", "not a line drawing"),
    (b"not an image at all", "not an image"),
    (None, "The drawing is missing"),
])
def test_what_is_not_a_drawing_gets_a_message(translator, bad, message):
    if bad == "photo":
        bad = Image.open(genimg.__path__[0] + "/../examples/chelsea.png")
    with pytest.raises(ValueError, match=message):
        genimg.translate(bad)


def test_unknown_category_and_flat_pictures_get_a_message(translator):
    with pytest.raises(ValueError, match="Unknown category 'Hats'; categories: Smileys & Emotion"):
        genimg.translate(drawn_circle(), category="Hats")
    with pytest.raises(ValueError, match="flat"):
        genimg.sketch_of(Image.new("RGB", (80, 80), "teal"))
    with pytest.raises(ValueError, match="dcgan-mnist does not translate drawings; the models that do: pix2pix"):
        genimg.translator("dcgan-mnist")


def test_every_image_mode_and_an_odd_size_read_the_same(translator):
    tall = Image.new("L", (90, 300), 255)
    ImageDraw.Draw(tall).ellipse((10, 10, 80, 290), outline=0, width=4)
    expected = genimg.drawing_ink(tall)
    for mode in ("1", "LA", "P", "I", "F", "CMYK", "RGB", "RGBA"):
        assert torch.allclose(genimg.drawing_ink(tall.convert(mode)), expected), mode
    sixteen_bit = Image.fromarray(np.asarray(tall).astype(np.uint16) * 257)
    assert torch.allclose(genimg.drawing_ink(sixteen_bit), expected)
    assert genimg.translate(tall.convert("CMYK")).size == (64, 64)
