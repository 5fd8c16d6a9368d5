from rest_framework import serializers

from apps.accounts.models import Language, Role, User
from foodiefast.json_input import StrictInput


class RegisterInput(StrictInput):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    full_name = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices, required=False, default=Role.CUSTOMER)
    language = serializers.ChoiceField(choices=Language.choices, required=False, default=Language.FR)


class UserOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role"]
        read_only_fields = fields


class MeOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "phone", "language", "role"]
        read_only_fields = fields


class MeInput(StrictInput):
    full_name = serializers.CharField(max_length=150, required=False)
    phone = serializers.RegexField(r"^\+?[0-9 ().-]{0,31}$", max_length=32, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=Language.choices, required=False)


class TokenInput(StrictInput):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshInput(StrictInput):
    refresh = serializers.CharField()
