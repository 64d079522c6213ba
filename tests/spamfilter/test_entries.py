import pytest
from django.core.exceptions import ValidationError

from spamfilter.entries import display_entry, is_valid_entry, normalize_entry, parse_entries


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("Jan@Example.NL", "jan@example.nl"),
        ("  @Example.nl. ", "@example.nl"),
        ("@bäckerei.de", "@xn--bckerei-5wa.de"),
        ("@XN--BCKEREI-5WA.DE", "@xn--bckerei-5wa.de"),
        ("nieuwsbrief+tag@post.example.com", "nieuwsbrief+tag@post.example.com"),
        ("a.b_c%d=e-f@x.example", "a.b_c%d=e-f@x.example"),
    ],
)
def test_an_address_or_domain_is_stored_in_one_form(typed, stored):
    assert normalize_entry(typed) == stored
    assert is_valid_entry(stored)


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "jan@example.nl\nreject = 0;",
        "jan@example.nl # comment",
        "#@example.nl",
        "jan#x@example.nl",
        "/.*/@example.nl",
        "@/re/",
        "*@example.nl",
        "@*.example.nl",
        "a|b@example.nl",
        '"jan"@example.nl',
        "jan\\@example.nl",
        "jan@example.nl@x.nl",
        "jan",
        "@example",
        "@1.2.3.4",
        "jan@-bad-.nl",
        "ünï@example.nl",
        "jan\x00@example.nl",
        "jan..x@example.nl",
        ".jan@example.nl",
        "@example.nl } if true { discard; }",
        "x" * 65 + "@example.nl",
    ],
)
def test_anything_that_could_break_a_map_or_script_is_refused_with_a_message(hostile):
    with pytest.raises(ValidationError) as error:
        normalize_entry(hostile)
    assert error.value.messages[0]
    assert not is_valid_entry(hostile)


def test_several_entries_are_parsed_deduplicated_and_every_wrong_line_is_named():
    assert parse_entries("jan@example.nl\n@Example.nl\nJAN@example.nl, piet@example.nl") == [
        "jan@example.nl",
        "@example.nl",
        "piet@example.nl",
    ]
    with pytest.raises(ValidationError) as error:
        parse_entries("goed@example.nl\nfout#@example.nl\n*@example.nl")
    assert len(error.value.messages) == 2
    assert "fout#@example.nl" in error.value.messages[0]


def test_an_invisible_character_is_shown_replaced_in_the_message():
    with pytest.raises(ValidationError) as error:
        normalize_entry("jan\u200b@example.nl")
    assert "\u200b" not in error.value.messages[0]


def test_a_stored_entry_is_shown_with_its_domain_in_unicode():
    assert display_entry("@xn--bckerei-5wa.de") == "@bäckerei.de"
