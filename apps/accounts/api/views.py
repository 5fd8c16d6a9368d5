from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import services
from apps.accounts.api.serializers import (
    MeInput,
    MeOutput,
    RefreshInput,
    RegisterInput,
    TokenInput,
    TokenPairOutput,
    UserOutput,
)
from foodiefast.http import client_ip
from foodiefast.schema import Error

BAD_CREDENTIALS = OpenApiResponse(
    Error, description="`invalid_credentials`: no active account with this email and password."
)
BAD_REFRESH = OpenApiResponse(
    Error, description="`not_authenticated`: a used, revoked, expired or invalid refresh token."
)


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=RegisterInput, responses={201: UserOutput}, tags=["accounts"], summary="Sign up")
    def post(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


class TokenObtainApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=TokenInput, responses={200: TokenPairOutput, 401: BAD_CREDENTIALS}, tags=["accounts"], summary="Sign in"
    )
    def post(self, request):
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.auth_obtain_tokens(**data.validated_data, client_ip=client_ip(request))
        return Response(TokenPairOutput(tokens).data)


class TokenRefreshApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=RefreshInput,
        responses={200: TokenPairOutput, 401: BAD_REFRESH},
        tags=["accounts"],
        summary="Rotate tokens",
    )
    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.auth_rotate_tokens(**data.validated_data)
        return Response(TokenPairOutput(tokens).data)


class MeApi(APIView):
    @extend_schema(responses={200: MeOutput}, tags=["accounts"], summary="My account")
    def get(self, request):
        return Response(MeOutput(request.user).data)

    @extend_schema(request=MeInput, responses={200: MeOutput}, tags=["accounts"], summary="Update my account")
    def patch(self, request):
        data = MeInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, **data.validated_data)
        return Response(MeOutput(user).data)

    @extend_schema(responses={204: None}, tags=["accounts"], summary="Erase my account")
    def delete(self, request):
        services.user_erase(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
