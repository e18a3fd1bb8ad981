"""litterlearn's own Keras layers (registered serializables).

This module imports Keras: import it inside the functions that build models.
"""

from __future__ import annotations

import keras

ops = keras.ops

# ImageNet statistics of Keras' imagenet_utils.preprocess_input.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
MODES = ("caffe", "tf", "torch", "none")


@keras.saving.register_keras_serializable(package="litterlearn")
class BackbonePreprocessing(keras.layers.Layer):
    """Raw images to what a pretrained backbone expects, inside the model.

    Maps images ``(n, H, W, C)``, C = 1 or 3, of the estimator's input dtype
    to float32 RGB 0..255 (uint8 input as is; floats, taken in [0, 1], times
    ``scale`` = 255), resized to ``size`` (bilinear, antialiased when
    shrinking), gray repeated to 3 channels, then Keras' ``preprocess_input``
    of the backbone's ``mode`` ("caffe", "tf", "torch" or "none").
    """

    def __init__(self, mode, scale=1.0, size=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"Unknown preprocessing mode {mode!r}.")
        self.mode = mode
        self.scale = float(scale)
        self.size = None if size is None else tuple(int(s) for s in size)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        if self.scale != 1.0:
            x = x * self.scale
        if self.size is not None and tuple(x.shape[1:3]) != self.size:
            shrinking = x.shape[1] > self.size[0] or x.shape[2] > self.size[1]
            x = ops.image.resize(
                x, self.size, interpolation="bilinear", antialias=shrinking
            )
        if x.shape[-1] == 1:
            x = ops.repeat(x, 3, axis=-1)
        if self.mode == "caffe":
            x = ops.flip(x, axis=-1) - ops.convert_to_tensor(
                _CAFFE_MEAN_BGR, dtype="float32"
            )
        elif self.mode == "tf":
            x = x / 127.5 - 1.0
        elif self.mode == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN, dtype="float32")
            std = ops.convert_to_tensor(_TORCH_STD, dtype="float32")
            x = (x / 255.0 - mean) / std
        return x

    def compute_output_shape(self, input_shape):
        height, width = self.size or tuple(input_shape[1:3])
        return (input_shape[0], height, width, 3)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mode": self.mode,
                "scale": self.scale,
                "size": None if self.size is None else list(self.size),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="litterlearn")
class TokenPooling(keras.layers.Layer):
    """A transformer's tokens ``(n, tokens, d)`` to one vector ``(n, d)``.

    ``mode`` "cls": the class token (the first); "avg" or "max": the mean or
    maximum of the patch tokens, the last ``n_patches`` (a class token,
    registers or a distillation token come before them).
    """

    def __init__(self, mode="avg", n_patches=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("cls", "avg", "max"):
            raise ValueError(f"Unknown token pooling {mode!r}.")
        self.mode = mode
        self.n_patches = None if n_patches is None else int(n_patches)

    def call(self, inputs):
        if self.mode == "cls":
            return inputs[:, 0]
        patches = inputs[:, -self.n_patches :] if self.n_patches else inputs[:, 1:]
        if self.mode == "avg":
            return ops.mean(patches, axis=1)
        return ops.max(patches, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode, "n_patches": self.n_patches})
        return config
