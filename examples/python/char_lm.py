"""A character-level language model of your own, trained by swifttrain's Trainer.

The model is an ``nn.Module`` subclass with a forward written in Python (embedding, a
causal transformer layer, a linear head); the dataset is a map-style dataset of text
windows whose items are dicts of token ids, as a HuggingFace ``datasets.Dataset`` gives;
the Trainer batches them, calls the forward once per micro-batch and runs everything else
(loss over [batch, time, vocab] logits, backward, AdamW, schedule, evaluation, checkpoints)
in the library.

    python examples/python/char_lm.py [--text FILE] [--steps N] [--resume]

The text defaults to the GPL-3 licence that every Debian machine has. It prints the
held-out loss per character against the unigram baseline, and a greedy continuation.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from pathlib import Path

import swifttrain as st
from swifttrain import nn


class CharDataset:
    """Windows of `length` characters: input_ids are the window, labels the next character
    at each position (HF's causal-LM labels, already shifted)."""

    def __init__(self, ids, length, stride):
        self.ids, self.length = ids, length
        self.starts = list(range(0, len(ids) - length - 1, stride))

    def __len__(self):
        return len(self.starts)

    def __getitem__(self, i):
        s = self.starts[i]
        return {"input_ids": self.ids[s:s + self.length],
                "labels": self.ids[s + 1:s + 1 + self.length]}


class CharLM(nn.Module):
    def __init__(self, vocab, width=64, heads=4):
        super().__init__()
        self.embedding = nn.Embedding(vocab, width)
        self.position = nn.Embedding(256, width)
        self.block = nn.TransformerEncoderLayer(width, heads, dim_feedforward=4 * width,
                                                dropout=0.1, batch_first=True, norm_first=True)
        self.head = nn.Linear(width, vocab)

    def forward(self, input_ids, labels=None):
        positions = st.arange(input_ids.shape[1]).unsqueeze(0)  # [1, time]: broadcast
        x = self.embedding(input_ids) + self.position(positions)
        x = self.block(x, is_causal=True)
        return {"logits": self.head(x)}  # [batch, time, vocab]; the Trainer applies the loss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default="/usr/share/common-licenses/GPL-3")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--output-dir", default="runs/char_lm")
    parser.add_argument("--resume", action="store_true")
    options = parser.parse_args()

    text = Path(options.text).read_text(encoding="utf-8")
    vocab = sorted(set(text))
    ids = [vocab.index(c) for c in text]
    split = int(len(ids) * 0.9)
    train, test = CharDataset(ids[:split], 64, 16), CharDataset(ids[split:], 64, 64)

    st.manual_seed(0)
    model = CharLM(len(vocab))
    args = st.TrainingArguments(output_dir=options.output_dir, max_steps=options.steps,
                                per_device_train_batch_size=32, learning_rate=3e-3,
                                weight_decay=0.01, warmup_steps=0.05,
                                lr_scheduler_type="cosine", logging_steps=50,
                                eval_strategy="steps", eval_steps=max(options.steps // 3, 1),
                                save_steps=max(options.steps // 3, 1), save_total_limit=2,
                                per_device_eval_batch_size=64, seed=0)
    trainer = st.Trainer(model, args, train_dataset=train, eval_dataset=test)
    trainer.train(resume_from_checkpoint=True if options.resume else None)
    if trainer.resumed_from_checkpoint:
        print(f"resumed from {trainer.resumed_from_checkpoint}")

    loss = trainer.evaluate()["eval_loss"]
    counts = Counter(ids[:split])
    unigram = -sum(n / split * math.log(n / split) for n in counts.values())
    print(f"held-out loss per character: {loss:.3f} nats (unigram baseline {unigram:.3f}, "
          f"uniform {math.log(len(vocab)):.3f})")

    model.eval()
    prompt = "This License "
    context = [vocab.index(c) for c in prompt]
    with st.no_grad():
        for _ in range(60):
            window = st.tensor([context[-64:]])
            logits = model(window)["logits"]
            context.append(int(logits[0, -1].argmax()))
    print("greedy continuation:", repr("".join(vocab[i] for i in context)))
    return 0 if loss < unigram - 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
