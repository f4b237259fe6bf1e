"""Spreadsheet imports: read, map, validate, price, publish chunk by chunk."""
