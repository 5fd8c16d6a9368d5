"""Demo data around Paris: logins for every role, a dozen approved kitchens with
opening hours and dishes, one kitchen waiting for approval (idempotent: run it as
often as you like; it puts the demo kitchens back as described here).

It lives in orders, the one app that may use all the others.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import Role, User
from apps.chefs.services import kitchen_approve, kitchen_ensure_for_chef, kitchen_update, opening_hours_replace
from apps.menus.models import Dish
from apps.menus.services import dish_create, dish_update

DEMO_PASSWORD = "foodiefast-demo"  # noqa: S105 - the published demo login

DEMO_USERS = [
    ("customer@foodiefast.demo", "Camille Martin", Role.CUSTOMER, False),
    ("courier@foodiefast.demo", "Karim Benali", Role.COURIER, False),
    ("chef@foodiefast.demo", "Sophie Laurent", Role.CHEF, False),
    ("admin@foodiefast.demo", "Platform Staff", Role.CUSTOMER, True),
]

TUE_TO_SUN = range(1, 7)
EVERY_DAY = range(7)


def lunch_and_dinner(days=TUE_TO_SUN, lunch=("11:30", "14:30"), dinner=("18:30", "22:30")):
    return [(d, *lunch) for d in days] + [(d, *dinner) for d in days]


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


# (chef email, chef name, kitchen fields, hours, dishes); dishes:
# (name, description, price_cents, allergens, dietary tags, portions per day)
KITCHENS = [
    (
        "chef@foodiefast.demo",
        "Sophie Laurent",
        {
            "display_name": "Chez Sophie",
            "cuisine": "French",
            "address": "12 rue des Rosiers, 75004 Paris",
            "lat": 48.8572,
            "lng": 2.3592,
            "bio": "Bistro classics from my Marais kitchen.",
        },
        lunch_and_dinner(),
        [
            (
                "Boeuf bourguignon",
                "Beef braised in Burgundy wine, carrots, mash.",
                1650,
                ["celery", "sulphites", "milk"],
                ["gluten-free"],
                12,
            ),
            ("Quiche lorraine", "Smoked bacon, eggs, crème fraîche.", 1090, ["gluten", "eggs", "milk"], [], 10),
            (
                "Ratatouille",
                "Provençal vegetables, thyme, olive oil.",
                1190,
                [],
                ["vegan", "vegetarian", "gluten-free"],
                15,
            ),
        ],
    ),
    (
        "lucia@foodiefast.demo",
        "Lucia Romano",
        {
            "display_name": "Trattoria Nonna Lucia",
            "cuisine": "Italian",
            "address": "8 rue Lepic, 75018 Paris",
            "lat": 48.8847,
            "lng": 2.3337,
            "bio": "Fresh pasta rolled every morning.",
        },
        lunch_and_dinner(),
        [
            (
                "Lasagne al forno",
                "Beef ragù, béchamel, parmigiano.",
                1450,
                ["gluten", "eggs", "milk", "celery"],
                [],
                14,
            ),
            (
                "Gnocchi al pesto",
                "Potato gnocchi, basil pesto, pine nuts.",
                1290,
                ["gluten", "milk", "nuts"],
                ["vegetarian"],
                12,
            ),
            ("Tiramisù", "Mascarpone, espresso, cocoa.", 650, ["gluten", "eggs", "milk"], ["vegetarian"], 20),
        ],
    ),
    (
        "rami@foodiefast.demo",
        "Rami Haddad",
        {
            "display_name": "Le Petit Beyrouth",
            "cuisine": "Lebanese",
            "address": "40 rue de Belleville, 75020 Paris",
            "lat": 48.8722,
            "lng": 2.3800,
            "bio": "Mezze and grills like in Achrafieh.",
        },
        lunch_and_dinner(EVERY_DAY),
        [
            (
                "Mezze platter",
                "Hummus, moutabal, tabbouleh, falafel, pita.",
                1590,
                ["gluten", "sesame"],
                ["vegan", "vegetarian"],
                15,
            ),
            ("Shish taouk", "Marinated chicken, garlic toum, pickles.", 1390, ["eggs"], ["halal", "dairy-free"], 18),
            ("Baklava", "Filo, pistachio, orange blossom syrup.", 550, ["gluten", "nuts", "milk"], ["vegetarian"], 25),
        ],
    ),
    (
        "aiko@foodiefast.demo",
        "Aiko Tanaka",
        {
            "display_name": "Sakura Bento",
            "cuisine": "Japanese",
            "address": "5 rue Sainte-Anne, 75001 Paris",
            "lat": 48.8669,
            "lng": 2.3360,
            "bio": "Home-style bento boxes.",
        },
        [(d, "11:30", "15:00") for d in range(5)] + [(d, "18:00", "21:30") for d in range(5)],
        [
            (
                "Salmon teriyaki bento",
                "Grilled salmon, rice, pickles, tamagoyaki.",
                1550,
                ["fish", "soybeans", "gluten", "eggs", "sesame"],
                [],
                12,
            ),
            (
                "Tofu katsu curry",
                "Crispy tofu, Japanese curry, rice.",
                1350,
                ["gluten", "soybeans", "celery"],
                ["vegan", "vegetarian"],
                10,
            ),
            ("Ebi gyoza", "Prawn dumplings, ponzu.", 850, ["crustaceans", "gluten", "soybeans", "sesame"], [], 16),
        ],
    ),
    (
        "mamadou@foodiefast.demo",
        "Mamadou Diallo",
        {
            "display_name": "La Table de Mamadou",
            "cuisine": "Senegalese",
            "address": "22 rue Myrha, 75018 Paris",
            "lat": 48.8872,
            "lng": 2.3530,
            "bio": "Dakar family recipes.",
        },
        lunch_and_dinner(),
        [
            (
                "Thiéboudienne",
                "Fish, broken rice, vegetables in tomato sauce.",
                1490,
                ["fish", "celery"],
                ["gluten-free", "dairy-free"],
                12,
            ),
            (
                "Yassa poulet",
                "Chicken, caramelised onions, lemon, mustard.",
                1390,
                ["mustard"],
                ["halal", "gluten-free"],
                14,
            ),
            ("Mafé végétarien", "Peanut stew, sweet potato, rice.", 1190, ["peanuts"], ["vegan", "vegetarian"], 10),
        ],
    ),
    (
        "lea@foodiefast.demo",
        "Léa Moreau",
        {
            "display_name": "Green Bowl Canal",
            "cuisine": "Vegan",
            "address": "60 quai de Jemmapes, 75010 Paris",
            "lat": 48.8713,
            "lng": 2.3655,
            "bio": "Plant-based bowls by the canal.",
        },
        [(d, "11:00", "16:00") for d in EVERY_DAY],
        [
            (
                "Buddha bowl",
                "Quinoa, roasted squash, kale, tahini.",
                1290,
                ["sesame"],
                ["vegan", "vegetarian", "gluten-free"],
                20,
            ),
            (
                "Lentil dahl",
                "Coral lentils, coconut, basmati.",
                1090,
                ["mustard"],
                ["vegan", "vegetarian", "gluten-free"],
                18,
            ),
            ("Chocolate avocado mousse", "Cocoa, avocado, maple.", 590, ["nuts"], ["vegan", "vegetarian"], 15),
        ],
    ),
    (
        "minh@foodiefast.demo",
        "Minh Nguyen",
        {
            "display_name": "Pho Saigon 13",
            "cuisine": "Vietnamese",
            "address": "70 avenue d'Ivry, 75013 Paris",
            "lat": 48.8266,
            "lng": 2.3622,
            "bio": "Broth simmered for twelve hours.",
        },
        lunch_and_dinner(EVERY_DAY),
        [
            ("Phở bò", "Beef broth, rice noodles, herbs.", 1290, ["soybeans", "fish"], ["dairy-free"], 20),
            (
                "Bò bún",
                "Lemongrass beef, vermicelli, peanuts.",
                1250,
                ["peanuts", "fish", "soybeans"],
                ["dairy-free"],
                15,
            ),
            ("Nems (4)", "Crispy pork and prawn spring rolls.", 750, ["crustaceans", "gluten", "eggs"], [], 20),
        ],
    ),
    (
        "diego@foodiefast.demo",
        "Diego Hernández",
        {
            "display_name": "Casa Oaxaca",
            "cuisine": "Mexican",
            "address": "90 rue Oberkampf, 75011 Paris",
            "lat": 48.8656,
            "lng": 2.3780,
            "bio": "Tortillas pressed by hand, mole from Oaxaca.",
        },
        [(d, "18:00", "24:00") for d in TUE_TO_SUN] + [(d, "00:00", "01:00") for d in (3, 4, 5, 6)],
        [
            (
                "Tacos al pastor (3)",
                "Pork, pineapple, coriander, corn tortillas.",
                1190,
                [],
                ["gluten-free", "spicy"],
                20,
            ),
            (
                "Mole poblano",
                "Chicken in chocolate-chili mole, rice.",
                1590,
                ["sesame", "nuts", "gluten"],
                ["spicy"],
                10,
            ),
            (
                "Guacamole & totopos",
                "Avocado, lime, chili, corn chips.",
                790,
                [],
                ["vegan", "vegetarian", "gluten-free"],
                20,
            ),
        ],
    ),
    (
        "yann@foodiefast.demo",
        "Yann Le Goff",
        {
            "display_name": "Le Comptoir Breton",
            "cuisine": "Crêperie",
            "address": "15 rue d'Odessa, 75014 Paris",
            "lat": 48.8425,
            "lng": 2.3233,
            "bio": "Buckwheat galettes, salted butter caramel.",
        },
        lunch_and_dinner(),
        [
            ("Galette complète", "Buckwheat, ham, egg, Emmental.", 1050, ["eggs", "milk"], ["gluten-free"], 25),
            (
                "Crêpe caramel beurre salé",
                "Wheat crêpe, homemade salted caramel.",
                650,
                ["gluten", "eggs", "milk"],
                ["vegetarian"],
                25,
            ),
            (
                "Cidre brut (bottle)",
                "Organic Breton cider.",
                690,
                ["sulphites"],
                ["vegan", "vegetarian", "gluten-free"],
                30,
            ),
        ],
    ),
    (
        "priya@foodiefast.demo",
        "Priya Sharma",
        {
            "display_name": "Spice Route",
            "cuisine": "Indian",
            "address": "46 rue du Faubourg Saint-Denis, 75010 Paris",
            "lat": 48.8720,
            "lng": 2.3540,
            "bio": "North Indian curries from Passage Brady.",
        },
        lunch_and_dinner(EVERY_DAY),
        [
            (
                "Butter chicken",
                "Tandoori chicken, tomato-butter sauce, naan.",
                1450,
                ["milk", "gluten", "nuts"],
                ["halal"],
                16,
            ),
            (
                "Chana masala",
                "Chickpeas, tomato, garam masala, rice.",
                1150,
                ["mustard"],
                ["vegan", "vegetarian", "spicy"],
                14,
            ),
            ("Mango lassi", "Yoghurt, mango, cardamom.", 450, ["milk"], ["vegetarian", "gluten-free"], 30),
        ],
    ),
    (
        "emre@foodiefast.demo",
        "Emre Yilmaz",
        {
            "display_name": "Meze Istanbul",
            "cuisine": "Turkish",
            "address": "12 boulevard de Strasbourg, 75010 Paris",
            "lat": 48.8697,
            "lng": 2.3546,
            "bio": "Anatolian home cooking.",
        },
        lunch_and_dinner(),
        [
            (
                "Imam bayildi",
                "Stuffed aubergine, tomato, onion.",
                1190,
                ["celery"],
                ["vegan", "vegetarian", "gluten-free"],
                12,
            ),
            ("Adana kebab", "Spiced lamb, bulgur, yoghurt sauce.", 1490, ["gluten", "milk"], ["halal", "spicy"], 14),
            ("Sütlaç", "Baked rice pudding, cinnamon.", 550, ["milk"], ["vegetarian", "gluten-free"], 20),
        ],
    ),
    (
        "claire@foodiefast.demo",
        "Claire Dubois",
        {
            "display_name": "Boulangerie du Quartier",
            "cuisine": "Bakery",
            "address": "3 rue de la Roquette, 75011 Paris",
            "lat": 48.8540,
            "lng": 2.3710,
            "bio": "Sourdough bread and savoury tarts.",
        },
        [(d, "07:00", "19:30") for d in range(6)],
        [
            ("Croque-monsieur", "Sourdough, ham, béchamel, Comté.", 890, ["gluten", "milk"], [], 20),
            ("Tarte aux poireaux", "Leek and goat cheese tart.", 790, ["gluten", "eggs", "milk"], ["vegetarian"], 12),
            ("Flan pâtissier", "Vanilla custard tart.", 450, ["gluten", "eggs", "milk"], ["vegetarian"], 16),
        ],
    ),
]
WAITING_KITCHEN = (
    "jisoo@foodiefast.demo",
    "Ji-soo Park",
    {
        "display_name": "Kimchi House",
        "cuisine": "Korean",
        "address": "18 rue des Dames, 75017 Paris",
        "lat": 48.8838,
        "lng": 2.3220,
        "bio": "Waiting for approval.",
    },
    lunch_and_dinner(),
    [
        (
            "Bibimbap",
            "Rice, vegetables, egg, gochujang.",
            1350,
            ["eggs", "soybeans", "sesame"],
            ["vegetarian", "spicy"],
            10,
        )
    ],
)


def demo_user(email: str, full_name: str, role: str, staff: bool = False) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=DEMO_PASSWORD, full_name=full_name, role=role, is_staff=staff, is_superuser=staff
        )
    return user


def demo_kitchen(email, full_name, fields, hours, dishes, *, approve: bool, by: User | None):
    chef = demo_user(email, full_name, Role.CHEF)
    kitchen = kitchen_update(kitchen=kitchen_ensure_for_chef(chef=chef), **fields, prep_minutes=20)
    opening_hours_replace(kitchen=kitchen, slots=[(d, minutes(o), minutes(c)) for d, o, c in hours])
    for name, description, price, allergens, tags, per_day in dishes:
        values = {"description": description, "price_cents": price, "allergens": allergens, "dietary_tags": tags}
        existing = Dish.objects.filter(kitchen=kitchen, name=name, deleted_at__isnull=True).first()
        if existing is None:
            dish_create(kitchen=kitchen, name=name, portions_per_day=per_day, **values)
        else:
            dish_update(dish=existing, portions_per_day=per_day, is_available=True, **values)
    if approve:
        kitchen_approve(kitchen=kitchen, by=by)
    return kitchen


class Command(BaseCommand):
    help = "Create demo logins, kitchens and dishes around Paris. Idempotent."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        lines = []
        for email, full_name, role, staff in DEMO_USERS:
            demo_user(email, full_name, role, staff)
            label = "staff (admin)" if staff else role
            lines.append(f"  {label:<14} {email:<28} {DEMO_PASSWORD}")
        staff_user = User.objects.get(email="admin@foodiefast.demo")

        kitchens = [demo_kitchen(*spec, approve=True, by=staff_user) for spec in KITCHENS]
        waiting = demo_kitchen(*WAITING_KITCHEN, approve=False, by=None)
        for email, *_ in KITCHENS[1:]:
            lines.append(f"  {'chef':<14} {email:<28} {DEMO_PASSWORD}")
        lines.append(f"  {'chef (waiting)':<14} {WAITING_KITCHEN[0]:<28} {DEMO_PASSWORD}")

        self.stdout.write("Demo logins (role, email, password):")
        self.stdout.write("\n".join(lines))
        self.stdout.write(
            f"{len(kitchens)} approved kitchens around Paris, 1 waiting for approval ({waiting.display_name});"
            " chefs manage theirs at /admin/ or with the chef API."
        )
