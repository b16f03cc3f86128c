"""The other names of a country (countryinfo's data, read offline from its wheel)."""

from __future__ import annotations

from bot.places import other_names


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
