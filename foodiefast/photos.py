"""Photos: uploads straight to object storage, then the worker's pipeline.

1. A chef asks for an upload (:func:`photo_upload_start`): a presigned POST to the
   bucket (S3 API, through django-storages), valid 15 minutes, for one content type
   and 1 to ``size_bytes`` bytes. The bytes never pass through the web process. With
   no bucket configured, the same form is posted to the app itself
   (:func:`local_upload`, outside ``/api/``), signed with the secret key and checked
   there, and the files live under ``MEDIA_ROOT``.
2. The chef gives the upload's id to a kitchen or a dish; its service claims it
   (:func:`photo_attach`: the chef's own, unexpired, unused) and queues the app's
   task after commit; ``photo_status`` is ``processing``.
3. The worker (:func:`photo_process`) downloads the original, checks its size and
   type again (object storage does not always enforce the policy), decodes it with
   Pillow (refusing decompression bombs and anything that is not a JPEG, PNG or WebP
   image), applies the EXIF orientation, drops every piece of metadata (EXIF, GPS,
   ICC, comments), writes a large size and a thumbnail (WebP), deletes the original
   and publishes them; or rejects it with a reason, keeping the previous photo.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import logging
import math
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import Task
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.static import serve
from PIL import Image, ImageOps, UnidentifiedImageError

from foodiefast.errors import InvalidInput
from foodiefast.models import PhotoStatus, PhotoUpload, WithPhoto
from foodiefast.tasks import delay_after_commit

logger = logging.getLogger("foodiefast.photos")

# What a chef may upload: content type -> the format Pillow must find in the bytes.
ACCEPTED_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
UPLOAD_VALID_FOR = dt.timedelta(minutes=15)
# The sizes written (longest side, pixels) and their WebP quality.
LARGE_SIDE = 1600
THUMB_SIDE = 400
QUALITY = 80
OUTPUT_CONTENT_TYPE = "image/webp"
# A photo still processing after this long had its task lost: beat queues it again.
STALLED_AFTER = dt.timedelta(minutes=5)
STALLED_BATCH = 100
# Used uploads are remembered this long (an id is refused as used, not as unknown).
UPLOADS_KEPT_FOR = dt.timedelta(days=7)

_SIGNING_SALT = "foodiefast.photos.local-upload"

UNUSABLE_UPLOAD = gettext_lazy("Unknown or expired upload; ask for a new one.")


class PhotoRejected(Exception):
    """The upload is not a usable photo; ``str(exc)`` says why, for the chef."""


@dataclass(frozen=True)
class PresignedPost:
    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: dt.datetime


# ---------------------------------------------------------------------------
# Storage: S3 (django-storages) when a bucket is configured, else the file system
# ---------------------------------------------------------------------------


def is_local_storage() -> bool:
    """No bucket configured: files under ``MEDIA_ROOT``, served and received by the app."""
    return isinstance(default_storage, FileSystemStorage)


def _s3_client():
    return default_storage.connection.meta.client


def _encode_policy(policy: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(policy, separators=(",", ":")).encode()).decode()


def _policy_signature(policy: str) -> str:
    return salted_hmac(_SIGNING_SALT, policy, algorithm="sha256").hexdigest()


def _presign(upload: PhotoUpload, *, local_url: str) -> PresignedPost:
    conditions: list[Any] = [{"Content-Type": upload.content_type}, ["content-length-range", 1, upload.size_bytes]]
    if is_local_storage():
        policy = _encode_policy(
            {
                "expiration": upload.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "conditions": [{"key": upload.key}, *conditions],
            }
        )
        fields = {
            "key": upload.key,
            "Content-Type": upload.content_type,
            "policy": policy,
            "signature": _policy_signature(policy),
        }
        return PresignedPost(str(upload.pk), local_url, fields, upload.expires_at)
    seconds = max(1, int((upload.expires_at - timezone.now()).total_seconds()))
    post = _s3_client().generate_presigned_post(
        Bucket=default_storage.bucket_name,
        Key=upload.key,
        Fields={"Content-Type": upload.content_type},
        Conditions=conditions,
        ExpiresIn=seconds,
    )
    return PresignedPost(str(upload.pk), post["url"], dict(post["fields"]), upload.expires_at)


def photo_upload_start(*, owner, content_type: str, size_bytes: int, local_url: str) -> PresignedPost:
    """Allow ``owner`` to upload one photo of ``content_type`` and at most
    ``size_bytes`` bytes for :data:`UPLOAD_VALID_FOR`: a presigned POST (``url`` and
    form ``fields``; the file goes last, as ``file``). ``local_url`` is where the app
    itself takes the form when no bucket is configured. Raises ``InvalidInput`` for
    another type or size."""
    fields: dict[str, list[str]] = {}
    if content_type not in ACCEPTED_TYPES:
        fields["content_type"] = [_("Send a JPEG, PNG or WebP photo.")]
    if not (isinstance(size_bytes, int) and 1 <= size_bytes <= MAX_UPLOAD_BYTES):
        fields["size_bytes"] = [_("A photo has 1 to %(max)d bytes.") % {"max": MAX_UPLOAD_BYTES}]
    if fields:
        name, messages = next(iter(fields.items()))
        raise InvalidInput(f"{name}: {messages[0]}", fields=fields)
    now = timezone.now()
    upload = PhotoUpload.objects.create(
        owner=owner, content_type=content_type, size_bytes=size_bytes, created_at=now, expires_at=now + UPLOAD_VALID_FOR
    )
    return _presign(upload, local_url=local_url)


def photo_upload_store(*, owner, file) -> PhotoUpload:
    """An upload whose bytes came through the admin's form (a browser posts a
    multipart form anyway): stored where a presigned POST would have put them, then
    attached and processed like any other."""
    content_type = getattr(file, "content_type", "") or ""
    upload = PhotoUpload.objects.create(
        owner=owner,
        content_type=content_type[:20],
        size_bytes=max(1, min(file.size, MAX_UPLOAD_BYTES)),
        expires_at=timezone.now() + UPLOAD_VALID_FOR,
    )
    _save(upload.key, file.read(), content_type or "application/octet-stream")
    return upload


def _save(key: str, data: bytes, content_type: str) -> None:
    """Write ``data`` at exactly ``key`` (replacing what is there)."""
    if default_storage.exists(key):
        default_storage.delete(key)
    content = ContentFile(data)
    content.content_type = content_type
    saved = default_storage.save(key, content)
    if saved != key:  # pragma: no cover - both storages keep the name once it is free
        raise RuntimeError(f"stored as {saved}, not {key}")


# ---------------------------------------------------------------------------
# Attaching an upload to a kitchen or a dish (inside the app's transaction)
# ---------------------------------------------------------------------------


def photo_attach(*, row: WithPhoto, owner_id, upload_id) -> uuid.UUID:
    """Claim the upload ``upload_id`` of ``owner_id`` for ``row`` (locked by the caller)
    and mark the row ``processing``; the caller saves the row and queues its task after
    commit. Another owner's, unknown, expired or already used upload: ``InvalidInput``
    on ``photo_upload_id``. The row's current photo stays until the new one is ready."""
    try:
        upload_uuid = uuid.UUID(str(upload_id))
    except ValueError:
        upload_uuid = None
    upload = (
        PhotoUpload.objects.select_for_update()
        .filter(pk=upload_uuid, owner_id=owner_id, claimed_at__isnull=True, expires_at__gt=timezone.now())
        .first()
        if upload_uuid
        else None
    )
    if upload is None:
        raise InvalidInput(f"photo_upload_id: {UNUSABLE_UPLOAD}", fields={"photo_upload_id": [str(UNUSABLE_UPLOAD)]})
    upload.claimed_at = timezone.now()
    upload.save(update_fields=["claimed_at"])
    row.photo_status = PhotoStatus.PROCESSING
    row.photo_error = None
    row.photo_pending_upload = upload.pk
    return upload.pk


# ---------------------------------------------------------------------------
# The worker's pipeline
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    url: str
    thumb_url: str
    names: tuple[str, ...]


def _rendered_names(upload_id) -> tuple[str, str]:
    return f"photos/{upload_id}/large.webp", f"photos/{upload_id}/thumb.webp"


def _read_original(upload: PhotoUpload) -> bytes:
    """The original's bytes, after checking its size against what was allowed."""
    key = upload.key
    if not default_storage.exists(key):
        raise PhotoRejected(_("The photo was never uploaded, or its upload expired."))
    too_big = _("The file is larger than announced (at most %(max)d bytes).") % {"max": upload.size_bytes}
    if not 1 <= default_storage.size(key) <= min(upload.size_bytes, MAX_UPLOAD_BYTES):
        raise PhotoRejected(too_big)
    with default_storage.open(key, "rb") as original:
        data = original.read(MAX_UPLOAD_BYTES + 1)
    if not 1 <= len(data) <= upload.size_bytes:
        raise PhotoRejected(too_big)
    return data


def _decode(data: bytes, *, content_type: str) -> Image.Image:
    """The upload as a verified, fully decoded image of the announced format, turned
    upright. Decompression bombs, truncated files and non-images are refused."""
    expected = ACCEPTED_TYPES.get(content_type)
    if expected is None:
        raise PhotoRejected(_("Send a JPEG, PNG or WebP photo."))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[expected]) as probe:
                probe.verify()  # structure and checksums, before anything is decoded
            image = Image.open(io.BytesIO(data), formats=[expected])
            if image.width * image.height > settings.PHOTO_MAX_PIXELS:
                raise PhotoRejected(_("The image has too many pixels."))
            if expected == "JPEG":  # decode at the smallest DCT scale still covering the large size
                shrink = min(1.0, LARGE_SIDE / max(image.size))
                image.draft(image.mode, (math.ceil(image.width * shrink), math.ceil(image.height * shrink)))
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PhotoRejected(_("The image has too many pixels.")) from exc
        except (UnidentifiedImageError, SyntaxError, OSError, ValueError) as exc:
            raise PhotoRejected(_("The file is not a %(kind)s image.") % {"kind": expected}) from exc
    upright = ImageOps.exif_transpose(image)
    return upright if upright is not None else image


def _bare(image: Image.Image) -> Image.Image:
    """The pixels only: a new image with no EXIF, GPS, ICC profile, text or XMP."""
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
    converted = image.convert(mode)
    return Image.frombytes(mode, converted.size, converted.tobytes())


def _webp(image: Image.Image, side: int) -> bytes:
    sized = image.copy()
    sized.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    sized.save(out, format="WEBP", quality=QUALITY, method=4)
    return out.getvalue()


def photo_render(upload: PhotoUpload) -> Rendered:
    """Check the upload's original and write its large size and thumbnail (WebP, no
    metadata) under ``photos/<upload id>/``; their public URLs. Raises
    ``PhotoRejected`` with the reason. Idempotent (same names each run)."""
    image = _bare(_decode(_read_original(upload), content_type=upload.content_type))
    large, thumb = _rendered_names(upload.pk)
    _save(large, _webp(image, LARGE_SIDE), OUTPUT_CONTENT_TYPE)
    _save(thumb, _webp(image, THUMB_SIDE), OUTPUT_CONTENT_TYPE)
    return Rendered(default_storage.url(large), default_storage.url(thumb), (large, thumb))


def _delete(*names: str) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # a file left behind costs storage, not correctness
            logger.warning("photos: could not delete %s", name, exc_info=True)


def photo_process(*, model: type[WithPhoto], pk, upload_id, on_ready: Callable[[], None]) -> str:
    """The worker's step for one upload given to the row ``model`` ``pk``: render it
    (outside any transaction), then, with the row locked, publish it (``ready``, new
    URLs; ``on_ready()`` inside that transaction, e.g. the catalog's version bump) or
    record why it was rejected (the previous photo stays). Deletes the original in
    every case. A row that meanwhile took a later upload is left alone. Returns the
    outcome (``ready``, ``rejected``, ``superseded``). Idempotent."""
    upload = PhotoUpload.objects.filter(pk=upload_id).first()
    if not model.objects.filter(pk=pk, photo_pending_upload=upload_id).exists():
        if upload is not None:
            _delete(upload.key)
        return "superseded"
    try:
        if upload is None:  # purged long after its task was lost
            raise PhotoRejected(_("The photo was never uploaded, or its upload expired."))
        rendered, error = photo_render(upload), None
    except PhotoRejected as exc:
        rendered, error = None, str(exc)
    published = False
    with transaction.atomic():
        row = model.objects.select_for_update().filter(pk=pk).first()
        if row is None or str(row.photo_pending_upload) != str(upload_id):
            # Another upload took its place, or a redelivered twin of this task got here first.
            published = row is not None and rendered is not None and row.photo_url == rendered.url
            row, outcome = None, "superseded"
        elif rendered is not None:
            row.photo_url, row.photo_thumb_url = rendered.url, rendered.thumb_url
            row.photo_status, row.photo_error = PhotoStatus.READY, None
            outcome = "ready"
        else:
            row.photo_status, row.photo_error = PhotoStatus.REJECTED, error[:300]
            outcome = "rejected"
        if row is not None:
            row.photo_pending_upload = None
            row.save(update_fields=[*PHOTO_FIELDS, "updated_at"])
            if outcome == "ready":
                on_ready()
    if outcome == "superseded" and rendered is not None and not published:
        _delete(*rendered.names)
    _delete(PhotoUpload.key_of(upload_id))
    logger.info("photo %s", outcome, extra={"upload_id": str(upload_id), "model": model._meta.label})
    return outcome


def photo_requeue_stalled(*, model: type[WithPhoto], task: Task, older_than: dt.timedelta = STALLED_AFTER) -> int:
    """Queue ``task(pk, upload_id)`` again for rows of ``model`` still waiting for an
    upload after ``older_than`` (a task the broker could not take, or lost): beat's
    sweep. Safe with a task still running (see :func:`photo_process`). How many."""
    stalled = model.objects.filter(
        photo_pending_upload__isnull=False, updated_at__lt=timezone.now() - older_than
    ).values_list("pk", "photo_pending_upload")[:STALLED_BATCH]
    for pk, upload_id in stalled:
        delay_after_commit(task, str(pk), str(upload_id))
    return len(stalled)


def photo_uploads_purge(*, now: dt.datetime | None = None) -> int:
    """Forget uploads nobody can use any more: unused ones a day past their expiry
    (their original deleted from storage, if it was ever sent), used ones after
    ``UPLOADS_KEPT_FOR`` (the worker deleted their original). How many rows."""
    now = now or timezone.now()
    unused = PhotoUpload.objects.filter(claimed_at__isnull=True, expires_at__lt=now - dt.timedelta(days=1))
    ids = list(unused.values_list("pk", flat=True)[:1000])
    for upload_id in ids:
        _delete(PhotoUpload.key_of(upload_id))
    unused_deleted = PhotoUpload.objects.filter(pk__in=ids).delete()[0]
    used_deleted = PhotoUpload.objects.filter(claimed_at__lt=now - UPLOADS_KEPT_FOR).delete()[0]
    return unused_deleted + used_deleted


PHOTO_FIELDS = ("photo_url", "photo_thumb_url", "photo_status", "photo_error", "photo_pending_upload")


# ---------------------------------------------------------------------------
# The local mode: the app takes the presigned form and serves the files
# ---------------------------------------------------------------------------


def _local_error(message: str, status: int = 403) -> JsonResponse:
    return JsonResponse({"code": "invalid" if status == 400 else "permission_denied", "detail": message}, status=status)


def _policy_problem(post, file) -> str | None:
    """Why the posted form breaks its signed policy (None: it keeps to it)."""
    policy = post.get("policy", "")
    if not policy or not constant_time_compare(_policy_signature(policy), post.get("signature", "")):
        return _("Bad signature.")
    try:
        document = json.loads(base64.b64decode(policy, validate=True))
        expiration = dt.datetime.strptime(document["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except (ValueError, KeyError, TypeError):
        return _("Bad policy.")
    if expiration <= timezone.now():
        return _("The upload form expired.")
    for condition in document.get("conditions", []):
        if isinstance(condition, dict):
            for name, value in condition.items():
                if post.get(name) != value:
                    return _("%(field)s does not match the policy.") % {"field": name}
        elif (
            isinstance(condition, list)
            and condition[0] == "content-length-range"
            and not condition[1] <= file.size <= condition[2]
        ):
            return _("The file's size is outside the policy's range.")
    return None


@csrf_exempt
@require_POST
def local_upload(request):
    """Where a presigned POST goes when no bucket is configured: the form's signed
    policy checked (key, content type, size range, expiry) as S3 checks its own, the
    file stored at the key. 204 as S3 answers; 403 for a form that breaks its policy."""
    if not is_local_storage():
        raise Http404
    file = request.FILES.get("file")
    if file is None:
        return _local_error(_("Send the file as the form's 'file' field."), status=400)
    problem = _policy_problem(request.POST, file)
    if problem:
        return _local_error(problem)
    _save(request.POST["key"], file.read(), request.POST["Content-Type"])
    return HttpResponse(status=204)


def media(request, path: str):
    """The published photos when no bucket is configured (the original uploads are
    never served)."""
    if not is_local_storage() or not path.startswith("photos/"):
        raise Http404
    return serve(request, path, document_root=settings.MEDIA_ROOT)
