"""Invoices, their lines and gapless numbering."""
