"""Image to text: a captioner for the 32x32 scenes of genimg/scenes.py ("a 3 to the left of a sneaker").

A CNN turns the scene into an 8x8 grid of feature vectors, each told where it is (a learned position embedding).
A GRU writes the caption a word at a time; before each word it looks over the 64 positions (additive attention,
Bahdanau et al. 2015, as in Show, Attend and Tell, Xu et al. 2015) and reads a weighted average of them. Those
weights are the attention map shown for each word. Trained by teacher forcing on the canonical captions;
captions are written by greedy or beam search.

This room: the network, the decoding, the trainer, the recipe and the family record.
"""
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from .. import scenes
from ..family import Family, Trainer

MAX_CAPTION = scenes.MAX_WORDS + 1  # words and EOS


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.GroupNorm(8, c_out), nn.SiLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.GroupNorm(8, c_out), nn.SiLU())


class Captioner(nn.Module):
    """(N, 1, 32, 32) scenes in [0, 1] -> word logits, one word at a time, with an 8x8 attention map per word."""

    def __init__(self, width: int = 32, hidden: int = 256, word_dim: int = 64):
        super().__init__()
        self.config = {"width": width, "hidden": hidden, "word_dim": word_dim}
        c1, c2, c3 = width, 2 * width, 4 * width
        self.encoder = nn.Sequential(conv_block(1, c1), nn.MaxPool2d(2), conv_block(c1, c2), nn.MaxPool2d(2),
                                     conv_block(c2, c3))
        self.positions = nn.Parameter(torch.zeros(1, c3, 8, 8))
        self.init_h = nn.Linear(c3, hidden)
        self.words = nn.Embedding(len(scenes.VOCAB), word_dim)
        self.att_features, self.att_hidden = nn.Linear(c3, hidden), nn.Linear(hidden, hidden)
        self.att_score = nn.Linear(hidden, 1)
        self.gru = nn.GRUCell(word_dim + c3, hidden)
        self.out = nn.Linear(hidden + c3, len(scenes.VOCAB))
        nn.init.normal_(self.positions, std=0.1)

    def encode(self, images):
        """Scenes -> (features (N, 64, C), their attention keys (N, 64, hidden), the first hidden state)."""
        f = self.encoder(images * 2 - 1) + self.positions
        f = f.flatten(2).transpose(1, 2)
        return f, self.att_features(f), torch.tanh(self.init_h(f.mean(1)))

    def step(self, word, h, features, keys):
        """One word in -> (logits of the next word, new hidden state, attention over the 64 positions)."""
        scores = self.att_score(torch.tanh(keys + self.att_hidden(h)[:, None])).squeeze(-1)
        attention = scores.softmax(-1)
        context = (attention[:, :, None] * features).sum(1)
        h = self.gru(torch.cat([self.words(word), context], dim=1), h)
        return self.out(torch.cat([h, context], dim=1)), h, attention

    def forward(self, images, captions):
        """Teacher forcing: captions (N, T) start with BOS; logits (N, T - 1, vocab) for words 1..T-1."""
        features, keys, h = self.encode(images)
        logits = []
        for i in range(captions.shape[1] - 1):
            step_logits, h, _ = self.step(captions[:, i], h, features, keys)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def greedy(self, images):
        """The most likely word at each step: (word ids (N, T), attention (N, T, 8, 8)); ends at EOS."""
        features, keys, h = self.encode(images)
        word = torch.full((len(images),), scenes.WORD_ID[scenes.BOS], device=images.device)
        words, maps = [], []
        for _ in range(MAX_CAPTION):
            logits, h, attention = self.step(word, h, features, keys)
            word = logits.argmax(-1)
            words.append(word)
            maps.append(attention.view(-1, 8, 8))
        return torch.stack(words, 1), torch.stack(maps, 1)

    @torch.no_grad()
    def beam(self, image, width: int = 4):
        """Beam search for one scene (1, 1, 32, 32): keep the `width` most likely beginnings at each step;
        (word ids (T,), attention (T, 8, 8)) of the most likely finished caption."""
        features, keys, h = self.encode(image)
        eos = scenes.WORD_ID[scenes.EOS]
        beams = [(0.0, [scenes.WORD_ID[scenes.BOS]], [], h)]  # (log-probability, words, maps, hidden)
        finished = []
        for _ in range(MAX_CAPTION):
            words = torch.tensor([b[1][-1] for b in beams], device=image.device)
            hidden = torch.cat([b[3] for b in beams])
            logits, hidden, attention = self.step(words, hidden, features.expand(len(beams), -1, -1),
                                                  keys.expand(len(beams), -1, -1))
            logp = F.log_softmax(logits, -1)
            candidates = []
            for i, (score, ws, ms, _) in enumerate(beams):
                top = logp[i].topk(width)
                for lp, w in zip(top.values.tolist(), top.indices.tolist()):
                    candidates.append((score + lp, ws + [w], ms + [attention[i].view(8, 8)], hidden[i:i + 1]))
            candidates.sort(key=lambda c: -c[0])
            beams = []
            for c in candidates[:width]:
                (finished if c[1][-1] == eos else beams).append(c)
            if not beams:
                break
        best = max(finished or beams, key=lambda c: c[0])
        return torch.tensor(best[1][1:], device=image.device), torch.stack(best[2])

    def caption(self, images, beam_width: int = 1):
        """Scenes -> [(caption text, attention maps (words, 8, 8) in the caption's words' order)]."""
        results = []
        if beam_width <= 1:
            ids, maps = self.greedy(images)
            for row, row_maps in zip(ids, maps):
                text = scenes.decode(row)
                results.append((text, row_maps[:len(text.split())]))
        else:
            for image in images:
                row, row_maps = self.beam(image[None], beam_width)
                text = scenes.decode(row)
                results.append((text, row_maps[:len(text.split())]))
        return results


class CaptionerTrainer(Trainer):
    """Cross-entropy of each next word of the canonical caption, given the words before it (teacher forcing)."""

    def __init__(self, recipe, family, data_set, device, world):
        super().__init__(recipe, family, data_set, device, world)
        self.model = family.build().to(device)
        self.net = DistributedDataParallel(self.model) if world > 1 else self.model
        self.optimizers = {"opt": torch.optim.AdamW(self.model.parameters(), recipe["lr"], weight_decay=1e-4)}
        self.modules = {"model": self.model}
        self.card_extras = {"items": scenes.ITEMS, "canvas": scenes.SIDE}

    @staticmethod
    def load_data(recipe, family, dataset, data, dry_run, seed, rank, world):
        data_set = scenes.load_scene_data(data, dry_run)
        return data_set, scenes.SceneBatches(data_set.train, recipe["batch_size"], seed, rank, "canonical")

    def step(self, images, captions, autocast):
        images, captions = images.to(self.device), captions.to(self.device)
        with autocast:
            logits = self.net(images, captions)
        loss = F.cross_entropy(logits.float().flatten(0, 1), captions[:, 1:].flatten(), ignore_index=0)
        opt = self.optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        opt.step()
        return {"loss": loss.item()}

    def scenes_to_score(self, n: int) -> int:
        return 20 if self.recipe.get("dry_run") else n  # a dry run checks the plumbing, not the captions

    def validate(self, data_set, run_dir, step):
        return {"val_exact_match": exact_match(self.model, data_set.test, self.scenes_to_score(500), held_out=False)}

    def evaluate(self, data_set):
        return {"test_exact_match": exact_match(self.model, data_set.test, self.scenes_to_score(2000), False),
                "held_out_exact_match": exact_match(self.model, data_set.test, self.scenes_to_score(500), True)}


@torch.no_grad()
def exact_match(model: Captioner, items, n: int, held_out: bool, seed: int = 2024) -> float:
    """The share of n test scenes whose greedy caption is exactly the canonical one."""
    images, specs = scenes.draw_scenes(items, n, seed, held_out=held_out)
    device = next(model.parameters()).device
    texts = [text for batch in images.split(250) for text, _ in model.caption(batch.to(device))]
    return round(sum(t == scenes.canonical_caption(s) for t, s in zip(texts, specs)) / n, 4)


RECIPES = {
    "captioner": dict(family="captioner", dataset="scenes", steps=3000, batch_size=128, lr=2e-3),
}

FAMILIES = [
    Family("captioner", "captioner", Captioner, {"width": 32, "hidden": 256, "word_dim": 64}, CaptionerTrainer,
           label="Captioner (CNN + GRU with attention)",
           description="A CNN reads the scene, a GRU writes its caption word by word, looking at a part of the "
                       "image for each word"),
]
