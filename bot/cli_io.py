"""Spreadsheet import and archive export commands (registered on the `liuyan` groups)."""
