"""
================================================
Grid search over image size and model parameters
================================================

Because every step is a scikit-learn estimator, the image size is just another
hyperparameter. Here an imbalanced-learn pipeline resizes the photos,
converts them to gray, oversamples the bottle class (only at fit time, never at
predict) and trains an MLP; :class:`~sklearn.model_selection.GridSearchCV`
searches the image size, the hidden layer and the learning rate with
stratified 3-fold cross-validation, scoring the average precision of the
bottle class.

This runs offline on the synthetic TACO sample; set the environment variable
``LITTERLEARN_EXAMPLES_DATA=taco`` to run it on real TACO.
"""

# %%
import os

import pandas as pd
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.model_selection import GridSearchCV

from litterlearn.datasets import fetch_taco, load_taco_sample, train_val_test_split
from litterlearn.neural_network import MLPImageClassifier
from litterlearn.preprocessing import (
    CocoBinaryLabeler,
    GrayscaleNormalizer,
    ImageResizer,
)

if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco":
    taco = fetch_taco()
else:
    taco = load_taco_sample()
y = CocoBinaryLabeler("Bottle").fit_transform(taco.annotations)
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    taco.filenames, y, stratify=y, random_state=0
)

# %%
# The pipeline and the grid
# -------------------------
pipe = make_pipeline(
    ImageResizer(32),
    GrayscaleNormalizer(),
    RandomOverSampler(random_state=0),
    MLPImageClassifier(max_iter=15, random_state=0),
)
grid = {
    "imageresizer__size": [24, 32],
    "mlpimageclassifier__hidden_layer_sizes": [(32,), (128,)],
    "mlpimageclassifier__learning_rate_init": [1e-3, 3e-3],
}
search = GridSearchCV(pipe, grid, cv=3, scoring="average_precision")
search.fit(X_train, y_train)

# %%
# Results
# -------
results = pd.DataFrame(search.cv_results_)
columns = [c for c in results if c.startswith("param_")] + ["mean_test_score"]
# Short column names ("size", not "param_imageresizer__size"): a narrow table.
table = results[columns].rename(columns=lambda c: c.split("__")[-1])
print(table.sort_values("mean_test_score", ascending=False).to_string())
print("best:", search.best_params_)
print(f"test average precision: {search.score(X_test, y_test):.2f}")

# %%
# Each candidate's cross-validated score, with its spread over the folds
# ----------------------------------------------------------------------
import matplotlib.pyplot as plt

ranked = results.sort_values("mean_test_score")
labels = [
    f"{p['imageresizer__size']}px, {p['mlpimageclassifier__hidden_layer_sizes']}, "
    f"lr={p['mlpimageclassifier__learning_rate_init']:g}"
    for p in ranked["params"]
]
fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
ax.barh(
    labels, ranked["mean_test_score"], xerr=ranked["std_test_score"], color="tab:blue"
)
ax.axvline(y_train.mean(), color="0.4", linestyle="--", label="chance (bottle rate)")
ax.set_xlabel("average precision of the bottle class (3-fold CV)")
data_name = (
    "TACO"
    if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco"
    else "the TACO sample"
)
ax.set_title(f"MLP grid search on {data_name}")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
