"""The vector index behind one small interface (see base.py)."""
