"""load_image_folder: a user's folder of images, one subfolder per class."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from litterlearn.datasets import load_image_folder


def _image(path, color=(200, 30, 30), size=(12, 9), fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format=fmt)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "photos"
    _image(root / "bottle" / "b2.jpg", (20, 200, 20))
    _image(root / "bottle" / "b1.png", (20, 180, 20))
    _image(root / "bottle" / "beach" / "b3.JPG", (20, 160, 20), fmt="JPEG")
    _image(root / "other" / "o1.jpeg", (200, 20, 20), fmt="JPEG")
    _image(root / "other" / "o2.webp", (180, 20, 20))
    # Not images: hidden files and folders, other extensions.
    (root / "other" / ".DS_Store").write_bytes(b"\0\1")
    (root / "bottle" / "._b1.png").write_bytes(b"\0\1")  # macOS resource fork
    (root / "bottle" / "notes.txt").write_text("hello")
    _image(root / "other" / ".ipynb_checkpoints" / "o1-checkpoint.jpg")
    (root / ".git").mkdir()
    (root / "README.md").write_text("my photos")
    return root


def test_subfolders_become_sorted_classes_and_files(folder):
    data = load_image_folder(folder)
    assert data.target_names == ["bottle", "other"]
    names = [Path(f).relative_to(folder).as_posix() for f in data.filenames]
    assert names == [
        "bottle/b1.png",
        "bottle/b2.jpg",
        "bottle/beach/b3.JPG",  # nested folders of a class belong to it
        "other/o1.jpeg",
        "other/o2.webp",
    ]
    np.testing.assert_array_equal(data.target, [0, 0, 0, 1, 1])
    assert data.target.dtype.kind == "i"
    assert all(Path(f).is_file() for f in data.filenames)


def test_hidden_and_non_image_files_are_skipped_and_counted(folder):
    data = load_image_folder(folder)
    skipped = sorted(Path(p).relative_to(folder).as_posix() for p in data.skipped)
    assert skipped == [
        ".git",
        "README.md",
        "bottle/._b1.png",
        "bottle/notes.txt",
        "other/.DS_Store",
        "other/.ipynb_checkpoints",
    ]
    assert "5 images in 2 classes (bottle: 3, other: 2)" in data.DESCR
    assert "Skipped 6" in data.DESCR


def test_deterministic_and_independent_of_creation_order(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    names = ["x/3.png", "x/1.png", "y/2.png", "y/0.png", "x/2.png"]
    for name in names:
        _image(a / name)
    for name in reversed(names):
        _image(b / name)
    rel = [
        [
            Path(f).relative_to(root).as_posix()
            for f in load_image_folder(root).filenames
        ]
        for root in (a, b)
    ]
    assert rel[0] == rel[1] == ["x/1.png", "x/2.png", "x/3.png", "y/0.png", "y/2.png"]


def test_shuffle_keeps_pairs_and_is_seeded(folder):
    plain = load_image_folder(folder)
    pairs = dict(zip(plain.filenames, plain.target, strict=True))
    one = load_image_folder(folder, shuffle=True, random_state=0)
    two = load_image_folder(folder, shuffle=True, random_state=0)
    np.testing.assert_array_equal(one.filenames, two.filenames)
    assert sorted(one.filenames) == sorted(plain.filenames)
    assert all(pairs[f] == t for f, t in zip(one.filenames, one.target, strict=True))


def test_classes_selects_and_orders(folder):
    _image(folder / "can" / "c1.jpg")
    data = load_image_folder(folder, classes=["other", "bottle"])
    assert data.target_names == ["other", "bottle"]
    assert data.target.tolist() == [0, 0, 1, 1, 1]
    assert not any("/can/" in f.replace(os.sep, "/") for f in data.filenames)
    with pytest.raises(ValueError, match=r"no subfolder \['glass'\].*'bottle', 'can'"):
        load_image_folder(folder, classes=["glass", "bottle"])


def test_extensions_parameter(folder):
    data = load_image_folder(folder, extensions=("png", ".WEBP"))
    assert [Path(f).name for f in data.filenames] == ["b1.png", "o2.webp"]


def test_return_X_y_feeds_image_resizer(folder):
    from litterlearn.preprocessing import ImageResizer

    X, y = load_image_folder(folder, return_X_y=True)
    rows = ImageResizer(8).fit_transform(X)
    assert rows.shape == (5, 8 * 8 * 3) and rows.dtype == np.uint8
    assert y.tolist() == [0, 0, 0, 1, 1]
    # Green bottles, red others: the files were read in the order given.
    images = rows.reshape(5, 8, 8, 3)
    centre = images[:, 4, 4]
    assert (centre[:3, 1] > centre[:3, 0]).all() and (
        centre[3:, 0] > centre[3:, 1]
    ).all()


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_folder(tmp_path / "nope")


def test_a_file_is_not_a_folder(tmp_path):
    _image(tmp_path / "one.jpg")
    with pytest.raises(NotADirectoryError, match="one.jpg' is a file"):
        load_image_folder(tmp_path / "one.jpg")


def test_no_class_subfolders_says_how_to_lay_out(tmp_path):
    _image(tmp_path / "a.jpg")
    _image(tmp_path / "b.jpg")
    with pytest.raises(ValueError, match="no class subfolders.*2 image file"):
        load_image_folder(tmp_path)
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(ValueError, match="no class subfolders"):
        load_image_folder(empty)


def test_single_class(tmp_path):
    _image(tmp_path / "bottle" / "a.jpg")
    with pytest.raises(ValueError, match=r"single class \['bottle'\].*at least two"):
        load_image_folder(tmp_path)


def test_empty_class_is_named(folder):
    (folder / "can").mkdir()
    (folder / "can" / "list.csv").write_text("a,b")
    with pytest.raises(ValueError, match=r"\['can'\].*hold no image"):
        load_image_folder(folder)


def test_symlinked_folders_inside_a_class_are_loaded(tmp_path):
    root = tmp_path / "photos"
    _image(root / "a" / "1.jpg")
    _image(root / "b" / "2.jpg")
    _image(tmp_path / "shared" / "3.jpg")
    os.symlink(tmp_path / "shared", root / "a" / "more")
    data = load_image_folder(root)
    assert [Path(f).relative_to(root).as_posix() for f in data.filenames] == [
        "a/1.jpg",
        "a/more/3.jpg",
        "b/2.jpg",
    ]
    assert data.target.tolist() == [0, 0, 1] and data.skipped == []


def test_symlink_loops_and_second_links_are_skipped_and_listed(tmp_path):
    root = tmp_path / "photos"
    _image(root / "a" / "sub" / "1.jpg")
    _image(root / "b" / "2.jpg")
    os.symlink(root / "a", root / "a" / "sub" / "loop")  # back to the class
    os.symlink(root / "a" / "sub", root / "a" / "again")  # the same folder twice
    data = load_image_folder(root)
    # Folders are walked in sorted order: a/again first, so a/sub is the
    # second link to it, and the loop is met as a/again/loop.
    assert [Path(f).relative_to(root).as_posix() for f in data.filenames] == [
        "a/again/1.jpg",
        "b/2.jpg",
    ]
    assert [Path(p).relative_to(root).as_posix() for p in data.skipped] == [
        "a/again/loop",
        "a/sub",
    ]


def test_links_back_into_the_dataset_never_give_an_image_a_second_label(tmp_path):
    root = tmp_path / "photos"
    _image(root / "a" / "1.jpg")
    _image(root / "b" / "2.jpg")
    _image(root / "b" / "sub" / "3.jpg")
    os.symlink(root, root / "a" / "up")  # the whole dataset, b included
    os.symlink(root / "b" / "sub", root / "a" / "borrowed")  # inside class b
    os.symlink(root / "b" / "2.jpg", root / "a" / "4.jpg")  # b's image
    data = load_image_folder(root)
    labelled = {
        Path(f).relative_to(root).as_posix(): int(t)
        for f, t in zip(data.filenames, data.target, strict=True)
    }
    assert labelled == {"a/1.jpg": 0, "b/2.jpg": 1, "b/sub/3.jpg": 1}
    assert [Path(p).relative_to(root).as_posix() for p in data.skipped] == [
        "a/4.jpg",
        "a/borrowed",
        "a/up",
    ]


def test_an_unreadable_class_folder_is_named_not_called_empty(tmp_path):
    root = tmp_path / "photos"
    _image(root / "a" / "1.jpg")
    _image(root / "b" / "2.jpg")
    os.chmod(root / "b", 0)
    code = (
        "from litterlearn.datasets._folder import load_image_folder\n"
        "try:\n"
        f"    load_image_folder({str(root)!r})\n"
        "except PermissionError as exc:\n"
        "    print(exc)\n"
    )
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:  # root reads anything: drop that power first
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to drop DAC capabilities")
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *command]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env)
    finally:
        os.chmod(root / "b", 0o755)
    if os.geteuid() == 0 and "Operation not permitted" in proc.stderr:
        pytest.skip("setpriv may not drop capabilities here")
    assert proc.returncode == 0, proc.stderr
    assert f"cannot read the folder {str(root / 'b')!r}" in proc.stdout
    assert "Permission denied" in proc.stdout and "no image file" not in proc.stdout


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"classes": "ab"}, TypeError, "not a string"),
        ({"classes": []}, ValueError, "classes is empty"),
        ({"extensions": [1]}, TypeError, "extensions must be strings"),
        ({"extensions": [""]}, ValueError, "extensions holds '', which is no file"),
    ],
)
def test_bad_classes_and_extensions_are_named(folder, kwargs, error, message):
    with pytest.raises(error, match=message):
        load_image_folder(folder, **kwargs)


def test_a_path_given_as_bytes_loads_and_a_non_path_is_named(folder):
    data = load_image_folder(os.fsencode(folder))
    assert data.filenames.tolist() == load_image_folder(folder).filenames.tolist()
    with pytest.raises(TypeError, match="load_image_folder: path must be.*got int"):
        load_image_folder(3)
