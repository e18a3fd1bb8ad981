"""scikit-learn's estimator checks over every public litterlearn estimator.

Everything that bends the checks lives here, once, with its reason:

- ``CHECK_PARAMS``: constructor arguments used for the checks. The checks feed
  rows with 2, 5, 8 or 10 features, which are not images of any inferable
  shape; with the default ``image_shape=None`` our steps rightly refuse them
  (the image contract asks for ``image_shape``). ``image_shape=(1, -1, 1)``
  reads any row as a 1-pixel-high gray strip, so the checks can exercise the
  full API on their own data.
- ``EXPECTED_FAILED_CHECKS``: checks known to fail, with the reason.
"""

import pytest
from conftest import TINY_BACKBONE
from imblearn.base import is_sampler
from imblearn.utils.estimator_checks import (
    check_param_validation,
    estimator_checks_generator,
)
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import (
    estimator_checks_generator as sklearn_checks_generator,
)

from litterlearn.utils.discovery import all_estimators

STRIP = {"image_shape": (1, -1, 1)}

CHECK_PARAMS = {
    "GrayscaleNormalizer": STRIP,
    "ImageResizer": {**STRIP, "size": (2, 3)},
    # Seeded: the checks compare two fit_resample calls on the same data.
    "Augmenter": {**STRIP, "random_state": 0},
    "CocoBinaryLabeler": {"positive": "Bottle"},
    # Tiny networks and few epochs keep the ~50 trainings of the checks fast;
    # enough to pass check_classifiers_train's accuracy bar. The CNN's single
    # "same"-padded convolution with global pooling reads strips of any length.
    "MLPImageClassifier": {
        **STRIP,
        "hidden_layer_sizes": (16,),
        "dropout": 0.1,
        "max_iter": 20,
        "learning_rate_init": 0.02,
    },
    "CNNImageClassifier": {
        **STRIP,
        "filters": (8,),
        "padding": "same",
        "global_pooling": "max",
        "max_iter": 20,
        "learning_rate_init": 0.02,
    },
    # The transfer estimators run the checks on a tiny VGG-shaped body that
    # joins the catalogue as a BackboneSpec (tests/conftest.py): the same
    # catalogue, phase, BatchNorm, feature-cache and pickling code as VGG16
    # at a few thousand parameters, with random weights (ImageNet's cannot be
    # downloaded here). Strips are resized to 16x16 inside the model; the
    # features are computed once per fit and the softmax head learns on them.
    "TransferImageClassifier": {
        **STRIP,
        "backbone": TINY_BACKBONE,
        "weights": None,
        "input_size": 16,
        "hidden_layer_sizes": (),
        "max_iter": 20,
        "learning_rate_init": 0.02,
    },
    # VGGTransferClassifier is TransferImageClassifier with VGG16 and VGG's
    # head: it runs on VGG16 itself (Keras' smallest input, 32x32), so the
    # checks that train many models are left to TransferImageClassifier
    # above (VGG_CHECKS_LEFT_TO_TRANSFER).
    "VGGTransferClassifier": {
        **STRIP,
        "weights": None,
        "input_size": 32,
        "hidden_layer_sizes": (),
        "max_iter": 20,
        "learning_rate_init": 0.02,
        # Phase 2 on random VGG16 weights is not what these checks are about
        # (check_class_weight_classifiers sets max_iter=1000 and a fine-tuning
        # epoch at 1e-5 then moves the strips off the up-weighted class); it
        # is tested with real saved weights in tests/test_transfer.py
        # (trainable weights per phase, reuse, pickle, clone, GridSearchCV).
        "fine_tune_max_iter": 0,
    },
    "PretrainedFeatures": {
        **STRIP,
        "backbone": TINY_BACKBONE,
        "weights": None,
        "input_size": 16,
        "random_state": 0,
    },
    # A meta-estimator: a fast classifier on the strips inside. Its default
    # views (shifts and zooms of up to 5%) keep the checks' blobs separable.
    "TestTimeAugmentationClassifier": {
        **STRIP,
        "estimator": LogisticRegression(),
        "n_views": 2,
    },
}

_MINIBATCH_WEIGHTS = (
    "mini-batch gradient descent: a sample of weight 2 is one sample in one "
    "batch, not two samples in possibly different batches, so the trajectory "
    "(and the model) differs; scikit-learn's MLPClassifier fails it too"
)

EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "Augmenter": {
        "check_samplers_pandas_sparse": (
            "images are dense: a sparse DataFrame is refused with the same "
            "clear TypeError as scipy sparse input, while imbalanced-learn's "
            "check (which ignores the input_tags.sparse tag) expects it resampled"
        ),
        "check_target_type": (
            "a multi-label (0/1 indicator) y is balanced per label, on "
            "purpose, where imbalanced-learn's samplers refuse it; the "
            "continuous-target half of this check passes in "
            "tests/test_augment_multilabel.py"
        ),
    },
    "MLPImageClassifier": {
        "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_WEIGHTS,
    },
    "CNNImageClassifier": {
        "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_WEIGHTS,
    },
    "TransferImageClassifier": {
        "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_WEIGHTS,
    },
    "VGGTransferClassifier": {
        "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_WEIGHTS,
    },
}

# VGGTransferClassifier is TransferImageClassifier with VGG16 and a Dense(256)
# head: the same fit, phases, feature cache and prediction code. On VGG16
# (the class cannot take another backbone) the checks that train dozens of
# models cost minutes; they run on TransferImageClassifier with the tiny
# body above, and VGGTransferClassifier keeps every other check.
VGG_CHECKS_LEFT_TO_TRANSFER = {
    "VGGTransferClassifier": {
        "check_classifiers_train",
        "check_class_weight_classifiers",
        "check_classifiers_classes",
        "check_estimators_dtypes",
        "check_sample_weight_equivalence_on_dense_data",
    },
}

# Public estimators whose input is not an array of samples (their tags say
# ``input_tags.two_d_array=False``), with the reason: sklearn's checks have no
# data to give them and would only emit a SkipTestWarning. Their API is
# tested in their own modules.
NOT_ARRAY_INPUT = {
    "CocoBinaryLabeler": (
        "fitted on COCO annotations (a JSON path, dict or Bunch) and produces "
        "the target y, not rows of X; tested in tests/test_coco.py"
    ),
    "CocoMultiLabeler": (
        "fitted on COCO annotations (a JSON path, dict or Bunch) and produces "
        "the multi-label target Y, not rows of X; tested in tests/test_coco.py"
    ),
}


def _instances():
    for name, cls in all_estimators():
        if name in NOT_ARRAY_INPUT:
            continue
        yield cls(**CHECK_PARAMS.get(name, {}))


def _expected_failed_checks(estimator):
    expected = EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})
    assert all(len(reason) > 20 for reason in expected.values()), expected
    return expected


def test_all_estimators_found():
    names = {name for name, _ in all_estimators()}
    assert {"GrayscaleNormalizer"} <= names


def test_not_array_input_is_honest():
    """Only estimators whose tags refuse 2-D arrays may skip the checks."""
    from sklearn.utils import get_tags

    found = dict(all_estimators())
    for name, reason in NOT_ARRAY_INPUT.items():
        assert len(reason) > 20
        estimator = found[name](**CHECK_PARAMS.get(name, {}))
        assert not get_tags(estimator).input_tags.two_d_array, name


def _sklearn_checks():
    for estimator in _instances():
        left = VGG_CHECKS_LEFT_TO_TRANSFER.get(type(estimator).__name__, set())
        for item in sklearn_checks_generator(
            estimator,
            expected_failed_checks=_expected_failed_checks(estimator),
            mark="xfail",
        ):
            # An expected failure comes as a pytest.param with its xfail mark.
            _, check = getattr(item, "values", item)
            if _check_name(check) not in left:
                yield item


def _check_name(check):
    return getattr(getattr(check, "func", check), "__name__", None)


def _sklearn_check_id(obj):
    if hasattr(obj, "fit"):
        return repr(obj).replace(" ", "").replace("\n", "")
    name = _check_name(obj)
    kwargs = getattr(obj, "keywords", {})
    if kwargs:
        name += "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"
    return name


@pytest.mark.parametrize(
    "estimator, check", list(_sklearn_checks()), ids=_sklearn_check_id
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_vgg_checks_left_to_transfer_run_there():
    """The checks skipped for VGGTransferClassifier run on its parent class."""
    ran = {
        _check_name(check)
        for est, check in (getattr(i, "values", i) for i in _sklearn_checks())
        if type(est).__name__ == "TransferImageClassifier"
    }
    assert VGG_CHECKS_LEFT_TO_TRANSFER["VGGTransferClassifier"] <= ran


def _sampler_checks():
    # imblearn's parametrize_with_checks hands pytest a generator, which
    # pytest 9 deprecates (an error here); the same checks, as a list.
    for est in _instances():
        if is_sampler(est):
            yield from estimator_checks_generator(
                est, expected_failed_checks=_expected_failed_checks(est), mark="xfail"
            )


def _check_id(obj):
    if hasattr(obj, "fit"):
        return type(obj).__name__
    func = getattr(obj, "func", obj)
    return getattr(func, "__name__", None)


# imbalanced-learn's own checks for samplers (fit_resample, sampling_strategy
# semantics, lists, one-vs-all targets, dtype), as its test suite runs them.
@pytest.mark.parametrize("estimator, check", list(_sampler_checks()), ids=_check_id)
def test_imblearn_compatible(estimator, check):
    check(estimator)


def test_samplers_validate_parameters_in_fit_resample():
    samplers = [est for est in _instances() if is_sampler(est)]
    assert samplers
    for sampler in samplers:
        check_param_validation(type(sampler).__name__, sampler)
