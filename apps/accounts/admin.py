from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from apps.accounts.admin_site import adopt_saved
from apps.accounts.models import User
from apps.accounts.services import user_create


class UserCreateForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "role")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreateForm
    ordering = ("-date_joined",)
    list_display = ("email", "full_name", "role", "is_staff", "is_active", "date_joined")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("email", "full_name", "phone")
    readonly_fields = ("date_joined", "last_login", "deleted_at")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("full_name", "phone", "role")}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("date_joined", "last_login", "deleted_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "role", "password1", "password2")}),
    )

    def save_model(self, request, obj, form, change):
        """A new account is created by ``user_create``, so it is announced like a
        sign-up (a chef added here gets their kitchen); changes are staff's own edits."""
        if change:
            super().save_model(request, obj, form, change)
            return
        user = user_create(
            email=obj.email, password=form.cleaned_data["password1"], full_name=obj.full_name, role=obj.role
        )
        adopt_saved(obj, user)
