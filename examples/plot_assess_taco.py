"""
=========================================
Is deep learning worth it for my images?
=========================================

:func:`~litterlearn.model_selection.assess` puts the course's question to
your own images in one call: it fits classic baselines on pixels (logistic
regression and an RBF SVC, each tuned by a small inner search) and the
small-data CNN on the same stratified splits, along a learning curve, and
says in plain words which wins, by how much against the best baseline (with
an interval from the paired splits), and whether more labels would help.
``litterlearn assess PATH`` does the same from the shell and writes an HTML
report.

The images here are TACO's offline **synthetic** sample (generated litter
on textured ground, not photos), asked "does this image hold a bottle?".
About 21% do, so the metric is balanced accuracy. This is a reduced run (two
splits, two sizes, no transfer routes) to keep the gallery fast; on real
photos, run the command with a time budget, for instance ``litterlearn
assess --taco Bottle --budget 10m``.
"""

# %%
# The question and the data
# -------------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from litterlearn.datasets import load_taco_sample
from litterlearn.model_selection import assess
from litterlearn.preprocessing import CocoBinaryLabeler

taco = load_taco_sample(n_images=300)
y = CocoBinaryLabeler("Bottle").fit_transform(taco.annotations)
print(f"{len(y)} synthetic images, {y.sum()} with a bottle")

# %%
# One call
# --------
# The transfer routes (pretrained features + logistic regression, and
# fine-tuning) need pretrained weights: ``weights="imagenet"`` or a local
# file. They are left out here; without weights they would be listed as
# skipped, with the reason.
result = assess(
    taco.filenames,
    y,
    routes=["logistic_regression", "svc", "small_data_cnn"],
    image_size=32,
    n_splits=2,
    train_sizes=[0.5, 1.0],
    verbose=0,
)
print(result.verdict)

# %%
# The evidence
# ------------
# Every fit is one row: the route, the training size, the split, its score
# on that split's held-out images, and its fit and predict seconds.
print(result.table.groupby(["route", "size"])[["score", "fit_s"]].mean().round(3))

# %%
# The learning curves: the mean over the splits, the bars from the lowest
# to the highest split.
result.plot()
plt.show()

# %%
# The report
# ----------
# ``report="report.html"`` (or ``result.save``) writes one self-contained
# page with the verdict, the table and this figure; ``.md`` writes Markdown
# with the figure beside it.
folder = Path(tempfile.mkdtemp())
print([p.name for p in result.save(folder / "report.html")])
