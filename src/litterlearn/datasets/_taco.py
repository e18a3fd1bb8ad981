"""fetch_taco: TACO's annotations and images through pooch, resumable and parallel."""

from __future__ import annotations

import copy
import errno
import logging
import math
import numbers
import os
import re
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from importlib import resources
from pathlib import Path
from urllib.parse import quote, urlsplit

import numpy as np
import pooch
from joblib import effective_n_jobs
from sklearn.utils import check_random_state

from ._base import (
    CorruptImageError,
    check_stored_image,
    get_data_home,
    make_bunch,
    store_image,
    temporary_path,
)
from ._coco import index_coco, load_coco

#: Environment variable naming a mirror base URL.
MIRROR_ENV = "LITTERLEARN_TACO_URL"
TACO_COMMIT = "508da019a19be9ebcdacf164e2152444e57cd12c"
ANNOTATIONS = "annotations.json"

# The annotations come from the TACO repository at a pinned commit; their
# sha256 is in the packaged registry.txt.
TACO = pooch.create(
    path=pooch.os_cache("litterlearn"),
    base_url=f"https://raw.githubusercontent.com/pedropro/TACO/{TACO_COMMIT}/data/",
    env="LITTERLEARN_DATA",
    retry_if_failed=3,
)
with resources.files(__package__).joinpath("registry.txt").open() as _registry:
    TACO.load_registry(_registry)

#: Each download attempt of one file must end within this many times
#: ``timeout`` (``timeout`` alone bounds each wait for the server, not a
#: whole transfer: a server that drips a byte per second would otherwise
#: hold a download for ever).
DEADLINE_FACTOR = 4
# A temporary ``.part`` file untouched for this long (seconds) is left over
# from a killed run (a live download writes at least every ``timeout``):
# the next call removes it.
_STALE_PART_AGE = 600.0
_CHUNK = 64 * 1024
#: Largest file, in bytes, that fetch_taco downloads (64 MiB): the ceiling of
#: a download whose size the server does not announce, or whose body is
#: compressed (``Content-Encoding``), counted in decoded bytes. TACO's
#: largest originals are about 15 MB and its annotations 3 MB.
MAX_DOWNLOAD_BYTES = 64 * 2**20

# HTTP statuses worth retrying (server trouble, rate limits); the others
# (404, 403, ...) will not change by asking again.
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}

_HELP = (
    f"If this machine has no internet access, point the {MIRROR_ENV} environment "
    "variable (or mirror=) at a TACO mirror: an HTTP directory with "
    "annotations.json at its root and each image under its file_name (a "
    "populated data_home served as static files is one). For an offline "
    "synthetic sample in the same format, use load_taco_sample()."
)

DESCR = """\
.. _taco_dataset:

TACO: Trash Annotations in Context
----------------------------------

Photos of litter in the wild (streets, beaches, woods, indoors) with COCO
annotations: 1500 images, 4784 annotated objects in 60 categories grouped in
28 supercategories, plus 7 scene (background) categories. About 21% of the
images contain a bottle (supercategory "Bottle").

litterlearn downloads the annotation file pinned at TACO commit
508da019a19be9ebcdacf164e2152444e57cd12c (checked against its sha256) and
each image from its record (Flickr's 640 px version where there is one, else
the original). Images are stored upright (EXIF orientation applied) as JPEGs
at most 640 px on their long side; ``width``/``height`` in the Bunch are the
stored sizes, while the polygons and boxes in ``annotations`` keep the
coordinates of the original images (whose sizes are in the image records).

:Images: 1500 (or the subset requested)
:Categories: 60 in 28 supercategories
:Source: http://tacodataset.org, https://github.com/pedropro/TACO

Licences: the TACO repository (code and annotation tooling) is MIT-licensed.
Images keep their authors' licences, given per image in the ``license`` field
of the image records where known (e.g. "ODBL (c) OpenLitterMap &
Contributors" for the images from OpenLitterMap); see the TACO repository
for the terms of the others before redistributing them.

Please cite:

    Pedro F. Proença and Pedro Simões. "TACO: Trash Annotations in Context
    for Litter Detection". arXiv:2003.06975, 2020.
"""


class MirrorURLError(ValueError):
    """The mirror's URL (``mirror=`` or ``LITTERLEARN_TACO_URL``) is malformed."""


class DownloadTooLargeError(ValueError):
    """A server sent (or announced) more bytes than a download may hold."""


class _DeadlineDownloader:
    """A pooch downloader that streams with requests within a deadline.

    ``timeout`` bounds the connection and each wait for data (as requests
    does); the whole transfer must also end within ``DEADLINE_FACTOR *
    timeout`` seconds, checked each time data arrives (reads return as soon
    as some bytes are there, so a slow drip cannot stretch one read).
    """

    def __init__(self, timeout, *, progressbar=False, max_bytes=MAX_DOWNLOAD_BYTES):
        self.timeout = timeout
        self.progressbar = progressbar
        self.max_bytes = max_bytes

    @property
    def deadline(self):
        return DEADLINE_FACTOR * self.timeout

    def __call__(self, url, output_file, pooch_obj=None, check_only=False):
        import requests

        if check_only:  # pooch asks whether the file exists on the server
            with requests.head(url, timeout=self.timeout, allow_redirects=True) as r:
                return r.status_code == 200
        end = time.monotonic() + self.deadline
        with requests.get(url, stream=True, timeout=self.timeout) as response:
            response.raise_for_status()
            total = int(response.headers.get("content-length") or 0) or None
            limit = self._size_limit(url, response, total)
            read = _reader(response)
            written = 0
            bar = None
            if self.progressbar:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, leave=True)
            try:
                with open(output_file, "wb") as out:
                    while True:
                        if time.monotonic() > end:
                            raise requests.Timeout(
                                f"the download of {url} did not finish within "
                                f"{self.deadline:g} s ({DEADLINE_FACTOR} x "
                                f"timeout={self.timeout:g} s); pass a larger "
                                "timeout for slow connections"
                            )
                        data = read(_CHUNK)
                        if not data:
                            break
                        written += len(data)
                        if written > limit:  # nothing over the limit is written
                            raise DownloadTooLargeError(
                                f"{url} sent more than {limit} bytes"
                                + (
                                    f" (decoded from its {encoding_of(response)} "
                                    "encoding)"
                                    if encoding_of(response)
                                    else ""
                                )
                                + ", the most this download may hold; not stored"
                            )
                        out.write(data)
                        if bar is not None:
                            bar.update(len(data))
            finally:
                if bar is not None:
                    bar.close()
        return None

    def _size_limit(self, url, response, total):
        """The most bytes this body may hold.

        Content-Length where the body is sent as is (and at most
        ``max_bytes``); ``max_bytes`` of decoded data where it is not
        announced or compressed (a small gzip body may decode to gigabytes).
        """
        if total is not None and not encoding_of(response):
            if total > self.max_bytes:
                raise DownloadTooLargeError(
                    f"{url} announces {total} bytes (Content-Length), more than "
                    f"the {self.max_bytes} bytes a download may hold; not stored"
                )
            return total
        return self.max_bytes


def encoding_of(response):
    """The body's Content-Encoding ("" when sent as is)."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    return "" if encoding == "identity" else encoding


def _reader(response):
    """``read(n)``: the body's next bytes as soon as there are some.

    urllib3's errors become requests' own, as ``iter_content`` does.
    """
    import requests
    from urllib3 import exceptions as urllib3_errors

    raw = response.raw
    if not hasattr(raw, "read1"):  # urllib3 < 2: small fixed-size reads
        chunks = response.iter_content(chunk_size=1024)
        return lambda n: next(chunks, b"")

    def read(n):
        try:
            return raw.read1(n, decode_content=True)
        except urllib3_errors.ReadTimeoutError as exc:
            raise requests.ReadTimeout(exc) from exc
        except urllib3_errors.ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        except urllib3_errors.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        except urllib3_errors.HTTPError as exc:
            raise requests.ConnectionError(exc) from exc

    return read


def _check_parameters(n_images, timeout, n_retries, n_jobs):
    """Fail on a bad parameter before anything is downloaded."""
    if n_images is not None and (
        not isinstance(n_images, numbers.Integral) or isinstance(n_images, bool)
    ):
        raise ValueError(f"n_images must be a positive int or None; got {n_images!r}.")
    if (
        not isinstance(n_retries, numbers.Integral)
        or isinstance(n_retries, bool)
        or (n_retries < 0)
    ):
        raise ValueError(f"n_retries must be an int >= 0; got {n_retries!r}.")
    if (
        not isinstance(timeout, numbers.Real)
        or isinstance(timeout, bool)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ValueError(
            f"timeout must be a positive number of seconds; got {timeout!r}."
        )
    if (
        not isinstance(n_jobs, numbers.Integral)
        or isinstance(n_jobs, bool)
        or n_jobs == 0
    ):
        raise ValueError(
            f"n_jobs must be a positive int, or -1 for one thread per core; "
            f"got {n_jobs!r}."
        )


def _check_writable(root):
    """Raise an error naming ``root`` if files cannot be created in it."""
    try:
        fd, probe = tempfile.mkstemp(dir=root, prefix=".write-test.", suffix=".part")
    except OSError as exc:
        raise PermissionError(
            exc.errno or errno.EACCES,
            f"Cannot write in data_home {str(root)!r} ({exc.strerror or exc}); "
            "fetch_taco stores its downloads there. Pass data_home= (or set "
            "LITTERLEARN_DATA) to a writable folder, or use "
            "download_if_missing=False to read only what it holds",
            str(root),
        ) from exc
    os.close(fd)
    os.unlink(probe)


def _remove_stale_parts(root):
    """Remove the temporary files that a killed run left behind.

    Ours are ``.{name}.{random}.part`` next to their image; pooch's (the
    annotations) are ``tmp{8 random characters}`` at the root.
    """
    now = time.time()
    pooch_temporaries = (
        p for p in root.glob("tmp*") if re.fullmatch(r"tmp[a-z0-9_]{8}", p.name)
    )
    for part in (*root.rglob(".*.part"), *pooch_temporaries):
        try:
            if now - part.stat().st_mtime > _STALE_PART_AGE:
                part.unlink()
        except OSError:  # gone meanwhile, or not ours to remove
            pass


def _mirror_url(mirror):
    """The mirror's base URL ending with "/", or None; a clear error if malformed."""
    from_env = not mirror
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    if mirror is None:
        return None
    name = f"the {MIRROR_ENV} environment variable" if from_env else "mirror"
    try:
        parts = urlsplit(mirror)
        parts.port  # noqa: B018 (raises for a port out of range)
    except ValueError as exc:
        raise MirrorURLError(
            f"{name} is not a valid URL ({exc}); got {mirror!r}."
        ) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MirrorURLError(
            f"{name} must be an http:// or https:// URL with a host, such as "
            f"'http://127.0.0.1:8000/taco/'; got {mirror!r}."
        )
    if parts.query or parts.fragment:
        raise MirrorURLError(
            f"{name} must not have a query string or fragment (file names are "
            f"appended to its path); got {mirror!r}."
        )
    if not mirror.endswith("/"):
        mirror += "/"
    return mirror


def _fetch_annotations(
    root, mirror, *, download_if_missing, timeout, n_retries, progressbar
):
    path = root / ANNOTATIONS
    known_hash = TACO.registry[ANNOTATIONS]
    expected = known_hash.split(":")[-1]
    if not download_if_missing:
        if not path.is_file():
            raise OSError(
                f"The TACO annotations are not in {root} and "
                "download_if_missing=False. Run fetch_taco() once where the "
                f"internet (or a mirror, {MIRROR_ENV}) is reachable, or use "
                "load_taco_sample() for an offline synthetic sample."
            )
        if pooch.file_hash(str(path)) != expected:
            raise OSError(
                f"{path} is not the pinned TACO annotations file (its sha256 "
                f"differs from {expected}); call fetch_taco() with "
                "download_if_missing=True to fetch it again."
            )
        return path

    fetcher = copy.copy(TACO)
    fetcher.path = root
    fetcher.base_url = mirror or TACO.base_url
    fetcher.retry_if_failed = n_retries
    url = fetcher.get_url(ANNOTATIONS)
    downloader = _DeadlineDownloader(timeout, progressbar=progressbar)
    import requests

    logger = pooch.get_logger()
    level = logger.level
    if not progressbar:  # quiet means quiet: no "Downloading file ..." line
        logger.setLevel(max(level, logging.WARNING))
    try:
        return Path(fetcher.fetch(ANNOTATIONS, downloader=downloader))
    except requests.RequestException as exc:
        raise ConnectionError(
            f"Could not download the TACO annotations from {url}: {exc}. {_HELP}"
        ) from exc
    except DownloadTooLargeError as exc:
        raise DownloadTooLargeError(
            f"Could not download the TACO annotations: {exc}. Check that the "
            "mirror serves TACO's data/annotations.json."
        ) from exc
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise
        raise ValueError(
            f"The file served at {url} is not the pinned TACO annotations file "
            f"(expected sha256 {expected}): {exc} Check that the mirror serves "
            "TACO's data/annotations.json of commit "
            f"{TACO_COMMIT}; nothing was stored."
        ) from exc
    finally:
        logger.setLevel(level)


class _ImageFailure(Exception):
    def __init__(self, reason, network=False):
        super().__init__(reason)
        self.reason = reason
        self.network = network


def _download_image(url, target, *, timeout, n_retries):
    """Download ``url``, store it at ``target``; return the stored size."""
    import requests

    downloader = _DeadlineDownloader(timeout)
    failure = None
    for attempt in range(n_retries + 1):
        if attempt:
            time.sleep(min(0.5 * attempt, 5.0))
        try:
            with temporary_path(target) as tmp:
                downloader(url, tmp)
                try:
                    return store_image(tmp, target)
                except CorruptImageError as exc:
                    # Name the image, not the temporary file it was read from.
                    raise CorruptImageError(str(exc).replace(tmp, target.name)) from exc
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            failure = _ImageFailure(f"HTTP error {status} for {url}")
            if status not in _RETRY_STATUS:
                break
        except requests.RequestException as exc:
            failure = _ImageFailure(f"{type(exc).__name__} for {url}: {exc}", True)
        except DownloadTooLargeError as exc:  # it would be too large again
            failure = _ImageFailure(str(exc))
            break
        except CorruptImageError as exc:
            failure = _ImageFailure(f"{url} did not send a valid image: {exc}")
        except OSError as exc:  # the disk, not the network: do not retry
            raise _ImageFailure(
                f"could not be stored in {str(target.parent)!r}: {exc}"
            ) from exc
    raise failure


def _get_image(record, root, mirror, *, download_if_missing, timeout, n_retries):
    """Make sure one image is in ``root``; return its stored size."""
    name = record["file_name"]
    target = root / name
    if target.is_file():
        try:
            return check_stored_image(target)
        except CorruptImageError:
            pass
        try:  # an image that decodes but is not stored our way: store it again
            return store_image(target, target)
        except CorruptImageError as exc:
            if not download_if_missing:
                raise _ImageFailure(f"corrupt in data_home: {exc}") from exc
        except OSError as exc:
            raise _ImageFailure(
                f"could not be stored in {str(target.parent)!r}: {exc}"
            ) from exc
    elif not download_if_missing:
        raise _ImageFailure("not in data_home and download_if_missing=False")
    if mirror is not None:
        url = mirror + quote(name)
    else:
        url = record.get("flickr_640_url") or record.get("flickr_url")
        if not url:
            raise _ImageFailure("the image record has no URL")
    return _download_image(url, target, timeout=timeout, n_retries=n_retries)


def fetch_taco(
    *,
    data_home=None,
    download_if_missing=True,
    n_images=None,
    random_state=None,
    mirror=None,
    n_jobs=8,
    timeout=30.0,
    n_retries=3,
    progressbar=True,
):
    """Load the TACO litter dataset, downloading what is missing.

    The annotations come from a pinned URL and are checked against their
    sha256; the images come from each record's URL (Flickr's 640 px version
    where there is one, else the original), are decoded by content, turned
    upright following their EXIF orientation, downscaled once to at most
    640 px on the long side and stored as JPEG under ``data_home`` at their
    record's ``file_name``. Valid files already there are not fetched again,
    so an interrupted call resumes where it stopped.

    With the environment variable ``LITTERLEARN_TACO_URL`` (or ``mirror``)
    set, every file comes from that mirror instead: an HTTP directory with
    ``annotations.json`` at its root and each image under its ``file_name``.
    A populated ``data_home`` served as static files is a valid mirror.

    Read more in the DESCR of the returned Bunch.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder for the data; see :func:`get_data_home` (``LITTERLEARN_DATA``).
    download_if_missing : bool, default=True
        If False, use only what ``data_home`` holds (fully offline), raise
        ``OSError`` if the annotations are not there, and list absent images
        in ``missing``.
    n_images : int, default=None
        Fetch only this many images, drawn at random (see ``random_state``);
        None fetches all 1500.
    random_state : int, RandomState instance or None, default=None
        Chooses the subset when ``n_images`` is given.
    mirror : str, default=None
        Base URL of a mirror; overrides ``LITTERLEARN_TACO_URL``.
    n_jobs : int, default=8
        Number of images downloaded in parallel (threads); -1 means one per
        CPU core (scikit-learn's convention).
    timeout : float, default=30.0
        Seconds to wait for the server to connect or to send data. It also
        sets an overall deadline: each download attempt of one file (the
        annotations or an image) must end within ``4 * timeout`` seconds,
        or it fails as a timeout (and is retried). Raise it for slow links.
        Each file is also bounded in size: at most its Content-Length when
        the server announces one for a body sent as is, else at most
        ``MAX_DOWNLOAD_BYTES`` (64 MiB) of decoded data (a compressed body
        is counted once decoded). A larger image is listed in ``missing``
        with the reason, and nothing of it is stored.
    n_retries : int, default=3
        Retries after a failed transfer (connection errors, timeouts, server
        errors, corrupt or truncated bodies); not after 404 and other client
        errors, nor after a body that is too large.
    progressbar : bool, default=True
        Show tqdm progress bars.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        filenames : ndarray of str, shape (n_images,)
            Absolute paths of the stored images, aligned with ``image_ids``.
        image_ids : ndarray of int, shape (n_images,)
            COCO ids of the images.
        annotations : dict
            The COCO annotations restricted to these images, in the same
            order (so ``CocoBinaryLabeler("Bottle").fit_transform(
            data.annotations)`` is aligned with ``filenames``).
        categories, supercategories : list of frozenset of str
            Names of the (super)categories annotated in each image.
        width, height : ndarray of int
            Size of each stored image.
        missing : dict
            ``file_name -> reason`` for the requested images that could not
            be fetched (empty when all arrived).
        data_home : str
            The folder the files are in.
        DESCR : str
            Description of the dataset, its licences and citation.

    Raises
    ------
    ConnectionError
        If the annotations cannot be downloaded, or no image could be
        because of network errors. The message says what to do.
    ValueError
        If the annotations served do not match the pinned sha256, or the
        mirror URL is malformed (not http(s), no host, a query string).
    OSError
        If ``download_if_missing=False`` and ``data_home`` holds no data.
    PermissionError
        If something must be downloaded and ``data_home`` is not writable
        (the message names the folder). A read-only ``data_home`` that holds
        everything requested works.

    Warns
    -----
    UserWarning
        When some images could not be fetched (they are in ``missing``).

    See Also
    --------
    load_taco_sample : An offline synthetic sample in the same format.
    litterlearn.preprocessing.CocoBinaryLabeler : Binary labels from annotations.

    Examples
    --------
    >>> from litterlearn.datasets import fetch_taco
    >>> from litterlearn.preprocessing import CocoBinaryLabeler
    >>> taco = fetch_taco(n_images=100, random_state=0)  # doctest: +SKIP
    >>> y = CocoBinaryLabeler("Bottle").fit_transform(taco.annotations)  # doctest: +SKIP
    """
    _check_parameters(n_images, timeout, n_retries, n_jobs)
    mirror = _mirror_url(mirror)
    root = Path(get_data_home(data_home))
    if download_if_missing:
        if not (root / ANNOTATIONS).is_file():
            _check_writable(root)
        _remove_stale_parts(root)
    path = _fetch_annotations(
        root,
        mirror,
        download_if_missing=download_if_missing,
        timeout=timeout,
        n_retries=n_retries,
        progressbar=progressbar,
    )
    coco, _ = load_coco(path)
    index_coco(coco)  # validates before anything is downloaded
    records = coco["images"]
    positions = np.arange(len(records))
    if n_images is not None:
        if not 0 < n_images <= len(records):
            raise ValueError(
                f"n_images must be in [1, {len(records)}] or None, got {n_images!r}."
            )
        rng = check_random_state(random_state)
        positions = np.sort(rng.choice(len(records), size=n_images, replace=False))
    if download_if_missing and any(
        not (root / records[pos]["file_name"]).is_file() for pos in positions
    ):
        _check_writable(root)

    present, missing, network = _get_images(
        records,
        positions,
        root,
        mirror,
        download_if_missing=download_if_missing,
        timeout=timeout,
        n_retries=n_retries,
        n_jobs=n_jobs,
        progressbar=progressbar,
    )
    if missing:
        first = next(iter(missing.items()))
        if not present and not download_if_missing:
            raise OSError(
                f"None of the {len(missing)} requested TACO images is in {root} "
                "and download_if_missing=False. Run fetch_taco() where the "
                f"internet (or a mirror, {MIRROR_ENV}) is reachable, or use "
                "load_taco_sample() for an offline synthetic sample."
            )
        if not present and network:
            raise ConnectionError(
                f"Could not download any of the {len(missing)} TACO images "
                f"(e.g. {first[0]}: {first[1]}). {_HELP}"
            )
        warnings.warn(
            f"{len(missing)} of {len(positions)} TACO images could not be "
            f"fetched and are listed in Bunch.missing (e.g. {first[0]}: "
            f"{first[1]}). Calling fetch_taco() again fetches only those.",
            UserWarning,
            stacklevel=2,
        )
    return make_bunch(coco, root, present, missing, DESCR)


def _get_images(
    records,
    positions,
    root,
    mirror,
    *,
    download_if_missing,
    timeout,
    n_retries,
    n_jobs,
    progressbar,
):
    from tqdm import tqdm

    present, failures = {}, {}
    with (
        ThreadPoolExecutor(max_workers=effective_n_jobs(n_jobs)) as pool,
        tqdm(
            total=len(positions),
            desc="TACO images",
            unit="img",
            disable=not progressbar,
        ) as bar,
    ):
        futures = {
            pool.submit(
                _get_image,
                records[pos],
                root,
                mirror,
                download_if_missing=download_if_missing,
                timeout=timeout,
                n_retries=n_retries,
            ): int(pos)
            for pos in positions
        }
        try:
            for future in as_completed(futures):
                pos = futures[future]
                try:
                    present[pos] = future.result()
                except _ImageFailure as exc:
                    failures[pos] = exc
                bar.update()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    missing = {
        records[pos]["file_name"]: failures[pos].reason for pos in sorted(failures)
    }
    network = any(f.network for f in failures.values())
    return present, missing, network
