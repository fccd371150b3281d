"""Text to image: a flow-matching U-Net that draws 32x32 captioned scenes (genimg/scenes.py) from a sentence.

A small transformer reads the words; its summary token joins the time embedding (FiLM in every block, as the class
does in the class-conditional model of flowmatch.py), and every image position at the 16x16 and 8x8 levels
attends to the words (cross-attention, as in latent diffusion), which is how "left of" finds its place. One
sentence in ten is replaced by the empty one, so sampling can use classifier-free guidance. Sampling, the
trajectory and the guess of the final image are those of flowmatch.FlowUNet.

This room: the text encoder, the U-Net, the trainer, the recipe and the family record.
"""
import torch
from torch import nn
from torch.nn import functional as F

from .. import scenes
from ..family import Family
from ..training import SAMPLE_SEED
from .flowmatch import Attention, FlowMatchingTrainer, FlowUNet, ResBlock, time_embedding


class TextEncoder(nn.Module):
    """Word ids (N, L) -> (summary (N, d), words (N, 1 + L, d), padding mask (N, 1 + L), True where padded).
    A summary token is put first, so the empty sentence (all padding) still has one position to read."""

    def __init__(self, vocab: int, dim: int, layers: int, max_words: int):
        super().__init__()
        self.words, self.positions = nn.Embedding(vocab, dim), nn.Parameter(torch.zeros(1 + max_words, dim))
        self.summary = nn.Parameter(torch.zeros(1, 1, dim))
        layer = nn.TransformerEncoderLayer(dim, 4, 2 * dim, dropout=0.0, batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        nn.init.normal_(self.positions, std=0.02)

    def forward(self, ids):
        n, length = ids.shape
        x = torch.cat([self.summary.expand(n, 1, -1), self.words(ids)], dim=1) + self.positions[:1 + length]
        pad = torch.cat([torch.zeros(n, 1, dtype=torch.bool, device=ids.device), ids == 0], dim=1)
        x = self.norm(self.layers(x, src_key_padding_mask=pad))
        return x[:, 0], x, pad


class CrossAttention(nn.Module):
    """Each image position asks the words what belongs there (queries from pixels, keys and values from words)."""

    def __init__(self, channels: int, text_dim: int, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(8, channels)
        self.q, self.kv = nn.Conv2d(channels, channels, 1), nn.Linear(text_dim, 2 * channels)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)  # starts as the identity, like the ResBlocks
        nn.init.zeros_(self.out.bias)

    def forward(self, x, words, pad):
        n, c, h, w = x.shape
        q = self.q(self.norm(x)).reshape(n, self.heads, c // self.heads, h * w).transpose(-1, -2)
        k, v = self.kv(words).reshape(n, -1, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=~pad[:, None, None, :])
        return x + self.out(y.transpose(-1, -2).reshape(n, c, h, w))


class TextFlowUNet(FlowUNet):
    """(x_t, t, word ids) -> velocity, for 1x32x32 scenes in [-1, 1]: 32 -> 16 -> 8 and back, with skips; the
    condition is a sentence's word ids (N, MAX_WORDS), the empty sentence (all padding) for "no condition".

    The latent code of a scene is its starting noise, flattened (z_dim = 1024). It keeps FlowUNet's sampling
    (velocity with guidance, trajectory, sample) and builds its own layers: hence nn.Module.__init__, not
    FlowUNet's."""

    def __init__(self, width: int = 24, emb: int = 128, text_dim: int = 128, text_layers: int = 2):
        nn.Module.__init__(self)
        self.image_shape, self.z_dim = (1, scenes.SIDE, scenes.SIDE), scenes.SIDE ** 2
        self.config = {"width": width, "emb": emb, "text_dim": text_dim, "text_layers": text_layers}
        c1, c2, c3 = width, 2 * width, 4 * width
        self.emb_dim = emb
        self.text = TextEncoder(len(scenes.VOCAB), text_dim, text_layers, scenes.MAX_WORDS)
        self.time_mlp = nn.Sequential(nn.Linear(emb, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.text_emb = nn.Linear(text_dim, emb)
        self.stem = nn.Conv2d(1, c1, 3, padding=1)
        self.down1, self.pool1 = ResBlock(c1, c1, emb), nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.down2, self.cross2 = ResBlock(c2, c2, emb), CrossAttention(c2, text_dim)
        self.pool2 = nn.Conv2d(c2, c3, 3, stride=2, padding=1)
        self.mid1, self.cross3, self.attn = ResBlock(c3, c3, emb), CrossAttention(c3, text_dim), Attention(c3)
        self.mid2 = ResBlock(c3, c3, emb)
        self.unpool2, self.up2 = nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1), ResBlock(2 * c2, c2, emb)
        self.cross_up2 = CrossAttention(c2, text_dim)
        self.unpool1, self.up1 = nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), ResBlock(2 * c1, c1, emb)
        self.head = nn.Sequential(nn.GroupNorm(8, c1), nn.SiLU(), nn.Conv2d(c1, 1, 3, padding=1))

    def null_condition(self, ids):
        """The empty sentence: all padding."""
        return torch.zeros_like(ids)

    def forward(self, x, t, ids=None):
        if ids is None:
            ids = torch.zeros(x.shape[0], scenes.MAX_WORDS, dtype=torch.long, device=x.device)
        summary, words, pad = self.text(ids)
        emb = self.time_mlp(time_embedding(t, self.emb_dim)) + self.text_emb(summary)
        h1 = self.down1(self.stem(x), emb)
        h2 = self.cross2(self.down2(self.pool1(h1), emb), words, pad)
        h = self.attn(self.cross3(self.mid1(self.pool2(h2), emb), words, pad))
        h = self.mid2(h, emb)
        h = self.cross_up2(self.up2(torch.cat([self.unpool2(h), h2], dim=1), emb), words, pad)
        h = self.up1(torch.cat([self.unpool1(h), h1], dim=1), emb)
        return self.head(h)


class TextFlowTrainer(FlowMatchingTrainer):
    """The flow-matching trainer of flowmatch.py on scenes: sentences instead of classes, one in ten dropped."""

    def __init__(self, recipe, family, data_set, device, world):
        super().__init__(recipe, family, data_set, device, world)  # the model, its EMA copy, the optimiser
        self.card_extras.update(items=scenes.ITEMS, canvas=scenes.SIDE)

    def build_model(self, data_set):
        return self.family.build(self.recipe.get("config"))  # scenes have one shape and no classes

    @staticmethod
    def load_data(recipe, family, dataset, data, dry_run, seed, rank, world):
        data_set = scenes.load_scene_data(data, dry_run)
        return data_set, scenes.SceneBatches(data_set.train, recipe["batch_size"], seed, rank, "phrasings")

    def grid_shape(self):
        return 8 * len(scenes.EXAMPLE_PROMPTS), 8  # a row per example prompt

    @torch.no_grad()
    def samples(self):
        """The example prompts, each from 8 fixed noises: a row per prompt (one noise each in a dry run, which
        checks the plumbing)."""
        g = torch.Generator().manual_seed(SAMPLE_SEED)
        prompts, dry = scenes.EXAMPLE_PROMPTS, self.recipe.get("dry_run")
        ids = torch.stack([scenes.encode(p) for p in prompts]).repeat_interleave(1 if dry else 8, 0).to(self.device)
        z = torch.randn(len(ids), self.ema.z_dim, generator=g).to(self.device)
        steps = 2 if dry else 20
        return self.ema.sample(z, ids, steps=steps, guidance=self.recipe["guidance"])

    @torch.no_grad()
    def evaluate(self, data_set):
        """The flow-matching loss of the exported (EMA) model on 1,000 test scenes at fixed noise and times."""
        n = 20 if self.recipe.get("dry_run") else 1000  # a dry run checks the plumbing
        images, specs = scenes.draw_scenes(data_set.test, n, seed=SAMPLE_SEED, held_out=None)
        ids = torch.stack([scenes.encode(scenes.canonical_caption(s)) for s in specs])
        return {"test_flow_matching_loss": self.test_loss(images * 2 - 1, ids, batch=250)}


# guidance: the scale the progress grids and the app's default use.
RECIPES = {
    "textflow": dict(family="textflow", dataset="scenes", steps=3600, batch_size=96, lr=1e-3, ema_decay=0.999,
                     label_dropout=0.1, guidance=2.0),
}

FAMILIES = [
    Family("textflow", "text-to-image", TextFlowUNet, {"width": 24, "emb": 128, "text_dim": 128, "text_layers": 2},
           TextFlowTrainer, label="Text to image (flow matching)", ode_sampler=True,
           description="A flow-matching U-Net that reads a sentence (a small transformer, cross-attention) and "
                       "draws the scene it describes"),
]
