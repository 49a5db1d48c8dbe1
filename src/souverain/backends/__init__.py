"""Inference backends behind one protocol, registered by kind (see ``registry``)."""
