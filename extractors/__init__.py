"""Extractors turn files and pages into facts: located text (PDF text layer, OCR) and fields."""
