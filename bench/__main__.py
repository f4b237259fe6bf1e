"""Runs every benchmark and prints absolute figures and ratios to in-run baselines."""

from __future__ import annotations


def main() -> None:
    print("no benchmarks yet")


if __name__ == "__main__":
    main()
