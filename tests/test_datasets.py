"""fetch_taco against a real HTTP server on 127.0.0.1; the sample; the split.

The server serves the real TACO annotations (tests/data) and small generated
images under the real file names. Each test decides, per path and request
number, whether the server answers normally or misbehaves.
"""

import contextlib
import hashlib
import io
import json
import os
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from joblib import cpu_count
from PIL import Image, ImageFile

from litterlearn.datasets import (
    _taco,
    fetch_taco,
    get_data_home,
    load_taco_sample,
    train_val_test_split,
)
from litterlearn.preprocessing import CocoBinaryLabeler

ANNOTATIONS_PATH = Path(__file__).parent / "data" / "taco_annotations.json"
ANNOTATIONS_BYTES = ANNOTATIONS_PATH.read_bytes()
TACO = json.loads(ANNOTATIONS_BYTES)
FILE_NAMES = {img["file_name"] for img in TACO["images"]}
N = 12  # images per fetch: enough to mix faults, few enough to be fast


def jpeg_bytes(width, height, seed=0, fmt="JPEG", **save):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height // 4 + 1, width // 4 + 1, 3), dtype=np.uint8)
    img = Image.fromarray(pixels).resize((width, height))
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    return buf.getvalue()


def picked(path, mod, rem=0):
    """Whether ``path`` is an image whose number is ``rem`` modulo ``mod``."""
    return path in FILE_NAMES and int(Path(path).stem) % mod == rem


class TacoServer:
    """A loopback HTTP server whose faults each test scripts.

    ``fault(path, n)`` is called for the n-th request (from 1) of ``path`` and
    returns None (serve normally), "404", "500", "drop" (send half the body,
    then close), "slow" (wait ``delay`` seconds before answering), "drip"
    (send the body a byte every 0.1 s, for at most ``drip_for`` seconds, then
    the rest at once), bytes (serve those instead) or ``{"body": bytes,
    "headers": {name: value or None}}`` (those, with these headers; None
    leaves out the Content-Length). ``active_peak`` is the
    largest number of requests served at the same time.
    """

    def __init__(self):
        self.files = {"annotations.json": ANNOTATIONS_BYTES}
        self.fault = lambda path, n: None
        self.delay = 1.5
        self.drip_for = 8.0
        self.counts = Counter()
        self.active = self.active_peak = 0
        self._lock = threading.Lock()
        self._images = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with server._lock:
                    server.active += 1
                    server.active_peak = max(server.active_peak, server.active)
                try:
                    self.serve()
                finally:
                    with server._lock:
                        server.active -= 1

            def serve(self):
                path = unquote(urlsplit(self.path).path).lstrip("/")
                with server._lock:
                    server.counts[path] += 1
                    n = server.counts[path]
                body = server.body(path)
                fault = server.fault(path, n)
                headers = {}
                if isinstance(fault, dict):  # {"body": ..., "headers": {...}}
                    body, headers, fault = fault["body"], fault["headers"], None
                if isinstance(fault, bytes):
                    body, fault = fault, None
                if fault == "slow":
                    time.sleep(server.delay)
                if body is None or fault == "404":
                    self.send_error(404)
                    return
                if fault == "500":
                    self.send_error(500)
                    return
                self.send_response(200)
                headers = {"Content-Length": str(len(body)), **headers}
                for key, value in headers.items():
                    if value is not None:
                        self.send_header(key, value)
                self.end_headers()
                if fault == "drop":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault == "drip":
                    stop = time.monotonic() + server.drip_for
                    sent = 0
                    while sent < len(body) and time.monotonic() < stop:
                        self.wfile.write(body[sent : sent + 1])
                        self.wfile.flush()
                        sent += 1
                        time.sleep(0.1)
                    body = body[sent:]
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                pass  # clients that gave up (timeouts) are expected

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def body(self, path):
        if path in self.files:
            return self.files[path]
        if path in FILE_NAMES:
            if path not in self._images:
                seed = zlib.crc32(path.encode())
                self._images[path] = jpeg_bytes(40, 30, seed)
            return self._images[path]
        return None

    def image_counts(self):
        return {p: n for p, n in self.counts.items() if p in FILE_NAMES}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = TacoServer()
    yield s
    s.close()


@pytest.fixture
def mirror(server, monkeypatch, tmp_path):
    """The server as LITTERLEARN_TACO_URL, and an empty LITTERLEARN_DATA."""
    monkeypatch.setenv("LITTERLEARN_TACO_URL", server.url)
    monkeypatch.setenv("LITTERLEARN_DATA", str(tmp_path / "data"))
    return server


def fetch(**kwargs):
    kwargs = {"n_images": N, "random_state": 0, "progressbar": False, **kwargs}
    return fetch_taco(**kwargs)


def assert_cache_clean(data_home):
    """No temporary file left, and every stored image is a valid JPEG."""
    for path in Path(data_home).rglob("*"):
        if path.is_dir():
            continue
        assert not path.name.endswith(".part"), path
        if path.name == "annotations.json":
            assert path.read_bytes() == ANNOTATIONS_BYTES
            continue
        with Image.open(path) as img:
            assert img.format == "JPEG", path
            img.load()


def test_fetch_from_mirror(mirror, tmp_path):
    data = fetch(progressbar=True)
    data_home = tmp_path / "data"
    assert data.data_home == str(data_home)
    assert data.missing == {}
    assert len(data.filenames) == len(data.image_ids) == N
    by_id = {img["id"]: img for img in TACO["images"]}
    cats = {c["id"]: c for c in TACO["categories"]}
    for path, image_id, c, s, w, h in zip(
        data.filenames,
        data.image_ids,
        data.categories,
        data.supercategories,
        data.width,
        data.height,
        strict=True,
    ):
        assert Path(path).is_absolute()
        assert path == str(data_home / by_id[image_id]["file_name"])
        with Image.open(path) as img:
            assert img.size == (w, h) == (40, 30)
        anns = [a for a in TACO["annotations"] if a["image_id"] == image_id]
        assert c == {cats[a["category_id"]]["name"] for a in anns}
        assert s == {cats[a["category_id"]]["supercategory"] for a in anns}
    # The annotations are restricted to these images, in the same order.
    assert [img["id"] for img in data.annotations["images"]] == list(data.image_ids)
    assert {a["image_id"] for a in data.annotations["annotations"]} <= set(
        data.image_ids.tolist()
    )
    assert data.annotations["categories"] == TACO["categories"]
    y = CocoBinaryLabeler("Bottle").fit_transform(data.annotations)
    assert y.tolist() == [int("Bottle" in s) for s in data.supercategories]
    assert "arXiv:2003.06975" in data.DESCR and "MIT" in data.DESCR
    # Every file came from the mirror, once.
    assert mirror.counts["annotations.json"] == 1
    assert sorted(mirror.image_counts()) == sorted(
        by_id[i]["file_name"] for i in data.image_ids
    )
    assert set(mirror.image_counts().values()) == {1}
    assert (data_home / "annotations.json").read_bytes() == ANNOTATIONS_BYTES
    assert_cache_clean(data_home)


def test_subset_is_seeded(mirror):
    first = fetch(random_state=1)
    again = fetch(random_state=1)
    other = fetch(random_state=2)
    assert first.image_ids.tolist() == again.image_ids.tolist()
    assert first.image_ids.tolist() != other.image_ids.tolist()
    assert first.image_ids.tolist() == sorted(first.image_ids.tolist())
    with pytest.raises(ValueError, match="n_images"):
        fetch(n_images=0)


def test_second_call_fetches_nothing(mirror):
    fetch()
    before = Counter(mirror.counts)
    fetch()
    assert mirror.counts == before


def test_interrupted_fetch_resumes(mirror, tmp_path):
    # First call: the odd-numbered images break mid-body, every time.
    mirror.fault = lambda path, n: "drop" if picked(path, 2, 1) else None
    with pytest.warns(UserWarning, match=r"could not be fetched.*Bunch\.missing"):
        first = fetch(n_retries=1)
    odd = {p for p in mirror.image_counts() if picked(p, 2, 1)}
    assert odd and set(first.missing) == odd
    assert all("ChunkedEncodingError" in r for r in first.missing.values())
    assert len(first.filenames) == N - len(odd)
    assert_cache_clean(tmp_path / "data")
    fetched_once = dict(mirror.image_counts())

    mirror.fault = lambda path, n: None
    second = fetch()
    assert second.missing == {} and len(second.filenames) == N
    for path, n in mirror.image_counts().items():
        if path in odd:  # 2 attempts in the first call, 1 in the second
            assert n == fetched_once[path] + 1 == 3
        else:  # valid files are not fetched again
            assert n == fetched_once[path] == 1
    assert mirror.counts["annotations.json"] == 1
    assert_cache_clean(tmp_path / "data")


def test_404_is_missing_and_not_retried(mirror, tmp_path):
    mirror.fault = lambda path, n: "404" if picked(path, 3) else None
    with pytest.warns(UserWarning, match="could not be fetched"):
        data = fetch()
    lost = {p for p in mirror.image_counts() if picked(p, 3)}
    assert lost and set(data.missing) == lost
    assert all("404" in reason for reason in data.missing.values())
    assert all(mirror.counts[p] == 1 for p in lost)
    assert not any(str(p) in data.filenames for p in lost)
    assert_cache_clean(tmp_path / "data")


def test_server_error_then_success_is_retried(mirror):
    mirror.fault = lambda path, n: "500" if n == 1 else None
    data = fetch(n_retries=1)
    assert data.missing == {} and len(data.filenames) == N
    assert set(mirror.counts.values()) == {2}  # annotations and images


def test_dropped_connection_then_success(mirror, tmp_path):
    mirror.fault = lambda path, n: "drop" if n == 1 and path in FILE_NAMES else None
    data = fetch(n_retries=1)
    assert data.missing == {}
    assert set(mirror.image_counts().values()) == {2}
    assert_cache_clean(tmp_path / "data")


@pytest.mark.parametrize(
    "body, reason",
    [
        (jpeg_bytes(64, 48)[:400], "does not decode"),  # truncated JPEG
        (b"<html>Rate limit exceeded</html>", "does not decode"),
        (b"", "does not decode"),
    ],
    ids=["truncated-jpeg", "not-an-image", "empty"],
)
def test_corrupt_bodies_are_not_stored(mirror, tmp_path, body, reason):
    mirror.fault = lambda path, n: body if picked(path, 2) else None
    with pytest.warns(UserWarning, match="could not be fetched"):
        data = fetch(n_retries=0)
    bad = {p for p in mirror.image_counts() if picked(p, 2)}
    assert bad and set(data.missing) == bad
    assert all(reason in r for r in data.missing.values())
    for p in bad:
        assert not (tmp_path / "data" / p).exists()
    assert_cache_clean(tmp_path / "data")


def test_slow_server_times_out(mirror, tmp_path):
    mirror.delay = 1.0
    mirror.fault = lambda path, n: "slow" if path in FILE_NAMES else None
    with pytest.raises(ConnectionError) as info:
        fetch(timeout=0.2, n_retries=0, n_images=4)
    # It timed out (no assertion on wall time: a loaded machine stretches it).
    message = str(info.value)
    assert "LITTERLEARN_TACO_URL" in message and "load_taco_sample()" in message
    assert "Timeout" in message
    assert_cache_clean(tmp_path / "data")


def test_slow_annotations_time_out(mirror):
    mirror.delay = 1.0
    mirror.fault = lambda path, n: "slow"
    with pytest.raises(ConnectionError, match="LITTERLEARN_TACO_URL"):
        fetch(timeout=0.2, n_retries=0)


def test_a_slow_drip_is_cut_by_the_per_file_deadline(mirror, tmp_path, monkeypatch):
    # timeout bounds each wait for data; a byte every 0.1 s never waits that
    # long, so only the overall deadline (DEADLINE_FACTOR x timeout) ends such
    # a download. The waits get a generous timeout (4 s) so that no healthy
    # download fails on a loaded machine, and the deadline is set to 1 x
    # timeout: the drip (8 s of bytes for a body that needs more) is cut at 4 s.
    monkeypatch.setattr(_taco, "DEADLINE_FACTOR", 1)
    mirror.fault = lambda path, n: "drip" if picked(path, 4) else None
    with pytest.warns(UserWarning, match="could not be fetched"):
        data = fetch(timeout=4, n_retries=0)
    slow = {p for p in mirror.image_counts() if picked(p, 4)}
    assert slow and set(data.missing) == slow
    assert all("did not finish within 4 s" in r for r in data.missing.values())
    assert len(data.filenames) == N - len(slow)
    assert_cache_clean(tmp_path / "data")


def _largest_part_file(root, stop, sizes):
    """Record the size of every temporary file under ``root`` until ``stop``."""
    while not stop.is_set():
        for part in Path(root).rglob("*.part"):
            with contextlib.suppress(OSError):  # gone meanwhile
                sizes.append(part.stat().st_size)
        time.sleep(0.005)


def test_a_gzip_bomb_is_cut_at_the_size_ceiling(mirror, tmp_path):
    # 0.1 MB on the wire, 80 MiB once decoded: over the 64 MiB ceiling.
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    zeros = b"\0" * 2**20
    bomb = b"".join(packer.compress(zeros) for _ in range(80)) + packer.flush()
    assert len(bomb) < _taco.MAX_DOWNLOAD_BYTES // 100
    gzip = {"body": bomb, "headers": {"Content-Encoding": "gzip"}}
    mirror.fault = lambda path, n: gzip if picked(path, 4) else None
    stop, sizes = threading.Event(), []
    watcher = threading.Thread(
        target=_largest_part_file, args=(tmp_path / "data", stop, sizes)
    )
    watcher.start()
    try:
        with pytest.warns(UserWarning, match="could not be fetched"):
            data = fetch(n_retries=2)
    finally:
        stop.set()
        watcher.join()
    big = {p for p in mirror.image_counts() if picked(p, 4)}
    assert big and set(data.missing) == big
    for reason in data.missing.values():
        assert f"sent more than {_taco.MAX_DOWNLOAD_BYTES} bytes" in reason
        assert "gzip" in reason and ".part" not in reason
    # Never more than the ceiling on disk, and not retried (it would be again).
    assert max(sizes, default=0) <= _taco.MAX_DOWNLOAD_BYTES
    assert all(mirror.counts[p] == 1 for p in big)
    assert len(data.filenames) == N - len(big)
    assert_cache_clean(tmp_path / "data")


def test_an_announced_size_over_the_ceiling_is_refused_before_the_body(
    mirror, tmp_path
):
    huge = {
        "body": jpeg_bytes(40, 30),
        "headers": {"Content-Length": str(_taco.MAX_DOWNLOAD_BYTES + 1)},
    }
    mirror.fault = lambda path, n: huge if picked(path, 4) else None
    with pytest.warns(UserWarning, match="could not be fetched"):
        data = fetch(n_retries=0)
    big = {p for p in mirror.image_counts() if picked(p, 4)}
    assert big and set(data.missing) == big
    assert all(
        "announces" in r and "Content-Length" in r for r in data.missing.values()
    )
    assert_cache_clean(tmp_path / "data")


def test_the_downloader_writes_nothing_over_its_limit(server, tmp_path):
    # Without a Content-Length the ceiling applies to what is written.
    body = bytes(range(256)) * 64  # 16 KiB
    server.fault = lambda path, n: {"body": body, "headers": {"Content-Length": None}}
    out = tmp_path / "out"
    downloader = _taco._DeadlineDownloader(5, max_bytes=5000)
    with pytest.raises(_taco.DownloadTooLargeError, match="sent more than 5000"):
        downloader(server.url + "annotations.json", out)
    assert out.stat().st_size <= 5000
    # A body within its limit arrives whole.
    _taco._DeadlineDownloader(5, max_bytes=len(body))(server.url + "x", out)
    assert out.read_bytes() == body


def test_truncated_jpeg2000_bodies_are_never_stored(mirror, tmp_path, monkeypatch):
    # Pillow's JPEG 2000 decoder returns black pixels for a cut codestream
    # when LOAD_TRUNCATED_IMAGES is set; such a file must not be cached.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    body = jpeg_bytes(64, 48, fmt="JPEG2000")
    mirror.fault = lambda path, n: (
        body[: len(body) * 3 // 5] if picked(path, 2) else None
    )
    with pytest.warns(UserWarning, match="could not be fetched"):
        data = fetch(n_retries=0)
    bad = {p for p in mirror.image_counts() if picked(p, 2)}
    assert bad and set(data.missing) == bad
    assert all("truncated" in r for r in data.missing.values())
    mirror.fault = lambda path, n: body if picked(path, 2) else None
    assert fetch().missing == {}  # the whole file is fetched and stored
    assert {p for p, n in mirror.image_counts().items() if n == 2} == bad
    assert_cache_clean(tmp_path / "data")


def test_quiet_fetch_logs_nothing(mirror, caplog):
    with caplog.at_level("DEBUG"):
        fetch(n_images=2)
    assert not [r for r in caplog.records if r.name == "pooch"]


def test_a_slow_drip_of_the_annotations_is_cut(mirror, tmp_path):
    mirror.fault = lambda path, n: "drip"
    with pytest.raises(ConnectionError, match=r"annotations.*did not finish within"):
        fetch(timeout=0.3, n_retries=0)
    assert not (tmp_path / "data" / "annotations.json").exists()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "BMP", "GIF"])
def test_truncated_bodies_are_never_stored_whatever_pillow_is_told(
    mirror, tmp_path, monkeypatch, fmt
):
    # With Pillow's global LOAD_TRUNCATED_IMAGES set (as many training
    # scripts do), Pillow decodes a cut PNG, TIFF, BMP or GIF without error.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    body = jpeg_bytes(64, 48, fmt=fmt)
    cut = body[: len(body) * 2 // 3]
    mirror.fault = lambda path, n: cut if picked(path, 2) else None
    with pytest.warns(UserWarning, match="could not be fetched"):
        data = fetch(n_retries=0)
    bad = {p for p in mirror.image_counts() if picked(p, 2)}
    assert bad and set(data.missing) == bad
    assert all("truncated" in r for r in data.missing.values())
    for p in bad:
        assert not (tmp_path / "data" / p).exists()
    # Nothing truncated was kept: the next call fetches exactly those again.
    mirror.fault = lambda path, n: None
    again = fetch()
    assert again.missing == {}
    assert {p for p, n in mirror.image_counts().items() if n == 2} == bad


def test_part_files_left_by_a_killed_run_are_removed(mirror, tmp_path):
    data = fetch()
    folder = Path(data.filenames[0]).parent
    stale = folder / ".000001.jpg.k1ll3d.part"  # as temporary_path names them
    stale.write_bytes(b"half an image")
    a_day_ago = time.time() - 24 * 3600
    os.utime(stale, (a_day_ago, a_day_ago))
    live = folder / ".000002.jpg.runn1n.part"  # maybe another run's, right now
    live.write_bytes(b"a download in progress")
    pooch_tmp = tmp_path / "data" / "tmpk1ll3d_0"  # pooch's, for the annotations
    pooch_tmp.write_bytes(b"half the annotations")
    os.utime(pooch_tmp, (a_day_ago, a_day_ago))
    fetch()
    assert not stale.exists() and not pooch_tmp.exists()
    assert live.exists()


def unwritable_folder(tmp_path):
    """An existing folder where files cannot be created (even by root)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        return folder
    (folder / "probe").unlink()  # root: permissions do not apply
    if os.path.isdir("/proc/self/fd"):
        return Path("/proc/self/fd")  # the kernel's: nobody creates files there
    pytest.skip("no folder here that this user cannot write to")


def test_an_unwritable_data_home_is_named(mirror, tmp_path):
    folder = unwritable_folder(tmp_path)
    with pytest.raises(PermissionError, match="Cannot write in data_home") as info:
        fetch(data_home=folder)
    assert str(folder) in str(info.value)
    assert "LITTERLEARN_DATA" in str(info.value)
    assert not mirror.counts  # checked before anything was downloaded


def test_a_read_only_data_home_that_holds_everything_works(mirror, tmp_path):
    data = fetch()
    root = tmp_path / "data"
    folders = [root, *(p for p in root.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        if os.access(root, os.W_OK):
            pytest.skip("permissions do not apply to this user (root)")
        before = Counter(mirror.counts)
        again = fetch()
        assert again.filenames.tolist() == data.filenames.tolist()
        assert mirror.counts == before
        with pytest.raises(PermissionError, match=str(root)):
            fetch(random_state=1)  # other images: they must be stored
    finally:
        for folder in folders:
            folder.chmod(0o755)


def test_images_that_cannot_be_stored_are_missing(mirror, tmp_path):
    names = [
        img["file_name"]
        for img in fetch(data_home=tmp_path / "a").annotations["images"]
    ]
    blocked = Path(names[0]).parent  # a file where this batch's folder goes
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / blocked).write_bytes(b"not a folder")
    with pytest.warns(UserWarning, match="could not be fetched"):
        data = fetch()
    lost = {n for n in names if Path(n).parent == blocked}
    assert set(data.missing) == lost
    assert all("could not be stored" in r for r in data.missing.values())
    assert len(data.filenames) == N - len(lost) > 0


def test_n_jobs_minus_one_uses_a_thread_per_core(mirror):
    mirror.delay = 0.3
    mirror.fault = lambda path, n: "slow" if path in FILE_NAMES else None
    fetch(n_jobs=-1)
    assert mirror.active_peak == min(cpu_count(), N)


@pytest.mark.parametrize(
    "param, value",
    [
        ("n_retries", -1),
        ("n_images", 1.5),
        ("n_images", True),
        ("timeout", 0),
        ("timeout", float("nan")),
        ("n_jobs", 0),
    ],
)
def test_bad_parameters_fail_before_any_download(mirror, param, value):
    with pytest.raises(ValueError, match=param):
        fetch(**{param: value})
    assert not mirror.counts


def test_annotations_not_found(mirror, tmp_path):
    mirror.fault = lambda path, n: "404"
    with pytest.raises(ConnectionError, match=r"annotations.*404.*load_taco_sample"):
        fetch(n_retries=0)
    assert not (tmp_path / "data" / "annotations.json").exists()


def test_wrong_annotations_hash(mirror, tmp_path):
    mirror.files["annotations.json"] = ANNOTATIONS_BYTES.replace(b"Bottle", b"Bottel")
    with pytest.raises(ValueError, match="not the pinned TACO annotations") as info:
        fetch(n_retries=0)
    assert _taco.TACO.registry["annotations.json"].split(":")[-1] in str(info.value)
    assert list((tmp_path / "data").rglob("*")) == []  # nothing stored


def test_images_are_normalised(mirror, tmp_path):
    """PNG named .jpg, a large original, an EXIF-rotated photo: stored upright."""
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    marked = np.zeros((40, 60, 3), np.uint8)
    marked[:, :30] = (255, 0, 0)  # red left half in the stored pixels
    buf = io.BytesIO()
    Image.fromarray(marked).save(buf, format="JPEG", exif=exif, quality=95)
    bodies = [
        jpeg_bytes(50, 70, fmt="PNG"),
        jpeg_bytes(1200, 900, quality=80),
        buf.getvalue(),
    ]
    assigned, lock = {}, threading.Lock()

    def fault(path, n):  # the first three images requested get these bodies
        if path not in FILE_NAMES:
            return None
        with lock:
            if path not in assigned and len(assigned) < len(bodies):
                assigned[path] = bodies[len(assigned)]
        return assigned.get(path)

    mirror.fault = fault
    data = fetch()
    assert data.missing == {}
    png, big, rotated = sorted(assigned, key=lambda p: bodies.index(assigned[p]))
    sizes = {
        Path(f).relative_to(tmp_path / "data").as_posix(): (w, h)
        for f, w, h in zip(data.filenames, data.width, data.height, strict=True)
    }
    root = tmp_path / "data"
    with Image.open(root / png) as img:
        assert img.format == "JPEG" and img.size == (50, 70) == sizes[png]
    with Image.open(root / big) as img:
        assert img.format == "JPEG" and img.size == (640, 480) == sizes[big]
    with Image.open(root / rotated) as img:
        assert img.format == "JPEG" and img.size == (40, 60) == sizes[rotated]
        assert img.getexif().get(0x0112, 1) == 1
        pixels = np.asarray(img.convert("RGB"), dtype=int)
    # Rotated clockwise, the red left half is now the top half.
    assert pixels[:25, :, 0].mean() > 200 and pixels[35:, :, 0].mean() < 50
    assert_cache_clean(root)


def test_offline_from_populated_data_home(mirror, monkeypatch, tmp_path):
    online = fetch()
    mirror.close()  # nothing can be downloaded any more
    monkeypatch.delenv("LITTERLEARN_TACO_URL")
    offline = fetch(download_if_missing=False)
    assert offline.filenames.tolist() == online.filenames.tolist()
    assert offline.image_ids.tolist() == online.image_ids.tolist()
    assert offline.categories == online.categories
    assert offline.missing == {}

    Path(online.filenames[0]).unlink()
    Path(online.filenames[1]).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="2 of 12"):
        partial = fetch(download_if_missing=False)
    name0, name1 = (
        Path(f).relative_to(tmp_path / "data") for f in online.filenames[:2]
    )
    assert "download_if_missing=False" in partial.missing[name0.as_posix()]
    assert "corrupt" in partial.missing[name1.as_posix()]
    assert len(partial.filenames) == N - 2


def test_offline_without_data_raises(tmp_path):
    with pytest.raises(OSError, match=r"not in .*download_if_missing=False"):
        fetch_taco(data_home=tmp_path, download_if_missing=False)
    (tmp_path / "annotations.json").write_text("{}")
    with pytest.raises(OSError, match="not the pinned TACO annotations"):
        fetch_taco(data_home=tmp_path, download_if_missing=False)
    (tmp_path / "annotations.json").write_bytes(ANNOTATIONS_BYTES)
    with pytest.raises(OSError, match="None of the 12 requested"):
        fetch(data_home=tmp_path, download_if_missing=False)


def test_corrupt_cached_image_is_fetched_again(mirror, tmp_path):
    data = fetch()
    victim = Path(data.filenames[3])
    victim.write_bytes(victim.read_bytes()[:100])
    name = victim.relative_to(tmp_path / "data").as_posix()
    fetch()
    assert mirror.counts[name] == 2
    assert_cache_clean(tmp_path / "data")


def test_populated_data_home_is_a_mirror(mirror, tmp_path, monkeypatch):
    source = fetch()
    static = TacoServer()  # serves the first data_home's files as they are
    try:
        root = Path(source.data_home)
        static.files = {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file()
        }
        copy = fetch(data_home=tmp_path / "copy", mirror=static.url)
    finally:
        static.close()
    assert copy.image_ids.tolist() == source.image_ids.tolist()
    for a, b in zip(source.filenames, copy.filenames, strict=True):
        assert Path(a).read_bytes() == Path(b).read_bytes()


def test_image_urls_without_mirror(server, monkeypatch, tmp_path):
    """Without a mirror: flickr_640_url where there is one, else flickr_url."""
    coco = json.loads(ANNOTATIONS_BYTES)
    for img in coco["images"]:
        for key in ("flickr_url", "flickr_640_url"):
            if img.get(key):
                img[key] = server.url + "remote/" + urlsplit(img[key]).path.lstrip("/")
    served = json.dumps(coco).encode()
    server.files["annotations.json"] = served
    for img in coco["images"]:
        for key in ("flickr_url", "flickr_640_url"):
            if img.get(key):
                path = unquote(urlsplit(img[key]).path).lstrip("/")
                server.files[path] = jpeg_bytes(30, 20)
    monkeypatch.delenv("LITTERLEARN_TACO_URL", raising=False)
    monkeypatch.setattr(_taco.TACO, "base_url", server.url)
    monkeypatch.setitem(
        _taco.TACO.registry,
        "annotations.json",
        "sha256:" + hashlib.sha256(served).hexdigest(),
    )
    data = fetch(data_home=tmp_path, n_images=40)
    assert data.missing == {}
    requested = {p for p in server.counts if p.startswith("remote/")}
    expected = set()
    for img in data.annotations["images"]:
        url = img["flickr_640_url"] or img["flickr_url"]
        expected.add(unquote(urlsplit(url).path).lstrip("/"))
    assert requested == expected
    # Both kinds occur in 40 of TACO's records.
    assert any(img["flickr_640_url"] is None for img in data.annotations["images"])
    assert any(img["flickr_640_url"] for img in data.annotations["images"])


def test_get_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LITTERLEARN_DATA", str(tmp_path / "env"))
    assert get_data_home() == str(tmp_path / "env")
    assert (tmp_path / "env").is_dir()
    assert get_data_home(tmp_path / "arg") == str(tmp_path / "arg")
    monkeypatch.delenv("LITTERLEARN_DATA")
    assert "litterlearn" in get_data_home()
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(OSError, match="Cannot create the data folder") as info:
        get_data_home(tmp_path / "a-file" / "data")
    assert str(tmp_path / "a-file" / "data") in str(info.value)
    assert "LITTERLEARN_DATA" in str(info.value)


# --------------------------------------------------------------------------
# load_taco_sample
# --------------------------------------------------------------------------


def test_sample_format_and_content(tmp_path):
    start = time.perf_counter()
    data = load_taco_sample(data_home=tmp_path)
    elapsed = time.perf_counter() - start
    assert len(data.filenames) == 300 and data.missing == {}
    assert "synthetic" in data.DESCR.lower() and "arXiv:2003.06975" in data.DESCR
    # The real TACO categories.
    assert data.annotations["categories"] == TACO["categories"]
    y = CocoBinaryLabeler("Bottle").fit_transform(data)
    assert 0.16 <= y.mean() <= 0.27, y.mean()  # TACO: 21.5%
    assert y.tolist() == [int("Bottle" in s) for s in data.supercategories]
    for path, w, h in zip(data.filenames[:50], data.width, data.height, strict=False):
        with Image.open(path) as img:
            assert img.format == "JPEG" and img.size == (w, h)
    assert set(zip(data.width.tolist(), data.height.tolist(), strict=True)) <= {
        (128, 96),
        (96, 128),
        (128, 128),
    }
    # Polygons lie in their image, and bboxes contain them.
    sizes = {
        img["id"]: (img["width"], img["height"]) for img in data.annotations["images"]
    }
    for ann in data.annotations["annotations"]:
        pts = np.asarray(ann["segmentation"][0]).reshape(-1, 2)
        w, h = sizes[ann["image_id"]]
        assert (pts >= 0).all() and (pts[:, 0] <= w).all() and (pts[:, 1] <= h).all()
        x, y0, bw, bh = ann["bbox"]
        assert x <= pts[:, 0].min() + 0.1 and x + bw >= pts[:, 0].max() - 0.1
        assert ann["area"] > 0
    # Cached: the second call reads it back.
    start2 = time.perf_counter()
    again = load_taco_sample(data_home=tmp_path)
    assert time.perf_counter() - start2 < elapsed
    assert again.filenames.tolist() == data.filenames.tolist()


def test_sample_is_deterministic_and_regenerated(tmp_path):
    a = load_taco_sample(data_home=tmp_path / "a", n_images=30)
    b = load_taco_sample(data_home=tmp_path / "b", n_images=30)
    prefix = load_taco_sample(data_home=tmp_path / "b", n_images=10)
    other = load_taco_sample(data_home=tmp_path / "b", n_images=10, random_state=1)
    for fa, fb in zip(a.filenames, b.filenames, strict=True):
        assert Path(fa).read_bytes() == Path(fb).read_bytes()
    assert a.annotations == b.annotations
    for fa, fp in zip(a.filenames[:10], prefix.filenames, strict=True):
        assert Path(fa).read_bytes() == Path(fp).read_bytes()
    assert (
        Path(other.filenames[0]).read_bytes() != Path(prefix.filenames[0]).read_bytes()
    )

    original = Path(a.filenames[5]).read_bytes()
    Path(a.filenames[5]).write_bytes(original[:200])  # corrupt
    Path(a.filenames[6]).unlink()  # missing
    again = load_taco_sample(data_home=tmp_path / "a", n_images=30)
    assert Path(again.filenames[5]).read_bytes() == original
    assert Path(again.filenames[6]).is_file()


def test_sample_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="n_images"):
        load_taco_sample(data_home=tmp_path, n_images=0)
    with pytest.raises(ValueError, match="random_state"):
        load_taco_sample(data_home=tmp_path, random_state=None)


def test_sample_default_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LITTERLEARN_DATA", str(tmp_path))
    data = load_taco_sample(n_images=5)
    assert data.data_home.startswith(str(tmp_path))
    assert all(os.path.isfile(f) for f in data.filenames)


# --------------------------------------------------------------------------
# train_val_test_split
# --------------------------------------------------------------------------


def test_split_default_80_10_10_stratified_and_seeded():
    y = np.array([1] * 322 + [0] * 1178)
    X = [f"img_{i}.jpg" for i in range(len(y))]  # a list of paths stays a list
    parts = train_val_test_split(X, y, stratify=y, random_state=0)
    X_train, X_val, X_test, y_train, y_val, y_test = parts
    assert isinstance(X_train, list)
    assert (len(X_train), len(X_val), len(X_test)) == (1200, 150, 150)
    assert sorted(X_train + X_val + X_test) == sorted(X)
    for part in (y_train, y_val, y_test):
        assert abs(part.mean() - y.mean()) < 0.01
    # Rows stay aligned with their labels.
    index = {x: i for i, x in enumerate(X)}
    assert all(y[index[x]] == t for x, t in zip(X_val, y_val, strict=True))
    again = train_val_test_split(X, y, stratify=y, random_state=0)
    assert again[1] == X_val
    other = train_val_test_split(X, y, stratify=y, random_state=1)
    assert other[1] != X_val


def test_split_sizes_and_errors():
    X = np.arange(60).reshape(30, 2)
    X_train, X_val, X_test = train_val_test_split(
        X, val_size=5, test_size=0.2, random_state=0
    )
    assert (len(X_train), len(X_val), len(X_test)) == (19, 5, 6)
    assert X_train.shape[1] == 2
    X_train, X_val, X_test = train_val_test_split(X, val_size=0, random_state=0)
    assert (len(X_train), len(X_val), len(X_test)) == (27, 0, 3)
    with pytest.raises(ValueError, match="leave no training"):
        train_val_test_split(X, val_size=15, test_size=15)
    with pytest.raises(ValueError, match="test_size"):
        train_val_test_split(X, test_size=1.5)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        train_val_test_split(X, np.arange(5))


@pytest.mark.parametrize(
    "url, message",
    [
        ("127.0.0.1:9/taco", "must be an http:// or https:// URL"),
        ("file:///srv/taco", "must be an http:// or https:// URL"),
        ("ftp://example.org/taco", "must be an http:// or https:// URL"),
        ("http://127.0.0.1:99999/", "is not a valid URL"),
        ("http://[::1", "is not a valid URL"),
        ("http://127.0.0.1:9/sub?token=abc", "must not have a query string"),
    ],
)
def test_a_malformed_mirror_url_is_named_before_any_work(url, message, tmp_path):
    with pytest.raises(_taco.MirrorURLError, match=message):
        fetch_taco(mirror=url, data_home=tmp_path / "data", progressbar=False)
    assert not (tmp_path / "data").exists()


def test_a_dangling_symlink_data_home_says_where_it_points(tmp_path):
    link = tmp_path / "data"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(FileNotFoundError, match=r"symbolic link to .*gone.*not exist"):
        get_data_home(link)
