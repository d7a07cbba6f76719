"""Loading `image_urls` as fal's runner would, with fal's typed 422 errors (PROTOCOL.md §9.2).

Data URIs and files stored on the fake are decoded. Any other http(s) URL is fetched only when the
user turned fetching on (with a timeout and a size limit); otherwise it becomes a placeholder
picture showing the URL, so nothing ever leaves the machine by default.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import io
import re
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, unquote_to_bytes

from falfake.errors import InvalidInput, NotFound
from falfake.hosts import FAL_HOSTS, is_loopback, split_url, unreachable_from_fal
from falfake.media.files import Files
from falfake.media.specs import ImageSource
from falfake.media.work import Work
from falfake.settings import ImageLimits

if TYPE_CHECKING:
    from PIL import Image

DOCS = "https://docs.fal.ai/errors#"
CDN_HOSTS = frozenset(host for host, service in FAL_HOSTS.items() if service == "cdn")
_DATA_URI = re.compile(r"data:(?P<type>[^,;]*)(?P<params>(?:;[^,;]*)*),(?P<data>.*)", re.DOTALL)

Fetch = Callable[[str, int], Awaitable[bytes]]


class ImageProblem(Exception):
    """Why one reference image cannot be used: fal's error `type`, `msg` and `ctx`."""

    def __init__(self, error_type: str, msg: str, ctx: dict[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.error_type, self.msg, self.ctx = error_type, msg, ctx

    def entry(self, loc: list[str | int], url: str) -> dict[str, Any]:
        """The `detail` entry, in fal's key order `loc, msg, type, url, ctx, input`."""
        entry: dict[str, Any] = {
            "loc": loc,
            "msg": self.msg,
            "type": self.error_type,
            "url": DOCS + self.error_type,
        }
        if self.ctx is not None:
            entry["ctx"] = self.ctx
        if not url.startswith("data:"):  # a data URI can be megabytes; fal often omits `input`
            entry["input"] = url
        return entry


DOWNLOAD_FAILED = "Failed to download the file. Please check if the URL is accessible."
LOAD_FAILED = (
    "Failed to load the image. Please ensure the image file is not corrupted and is in a"
    " supported format."
)


async def load_images(
    urls: Sequence[str],
    files: Files,
    limits: ImageLimits,
    work: Work,
    *,
    own_roots: Sequence[str] = (),
    fetch: Fetch | None = None,
    field: str = "image_urls",
    indexed: bool = True,
) -> tuple[ImageSource, ...]:
    """Every reference image, decoded and checked; `InvalidInput` listing each one that fails.

    Errors sit at `body.<field>.<index>`, or at `body.<field>` for a single-image field.
    """
    sources, entries = [], []
    for index, url in enumerate(urls):
        try:
            data = await _bytes_of(url, files, limits, own_roots, fetch)
            if data is None:
                digest = hashlib.sha256(url.encode()).hexdigest()
                sources.append(
                    ImageSource(digest=digest, label=f"reference image: {url}", index=index)
                )
                continue
            await work.run(functools.partial(check_image, data, limits))
        except ImageProblem as problem:
            entries.append(problem.entry(["body", field, *([index] if indexed else [])], url))
            continue
        digest = hashlib.sha256(data).hexdigest()
        sources.append(ImageSource(digest=digest, label=url[:200], index=index, data=data))
    if entries:
        raise InvalidInput(entries)
    return tuple(sources)


async def _bytes_of(
    url: str, files: Files, limits: ImageLimits, own_roots: Sequence[str], fetch: Fetch | None
) -> bytes | None:
    """The bytes behind `url`, or None for a remote URL the fake may not fetch."""
    if url.startswith("data:"):
        data = data_uri_bytes(url)
    else:
        split = split_url(url)
        if split is None:  # nobody can download from a URL that cannot be read
            raise ImageProblem("file_download_error", DOWNLOAD_FAILED)
        own = own_path(url, *split, own_roots)
        if own is not None:
            try:
                data = (await files.read(own)).data
            except NotFound:
                raise ImageProblem("file_download_error", DOWNLOAD_FAILED) from None
        elif not _fetchable(*split, local_too=fetch is not None):
            # fal's servers cannot download from a local address; with --fetch-images the user
            # asked the fake to fetch, and a local test server is what it usually fetches from.
            raise ImageProblem("file_download_error", DOWNLOAD_FAILED)
        elif fetch is None:
            return None
        else:
            data = await fetch(url, limits.max_bytes)
    if len(data) > limits.max_bytes:
        raise file_too_large(limits.max_bytes)
    return data


def _fetchable(parts: SplitResult, host: str, *, local_too: bool) -> bool:
    if parts.scheme not in ("http", "https") or not host:
        return False
    return local_too or not unreachable_from_fal(host)


def file_too_large(max_bytes: int) -> ImageProblem:
    return ImageProblem(
        "file_too_large",
        f"File size exceeds the maximum allowed size of {max_bytes} bytes.",
        {"max_size": max_bytes},
    )


def data_uri_bytes(url: str) -> bytes:
    """The payload of a `data:` URI (base64 or percent-encoded)."""
    match = _DATA_URI.fullmatch(url)
    if match is None:
        raise ImageProblem("image_load_error", LOAD_FAILED)
    if ";base64" in match["params"].lower():
        try:
            return base64.b64decode(match["data"], validate=True)
        except (binascii.Error, ValueError):
            raise ImageProblem("image_load_error", LOAD_FAILED) from None
    return unquote_to_bytes(match["data"])


def own_path(url: str, parts: SplitResult, host: str, own_roots: Sequence[str]) -> str | None:
    """The file-store path when `url` (split into `parts` and `host`) is a file this fake serves
    (at any of its addresses)."""
    for prefix in ("/files/", "/cdn/files/"):
        if parts.path.startswith(prefix) and (
            host in CDN_HOSTS or is_loopback(host) or _under(url, own_roots)
        ):
            return parts.path[len(prefix) :]
    return None


def _under(url: str, roots: Sequence[str]) -> bool:
    return any(url.startswith(root.rstrip("/") + "/") for root in roots)


def check_image(data: bytes, limits: ImageLimits) -> None:
    """Raise the `ImageProblem` fal would report for these bytes; return if they are fine."""
    from PIL import Image, UnidentifiedImageError  # on first use: Pillow is a heavy import

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                _check_format_and_size(image, limits)
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(limits) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageProblem("image_load_error", LOAD_FAILED) from None


def _check_format_and_size(image: Image.Image, limits: ImageLimits) -> None:
    if image.format not in limits.formats:
        supported = ", ".join(limits.formats)
        raise ImageProblem(
            "unsupported_image_format",
            f"The image format is not supported. Supported formats are: {supported}.",
            {"supported_formats": list(limits.formats)},
        )
    width, height = image.size
    if min(width, height) < limits.min_side:
        raise ImageProblem(
            "image_too_small",
            f"Image dimensions are too small. Minimum dimensions are {limits.min_side}x"
            f"{limits.min_side} pixels.",
            {"min_width": limits.min_side, "min_height": limits.min_side},
        )
    if max(width, height) > limits.max_side:
        raise _too_large(limits)


def _too_large(limits: ImageLimits) -> ImageProblem:
    return ImageProblem(
        "image_too_large",
        f"Image dimensions exceed the maximum allowed. Maximum dimensions are {limits.max_side}x"
        f"{limits.max_side} pixels.",
        {"max_width": limits.max_side, "max_height": limits.max_side},
    )


def http_fetch(timeout_seconds: float) -> Fetch:
    """Fetching of remote images, for users who turn it on: bounded in time and size."""

    async def fetch(url: str, max_bytes: int) -> bytes:
        import httpx  # on first use: fetching is off by default

        chunks, size = [], 0
        try:
            async with (
                httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=True) as client,
                client.stream("GET", url) as response,
            ):
                if not response.is_success:
                    raise ImageProblem("file_download_error", DOWNLOAD_FAILED)
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise file_too_large(max_bytes)
                    chunks.append(chunk)
        except httpx.HTTPError:
            raise ImageProblem("file_download_error", DOWNLOAD_FAILED) from None
        return b"".join(chunks)

    return fetch
