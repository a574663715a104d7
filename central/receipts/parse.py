"""Rows of a receipt into a draft: merchant, date, lines, total, payment. Pure code, no I/O.

The rules follow how German till receipts are laid out, not any one shop:

- a priced line ends with its amount in the right part of the receipt, followed at most by a
  VAT class (``A``, ``B``, ``1``, ``2``, ``*``) and a currency sign;
- a quantity line (``2 x 0,99``, ``2 Stk x 0,99``, ``0,456 kg x 2,99 EUR/kg``) belongs to the
  neighbouring item whose total it explains: REWE prints it below, ALDI above;
- a name without an amount takes the amount of the next row (a name continued on two rows, or
  a name above its quantity line that carries the amount);
- Leergut (returned empties) and discounts are negative; Pfand is a deposit line of its own;
- the first ``SUMME`` / ``ZU ZAHLEN`` / ``Gesamt`` row gives the total and ends the lines;
  what follows (payment, tax table, loyalty schemes) is never counted as lines.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from central.receipts.draft import LineKind, ReadFailed, ReceiptDraft, ReceiptLine, Unit
from central.receipts.layout import Row, text_width
from central.receipts.vocabulary import (
    AFTER_TOTAL,
    CENT,
    DEPOSIT,
    DISCOUNT,
    GLUED_DIGIT,
    LETTERS,
    MERCHANTS,
    NOISE,
    NOT_TOTAL,
    PAYMENTS,
    QTY,
    QTY_LIKE,
    QTY_REVERSED,
    RETURN,
    SUBTOTAL,
    TOTAL,
    TOTAL_WORDS,
    TRAILER,
    WEIGHT,
    currency,
    find,
    find_date,
    fold,
    parse_amount,
    to_decimal,
    unspace,
)

__all__ = ["fold", "parse_amount", "parse_rows"]


@dataclass
class _RowInfo:
    row: Row
    folded: str
    price: Decimal | None = None
    vat: str | None = None
    name: str = ""  # the row's text left of its price
    qty: tuple[Decimal, Unit, Decimal] | None = None  # quantity, unit, unit price
    name_after_qty: str = ""


def _price_of(row: Row, right_edge: float, width: float) -> tuple[Decimal, str | None, int] | None:
    """The row's price: its last amount, in the right part, followed only by VAT or currency."""
    words = row.words
    i = len(words) - 1
    vat: str | None = None
    skipped = 0
    while i >= 0 and skipped < 2 and TRAILER.match(words[i].text.upper()):
        token = words[i].text.upper()
        if token not in ("€", "EUR", "*"):
            vat = token.strip("*") or vat
        i -= 1
        skipped += 1
    if i < 0:
        return None
    parsed = parse_amount(words[i].text)
    if parsed is None:
        parsed = _glued_vat_digit(row, words[i].text)
    if parsed is None:
        return None
    value, glued_vat = parsed
    # "1,50 -" prints the sign as a word of its own after the amount.
    if i + 1 < len(words) and words[i + 1].text in ("-", "–"):
        value = -abs(value)
    if i > 0 and words[i - 1].text in ("-", "–"):
        value = -abs(value)
        i -= 1
    # An amount alone in the left part is a fragment (a unit price, a count), not a price;
    # after a name it is a price wherever it sits (text receipts are not column-aligned).
    named = any(LETTERS.search(fold(w.text)) for w in words[:i])
    if not named and width > 0 and words[i].x1 < right_edge - 0.45 * width:
        return None
    return value, glued_vat or vat, i


def _glued_vat_digit(row: Row, word: str) -> tuple[Decimal, str | None] | None:
    """``1,792``: an amount and a VAT class digit that OCR read without the space.

    A number with three decimals is a weight only beside ``kg`` or ``l``; at the end of a
    named row without a unit it is an amount and its VAT class (ALDI and Kaiser's print
    ``1,79 2``)."""
    match = GLUED_DIGIT.match(word)
    if match is None or len(row.words) < 2:
        return None
    folded = fold(row.text)
    if re.search(r"\d\s*(?:KG|L)\b|\bKG\b", folded) or not LETTERS.search(folded):
        return None
    parsed = parse_amount(match["amount"])
    return None if parsed is None else (parsed[0], match["vat"])


def _quantity(text: str) -> tuple[tuple[Decimal, Unit, Decimal], tuple[int, int]] | None:
    weight = WEIGHT.search(text)
    if weight:
        unit: Unit = "kg" if weight["unit"].upper() == "KG" else "l"
        return (to_decimal(weight["w"]), unit, to_decimal(weight["price"])), weight.span()
    for pattern in (QTY, QTY_REVERSED):
        count = pattern.search(text)
        if count and int(count["n"]) > 0:
            return (Decimal(int(count["n"])), "piece", to_decimal(count["price"])), count.span()
    return None


def _explains(qty: tuple[Decimal, Unit, Decimal], total: Decimal) -> bool:
    amount, _, unit_price = qty
    product = (amount * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
    return abs(abs(total) - product) <= CENT


def _kind_and_sign(text: str, total: Decimal) -> tuple[LineKind, Decimal]:
    folded = fold(text)
    if DEPOSIT.search(folded):
        return "deposit", -abs(total) if RETURN.search(folded) else total
    if DISCOUNT.search(folded):
        return "discount", -abs(total)
    if total < 0:
        return "discount", total
    return "item", total


def _merchant(rows: Sequence[_RowInfo], header_end: int) -> str | None:
    header = unspace(" ".join(r.folded for r in rows[:header_end]))
    everything = unspace(" ".join(r.folded for r in rows))
    # Past the header only a chain name counts (a tax table says "Netto" too).
    name = find(MERCHANTS, header) or find(
        MERCHANTS[:1] + MERCHANTS[2:5] + MERCHANTS[6:], everything
    )
    if name:
        return name
    for info in rows[:header_end]:
        if len(LETTERS.findall(info.folded)) and not re.search(
            r"\d{4,}|STR\.|STRASSE|TEL", info.folded
        ):
            return info.row.text.strip()
    return None


def parse_rows(rows: Sequence[Row]) -> ReceiptDraft:
    """Read a draft from a receipt's rows in print order; ReadFailed when it is no receipt."""
    if not rows:
        raise ReadFailed("no text found: is this a receipt?")
    width = text_width(rows)
    right_edge = max(r.x1 for r in rows)
    infos: list[_RowInfo] = []
    for row in rows:
        info = _RowInfo(row=row, folded=fold(row.text))
        priced = _price_of(row, right_edge, width)
        if priced is not None:
            info.price, info.vat, at = priced
            info.name = " ".join(w.text for w in row.words[:at]).strip()
        else:
            info.name = row.text.strip()
        quantity = _quantity(info.row.text)
        if quantity is not None:
            info.qty = quantity[0]
            rest = info.row.text[: quantity[1][0]] + " " + info.row.text[quantity[1][1] :]
            info.name_after_qty = rest
        infos.append(info)
    if not any(i.price is not None for i in infos):
        raise ReadFailed("no prices found: is this a receipt?")

    total_at = next(
        (n for n, i in enumerate(infos) if _is_total(i.folded) and not NOT_TOTAL.search(i.folded)),
        None,
    )
    if total_at is None:
        # Some tills (Kaiser's) print only a Zwischensumme before the payment.
        total_at = next(
            (n for n, i in enumerate(infos) if SUBTOTAL.search(i.folded) and i.price), None
        )
    total: Decimal | None = None
    if total_at is not None:
        total = infos[total_at].price
        # The amount of a SUMME row can land on the next row in a skewed photo.
        if total is None and total_at + 1 < len(infos):
            following = infos[total_at + 1]
            if following.price is not None and not LETTERS.search(fold(following.name)):
                total = following.price
    end = total_at if total_at is not None else len(infos)
    if total_at is None:
        # A photo cut above its total: payment, change and the tax table still end the lines.
        first_price = next(n for n, i in enumerate(infos) if i.price is not None)
        end = next(
            (n for n, i in enumerate(infos) if n > first_price and AFTER_TOTAL.search(i.folded)),
            end,
        )
    first = next((n for n, i in enumerate(infos[:end]) if i.price is not None), end)
    start = _lines_start(infos, first, end)
    lines, warnings = _lines(infos, start, end)

    texts = [i.row.text for i in infos]
    after = " ".join(i.folded for i in infos[end:]) if total_at is not None else ""
    when, clock = find_date(texts)
    draft = ReceiptDraft(
        merchant=_merchant(infos, max(start, 1)),
        date=when,
        time=clock,
        currency=currency(" ".join(texts).upper()),
        total=total,
        payment=find(PAYMENTS, after) if after else None,
        lines=lines,
        warnings=warnings,
    )
    if total is None:
        draft.warnings.append("the total could not be found")
    draft.check()
    if total is not None and not draft.consistent:
        draft.warnings.append(
            f"the lines add up to {draft.lines_sum}, the receipt says {total}: check the lines"
        )
    return draft


def _is_total(folded: str) -> bool:
    """A row that names the total: the keyword, or a word one letter away from it."""
    if TOTAL.search(folded):
        return True
    words = re.findall(r"[A-Z0-9]{5,6}", folded)
    return any(
        difflib.SequenceMatcher(None, word, key).ratio() >= 0.8
        for word in words[:2]
        for key in TOTAL_WORDS
        if len(word) == len(key)
    )


def _lines_start(infos: list[_RowInfo], first: int, end: int) -> int:
    """Where the lines begin, given the first row with a price."""
    # Many tills head the amount column with "EUR": the lines start below it.
    heading = [n for n in range(first) if infos[n].folded.strip() in ("EUR", "€")]
    if heading:
        return heading[-1] + 1
    start = first
    # Quantity rows right above the first price belong to the lines (ALDI prints them above).
    while start > 0 and infos[start - 1].qty is not None:
        start -= 1
    if start == 0 or start >= end:
        return start
    above, top = infos[start - 1], infos[start]
    if above.price is not None or not _has_letters(above.name):
        return start
    if start == first:
        # The first priced row has no name of its own: the name is the row above.
        takes_name = top.qty is not None or not _has_letters(top.name)
    else:
        # A quantity row that does not explain the price below it explains a name above it.
        price = infos[first].price
        takes_name = top.qty is not None and price is not None and not _explains(top.qty, price)
    return start - 1 if takes_name else start


def _lines(infos: list[_RowInfo], start: int, end: int) -> tuple[list[ReceiptLine], list[str]]:
    lines: list[ReceiptLine] = []
    warnings: list[str] = []
    line_rows: list[int] = []  # the row index each line came from
    pending: list[str] = []  # name rows waiting for an amount
    loose: list[tuple[int, tuple[Decimal, Unit, Decimal]]] = []
    computed: set[int] = set()  # lines whose amount comes from their quantity line
    for n in range(start, end):
        info = infos[n]
        if info.qty is None and (NOISE.search(info.folded) or QTY_LIKE.search(info.folded)):
            pending.clear()
            continue
        if info.qty is not None:
            own_name = fold(_strip_amounts(info.name_after_qty)).strip()
            if info.price is not None and not _explains(info.qty, info.price):
                info.price = None  # the amount on the row is its unit price
            if info.price is not None and (pending or not lines or _has_letters(own_name)):
                text = " ".join([*pending, _clean_name(info.name_after_qty)]).strip()
                pending.clear()
                line = _line(text or info.row.text, info.price, info.vat)
                line.quantity, line.unit, line.unit_price = info.qty
                lines.append(line)
                line_rows.append(n)
                continue
            if info.price is not None and not pending:
                following = infos[n + 1] if n + 1 < end else None
                if lines and lines[-1].total == info.price and lines[-1].quantity is None:
                    # The till printed the item's total again beside its quantity.
                    lines[-1].quantity, lines[-1].unit, lines[-1].unit_price = info.qty
                    continue
                if not (
                    following is not None
                    and following.price == info.price
                    and _has_letters(following.name)
                ):
                    # A line whose name OCR lost: its amount still counts.
                    line = _line(info.row.text, info.price, info.vat)
                    line.quantity, line.unit, line.unit_price = info.qty
                    lines.append(line)
                    line_rows.append(n)
                    continue
            if info.price is None and pending:
                # A name whose own amount was not read, above its quantity line: the
                # quantity line says what the amount is.
                amount, _, unit_price = info.qty
                line = _line(
                    " ".join(pending), (amount * unit_price).quantize(CENT, ROUND_HALF_UP), None
                )
                line.quantity, line.unit, line.unit_price = info.qty
                pending.clear()
                computed.add(len(lines))
                lines.append(line)
                line_rows.append(n)
                continue
            loose.append((n, info.qty))
            continue
        if (
            info.price is not None
            and not _has_letters(info.name)
            and lines
            and len(lines) - 1 in computed
            and abs(lines[-1].total - info.price) <= CENT
        ):
            # The amount printed after the quantity line: the printed one wins.
            lines[-1].total, lines[-1].vat = info.price, info.vat
            computed.discard(len(lines) - 1)
            continue
        if info.price is None:
            if _has_letters(info.name):
                pending.append(info.name)
                del pending[:-2]  # a name runs over two rows at most
            continue
        text = " ".join([*pending, info.name]).strip()
        pending.clear()
        lines.append(_line(text or info.row.text, info.price, info.vat))
        line_rows.append(n)
    for n, qty in loose:
        _attach(lines, line_rows, n, qty)
    for i in sorted(computed):
        warnings.append(f"the amount of {lines[i].text!r} was computed from its quantity line")
    return lines, warnings


def _attach(
    lines: list[ReceiptLine], line_rows: list[int], n: int, qty: tuple[Decimal, Unit, Decimal]
) -> None:
    """Give a quantity row to the neighbouring line whose total it explains."""
    above = max((i for i, r in enumerate(line_rows) if r < n), default=None)
    below = min((i for i, r in enumerate(line_rows) if r > n), default=None)
    candidates = [i for i in (above, below) if i is not None and lines[i].quantity is None]
    for i in candidates:
        if _explains(qty, lines[i].total):
            lines[i].quantity, lines[i].unit, lines[i].unit_price = qty
            return


def _strip_amounts(text: str) -> str:
    return " ".join(w for w in text.split() if parse_amount(w) is None and not TRAILER.match(w))


def _clean_name(rest: str) -> str:
    return _strip_amounts(rest).strip() if _has_letters(rest) else ""


def _has_letters(text: str) -> bool:
    return bool(LETTERS.search(fold(text)))


def _line(text: str, total: Decimal, vat: str | None) -> ReceiptLine:
    kind, signed = _kind_and_sign(text, total)
    return ReceiptLine(kind=kind, text=text, total=signed, vat=vat)
