"""What a person typed (DESIGN.md §1.2): phone, name and comment are cleaned or refused."""

from __future__ import annotations

import pytest

from leads.domain.contact import (
    InvalidField,
    clean_comment,
    clean_name,
    format_phone,
    normalize_phone,
)


class TestInvalidField:
    def test_carries_the_field_and_the_code(self) -> None:
        error = InvalidField("phone", "invalid")
        assert (error.field, error.code) == ("phone", "invalid")
        assert str(error) == "phone: invalid"
        assert isinstance(error, ValueError)


class TestNormalizePhone:
    @pytest.mark.parametrize(
        ("raw", "e164"),
        [
            ("8 (499) 322-23-08", "+74993222308"),
            ("+7 916 123-45-67", "+79161234567"),
            ("89161234567", "+79161234567"),
            ("8-916-123-45-67", "+79161234567"),
            ("+7(916)1234567", "+79161234567"),
            ("  8 916 123 45 67  ", "+79161234567"),
            ("9161234567", "+79161234567"),
            ("8 800 555-35-35", "+78005553535"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+1 650 253 0000", "+16502530000"),
        ],
    )
    def test_common_ways_of_writing_a_number_give_e164(self, raw: str, e164: str) -> None:
        assert normalize_phone(raw) == e164

    def test_the_three_ways_of_writing_one_mobile_are_equal(self) -> None:
        assert (
            normalize_phone("+7 916 123-45-67")
            == normalize_phone("89161234567")
            == normalize_phone("8 (916) 123-45-67")
        )

    @pytest.mark.parametrize(
        ("raw", "code"),
        [
            (None, "required"),
            ("", "required"),
            ("   ", "required"),
            ("123", "invalid"),
            ("abc", "invalid"),
            ("+7 999", "invalid"),
            ("8 916 123-45-6", "invalid"),  # one digit short
            ("+7 916 123-45-678", "invalid"),  # one digit too many
            ("+999 123 456 789", "invalid"),  # no such country code
            ("8" * 41, "too_long"),
            ("+7 916 123-45-67" + " " * 20 + "x" * 10, "too_long"),
        ],
        ids=["none", "empty", "blank", "123", "abc", "+7-999", "too-short", "too-many-digits",
             "bad-country", "41-digits", "41-chars"],
    )
    def test_refused_numbers_say_why(self, raw: str | None, code: str) -> None:
        with pytest.raises(InvalidField) as caught:
            normalize_phone(raw)
        assert (caught.value.field, caught.value.code) == ("phone", code)

    def test_the_region_decides_numbers_without_a_country_code(self) -> None:
        assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"


class TestFormatPhone:
    @pytest.mark.parametrize(
        ("e164", "shown"),
        [
            ("+79161234567", "+7 916 123-45-67"),
            ("+74993222308", "+7 499 322-23-08"),
            ("+442079460958", "+44 20 7946 0958"),
        ],
    )
    def test_shows_the_number_as_people_write_it(self, e164: str, shown: str) -> None:
        assert format_phone(e164) == shown

    @pytest.mark.parametrize("value", ["", "not a phone", "89161234567"])
    def test_returns_unparseable_input_unchanged(self, value: str) -> None:
        assert format_phone(value) == value

    def test_round_trips_with_normalize(self) -> None:
        assert normalize_phone(format_phone("+79161234567")) == "+79161234567"


class TestCleanName:
    @pytest.mark.parametrize(
        "name",
        ["Анна-Мария О'Нил", "李小龙", "José", "Ann", "A", "Müller-Lüdenscheidt", "محمد",
         "Ἀριστοτέλης", "Jean Paul", "a" * 100],
    )
    def test_names_in_any_script_are_accepted_as_typed(self, name: str) -> None:
        assert clean_name(name) == name

    def test_surrounding_whitespace_is_trimmed(self) -> None:
        assert clean_name("  Анна  ") == "Анна"
        assert clean_name("\tАнна\n") == "Анна"

    def test_a_combining_accent_is_composed(self) -> None:
        assert clean_name("Jose\u0301") == "José"

    def test_the_limit_applies_after_trimming(self) -> None:
        assert clean_name("  " + "a" * 100 + "  ") == "a" * 100

    @pytest.mark.parametrize(
        ("raw", "code"),
        [
            (None, "required"),
            ("", "required"),
            ("   ", "required"),
            ("a" * 101, "too_long"),
            ("Ann\x00", "control_chars"),
            ("Ann\nX", "control_chars"),
            ("Ann\tX", "control_chars"),
            ("Ann\x1bX", "control_chars"),
            ("A\u200bB", "control_chars"),  # zero-width space (Cf)
            ("\u200b", "control_chars"),  # invisible, but not whitespace: refused, not "required"
            ("Ann\u202eX", "control_chars"),  # right-to-left override (Cf)
            ("Ann\ue000", "control_chars"),  # private use (Co)
            ("Ann\ud800", "control_chars"),  # lone surrogate (Cs)
            ("Ann\U000e0001", "control_chars"),  # language tag (Cf)
        ],
        ids=["none", "empty", "blank", "101-chars", "nul", "newline", "tab", "escape", "zwsp",
             "only-zwsp", "rlo", "private-use", "surrogate", "tag"],
    )
    def test_refused_names_say_why(self, raw: str | None, code: str) -> None:
        with pytest.raises(InvalidField) as caught:
            clean_name(raw)
        assert (caught.value.field, caught.value.code) == ("name", code)

    def test_the_limit_is_configurable(self) -> None:
        assert clean_name("abc", max_length=3) == "abc"
        with pytest.raises(InvalidField, match="too_long"):
            clean_name("abcd", max_length=3)


class TestCleanComment:
    @pytest.mark.parametrize("raw", [None, "", "   ", "\n\t"])
    def test_an_empty_comment_is_allowed(self, raw: str | None) -> None:
        assert clean_comment(raw) == ""

    def test_text_is_trimmed_and_kept(self) -> None:
        assert clean_comment("  Болит зуб, лучше после обеда  ") == "Болит зуб, лучше после обеда"

    def test_line_breaks_and_tabs_are_allowed(self) -> None:
        assert clean_comment("one\ntwo\tthree") == "one\ntwo\tthree"

    def test_windows_and_old_mac_line_breaks_become_newlines(self) -> None:
        assert clean_comment("one\r\ntwo\rthree") == "one\ntwo\nthree"

    def test_500_characters_fit_and_501_do_not(self) -> None:
        assert clean_comment("x" * 500) == "x" * 500
        with pytest.raises(InvalidField) as caught:
            clean_comment("x" * 501)
        assert (caught.value.field, caught.value.code) == ("comment", "too_long")

    def test_crlf_counts_as_one_character(self) -> None:
        text = "x" * 249 + "\r\n" + "x" * 250
        assert len(clean_comment(text)) == 500

    @pytest.mark.parametrize("raw", ["a\x00b", "a\x07b", "a\u200bb", "a\u202eb", "a\x7fb"])
    def test_other_control_characters_are_refused(self, raw: str) -> None:
        with pytest.raises(InvalidField) as caught:
            clean_comment(raw)
        assert (caught.value.field, caught.value.code) == ("comment", "control_chars")
