"""The other names of a country and its capital (countryinfo's data, read offline from its wheel)."""

from __future__ import annotations

from bot.places import capital_of, country_of_capital, other_names


def test_a_country_s_other_names_include_its_other_spellings_and_a_word_of_its_full_name():
    assert {"United States", "US", "USA"} <= set(other_names("America"))  # "United States of America"
    assert {"United Kingdom", "UK", "Great Britain"} <= set(other_names("Britain"))
    assert "Netherlands" in other_names("Holland")
    assert "America" not in other_names("America")


def test_a_word_of_several_countries_names_or_an_english_word_names_none():
    assert other_names("Korea") == ()  # North and South
    assert other_names("Kingdom") == ()  # an English word, and many kingdoms
    assert other_names("States") == ()
    assert other_names("Zelensky") == ()
    assert other_names("American") == ()  # a people (not "American Samoa")
    assert other_names("Republika") == ()  # another language's form of "Republic"


def test_a_capital_is_not_its_country():
    # "the NATO summit in Vilnius" is about the city, not Lithuania's ministers.
    assert other_names("Vilnius") == ()
    assert "Moscow" not in other_names("Russia")


def test_a_country_s_capital_is_read_from_any_of_its_names_or_its_people():
    assert capital_of("Ukrainian") == capital_of("Ukraine's") == capital_of("Ukraine") == "Kyiv"
    assert capital_of("Britain") == "London"  # a word of "Great Britain"
    # A people several countries share is the most populous one's (French Guiana's are French).
    assert capital_of("French") == "Paris"
    assert capital_of("Zelensky") is None
    assert capital_of("Korea") == "Seoul"  # North and South: the more populous


def test_a_capital_names_its_country_unless_it_is_the_country_s_name_too():
    assert "Russia" in country_of_capital("Moscow")
    assert "Belarus" in country_of_capital("minsk")
    assert "United States" in country_of_capital("Washington")  # countryinfo's "Washington D.C."
    assert country_of_capital("Singapore") == ()  # the city is the country
    assert country_of_capital("Kharkiv") == ()
