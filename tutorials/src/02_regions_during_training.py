# Source of tutorials/02_regions_during_training.ipynb. Edit this file or the notebook, then run
# `python scripts/build_tutorials.py` to carry the change across and re-execute.
# A notebook shows a cell's last expression and takes imports where they are used:
# ruff: noqa: B018, E402


# %% [markdown]
# # 2. The regions during training
#
# Notebook 1 looked at networks before and after training. Here you watch one network
# *while* it trains: its exact linear regions at a few epochs, drawn as an animation, with
# two numbers counted on every frame:
#
# - how many linear regions the box holds;
# - how many training points are **alone** in their region (the "hash" property).
#
# A natural guess is that training keeps adding regions until every point has its own.
# Count instead of guessing: Hanin and Rolnick (2019, "Complexity of linear regions in deep
# networks") found that the number of regions often stays close to its value at
# initialisation during training. What does this network do?
#
# **You will learn** to separate two things training can do: make *more* regions, or move
# the regions it has to where the data is. **Paper:** the study's training-time figures
# measure the second through the redundancy ratio; the animation shows it happen.


# %%
import tempfile
from pathlib import Path

import numpy as np
from IPython.display import Image

import hashnet as hn

# %% [markdown]
# ## Train with snapshots
#
# The "spirals" set has two classes wound around each other: a hard problem for a small
# network. `fit(..., checkpoints=...)` keeps a copy of the weights after the listed epochs
# (0 is the untrained network), so each can be measured afterwards.


# %%
Xtr, ytr, Xte, yte = hn.datasets.load("spirals", n_train=200, n_test=200, seed=0)
EPOCHS = (0, 1, 3, 10, 30, 100, 200)

net = hn.MLP(2, hidden=(32, 32), n_classes=2, seed=0)
net.fit(Xtr, ytr, epochs=200, batch_size=32, lr=1e-2, checkpoints=EPOCHS, verbose=0)
print(f"training accuracy {net.score(Xtr, ytr):.3f}, test accuracy {net.score(Xte, yte):.3f}")


# %% [markdown]
# ## The animation
#
# `hn.plot.regions_over_training` enumerates the exact regions of every snapshot in the
# box around the data, counts, and writes a GIF (one frame per snapshot). Regions are
# coloured by how many training points they hold: grey none, blue one, orange two or more.
# The right panel follows both counts.


# %%
path = Path(tempfile.mkdtemp()) / "spirals_regions.gif"
movie = hn.plot.regions_over_training(net, Xtr, ytr, path=path, dpi=70)
Image(filename=path)


# %%
print(" epoch  regions  points alone")
for epoch, n, alone in zip(movie.epochs, movie.n_regions, movie.alone):
    print(f"{epoch:6d}  {n:7d}  {alone:5d} of {movie.n_points}")


# %% [markdown]
# **What to look at.**
#
# - **Epoch 0** has few regions: a new network's biases are zero, so every first-layer line
#   passes through the origin and the picture is a fan of wedges.
# - **One epoch** moves the lines off the origin, and the count jumps to its working level.
# - **From then on the count of regions stays about the same** (within about 10 %), while
#   the decision boundary winds itself along the spirals: training *rearranges* regions
#   more than it multiplies them.
# - **The points alone keep increasing** all the same: regions shrink where the data is and
#   grow where it is not, so more points end up with a region of their own.


# %% tags=["remove-cell"]
# Checks that the text states what the cells computed (hidden in the rendered notebook).
n_regions, alone = np.array(movie.n_regions), np.array(movie.alone)
assert n_regions[0] < n_regions[1] / 5
assert np.all(np.abs(n_regions[1:] / n_regions[1] - 1) < 0.12)
assert alone[-1] > 1.5 * alone[1]


# %% [markdown]
# ## Frame by frame
#
# `movie.frame(epoch)` draws one frame and `movie.figure()` four of them side by side, a
# still picture for a handout. `movie.browse()` gives a slider over the epochs in Jupyter
# when the optional package ipywidgets is installed (`pip install ipywidgets`); without it
# you get the still picture.


# %%
movie.browse()


# %% [markdown]
# ## Try this
#
# **1. Another random start** (about 5 min) Train the same network with `seed=1` and
# `seed=2` and print `movie.n_regions` and `movie.alone` (pass no `path`: counting alone is
# fast). How much do the counts differ between seeds, compared with how much they change
# during training?
# *Expected:* after epoch 1 every seed stays between about 1600 and 2100 regions, and ends
# with 110 to 135 points alone: the seeds differ about as much as one seed's count moves
# during training. *Hint:* wrap the two cells above in a loop over `seed`.
#
# **2. A ten times smaller learning rate** (about 5 min) Train with `lr=1e-3`.
# *Expected:* more regions (about 2100 to 2500) but far fewer points alone (about 40 to
# 60), and a training accuracy near 0.75 instead of 1: the network has not yet arranged its
# regions around the data. Region count alone says little about how well a network fits.
# *Hint:* only `lr=` changes.
#
# Solutions: `tutorials/solutions/02_regions_during_training.py`.
