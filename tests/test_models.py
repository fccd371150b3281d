"""Model shapes, and that one optimiser step on a fixed batch lowers each trainable model's loss."""
import pytest
import torch
from torch.nn import functional as F

from genimg.api.generation import truncated_normal
from genimg.families.classifier import Classifier
from genimg.families.gan import Discriminator, Generator
from genimg.families.vae import VAE, vae_loss
from genimg.registry import FAMILIES, build


def tiny_batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("num_classes", [0, 10])
def test_generator_output_shape_and_range(num_classes):
    torch.manual_seed(0)
    g = Generator(z_dim=16, width=8, num_classes=num_classes).eval()
    labels = torch.arange(5) % 10 if num_classes else None
    out = g(torch.randn(5, 16), labels)
    assert out.shape == (5, 1, 28, 28)
    assert out.min() >= -1 and out.max() <= 1


def conditional_generator():
    torch.manual_seed(0)
    g = Generator(z_dim=16, width=8, num_classes=10)
    with torch.no_grad():  # per-class scales and shifts away from their initial 1 and 0, so classes differ
        for bn in (g.bn0, g.bn1, g.bn2):
            bn.gain.weight.normal_(1, 0.5)
            bn.bias.weight.normal_(0, 0.5)
    return g.eval()


def test_conditional_generator_takes_class_weights():
    g = conditional_generator()
    z, labels = torch.randn(4, 16), torch.tensor([0, 3, 7, 9])
    one_hot = F.one_hot(labels, 10).float()
    assert one_hot.shape == (4, 10)
    # One-hot class weights are the same as the class indices ...
    torch.testing.assert_close(g(z, one_hot), g(z, labels))
    # ... and a 50/50 mix of two classes is something else again.
    mixed = g(z, 0.5 * F.one_hot(torch.tensor([1, 1, 1, 1]), 10).float() + 0.5 * one_hot)
    assert mixed.shape == (4, 1, 28, 28)
    assert not torch.allclose(mixed, g(z, labels))


def test_generator_classes_change_the_output():
    g = conditional_generator()
    z = torch.randn(2, 16)
    assert not torch.allclose(g(z, torch.tensor([0, 0])), g(z, torch.tensor([5, 5])))


@pytest.mark.parametrize("num_classes", [0, 10])
def test_discriminator_scores_one_number_per_image(num_classes):
    d = Discriminator(width=8, num_classes=num_classes)
    x, labels = tiny_batch(6)
    assert d(x, labels if num_classes else None).shape == (6,)


def test_conditional_discriminator_also_classifies():
    d = Discriminator(width=8, num_classes=10)
    x, labels = tiny_batch(6)
    score, class_logits = d(x, labels, with_class_logits=True)
    assert score.shape == (6,) and class_logits.shape == (6, 10)
    assert torch.allclose(d.eval()(x, labels), d.eval()(x, labels, with_class_logits=True)[0])


@pytest.mark.parametrize("z_dim", [2, 16])
def test_vae_shapes(z_dim):
    torch.manual_seed(0)
    vae = VAE(z_dim=z_dim, width=8)
    x, _ = tiny_batch(3)
    mean, logvar = vae.encode(x)
    assert mean.shape == logvar.shape == (3, z_dim)
    images = vae.decode(torch.randn(3, z_dim))
    assert images.shape == (3, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1
    logits, mean, logvar = vae(x)
    assert logits.shape == (3, 1, 28, 28) and mean.shape == (3, z_dim)


def test_classifier_shapes():
    c = Classifier(num_classes=7, width=8, feature_dim=24).eval()
    x, _ = tiny_batch(5)
    assert c(x).shape == (5, 7)
    assert c.features(x).shape == (5, 24)


def test_build_defaults_and_errors():
    assert build("vae2d").z_dim == 2
    assert build("cgan").num_classes == 10 and build("dcgan").num_classes == 0
    assert build("classifier", {"num_classes": 3}).head.out_features == 3
    with pytest.raises(ValueError, match="Unknown model family"):
        build("diffusion")
    with pytest.raises(ValueError, match="not options of vae"):
        build("vae", {"depth": 3})
    assert {"dcgan", "cgan", "vae", "vae2d", "classifier"} <= set(FAMILIES)


def test_truncated_normal_stays_inside_the_bound():
    """Values beyond the bound are redrawn (not clamped), then all are scaled by the same factor."""
    from genimg.api.generation import truncated_std
    z = truncated_normal((200, 16), 0.5, generator=torch.Generator().manual_seed(0)) * truncated_std(0.5)
    assert z.abs().max() <= 0.5 + 1e-6
    assert (z.abs() > 0.49).float().mean() < 0.05  # redrawn, not piled up at the bound


# ---- one optimiser step on a fixed batch lowers the loss ------------------------------------


def one_step_lowers(model, loss_fn, lr=1e-3):
    """loss_fn(model) is evaluated with the same seed before and after one Adam step."""
    optimizer = torch.optim.Adam(model.parameters(), lr)
    torch.manual_seed(1)
    before = loss_fn(model)
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        torch.manual_seed(1)  # same dropout masks / VAE noise as the first evaluation
        after = loss_fn(model)
    assert after.item() < before.item(), (before.item(), after.item())


def test_classifier_step_lowers_cross_entropy():
    torch.manual_seed(0)
    x, y = tiny_batch(16)
    one_step_lowers(Classifier(width=8, feature_dim=32), lambda m: F.cross_entropy(m(x), y))


def test_vae_step_lowers_negative_elbo():
    torch.manual_seed(0)
    x, _ = tiny_batch(16)

    def neg_elbo(m):
        logits, mean, logvar = m(x)  # draws its noise after the seed one_step_lowers sets
        return vae_loss(logits, x, mean, logvar)[0]

    one_step_lowers(VAE(z_dim=4, width=8), neg_elbo)


@pytest.mark.parametrize("num_classes", [0, 10])
def test_discriminator_step_lowers_hinge_loss(num_classes):
    torch.manual_seed(0)
    real, labels = tiny_batch(16, seed=0)
    fake = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(5)) * 2 - 1
    real = real * 2 - 1
    labels = labels if num_classes else None
    d = Discriminator(width=8, num_classes=num_classes)

    def hinge(m):
        m.eval()  # spectral norm: no power iteration during the measurement, so both use the same estimate
        return F.relu(1 - m(real, labels)).mean() + F.relu(1 + m(fake, labels)).mean()

    one_step_lowers(d, hinge)


def test_network_defaults_are_the_shipped_configuration():
    """A network built with no arguments is the one that ships (width, depth...), except in what tells apart the
    families sharing it (dcgan/cgan: num_classes; vae/vae2d: z_dim)."""
    import inspect
    by_network = {}
    for family in FAMILIES.values():
        by_network.setdefault(family.network, []).append(family.config)
    for network, configs in by_network.items():
        defaults = {name: p.default for name, p in inspect.signature(network).parameters.items()}
        for key in configs[0]:
            values = [config[key] for config in configs]
            if all(value == values[0] for value in values):
                default = list(defaults[key]) if isinstance(defaults[key], tuple) else defaults[key]
                assert default == values[0], (network.__name__, key)


def test_truncated_codes_keep_unit_variance():
    from genimg.api.generation import truncated_std
    for t in (0.2, 0.5, 1.0, 2.0):
        z = truncated_normal((20000, 8), t, generator=torch.Generator().manual_seed(0))
        assert abs(z.std().item() - 1) < 0.02, t
        assert z.abs().max().item() <= t / truncated_std(t) + 1e-6
