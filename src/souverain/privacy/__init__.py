"""The privacy layer: detection of personal data (recognizers, detector) in fr, de, en and lb text.

Importing this package does no I/O; the person-name model is loaded when a ``Detector`` is constructed.
"""

from __future__ import annotations

from souverain.errors import DetectionError
from souverain.privacy.detector import Detector
from souverain.privacy.entities import Entity, EntityType

__all__ = ["DetectionError", "Detector", "Entity", "EntityType"]
