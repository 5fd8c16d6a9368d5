"""Photos in the admin: a file field on a kitchen's or a dish's change form that goes
through the same pipeline as the apps' uploads (:mod:`foodiefast.photos`).

A browser posts a multipart form anyway, so the admin takes the bytes, stores them
where a presigned POST would have put them, and hands the upload to the app's own
service (the same claim, the same worker task, the same checks). The form shows the
current thumbnail and what became of the last upload."""

from __future__ import annotations

import functools

from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from foodiefast.models import PhotoStatus
from foodiefast.photos import ACCEPTED_TYPES, MAX_UPLOAD_BYTES, photo_upload_store

STATUS_LABELS = {
    PhotoStatus.PROCESSING: _("Processing: checked and resized by the worker, shown here when ready."),
    PhotoStatus.READY: _("Published."),
    PhotoStatus.REJECTED: _("The last upload was rejected: %(error)s The photo shown is kept."),
}


class PhotoInput(forms.FileInput):
    """A file input below the current thumbnail and the photo's status."""

    def __init__(self, *args, current=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.current = current

    def render(self, name, value, attrs=None, renderer=None):
        field = super().render(name, value, attrs, renderer)
        row = self.current
        state = getattr(row, "photo_state", None)
        thumb = (
            format_html(
                '<img class="photo-thumb" src="{}" alt="{}" style="max-width:200px;display:block;margin-bottom:6px">',
                row.photo_thumb_url or row.photo_url,
                _("Current photo"),
            )
            if row is not None and (row.photo_thumb_url or row.photo_url)
            else format_html('<p class="photo-none">{}</p>', _("No photo yet."))
        )
        status = ""
        if state in STATUS_LABELS:
            text = STATUS_LABELS[state]
            if state == PhotoStatus.REJECTED:
                text = text % {"error": row.photo_error or ""}
            status = format_html('<p class="photo-status" data-status="{}">{}</p>', state, text)
        return format_html('<div class="photo-field">{}{}{}</div>', thumb, status, field)


class PhotoFileField(forms.FileField):
    """The photo to upload: the browser's declared type and the size are checked here;
    the worker checks the image itself."""

    def __init__(self, *, current=None, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Photo"))
        kwargs.setdefault("help_text", _("JPEG, PNG or WebP, up to 10 MB. Location and camera data are removed."))
        kwargs.setdefault("widget", PhotoInput(current=current, attrs={"accept": ",".join(ACCEPTED_TYPES)}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        file = super().clean(data, initial)
        if file:
            if getattr(file, "content_type", None) not in ACCEPTED_TYPES:
                raise forms.ValidationError(_("Send a JPEG, PNG or WebP photo."))
            if file.size > MAX_UPLOAD_BYTES:
                raise forms.ValidationError(_("A photo has at most 10 MB."))
        return file


class PhotoAdminMixin:
    """For the ModelAdmin of a model with :class:`~foodiefast.models.WithPhoto`: the
    pipeline's fields leave the form (they are its outputs) and a "Photo" section
    takes a file. ``photo_attach(obj, upload_id)`` is the app's service call; the
    upload's owner is the row's chef (``chef_field``, as :class:`ChefOwnedAdminMixin`
    names it)."""

    chef_field = "chef"
    photo_fieldset = (_("Photo"), {"fields": ("photo_file",)})

    def photo_attach(self, obj, upload_id) -> None:
        raise NotImplementedError

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (name, {**options, "fields": tuple(f for f in options["fields"] if not str(f).startswith("photo_"))})
            for name, options in super().get_fieldsets(request, obj)
        ]
        return [*fieldsets, self.photo_fieldset]

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = kwargs.get("form", self.form)
        kwargs["form"] = type(base.__name__, (base,), {"photo_file": PhotoFileField(current=obj)})
        return super().get_form(request, obj, change, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        file = form.cleaned_data.get("photo_file")
        if file:
            row = form.instance
            owner = functools.reduce(getattr, self.chef_field.split("__"), row)
            upload = photo_upload_store(owner=owner, file=file)
            self.photo_attach(row, upload.pk)
