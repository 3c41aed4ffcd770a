"""Classifiers decide what a document and a piece of evidence are."""
