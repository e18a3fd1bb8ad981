"""Read COCO annotations (a path, a dict or a dataset Bunch) into per-image sets.

The index answers the questions a labeler asks: which images are there (ids and
file names, in the order of the ``images`` list) and which categories and
supercategories each one contains. Malformed files fail with an error that names
the file and the offending record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath

import numpy as np

from ..utils._messages import first_few

__all__ = ["CocoIndex", "index_coco", "load_coco"]


def load_coco(annotations):
    """Return ``(coco_dict, source)`` for a path, a COCO dict or a Bunch.

    ``source`` names where the dict came from, for error messages.
    """
    if isinstance(annotations, (str, os.PathLike)):
        path = Path(annotations)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"COCO annotations file not found: {path}"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(
                f"{path} is not a COCO annotations file (invalid JSON: {exc})"
            ) from exc
        return data, str(path)
    if isinstance(annotations, Mapping):
        inner = annotations.get("annotations")
        if isinstance(inner, Mapping):  # a dataset Bunch: its COCO dict
            return inner, "the Bunch's annotations"
        return annotations, "the annotations dict"
    raise TypeError(
        "COCO annotations must be a path to a JSON file, a COCO dict or a Bunch "
        f"from fetch_taco/load_taco_sample; got {type(annotations).__name__}."
    )


@dataclass
class CocoIndex:
    """Per-image category sets of a COCO file, in the order of its images."""

    image_ids: np.ndarray
    file_names: list
    categories: list
    supercategories: list
    category_names: list
    supercategory_names: list
    source: str
    # Sorted names of the categories declared without a supercategory.
    without_supercategory: list = field(default_factory=list)
    _by_id: dict = field(repr=False, default_factory=dict)
    _by_name: dict = field(repr=False, default_factory=dict)
    _shared_names: dict = field(repr=False, default_factory=dict)

    def names(self, level):
        """Sorted valid names at ``level`` ("category" or "supercategory")."""
        return self.category_names if level == "category" else self.supercategory_names

    def sets(self, level):
        """Per-image frozensets of names at ``level``."""
        return self.categories if level == "category" else self.supercategories

    def positions(self, keys):
        """Positions in the images list of image ids or file names (or paths).

        A path matches the image whose ``file_name`` is its longest matching
        suffix, so absolute paths such as ``Bunch.filenames`` work.
        """
        positions = np.empty(len(keys), dtype=np.intp)
        unknown = []
        for i, key in enumerate(keys):
            pos = self._position(key)
            if pos is None:
                unknown.append(key)
            else:
                positions[i] = pos
        if unknown:
            raise ValueError(
                f"{len(unknown)} item(s) are neither image ids nor file names of "
                f"the images in {self.source}: {first_few(unknown, repr)}."
            )
        return positions

    def _check_unique(self, name):
        ids = self._shared_names.get(name)
        if ids:
            shown = ", ".join(repr(i) for i in ids[:5])
            raise ValueError(
                f"The file name {name!r} is ambiguous: the images with ids "
                f"{shown} in {self.source} all have it, with their own "
                "annotations. Pass image ids instead of file names, or make the "
                "file names unique."
            )

    def _position(self, key):
        if isinstance(key, (str, os.PathLike)):
            key = os.fspath(key)
            by_id = self._by_id.get(key)  # string image ids
            names = [key]
            parts = PurePath(key).parts
            names += [str(PurePosixPath(*parts[start:])) for start in range(len(parts))]
            for name in names:
                pos = self._by_name.get(name)
                if pos is not None:
                    self._check_unique(name)
                    if by_id is not None and by_id != pos:
                        raise ValueError(
                            f"{key!r} is ambiguous: it is the id of image "
                            f"{self.image_ids[by_id]!r} and the file name of "
                            f"image {self.image_ids[pos]!r} in {self.source}."
                        )
                    return pos
            return by_id
        if isinstance(key, (bool, np.bool_)):
            return None  # True == 1, but it is no image id
        if isinstance(key, np.generic):
            key = key.item()
        try:
            return self._by_id.get(key)
        except TypeError:  # unhashable
            return None


def _is_integral(value):
    """An int id, or a float that is exactly one (JSON writers may add .0)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def _check_hashable(value, what, key, source):
    try:
        hash(value)
    except TypeError:
        raise ValueError(
            f"{source}: {what} has {key}={value!r:.60}, which is not an id "
            "(ids are numbers or strings)."
        ) from None


def _require(record, keys, what, source):
    if not isinstance(record, Mapping):
        raise ValueError(f"{source}: {what} is not an object: {record!r:.80}")
    missing = [k for k in keys if k not in record]
    if missing:
        raise ValueError(
            f"{source}: {what} lacks the key(s) {missing} (has {sorted(record)})."
        )


def index_coco(annotations):
    """Parse COCO annotations into a :class:`CocoIndex`.

    Parameters
    ----------
    annotations : str, path-like, dict or Bunch
        A COCO JSON file, its parsed dict, or a Bunch returned by
        ``fetch_taco``/``load_taco_sample`` (its ``annotations`` are used).

    Returns
    -------
    index : CocoIndex

    Raises
    ------
    ValueError
        If required keys are missing, ids are duplicated, or an annotation
        refers to an image or a category that is not declared.
    """
    data, source = load_coco(annotations)
    _require(data, ("images", "annotations", "categories"), "the top level", source)
    for key in ("images", "annotations", "categories"):
        if not isinstance(data[key], list):
            raise ValueError(f"{source}: '{key}' must be a list.")

    cat_name, cat_super, no_super = {}, {}, set()
    for i, cat in enumerate(data["categories"]):
        _require(cat, ("id", "name"), f"category {i}", source)
        _check_hashable(cat["id"], f"category {i}", "id", source)
        if cat["id"] in cat_name:
            raise ValueError(f"{source}: category id {cat['id']!r} is duplicated.")
        cat_name[cat["id"]] = str(cat["name"])
        if cat.get("supercategory") is not None:
            cat_super[cat["id"]] = str(cat["supercategory"])
        else:
            no_super.add(cat_name[cat["id"]])

    by_id, by_name, ids, file_names, shared = {}, {}, [], [], {}
    for i, img in enumerate(data["images"]):
        _require(img, ("id", "file_name"), f"image {i}", source)
        image_id = img["id"]
        _check_hashable(image_id, f"image {i}", "id", source)
        if image_id in by_id:
            raise ValueError(f"{source}: image id {image_id!r} is duplicated.")
        by_id[image_id] = i
        name = str(img["file_name"])
        if name in by_name:
            first = ids[by_name[name]]
            shared.setdefault(name, [first]).append(image_id)
        by_name.setdefault(name, i)
        ids.append(image_id)
        file_names.append(str(img["file_name"]))

    cats = [set() for _ in ids]
    supers = [set() for _ in ids]
    for i, ann in enumerate(data["annotations"]):
        _require(ann, ("image_id", "category_id"), f"annotation {i}", source)
        what = f"annotation {i} (id={ann.get('id')!r})"
        _check_hashable(ann["image_id"], what, "image_id", source)
        _check_hashable(ann["category_id"], what, "category_id", source)
        pos = by_id.get(ann["image_id"])
        if pos is None:
            raise ValueError(
                f"{source}: {what} refers to image_id {ann['image_id']!r}, "
                "which is not in 'images'."
            )
        cat_id = ann["category_id"]
        if cat_id not in cat_name:
            raise ValueError(
                f"{source}: {what} refers to category_id {cat_id!r}, "
                "which is not in 'categories'."
            )
        cats[pos].add(cat_name[cat_id])
        if cat_id in cat_super:
            supers[pos].add(cat_super[cat_id])

    if all(_is_integral(i) for i in ids):
        image_ids = np.asarray(ids, dtype=np.int64)
    else:  # strings, fractions...: kept exactly as written
        image_ids = np.empty(len(ids), dtype=object)
        image_ids[:] = ids
    return CocoIndex(
        image_ids=image_ids,
        file_names=file_names,
        categories=[frozenset(s) for s in cats],
        supercategories=[frozenset(s) for s in supers],
        category_names=sorted(set(cat_name.values())),
        supercategory_names=sorted(set(cat_super.values())),
        source=source,
        without_supercategory=sorted(no_super),
        _by_id=by_id,
        _by_name=by_name,
        _shared_names=shared,
    )
