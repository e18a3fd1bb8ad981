"""
=============================
Grid search on a Dask cluster
=============================

scikit-learn's searches run their fits through joblib, and joblib can hand
them to a Dask cluster: inside ``with joblib.parallel_backend("dask"):``, each
fit of a :class:`~sklearn.model_selection.GridSearchCV` runs on a worker of
the cluster the current :class:`distributed.Client` is connected to, and the
scores come back. Here the cluster is a local one, 2 workers on this machine;
on a real cluster only the line that makes the client changes. The
pipeline starts from file paths, so the workers must see the same files: on a
cluster, keep ``data_home`` on the shared file system.

This needs ``pip install ".[distributed]"`` (from a checkout). It runs offline on the
synthetic TACO sample; set the environment variable
``LITTERLEARN_EXAMPLES_DATA=taco`` to run it on real TACO.
"""

# %%
# A client for a cluster
# ----------------------
# A local cluster of 2 workers with one thread each, inside this process
# (``processes=False``, which keeps this example runnable anywhere, a
# notebook included; worker processes would need the script's code under
# ``if __name__ == "__main__":``). For a real cluster, connect to its
# scheduler instead: ``client = Client("tcp://scheduler:8786")``. Its workers
# are processes on the cluster's machines, and each gives TensorFlow as many
# threads as it has.
import os

import joblib
import pandas as pd
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from litterlearn.datasets import fetch_taco, load_taco_sample
from litterlearn.neural_network import CNNImageClassifier
from litterlearn.preprocessing import (
    CocoBinaryLabeler,
    GrayscaleNormalizer,
    ImageResizer,
)
from litterlearn.utils import fix_joblib_dask_backend

cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
)
client = Client(cluster)  # a real cluster: client = Client("tcp://scheduler:8786")
print(client)

# %%
# The data and the search
# -----------------------
# File paths and labels; the images are read on the workers.
if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco":
    taco = fetch_taco()
else:
    taco = load_taco_sample(n_images=120)
X = taco.filenames
y = CocoBinaryLabeler("Bottle").fit_transform(taco.annotations)

pipe = make_pipeline(
    ImageResizer(24),
    GrayscaleNormalizer(),
    CNNImageClassifier(
        filters=(8, 8),
        padding="same",
        global_pooling="max",
        class_weight="balanced",
        max_iter=5,
        random_state=0,
    ),
)
grid = {
    "cnnimageclassifier__learning_rate_init": [1e-3, 3e-3],
    "cnnimageclassifier__filters": [(8,), (8, 8)],
}
search = GridSearchCV(pipe, grid, cv=3, scoring="balanced_accuracy")
fix_joblib_dask_backend()  # a worker that dies is reported, not waited on forever
with joblib.parallel_backend("dask"):
    search.fit(X, y)

# %%
# Results
# -------
# The fits ran on the workers; the best pipeline was refitted here. With so
# few images and epochs the scores stay near chance (0.5): this example is
# about where the fits run, not about learning (see the CNN against the MLP).
results = pd.DataFrame(search.cv_results_)
columns = [c for c in results if c.startswith("param_")] + ["mean_test_score"]
# Short column names ("size", not "param_imageresizer__size"): a narrow table.
table = results[columns].rename(columns=lambda c: c.split("__")[-1])
print(table.sort_values("mean_test_score", ascending=False).to_string())
print("best:", search.best_params_)

# %%
# The candidates' scores and fit times, as the workers measured them
# ------------------------------------------------------------------
import matplotlib.pyplot as plt

labels = [
    f"filters={p['cnnimageclassifier__filters']}, "
    f"lr={p['cnnimageclassifier__learning_rate_init']:g}"
    for p in results["params"]
]
fig, (ax_score, ax_time) = plt.subplots(
    1, 2, figsize=(8, 3.2), sharey=True, layout="constrained"
)
ax_score.barh(labels, results["mean_test_score"], xerr=results["std_test_score"])
ax_score.axvline(0.5, color="0.4", linestyle="--", label="chance")
ax_score.set_xlabel("balanced accuracy (3-fold CV)")
ax_score.legend(loc="upper left", bbox_to_anchor=(0, -0.25), fontsize="small")
ax_time.barh(labels, results["mean_fit_time"], color="tab:orange")
ax_time.set_xlabel("mean fit time on a worker (s)")
fig.suptitle("CNN grid search on a local Dask cluster")

client.close()
cluster.close()
