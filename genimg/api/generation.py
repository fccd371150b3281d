"""Generation: samples, interpolation and the manifold map of the 28x28 generators, and the classifier that
labels what they draw.

    genimg.generate("cgan-mnist", n=16, seed=3, label=7)
    genimg.interpolate("dcgan-fashion-mnist", seed_a=1, seed_b=2, steps=16)
"""
import math
from contextlib import nullcontext

import torch
from PIL import Image

from .. import hardware, imaging, registry
from .models import MAX_SEED, Model, class_index, find_kind, load, real_number, whole_number

# The range of every number a person chooses here. The app builds its sliders from these same names, so a
# slider and the message for a value outside it always agree.
MAX_IMAGES = 64
MIN_STEPS, MAX_STEPS = 2, 64  # interpolation frames
MIN_GRID, MAX_GRID = 2, 30  # manifold map: cells per side
MIN_TRUNCATION, MAX_TRUNCATION = 0.1, 3.0  # GANs; None (the app's 0) = off
MAX_TEMPERATURE = 2.0  # VAEs and flows
SAMPLERS = ("euler", "heun")  # ODE steps: Euler (one network call per step) or Heun (two, more accurate)
DEFAULT_ODE_STEPS, MAX_ODE_STEPS = 20, 100
DEFAULT_GUIDANCE, MAX_GUIDANCE = 2.0, 8.0
GENERATOR_KINDS = ("generator", "conditional-generator")


def generator_model(model) -> Model:
    model = load(model)
    if model.kind not in GENERATOR_KINDS:
        raise ValueError(f"{model.name} is a {model.kind}, not a generator; pick one of: "
                         f"{', '.join(registry.releases(*GENERATOR_KINDS))}.")
    return model


# ----------------------------------------------------------------------------------------------
# Sampling


def truncated_normal(shape, truncation: float | None, generator=None):
    """Standard normal samples; with `truncation`, values beyond +-truncation are redrawn (the truncation trick),
    then scaled back to unit variance (truncated_std).

    Without the rescaling the codes shrink (at truncation 0.5 their standard deviation is 0.28), and a generator
    whose first layer feeds batch norm with statistics measured on N(0, 1) codes draws dim, faded images: the
    conditional GAN's garments came out nearly black. Rescaled, the codes have the length the generator was
    trained on and only lose their outlying values, which is what makes samples more typical."""
    z = torch.randn(shape, generator=generator)
    if truncation is None:
        return z
    for _ in range(100):
        outside = z.abs() > truncation
        if not outside.any():
            break
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
    return z.clamp_(-truncation, truncation) / truncated_std(truncation)


def truncated_std(truncation: float) -> float:
    """The standard deviation of N(0, 1) restricted to [-t, t]: sqrt(1 - 2 t phi(t) / (2 Phi(t) - 1))."""
    t = float(truncation)
    density = math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(t / math.sqrt(2))
    return math.sqrt(max(1 - 2 * t * density / mass, 1e-12))


def latents(model: Model, n: int, seed: int, truncation: float | None = None) -> torch.Tensor:
    """The n latent codes of a seed: the same seed always gives the same codes (and so the same images)."""
    return truncated_normal((n, model.z_dim), truncation, torch.Generator().manual_seed(seed))


@torch.no_grad()
def decode(model: Model, z: torch.Tensor, labels: torch.Tensor | None = None, **sampling) -> torch.Tensor:
    """Latent codes (and labels or class weights) -> images in [0, 1], shape (N, 1, 28, 28). `sampling`: the
    steps, guidance and sampler of an ODE-based generator (see ode_settings)."""
    net = model.net()
    device = next(net.parameters()).device
    labels = labels.to(device) if model.conditional and labels is not None else None
    with ode_precision(model, device):
        return net.sample(z.to(device), labels, **sampling).cpu()


def ode_precision(model: Model, device: torch.device):
    """The ODE samplers' network calls in bfloat16 on a CPU that computes it (hardware.inference_autocast): 20 or
    more calls per image make them the slowest generators, and the path is a sum of small steps, which
    bfloat16's rounding barely moves (measured in docs/history.md). One-pass generators stay float32 (cheap), and
    so do the flows, whose likelihoods need every bit."""
    return hardware.inference_autocast(device) if model.record.ode_sampler else nullcontext()


def _ode_models() -> list:
    """The released generators that integrate an ODE (named in the messages to the others)."""
    return [name for name in registry.releases(*GENERATOR_KINDS) if registry.family_of(name).ode_sampler]


def ode_settings(model: Model, steps=None, guidance=None, sampler=None) -> dict:
    """Checked steps, guidance and sampler for a generator that integrates an ODE (flow matching); {} for the
    others, which must not be given any of them."""
    given = {k: v for k, v in {"steps": steps, "guidance": guidance, "sampler": sampler}.items() if v is not None}
    if not model.record.ode_sampler:
        if given:
            raise ValueError(f"{model.name} draws in one pass: steps, guidance and sampler are for the models that "
                             f"integrate an ODE ({', '.join(_ode_models())}).")
        return {}
    sampler = "euler" if sampler is None else str(sampler).lower()
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, not {sampler!r}.")
    return {"steps": whole_number(DEFAULT_ODE_STEPS if steps is None else steps, "number of steps", 1, MAX_ODE_STEPS),
            "guidance": real_number(DEFAULT_GUIDANCE if guidance is None else guidance, "guidance", 0.0, MAX_GUIDANCE),
            "sampler": sampler}


def _labels(model: Model, n: int, label) -> torch.Tensor | None:
    if not model.conditional:
        return None
    if label is None:  # one of each class, in turn
        return torch.arange(n) % len(model.classes)
    return torch.full((n,), class_index(model, label), dtype=torch.long)


def _truncation(model, truncation, temperature):
    """GANs take `truncation` (None = off), VAEs and flows take `temperature` (the prior's standard deviation),
    a model without a latent knob takes neither."""
    knob = model.record.latent_knob
    if knob is None:
        if truncation is not None or temperature is not None:
            raise ValueError(f"{model.name} takes neither truncation nor temperature.")
        return None, 1.0
    takes_truncation = knob == "truncation"
    if takes_truncation and temperature is not None:
        raise ValueError(f"{model.name} is a GAN: it takes truncation, not temperature (temperature is for VAEs).")
    if not takes_truncation and truncation is not None:
        raise ValueError(f"{model.name} takes temperature, not truncation (truncation is for GANs).")
    if takes_truncation:
        if truncation is None:
            return None, 1.0
        return real_number(truncation, "truncation", MIN_TRUNCATION, MAX_TRUNCATION), 1.0
    default = model.record.default_temperature
    return None, real_number(default if temperature is None else temperature, "temperature", 0.0, MAX_TEMPERATURE)


def generate(model, n: int = 16, seed: int = 0, label=None, truncation: float | None = None,
             temperature: float | None = None, steps: int | None = None, guidance: float | None = None,
             sampler: str | None = None) -> list:
    """n images from a generator as 28x28 grayscale PIL images.

    label: class index or name for conditional models (None: cycle through the classes).
    truncation: GANs only, 0.1 to 4 (None: off). temperature: VAEs and flows only, 0 to 3 (default: the family's,
    1 for VAEs, 0.7 for the flow).
    steps (1 to 100, default 20), guidance (0 to 8, default 2) and sampler ("euler" or "heun"): flow matching only.
    """
    model = generator_model(model)
    n = whole_number(n, "number of images", 1, MAX_IMAGES)
    seed = whole_number(seed, "seed", 0, MAX_SEED)
    if label is not None and not model.conditional:
        raise ValueError(f"{model.name} is not conditional: it takes no class. Use a conditional model "
                         f"({', '.join(registry.releases('conditional-generator'))}) to choose the class.")
    labels = _labels(model, n, label)
    truncation, temperature = _truncation(model, truncation, temperature)
    sampling = ode_settings(model, steps, guidance, sampler)
    z = latents(model, n, seed, truncation) * temperature
    return imaging.to_pil(decode(model, z, labels, **sampling))


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation: keeps the norm that Gaussian codes have, so midpoints look like samples."""
    cos = (a * b).sum(-1, keepdim=True) / (a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True))
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    if float(so.min()) < 1e-6:  # (nearly) parallel codes: linear is the same path
        return a + (b - a) * t
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / so


def interpolate(model, seed_a: int = 0, seed_b: int = 1, steps: int = 16, mode: str = "spherical",
                label_a=None, label_b=None, truncation: float | None = None,
                temperature: float | None = None, ode_steps: int | None = None, guidance: float | None = None,
                sampler: str | None = None) -> list:
    """Frames on the path between two latent codes (and, for conditional GANs, between two classes).

    The first frame equals generate(model, 1, seed_a, label_a)[0], the last that of seed_b. ode_steps, guidance
    and sampler: as generate's steps, guidance and sampler (flow matching only).
    """
    model = generator_model(model)
    seed_a = whole_number(seed_a, "seed A", 0, MAX_SEED)
    seed_b = whole_number(seed_b, "seed B", 0, MAX_SEED)
    steps = whole_number(steps, "number of frames", MIN_STEPS, MAX_STEPS)
    if mode not in ("linear", "spherical"):
        raise ValueError(f"mode must be 'linear' or 'spherical', not {mode!r}.")
    if (label_a is not None or label_b is not None) and not model.conditional:
        raise ValueError(f"{model.name} is not conditional: it takes no class.")
    truncation, temperature = _truncation(model, truncation, temperature)
    sampling = ode_settings(model, ode_steps, guidance, sampler)
    z_a, z_b = latents(model, 1, seed_a, truncation), latents(model, 1, seed_b, truncation)
    t = torch.linspace(0, 1, steps)[:, None]
    z = (slerp(z_a, z_b, t) if mode == "spherical" else z_a + (z_b - z_a) * t) * temperature
    labels = None
    if model.conditional:
        k = len(model.classes)
        one_a = torch.nn.functional.one_hot(torch.tensor(class_index(model, 0 if label_a is None else label_a)), k)
        one_b = torch.nn.functional.one_hot(torch.tensor(class_index(model, 0 if label_b is None else label_b)), k)
        labels = one_a.float() * (1 - t) + one_b.float() * t  # class weights: morph one class into the other
    return imaging.to_pil(decode(model, z, labels, **sampling))


def manifold(model, size: int = 20, scale: int = 1) -> Image.Image:
    """The manifold map of a 2-D-latent VAE: decode a size x size grid of latent points.

    The grid is spaced by the Gaussian's quantiles (as in Kingma & Welling's figure), so each cell
    covers equal prior probability.
    """
    model = load(model)
    if not model.record.latent_map:
        maps = [name for name in registry.releases(*GENERATOR_KINDS) if registry.family_of(name).latent_map]
        raise ValueError(f"The manifold map needs a model with a 2-D latent ({', '.join(maps)}), not {model.name}.")
    size = whole_number(size, "grid size", MIN_GRID, MAX_GRID)
    q = torch.linspace(0.5 / size, 1 - 0.5 / size, size)
    coords = torch.distributions.Normal(0, 1).icdf(q)
    z = torch.stack(torch.meshgrid(coords, coords.flip(0), indexing="xy"), -1).reshape(-1, 2)
    return imaging.grid(imaging.to_pil(decode(model, z)), columns=size, scale=scale, pad=0)


@torch.no_grad()
def classify(images: list, dataset: str) -> list:
    """(class name, confidence) for each 28x28 image, by the dataset's shipped classifier."""
    classifier = find_kind("classifier", dataset)
    net = classifier.net()
    probabilities = torch.softmax(net(imaging.to_tensor(images).to(next(net.parameters()).device)), 1).cpu()
    confidence, index = probabilities.max(1)
    return [(classifier.classes[i], float(c)) for i, c in zip(index.tolist(), confidence.tolist())]


def trajectory(model, seed: int = 0, label=None, steps: int | None = None, guidance: float | None = None,
               sampler: str | None = None, n: int = 1) -> list:
    """The path of an ODE-based generator from noise to image: one (t, images at t, the model's guess of the
    final images) per step and a last one at t=1, images as 28x28 PIL images (n per entry).

    The guess is where a straight line in the current direction would end (x_t + (1 - t) v): blurry early on,
    when many images are still possible, and sharp by the end. The last entry's images equal
    generate(model, n, seed, label, steps=..., guidance=..., sampler=...)."""
    model = generator_model(model)
    n = whole_number(n, "number of images", 1, MAX_IMAGES)
    seed = whole_number(seed, "seed", 0, MAX_SEED)
    if not model.record.ode_sampler:
        raise ValueError(f"{model.name} draws in one pass: it has no path of steps to show; the models that "
                         f"integrate an ODE: {', '.join(_ode_models())}.")
    sampling = ode_settings(model, steps, guidance, sampler)
    labels = _labels(model, n, label)
    net = model.net()
    device = next(net.parameters()).device
    z = latents(model, n, seed).to(device)
    labels = None if labels is None else labels.to(device)
    with torch.no_grad(), ode_precision(model, device):
        path = list(net.trajectory(z, labels, **sampling))
    return [(t, _from_signed(x), _from_signed(guess)) for t, x, guess in path]


def _from_signed(x: torch.Tensor) -> list:
    """Network images in [-1, 1] -> PIL images."""
    return imaging.to_pil(((x.cpu() + 1) / 2).clamp(0, 1))
