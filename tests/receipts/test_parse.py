"""The parser, rows in, draft out: many small layouts of how German receipts are printed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.receipts.draft import ReadFailed, ReceiptDraft
from central.receipts.layout import rows_from_text
from central.receipts.parse import parse_amount, parse_rows


def parse(text: str) -> ReceiptDraft:
    return parse_rows(rows_from_text(text))


def totals(draft: ReceiptDraft) -> list[str]:
    return [str(line.total) for line in draft.lines]


D = Decimal


def test_rewe_quantity_below_its_item() -> None:
    draft = parse(
        """
REWE Markt GmbH
Musterstr. 1
                                   EUR
JOGHURT NATUR                    1,98 B
  2 Stk x 0,99
BROT                             2,49 B
--------------------------------------
SUMME                      EUR   4,47
Geg. BAR                   EUR   5,00
04.11.2026  18:12   Bon-Nr.:1234
"""
    )
    assert draft.merchant == "REWE"
    assert (draft.date, draft.time) == ("2026-11-04", "18:12")
    assert draft.total == D("4.47") and draft.consistent
    assert draft.payment == "Bar"
    yoghurt = draft.lines[0]
    assert (yoghurt.text, yoghurt.quantity, yoghurt.unit, yoghurt.unit_price, yoghurt.vat) == (
        "JOGHURT NATUR",
        D(2),
        "piece",
        D("0.99"),
        "B",
    )
    assert draft.lines[1].quantity is None


def test_aldi_quantity_above_its_item() -> None:
    draft = parse(
        """
ALDI SÜD
   3 x 0,89
NUDELN                          2,67 € A
KAFFEE                          5,99 € A
ZU ZAHLEN                       8,66 €
"""
    )
    assert draft.merchant == "ALDI"
    assert totals(draft) == ["2.67", "5.99"]
    assert draft.lines[0].quantity == 3 and draft.lines[0].unit_price == D("0.89")
    assert draft.lines[1].quantity is None
    assert draft.consistent


def test_weight_line_below_its_item() -> None:
    draft = parse(
        """
BANANEN                          1,34 B
  0,670 kg x 1,99 EUR/kg
SUMME EUR                        1,34
"""
    )
    line = draft.lines[0]
    assert (line.quantity, line.unit, line.unit_price, line.total) == (
        D("0.670"),
        "kg",
        D("1.99"),
        D("1.34"),
    )


def test_weight_line_above_its_item_without_eur_per_kg() -> None:
    draft = parse(
        """
  0,543 KG x 10,99
MINUTENSTEAK                    5,97 E
SUMME EUR                       5,97
"""
    )
    assert draft.lines[0].quantity == D("0.543") and draft.lines[0].unit == "kg"


def test_quantity_goes_to_the_neighbour_it_explains() -> None:
    # Between two items, the quantity line belongs to the one whose total it explains.
    draft = parse(
        """
TEE                              1,49 A
  2 x 2,19
MÜSLI                            4,38 A
SUMME                            5,87
"""
    )
    assert draft.lines[0].quantity is None
    assert draft.lines[1].quantity == 2


def test_name_continued_on_the_next_row() -> None:
    draft = parse(
        """
EUR
BIO VOLLMILCH 3,8% FETT
LÄNGERFRISCH 1L                  1,19 B
SUMME                            1,19
"""
    )
    assert [line.text for line in draft.lines] == ["BIO VOLLMILCH 3,8% FETT LÄNGERFRISCH 1L"]


def test_name_above_and_amount_alone_below() -> None:
    draft = parse(
        """
EUR
Bedienung <05/216>
Wurst
                                  2,92
Kaese
                                  2,90
SUMME                             5,82
"""
    )
    assert totals(draft) == ["2.92", "2.90"]
    assert draft.lines[0].text.endswith("Wurst")


def test_name_above_a_quantity_line_that_carries_the_amount() -> None:
    draft = parse(
        """
EUR
KINDER OSTERHASE
   2 x 2,79                       5,58 A
SUMME                             5,58
"""
    )
    line = draft.lines[0]
    assert (line.text, line.quantity, line.total) == ("KINDER OSTERHASE", 2, D("5.58"))


def test_amount_computed_from_the_weight_line_when_unreadable() -> None:
    draft = parse(
        """
Rumpsteak v. Jungb.              B08'A
   0,326 kg x 26,99 EUR/kg
Florentiner                      2,49 A
zu zahlen                       11,29
"""
    )
    assert totals(draft) == ["8.80", "2.49"]
    assert draft.consistent
    assert any("computed" in w for w in draft.warnings)


def test_negative_lines_deposits_and_discounts() -> None:
    draft = parse(
        """
EUR
COLA 1,5L                        1,29 B
PFAND 0,25 EURO                  0,25 A *
LEERGUT EINWEG                  -0,75 A *
  3 Stk x 0,25
Leergutbon                        0,25-
Mitarbeiterrabatt 5%             -0,06 A
Rabatt                            0,10
SUMME EUR                         0,38
"""
    )
    kinds = [(line.kind, str(line.total)) for line in draft.lines]
    assert kinds == [
        ("item", "1.29"),
        ("deposit", "0.25"),
        ("deposit", "-0.75"),
        ("deposit", "-0.25"),
        ("discount", "-0.06"),
        ("discount", "-0.10"),
    ]
    assert draft.lines[2].quantity == 3
    assert draft.consistent


def test_total_keywords() -> None:
    for keyword in ("SUMME", "ZU ZAHLEN", "Gesamt", "Summe EUR", "zu zahlen"):
        draft = parse(f"ÄPFEL   1,99 A\n{keyword}   1,99\n")
        assert draft.total == D("1.99"), keyword


def test_the_first_total_ends_the_lines() -> None:
    # The tax table and the payment after the total are never lines.
    draft = parse(
        """
BROT                             2,49 B
SUMME                            2,49
Geg. EC-Cash EUR                 2,49
Steuer % Netto Steuer Brutto
B= 7,0%  2,33  0,16              2,49
Gesamtbetrag 2,33 0,16           2,49
"""
    )
    assert totals(draft) == ["2.49"]
    assert draft.payment == "EC-Cash"
    assert draft.merchant != "Netto"


def test_zwischensumme_then_discount_then_zu_zahlen() -> None:
    draft = parse(
        """
LIDL
BUTTER                           2,29 A
Zwischensumme                    2,29
Lidl Plus Rabatt                -0,30
zu zahlen                        1,99
Kreditkarte                      1,99
"""
    )
    assert draft.merchant == "Lidl"
    assert totals(draft) == ["2.29", "-0.30"]
    assert draft.total == D("1.99") and draft.consistent
    assert draft.payment == "Kreditkarte"


def test_zwischensumme_alone_is_the_total() -> None:
    draft = parse(
        "Kaiser's Tengelmann\nBROT  1,39\nESSIG  0,45\nZwischensumme EUR  1,84\nEURO  2,00\n"
    )
    assert draft.total == D("1.84") and totals(draft) == ["1.39", "0.45"]


def test_vat_classes_in_several_spellings() -> None:
    draft = parse(
        """
A                                1,79 € 1
B                                2,99€1
C                                1,11 A
D                                0,79 B *
E                                0,50 AW
SUMME                            7,18
"""
    )
    assert [line.vat for line in draft.lines] == ["1", "1", "A", "B", "AW"]
    assert draft.consistent


def test_mismatch_is_shown_not_hidden() -> None:
    draft = parse("BROT  2,49 B\nBUTTER  1,99 B\nSUMME  5,00\n")
    assert not draft.consistent
    assert draft.lines_sum == D("4.48")
    assert any("4.48" in w and "5.00" in w for w in draft.warnings)


def test_no_total_keeps_the_lines_with_a_warning() -> None:
    draft = parse("EUR\nBROT  2,49 B\nBUTTER  1,99 B\n")
    assert draft.total is None and not draft.consistent
    assert totals(draft) == ["2.49", "1.99"]
    assert "the total could not be found" in draft.warnings


def test_no_text_and_no_prices_fail_with_a_reason() -> None:
    with pytest.raises(ReadFailed, match="no text found"):
        parse("")
    with pytest.raises(ReadFailed, match="no prices found"):
        parse("MIAU\nKATZE AUF DEM SOFA\n")


def test_garbled_quantity_row_is_not_a_line() -> None:
    draft = parse("BERGBAUERNMILCH   3,18 B\n  2 Stk 1.59 x\nRBW APFELESSIG  1,59 B\nSUMME  4,77\n")
    assert totals(draft) == ["3.18", "1.59"]


def test_unit_price_alone_on_the_left_is_not_a_price() -> None:
    # An amount with no name in the left part is a fragment (a misread quantity line).
    draft = parse(
        """
COCA-COLA DOSEN                  15,98 € 2
    7.1.99€
    1,99
SUMME                            15,98
"""
    )
    assert totals(draft) == ["15.98"]
    assert draft.date is None  # "7.1.99" is no date without a time beside it


def test_dates_and_times() -> None:
    assert parse("X 1,00\nSUMME 1,00\n5.09.15 19:20 8658145").date == "2015-09-05"
    assert parse("X 1,00\nSUMME 1,00\nDat.31.08.2015 Zeit19:22:02").time == "19:22"
    assert parse("X 1,00\nSUMME 1,00\nTSE-Start: 2022-01-01T12:12:00.000").date == "2022-01-01"
    assert parse("X 1,00\nSUMME 1,00\n31.02.2015").date is None


def test_merchant_spaced_out_and_fallback_to_the_first_header_row() -> None:
    assert parse("R E W E Jürgen OHG\nX 1,00\nSUMME 1,00").merchant == "REWE"
    assert parse("Hofladen Sonnenschein\nHauptstr. 5\nX 1,00\nSUMME 1,00").merchant == (
        "Hofladen Sonnenschein"
    )


@pytest.mark.parametrize(
    ("printed", "payment"),
    [
        ("Geg. BAR EUR 5,00", "Bar"),
        ("girocard 5,00", "girocard"),
        ("VISA 5,00", "VISA"),
        ("Kartenzahlung 5,00", "Karte"),
        ("Geg. EC-Cash EUR 5,00", "EC-Cash"),
    ],
)
def test_payment(printed: str, payment: str) -> None:
    assert parse(f"X  5,00\nSUMME  5,00\n{printed}\n").payment == payment


def test_another_currency_is_read_and_named() -> None:
    draft = parse("COOP\nBROT  3,50\nTOTAL CHF  3,50\n")
    assert draft.currency == "CHF" and draft.total == D("3.50")
    assert parse("X 1,00 €\nSUMME 1,00 €").currency == "EUR"


@pytest.mark.parametrize(
    ("word", "value", "vat"),
    [
        ("1,99", "1.99", None),
        ("-0,25", "-0.25", None),
        ("0,25-", "-0.25", None),
        ("15,98€2", "15.98", "2"),
        ("3,49B", "3.49", "B"),
        ("0.45-V", "-0.45", "V"),
        ("1,O9", "1.09", None),
    ],
)
def test_amount_words(word: str, value: str, vat: str | None) -> None:
    assert parse_amount(word) == (D(value), vat)


@pytest.mark.parametrize("word", ["0,456", "12", "2x", "1,2", "DE12"])
def test_not_amounts(word: str) -> None:
    assert parse_amount(word) is None


def test_date_glued_to_its_time() -> None:
    # OCR drops the space between the two now and then.
    draft = parse("X 1,00\nSUMME 1,00\n04.11.202618:12 Bon-Nr.: 1234")
    assert (draft.date, draft.time) == ("2026-11-04", "18:12")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet="ABCSUMEZahlnx×*-–,.€ 0123456789%/:kgStPfandLERGU", max_size=40),
        max_size=25,
    )
)
def test_any_rows_give_a_draft_or_a_reason(lines: list[str]) -> None:
    try:
        draft = parse("\n".join(lines))
    except ReadFailed as exc:
        assert exc.reason
    else:
        assert draft.lines_sum == sum((line.total for line in draft.lines), D("0"))
        assert draft.consistent == (draft.total == draft.lines_sum)


def test_vat_digit_glued_to_the_amount_by_ocr() -> None:
    draft = parse("EUR\nA&P BIERSCHINKEN  1,792\nBROT 500G  1.391\nSUMME  3,18\n")
    assert totals(draft) == ["1.79", "1.39"]
    assert [line.vat for line in draft.lines] == ["2", "1"]
    # beside a unit, three decimals are a weight, not an amount
    weighed = parse("EUR\nBANANEN  1,77\n  1,273 kg\nSUMME  1,77\n")
    assert totals(weighed) == ["1.77"]


@pytest.mark.parametrize("keyword", ["SUNME EUR", "5UMME", "Summf", "ZU ZAHIEN", "Endbetrag"])
def test_total_keyword_misread_by_a_letter(keyword: str) -> None:
    draft = parse(f"EUR\nBROT  2,49 B\nSAMEN  1,00 B\n{keyword}  3,49\n")
    assert draft.total == D("3.49") and totals(draft) == ["2.49", "1.00"]


def test_gesamtbetrag_is_the_total_only_without_a_summe() -> None:
    assert parse("BROT  2,49\nGesamtbetrag  2,49\n").total == D("2.49")
    assert parse("BROT  2,49\nSUMME  2,49\nGesamtbetrag 2,33 0,16  2,49\n").total == D("2.49")


def test_lidl_prints_the_unit_price_before_the_count() -> None:
    draft = parse("LIDL\nMilsani Joghurt  2,58 A\n  1,29 x 2\nzu zahlen  2,58\n")
    line = draft.lines[0]
    assert (line.quantity, line.unit_price, line.total) == (2, D("1.29"), D("2.58"))


def test_quantity_on_the_item_row() -> None:
    draft = parse("EUR\nMILCH 2 x 0,99   1,98 A\nSUMME  1,98\n")
    line = draft.lines[0]
    assert (line.text, line.quantity, line.total) == ("MILCH", 2, D("1.98"))


def test_without_a_total_payment_and_tax_rows_are_not_lines() -> None:
    draft = parse(
        "EUR\nBROT  2,49 B\nGeg. BAR EUR  5,00\nRückgeld EUR  2,51\nB= 7% 2,33 0,16  2,49\n"
    )
    assert totals(draft) == ["2.49"] and draft.total is None
    # a chain named Netto in the header does not end anything
    netto = parse("Netto Marken-Discount\nEUR\nBROT  2,49 B\nMILCH  1,19 B\n")
    assert totals(netto) == ["2.49", "1.19"] and netto.merchant == "Netto"


def test_quantity_row_with_its_own_amount_after_a_priced_item() -> None:
    # The name of the second item was lost: its amount still counts, once.
    draft = parse("EUR\nBalea Duschgel  0,95 1\n  2 x 1,55   3,10 1\nSUMME EUR  4,05\n")
    assert totals(draft) == ["0.95", "3.10"] and draft.consistent
    # The same total printed twice, beside the item and beside its quantity: once.
    twice = parse("EUR\nKIWI  1,78 B\n  2 St x 0,89   1,78\nSUMME  1,78\n")
    assert totals(twice) == ["1.78"] and twice.lines[0].quantity == 2
    # A quantity row with the total of the item below it: the item's line only.
    above = parse("EUR\nBROT  1,00 A\n  3 x 0,89   2,67\nNUDELN  2,67 A\nSUMME  3,67\n")
    assert totals(above) == ["1.00", "2.67"] and above.lines[1].quantity == 3


def test_name_beside_a_quantity_keeps_its_letters_as_printed() -> None:
    draft = parse("EUR\nBio-Möhren 2 Stück x 0,99   1,98 A\nSUMME  1,98\n")
    assert draft.lines[0].text == "Bio-Möhren" and draft.lines[0].quantity == 2
