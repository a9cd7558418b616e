"""Solutions to the exercises of 02_regions_during_training.ipynb."""

import hashnet as hn

Xtr, ytr, _, _ = hn.datasets.load("spirals", n_train=200, n_test=200, seed=0)
EPOCHS = (0, 1, 3, 10, 30, 100, 200)

# %% Exercise 1: three seeds. How much do the counts differ between networks that differ only
# in their random start, compared with how much they change during training?
for seed in (0, 1, 2):
    net = hn.MLP(2, hidden=(32, 32), n_classes=2, seed=seed)
    net.fit(Xtr, ytr, epochs=200, batch_size=32, lr=1e-2, checkpoints=EPOCHS, verbose=0)
    movie = hn.plot.regions_over_training(net, Xtr, ytr)
    print(f"seed {seed}: regions {movie.n_regions}")
    print(f"        alone   {movie.alone}")

# %% Exercise 2: a smaller learning rate, lr=1e-3: the same story, slower?
net = hn.MLP(2, hidden=(32, 32), n_classes=2, seed=0)
net.fit(Xtr, ytr, epochs=200, batch_size=32, lr=1e-3, checkpoints=EPOCHS, verbose=0)
movie = hn.plot.regions_over_training(net, Xtr, ytr)
print(f"lr 1e-3: regions {movie.n_regions}")
print(f"         alone   {movie.alone}")
print("training accuracy", net.score(Xtr, ytr))
