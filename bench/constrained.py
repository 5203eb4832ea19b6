"""Overhead of constrained decoding on the embedded transformers backend (llguidance masks), same run baseline.

The same prompts generated without and with a constraint (greedy, so the work is comparable): wall time,
generated tokens and tokens/s for each, and the time spent inside the mask itself per decoding step.
Usage: PYTHONPATH=. .venv/bin/python bench/constrained.py [--n 8]
"""

from __future__ import annotations

import argparse
import json
import time

from synth.backends import TransformersSpec, get_backend
from synth.backends.base import Request, Sampling, Structured, chat_messages
from synth.backends.constrained import GrammarMask
from synth.tasks.pairs import PAIR_SCHEMA

SENTENCES = [
    "A man is playing a guitar.",
    "Two dogs run across a field.",
    "A woman is slicing an onion.",
    "Children are playing in the snow.",
    "A chef cooks pasta in a kitchen.",
    "A boy rides a red bike.",
    "The train arrives at the station.",
    "A cat sleeps on the sofa.",
]


def run(backend, reqs):
    before_tok = backend.tokens_generated
    m_s, m_n = GrammarMask.seconds, GrammarMask.steps
    t0 = time.perf_counter()
    out = backend.generate(reqs)
    wall = time.perf_counter() - t0
    return out, wall, backend.tokens_generated - before_tok, GrammarMask.seconds - m_s, GrammarMask.steps - m_n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8)
    args = ap.parse_args()
    backend = get_backend(TransformersSpec(batch_size=16))
    sents = (SENTENCES * (args.n // len(SENTENCES) + 1))[: args.n]
    cases = {
        "choice (judge score 0-5)": (
            [
                chat_messages(
                    ("user", f"Rate 0-5 how similar: '{s}' and 'A person is outside.' Answer with one digit.")
                )
                for s in sents
            ],
            Sampling(max_tokens=4, temperature=0.0),
            Structured(kind="choice", spec=[str(i) for i in range(6)]),
        ),
        "json (pairs schema)": (
            [
                chat_messages(
                    (
                        "user",
                        'Answer with a JSON object with keys "positive" (a paraphrase) '
                        f'and "negative" (a contradiction) of: {s}',
                    )
                )
                for s in sents
            ],
            Sampling(max_tokens=48, temperature=0.0),
            Structured(kind="json", spec=PAIR_SCHEMA),
        ),
    }
    warm = cases["choice (judge score 0-5)"]  # model, llguidance tokenizer (~1 s, once per backend) and grammar warm
    run(backend, [Request(messages=warm[0][0], sampling=Sampling(max_tokens=2), structured=warm[2])])
    print("| case | mode | wall s | tokens | tok/s | mask ms/step | valid |")
    print("|---|---|---|---|---|---|---|")
    for name, (msgs, s, st) in cases.items():
        for mode in ("free", "constrained"):
            reqs = [Request(messages=m, sampling=s, structured=st if mode == "constrained" else None) for m in msgs]
            out, wall, tok, mask_s, steps = run(backend, reqs)
            valid = sum(_valid(c.text, st) for c in out)
            mask = f"{1000 * mask_s / steps:.1f}" if steps else "-"
            print(f"| {name} | {mode} | {wall:.1f} | {tok} | {tok / wall:.1f} | {mask} | {valid}/{len(out)} |")


def _valid(text: str, st: Structured) -> bool:
    if st.kind == "choice":
        return text in st.spec
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(obj, dict) and set(obj) == {"positive", "negative"}


if __name__ == "__main__":
    main()
