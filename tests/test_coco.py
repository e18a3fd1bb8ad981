"""The COCO index, CocoBinaryLabeler and CocoMultiLabeler, on the real TACO annotations."""

import json
import pickle
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.multiclass import type_of_target

from litterlearn.datasets._coco import index_coco
from litterlearn.preprocessing import CocoBinaryLabeler, CocoMultiLabeler

TACO_PATH = Path(__file__).parent / "data" / "taco_annotations.json"
TACO = json.loads(TACO_PATH.read_text())


def images_with(field, names):
    """Ids of the images with an annotation whose category ``field`` is in names."""
    cats = {c["id"]: c[field] for c in TACO["categories"]}
    return {
        a["image_id"] for a in TACO["annotations"] if cats[a["category_id"]] in names
    }


def tiny():
    return {
        "images": [
            {"id": 10, "file_name": "b1/x.jpg"},
            {"id": 11, "file_name": "b1/y.jpg"},
            {"id": 12, "file_name": "b2/x.jpg"},
        ],
        "categories": [
            {"id": 1, "name": "Glass bottle", "supercategory": "Bottle"},
            {"id": 2, "name": "Drink can", "supercategory": "Can"},
        ],
        "annotations": [
            {"id": 0, "image_id": 10, "category_id": 2},
            {"id": 1, "image_id": 11, "category_id": 1},
            {"id": 2, "image_id": 11, "category_id": 2},
        ],
    }


def test_index_real_annotations():
    index = index_coco(TACO_PATH)
    assert len(index.image_ids) == 1500
    assert len(index.category_names) == 60 and len(index.supercategory_names) == 28
    expected = defaultdict(set)
    cats = {c["id"]: c for c in TACO["categories"]}
    for a in TACO["annotations"]:
        expected[a["image_id"]].add(cats[a["category_id"]]["supercategory"])
    for image_id, supers in zip(index.image_ids, index.supercategories, strict=True):
        assert supers == expected.get(int(image_id), set())
    assert index.file_names[0] == TACO["images"][0]["file_name"]


def test_labeler_bottle_on_real_annotations():
    bottles = images_with("supercategory", {"Bottle"})
    assert len(bottles) == 322  # the 21% of the design
    expected = [int(img["id"] in bottles) for img in TACO["images"]]
    for source in (TACO_PATH, str(TACO_PATH), TACO, {"annotations": TACO}):
        y = CocoBinaryLabeler("Bottle").fit_transform(source)
        assert y.dtype.kind == "i" and y.tolist() == expected


def test_labeler_category_level_and_several_positives():
    glass = images_with("name", {"Glass bottle"})
    y = CocoBinaryLabeler("Glass bottle", level="category").fit_transform(TACO)
    assert set(np.flatnonzero(y).tolist()) == {
        i for i, img in enumerate(TACO["images"]) if img["id"] in glass
    }
    both = images_with("supercategory", {"Bottle", "Can"})
    y = CocoBinaryLabeler(["Bottle", "Can"]).fit_transform(TACO)
    assert y.sum() == len(both)


def test_transform_ids_names_and_paths_aligned():
    labeler = CocoBinaryLabeler("Bottle").fit(tiny())
    assert labeler.labels_.tolist() == [0, 1, 0]
    assert labeler.transform([11, 10, 12, 11]).tolist() == [1, 0, 0, 1]
    assert labeler.transform(np.array([11, 12])).tolist() == [1, 0]
    assert labeler.transform(["b2/x.jpg", "b1/y.jpg"]).tolist() == [0, 1]
    paths = ["/data/taco/b1/y.jpg", Path("/elsewhere/b2/x.jpg"), "C:/d/b1/x.jpg"]
    assert labeler.transform(paths).tolist() == [1, 0, 0]
    # Labels of another annotations object, in its own order.
    other = tiny()
    other["images"].reverse()
    assert labeler.transform(other).tolist() == [0, 1, 0][::-1]
    with pytest.raises(
        ValueError, match=r"neither image ids nor file names.*99.*z\.jpg"
    ):
        labeler.transform([10, 99, "b1/z.jpg"])
    with pytest.raises(ValueError, match="1-D"):
        labeler.transform(np.array([[10, 11]]))


def test_transform_real_filenames_from_any_folder():
    labeler = CocoBinaryLabeler("Bottle").fit(TACO_PATH)
    names = [img["file_name"] for img in TACO["images"]]
    order = np.random.default_rng(0).permutation(len(names))[:200]
    paths = [f"/some/data_home/{names[i]}" for i in order]
    assert labeler.transform(paths).tolist() == labeler.labels_[order].tolist()


def test_unknown_names_list_valid_ones_and_close_matches():
    with pytest.raises(
        ValueError,
        match=r"'Botle': did you mean 'Bottle'.*Valid supercategory names: \[",
    ) as info:
        CocoBinaryLabeler("Botle").fit(TACO)
    assert "'Bottle cap'" in str(info.value)  # the valid names are listed
    with pytest.raises(ValueError, match="'bottle': did you mean 'Bottle'"):
        CocoBinaryLabeler("bottle").fit(TACO)
    with pytest.raises(ValueError, match=r"are category names: use level='category'"):
        CocoBinaryLabeler("Glass bottle").fit(TACO)
    with pytest.raises(ValueError, match="Unknown category name"):
        CocoBinaryLabeler(["Glass bottle", "Bottle"], level="category").fit(TACO)
    with pytest.raises(ValueError, match="non-empty"):
        CocoBinaryLabeler([]).fit(TACO)
    with pytest.raises(ValueError, match="level"):
        CocoBinaryLabeler("Bottle", level="color").fit(TACO)


def test_labeler_estimator_api():
    labeler = CocoBinaryLabeler("Bottle", level="supercategory")
    assert clone(labeler).get_params() == {
        "positive": "Bottle",
        "level": "supercategory",
    }
    with pytest.raises(NotFittedError):
        labeler.transform([0])
    labeler.fit(TACO)
    restored = pickle.loads(pickle.dumps(labeler))
    ids = [0, 5, 7]
    assert restored.transform(ids).tolist() == labeler.transform(ids).tolist()
    assert labeler.classes_.tolist() == [0, 1]
    assert labeler.positive_ == ("Bottle",)
    with pytest.raises(TypeError, match="fitted on COCO annotations"):
        CocoBinaryLabeler("Bottle").fit(np.zeros((3, 4)))


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda d: d.pop("categories"), r"lacks the key\(s\) \['categories'\]"),
        (
            lambda d: d["images"][1].pop("file_name"),
            r"image 1 lacks the key\(s\) \['file_name'\]",
        ),
        (lambda d: d["annotations"][2].pop("category_id"), r"annotation 2 lacks"),
        (
            lambda d: d["annotations"][1].update(image_id=99),
            r"annotation 1 \(id=1\) refers to image_id 99, which is not in 'images'",
        ),
        (
            lambda d: d["annotations"][0].update(category_id=7),
            r"refers to category_id 7, which is not in 'categories'",
        ),
        (
            lambda d: d["images"].append({"id": 10, "file_name": "z.jpg"}),
            "image id 10 is duplicated",
        ),
        (lambda d: d.update(images={}), "'images' must be a list"),
    ],
)
def test_malformed_annotations(break_it, message, tmp_path):
    data = tiny()
    break_it(data)
    with pytest.raises(ValueError, match=message):
        index_coco(data)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="broken.json"):  # the file is named
        CocoBinaryLabeler("Bottle").fit(path)


def test_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        index_coco(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json is not a COCO annotations file"):
        index_coco(bad)
    with pytest.raises(TypeError, match="COCO annotations must be"):
        index_coco(42)


def test_a_file_name_shared_by_two_images_is_ambiguous_not_the_first():
    coco = tiny()
    coco["images"][2]["file_name"] = "b1/x.jpg"  # images 10 and 12 share it
    labeler = CocoBinaryLabeler("Bottle").fit(coco)
    with pytest.raises(ValueError, match=r"'b1/x.jpg' is ambiguous.*10, 12"):
        labeler.transform(["b1/x.jpg"])
    with pytest.raises(ValueError, match="ambiguous"):
        labeler.transform(["/data/taco/b1/x.jpg"])  # a path ending with it
    # Ids still tell them apart, and the other names still work.
    assert labeler.transform([10, 12, "b1/y.jpg"]).tolist() == [0, 0, 1]


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda c: c["images"][0].update(id=[1, 2]), r"image 0 has id=\[1, 2\]"),
        (
            lambda c: c["annotations"][0].update(image_id={"a": 1}),
            r"annotation 0 \(id=0\) has image_id=\{'a': 1\}",
        ),
        (lambda c: c["categories"][0].update(id=[1]), r"category 0 has id=\[1\]"),
    ],
)
def test_ids_that_are_not_ids_name_their_record(break_it, message):
    coco = tiny()
    break_it(coco)
    with pytest.raises(ValueError, match=message):
        index_coco(coco)


def test_set_params_after_fit_labels_by_the_new_parameters():
    coco = tiny()
    labeler = CocoBinaryLabeler("Bottle").fit(coco)
    names = ["b1/x.jpg", "b1/y.jpg", "b2/x.jpg"]
    bottles = labeler.transform(names).tolist()
    labeler.set_params(positive="Can")
    cans = labeler.transform(names).tolist()
    assert bottles == [0, 1, 0] and cans == [1, 1, 0]
    labeler.set_params(positive="Drink can", level="category")
    assert labeler.transform(names).tolist() == cans
    labeler.set_params(positive="Plastic bag")
    with pytest.raises(ValueError, match="Unknown category name"):
        labeler.transform(names)


def test_other_annotations_without_the_positive_name_are_an_error():
    coco = tiny()
    labeler = CocoBinaryLabeler("Bottle").fit(coco)
    other = tiny()
    other["categories"] = other["categories"][1:]  # no Bottle at all
    other["annotations"] = [a for a in other["annotations"] if a["category_id"] == 2]
    with pytest.raises(
        ValueError, match=r"Unknown supercategory name\(s\) \['Bottle'\]"
    ):
        labeler.transform(other)


def test_transform_of_a_single_string_says_to_pass_a_list(tmp_path):
    labeler = CocoBinaryLabeler("Bottle").fit(tiny())
    with pytest.raises(ValueError, match=r"pass a list.*transform\(\['b1/x.jpg'\]\)"):
        labeler.transform("b1/x.jpg")


# --------------------------------------------------------------------------
# CocoMultiLabeler
# --------------------------------------------------------------------------


def held_by_image(field):
    """Per image (in the images list's order), the set of its ``field`` names."""
    cats = {c["id"]: c[field] for c in TACO["categories"]}
    held = defaultdict(set)
    for a in TACO["annotations"]:
        held[a["image_id"]].add(cats[a["category_id"]])
    return [held[img["id"]] for img in TACO["images"]]


@pytest.mark.parametrize(
    "level, field, n_labels",
    [("supercategory", "supercategory", 28), ("category", "name", 60)],
)
def test_multilabeler_on_real_annotations(level, field, n_labels):
    held = held_by_image(field)
    names = sorted({c[field] for c in TACO["categories"]})
    assert len(names) == n_labels
    for source in (TACO_PATH, str(TACO_PATH), TACO, {"annotations": TACO}):
        labeler = CocoMultiLabeler(level=level)
        Y = labeler.fit_transform(source)
        assert labeler.classes_.tolist() == names
        assert Y.shape == (1500, n_labels) and Y.dtype.kind == "i"
        assert type_of_target(Y) == "multilabel-indicator"
        assert [{names[j] for j in np.flatnonzero(row)} for row in Y] == held
    several = np.mean([len(h) > 1 for h in held])
    assert np.mean(Y.sum(axis=1) > 1) == several
    if level == "supercategory":
        assert several > 0.5  # TACO is multi-label by nature


def test_multilabeler_given_classes_keep_their_order():
    labeler = CocoMultiLabeler(classes=["Can", "Bottle"])
    Y = labeler.fit_transform(TACO)
    assert labeler.classes_.tolist() == ["Can", "Bottle"]
    assert Y.shape == (1500, 2)
    for column, name in enumerate(["Can", "Bottle"]):
        expected = CocoBinaryLabeler(name).fit_transform(TACO)
        assert Y[:, column].tolist() == expected.tolist()
    glass = images_with("name", {"Glass bottle"})
    Y = CocoMultiLabeler(level="category", classes=("Glass bottle",)).fit_transform(
        TACO
    )
    assert Y[:, 0].tolist() == [int(img["id"] in glass) for img in TACO["images"]]


def test_multilabeler_transform_ids_names_and_other_annotations():
    labeler = CocoMultiLabeler().fit(tiny())
    assert labeler.classes_.tolist() == ["Bottle", "Can"]
    assert labeler.labels_.tolist() == [[0, 1], [1, 1], [0, 0]]
    assert labeler.transform([12, 11, 10]).tolist() == [[0, 0], [1, 1], [0, 1]]
    paths = ["/data/taco/b1/y.jpg", Path("/elsewhere/b2/x.jpg")]
    assert labeler.transform(paths).tolist() == [[1, 1], [0, 0]]
    other = tiny()
    other["images"].reverse()
    other["categories"].reverse()  # declared in another order: same columns
    assert labeler.transform(other).tolist() == [[0, 0], [1, 1], [0, 1]]
    with pytest.raises(ValueError, match=r"neither image ids nor file names.*99"):
        labeler.transform([10, 99])
    with pytest.raises(ValueError, match="1-D"):
        labeler.transform(np.array([[10, 11]]))
    with pytest.raises(ValueError, match=r"pass a list.*transform\(\['b1/x.jpg'\]\)"):
        labeler.transform("b1/x.jpg")
    without_bottles = tiny()
    without_bottles["categories"] = without_bottles["categories"][1:]
    without_bottles["annotations"] = [
        a for a in without_bottles["annotations"] if a["category_id"] == 2
    ]
    with pytest.raises(
        ValueError, match=r"Unknown supercategory name\(s\) \['Bottle'\]"
    ):
        labeler.transform(without_bottles)


def test_multilabeler_unknown_and_bad_classes():
    with pytest.raises(
        ValueError,
        match=r"'Botle': did you mean 'Bottle'.*Valid supercategory names: \[",
    ) as info:
        CocoMultiLabeler(classes=["Can", "Botle"]).fit(TACO)
    assert "'Bottle cap'" in str(info.value)  # the valid names are listed
    with pytest.raises(ValueError, match=r"are category names: use level='category'"):
        CocoMultiLabeler(classes=["Glass bottle"]).fit(TACO)
    with pytest.raises(ValueError, match="Unknown category name"):
        CocoMultiLabeler(level="category", classes=["Bottle"]).fit(TACO)
    with pytest.raises(ValueError, match="non-empty list of names"):
        CocoMultiLabeler(classes=[]).fit(TACO)
    with pytest.raises(ValueError, match=r"classes names \['Can'\] more than once"):
        CocoMultiLabeler(classes=["Can", "Bottle", "Can"]).fit(TACO)
    with pytest.raises(ValueError, match="classes"):  # a name, not a list
        CocoMultiLabeler(classes="Bottle").fit(TACO)
    with pytest.raises(ValueError, match="level"):
        CocoMultiLabeler(level="color").fit(TACO)
    with pytest.raises(TypeError, match="CocoMultiLabeler is fitted on COCO"):
        CocoMultiLabeler().fit(np.zeros((3, 4)))


def test_multilabeler_estimator_api():
    labeler = CocoMultiLabeler(classes=["Bottle", "Can"])
    assert clone(labeler).get_params() == {
        "level": "supercategory",
        "classes": ["Bottle", "Can"],
    }
    with pytest.raises(NotFittedError):
        labeler.transform([0])
    labeler.fit(TACO)
    restored = pickle.loads(pickle.dumps(labeler))
    ids = [0, 5, 7]
    assert restored.transform(ids).tolist() == labeler.transform(ids).tolist()
    assert restored.classes_.tolist() == ["Bottle", "Can"]
    # A refit with other parameters gives other columns; set_params alone
    # would leave classes_ naming columns transform no longer gives.
    labeler.set_params(classes=["Can"])
    with pytest.raises(ValueError, match="call fit again"):
        labeler.transform(ids)
    assert labeler.fit(TACO).transform(ids).shape == (3, 1)


@pytest.mark.parametrize("missing", ["absent", "null"])
def test_multilabeler_never_drops_a_category_without_supercategory(missing):
    coco = tiny()
    if missing == "absent":
        del coco["categories"][0]["supercategory"]
    else:
        coco["categories"][0]["supercategory"] = None
    with pytest.raises(ValueError, match=r"\['Glass bottle'\].*no supercategory"):
        CocoMultiLabeler().fit(coco)
    # Its own level, or columns chosen by name, label what the user asked for.
    assert CocoMultiLabeler(level="category").fit_transform(coco)[1].tolist() == [1, 1]
    assert CocoMultiLabeler(classes=["Can"]).fit_transform(coco).shape == (3, 1)
    fitted = CocoMultiLabeler().fit(tiny())
    with pytest.raises(ValueError, match="no supercategory"):
        fitted.transform(coco)  # other annotations: the same rule


def test_fractional_and_string_image_ids_are_kept_exactly():
    coco = tiny()
    for image, new_id in zip(coco["images"], [0.5, 1.5, "img2"], strict=True):
        for ann in coco["annotations"]:
            if ann["image_id"] == image["id"]:
                ann["image_id"] = new_id
        image["id"] = new_id
    labeler = CocoMultiLabeler().fit(coco)
    assert labeler.image_ids_.tolist() == [0.5, 1.5, "img2"]
    assert labeler.transform(["img2", 0.5, 1.5]).tolist() == [[0, 0], [0, 1], [1, 1]]
    with pytest.raises(ValueError, match="neither image ids nor file names"):
        labeler.transform([1])  # not the truncation of 1.5
