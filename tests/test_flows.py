"""The normalizing flow and the flow-matching model: invertibility, log-determinants, one step lowers each loss,
samplers' shapes and determinism, and their API (bits/dim, trajectory, steps/guidance checks)."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import genimg
from genimg.families.flow import ActNorm, AffineCoupling, Glow, InvertibleConv1x1, bits_per_dim, dequantize
from genimg.families.flowmatch import FlowUNet


def perturbed(module, scale=0.05, seed=0):
    """Weights moved off their (identity-like) initial values, so the tests see a non-trivial map."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def byte_images(n=4, seed=0):
    return torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_flow_is_invertible_to_float_tolerance():
    torch.manual_seed(0)
    flow = perturbed(Glow(steps_per_level=2, hidden=16).double())
    x = dequantize(byte_images()).double()
    log_p, z = flow(x)
    assert z.shape == (4, 784) and log_p.shape == (4,)
    torch.testing.assert_close(flow.sample(z), x, atol=1e-9, rtol=0)


@pytest.mark.parametrize("layer", [ActNorm(4), InvertibleConv1x1(4), AffineCoupling(4, 8)], ids=type)
def test_layer_log_determinant_matches_autograd(layer):
    torch.manual_seed(1)
    layer = perturbed(layer.double(), 0.3)
    x = torch.randn(1, 4, 2, 2, dtype=torch.double)
    layer(x)  # actnorm sets itself from the first batch; measure the map after that
    _, logdet = layer(x)
    jacobian = torch.autograd.functional.jacobian(lambda v: layer(v.view(1, 4, 2, 2))[0].flatten(), x.flatten())
    torch.testing.assert_close(torch.as_tensor(logdet).flatten()[0], torch.linalg.slogdet(jacobian)[1])
    torch.testing.assert_close(layer.inverse(layer(x)[0]), x)


def test_whole_flow_log_determinant_matches_autograd():
    """log p(x) from the flow equals the Gaussian density of its codes plus the log |det| of the full Jacobian."""
    torch.manual_seed(2)
    flow = perturbed(Glow(steps_per_level=1, hidden=8).double(), 0.1)
    x = dequantize(byte_images(1)).double()
    flow(x)  # actnorm initialisation
    log_p, _ = flow(x)

    def codes(v):  # the raw (unstandardised) code: level-1 factored half and level-2 output
        return flow(v.view(1, 1, 28, 28))[1].flatten()
    jacobian = torch.autograd.functional.jacobian(codes, x.flatten())
    eps = codes(x)
    # The standardised codes are N(0, I) under the model: log p = log N(eps) + log |d eps / d x|.
    expected = -0.5 * (eps ** 2).sum() - 392 * np.log(2 * np.pi) + torch.linalg.slogdet(jacobian)[1]
    torch.testing.assert_close(log_p[0], expected)


def test_flow_step_lowers_bits_per_dim():
    torch.manual_seed(0)
    flow = Glow(steps_per_level=2, hidden=16)
    x = dequantize(byte_images(16), torch.Generator().manual_seed(0))
    flow(x)
    opt = torch.optim.Adam(flow.parameters(), 1e-3)
    before = bits_per_dim(flow(x)[0]).mean()
    opt.zero_grad()
    before.backward()
    opt.step()
    assert bits_per_dim(flow(x)[0]).mean() < before


def test_flow_matching_step_lowers_the_loss():
    torch.manual_seed(0)
    net = FlowUNet(width=8, num_classes=10, emb=16)
    g = torch.Generator().manual_seed(0)
    x1, x0 = torch.rand(8, 1, 28, 28, generator=g) * 2 - 1, torch.randn(8, 1, 28, 28, generator=g)
    t, labels = torch.rand(8, generator=g), torch.randint(0, 11, (8,), generator=g)
    xt = (1 - t[:, None, None, None]) * x0 + t[:, None, None, None] * x1
    opt = torch.optim.Adam(net.parameters(), 1e-3)

    def loss():
        return torch.nn.functional.mse_loss(net(xt, t, labels), x1 - x0)
    before = loss()
    opt.zero_grad()
    before.backward()
    opt.step()
    assert loss() < before


@pytest.mark.parametrize("sampler", ["euler", "heun"])
def test_flow_matching_sampler_shapes_and_determinism(sampler):
    torch.manual_seed(0)
    net = perturbed(FlowUNet(width=8, num_classes=10, emb=16)).eval()
    z, labels = torch.randn(3, 784), torch.tensor([1, 2, 3])
    images = net.sample(z, labels, steps=4, guidance=2.0, sampler=sampler)
    assert images.shape == (3, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    torch.testing.assert_close(images, net.sample(z, labels, steps=4, guidance=2.0, sampler=sampler))
    path = list(net.trajectory(z, labels, steps=4, guidance=2.0, sampler=sampler))
    assert [t for t, _, _ in path] == [0.0, 0.25, 0.5, 0.75, 1.0]
    torch.testing.assert_close(path[0][1], z.view(3, 1, 28, 28))  # the path starts at the noise
    torch.testing.assert_close(((path[-1][1] + 1) / 2).clamp(0, 1), images)
    # Guidance 1 is the plain conditional velocity; 0 the unconditional one: they differ once classes matter.
    assert not torch.allclose(net.sample(z, labels, steps=2, guidance=0.0), net.sample(z, labels, steps=2,
                                                                                      guidance=1.0))


def test_api_flow_matching_knobs_and_trajectory(checkpoint_dir):
    images = genimg.generate("flowmatch-mnist", n=4, seed=3, label=5, steps=3, guidance=1.5, sampler="heun")
    assert [im.size for im in images] == [(28, 28)] * 4
    again = genimg.generate("flowmatch-mnist", n=4, seed=3, label=5, steps=3, guidance=1.5, sampler="heun")
    assert [np.asarray(a).tolist() for a in images] == [np.asarray(b).tolist() for b in again]
    path = genimg.trajectory("flowmatch-mnist", seed=3, label=5, steps=3, guidance=1.5, sampler="heun", n=4)
    assert len(path) == 4 and path[-1][0] == 1.0
    assert [np.asarray(a).tolist() for a in path[-1][1]] == [np.asarray(b).tolist() for b in images]
    for bad, message in [(dict(steps=0), "number of steps"), (dict(steps=101), "number of steps"),
                         (dict(steps="many"), "number of steps"), (dict(guidance=float("nan")), "guidance"),
                         (dict(guidance=9), "guidance"), (dict(sampler="rk4"), "sampler"),
                         (dict(temperature=0.5), "neither truncation nor temperature")]:
        with pytest.raises(ValueError, match=message):
            genimg.generate("flowmatch-mnist", n=2, **bad)
    with pytest.raises(ValueError, match="draws in one pass"):
        genimg.generate("cgan-mnist", n=2, steps=10)
    with pytest.raises(ValueError, match="draws in one pass"):
        genimg.trajectory("dcgan-mnist")


def test_api_log_likelihood(checkpoint_dir):
    digits = genimg.generate("flow-mnist", n=2, seed=1, temperature=0.5)
    bits = genimg.log_likelihood("flow-mnist", digits)
    assert len(bits) == 2 and all(0 < b < 20 for b in bits)
    assert genimg.log_likelihood("flow-mnist", digits) == bits  # fixed dequantization noise
    # A big dark-on-light drawing is read as MNIST was made: inverted, cropped, fitted in 20x20, centred.
    page = Image.new("RGB", (300, 300), "white")
    ImageDraw.Draw(page).line([(150, 40), (150, 260)], fill="black", width=24)
    seen = np.asarray(genimg.as_digit_image(page))
    assert seen.shape == (28, 28) and seen[:, :4].max() == 0 and seen[14, 12:16].max() > 200
    assert len(genimg.log_likelihood("flow-mnist", page)) == 1
    for bad, message in [(Image.new("L", (50, 50), 255), "blank"), (None, "at least one"), ([], "at least one"),
                         (b"not an image", "not an image")]:
        with pytest.raises(ValueError, match=message):
            genimg.log_likelihood("flow-mnist", bad)
    with pytest.raises(ValueError, match="no exact likelihood"):
        genimg.log_likelihood("vae-mnist", digits)


def test_ode_samplers_run_in_bfloat16_only_where_the_cpu_computes_it(checkpoint_dir):
    from genimg import hardware
    from genimg.api.generation import decode, latents, ode_precision
    cpu = torch.device("cpu")
    flow_matching, gan = genimg.load("flowmatch-mnist"), genimg.load("dcgan-mnist")
    assert getattr(ode_precision(flow_matching, cpu), "fast_dtype", None) == torch.bfloat16
    assert ode_precision(flow_matching, cpu)._enabled == hardware.cpu_computes_bf16()
    assert not getattr(ode_precision(gan, cpu), "_enabled", False)  # one-pass generators stay float32
    z, labels = latents(flow_matching, 8, 0), torch.arange(8)
    fast = decode(flow_matching, z, labels, steps=4, guidance=2.0, sampler="euler")
    with torch.no_grad():
        exact = flow_matching.module.sample(z, labels, steps=4, guidance=2.0)
    assert fast.dtype == torch.float32 and (fast - exact).abs().mean() < 0.01
