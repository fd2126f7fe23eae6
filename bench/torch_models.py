"""PyTorch definitions of the benchmark workloads (../shared/WORKLOADS.md).

Used by compare.py's PyTorch side. Each training workload is
(model factory, optimizer factory, input, target, batch); each inference
workload is (model factory, input). Inputs are seeded synthetic data, as on
the gradc side (gradc bench); timing does not depend on the values.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(sizes):
    layers = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(i, o), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + x)


def resnet():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        ResidualBlock(16), ResidualBlock(16), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(16, 10))


class LstmLM(nn.Module):
    def __init__(self, vocab=64, embed=64, hidden=128):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids):
        return self.head(self.lstm(self.embed(ids))[0])


def positional_encoding(steps, d):
    pos = torch.arange(steps, dtype=torch.float32)[:, None]
    freq = torch.pow(10000.0, torch.arange(0, d, 2, dtype=torch.float32) / d)
    pe = torch.zeros(steps, d)
    pe[:, 0::2] = torch.sin(pos / freq)
    pe[:, 1::2] = torch.cos(pos / freq)
    return pe


class CausalSelfAttention(nn.Module):
    def __init__(self, d, heads, steps):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))
        self.register_buffer('mask', torch.triu(torch.ones(steps, steps, dtype=torch.bool), 1))

    def forward(self, x):
        b, t, d = x.shape
        h, hd = self.heads, d // self.heads
        split = lambda y: y.view(b, t, h, hd).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        att = torch.softmax(att.masked_fill(self.mask[:t, :t], float('-inf')), dim=-1)
        return self.out((att @ v).transpose(1, 2).reshape(b, t, d))


class TransformerBlock(nn.Module):
    def __init__(self, d, heads, ffn, steps):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d), CausalSelfAttention(d, heads, steps)
        self.ln2, self.ff1, self.ff2 = nn.LayerNorm(d), nn.Linear(d, ffn), nn.Linear(ffn, d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.ff2(F.gelu(self.ff1(self.ln2(x))))


class Gpt(nn.Module):
    def __init__(self, vocab=256, d=128, heads=4, ffn=512, layers=2, steps=64):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.register_buffer('pe', positional_encoding(steps, d))
        self.blocks = nn.ModuleList(TransformerBlock(d, heads, ffn, steps) for _ in range(layers))
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

    def forward(self, ids):
        z = self.embed(ids) + self.pe[: ids.shape[1]]
        for block in self.blocks:
            z = block(z)
        return self.head(self.ln(z))


def workloads():
    g = torch.Generator().manual_seed(1234)
    rand = lambda *s: torch.rand(*s, generator=g)
    labels = lambda b, k: torch.randint(0, k, (b,), generator=g)
    tokens = lambda b, t, v: torch.randint(0, v, (b, t + 1), generator=g)
    lstm_seq, gpt_seq = tokens(16, 32, 64), tokens(8, 64, 256)
    sgd, adam, adamw = torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW
    train = {
        'mlp': (lambda: mlp([784, 256, 10]), lambda p: sgd(p, lr=0.1),
                rand(64, 784), labels(64, 10), 64),
        'mlp3': (lambda: mlp([784, 200, 200, 10]), lambda p: sgd(p, lr=0.1),
                 rand(64, 784), labels(64, 10), 64),
        'lenet': (lenet, lambda p: adam(p, lr=1e-3), rand(64, 1, 28, 28), labels(64, 10), 64),
        'resnet': (resnet, lambda p: sgd(p, lr=0.05, momentum=0.9),
                   rand(32, 3, 32, 32), labels(32, 10), 32),
        'lstm': (LstmLM, lambda p: adam(p, lr=1e-3),
                 lstm_seq[:, :-1].contiguous(), lstm_seq[:, 1:].contiguous(), 16),
        'gpt': (Gpt, lambda p: adamw(p, lr=3e-4, weight_decay=0.01),
                gpt_seq[:, :-1].contiguous(), gpt_seq[:, 1:].contiguous(), 8),
    }
    infer = {
        'infer_mlp_b1': (lambda: mlp([784, 256, 10]), rand(1, 784)),
        'infer_lenet_b1': (lenet, rand(1, 1, 28, 28)),
        'infer_mlp_b256': (lambda: mlp([784, 256, 10]), rand(256, 784)),
    }
    return train, infer
