"""Each objective's math on tiny tensors against a direct, loop-by-loop computation written here from the papers."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from trainers.losses.clhaif import ClhaifLoss
from trainers.losses.gcse import GcseLoss
from trainers.losses.infonce import InfoNCELoss
from trainers.losses.listmle import ListMLELoss, list_mle, teacher_order
from trainers.losses.multicsr import MultiCsrLoss

N, D, TAU = 4, 6, 0.05


@pytest.fixture(autouse=True)
def _seed() -> None:
    """The same tensors whatever ran before: a module-level seed left each test's draw to the suite's order."""
    torch.manual_seed(0)


class Lin(nn.Module):
    """A stand-in encoder: features {'x': [B, D]} -> sentence_embedding = x @ W."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.eye(D) + 0.1 * torch.randn(D, D))

    def forward(self, features: dict) -> dict:
        return {"sentence_embedding": features["x"] @ self.w}


class Ref:
    """A frozen reference stand-in with the FrozenEncoder interface (embed(features) under no_grad)."""

    def __init__(self) -> None:
        self.m = torch.randn(D, D)

    @torch.no_grad()
    def embed(self, features: dict) -> torch.Tensor:
        return features["x"] @ self.m


def cos(u: torch.Tensor, v: torch.Tensor) -> float:
    return float(torch.dot(u, v) / (u.norm() * v.norm()))


def feats(*xs: torch.Tensor) -> list[dict]:
    return [{"x": x} for x in xs]


@pytest.fixture
def batch():
    a, p, n = (torch.randn(N, D) for _ in range(3))
    return a, p, n


def direct_simcse(a, p, n, w=0.0, offsets=None, masked=None):
    """-(1/N) sum_i log softmax over [cos(a_i,p_j)/tau]_j ++ [cos(a_i,n_j)/tau + w 1[j=i] (+ g_i 1[j=i])]_j."""
    total = 0.0
    for i in range(len(a)):
        logits = [cos(a[i], p[j]) / TAU for j in range(len(a))]
        if n is not None:
            for j in range(len(a)):
                z = cos(a[i], n[j]) / TAU + (w if j == i else 0.0)
                if offsets is not None and j == i:
                    z += offsets[i]
                logits.append(z)
        keep = [True] * len(logits) if masked is None else masked[i]
        denom = sum(math.exp(z) for z, k in zip(logits, keep) if k)
        total += -(logits[i] - math.log(denom))
    return total / len(a)


def test_infonce_hard_negative_weight(batch):
    a, p, n = batch
    model = Lin()
    for w in (0.0, 0.7, -1.0):
        loss = InfoNCELoss(model, scale=1 / TAU, hard_negative_weight=w)(feats(a, p, n))
        ea, ep, en = (x @ model.w.detach() for x in (a, p, n))
        assert loss.item() == pytest.approx(direct_simcse(ea, ep, en, w), rel=1e-5)
    no_neg = InfoNCELoss(model, scale=1 / TAU)(feats(a, p))
    ea, ep = (x @ model.w.detach() for x in (a, p))
    assert no_neg.item() == pytest.approx(direct_simcse(ea, ep, None), rel=1e-5)


def test_infonce_zero_weight_equals_st_mnrl(batch):
    """With w = 0 the registry uses sentence-transformers' MNRL: same value as ours."""
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    a, p, n = batch
    model = Lin()
    ours = InfoNCELoss(model, 1 / TAU).compute_loss_from_embeddings([a, p, n])
    mnrl = MultipleNegativesRankingLoss(model, scale=1 / TAU)
    assert mnrl.compute_loss_from_embeddings([a, p, n], None).item() == pytest.approx(ours.item(), rel=1e-5)


@pytest.mark.parametrize("smooth", ["positive", "all"])
def test_clhaif_soft_targets(batch, smooth):
    a, p, n = batch
    s = torch.tensor([1.0, 0.8, 0.5, 0.2])
    model = Lin()
    loss = ClhaifLoss(model, 1 / TAU, hard_negative_weight=0.3, smooth=smooth)(feats(a, p, n), s)
    ea, ep, en = (x @ model.w.detach() for x in (a, p, n))
    total = 0.0
    for i in range(N):
        z = [cos(ea[i], ep[j]) / TAU for j in range(N)] + [
            cos(ea[i], en[j]) / TAU + (0.3 if j == i else 0) for j in range(N)
        ]
        lse = math.log(sum(math.exp(v) for v in z))
        logp = [v - lse for v in z]
        if smooth == "positive":
            total += -s[i].item() * logp[i]
        else:
            rest = (1 - s[i].item()) / (2 * N - 1)
            total += -sum((s[i].item() if k == i else rest) * logp[k] for k in range(2 * N))
    assert loss.item() == pytest.approx(total / N, rel=1e-5)


def test_clhaif_score_one_is_infonce(batch):
    a, p, n = batch
    model = Lin()
    ones = torch.ones(N)
    assert ClhaifLoss(model, 1 / TAU)(feats(a, p, n), ones).item() == pytest.approx(
        InfoNCELoss(model, 1 / TAU, 1e-12)(feats(a, p, n)).item(), rel=1e-5
    )


def test_gcse_gaussian_decay(batch):
    a, p, n = batch
    model, ref, sigma = Lin(), Ref(), 0.17
    loss = GcseLoss(model, ref, scale=1 / TAU, sigma=sigma)(feats(a, p, n))
    ea, ep, en = (x @ model.w.detach() for x in (a, p, n))
    ra, rn = ref.embed({"x": a}), ref.embed({"x": n})
    offsets = []
    for i in range(N):
        t = cos(ea[i], en[i]) / TAU
        b = cos(ra[i], rn[i]) / TAU
        d = t - b
        offsets.append(0.0 if d > 0 else -t * math.exp(-d * d / (2 * sigma * sigma)))
    assert loss.item() == pytest.approx(direct_simcse(ea, ep, en, offsets=offsets), rel=1e-5)


def test_gcse_identical_reference_zeroes_hard_negative_logit_and_offset_is_detached(batch):
    """d = 0 when the reference is the model itself: each own hard-negative logit becomes exactly 0."""
    from trainers.losses.gcse import gaussian_offset, gcse_logits

    a, p, n = batch
    z = gcse_logits(a, p, n, a, n, 1 / TAU, 0.17)
    assert torch.allclose(z[:, N:].diagonal(), torch.zeros(N), atol=1e-5)
    t = torch.tensor([3.0, -2.0], requires_grad=True)
    assert not gaussian_offset(t, torch.tensor([1.0, 0.0]), 0.17).requires_grad


@pytest.mark.parametrize("variant", ["infonce", "released"])
def test_multicsr_masking(batch, variant):
    a, p, n = batch
    p = p.clone()
    p[1] = a[0] * 2  # candidate 1 is a near-duplicate of anchor 0 for any linear encoder: a false negative
    model, ref, phi = Lin(), Ref(), 0.95
    loss = MultiCsrLoss(model, ref, scale=1 / TAU, phi=phi, variant=variant)(feats(a, p, n))
    ea, ep, en = (x @ model.w.detach() for x in (a, p, n))
    ra, rp, rn = ref.embed({"x": a}), ref.embed({"x": p}), ref.embed({"x": n})
    cands, rcands = torch.cat([ep, en]), torch.cat([rp, rn])
    keep = [[cos(ra[i], rcands[k]) <= phi or k == i for k in range(2 * N)] for i in range(N)]
    assert not keep[0][1], "the planted false negative must be masked"
    if variant == "infonce":
        expected = direct_simcse(ea, ep, en, masked=keep)
    else:
        total = 0.0
        for i in range(N):
            z = [cos(ea[i], cands[k]) / TAU * (1.0 if keep[i][k] else 0.0) for k in range(2 * N)]
            den = sum(math.exp(v) for v in z)
            probs = [math.exp(v) / den for v in z]
            total += -sum(math.log(q) if k == i else math.log(1 - q) for k, q in enumerate(probs))
        expected = total / (N * 2 * N)
    assert loss.item() == pytest.approx(expected, rel=1e-4)


def direct_listmle(scores: list[list[float]], orders: list[list[int]]) -> float:
    total = 0.0
    for s, order in zip(scores, orders):
        for k in range(len(order)):
            total += math.log(sum(math.exp(s[order[m]]) for m in range(k, len(order)))) - s[order[k]]
    return total / len(scores)


def test_listmle_generation_order():
    K = 3
    a = torch.randn(N, D)
    members = [torch.randn(N, D) for _ in range(K)]
    model = Lin()
    loss = ListMLELoss(model, scale=1 / TAU)(feats(a, *members))
    ea = a @ model.w.detach()
    em = [m @ model.w.detach() for m in members]
    scores = [[cos(ea[i], em[k][i]) / TAU for k in range(K)] for i in range(N)]
    assert loss.item() == pytest.approx(direct_listmle(scores, [list(range(K))] * N), rel=1e-5)


def test_listmle_prefers_correct_order():
    s = torch.tensor([[3.0, 2.0, 1.0]])
    good = list_mle(s, torch.tensor([[0, 1, 2]]))
    bad = list_mle(s, torch.tensor([[2, 1, 0]]))
    assert good < bad


def test_listmle_teacher_order():
    """RankGen target: P = T + sign(T' - T) log(1 + omega |T' - T|), T' = T sorted descending."""
    t = torch.tensor([[1.0, 5.0, 2.0, 4.0]])
    omega = 0.5
    ts = sorted(t[0].tolist(), reverse=True)
    p = [
        v + math.copysign(math.log1p(omega * abs(ts[k] - v)), ts[k] - v) if ts[k] != v else v
        for k, v in enumerate(t[0].tolist())
    ]
    expected = sorted(range(4), key=lambda k: -p[k])
    assert teacher_order(t, omega)[0].tolist() == expected
    # omega = 0: the teacher's own order
    assert teacher_order(t, 0.0)[0].tolist() == [1, 3, 2, 0]


def test_listmle_with_teacher_module():
    K = 3
    a = torch.randn(N, D)
    members = [torch.randn(N, D) for _ in range(K)]
    model, teacher = Lin(), Ref()
    loss = ListMLELoss(model, 1 / TAU, teacher=teacher, teacher_scale=1 / TAU, omega=0.0)(feats(a, *members))
    ea, em = a @ model.w.detach(), [m @ model.w.detach() for m in members]
    ta, tm = teacher.embed({"x": a}), [teacher.embed({"x": m}) for m in members]
    scores = [[cos(ea[i], em[k][i]) / TAU for k in range(K)] for i in range(N)]
    orders = [sorted(range(K), key=lambda k: -cos(ta[i], tm[k][i])) for i in range(N)]
    assert loss.item() == pytest.approx(direct_listmle(scores, orders), rel=1e-5)


def test_claif_smoothing_and_st_cosine_loss():
    """CLAIF: y = 0.8 s + 0.1 of the 0-1 score; ST CosineSimilarityLoss = mean (cos - y)^2."""
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    from trainers.losses.scored import ClaifSpec, extract

    rows = [
        {
            "task": "judge",
            "anchor": "a",
            "positive": "b",
            "positive_score": 5.0,
            "negative": "c",
            "negative_score": 0.0,
            "text_b": "d",
            "pair_score": 2.5,
        }
    ]
    cols = extract(rows, ClaifSpec())
    assert cols["score"] == pytest.approx([0.9, 0.1, 0.5])
    u, v = torch.randn(3, D), torch.randn(3, D)
    y = torch.tensor(cols["score"])

    loss = CosineSimilarityLoss(Emb())(feats(u, v), y)
    assert loss.item() == pytest.approx(sum((cos(u[i], v[i]) - y[i].item()) ** 2 for i in range(3)) / 3, rel=1e-5)


class Emb(nn.Module):
    """Identity encoder: features {'x': [B, D]} -> sentence_embedding = x."""

    def forward(self, f):
        return {"sentence_embedding": f["x"]}


def direct_cosent(sims: list[float], labels: list[float], scale: float) -> float:
    """CoSENT (Su 2022): log(1 + sum over pairs (i, j) with y_i < y_j of e^{scale (sim_i - sim_j)})."""
    n = len(sims)
    return math.log(
        1 + sum(math.exp(scale * (sims[i] - sims[j])) for i in range(n) for j in range(n) if labels[i] < labels[j])
    )


def angle_sim(u: torch.Tensor, v: torch.Tensor) -> float:
    """AnglE's angle similarity of one pair, element by element in complex numbers: the first half of each vector
    is the real part, the second the imaginary part; (z_k conj(w_k)) / |w|^2 rescaled by |w| / |z|, the real and
    imaginary parts of all k summed, absolute value (Li & Li 2023, as sentence-transformers computes it)."""
    h = len(u) // 2
    z = [complex(float(u[k]), float(u[h + k])) for k in range(h)]
    w = [complex(float(v[k]), float(v[h + k])) for k in range(h)]
    nz = math.sqrt(sum(abs(x) ** 2 for x in z))
    nw2 = sum(abs(x) ** 2 for x in w)
    total = 0.0
    for zk, wk in zip(z, w):
        q = zk * wk.conjugate() / nw2 / (nz / math.sqrt(nw2))
        total += q.real + q.imag
    return abs(total)


@pytest.mark.parametrize("kind", ["cosent", "angle"])
def test_cosent_and_angle_rank_pairs_by_score(kind):
    """CoSENT / AnglE from the recipe spec: pairwise ranking of the batch's similarities by the judge scores."""
    from trainers.losses.scored import AnglESpec, CoSENTSpec, build, extract

    spec = CoSENTSpec() if kind == "cosent" else AnglESpec()
    rows = [
        {
            "task": "judge",
            "anchor": "a",
            "positive": "b",
            "positive_score": 4.0,
            "negative": "c",
            "negative_score": 1.0,
            "text_b": "d",
            "pair_score": 2.0,
        }
    ]
    y = torch.tensor(extract(rows, spec)["score"])
    assert y.tolist() == pytest.approx([0.8, 0.2, 0.4])
    u, v = torch.randn(3, D), torch.randn(3, D)
    loss = build(Emb(), spec)(feats(u, v), y)
    sims = [cos(u[i], v[i]) if kind == "cosent" else angle_sim(u[i], v[i]) for i in range(3)]
    assert loss.item() == pytest.approx(direct_cosent(sims, y.tolist(), spec.scale), rel=1e-5)


def test_unsup_simcse_two_dropout_masks_and_in_batch_negatives():
    """Unsupervised SimCSE: each sentence against its own second (differently dropped-out) pass, the other
    sentences' second passes as negatives: -(1/N) sum_i log softmax_j(cos(h_i, h'_j) / tau)[i]."""
    from trainers.losses.simcse_unsup import SimCSEUnsupSpec, build

    class Dropped(Lin):
        def __init__(self) -> None:
            super().__init__()
            self.drop, self.seen = nn.Dropout(0.3), []

        def forward(self, features: dict) -> dict:
            out = self.drop(features["x"]) @ self.w
            self.seen.append(out.detach())
            return {"sentence_embedding": out}

    model = Dropped().train()
    x = torch.randn(N, D)
    loss = build(model, SimCSEUnsupSpec())(feats(x, x.clone()), None)
    h, h2 = model.seen
    assert not torch.allclose(h, h2)  # the positive is the same sentence under another dropout mask
    # the loss is small (a sentence is close to its own second pass), so float32 cancellation needs an abs bound
    assert loss.item() == pytest.approx(direct_simcse(h, h2, None), rel=1e-4, abs=1e-6)
