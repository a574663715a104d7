"""What German receipts print, as patterns: amounts, VAT classes, quantities, keywords,
chains, payments, currencies, dates. Pure code, no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date as Date
from decimal import Decimal

CENT = Decimal("0.01")

# One amount in a word: "1,99", "-0,25", "0,25-", "15,98€2", "2,99€1", "1.79", "3,49B".
AMOUNT_WORD = re.compile(
    r"^(?P<neg>[-–])?(?P<int>\d{1,5})[,.](?P<dec>\d{2})(?P<neg2>[-–])?"
    r"(?:(?:€|EUR)(?P<vat1>[A-Z0-9]?\*?)|(?P<vat2>[A-Z]\*?|\*))?$"
)
# What may follow the amount on its row: a VAT class, a currency, a mark.
TRAILER = re.compile(r"^(?:[A-Z]|[0-9]|\*|[A-Z]\*|\*[A-Z]|€|EUR|AW|[A-D][0-9]|€[A-Z0-9])$")
# Quantity patterns run on the printed text, ignoring case, so the name beside them keeps
# its letters as printed.
QTY = re.compile(
    r"(?P<n>\d{1,3})\s*(?:STK\.?|ST\.?|ST[UÜ]CK)?\s*[X×*]\s*(?P<price>\d{1,4}[,.]\d{2})(?!\d)",
    re.IGNORECASE,
)
# Lidl prints the unit price first: "1,29 x 2".
QTY_REVERSED = re.compile(
    r"(?<![\d,.])(?P<price>\d{1,4}[,.]\d{2})\s*[X×*]\s*(?P<n>\d{1,3})(?![\d,.])", re.IGNORECASE
)
WEIGHT = re.compile(
    r"(?P<w>\d{1,3}[,.]\d{3})\s*(?P<unit>KG|L)\s*[X×*]\s*(?P<price>\d{1,4}[,.]\d{2})"
    r"(?:\s*(?:EUR|€)?\s*/\s*(?:KG|L))?",
    re.IGNORECASE,
)
# A quantity line OCR garbled ("2 Stk 1.59 x"): never a line of its own.
QTY_LIKE = re.compile(r"^\s*\d{1,3}\s*(?:STK|ST)\b|^\s*\d{1,3}[,.]\d{3}\s*(?:KG|L)\b")
TOTAL = re.compile(
    r"\b(?:SUMME\w*|ZU\s*ZAHLEN|ZUZAHLEN|GESAMTSUMME|GESAMT|ENDSUMME|ENDBETRAG|TOTAL|"
    r"ZU\s*ZAHLENDER\s*BETRAG)\b"
)
# OCR misreads a letter of the keyword now and then (SUNME, 5UMME, SUMMF).
TOTAL_WORDS = ("SUMME", "ZAHLEN", "GESAMT", "TOTAL")
NOT_TOTAL = re.compile(r"ZWISCHENSUMME|ZW\.?-?SUMME|SUBTOTAL|GESAMTBETRAG|SUMME\s+ARTIKEL")
# Used as the total only when no total row is printed (Kaiser's, some small tills).
SUBTOTAL = re.compile(r"ZWISCHENSUMME|ZW\.?-?SUMME|GESAMTBETRAG")
# What only comes after the total: given, change, tax table, payment by card.
AFTER_TOTAL = re.compile(
    r"RUCKGELD|GEGEBEN|\bGEG\.|MWST|STEUER\s*%|\bNETTO\b|BRUTTO|EC-CASH|GIROCARD|"
    r"KARTENZAHLUNG|KREDITKARTE"
)
DEPOSIT = re.compile(r"PFAND|LEERGUT|LEERG\b|LEERG\.|MEHRWEG|EINWEG")
RETURN = re.compile(r"LEERGUT|LEERG\b|LEERG\.|PFANDRUCK|PFANDBON|PFAND\s*RUCK|RUCKGABE")
DISCOUNT = re.compile(
    r"RABATT|NACHLASS|PREISVORTEIL|ERSPARNIS|COUPON|PREISREDUZIERUNG|SOFORTRABATT|VORTEIL"
)
# Rows inside the lines section that are not lines: column heads, counters, subtotals.
NOISE = re.compile(
    r"^(?:EUR|€|ARTIKEL|POSTEN|ANZAHL|STK|PREIS|BETRAG|MWST)\b|ZWISCHENSUMME|POSTEN\s*:|"
    r"ANZAHL\s+ARTIKEL|^\W*$"
)
PAYMENTS: tuple[tuple[str, str], ...] = (
    (r"GIROCARD", "girocard"),
    (r"EC[\s-]*CASH|EC[\s-]*KARTE|\bEC\b|ELECTRONIC\s*CASH", "EC-Cash"),
    (r"KREDITKARTE", "Kreditkarte"),
    (r"\bVISA\b", "VISA"),
    (r"MASTERCARD|MASTER\s*CARD", "Mastercard"),
    (r"MAESTRO", "Maestro"),
    (r"V\s*PAY", "V PAY"),
    (r"AMERICAN\s*EXPRESS|\bAMEX\b", "American Express"),
    (r"KARTENZAHLUNG|\bKARTE\b", "Karte"),
    (r"\bBAR\b|BARGELD|GEG(?:EBEN)?\.?\s*BAR", "Bar"),
)
MERCHANTS: tuple[tuple[str, str], ...] = (
    (r"\bREWE\b", "REWE"),
    (r"\bALDI\b", "ALDI"),
    (r"\bLIDL\b", "Lidl"),
    (r"\bPENNY\b", "PENNY"),
    (r"\bEDEKA\b", "EDEKA"),
    (r"\bNETTO\b(?!\s*\d)(?!\s+[\d,.]+)", "Netto"),
    (r"\bKAUFLAND\b", "Kaufland"),
    (r"\bKAUFPARK\b", "Kaufpark"),
    (r"\bKAISER'?S\b|TENGELMANN", "Kaiser's Tengelmann"),
    (r"\bREAL\s*,-|\bREAL\s+SB|\bREAL\b(?=.*WARENHAUS)", "real"),
    (r"DM-DROGERIE|\bDM\s+DROGERIE|\bDM-MARKT", "dm"),
    (r"\bROSSMANN\b", "Rossmann"),
    (r"\bNORMA\b", "Norma"),
    (r"\bTEGUT\b", "tegut"),
    (r"\bGLOBUS\b", "Globus"),
    (r"\bMARKTKAUF\b", "Marktkauf"),
    (r"\bFAMILA\b", "famila"),
    (r"\bALNATURA\b", "Alnatura"),
    (r"\bDENN'?S\b", "denn's"),
    (r"\bMULLER\b", "Müller"),
    (r"\bBUDNI\b", "Budni"),
    (r"\bHIT\b(?=.*MARKT)", "HIT"),
)
CURRENCIES: tuple[tuple[str, str], ...] = (
    (r"\bCHF\b|\bSFR\b", "CHF"),
    (r"£|\bGBP\b", "GBP"),
    (r"\bUSD\b|US\$", "USD"),
    (r"\bPLN\b|ZŁ|\bZL\b", "PLN"),
    (r"\bCZK\b|KČ", "CZK"),
    (r"\bDKK\b", "DKK"),
    (r"\bSEK\b", "SEK"),
    (r"\bPHP\b|₱", "PHP"),
)
DATE = re.compile(r"(?<!\d)(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})(?!\d)")
ISO_DATE = re.compile(r"(?<!\d)(20\d{2})-(\d{2})-(\d{2})(?!\d)")
GLUED_TIME = re.compile(r"(\d{1,2}[./]\d{1,2}[./]\d{4})(\d{1,2}:\d{2})")
TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?(?!\d)")
LETTERS = re.compile(r"[A-ZÄÖÜ]{2,}")


def fold(text: str) -> str:
    """Upper case without accents (``Rückgeld`` -> ``RUCKGELD``), for matching keywords."""
    text = text.upper().replace("ß", "SS")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def parse_amount(word: str) -> tuple[Decimal, str | None] | None:
    """The amount in one word and the VAT class glued to it, or None."""
    match = AMOUNT_WORD.match(word.upper().replace("O", "0") if mostly_digits(word) else word)
    if match is None:
        return None
    value = Decimal(f"{match['int']}.{match['dec']}")
    if match["neg"] or match["neg2"]:
        value = -value
    vat = (match["vat1"] or match["vat2"] or "").strip("*") or None
    return value, vat


def mostly_digits(word: str) -> bool:
    # OCR reads a 0 as O now and then; only repair words that are nearly all digits.
    digits = sum(c.isdigit() for c in word)
    return digits >= 2 and digits >= len(word) - 3


def to_decimal(text: str) -> Decimal:
    """A printed number with a decimal comma or point."""
    return Decimal(text.replace(",", "."))


GLUED_DIGIT = re.compile(r"^(?P<amount>-?\d{1,5}[,.]\d{2})(?P<vat>[0-9])$")


def find(patterns: Sequence[tuple[str, str]], text: str) -> str | None:
    for pattern, name in patterns:
        if re.search(pattern, text):
            return name
    return None


def find_date(texts: Sequence[str]) -> tuple[str | None, str | None]:
    """The first valid printed date and a time (preferably on the same row)."""
    found_time = None
    # OCR drops the space between date and time now and then: "04.11.202618:12".
    texts = [GLUED_TIME.sub(r"\1 \2", text) for text in texts]
    for text in texts:
        for match in DATE.finditer(text):
            day, month, year = int(match[1]), int(match[2]), int(match[3])
            if year < 100:
                # "7.1.99" may be a misread quantity: a short year needs a time beside it.
                if not TIME.search(text):
                    continue
                year += 2000
            try:
                when = Date(year, month, day)
            except ValueError:
                continue
            if not 1990 <= year <= 2100:
                continue
            clock = TIME.search(text[match.end() :]) or TIME.search(text[: match.start()])
            if clock is None:
                clock = next((m for t in texts if (m := TIME.search(t))), None)
            if clock is not None:
                found_time = f"{int(clock[1]):02d}:{clock[2]}"
            return when.isoformat(), found_time
    for text in texts:
        iso = ISO_DATE.search(text)
        if iso:
            try:
                when = Date(int(iso[1]), int(iso[2]), int(iso[3]))
            except ValueError:
                continue
            clock = TIME.search(text[iso.end() :])
            return when.isoformat(), (f"{int(clock[1]):02d}:{clock[2]}" if clock else None)
    return None, None


def unspace(text: str) -> str:
    """``R E W E`` (letters printed spaced out, as REWE's eBon does) as ``REWE``."""
    return re.sub(r"\b(?:[A-Z] ){2,}[A-Z]\b", lambda m: m[0].replace(" ", ""), text)


def currency(texts: str) -> str:
    if "€" in texts or re.search(r"\bEUR\b|EURO", texts):
        return "EUR"
    return find(CURRENCIES, texts) or "EUR"
