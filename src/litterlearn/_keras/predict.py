"""Prediction: one compiled inference function per model, image by image.

``keras.Model.predict`` builds a data pipeline and steps through Keras'
prediction loop on every call, which costs many times the model's own call
for one image. The estimators instead keep, per
model, one ``tf.function`` with a fixed input signature (any batch size),
traced once, and call it on ``batch_size`` images at a time. Being one
function per model (and not one Python function shared by all models), it
never triggers TensorFlow's "retracing" warning in searches that build many
models.

Inside, the function runs the model on each image alone (``tf.map_fn``,
several images in parallel): a matrix product on the CPU rounds a row
differently depending on its position in the batch (by about one float32
ulp), so batched predictions of an image would depend on the images beside
it. Image by image, an image's probabilities are the same whatever it is
predicted with, and in whatever order.

Models trained under a ``tf.distribute`` strategy predict through Keras
(which spreads the batches over the devices).
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

from . import import_tensorflow
from .state import model_state


def _call_in_inference(model_ref, images):
    tf = import_tensorflow()

    model = model_ref()

    def one_image(image):
        return tf.cast(model(image[None], training=False)[0], tf.float32)

    return tf.map_fn(
        one_image, images, fn_output_signature=tf.float32, parallel_iterations=16
    )


def inference_function(model, image_shape, dtype):
    tf = import_tensorflow()

    key = (tuple(image_shape), np.dtype(dtype).name)
    state = model_state(model)
    with state.lock:
        functions = state.predict_functions
        function = functions.get(key)
        if function is None:
            # A weak reference: the traced graph holds the model's variables,
            # and nothing here keeps the model object alive.
            function = tf.function(
                functools.partial(_call_in_inference, weakref.ref(model)),
                input_signature=[tf.TensorSpec((None, *key[0]), key[1])],
                autograph=False,
            )
            functions[key] = function
    return function


def predict(model, images, batch_size, *, distributed=False):
    """The model's outputs for ``images``, as a float64 array.

    ``distributed``: the model was built under a ``tf.distribute`` strategy.
    """
    if distributed:
        out = model.predict(images, batch_size=batch_size, verbose=0)
        return np.asarray(out, dtype=np.float64)
    function = inference_function(model, images.shape[1:], images.dtype)
    outputs = [
        np.asarray(function(images[start : start + batch_size]), dtype=np.float64)
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(outputs) if outputs else np.zeros((0, 0))
