"""Delivery channels behind one small port (see base.py)."""
