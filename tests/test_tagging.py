"""Parts of speech, as the subject rule reads them (offline: the tagger's lexicon is in its wheel)."""

from bot.tagging import is_english_word, is_verb, noun_after_adjective, noun_after_noun


def test_an_adjective_before_a_noun_points_to_the_noun():
    assert noun_after_adjective("What did an anonymous source say about NATO?", "anonymous") == "source"
    # Past more adjectives: the official is what is asked about.
    assert noun_after_adjective("Who is the anonymous senior official?", "anonymous") == "official"


def test_a_participle_after_a_determiner_is_read_as_an_adjective():
    # The tagger reads "shelled" as a past tense; after "the" it qualifies the village.
    assert noun_after_adjective("How far was the shelled village from the Ukrainian capital?", "shelled") == "village"
    # A verb is not an adjective: nothing is qualified.
    assert noun_after_adjective("Who shelled the village?", "shelled") is None
    assert noun_after_adjective("Which village was shelled by Belarus?", "shelled") is None


def test_a_name_or_a_noun_before_a_noun_is_no_adjective():
    # "Leopard tanks", "stealth fighter pilots": the first word is part of what is asked about.
    assert noun_after_adjective("How many Leopard tanks has Germany sent?", "Leopard") is None
    assert noun_after_adjective("how many stealth fighter pilots is america sending", "stealth") is None


def test_a_noun_before_nouns_points_to_the_last_of_them():
    assert noun_after_noun("how many stealth fighter pilots is america sending", "stealth") == "pilots"
    assert noun_after_noun("how many stealth fighter pilots is america sending", "pilots") is None
    assert noun_after_noun("How many Leopard tanks has Germany sent?", "Leopard") is None  # a name
    assert noun_after_noun("What did an anonymous source say?", "anonymous") is None  # an adjective


def test_an_adjective_with_no_noun_after_it_points_nowhere():
    assert noun_after_adjective("Why was the general so anonymous?", "anonymous") is None
    assert noun_after_adjective("What did an anonymous source say?", "source") is None


def test_a_verb_is_told_from_a_participle_that_qualifies_a_noun():
    assert is_verb("how many died when a missile hit an apartment building?", "died")
    assert is_verb("Who shelled the village?", "shelled")
    assert not is_verb("How far was the shelled village from the capital?", "shelled")
    assert not is_verb("how many tanks did Germany send?", "tanks")


def test_english_words_are_told_from_names_by_the_lexicon():
    assert all(is_english_word(word) for word in ("President", "minister", "adviser", "Trump"))
    assert not any(is_english_word(word) for word in ("Vucic", "Zelensky", "Sullivan", "Lukashenko"))
