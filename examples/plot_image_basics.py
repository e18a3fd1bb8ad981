"""
==========================
Exploring an image: pixels
==========================

An image is an array of numbers: height x width x channels, one byte per
channel. We look at its size and mode, split its RGB channels, draw their
histograms and make a few simple manipulations, all with NumPy and Pillow. The
photo is one of scikit-learn's sample images, available offline.
"""

# %%
# Load a photo
# ------------
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_image

photo = load_sample_image("china.jpg")
print("shape (H, W, C):", photo.shape, "dtype:", photo.dtype)
image = Image.fromarray(photo)
print("Pillow size (W, H):", image.size, "mode:", image.mode)

# %%
# The three channels
# ------------------
fig, axes = plt.subplots(1, 4, figsize=(12, 3))
axes[0].imshow(photo)
axes[0].set_title("RGB")
for i, (ax, name) in enumerate(zip(axes[1:], "RGB", strict=False)):
    ax.imshow(photo[..., i], cmap="gray", vmin=0, vmax=255)
    ax.set_title(name)
for ax in axes:
    ax.axis("off")

# %%
# Channel histograms
# ------------------
# :func:`~litterlearn.plotting.plot_channel_histograms` draws one histogram per
# channel: this photo is dominated by a blue sky and green-brown hills.
from litterlearn.plotting import plot_channel_histograms

plot_channel_histograms(photo)

# %%
# Simple manipulations
# --------------------
# Grayscale with the ITU-R 601-2 luma weights (Pillow's ``"L"`` mode), a
# resize to the 50x50 the course uses, a flip and a brightness change.
gray = np.asarray(image.convert("L"))
small = np.asarray(image.convert("L").resize((50, 50)))
flipped = photo[:, ::-1]
brighter = np.clip(photo.astype(np.int16) + 60, 0, 255).astype(np.uint8)
fig, axes = plt.subplots(1, 4, figsize=(12, 3))
for ax, img, title in zip(
    axes,
    [gray, small, flipped, brighter],
    ["gray", "50x50", "flipped", "brighter"],
    strict=False,
):
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
    ax.set_title(title)
    ax.axis("off")
plt.show()
