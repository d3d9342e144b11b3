"""Turning results into things people read: tables, JSON, CSV, plots, annotated video, HTML."""
