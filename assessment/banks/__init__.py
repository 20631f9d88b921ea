"""Question banks: the YAML format, its validation, and the frozen dataclasses built from it."""

from .loader import (
    BankError,
    content_hash,
    parse_bank,
    parse_bank_text,
    read_bank_file,
    validate_paths,
)
from .model import Bank, Dimension, Gate, Question, Recommendation, Scale

__all__ = [
    "Bank",
    "BankError",
    "Dimension",
    "Gate",
    "Question",
    "Recommendation",
    "Scale",
    "content_hash",
    "parse_bank",
    "parse_bank_text",
    "read_bank_file",
    "validate_paths",
]
