"""The demo data of ``data.json`` written through the apps' services (idempotent)."""

from __future__ import annotations

import colorsys
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from apps.accounts.models import Role, User
from apps.accounts.selectors import user_get_by_email
from apps.accounts.services import user_create
from apps.chefs.models import Kitchen
from apps.chefs.services import (
    kitchen_approve,
    kitchen_ensure_for_chef,
    kitchen_update,
    opening_hours_replace,
    opening_slot_parse,
)
from apps.menus.selectors import dish_list_for_chef
from apps.menus.services import dish_create, dish_update
from apps.tracking.services import courier_set_availability
from foodiefast.models import PhotoStatus
from foodiefast.photos import photo_upload_store

DATA_FILE = Path(__file__).with_name("data.json")


@dataclass(frozen=True)
class DemoLogin:
    label: str  # the role as shown, e.g. "chef (waiting)"
    email: str
    password: str


@dataclass(frozen=True)
class DemoSeeded:
    logins: list[DemoLogin]
    approved: list[Kitchen]
    waiting: list[Kitchen]


def demo_data() -> dict[str, Any]:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def _demo_user(*, email: str, full_name: str, role: str, password: str, staff: bool = False) -> User:
    """The demo account, registered (``UserRegistered`` announced) the first time."""
    user = user_get_by_email(email=email)
    if user is None:
        user = user_create(
            email=email, password=password, full_name=full_name, role=role, is_staff=staff, is_superuser=staff
        )
    return user


def _demo_kitchen(spec: dict[str, Any], *, password: str, by: User) -> Kitchen:
    """A chef's kitchen as ``spec`` describes it: profile, the whole week, every dish
    (a dish of the same name is updated, not added again), approved if it says so."""
    chef = _demo_user(**spec["chef"], role=Role.CHEF, password=password)
    kitchen = kitchen_update(kitchen=kitchen_ensure_for_chef(chef=chef), **spec["profile"])
    week = [
        opening_slot_parse(weekday=day, opens=h["opens"], closes=h["closes"])
        for h in spec["hours"]
        for day in h["days"]
    ]
    opening_hours_replace(kitchen=kitchen, slots=week)
    existing = {dish.name: dish for dish in dish_list_for_chef(chef=chef)}
    for dish in spec["dishes"]:
        values = {key: dish[key] for key in ("description", "price_cents", "allergens", "dietary_tags")}
        if dish["name"] in existing:
            dish_update(
                dish=existing[dish["name"]], portions_per_day=dish["portions_per_day"], is_available=True, **values
            )
        else:
            dish_create(kitchen=kitchen, name=dish["name"], portions_per_day=dish["portions_per_day"], **values)
    if _needs_photo(kitchen):
        kitchen = kitchen_update(kitchen=kitchen, photo_upload_id=_demo_upload(chef, kitchen.display_name, "kitchen"))
    for dish in dish_list_for_chef(chef=chef):
        if _needs_photo(dish):
            dish_update(dish=dish, photo_upload_id=_demo_upload(chef, dish.name, "dish"))
    if spec["approved"]:
        kitchen = kitchen_approve(kitchen=kitchen, by=by)
    return kitchen


def _needs_photo(row) -> bool:
    return row.photo_state not in (PhotoStatus.READY, PhotoStatus.PROCESSING)


def _demo_upload(chef: User, title: str, kind: str):
    """A generated photo (a plate of the name's colour, the name written on it) sent
    through the same storage and pipeline as a chef's upload; its upload id."""
    digest = hashlib.sha256(title.encode()).digest()
    red, green, blue = (round(c * 255) for c in colorsys.hsv_to_rgb(digest[0] / 255, 0.55, 0.85))
    image = Image.new("RGB", (640, 480), (red, green, blue))
    draw = ImageDraw.Draw(image)
    if kind == "dish":
        draw.ellipse((136, 48, 504, 416), fill=(250, 248, 240), outline=(225, 220, 205), width=10)
        draw.ellipse((204, 116, 436, 348), fill=(min(255, red + 40), min(255, green + 20), blue // 2))
    else:
        draw.rectangle((64, 64, 576, 416), outline=(250, 248, 240), width=13)
    draw.rounded_rectangle((32, 400, 608, 464), radius=13, fill=(30, 30, 30))
    draw.text((320, 432), title, fill=(255, 255, 255), font=ImageFont.load_default(size=35), anchor="mm")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    content = ContentFile(out.getvalue(), name=f"{kind}.jpg")
    content.content_type = "image/jpeg"
    return photo_upload_store(owner=chef, file=content).pk


@transaction.atomic
def demo_seed(*, data: dict[str, Any] | None = None) -> DemoSeeded:
    """Create the demo logins, kitchens, hours and dishes, or put them back as the data
    describes them (run it as often as you like; passwords already set stay). Accounts
    are created with ``user_create`` (announced like any registration); kitchens and
    dishes through the chefs and menus services. Returns the logins to print."""
    data = data or demo_data()
    password = data["password"]
    logins, staff = [], None
    for spec in data["users"]:
        user = _demo_user(**spec, password=password)
        staff = user if spec["staff"] else staff
        logins.append(DemoLogin("staff (admin)" if spec["staff"] else spec["role"], spec["email"], password))
    approved, waiting = [], []
    for spec in data["kitchens"]:
        kitchen = _demo_kitchen(spec, password=password, by=staff)
        (approved if spec["approved"] else waiting).append(kitchen)
        if not any(login.email == spec["chef"]["email"] for login in logins):
            label = "chef" if spec["approved"] else "chef (waiting)"
            logins.append(DemoLogin(label, spec["chef"]["email"], password))
    _couriers_online(data, near=approved[0] if approved else None)
    return DemoSeeded(logins=logins, approved=approved, waiting=waiting)


def _couriers_online(data: dict[str, Any], *, near: Kitchen | None) -> None:
    """The demo couriers go online at the first approved kitchen, so they see its
    deliveries as soon as an order is accepted."""
    if near is None or near.lat is None or near.lng is None:
        return
    for spec in data["users"]:
        if spec["role"] == Role.COURIER:
            courier = user_get_by_email(email=spec["email"])
            courier_set_availability(courier=courier, online=True, lat=near.lat, lng=near.lng)
