"""Badge images: rendering (render.py) and Open Badges 3.0 baking (baking.py)."""
