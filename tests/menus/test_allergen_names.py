from apps.menus.models import ALLERGEN_NAMES, ALLERGENS, allergen_names


def test_every_code_of_the_api_has_a_full_name_in_french_and_english():
    for language in ("fr", "en"):
        assert set(ALLERGEN_NAMES[language]) == set(ALLERGENS)
        assert all(name and name != code for code, name in ALLERGEN_NAMES[language].items() if code != "lupin")


def test_nuts_are_tree_nuts_not_peanuts():
    assert allergen_names(["nuts", "peanuts"], language="en") == ["Tree nuts", "Peanuts"]
    assert allergen_names(["nuts", "peanuts"], language="fr") == ["Fruits à coque", "Arachides"]


def test_names_follow_the_language_and_keep_the_order_given():
    assert allergen_names(["milk", "gluten"], language="fr") == ["Lait", "Céréales contenant du gluten"]
    assert allergen_names(["milk", "gluten"], language="en-gb") == ["Milk", "Cereals containing gluten"]
    assert allergen_names(["milk"], language="de") == ["Lait"]  # French unless English


def test_a_code_outside_the_vocabulary_is_shown_rather_than_dropped():
    assert allergen_names(["milk", "kiwi"], language="en") == ["Milk", "kiwi"]
