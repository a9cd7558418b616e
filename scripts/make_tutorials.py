"""Build the tutorial notebooks in tutorials/ from the cells written below.

Each notebook is a Python list of markdown and code cells, so the text and the code can be
read, reviewed and changed here like any other source file; the .ipynb files are generated,
with no outputs, and `tests/test_tutorials.py` runs every one of them top to bottom.

Usage:
    python scripts/make_tutorials.py            # (re)write tutorials/*.ipynb and its README
    python scripts/make_tutorials.py --check    # exit 1 if a file differs from what it builds
"""

# The notebooks' code is formatted by ruff at 100 columns inside the notebooks; here it sits 8
# columns further right, in strings, so long lines are expected in this file.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"


def md(text):
    return ("markdown", textwrap.dedent(text).strip())


def code(text):
    return ("code", textwrap.dedent(text).strip())


def setup(numpy=True, pyplot=True):
    """The first code cell: inline figures and the imports the notebook uses."""
    lines = ["%matplotlib inline"]
    lines += ["import matplotlib.pyplot as plt"] if pyplot else []
    lines += ["import numpy as np"] if numpy else []
    return code("\n".join([*lines, "", "import hashnet as hn"]))


# --------------------------------------------------------------------------------------------
# 01: the linear regions of a ReLU network
# --------------------------------------------------------------------------------------------

LINEAR_REGIONS = [
    md(
        r"""
        # 1. The linear regions of a ReLU network, exactly

        A ReLU unit computes $\max(0, w \cdot x + b)$: for every input it is either **on**
        ($w \cdot x + b > 0$, it passes its value through) or **off** (it outputs 0). Fix the
        on/off state of every unit and the whole network becomes one affine map, $x \mapsto
        Ax + c$. The set of inputs that share one on/off pattern is a **linear region**.

        So a ReLU network is a patchwork: it cuts its input space into pieces and uses a
        different affine map on each. In this notebook you will *see* that patchwork, computed
        exactly (not sampled on a grid), for a network with 2D inputs:

        1. one layer of units: every unit draws a straight line;
        2. a trained network, its regions and its decision boundary;
        3. how each layer refines the regions of the layer before;
        4. how many training points share a region;
        5. how many regions a straight path between two inputs crosses.

        Everything runs in a few seconds on a laptop.
        """
    ),
    setup(),
    md(
        """
        ## A toy data set

        `hn.datasets.load` returns `(X_train, y_train, X_test, y_test)`. The "moons" set has two
        classes in the plane, curled into each other: no single straight line separates them,
        so the network has to bend its decision boundary, and it can only do that by using
        several linear regions.
        """
    ),
    code(
        """
        Xtr, ytr, Xte, yte = hn.datasets.load("moons", n_train=300, n_test=300, seed=0)
        print("training inputs", Xtr.shape, "labels", np.bincount(ytr))

        BOX = (-3, 3, -2, 2)  # the part of the plane we look at: -3 < x < 3, -2 < y < 2

        fig, ax = plt.subplots(figsize=(5, 3.4))
        ax.scatter(Xtr[:, 0], Xtr[:, 1], c=ytr, cmap="coolwarm", s=10)
        ax.set_xlim(BOX[:2])
        ax.set_ylim(BOX[2:])
        ax.set_aspect("equal")
        ax.set_title("two moons: 300 training points")
        plt.show()
        """
    ),
    md(
        r"""
        ## One layer: every unit draws a line

        Start with an untrained network with a single hidden layer of 4 units. Unit $j$ is on
        where $w_j \cdot x + b_j > 0$: one side of the straight line $w_j \cdot x + b_j = 0$.
        Four lines cut the plane into at most $1 + 4 + \binom{4}{2} = 11$ pieces (in general,
        $n$ lines make at most $1 + n + n(n-1)/2$), and each piece is one linear region.

        `hn.regions.enumerate(net, box=...)` finds every region inside the box as a convex
        polygon, with its activation code.
        """
    ),
    code(
        """
        tiny = hn.MLP(input_dim=2, hidden=(4,), n_classes=2, seed=1)
        R_tiny = hn.regions.enumerate(tiny, box=BOX)
        print(R_tiny)
        print("at most", 1 + 4 + 4 * 3 // 2, "regions for 4 lines")

        # Draw the regions, then each unit's line w . x + b = 0 on top of them.
        W, b = tiny.get_weights()[:2]  # first layer: W is (2 inputs, 4 units), b is (4,)
        fig = hn.plot.regions(R_tiny, title="an untrained 2-4-2 network")
        ax = fig.axes[0]
        xs = np.linspace(BOX[0], BOX[1], 2)
        for j in range(W.shape[1]):
            ax.plot(xs, -(W[0, j] * xs + b[j]) / W[1, j], "--", lw=1, label=f"unit {j}")
        ax.set_ylim(BOX[2:])
        ax.legend(fontsize=7, loc="lower left")
        fig
        """
    ),
    md(
        """
        **What to look at.** The edges between the coloured regions lie exactly on the dashed
        lines: with one layer, the regions are the pieces the units' lines cut out, nothing
        more. Here all four lines meet at the origin, because a new network starts with zero
        biases, so they make only 2 x 4 = 8 regions instead of 11; training will move them
        apart. The black line is the decision boundary: where the two logits are equal. Inside
        each region the logits are affine, so the boundary is straight there and can only bend
        where it crosses from one region into the next.

        Each region has an **activation code**: one bit per unit, 1 where the unit is on.
        `R.codes` holds the codes of the regions, and they are what `net.codes(X)` gives for any
        input inside. Check it with one point inside each region (its centroid):
        """
    ),
    code(
        """
        print(R_tiny.codes.bits())  # one row per region, one column per unit

        inside = R_tiny.centroids()  # a point strictly inside each region
        print(
            "codes of the centroids equal the regions' codes:",
            np.array_equal(tiny.codes(inside).bits(), R_tiny.codes.bits()),
        )
        """
    ),
    md(
        """
        ## A trained network

        Now train a network with two hidden layers of 16 units on the moons, and enumerate its
        regions. `verbose=1` prints how many regions there are after each layer.
        """
    ),
    code(
        """
        net = hn.MLP(2, hidden=(16, 16), n_classes=2, seed=0)
        net.fit(Xtr, ytr, epochs=60, batch_size=32, lr=1e-2, verbose=0)
        print("test accuracy", net.score(Xte, yte))

        R = hn.regions.enumerate(net, box=BOX, verbose=1)
        print(R)
        hn.plot.regions(R, Xtr, ytr, color_by="class", title="regions coloured by predicted class")
        """
    ),
    md(
        """
        **What to look at.** Each polygon is coloured by the class the network predicts at its
        centre. The decision boundary (black) is a chain of straight segments: it turns only
        where it passes from one region into another. A smooth-looking curve needs many small
        regions along it.

        ## Layer by layer

        The first hidden layer cuts the plane along 16 straight lines, exactly like the tiny
        network. The second layer then cuts *each of those pieces* again. Inside one piece, a
        second-layer unit's pre-activation is affine in the input, so its cut is straight
        there, but the line bends when it enters the next piece. `R.at_layer(l)` gives the
        regions after the first `l` layers; `layers=True` draws them side by side.
        """
    ),
    code(
        """
        for depth in (1, 2):
            print(f"after layer {depth}: {R.at_layer(depth).n_regions} regions")
        hn.plot.regions(R, layers=True)
        """
    ),
    md(
        """
        **What to look at.** In the left panel every edge is a full straight line across the
        box. In the middle panel new edges appear that are straight inside one old region and
        bend at its border: the second layer's "folded" lines. The right panel is the same
        partition with the decision boundary.

        ## Does every training point get a region of its own?

        This is the question behind the next notebooks. A trained network on real data tends
        to put almost every training example in a region of its own, so the region (its code)
        identifies the example, like a hash. `R.occupancy(points, y)` counts the points per
        region; `color_by="occupancy"` paints regions with no point grey, one point green, and
        two or more orange or red (a red outline marks shared regions).
        """
    ),
    code(
        """
        from hashnet.codes import alone_in_pattern

        occ = R.occupancy(Xtr, ytr)
        print(f"{occ.alone_fraction:.0%} of the training points are alone in their region")
        print(
            f"{len(occ.shared)} regions hold two or more points; "
            f"{len(occ.mixed)} of them hold points of both classes"
        )

        # The same number from the codes alone, without any geometry:
        print("alone, from net.codes:", alone_in_pattern(net.codes(Xtr)).mean())
        hn.plot.regions(R, Xtr, ytr, color_by="occupancy")
        """
    ),
    md(
        """
        **What to look at.** With 2D inputs and only 32 units, many points share a region: the
        regions are large compared with the gaps between points. The shared regions that mix
        both classes are where the network has to treat points of different classes with the
        same affine map. Keep this picture in mind: with 784-pixel images and 100 units
        (next notebook) almost every example ends up alone.

        ## More units, more regions

        How does the number of regions grow with the width, and what does training do to it?
        Count the regions in the box for a few widths, before and after training.
        """
    ),
    code(
        """
        for width in (4, 8, 16, 32):
            model = hn.MLP(2, hidden=(width, width), n_classes=2, seed=0)
            before = hn.regions.enumerate(model, box=BOX).n_regions
            model.fit(Xtr, ytr, epochs=60, batch_size=32, lr=1e-2, verbose=0)
            after = hn.regions.enumerate(model, box=BOX)
            alone = after.occupancy(Xtr).alone_fraction
            print(
                f"2-{width}-{width}-2: {before:5d} regions untrained, "
                f"{after.n_regions:5d} trained, {alone:.0%} of the points alone"
            )
        """
    ),
    md(
        """
        ## Walking along a segment

        In high dimensions you cannot draw the regions, but you can still count them along a
        straight path. `hn.regions.count_along(net, xa, xb)` walks from input `xa` to input
        `xb` and finds, exactly, every boundary it crosses. It works in any input dimension;
        here you can check it against the picture. Take one point of each class:
        """
    ),
    code(
        """
        from hashnet.codes import hamming_distances

        left_0 = np.flatnonzero(ytr == 0)[np.argmin(Xtr[ytr == 0, 0])]  # leftmost point of class 0
        right_1 = np.flatnonzero(ytr == 1)[np.argmax(Xtr[ytr == 1, 0])]  # rightmost of class 1
        xa, xb = Xtr[left_0], Xtr[right_1]
        along = hn.regions.count_along(net, xa, xb)
        print("regions crossed:", along.n_regions)
        print("crossings at t =", along.t.round(3))

        # How many units switch at each crossing? (Hamming distance of neighbouring codes)
        flips = [
            int(hamming_distances(along.codes[i : i + 1], along.codes[i + 1 : i + 2])[0, 0])
            for i in range(along.n_regions - 1)
        ]
        print("units that switch at each crossing:", flips)

        fig = hn.plot.regions(R, color_by="code", boundary=False)
        ax = fig.axes[0]
        ax.plot([xa[0], xb[0]], [xa[1], xb[1]], "k-", lw=1.5)
        ax.scatter(along.points[:, 0], along.points[:, 1], s=18, color="red", zorder=5)
        ax.set_title(f"{along.n_regions} regions between two training points", fontsize=9)
        fig
        """
    ),
    md(
        """
        **What to look at.** Every red dot sits on an edge of the region picture: each is a
        place where some unit changes state. Most crossings switch a single unit: you step over
        one unit's (folded) line at a time.

        ## Try this

        1. Keep 32 hidden units in total but arrange them differently: `hidden=(32,)`,
           `(16, 16)` and `(8, 8, 8, 8)`. Which gives the most regions after training? Which
           leaves the most training points alone?
        2. Train the 2-16-16-2 network for 5 epochs and for 300 epochs. Plot the occupancy
           each time. Does training create regions where the data is, or everywhere?
        """
    ),
]

# --------------------------------------------------------------------------------------------
# 02: neural codes as hashes
# --------------------------------------------------------------------------------------------

CODES_AS_HASHES = [
    md(
        """
        # 2. Neural codes as hashes

        A **hash function** gives every item a short code; a good one gives different items
        different codes (few *collisions*). He, Lei, Ji and Tao (2021) observed that a trained
        ReLU classifier behaves like one: the on/off pattern of its hidden units for an input,
        the input's **neural code**, is almost never shared by two training examples. And
        unlike a random hash, these codes put similar inputs close together.

        In this notebook you will:

        1. compute the codes of real images (bits, one per ReLU unit);
        2. measure how often codes collide: the *redundancy ratio*;
        3. look at who collides with whom, and which examples are alone;
        4. follow all of this from an untrained network to a trained one.
        """
    ),
    setup(),
    md(
        """
        ## The data: fashion-mnist-mini

        hashnet ships a small, class-balanced piece of Fashion-MNIST: 3500 training and 1000
        test images of clothes, 28x28 grey pixels, 10 classes. With `flatten=True` (the
        default) each image is one row of 784 numbers in [0, 1].
        """
    ),
    code(
        """
        Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini")
        names = hn.datasets.CLASS_NAMES["fashion-mnist-mini"]
        print(Xtr.shape, Xte.shape, "images per class:", np.bincount(ytr))

        fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
        for k, ax in enumerate(axes):
            ax.imshow(Xtr[k].reshape(28, 28), cmap="gray_r")
            ax.set_title(names[ytr[k]], fontsize=7)
            ax.axis("off")
        plt.show()
        """
    ),
    md(
        """
        ## Codes of an untrained network

        Build an MLP 784-100-10 (one hidden layer of 100 ReLU units) and do not train it yet.
        `net.codes(X)` runs the inputs through the network and keeps, for each example, the
        sign of each hidden unit's pre-activation: 100 bits. They are stored packed, 64 bits per
        `uint64` word, so 100 bits take two words; `codes.bits()` unpacks them into a 0/1
        matrix.
        """
    ),
    code(
        """
        untrained = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
        codes0 = untrained.codes(Xtr)
        print(codes0)
        print("packed words:", codes0.words.shape, codes0.words.dtype)
        bits0 = codes0.bits()
        print("unpacked bits:", bits0.shape, "first code:", "".join(map(str, bits0[0])))
        print(f"on average {bits0.mean():.0%} of the units are on")
        """
    ),
    md(
        r"""
        ## Redundancy ratio: how many examples share a code?

        The study measures collisions with the **redundancy ratio**

        $$\text{rr} = \frac{N - \#\{\text{distinct codes}\}}{N}.$$

        0 means every example has a code (a linear region) of its own; close to 1 means almost
        all share a few codes. You can compute it by hand with `np.unique` and compare with
        `hn.redundancy_ratio`, which does the same on the packed words, much faster.
        """
    ),
    code(
        """
        n_distinct = len(np.unique(bits0, axis=0))
        print("by hand:          ", (len(bits0) - n_distinct) / len(bits0))
        print("hn.redundancy_ratio:", hn.redundancy_ratio(codes0))
        """
    ),
    md(
        """
        Even without training, 100 random hyperplanes in a 784-dimensional space separate
        almost all 3500 images: a random ReLU layer is already a decent hash. But does it put
        *similar* images near each other? Keep that question for later.

        ## Training, and watching the codes change

        Train the same network for 20 epochs and keep a snapshot of the weights at a few
        epochs (`checkpoints=`; epoch 0 is the untrained network). `net.checkpoint(e)` gives
        back the network as it was after epoch `e`, so you can measure its codes.
        """
    ),
    code(
        """
        from hashnet.codes import alone_in_pattern

        EPOCHS = (0, 1, 2, 5, 10, 20)
        net = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
        net.fit(Xtr, ytr, epochs=20, batch_size=64, lr=1e-3, checkpoints=EPOCHS, verbose=0)
        print("test accuracy after 20 epochs:", net.score(Xte, yte))

        history = []
        for epoch in EPOCHS:
            snapshot = net.checkpoint(epoch)
            c_train, c_test = snapshot.codes(Xtr), snapshot.codes(Xte)
            rr_tr, rr_te = hn.redundancy_ratio(c_train), hn.redundancy_ratio(c_test)
            alone, acc = alone_in_pattern(c_train).mean(), snapshot.score(Xte, yte)
            history.append((epoch, rr_tr, rr_te, alone, acc))
            print(
                f"epoch {epoch:2d}: rr_train {rr_tr:.4f}  rr_test {rr_te:.4f}  "
                f"alone {alone:.3f}  test acc {acc:.3f}"
            )
        """
    ),
    code(
        """
        epochs, rr_train, rr_test, alone, acc = np.array(history).T
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
        left.plot(epochs, rr_train, "o-", label="training codes")
        left.plot(epochs, rr_test, "s-", label="test codes")
        left.set_xlabel("epoch")
        left.set_ylabel("redundancy ratio")
        left.legend()
        right.plot(epochs, alone, "o-", label="training examples alone in their code")
        right.plot(epochs, acc, "s-", label="test accuracy of the network")
        right.set_xlabel("epoch")
        right.set_ylim(0, 1.05)
        right.legend(fontsize=8)
        plt.show()
        """
    ),
    md(
        """
        **What to look at.** The redundancy ratio stays small all along: the trained network
        still gives nearly every example a code of its own. It can creep up a little during
        training, because training pulls examples of the same class together, and a few of
        them end up sharing a region. The question is *which* examples collide.

        ## Who collides with whom?

        `hn.collisions(codes, y)` lists the groups of examples that share a code and tells you
        how many groups are all one label (harmless: one affine map for one class) and how
        many mix labels.
        """
    ),
    code(
        """
        codes = net.codes(Xtr)
        for label, c in (("untrained", codes0), ("trained", codes)):
            col = hn.collisions(c, ytr)
            print(
                f"{label:9s}: {col.n_distinct} distinct codes for {col.n_examples} examples, "
                f"{len(col.groups)} shared codes ({col.same_label} one-label, "
                f"{col.mixed_label} mixed), {col.alone_fraction:.1%} alone"
            )
        """
    ),
    code(
        """
        col = hn.collisions(codes, ytr)
        groups = sorted(col.groups, key=len, reverse=True)[:4]
        fig, axes = plt.subplots(len(groups), 6, figsize=(7, 1.3 * len(groups)), squeeze=False)
        for row, group in zip(axes, groups):
            for ax in row:
                ax.axis("off")
            for ax, i in zip(row, group):
                ax.imshow(Xtr[i].reshape(28, 28), cmap="gray_r")
                ax.set_title(names[ytr[i]], fontsize=7)
        fig.suptitle("the largest groups of training images that share one code", fontsize=9)
        plt.show()
        """
    ),
    md(
        """
        **What to look at.** The images in one row got the same 100 bits. They usually look
        alike and mostly have the same label (trousers with trousers, say): the network merged
        them because it treats them the same way.

        ## Near codes for similar inputs

        A random hash separates examples but knows nothing about them. A useful code puts
        examples of the same class *close*: few bits apart. Compare the average **Hamming
        distance** (the number of differing bits) between two examples of the same class and
        between two of different classes, before and after training.
        """
    ),
    code(
        """
        from hashnet.codes import hamming_distances

        sample = slice(0, 1000)  # 1000 training examples: a million pairs is plenty
        same_class = ytr[sample, None] == ytr[None, sample]
        for label, c in (("untrained", codes0), ("trained", codes)):
            d = hamming_distances(c[sample], c[sample])
            off_diagonal = ~np.eye(len(d), dtype=bool)
            within = d[same_class & off_diagonal].mean()
            between = d[~same_class].mean()
            print(
                f"{label:9s}: same class {within:5.1f} bits apart, "
                f"different classes {between:5.1f} bits apart (ratio {between / within:.2f})"
            )
        """
    ),
    md(
        """
        **What to look at.** After training, codes of the same class are noticeably closer to
        each other than codes of different classes, more so than before training. That is what
        the next notebook exploits: simple algorithms working on nothing but the bits.

        ## Layer by layer

        With several hidden layers, a code is the concatenation of each layer's bits.
        `hashnet.codes.prefix_redundancy` gives the redundancy ratio of the code made of the
        first layer, then the first two, and so on: how quickly the examples get separated.
        """
    ),
    code(
        """
        from hashnet.codes import prefix_redundancy

        deep = hn.MLP(784, hidden=(32, 32, 32), n_classes=10, seed=0)
        deep.fit(Xtr, ytr, epochs=10, verbose=0)
        deep_codes = deep.codes(Xtr)
        print(deep_codes)
        for n_layers, rr in enumerate(prefix_redundancy(deep_codes), start=1):
            n_bits = sum(deep_codes.layer_sizes[:n_layers])
            print(f"first {n_layers} layer(s): {n_bits:3d} bits, rr {rr:.3f}")
        """
    ),
    md(
        """
        ## Try this

        1. Train an MLP with only 10 hidden units. 10 bits can name at most $2^{10} = 1024$
           different codes: what is the smallest redundancy ratio it could reach on 3500
           examples? How close does it get?
        2. For the trained 100-unit network, list the pairs of classes that appear together in
           mixed-label groups (`col.groups` with `ytr`). Are they the pairs you would confuse
           yourself?
        """
    ),
]

# --------------------------------------------------------------------------------------------
# 03: categorizing with codes
# --------------------------------------------------------------------------------------------

CATEGORIZING = [
    md(
        """
        # 3. Categorizing with codes

        If neural codes are good hashes of the inputs, how much do they know about the
        *classes*? The study asks three simple algorithms to work with nothing but the bits:

        - **K-Means** clusters the codes without seeing any label; do the clusters match the
          classes?
        - **K-NN** labels a test code by a vote of its nearest training codes in Hamming
          distance;
        - **logistic regression** learns a linear classifier on the bits.

        You will run all three on the codes of a trained network, on the raw pixels for
        comparison, and on the codes of an untrained network as a control. The probes are
        written in hashnet from scratch and follow scikit-learn's habits (`fit` returns the
        estimator, learned values end in `_`).
        """
    ),
    setup(),
    code(
        """
        Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini")

        net = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
        net.fit(Xtr, ytr, epochs=20, batch_size=64, lr=1e-3, verbose=0)
        print("the network's own test accuracy:", net.score(Xte, yte))

        codes_tr, codes_te = net.codes(Xtr), net.codes(Xte)
        untrained = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
        random_tr, random_te = untrained.codes(Xtr), untrained.codes(Xte)
        print(codes_tr, codes_te, sep="\\n")
        """
    ),
    md(
        """
        ## K-Means and cluster accuracy

        K-Means finds 10 clusters, but it names them 0..9 in an arbitrary order, so its labels
        cannot be compared with the classes directly. `hn.cluster_accuracy` first turns each
        cluster into a class:

        - `mapping="majority"` (the study's choice): each cluster votes for its most common
          class. Two clusters may pick the same class, so this asks "is each cluster pure?";
        - `mapping="hungarian"`: clusters and classes are paired one to one, the best possible
          pairing. Never higher than majority.

        On codes, K-Means treats the bits as 0/1 vectors (Euclidean distance), as in the study.
        `n_init` restarts keep the best of several random starts.
        """
    ),
    code(
        """
        kmeans = hn.KMeans(n_clusters=10, n_init=3, seed=0).fit(codes_tr)
        print(
            "K-Means on trained codes, majority :",
            hn.cluster_accuracy(ytr, kmeans.labels_, mapping="majority"),
        )
        print(
            "K-Means on trained codes, hungarian:",
            hn.cluster_accuracy(ytr, kmeans.labels_, mapping="hungarian"),
        )

        kmeans_pixels = hn.KMeans(n_clusters=10, n_init=3, seed=0).fit(Xtr)
        print("K-Means on raw pixels, majority    :", hn.cluster_accuracy(ytr, kmeans_pixels.labels_))
        kmeans_random = hn.KMeans(n_clusters=10, n_init=3, seed=0).fit(random_tr)
        print("K-Means on untrained codes, majority:", hn.cluster_accuracy(ytr, kmeans_random.labels_))
        """
    ),
    code(
        """
        from hashnet.probes import contingency_matrix

        names = hn.datasets.CLASS_NAMES["fashion-mnist-mini"]
        table = contingency_matrix(ytr, kmeans.labels_)  # table[class, cluster] = count
        fig, ax = plt.subplots(figsize=(5.5, 4))
        ax.imshow(table, cmap="Blues")
        ax.set_yticks(range(10), names, fontsize=7)
        ax.set_xticks(range(table.shape[1]))
        ax.set_xlabel("cluster found by K-Means on the codes")
        for (c, k), n in np.ndenumerate(table):
            ax.text(k, c, n, ha="center", va="center", fontsize=6)
        plt.show()
        """
    ),
    md(
        """
        **What to look at.** Each column is a cluster; a pure cluster has one dark cell. Classes
        that look alike to the network (shirts, T-shirts, pullovers, coats) tend to share
        clusters, while trousers, bags and shoes get clusters of their own. No label was used
        to find these clusters: the structure is in the codes.

        ## K-NN in Hamming distance

        A test code is labelled by a majority vote of its `k` nearest training codes.
        The Hamming distance between two codes is a popcount of their XOR, so the search is
        very fast, and small: a code of 100 bits fits in two 64-bit words (16 bytes), an image
        takes 784 floats (3136 bytes).
        """
    ),
    code(
        """
        import time


        def timed(fit_and_score):
            start = time.perf_counter()
            score = fit_and_score()
            return score, time.perf_counter() - start


        hamming, euclidean = hn.KNN(k=9, metric="hamming"), hn.KNN(k=9, metric="euclidean")
        knn_codes = timed(lambda: hamming.fit(codes_tr, ytr).score(codes_te, yte))
        knn_random = timed(lambda: hamming.fit(random_tr, ytr).score(random_te, yte))
        knn_pixels = timed(lambda: euclidean.fit(Xtr, ytr).score(Xte, yte))
        print("K-NN on trained codes   (Hamming):   {:.3f} in {:.2f}s".format(*knn_codes))
        print("K-NN on untrained codes (Hamming):   {:.3f} in {:.2f}s".format(*knn_random))
        print("K-NN on raw pixels      (Euclidean): {:.3f} in {:.2f}s".format(*knn_pixels))
        """
    ),
    md(
        """
        ## Logistic regression on the bits

        Finally a linear classifier on the 100 bits (multinomial, L2-penalised, `C` is the
        inverse strength of the penalty). On raw pixels it has 784 inputs instead of 100.
        """
    ),
    code(
        """
        logistic = hn.LogisticRegression(C=1.0)
        lr_codes = timed(lambda: logistic.fit(codes_tr, ytr).score(codes_te, yte))
        lr_random = timed(lambda: logistic.fit(random_tr, ytr).score(random_te, yte))
        lr_pixels = timed(lambda: logistic.fit(Xtr, ytr).score(Xte, yte))
        print("logistic regression on trained codes:   {:.3f} in {:.2f}s".format(*lr_codes))
        print("logistic regression on untrained codes: {:.3f} in {:.2f}s".format(*lr_random))
        print("logistic regression on raw pixels:      {:.3f} in {:.2f}s".format(*lr_pixels))
        """
    ),
    code(
        """
        results = {
            "K-Means (train)": [
                hn.cluster_accuracy(ytr, kmeans_pixels.labels_),
                hn.cluster_accuracy(ytr, kmeans_random.labels_),
                hn.cluster_accuracy(ytr, kmeans.labels_),
            ],
            "K-NN (test)": [knn_pixels[0], knn_random[0], knn_codes[0]],
            "logistic (test)": [lr_pixels[0], lr_random[0], lr_codes[0]],
        }
        inputs = ["raw pixels (784 floats)", "untrained codes (100 bits)", "trained codes (100 bits)"]
        fig, ax = plt.subplots(figsize=(8, 3.2))
        x = np.arange(len(results))
        for i, label in enumerate(inputs):
            ax.bar(x + (i - 1) * 0.27, [v[i] for v in results.values()], width=0.27, label=label)
        ax.axhline(net.score(Xte, yte), color="black", ls="--", lw=1, label="the network itself")
        ax.set_xticks(x, list(results))
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
        plt.show()
        """
    ),
    md(
        """
        **What to look at.** Compare the bars within each group.

        - Without any label, K-Means finds the classes better in the trained codes than in
          the pixels or in random codes: training has organised the codes by class.
        - K-NN and logistic regression do well on the trained codes, not far below the
          network itself (dashed line), with 100 bits instead of 784 floats. On this small
          data set the raw pixels can still be a little better for them: the codes are a
          compression, not magic.
        - Untrained codes are a fair baseline: random hyperplanes keep some of the geometry of
          the pixels, so they are far better than chance (10 %), but below trained codes.

        ## Everything in one call

        `hn.encoding_properties` measures all of this for one network: the redundancy ratio of
        the training and test codes (*determinism*), the three probes (*categorization*), the
        network's own loss and accuracy, and the time each step took. The study's sweeps
        (next notebook) record exactly this dictionary for every network they train.
        """
    ),
    code(
        """
        from hashnet.properties import format_record

        record = hn.encoding_properties(net, Xtr, ytr, Xte, yte, kmeans_n_init=3)
        print(format_record(record))
        """
    ),
    md(
        """
        ## Try this

        1. Change `k` in K-NN (1, 3, 9, 27, 81). Where is the best value for codes, and for
           pixels? Does a very large `k` hurt, and why?
        2. Some bits never change on the training set (a unit that is always on or always
           off). Drop them with `codes_tr.drop_constant()` and
           `codes_te.drop_constant(reference=codes_tr)`: how many bits are left, and do the
           probes change? (`encoding_properties(..., drop_constant=True)` does the same.)
        """
    ),
]

# --------------------------------------------------------------------------------------------
# 04: what shapes the encoding
# --------------------------------------------------------------------------------------------

SHAPING = [
    md(
        """
        # 4. What shapes the encoding

        The study varied one thing at a time and watched two properties of the codes:

        - **determinism**: the redundancy ratio of the training codes (`rr_train`; 0 means
          every training example is alone in its linear region);
        - **categorization**: how well K-NN classifies test examples from their codes
          (`knn_test`).

        Here you will vary the **width** of the network, the **training time**, the **sample
        size**, **regularization** and **label noise**, with small loops that each take a few
        seconds. To stay fast we use the first 1000 training and 500 test images of
        fashion-mnist-mini and short trainings; the trends are what matter, not the last
        decimal. At the end, the same kind of sweep with `hn.experiments`, which repeats each
        point with several seeds and keeps the results on disk.
        """
    ),
    setup(),
    code(
        """
        Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini", n_train=1000, n_test=500)
        EPOCHS = 20
        WIDTH = 40  # for every loop but the first: rr_train is neither 0 nor 1, so it can move


        def measure(net, X=Xtr, y=ytr):
            # rr_train, knn_test and test_acc of a trained network (K-NN only: the fastest probe)
            record = hn.encoding_properties(net, X, y, Xte, yte, probes=("knn",))
            return record["rr_train"], record["knn_test"], record["test_acc"]


        def plot_properties(x, results, xlabel, log=False):
            # results: one (rr_train, knn_test, test_acc) per value of x
            rr, knn, acc = np.array(results).T
            fig, (left, right) = plt.subplots(1, 2, figsize=(9, 2.8))
            left.plot(x, rr, "o-", color="tab:red")
            left.set_ylabel("rr_train (determinism)")
            right.plot(x, knn, "o-", label="K-NN on test codes")
            right.plot(x, acc, "s--", label="network's test accuracy")
            right.set_ylabel("accuracy")
            right.legend(fontsize=8)
            for ax in (left, right):
                ax.set_xlabel(xlabel)
                if log:
                    ax.set_xscale("symlog", linthresh=1)
            plt.show()
        """
    ),
    md(
        """
        ## Width

        A one-hidden-layer network with `w` units has `w`-bit codes. With few units there are
        few possible codes, so many examples must share; with more units the input space is
        cut more finely.
        """
    ),
    code(
        """
        widths = [2, 5, 10, 20, 40, 80, 160]
        results = []
        for w in widths:
            net = hn.MLP(784, hidden=(w,), n_classes=10, seed=0)
            net.fit(Xtr, ytr, epochs=EPOCHS, verbose=0)
            results.append(measure(net))
            print(f"width {w:3d}: rr_train {results[-1][0]:.3f}  knn_test {results[-1][1]:.3f}")
        plot_properties(widths, results, "width (hidden units)", log=True)
        """
    ),
    md(
        """
        **What to look at.** The redundancy ratio falls steeply with the width: a wide enough
        network gives every training example its own region. K-NN on the codes improves with
        the width too, because more bits can describe the inputs better.

        From here on every network has 40 hidden units (`WIDTH`): at that width the
        redundancy ratio is far from both 0 and 1, so you can see it move either way.

        ## Training time

        Train once and keep snapshots at chosen epochs (`checkpoints`, with 0 the untrained
        network); measure each snapshot. This is how the study's training-time sweeps work.
        """
    ),
    code(
        """
        snapshots = [0, 1, 2, 5, 10, 20, 40]
        net = hn.MLP(784, hidden=(WIDTH,), n_classes=10, seed=0)
        net.fit(Xtr, ytr, epochs=max(snapshots), checkpoints=snapshots, verbose=0)
        results = [measure(net.checkpoint(e)) for e in snapshots]
        for e, (rr, knn, acc) in zip(snapshots, results):
            print(f"epoch {e:2d}: rr_train {rr:.3f}  knn_test {knn:.3f}  test_acc {acc:.3f}")
        plot_properties(snapshots, results, "epochs of training", log=True)
        """
    ),
    md(
        """
        **What to look at.** At epoch 0 the random network already separates most examples.
        Early training merges some of them (the network first learns coarse, class-level
        features, so similar examples fall together), then longer training splits them apart
        again. Notice how little K-NN on the codes changes compared with the network's own
        accuracy: on this small problem even random codes carry much of the class
        information (notebook 3).

        ## Sample size

        How does the number of *distinct* training examples matter? To compare fairly, the
        study trains every network for the same number of gradient steps:
        `hn.datasets.first_n_tiled(X, y, n, epoch_length)` keeps the first `n` examples and
        repeats them until an epoch has `epoch_length` rows. The redundancy ratio is measured
        on the `n` distinct examples.
        """
    ),
    code(
        """
        sizes = [50, 100, 200, 500, 1000]
        results = []
        for n in sizes:
            Xn, yn = hn.datasets.first_n_tiled(Xtr, ytr, n, epoch_length=len(Xtr))
            net = hn.MLP(784, hidden=(WIDTH,), n_classes=10, seed=0)
            net.fit(Xn, yn, epochs=EPOCHS, verbose=0)
            results.append(measure(net, Xtr[:n], ytr[:n]))
            print(f"{n:4d} examples: rr_train {results[-1][0]:.3f}  knn_test {results[-1][1]:.3f}")
        plot_properties(sizes, results, "distinct training examples", log=True)
        """
    ),
    md(
        """
        **What to look at.** More examples crowd the same number of regions, so the redundancy
        ratio rises with the sample size for a fixed width. Categorization, on the other hand,
        improves with more data: determinism and categorization can move in opposite
        directions. That is why the phase chart (next notebook) needs both axes.

        ## Regularization

        Weight decay (an L2 penalty on the weights), dropout, and batch normalisation all
        change how the network uses its units. One at a time:
        """
    ),
    code(
        """
        settings = {
            "none": dict(),
            "weight decay 1e-3": dict(fit=dict(weight_decay=1e-3)),
            "weight decay 1e-2": dict(fit=dict(weight_decay=1e-2)),
            "dropout 0.2": dict(model=dict(dropout=0.2)),
            "dropout 0.5": dict(model=dict(dropout=0.5)),
            "batch norm": dict(model=dict(batchnorm=True)),
        }
        results = []
        for name, extra in settings.items():
            net = hn.MLP(784, hidden=(WIDTH,), n_classes=10, seed=0, **extra.get("model", {}))
            net.fit(Xtr, ytr, epochs=EPOCHS, verbose=0, **extra.get("fit", {}))
            results.append(measure(net))
            rr, knn, acc = results[-1]
            print(f"{name:18s} rr_train {rr:.3f}  knn_test {knn:.3f}  test_acc {acc:.3f}")

        rr, knn, acc = np.array(results).T
        fig, ax = plt.subplots(figsize=(9, 2.8))
        x = np.arange(len(settings))
        ax.bar(x - 0.2, rr, width=0.4, color="tab:red", label="rr_train")
        ax.bar(x + 0.2, knn, width=0.4, label="knn_test")
        ax.set_xticks(x, list(settings), fontsize=8)
        ax.legend(fontsize=8)
        plt.show()
        """
    ),
    md(
        """
        **What to look at.** Strong weight decay pushes the weights towards zero and the codes
        towards sharing (a higher `rr_train` at 1e-2). Dropout trains the network to work
        with random units missing, which spreads the information over many units: fewer
        collisions and better K-NN here. Batch normalisation centres every unit's
        pre-activation on each batch, so each unit is on for about half of the examples: a
        bit that splits the data in half carries the most information, and collisions almost
        vanish.

        ## Label noise

        `hn.datasets.label_noise(y, fraction)` changes exactly that fraction of the labels to
        another, wrong class. The network can still memorise the noisy labels, but it must cut
        the input space further to isolate the mislabelled examples. K-NN votes with the
        noisy training labels and is scored on the clean test labels.
        """
    ),
    code(
        """
        fractions = [0.0, 0.2, 0.4, 0.6, 0.8]
        results = []
        for f in fractions:
            noisy = hn.datasets.label_noise(ytr, f, seed=0)
            net = hn.MLP(784, hidden=(WIDTH,), n_classes=10, seed=0)
            net.fit(Xtr, noisy, epochs=EPOCHS, verbose=0)
            results.append(measure(net, Xtr, noisy))
            changed = np.mean(noisy != ytr)
            print(
                f"{changed:.0%} labels changed: rr_train {results[-1][0]:.3f}  "
                f"knn_test {results[-1][1]:.3f}"
            )
        plot_properties(fractions, results, "fraction of wrong training labels")
        """
    ),
    md(
        """
        **What to look at.** Categorization holds up at moderate noise and collapses when most
        labels are wrong: the codes can only group by class if the labels say what the
        classes are. Meanwhile the redundancy ratio drops: memorising arbitrary labels needs
        more, smaller regions, so the network cuts the space more finely.

        ## The same, with `hn.experiments`

        Loops like the ones above are what `hn.experiments` automates, with three things added:
        each point is **repeated** with different seeds (so you see the spread), every run is
        **stored** as a small JSON file (so a rerun skips what is done), and the figure has the
        study's layout. Here is a tiny width sweep (3 widths x 2 repeats) into a temporary
        folder; `quick=True` starts from the laptop preset and the keyword arguments shrink it
        further.
        """
    ),
    code(
        """
        import tempfile

        out = tempfile.mkdtemp(prefix="hashnet-width-")
        rows = hn.experiments.sweep(
            "width",
            out=out,
            quick=True,
            width=[5, 20, 80],
            repeats=2,
            n_train=1000,
            n_test=500,
            epochs=10,
            kmeans_n_init=1,
            probes=["kmeans", "knn"],
        )
        print(len(rows), "measured points; the first one, in part:")
        print({key: rows[0][key] for key in ("width", "repeat", "rr_train", "knn_test", "test_acc")})
        hn.experiments.plot_sweep(rows, "width", title="a tiny width sweep")
        """
    ),
    md(
        """
        **What to look at.** The left panel is determinism (`rr_train`, `rr_test`), the right
        panel categorization (K-Means, K-NN, and the network's own accuracy). Lines are means
        over the repeats, shaded bands one standard deviation. The laptop version of the
        study's width figure is one command, `python -m hashnet reproduce width --quick --out
        runs/width`; without `--quick` it runs the study's full preset on Fashion-MNIST (see
        `docs/experiments.md`).

        ## Try this

        1. Redo the sample-size loop with a width of 20 and of 160. Does the width at which
           the codes become unique depend on the number of examples?
        2. Use `hn.experiments.sweep("noise", ...)` with `quick=True`, two widths, three noise
           levels and `repeats=2` on 1000 training images, and plot it with
           `hn.experiments.plot_sweep(rows, "label_noise")`. Are the repeats close to each
           other?
        """
    ),
]

# --------------------------------------------------------------------------------------------
# 05: the phase chart
# --------------------------------------------------------------------------------------------

PHASE_CHART = [
    md(
        """
        # 5. The activation hash phase chart

        The previous notebook moved one knob at a time. The study's **phase chart** looks at
        three at once (width, training time and sample size) and sorts every network into one
        of three regimes, using the two properties you know:

        - **under-expressive**: `rr_train > rr_threshold`. Many training examples share a
          code: the network cannot tell them apart.
        - **critically-expressive**: `rr_train <= rr_threshold` and
          `knn_test < acc_threshold`. Almost every example has its own code, but the codes do
          not group the classes well yet.
        - **sufficiently-expressive**: `rr_train <= rr_threshold` and
          `knn_test >= acc_threshold`. Unique codes that categorize: a good hash encoder.

        The thresholds are choices you make: `rr_threshold = 0.05` means "at most 5 % of the
        training examples are redundant"; `acc_threshold` should sit a little below what a good
        network reaches on your data. In this notebook you will draw a small phase chart and
        see how to read it and how the thresholds move its borders.
        """
    ),
    setup(numpy=False),
    code(
        """
        from hashnet.experiments import classify_regime

        print(classify_regime(rr_train=0.30, accuracy=0.80))
        print(classify_regime(rr_train=0.01, accuracy=0.50))
        print(classify_regime(rr_train=0.01, accuracy=0.80))
        """
    ),
    md(
        """
        ## A tiny phase sweep

        `hn.experiments.phase_chart` trains one network per (width, sample size), keeps
        snapshots at the chosen epochs, measures each snapshot, classifies every cell and draws
        the chart. The laptop preset (`quick=True`) takes under a minute; here it is shrunk
        further: 2000 training images, 3 sample sizes, 6 widths, 6 snapshots, and only the K-NN
        probe (the one the chart uses). That is 18 trainings and 108 measured cells. Results go
        into a temporary folder.
        """
    ),
    code(
        """
        import tempfile

        out = tempfile.mkdtemp(prefix="hashnet-phase-")
        RR_THRESHOLD, ACC_THRESHOLD = 0.05, 0.70
        chart = hn.experiments.phase_chart(
            out=out,
            quick=True,
            verbose=0,
            n_train=2000,
            n_test=500,
            sample_size=[100, 500, 2000],
            width=[5, 10, 20, 40, 80, 160],
            snapshots=[0, 1, 2, 5, 10, 20],
            probes=["knn"],
            rr_threshold=RR_THRESHOLD,
            acc_threshold=ACC_THRESHOLD,
        )
        cells = chart["cells"]
        print(len(chart["rows"]), "measured points,", len(cells), "cells")
        print("files:", [p.name for p in chart["files"]])
        print(cells[0])
        """
    ),
    code(
        """
        hn.experiments.plot_phase(cells, rr_threshold=RR_THRESHOLD, acc_threshold=ACC_THRESHOLD)
        """
    ),
    md(
        """
        ## How to read the chart

        - There is one panel per **sample size** (the number of distinct training examples).
        - In each panel the **width** grows to the right and the **training time** (epochs)
          upwards; each cell is one network at one epoch.
        - The colour is the regime; black lines mark where the regime changes.
        - The two numbers in a cell are its `rr_train` (top) and its K-NN test accuracy
          (bottom), so you can check every colour against the rule.

        Things to look for:

        - Narrow networks (5 to 20 units) are under-expressive at every epoch and every sample
          size: too few bits for the examples.
        - For a fixed width, `rr_train` grows with the sample size, so the under-expressive
          border moves to the right as the sample grows (follow the width-80 column).
        - Training does not only separate examples: for middle widths the first epochs
          *raise* `rr_train` (as in notebook 4), so a cell can turn under-expressive after
          epoch 0.
        - The sufficiently-expressive corner needs a wide network, enough data and enough
          training. With 100 examples no network reaches the accuracy threshold. On this
          small problem random codes of a wide untrained network can already pass it at
          epoch 0 (random codes are not useless, notebook 3); watch the dip after the first
          epochs and the rise with longer training.

        ## The same cells as points

        Another way to see the rule: put every cell in the plane of its two numbers. The
        thresholds are a vertical and a horizontal line, and the regimes are the three areas
        they cut out.
        """
    ),
    code(
        """
        from hashnet.experiments import REGIMES
        from hashnet.experiments.phase import REGIME_COLORS

        fig, ax = plt.subplots(figsize=(6, 4))
        for regime, color in zip(REGIMES, REGIME_COLORS):
            mine = [c for c in cells if c["regime"] == regime]
            ax.scatter(
                [c["rr_train_mean"] for c in mine],
                [c["knn_test_mean"] for c in mine],
                s=[8 + c["width"] / 2 for c in mine],
                color=color,
                edgecolor="black",
                linewidth=0.4,
                label=f"{regime} ({len(mine)})",
            )
        ax.axvline(RR_THRESHOLD, color="black", lw=1)
        ax.axhline(ACC_THRESHOLD, color="black", lw=1, ls="--")
        ax.set_xscale("symlog", linthresh=0.01)
        ax.set_xlim(-0.003, 1.1)
        ax.set_xlabel("rr_train (symlog scale)")
        ax.set_ylabel("K-NN test accuracy")
        ax.legend(fontsize=8)
        ax.set_title("every cell of the chart; marker size grows with the width", fontsize=9)
        plt.show()
        """
    ),
    md(
        """
        ## Moving the thresholds

        The chart is computed from the stored measurements, so trying other thresholds costs
        nothing: `hn.experiments.phase_cells(rows, ...)` reclassifies, `plot_phase` redraws.
        Count the cells in each regime for a few choices:
        """
    ),
    code(
        """
        rows = chart["rows"]
        for rr_t, acc_t in [(0.05, 0.65), (0.05, 0.70), (0.01, 0.65), (0.2, 0.6)]:
            cells_t = hn.experiments.phase_cells(rows, "knn_test", rr_t, acc_t)
            regimes = [c["regime"] for c in cells_t]
            counts = ", ".join(f"{r.split('-')[0]} {regimes.count(r):2d}" for r in REGIMES)
            print(f"rr_threshold {rr_t:<4}  acc_threshold {acc_t:<4} -> {counts}")
        """
    ),
    code(
        """
        strict = hn.experiments.phase_cells(rows, rr_threshold=0.01, acc_threshold=0.70)
        hn.experiments.plot_phase(
            strict, rr_threshold=0.01, acc_threshold=0.70, title="stricter thresholds"
        )
        """
    ),
    md(
        """
        **What to look at.** A stricter `rr_threshold` moves the under-expressive border to
        the right (wider networks needed; here only slightly, since most wide cells are far
        below 0.05); a higher `acc_threshold` turns sufficiently expressive cells into
        critically expressive ones. The *shape* of the borders (which way they lean) is a
        property of the networks; their exact *place* is a property of your thresholds. When
        you report a phase chart, report the thresholds too.

        ## The results stay on disk

        Every training run is one JSON record in `out/records/`. Running the same command again
        trains nothing, and `hn.experiments.load_results` reads everything back, for instance
        in another notebook:
        """
    ),
    code(
        """
        from pathlib import Path

        print(len(list(Path(out, "records").glob("*.json"))), "records in", out)
        again = hn.experiments.load_results(out)
        print(len(again), "points read back")
        """
    ),
    md(
        """
        The full study's chart (Fashion-MNIST, 8 widths, 8 snapshots up to 100 epochs, 4
        sample sizes, 2 repeats) is `python -m hashnet phase --out runs/phase`, about 40
        minutes on a laptop, less with `--jobs` (notebook 7).

        ## Try this

        1. Add the width 320 and the sample size 1000 to the sweep and run the cell again.
           Only the new runs are trained (watch the count of records grow).
        2. The chart can use another categorization metric. Add `"lr"` to `probes`, rerun
           (this trains again: the probes are part of a run's configuration), and draw the
           chart with `metric="lr_test"`. Does logistic regression agree with K-NN about
           where the good hash encoders are?
        """
    ),
]

# --------------------------------------------------------------------------------------------
# 06: CNNs and image slices
# --------------------------------------------------------------------------------------------

CNNS = [
    md(
        """
        # 6. CNNs, their codes, and exact slices through images

        Everything so far used multilayer perceptrons. A convolutional network is a ReLU
        network too: convolutions and average pooling are linear, and max pooling is piecewise
        linear. So a CNN also cuts its input space into linear regions, and every input has a
        neural code. In this notebook you will:

        1. train LeNet-5 (with ReLUs) on images;
        2. look at its codes, which are much longer than an MLP's;
        3. cut the space of images with a plane through three images and see the exact
           regions, first of an MLP, then of the CNN (zoomed in: there are far more);
        4. count the regions on the straight path between two images.
        """
    ),
    setup(),
    md(
        """
        ## Images as NCHW arrays

        A CNN takes images with their shape: `flatten=False` gives arrays of shape
        (N, channels, height, width), here (N, 1, 28, 28).
        """
    ),
    code(
        """
        Xi, yi, Xi_te, yi_te = hn.datasets.load("fashion-mnist-mini", flatten=False)
        names = hn.datasets.CLASS_NAMES["fashion-mnist-mini"]
        print(Xi.shape, Xi.dtype)

        cnn = hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10, seed=0)
        print(cnn)
        print(cnn.n_params, "parameters")
        """
    ),
    code(
        """
        cnn.fit(Xi, yi, epochs=2, batch_size=64, lr=3e-3)
        print("test accuracy:", cnn.score(Xi_te, yi_te))
        """
    ),
    md(
        """
        ## CNN codes: one bit per unit, and a convolution has many units

        A convolutional ReLU layer has one unit per channel **and** per position: LeNet's first
        layer has 6 channels of 28x28, so 4704 bits; the second 16 channels of 10x10 (1600
        bits); then the dense layers with 120 and 84 units. The code of one image has 6508
        bits. The first layer's bits can be drawn as six small black-and-white images: where
        each filter is on.
        """
    ),
    code(
        """
        codes = cnn.codes(Xi)
        print(codes, "layer sizes:", codes.layer_sizes)

        first_layer = codes.layer(0).bits()[0].reshape(6, 28, 28)  # image 0, layer 1
        fig, axes = plt.subplots(1, 7, figsize=(10, 1.7))
        axes[0].imshow(Xi[0, 0], cmap="gray_r")
        axes[0].set_title(names[yi[0]], fontsize=8)
        for c, ax in enumerate(axes[1:]):
            ax.imshow(first_layer[c], cmap="gray_r")
            ax.set_title(f"channel {c} on", fontsize=8)
        for ax in axes:
            ax.axis("off")
        plt.show()
        """
    ),
    md(
        """
        With thousands of bits, every image has a code of its own. The interesting question
        is at which layer the examples come apart. `codes.layer(i)` keeps one layer's bits,
        `codes.prefix(n)` the first `n` layers':
        """
    ),
    code(
        """
        for i, size in enumerate(codes.layer_sizes):
            print(
                f"layer {i + 1} ({size:4d} bits): rr {hn.redundancy_ratio(codes.layer(i)):.3f}   "
                f"layers 1..{i + 1}: rr {hn.redundancy_ratio(codes.prefix(i + 1)):.3f}"
            )
        knn = hn.KNN(k=9).fit(codes, yi)
        print("K-NN on the CNN codes:", knn.score(cnn.codes(Xi_te), yi_te))
        """
    ),
    md(
        """
        **What to look at.** The convolutional layers alone already separate every image:
        with thousands of bits, the first layer's code almost copies the image. The small
        dense layers near the output are where examples share codes: their codes describe
        the class rather than the particular image.

        ## A plane through three images

        You cannot draw a 784-dimensional space, but you can draw a flat slice of it.
        `hn.regions.plane_through(A, B, C)` is the plane through three images: every point
        `(s, t)` of it is the image `origin + s*u + t*v`, and distances in the picture are
        true distances between images. Start with an MLP, whose slice through whole images
        has a manageable number of regions.
        """
    ),
    code(
        """
        X_flat = Xi.reshape(len(Xi), -1)
        mlp = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
        mlp.fit(X_flat, yi, epochs=10, verbose=0)

        P = hn.regions.plane_through(X_flat[0], X_flat[1], X_flat[2])
        print("A, B, C in plane coordinates:\\n", P.anchors.round(2))
        R_mlp = hn.regions.enumerate(mlp, plane=P)
        hn.plot.regions(R_mlp, images=X_flat[:3], title="MLP 784-100-10")
        """
    ),
    md(
        """
        **What to look at.** The stars are the three images, shown on the right. Every white
        line is a place where one of the 100 hidden units switches; the black lines are the
        MLP's decision boundaries between classes. Inside one polygon, every image of the
        plane is handled by the same affine map.

        ## The same plane for the CNN: zoom in

        LeNet has 6508 ReLU units and 4704 of them are in its first layer, so the same plane
        holds millions of regions: far too many to enumerate and draw. Instead, zoom in on a
        small square around image A and count how many regions it holds as the square grows.
        `hn.regions.plane(origin, u, v, extent)` builds a plane with your own extent.
        """
    ),
    code(
        """
        P_cnn = hn.regions.plane_through(Xi[0], Xi[1], Xi[2])  # the same plane, for NCHW images
        s, t = P_cnn.anchors[0]  # image A in plane coordinates


        def square(half):
            return hn.regions.plane(
                P_cnn.origin, P_cnn.u, P_cnn.v, extent=(s - half, s + half, t - half, t + half)
            )


        for half in (0.01, 0.02, 0.04):
            R_zoom = hn.regions.enumerate(cnn, plane=square(half))
            print(
                f"square of side {2 * half:.2f}: {R_zoom.n_regions:5d} regions, "
                f"{R_zoom.distinct_codes():5d} distinct codes"
            )
        print(f"(the whole plane is about {P_cnn.extent[1] - P_cnn.extent[0]:.0f} units wide)")
        """
    ),
    code(
        """
        R_zoom = hn.regions.enumerate(cnn, plane=square(0.04))
        width_mlp = P.extent[1] - P.extent[0]
        print(f"this square is {width_mlp / 0.08:.0f} times narrower than the MLP's picture")
        A = P_cnn.anchors[:1]  # draw image A as a point; its label colours it
        hn.plot.regions(R_zoom, A, yi[:1], images=Xi[:3], title="LeNet, zoomed in around A")
        """
    ),
    md(
        """
        **What to look at.** The square is a few hundred times narrower than the MLP's
        picture, and it already holds hundreds of regions; the number grows about as fast as
        the area of the square. Many edges run in a few nearly parallel directions: thousands
        of first-layer units are shifted copies of the same 6 filters.

        Notice also that there are more regions than distinct codes. With max pooling the
        network's affine map also changes where the winner of a pooling window changes, even
        when no ReLU switches, so two neighbouring regions can share a ReLU code. (With
        `hn.CNN.lenet(pool="avg")` the two counts agree.)

        ## Counting along the path between two images

        `hn.regions.count_along(net, xa, xb)` counts, exactly, the regions the straight path
        from one image to another crosses, for any network and input size. Compare the MLP and
        the CNN on the same pairs of images:
        """
    ),
    code(
        """
        same = np.flatnonzero(yi == yi[0])[1]  # another image of image 0's class
        pairs = {"A to B (different classes)": (0, 1), "A to another of its class": (0, same)}
        fig, ax = plt.subplots(figsize=(7, 2.4))
        for label, (i, j) in pairs.items():
            n_mlp = hn.regions.count_along(mlp, X_flat[i], X_flat[j]).n_regions
            along = hn.regions.count_along(cnn, Xi[i], Xi[j])
            print(f"{label:28s}  MLP: {n_mlp:4d} regions   LeNet: {along.n_regions:5d} regions")
            ax.hist(along.t, bins=50, histtype="step", lw=1.5, label=f"LeNet, {label}")
        ax.set_xlabel("position along the path (0 = image A, 1 = the other image)")
        ax.set_ylabel("crossings")
        ax.legend(fontsize=7)
        plt.show()
        """
    ),
    md(
        """
        **What to look at.** The CNN's path crosses far more regions than the MLP's: its input
        space is cut much more finely. The histogram shows where along the path the boundaries
        are: they are not spread evenly. Where they bunch up, many units switch within a short
        step. Both paths start at A; ask yourself what in the other images could make so many
        units sensitive near them. (A hint to test: a convolution unit that looks at an empty
        patch of background sees only its bias, so a tiny change of those pixels can switch
        it.)

        ## Try this

        1. Build `hn.CNN.lenet(pool="avg", seed=0)`, train it the same way and redo the zoomed
           count: do the numbers of regions and of distinct codes now agree?
        2. Zoom in around image B instead of A (`P_cnn.anchors[1]`). Is the density of regions
           the same around every image?
        """
    ),
]

# --------------------------------------------------------------------------------------------
# 07: going faster
# --------------------------------------------------------------------------------------------

GOING_FASTER = [
    md(
        """
        # 7. Going faster

        hashnet is written to be read, yet it trains and measures networks quickly on a laptop.
        This notebook shows where the speed comes from and how to use more of it:

        1. Numba kernels and their plain NumPy twins;
        2. compiling once: warm-up and the disk cache;
        3. threads;
        4. the optional GPU path;
        5. running sweeps with several jobs, or split over a cluster.
        """
    ),
    setup(pyplot=False),
    md(
        """
        ## A kernel and its twin

        Matrix products go to BLAS (`np.dot`, `@`). The rest is cheap arithmetic on each
        element (add a bias, apply the ReLU, record the sign bit the codes are made of), and
        its cost is mostly passes over memory. A Numba kernel does all of it in one pass,
        compiled to machine code. For every kernel in `hashnet.kernels.cpu` there is a NumPy
        twin with the same name and arguments in `hashnet.kernels.reference`: obviously
        correct, slower, and what the tests compare the kernels against.

        Here is `bias_act_forward`: `a = z + b; mask = a > 0; out = ReLU(a)`.
        """
    ),
    code(
        """
        import inspect
        import time

        from hashnet.kernels import cpu, reference

        print(inspect.getsource(reference.bias_act_forward))
        print(inspect.getsource(cpu.bias_act_forward.py_func))
        """
    ),
    code(
        """
        def best_time(f, *args, repeat=5):
            # the fastest of a few runs: the least disturbed by other programs
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                f(*args)
                times.append(time.perf_counter() - start)
            return min(times)


        rng = np.random.default_rng(0)
        z = rng.standard_normal((4096, 256)).astype(np.float32)  # a batch of pre-activations
        b = rng.standard_normal(256).astype(np.float32)
        out_numba, mask_numba = np.empty_like(z), np.empty(z.shape, np.uint8)
        out_numpy, mask_numpy = np.empty_like(z), np.empty(z.shape, np.uint8)

        cpu.bias_act_forward(z, b, 0.0, out_numba, mask_numba)  # compile (or load) first
        t_numba = best_time(cpu.bias_act_forward, z, b, 0.0, out_numba, mask_numba)
        t_numpy = best_time(reference.bias_act_forward, z, b, 0.0, out_numpy, mask_numpy)
        # The same loops run by the Python interpreter, on 64 rows only (it is that slow):
        small = z[:64], b, 0.0, np.empty_like(z[:64]), np.empty((64, 256), np.uint8)
        t_python = best_time(cpu.bias_act_forward.py_func, *small, repeat=1) * len(z) / 64

        print(f"Numba kernel : {1e3 * t_numba:8.2f} ms")
        print(f"NumPy twin   : {1e3 * t_numpy:8.2f} ms  ({t_numpy / t_numba:.0f}x slower)")
        print(f"plain Python : {1e3 * t_python:8.0f} ms  (estimated for all rows)")
        print("same results:", np.array_equal(out_numba, out_numpy), np.array_equal(mask_numba, mask_numpy))
        """
    ),
    md(
        """
        **What to look at.** The NumPy twin is much slower because it makes several passes
        over the data and allocates temporary arrays; the Python loop is slower by
        orders of magnitude. The results are identical, bit for bit.

        ## Compiling once: warm-up and the cache

        Numba compiles a function the first time it is called with new argument types. See it
        with a small function of your own:
        """
    ),
    code(
        """
        import numba


        @numba.njit
        def sum_of_squares(x):
            total = 0.0
            for value in x:
                total += value * value
            return total


        x = np.arange(1_000_000, dtype=np.float64)
        for call in ("first call (compiles)", "second call"):
            start = time.perf_counter()
            sum_of_squares(x)
            print(f"{call:22s}: {1e3 * (time.perf_counter() - start):8.2f} ms")
        """
    ),
    md(
        """
        Compiling all of hashnet's kernels takes 15 to 30 seconds. hashnet compiles them with
        `cache=True`, so the machine code is saved next to the sources and later processes
        only load it (well under a second). `hn.warmup()` prepares the kernels up front and
        returns the seconds it took; the trainer calls it for you, announcing it once, and a
        second call returns at once. From the shell, `python -m hashnet warmup` prepares
        every kernel, which is handy before starting many jobs on a cluster. (Change a
        kernel's source file and its cache is stale: the next call compiles again.)
        """
    ),
    code(
        """
        # What an MLP in float32 needs (hn.warmup() alone prepares every kernel, CNNs included)
        print(f"warm-up: {hn.warmup(dtypes=('float32',), images=False):.2f} s")
        print(f"again:   {hn.warmup(dtypes=('float32',), images=False):.2f} s")

        stats = cpu.bias_act_forward.stats
        print("cache folder:", stats.cache_path)
        print(
            "signatures loaded from the cache:",
            sum(stats.cache_hits.values()),
            "compiled in this process:",
            sum(stats.cache_misses.values()),
        )
        """
    ),
    md(
        """
        If the package folder is read-only (a shared installation), Numba cannot write its
        cache there; set `NUMBA_CACHE_DIR` to a writable folder before Python starts.

        ## Threads

        Some kernels split their rows over several cores (`numba.prange`), for example the
        Hamming K-NN search; BLAS splits the matrix products. Numba's thread count can be
        changed at any time with `numba.set_num_threads`; BLAS reads its count
        (`OPENBLAS_NUM_THREADS`, `OMP_NUM_THREADS`, `MKL_NUM_THREADS`) once, when it is
        loaded, so set it before starting Python or Jupyter:

        ```bash
        OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 jupyter lab
        ```

        Time the K-NN search with one thread and with every thread Numba has:
        """
    ),
    code(
        """
        from hashnet.codes import hamming_knn

        Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini")
        net = hn.MLP(784, hidden=(100,), n_classes=10, seed=0).fit(Xtr, ytr, epochs=3, verbose=0)
        codes_tr, codes_te = net.codes(Xtr), net.codes(Xte)

        available = numba.config.NUMBA_NUM_THREADS
        print("Numba may use", available, "threads; now using", numba.get_num_threads())
        for threads in sorted({1, available}):
            numba.set_num_threads(threads)
            seconds = best_time(hamming_knn, codes_te, codes_tr, 9)
            print(f"{threads} thread(s): 1000 x 3500 Hamming K-NN in {1e3 * seconds:.1f} ms")
        numba.set_num_threads(available)
        """
    ),
    md(
        """
        **What to look at.** On an idle machine two threads can be nearly twice as fast. On a
        busy one (other programs, or several jobs of yours) they can be *slower*: work split in two
        waits for its slower half. That is why, on a shared 2-core machine, one thread per
        process is usually best, and why the sweeps below give each job its own share of the
        cores.

        ## The GPU path

        With an NVIDIA GPU, `device="cuda"` runs training, codes and the K-NN search there
        (`fit`, `codes`, `KNN`, `encoding_properties`), with the same results up to float32
        rounding. `hashnet.gpu.cuda_status()` says what hashnet found; without a usable GPU,
        asking for `device="cuda"` raises `hashnet.gpu.CUDAUnavailableError`, whose message
        says what is missing. This cell works either way:
        """
    ),
    code(
        """
        import hashnet.gpu

        usable, simulator, message = hashnet.gpu.cuda_status()
        print("GPU usable:", usable, "| simulator:", simulator)

        small = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
        if simulator:
            print(
                "numba's CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1): correct but far too "
                "slow for this example, so it is skipped"
            )
        else:
            try:
                small.fit(Xtr, ytr, epochs=3, verbose=0, device="cuda")
            except hashnet.gpu.CUDAUnavailableError as error:
                print("no GPU here; the error says what is missing:\\n")
                print(error)
            else:
                on_gpu = small.codes(Xtr, device="cuda")
                on_cpu = small.codes(Xtr)  # same weights, codes computed on the CPU
                differing = np.mean(on_gpu.bits() != on_cpu.bits())
                print(f"trained on {message}; GPU and CPU codes differ in {differing:.1e} of the bits")
        """
    ),
    md(
        """
        `docs/gpu.md` explains how to install the driver and the CUDA toolkit for Numba, and
        what runs on the GPU.

        ## Sweeps: several jobs, or many machines

        A sweep is a list of independent training runs, so it parallelises simply. From the
        shell:

        ```bash
        # several runs at once on one machine: 2 worker processes, 1 thread each
        python -m hashnet reproduce width --quick --jobs 2 --threads 1 --out runs/width

        # on a cluster: task K of N runs every N-th configuration (here as a SLURM array job)
        python -m hashnet reproduce width --shard ${SLURM_ARRAY_TASK_ID}/16 --out runs/width

        # when all shards are done: tables and figure, nothing recomputed
        python -m hashnet reproduce width --out runs/width
        ```

        `docs/experiments.md` has complete SLURM scripts. Each run is stored as one JSON file
        named by a hash of its configuration, written atomically, so shards can share one
        output folder and any interrupted command resumes where it stopped.

        The same in Python, on a tiny sweep (4 widths, 1 repeat) in a temporary folder, one job:
        """
    ),
    code(
        """
        import tempfile

        tiny = dict(
            quick=True, width=[5, 10, 20, 40], repeats=1, n_train=500, n_test=200, epochs=5, probes=["knn"]
        )
        out = tempfile.mkdtemp(prefix="hashnet-sweep-")

        start = time.perf_counter()
        rows = hn.experiments.sweep("width", out=out, jobs=1, **tiny)
        print(f"first time: {time.perf_counter() - start:.1f} s\\n")

        start = time.perf_counter()
        rows_again = hn.experiments.sweep("width", out=out, jobs=1, **tiny)
        print(f"second time: {time.perf_counter() - start:.1f} s (everything was stored)")
        """
    ),
    md(
        """
        Now split the same sweep in two shards, as two cluster tasks would, into another
        folder. Together they run every configuration exactly once, and the measured values
        are the same as in the unsharded sweep (only the recorded timings differ):
        """
    ),
    code(
        """
        sharded = tempfile.mkdtemp(prefix="hashnet-shards-")
        for shard in ("1/2", "2/2"):
            part = hn.experiments.sweep("width", out=sharded, shard=shard, verbose=0, **tiny)
            print(f"shard {shard}: widths {[r['width'] for r in part]}")

        merged = hn.experiments.sweep("width", out=sharded, verbose=0, **tiny)  # nothing to run
        keys = ("width", "rr_train", "knn_test", "test_acc")


        def measured(points):
            return [tuple(point[k] for k in keys) for point in points]


        print("sharded results equal the single-process ones:", measured(merged) == measured(rows))
        """
    ),
    md(
        """
        ## Try this

        1. Time another kernel against its twin, for example `cpu.softmax` and
           `reference.softmax` on a (4096, 10) float32 array. Which speed-up do you get, and
           why is it smaller or larger than for `bias_act_forward`?
        2. Run the tiny sweep with `jobs=2` into a new folder and compare the wall time with
           `jobs=1`. Starting worker processes costs a few seconds, so when does `jobs=2` pay
           off?
        """
    ),
]

NOTEBOOKS = {
    "01_linear_regions": ("The linear regions of a ReLU network, exactly", LINEAR_REGIONS),
    "02_codes_as_hashes": ("Neural codes as hashes", CODES_AS_HASHES),
    "03_categorizing_with_codes": ("Categorizing with codes", CATEGORIZING),
    "04_what_shapes_the_encoding": ("What shapes the encoding", SHAPING),
    "05_phase_chart": ("The activation hash phase chart", PHASE_CHART),
    "06_cnns_and_image_slices": ("CNNs, their codes, and exact slices through images", CNNS),
    "07_going_faster": ("Going faster: kernels, caching, threads, GPU, sweeps", GOING_FASTER),
}

README = """\
# hashnet tutorials

Seven Jupyter notebooks, each teaching one idea of "neural networks behave as hash encoders"
with hashnet. Each runs top to bottom on a laptop CPU in well under two minutes, writes
nothing next to itself (results go to temporary folders), and is run by the test suite
(`tests/test_tutorials.py`).

{table}

To run them: `pip install ".[test]"` from the repository root (it brings Jupyter's kernel),
then open the notebooks with Jupyter (`pip install jupyterlab; jupyter lab tutorials/`) or
your editor. On a busy machine start Jupyter with `OPENBLAS_NUM_THREADS=1` (notebook 7
explains why).

The notebooks are generated by `scripts/make_tutorials.py` and kept without outputs; edit
the cells there and run `python scripts/make_tutorials.py` to rewrite them.
"""


def build(cells):
    """A notebook with the given cells, no outputs, and ids that do not change between builds."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, (kind, text) in enumerate(cells):
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell(text)
        cell.id = f"cell-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def build_all() -> dict:
    """{file name: text} for every notebook and the README of tutorials/."""
    files = {}
    rows = ["| notebook | what it teaches |", "|---|---|"]
    for stem, (title, cells) in NOTEBOOKS.items():
        files[f"{stem}.ipynb"] = nbformat.writes(build(cells)) + "\n"
        rows.append(f"| [{stem}.ipynb]({stem}.ipynb) | {title} |")
    files["README.md"] = README.format(table="\n".join(rows))
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    parser.add_argument("--out", type=Path, default=TUTORIALS, help="folder (default tutorials/)")
    args = parser.parse_args(argv)
    stale = []
    for name, text in build_all().items():
        path = args.out / name
        if path.is_file() and path.read_text() == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if args.check:
        for path in stale:
            print(f"out of date: {path} (run python scripts/make_tutorials.py)")
        if not stale:
            print("up to date")
        return 1 if stale else 0
    print(f"wrote {len(stale)} file(s) in {args.out}" if stale else "up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
