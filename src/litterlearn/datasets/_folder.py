"""load_image_folder: a user's own images, one subfolder per class."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state

#: File name extensions taken as images by default (Pillow reads them all).
IMAGE_EXTENSIONS = (
    ".bmp",
    ".gif",
    ".jpeg",
    ".jpg",
    ".png",
    ".tif",
    ".tiff",
    ".webp",
)


def _is_hidden(name):
    # ".DS_Store", "._photo.jpg" (macOS), ".ipynb_checkpoints", ".git", ...
    return name.startswith(".")


def _inside(path, folder):
    """Whether the real path ``path`` is ``folder`` or inside it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _class_files(folder, extensions, dataset=None, other_classes=()):
    """Image files under ``folder`` (recursively), sorted; and what was skipped.

    Symlinked subfolders are followed; one that leads back to a folder
    already walked (a loop, or a second link to the same folder), to the
    ``dataset`` folder (or above it), or into one of ``other_classes`` (real
    paths) is listed in ``skipped`` instead, as is a symlinked file that
    lies in another class: their images would get this class's label too. A
    folder that cannot be read is an error naming it.
    """

    def fail(exc):
        raise PermissionError(
            exc.errno,
            f"load_image_folder: cannot read the folder {exc.filename!r} "
            f"({exc.strerror}); its images cannot be listed. Fix its "
            "permissions, or leave its class out with classes=[...]",
            exc.filename,
        ) from exc

    files, skipped = [], []
    seen = {os.path.realpath(folder)}
    for root, dirs, names in os.walk(folder, onerror=fail, followlinks=True):
        keep = []
        for d in sorted(dirs):
            path = Path(root, d)
            if _is_hidden(d):
                skipped.append(path)
                continue
            real = os.path.realpath(path)
            if (
                real in seen  # a symlink loop, or the same folder twice
                or (dataset is not None and _inside(dataset, real))
                or any(_inside(real, other) for other in other_classes)
            ):
                skipped.append(path)
                continue
            seen.add(real)
            keep.append(d)
        dirs[:] = keep
        for name in names:
            path = Path(root, name)
            if _is_hidden(name) or path.suffix.lower() not in extensions:
                skipped.append(path)
            elif path.is_symlink() and any(
                _inside(os.path.realpath(path), other) for other in other_classes
            ):
                skipped.append(path)  # another class's image
            else:
                files.append(path)
    return sorted(files), sorted(skipped)


def load_image_folder(
    path,
    *,
    classes=None,
    extensions=IMAGE_EXTENSIONS,
    shuffle=False,
    random_state=None,
    return_X_y=False,
):
    """Load the file names and labels of a folder of images, one subfolder per class.

    The layout is the one of :func:`sklearn.datasets.load_files` and of
    Keras' :func:`keras.utils.image_dataset_from_directory`::

        path/
            bottle/
                img_001.jpg
                img_002.png
                ...
            other/
                img_101.jpg
                ...

    Every subfolder of ``path`` is a class, named after the subfolder; the
    images of a class may sit in nested folders of it (symlinked folders are
    followed, except a link back to ``path`` or into another class folder,
    which would give that class's images a second label: it is skipped and
    listed). Only file names are
    collected (nothing is decoded): they feed
    :class:`~litterlearn.preprocessing.ImageResizer` directly, which decodes
    them and reports any file that is not a readable image.

    The result is deterministic: classes in sorted order (``target`` is the
    index into ``target_names``), files sorted within each class. Hidden
    files and folders (names starting with ``.``, such as ``.DS_Store``) and
    files whose extension is not in ``extensions`` are skipped; how many is
    said in ``DESCR`` and they are listed in ``skipped``.

    Parameters
    ----------
    path : str, bytes or path-like
        The folder holding one subfolder per class. ``~`` is expanded.
    classes : list of str, default=None
        Load only these class subfolders, in this order (``target`` follows
        it). None loads every non-hidden subfolder, sorted by name.
    extensions : tuple of str, default=IMAGE_EXTENSIONS
        File name extensions (compared in lower case, with the dot) taken as
        images: ``.bmp .gif .jpeg .jpg .png .tif .tiff .webp``.
    shuffle : bool, default=False
        Shuffle the samples (file names and targets together), seeded by
        ``random_state``. The default keeps them sorted by class, then name.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle; ignored unless ``shuffle=True``.
    return_X_y : bool, default=False
        Return ``(filenames, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        filenames : ndarray of str of shape (n_samples,)
            Paths of the image files.
        target : ndarray of int of shape (n_samples,)
            Class index of each file, into ``target_names``.
        target_names : list of str
            Class names: the subfolder names.
        skipped : list of str
            Files and folders that were not taken as images (hidden or with
            another extension, and symlinks that lead back to a folder
            already walked, to ``path`` itself or into another class).
        DESCR : str
            What was loaded: the folder, the classes and their sizes, and
            how many files were skipped.

    (filenames, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    NotADirectoryError
        If ``path`` is a file.
    PermissionError
        If a class folder (or a folder inside one) cannot be read; the
        message names it.
    TypeError
        If ``path`` is not a path, ``classes`` is a string rather than a
        list, or ``extensions`` holds something other than strings.
    ValueError
        If ``extensions`` holds an empty extension (``''`` or ``'.'``),
        ``path`` has no class subfolders, only one class, a class with no
        image, or ``classes`` names a subfolder that does not exist.

    See Also
    --------
    litterlearn.preprocessing.ImageResizer : Decodes the files into rows.
    train_val_test_split : Splits file names and targets, stratified.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from litterlearn.datasets import load_image_folder
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ["cat/a.jpg", "cat/b.png", "dog/c.jpg", "dog/notes.txt"]:
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     if name.endswith(".txt"):
    ...         _ = (root / name).write_text("not an image")
    ...     else:
    ...         Image.new("RGB", (8, 8)).save(root / name)
    >>> data = load_image_folder(root)
    >>> data.target_names
    ['cat', 'dog']
    >>> data.target
    array([0, 0, 1])
    >>> [Path(f).name for f in data.filenames]
    ['a.jpg', 'b.png', 'c.jpg']
    >>> [Path(f).name for f in data.skipped]
    ['notes.txt']
    """
    try:
        folder = Path(os.fsdecode(path)).expanduser()
    except TypeError:
        raise TypeError(
            f"load_image_folder: path must be a folder's path (a str, bytes or "
            f"path-like object); got {type(path).__name__}."
        ) from None
    if not folder.exists():
        raise FileNotFoundError(
            f"load_image_folder: the folder {str(folder)!r} does not exist."
        )
    if not folder.is_dir():
        raise NotADirectoryError(
            f"load_image_folder takes a folder holding one subfolder per class; "
            f"{str(folder)!r} is a file."
        )
    if isinstance(extensions, str):
        extensions = (extensions,)
    bad = [e for e in extensions or () if not isinstance(e, str)]
    if bad:
        raise TypeError(
            f"load_image_folder: extensions must be strings such as '.jpg'; "
            f"got {bad[0]!r}."
        )
    if isinstance(classes, str):
        raise TypeError(
            f"load_image_folder: classes must be a list of class names, not a "
            f"string (it would be read letter by letter); got {classes!r}. "
            f"Pass a list, e.g. classes=[{classes!r}, ...]."
        )
    blank = [e for e in extensions or () if not e.strip(".")]
    if blank:
        raise ValueError(
            f"load_image_folder: extensions holds {blank[0]!r}, which is no file "
            f"name extension; give extensions such as '.jpg' or 'png'."
        )
    extensions = {
        (e if e.startswith(".") else f".{e}").lower() for e in extensions or ()
    }
    if not extensions:
        raise ValueError("load_image_folder: extensions is empty.")

    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    found = [p.name for p in entries if p.is_dir() and not _is_hidden(p.name)]
    skipped = [p for p in entries if not p.is_dir() or _is_hidden(p.name)]
    if not found:
        loose = sum(1 for p in skipped if p.suffix.lower() in extensions)
        hint = (
            f" It holds {loose} image file(s) directly: move them into one "
            "subfolder per class."
            if loose
            else ""
        )
        raise ValueError(
            f"load_image_folder: {str(folder)!r} has no class subfolders; expected "
            f"one subfolder per class ({folder.name}/<class>/<image>).{hint}"
        )
    if classes is None:
        names = found
    else:
        names = [str(c) for c in classes]
        if not names:
            raise ValueError(
                "load_image_folder: classes is empty; pass None to load every "
                f"class subfolder, or a list of at least two of {found}."
            )
        unknown = [c for c in names if c not in found]
        if unknown:
            raise ValueError(
                f"load_image_folder: no subfolder {unknown} in {str(folder)!r}; "
                f"its class subfolders are {found}."
            )
        if len(set(names)) != len(names):
            raise ValueError(f"load_image_folder: classes has duplicates: {names}.")
        # Subfolders left out on purpose are not reported as skipped.
    if len(names) < 2:
        raise ValueError(
            f"load_image_folder: {str(folder)!r} has a single class {names}; a "
            "classifier needs at least two class subfolders."
        )

    dataset = os.path.realpath(folder)
    real = {name: os.path.realpath(folder / name) for name in found}
    filenames, target, counts, empty = [], [], {}, []
    for index, name in enumerate(names):
        # A class folder that is itself a link to another is a class of its
        # own (the user made it one); links inside it are judged here.
        others = {r for other, r in real.items() if r != real[name]}
        files, skipped_here = _class_files(folder / name, extensions, dataset, others)
        skipped += skipped_here
        counts[name] = len(files)
        if not files:
            empty.append(name)
        filenames += files
        target += [index] * len(files)
    if empty:
        allowed = " ".join(sorted(extensions))
        raise ValueError(
            f"load_image_folder: class subfolder(s) {empty} of {str(folder)!r} hold "
            f"no image file (extensions {allowed}; hidden files are skipped)."
        )

    filenames = np.array([str(f) for f in filenames], dtype=str)
    target = np.array(target, dtype=np.int64)
    if shuffle:
        order = check_random_state(random_state).permutation(len(target))
        filenames, target = filenames[order], target[order]
    skipped = [str(p) for p in sorted(skipped)]
    if return_X_y:
        return filenames, target
    sizes = ", ".join(f"{name}: {n}" for name, n in counts.items())
    descr = (
        f"Image folder {folder}\n"
        f"{len(filenames)} images in {len(names)} classes ({sizes}).\n"
        f"Skipped {len(skipped)} hidden or non-image file(s) and folder(s), "
        f"or links back into the dataset"
        + (" (listed in .skipped)." if skipped else ".")
    )
    return Bunch(
        filenames=filenames,
        target=target,
        target_names=list(names),
        skipped=skipped,
        DESCR=descr,
    )
