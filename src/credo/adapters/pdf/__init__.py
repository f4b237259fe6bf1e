"""Certificates as PDF files (WeasyPrint) with QR codes (segno)."""

from credo.adapters.pdf.renderer import WeasyCertificates

__all__ = ["WeasyCertificates"]
