from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsChef
from apps.chefs import selectors as chef_selectors
from apps.chefs.services import kitchen_ensure_for_chef
from apps.menus import selectors, services
from apps.menus.api.paging import page_links, paging
from apps.menus.api.serializers import (
    ChefDetailOutput,
    ChefDishOutput,
    ChefDishPage,
    ChefPage,
    ChefPublicOutput,
    DishInput,
    DishPage,
    DishPatchInput,
    DishPublicOutput,
)
from apps.menus.browse.answers import Read, respond
from apps.menus.browse.rules import normalised
from apps.menus.filters import DishBrowseFilter, KitchenBrowseFilter
from apps.menus.models import ALLERGENS, DIETARY_TAGS
from foodiefast.errors import InvalidInput, NotFound
from foodiefast.geo import Point, is_valid
from foodiefast.pagination import MAX_PAGE_SIZE, NO_SUCH_PAGE, PageNumberPagination
from foodiefast.schema import ValidationErrorBody

# ---------------------------------------------------------------------------
# Browsing (no auth). Each view's get() hands respond() a parse step; respond()
# (apps/menus/browse) answers from what is stored, or calls it and the load it
# returns: parse and validate, call the selector, render.
# ---------------------------------------------------------------------------


def _query(name: str, type_, description: str, *, required: bool = False) -> OpenApiParameter:
    return OpenApiParameter(name, type_, OpenApiParameter.QUERY, required=required, description=description)


LAT = {"type": "number", "format": "double", "minimum": -90, "maximum": 90}
LNG = {"type": "number", "format": "double", "minimum": -180, "maximum": 180}
POINT = [
    _query("lat", LAT, "Latitude of the delivery point (WGS 84)", required=True),
    _query("lng", LNG, "Longitude of the delivery point (WGS 84)", required=True),
]
OPTIONAL_POINT = [
    _query("lat", LAT, "Latitude; with lng, adds distance_km"),
    _query("lng", LNG, "Longitude; with lat"),
]
PAGING = [
    _query("page", {"type": "integer", "minimum": 1}, "Page number, from 1; past the last page: 404"),
    _query("page_size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}, "Up to 100 (default 20)"),
]
DIETARY = _query("dietary", OpenApiTypes.STR, "Comma list of dietary tags: " + ", ".join(DIETARY_TAGS))
DISH_FILTERS = [
    _query("chef", OpenApiTypes.UUID, "Only this chef's dishes"),
    DIETARY,
    _query("exclude_allergens", OpenApiTypes.STR, "Comma list of EU allergen codes: " + ", ".join(ALLERGENS)),
    _query("q", OpenApiTypes.STR, "Text in the name or description"),
    _query("max_price_cents", OpenApiTypes.INT, "Highest price, inclusive"),
]
CHEF_FILTERS = [
    _query("cuisine", OpenApiTypes.STR, "Cuisine, case-insensitive"),
    _query(
        "dietary", OpenApiTypes.STR, "Kitchens with an available dish with all these tags: " + ", ".join(DIETARY_TAGS)
    ),
    _query("open_now", OpenApiTypes.BOOL, "true: only kitchens open right now"),
    _query("q", OpenApiTypes.STR, "Text in the name, cuisine or bio"),
]


def _page(request, params, *, page: int, page_size: int, count: int, results) -> dict:
    """One page of a browse list, with links built from the normalised filters."""
    if page > 1 and (page - 1) * page_size >= count:
        raise NotFound(NO_SUCH_PAGE)
    next_url, previous_url = page_links(request, params, page=page, page_size=page_size, count=count)
    return {"count": count, "next": next_url, "previous": previous_url, "results": results}


class BrowseApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []


class DishBrowseApi(BrowseApi):
    @extend_schema(
        parameters=[*POINT, *DISH_FILTERS, *PAGING],
        responses={200: DishPage, 400: ValidationErrorBody},
        tags=["browse"],
        summary="Dishes delivering here",
        operation_id="dishes_list",
    )
    def get(self, request):
        return respond(request, "dishes", lambda: self.parse(request), dishes_at="results")

    def parse(self, request) -> Read:
        filterset = DishBrowseFilter(request.query_params)
        params = normalised(filterset.validated())
        page, page_size = paging(request)

        def load(today):
            count, rows = selectors.dish_page_near(
                point=Point(params["lat"], params["lng"]),
                refine=filterset.filter_queryset,
                offset=(page - 1) * page_size,
                limit=page_size,
            )
            results = DishPublicOutput(rows, many=True, context={"today": today, "request": request}).data
            return _page(request, params, page=page, page_size=page_size, count=count, results=results), rows

        return Read((params, page, page_size), load)


class ChefBrowseApi(BrowseApi):
    @extend_schema(
        parameters=[*POINT, *CHEF_FILTERS, *PAGING],
        responses={200: ChefPage, 400: ValidationErrorBody},
        tags=["browse"],
        summary="Chefs delivering here",
        operation_id="chefs_list",
    )
    def get(self, request):
        return respond(request, "chefs", lambda: self.parse(request))

    def parse(self, request) -> Read:
        filterset = KitchenBrowseFilter(request.query_params)
        params = normalised(filterset.validated())
        page, page_size = paging(request)

        def load(today):
            queryset = filterset.filter_queryset(chef_selectors.kitchens_near(Point(params["lat"], params["lng"])))
            count = queryset.count()
            on_page = (page - 1) * page_size < count
            rows = list(queryset[(page - 1) * page_size : page * page_size]) if on_page else []
            results = ChefPublicOutput(rows, many=True, context={"request": request}).data
            return _page(request, params, page=page, page_size=page_size, count=count, results=results), []

        return Read((params, page, page_size), load)


def _optional_point(request) -> Point | None:
    raw_lat, raw_lng = request.query_params.get("lat"), request.query_params.get("lng")
    if raw_lat in (None, "") and raw_lng in (None, ""):
        return None
    try:
        lat, lng = float(raw_lat), float(raw_lng)
    except (TypeError, ValueError):
        lat = lng = None
    if not is_valid(lat, lng):
        raise InvalidInput(
            "lat and lng must be valid WGS 84 coordinates.",
            fields={"lat": ["Between -90 and 90."], "lng": ["Between -180 and 180."]},
        )
    return Point(round(lat, 3), round(lng, 3))


class ChefDetailApi(BrowseApi):
    @extend_schema(
        parameters=OPTIONAL_POINT,
        responses={200: ChefDetailOutput, 400: ValidationErrorBody},
        tags=["browse"],
        summary="One chef, their hours and dishes",
    )
    def get(self, request, chef_id):
        return respond(request, "chef", lambda: self.parse(request, chef_id), dishes_at="dishes")

    def parse(self, request, chef_id) -> Read:
        point = _optional_point(request)

        def load(today):
            kitchen = selectors.kitchen_page_public(kitchen_id=chef_id, point=point)
            if kitchen is None:
                raise NotFound()
            return ChefDetailOutput(kitchen, context={"today": today, "request": request}).data, kitchen.dishes_today

        return Read(({"chef": str(chef_id), "point": [point.lat, point.lng] if point else None},), load)


class DishDetailApi(BrowseApi):
    @extend_schema(responses={200: DishPublicOutput}, tags=["browse"], summary="One dish")
    def get(self, request, dish_id):
        dish = selectors.dish_get_public(dish_id=dish_id)
        if dish is None:
            raise NotFound()
        return Response(DishPublicOutput(dish, context={"request": request}).data)


# ---------------------------------------------------------------------------
# The chef's own dishes
# ---------------------------------------------------------------------------


class ChefDishListApi(APIView):
    permission_classes = [IsChef]

    @extend_schema(
        parameters=PAGING,
        responses={200: ChefDishPage},
        tags=["chef"],
        summary="My dishes",
        operation_id="chef_dishes_list",
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.dish_list_for_chef(chef=request.user), request, view=self)
        return paginator.get_paginated_response(ChefDishOutput(page, many=True, context={"request": request}).data)

    @extend_schema(request=DishInput, responses={201: ChefDishOutput}, tags=["chef"], summary="Add a dish")
    def post(self, request):
        data = DishInput(data=request.data)
        data.is_valid(raise_exception=True)
        kitchen = kitchen_ensure_for_chef(chef=request.user)
        dish = services.dish_create(kitchen=kitchen, **data.validated_data)
        return Response(ChefDishOutput(dish, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ChefDishDetailApi(APIView):
    permission_classes = [IsChef]

    def _dish(self, request, dish_id):
        dish = selectors.dish_get_for_chef(chef=request.user, dish_id=dish_id)
        if dish is None:
            raise NotFound()
        return dish

    @extend_schema(responses={200: ChefDishOutput}, tags=["chef"], summary="One of my dishes")
    def get(self, request, dish_id):
        return Response(ChefDishOutput(self._dish(request, dish_id), context={"request": request}).data)

    @extend_schema(request=DishPatchInput, responses={200: ChefDishOutput}, tags=["chef"], summary="Change a dish")
    def patch(self, request, dish_id):
        dish = self._dish(request, dish_id)
        data = DishPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        dish = services.dish_update(dish=dish, **data.validated_data)
        return Response(ChefDishOutput(dish, context={"request": request}).data)

    @extend_schema(responses={204: None}, tags=["chef"], summary="Remove a dish from the menu")
    def delete(self, request, dish_id):
        services.dish_delete(dish=self._dish(request, dish_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
