"""Writes Tests/fixtures/sklearn/metrics.json: reference values of the evaluation metrics the
trainer computes (accuracy, top-k accuracy, macro precision/recall/F1, MSE, MAE, R2), from
scikit-learn on fixed random data. Run once by a maintainer (needs scikit-learn):

    python scripts/make_metric_fixtures.py
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn import metrics

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "fixtures" / "sklearn" / "metrics.json"


def classification_case(name, rng, n, classes, missing_class=False):
    logits = rng.standard_normal((n, classes)).astype(np.float32)
    labels = rng.integers(0, classes, size=n)
    if missing_class:  # a class that is never predicted nor true
        labels[labels == classes - 1] = 0
        logits[:, classes - 1] = -10
    predicted = logits.argmax(1)
    return {
        "name": name, "kind": "classification", "classes": classes,
        "logits": logits.ravel().tolist(), "labels": labels.tolist(),
        "accuracy": metrics.accuracy_score(labels, predicted),
        "top_3_accuracy": metrics.top_k_accuracy_score(labels, logits, k=3, labels=list(range(classes))),
        "precision_macro": metrics.precision_score(labels, predicted, average="macro", zero_division=0),
        "recall_macro": metrics.recall_score(labels, predicted, average="macro", zero_division=0),
        "f1_macro": metrics.f1_score(labels, predicted, average="macro", zero_division=0),
    }


def regression_case(name, rng, n, width):
    targets = rng.standard_normal((n, width)).astype(np.float32)
    predictions = (targets + 0.3 * rng.standard_normal((n, width))).astype(np.float32)
    return {
        "name": name, "kind": "regression", "width": width,
        "predictions": predictions.ravel().tolist(), "targets": targets.ravel().tolist(),
        "mse": metrics.mean_squared_error(targets, predictions),
        "mae": metrics.mean_absolute_error(targets, predictions),
        "r2": metrics.r2_score(targets, predictions),
    }


def main():
    rng = np.random.default_rng(7)
    cases = [
        classification_case("five_classes", rng, 97, 5),
        classification_case("ten_classes_one_absent", rng, 64, 10, missing_class=True),
        regression_case("one_output", rng, 50, 1),
        regression_case("three_outputs", rng, 40, 3),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"generator": "scripts/make_metric_fixtures.py", "sklearn": sklearn.__version__,
                               "cases": cases}, indent=1) + "\n")
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
