"""Solutions to the exercises of 10_cnn_codes.ipynb."""

import hashnet as hn

Xi, yi, Xi_te, yi_te = hn.datasets.load("fashion-mnist-mini", flatten=False)
cnn = hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10, seed=0)
cnn.fit(Xi, yi, epochs=2, batch_size=64, lr=3e-3, verbose=0)
codes, codes_te = cnn.codes(Xi), cnn.codes(Xi_te)

# %% Exercise 1: K-NN on each layer's codes alone.
for i, size in enumerate(codes.layer_sizes):
    score = hn.KNN(k=9).fit(codes.layer(i), yi).score(codes_te.layer(i), yi_te)
    print(f"layer {i + 1} ({size:4d} bits): K-NN {score:.3f}")
pixels = hn.KNN(k=9, metric="euclidean").fit(Xi.reshape(len(Xi), -1), yi)
print("pixels:", pixels.score(Xi_te.reshape(len(Xi_te), -1), yi_te))
