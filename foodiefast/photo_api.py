"""The API's side of photos (:mod:`foodiefast.photos`): the read-only photo fields
every kitchen and dish answer carries, and the upload request's serializers."""

from __future__ import annotations

from rest_framework import serializers

from foodiefast.json_input import StrictInput
from foodiefast.models import PhotoStatus
from foodiefast.photos import ACCEPTED_TYPES, MAX_UPLOAD_BYTES


class PhotoUrlField(serializers.URLField):
    """A published photo's URL, absolute (a photo on the app's own storage is stored
    as a path and completed with the request's scheme and host); null when none."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        if not value:
            return None
        request = self.context.get("request")
        if value.startswith("/") and request is not None:
            return request.build_absolute_uri(value)
        return value


class PhotoStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("source", "photo_state")
        kwargs.setdefault(
            "help_text",
            "processing: an upload is being checked; ready: published; rejected: see photo_error "
            "(the previous photo stays). null: no photo.",
        )
        super().__init__(choices=PhotoStatus.choices, **kwargs)


PHOTO_OUTPUT_FIELDS = ["photo_url", "photo_thumb_url", "photo_status", "photo_error"]


class PhotoOutputFields(serializers.Serializer):
    """The photo fields of a kitchen or dish the chef sees (mixed into its output)."""

    photo_url = PhotoUrlField(help_text="The large size (WebP); null when there is none")
    photo_thumb_url = PhotoUrlField(help_text="The thumbnail (WebP); null when there is none")
    photo_status = PhotoStatusField()
    photo_error = serializers.CharField(
        read_only=True, allow_null=True, help_text="Why the last upload was rejected; null otherwise"
    )


PHOTO_UPLOAD_ID_HELP = (
    "The upload_id of POST /api/v1/chef/photos, once the file is uploaded: becomes the photo after the "
    "worker's checks (photo_status processing, then ready or rejected)."
)


class PhotoUploadInput(StrictInput):
    content_type = serializers.ChoiceField(choices=list(ACCEPTED_TYPES), help_text="The photo's type")
    size_bytes = serializers.IntegerField(
        min_value=1, max_value=MAX_UPLOAD_BYTES, help_text="The file's size; the upload may not exceed it"
    )


class PhotoUploadOutput(serializers.Serializer):
    upload_id = serializers.UUIDField(help_text="Give it as photo_upload_id to the kitchen or a dish")
    url = serializers.URLField(help_text="POST a multipart form here: every field of `fields`, then the file")
    fields = serializers.DictField(child=serializers.CharField(), help_text="The form's fields, as they are")
    expires_at = serializers.DateTimeField()
