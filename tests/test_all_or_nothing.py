"""All or nothing: a public ``fit`` that raises leaves the object as it was.

One check over every public estimator (as test_common.py runs scikit-learn's
checks over them): fit it, record what it outputs, then make a refit fail,
by rejected input that is only found out after the input has been read, or
by a ``KeyboardInterrupt`` from user code running inside the fit (a Keras
callback, a sampling-strategy callable). The object must then output exactly
what it did before (bit for bit: nothing was recomputed) and keep the same
attributes.
"""

import keras
import numpy as np
import pytest
from conftest import TINY_BACKBONE

from litterlearn.ensemble import TestTimeAugmentationClassifier
from litterlearn.neural_network import (
    CNNImageClassifier,
    MLPImageClassifier,
    TransferImageClassifier,
    VGGTransferClassifier,
)
from litterlearn.preprocessing import (
    Augmenter,
    CocoBinaryLabeler,
    CocoMultiLabeler,
    GrayscaleNormalizer,
    ImageResizer,
    PretrainedFeatures,
)
from litterlearn.utils.discovery import all_estimators

RNG = np.random.default_rng(0)
X8 = RNG.integers(0, 256, (12, 8, 8), dtype=np.uint8)  # 12 gray 8x8 images
Y = np.arange(12) % 2
X_OTHER = RNG.integers(0, 256, (12, 10, 10), dtype=np.uint8)  # another size
Y_ONE_CLASS = np.zeros(12, dtype=int)


class _Interrupt(keras.callbacks.Callback):
    """A user pressing Ctrl-C during training."""

    def on_train_batch_end(self, batch, logs=None):
        raise KeyboardInterrupt


def _interrupt_strategy(y):
    raise KeyboardInterrupt


COCO = {
    "images": [{"id": i, "file_name": f"{i}.jpg"} for i in range(4)],
    "categories": [
        {"id": 0, "name": "Glass bottle", "supercategory": "Bottle"},
        {"id": 1, "name": "Drink can", "supercategory": "Can"},
    ],
    "annotations": [
        {"id": 0, "image_id": 0, "category_id": 0},
        {"id": 1, "image_id": 1, "category_id": 1},
    ],
}
COCO_WITHOUT_BOTTLES = {**COCO, "categories": COCO["categories"][1:]}
COCO_WITHOUT_BOTTLES["annotations"] = COCO["annotations"][1:]


def _tiny_net(cls, **params):
    return cls(max_iter=1, batch_size=4, random_state=0, **params)


def _classifier_output(est):
    return est.predict_proba(X8)


def _transform_output(est):
    return est.transform(X8)


# name -> (make(callbacks), good fit args, failing refits, output)
# ``make`` takes the callbacks to train with (None, or the interrupting one);
# each failing refit is (make's callbacks, fit args).
def _keras_case(make, *, rejected=True):
    failures = [([_Interrupt()], (X_OTHER, Y))]  # interrupted mid-training
    if rejected:  # (the backbones share the rejection code of the others)
        failures.append((None, (X_OTHER, Y_ONE_CLASS)))  # one class
    return make, (X8, Y), failures, _classifier_output


CASES = {
    "MLPImageClassifier": _keras_case(
        lambda cb: _tiny_net(MLPImageClassifier, hidden_layer_sizes=(4,), callbacks=cb)
    ),
    "CNNImageClassifier": _keras_case(
        lambda cb: _tiny_net(
            CNNImageClassifier, filters=(2,), hidden_layer_sizes=(), callbacks=cb
        )
    ),
    "TransferImageClassifier": _keras_case(
        lambda cb: _tiny_net(
            TransferImageClassifier,
            backbone=TINY_BACKBONE,
            weights=None,
            input_size=16,
            hidden_layer_sizes=(),
            fine_tune_max_iter=0,
            callbacks=cb,
        ),
        rejected=False,
    ),
    "VGGTransferClassifier": _keras_case(
        lambda cb: _tiny_net(
            VGGTransferClassifier,
            weights=None,
            input_size=32,
            hidden_layer_sizes=(),
            fine_tune_max_iter=0,
            callbacks=cb,
        ),
        rejected=False,
    ),
    "TestTimeAugmentationClassifier": _keras_case(
        lambda cb: TestTimeAugmentationClassifier(
            _tiny_net(MLPImageClassifier, hidden_layer_sizes=(4,), callbacks=cb),
            n_views=2,
            random_state=0,
        )
    ),
    "PretrainedFeatures": (
        lambda cb: PretrainedFeatures(
            backbone="mobilenet_v2", weights=None, input_size=32, random_state=0
        ),
        (X8,),
        [(None, (np.full((4, 8, 8), np.nan),))],
        _transform_output,
    ),
    "GrayscaleNormalizer": (
        lambda cb: GrayscaleNormalizer(standardize=True),
        (X8,),
        # 10 features: no square image, found after n_features_in_ is read.
        [(None, (np.zeros((3, 10), np.uint8),)), (None, (np.zeros((2, 4, 4, 0)),))],
        _transform_output,
    ),
    "ImageResizer": (
        lambda cb: ImageResizer(4),
        (X8,),
        [(None, (np.zeros((2, 4, 4, 5), np.uint8),))],  # 5 channels
        _transform_output,
    ),
    "Augmenter": (
        lambda cb: Augmenter(n_copies=1, horizontal_flip=True, random_state=0),
        (X8, Y),
        [
            (None, (X_OTHER, np.r_[Y[:-1], np.nan])),  # a missing label
            (None, (X_OTHER, Y, "interrupt")),
        ],
        None,  # a sampler keeps only what it learned about the input
    ),
    "CocoBinaryLabeler": (
        lambda cb: CocoBinaryLabeler("Bottle"),
        (COCO,),
        [(None, (COCO_WITHOUT_BOTTLES,))],  # "Bottle" is no longer a name
        lambda est: est.transform([f"{i}.jpg" for i in range(4)]),
    ),
    "CocoMultiLabeler": (
        lambda cb: CocoMultiLabeler(classes=["Bottle", "Can"]),
        (COCO,),
        [(None, (COCO_WITHOUT_BOTTLES,))],  # "Bottle" is no longer a name
        lambda est: est.transform([f"{i}.jpg" for i in range(4)]),
    ),
}


def test_every_public_estimator_is_covered():
    assert sorted(CASES) == sorted(name for name, _ in all_estimators())


def _fit(est, args):
    if isinstance(est, Augmenter):
        if isinstance(args[-1], str):
            est.set_params(sampling_strategy=_interrupt_strategy)
            args = args[:-1]
        return est.fit_resample(*args)
    return est.fit(*args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_failed_refit_changes_nothing(name):
    make, good, failures, output = CASES[name]
    for callbacks, bad in failures:
        est = make(None)
        _fit(est, good)
        before = None if output is None else output(est)
        attributes = {k: v for k, v in vars(est).items() if k.endswith("_")}
        if callbacks is not None:
            est.set_params(**_callback_params(est, callbacks))
        with pytest.raises((ValueError, KeyboardInterrupt, TypeError)):
            _fit(est, bad)
        after = {k: v for k, v in vars(est).items() if k.endswith("_")}
        assert after.keys() == attributes.keys()
        for key, value in attributes.items():
            # The very objects of the first fit: nothing was replaced.
            assert after[key] is value, key
        if output is not None:
            np.testing.assert_array_equal(output(est), before)


def _callback_params(est, callbacks):
    if isinstance(est, TestTimeAugmentationClassifier):
        return {"estimator__callbacks": callbacks}
    return {"callbacks": callbacks}


@pytest.mark.parametrize(
    "make",
    [
        lambda: GrayscaleNormalizer(),
        lambda: ImageResizer(4),
        lambda: TestTimeAugmentationClassifier(
            _tiny_net(MLPImageClassifier, hidden_layer_sizes=(4,)), n_views=1
        ),
    ],
)
def test_a_failed_first_fit_leaves_the_object_unfitted(make):
    est = make()
    params = est.get_params()
    with pytest.raises(ValueError):
        if isinstance(est, TestTimeAugmentationClassifier):
            est.fit(X_OTHER, Y_ONE_CLASS)
        else:
            est.fit(np.zeros((2, 4, 4, 5 if isinstance(est, ImageResizer) else 0)))
    assert not [k for k in vars(est) if k.endswith("_")]
    assert est.get_params() == params
