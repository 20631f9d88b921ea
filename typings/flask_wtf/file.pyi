from typing import Any

FileField: Any
FileRequired: Any
FileAllowed: Any
