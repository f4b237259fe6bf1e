"""The pure core: values in, values out. Standard library only; no I/O, no clock reads."""
