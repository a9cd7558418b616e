"""Probes: simple classifiers and clusterers that read a network's codes, written here.

The study's *categorization* property: K-Means (`KMeans` + `cluster_accuracy`), K-NN in Hamming
distance (`KNN`) and logistic regression (`LogisticRegression`) classify well using nothing but
the activation codes. Each follows scikit-learn's habits (fit returns self, learned state ends
in `_`, a `seed` where randomness enters) and accepts `hashnet.codes.Codes` directly.
"""

from hashnet.probes.kmeans import KMeans
from hashnet.probes.knn import KNN
from hashnet.probes.logistic import LogisticRegression
from hashnet.probes.metrics import cluster_accuracy, contingency_matrix

__all__ = ["KMeans", "KNN", "LogisticRegression", "cluster_accuracy", "contingency_matrix"]
