"""Gradio tabs: each module builds one tab's UI and calls the public API; no model math here."""
