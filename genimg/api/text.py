"""Words and pictures on the captioned scenes (genimg/scenes.py): text to image, image to text, and the scenes
themselves.

    images, scene = genimg.text_to_image("a 3 to the left of a sneaker", n=16, seed=0)
    text, attention = genimg.caption(images[0])      # "a 3 to the left of a sneaker", [(word, 8x8 map), ...]
    image, text = genimg.scene("a small 4 in the centre", seed=1)   # drawn from the MNIST test split
"""
import numpy as np
import torch
from PIL import Image

from .. import imaging, photos, registry, scenes
from .generation import _from_signed, ode_precision, ode_settings
from .likelihood import light_on_black
from .models import MAX_SEED, Model, load, whole_number

MAX_PROMPT_CHARS = 200
MAX_TEXT_IMAGES = 64
MAX_BEAM = 8


def _released(kind: str, model=None) -> Model:
    if model is None:
        names = registry.releases(kind)
        if not names:
            raise ValueError(f"No {kind} model is released.")
        model = names[0]
    model = load(model)
    if model.kind != kind:
        raise ValueError(f"{model.name} is a {model.kind}, not a {kind}; the released ones: "
                         f"{', '.join(registry.releases(kind)) or 'none'}.")
    return model


def read_prompt(prompt) -> tuple:
    """(word ids, the scene it asks for), or ValueError with the vocabulary and an example."""
    if not isinstance(prompt, str):
        got = "nothing" if prompt is None else repr(prompt)[:40]
        raise ValueError(f"A prompt is a sentence such as {scenes.EXAMPLE_PROMPTS[0]!r}; got {got}.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValueError(f"The prompt is {len(prompt)} characters long; at most {MAX_PROMPT_CHARS}, e.g. "
                         f"{scenes.EXAMPLE_PROMPTS[0]!r}.")
    scene = scenes.parse(prompt)  # grammar and vocabulary, with their own messages
    return scenes.encode(prompt), scene


def _text_sampling(prompt, n, seed, steps, guidance, sampler, model) -> tuple:
    """Checked arguments of text_to_image and text_trajectory: (network, starting noise, word ids, ODE settings,
    the scene read, the autocast to sample in)."""
    model = _released("text-to-image", model)
    ids, scene = read_prompt(prompt)
    n = whole_number(n, "number of images", 1, MAX_TEXT_IMAGES)
    seed = whole_number(seed, "seed", 0, MAX_SEED)
    sampling = ode_settings(model, steps, guidance, sampler)
    net = model.net()
    device = next(net.parameters()).device
    z = torch.randn(n, net.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    return net, z, ids[None].expand(n, -1).to(device), sampling, scene, ode_precision(model, device)


def text_to_image(prompt: str, n: int = 16, seed: int = 0, steps: int | None = None, guidance: float | None = None,
                  sampler: str | None = None, model=None) -> tuple:
    """n 32x32 scenes drawn from a sentence, and the scene the sentence was read as (a scenes.Scene; its
    canonical caption is scenes.canonical_caption(scene)). The same prompt, seed and settings always give the
    same images; image k of a seed does not depend on n."""
    net, z, ids, sampling, scene, precision = _text_sampling(prompt, n, seed, steps, guidance, sampler, model)
    with torch.no_grad(), precision:
        images = net.sample(z, ids, **sampling).cpu()
    return imaging.to_pil(images), scene


def text_trajectory(prompt: str, seed: int = 0, steps: int | None = None, guidance: float | None = None,
                    sampler: str | None = None, n: int = 1, model=None) -> list:
    """The path from noise to the scene: (t, images at t, the model's guess of the final images) per step, as
    32x32 PIL images (n per entry); the last entry's images equal text_to_image's for the same arguments."""
    net, z, ids, sampling, _, precision = _text_sampling(prompt, n, seed, steps, guidance, sampler, model)
    with torch.no_grad(), precision:
        path = list(net.trajectory(z, ids, **sampling))
    return [(t, _from_signed(x), _from_signed(guess)) for t, x, guess in path]


def as_scene(image) -> torch.Tensor:
    """An image (PIL, array or path) -> (1, 32, 32) float in [0, 1], light items on black as the scenes are.

    The whole picture is kept (where things are is what a caption says): transparency becomes white, a
    dark-on-light drawing is inverted, the picture is padded to a square and shrunk to 32x32; faint thin strokes
    of a big drawing are brightened so the darkest ink is white."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    gray = light_on_black(photos.open_image(image, "The image", task="caption"))
    if (gray > 30).sum() == 0:
        raise ValueError("The image is blank: draw or upload a scene of digits or garments on a plain background.")
    h, w = gray.shape
    side = max(h, w)
    square = np.zeros((side, side), np.float32)
    square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = gray
    small = torch.from_numpy(square)[None, None]
    if side > scenes.SIDE:
        small = torch.nn.functional.interpolate(small, size=(scenes.SIDE, scenes.SIDE), mode="area")
    elif side < scenes.SIDE:
        small = torch.nn.functional.interpolate(small, size=(scenes.SIDE, scenes.SIDE), mode="bilinear",
                                                align_corners=False)
    small = small[0] / 255
    return (small / small.max().clamp(min=0.5)).clamp(0, 1)


def caption(image, beam_width: int = 1, model=None) -> tuple:
    """(caption, attention): the caption of a 32x32 scene (any image is fitted to one, see as_scene), by greedy
    decoding (beam_width 1) or beam search; attention is [(word, (8, 8) array summing to 1)], where the
    captioner looked over the image while choosing each word."""
    model = _released("captioner", model)
    beam_width = whole_number(beam_width, "beam width", 1, MAX_BEAM)
    scene = as_scene(image)
    net = model.net()
    with torch.no_grad():
        [(text, maps)] = net.caption(scene[None].to(next(net.parameters()).device), beam_width)
    return text, [(w, m.cpu().numpy()) for w, m in zip(text.split(), maps)]


def scene_image(scene_tensor: torch.Tensor) -> Image.Image:
    """A (1, 32, 32) or (32, 32) scene in [0, 1] -> a grayscale PIL image."""
    return imaging.to_pil(scene_tensor.reshape(1, 1, *scene_tensor.shape[-2:]))[0]


_scene_items = {}


def scene(description: str | None = None, seed: int = 0, data=None) -> tuple:
    """A real scene from the test splits of MNIST and Fashion-MNIST (found as data.load finds them, or downloaded):
    (32x32 image, its canonical caption). description: a prompt ("a 7 above a bag"), or None for a random scene."""
    seed = whole_number(seed, "seed", 0, MAX_SEED)
    rng = np.random.default_rng(seed)
    spec = scenes.random_scene(rng, held_out=None) if description is None else read_prompt(description)[1]
    if "test" not in _scene_items:
        _scene_items["test"] = scenes.load_scene_data(data).test
    return scene_image(scenes.render(spec, _scene_items["test"], rng)), scenes.canonical_caption(spec)
