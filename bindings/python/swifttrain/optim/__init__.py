"""``swifttrain.optim``: ``torch.optim``'s optimizers and schedulers over the library.

    import swifttrain as st
    from swifttrain import nn, optim

    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = optim.AdamW(model.parameters(), lr=5e-3)
    scheduler = st.get_scheduler("cosine", optimizer, num_warmup_steps=50,
                                 num_training_steps=1000)
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()

Every update and every schedule value is computed by the library (``st_optim``,
``st_lr_schedule``, ``st_plateau``); these classes translate PyTorch's arguments.
"""

from . import lr_scheduler
from .optimizer import SGD, Adadelta, Adagrad, Adam, AdamW, Lion, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Lion",
           "lr_scheduler"]
