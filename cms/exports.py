"""Spreadsheet exports (CSV, XLSX, XLS): the one guard against formula injection.

Spreadsheet programs run a cell that starts with = + - @ (and, in some, a leading tab or
carriage return) as a formula. Names, license numbers and evaluation answers are typed by
the public, so every text cell the project writes goes through `safe_cell`, which prefixes
such a value with an apostrophe (OWASP's advice on CSV injection). Numbers, dates and
booleans are left as they are, so they stay real numbers and dates in the sheet.
"""

import csv
import datetime
import io
from decimal import Decimal

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# A byte-order mark so spreadsheet programs open names in any script correctly.
BOM = "\ufeff"

_UNTOUCHED = (bool, int, float, Decimal, datetime.date, datetime.datetime, datetime.time)


def safe_cell(value):
    """`value` as a spreadsheet may safely show it: text that a spreadsheet would run as a
    formula gets a leading apostrophe; numbers, dates, booleans and None are untouched."""
    if value is None or isinstance(value, _UNTOUCHED):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def safe_row(values):
    return [safe_cell(value) for value in values]


class SafeWriter:
    """A csv.writer whose every cell has been through `safe_cell`."""

    def __init__(self, file, **kwargs):
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, row):
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_writer(file, **kwargs):
    return SafeWriter(file, **kwargs)


def csv_text(rows, *, bom=True):
    """The CSV text of `rows`, every cell guarded, with a byte-order mark unless told not."""
    buffer = io.StringIO()
    csv_writer(buffer).writerows(rows)
    return (BOM if bom else "") + buffer.getvalue()


def csv_response(filename):
    """An attachment response to write CSV into; returns (response, writer)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response, csv_writer(response)


def append_row(sheet, values):
    """Append a guarded row to an openpyxl worksheet."""
    sheet.append(safe_row(values))
