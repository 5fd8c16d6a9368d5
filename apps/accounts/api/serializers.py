from rest_framework import serializers

from apps.accounts.models import Role, User


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    full_name = serializers.CharField(max_length=150)
    role = serializers.CharField(required=False, default=Role.CUSTOMER, help_text="customer, courier or chef")


class UserOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role"]
        read_only_fields = fields


class MeOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "phone", "role", "is_staff"]
        read_only_fields = fields


class MeInput(serializers.Serializer):
    full_name = serializers.CharField(max_length=150, required=False)
    phone = serializers.RegexField(r"^\+?[0-9 ().-]{0,31}$", max_length=32, required=False, allow_blank=True)


class TokenInput(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshInput(serializers.Serializer):
    refresh = serializers.CharField()
